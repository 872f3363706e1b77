"""The bug's history of the ``[hold]`` tag: read only fresh, turned into marks, failing closed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.core.comments import Mark
from sync_incident.core.errors import ProtocolError, Unavailable
from sync_incident.testing.bugzilla import Fault
from sync_incident.trackers.bugzilla.history import history_of, marks_of
from sync_incident.trackers.bugzilla.tracker import build_bugzilla
from tests.trackers.bugzilla.world import BASE, ME, ME_KEY, OTHER, World, mirror
from tests.trackers.contract import run

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bugzilla"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _history_reads(world: World, start: int = 0) -> list[str]:
    return [p for p in world.sent(start) if p.endswith("/history")]


def _hold(world: World) -> datetime:
    """A hold posted through the tool: one PUT with the comment and ``[hold]``; its time."""
    tracker = world.tracker()
    run(tracker.post(world.ref, "alice holds. [m H1]", marker="H1", mirror=mirror(hold=True)))
    assert "[hold]" in world.fake.bugs[world.bug].whiteboard
    return world.fake.bugs[world.bug].comments[-1].time


# ---------------------------------------------------------------------- the answer


def test_a_real_52_history_without_the_hold_tag_has_no_marks() -> None:
    history = history_of(_fixture("history.200.json"), 1, "GET /rest/bug/1/history")
    assert len(history) == 4
    assert marks_of(history, "here") == []


def test_the_hold_tag_added_and_removed_are_marks_even_in_long_joined_values() -> None:
    data = _fixture("history.long-whiteboard.200.json")
    number = data["bugs"][0]["id"]
    marks = marks_of(history_of(data, number, "here"), "here")
    at = datetime(2026, 11, 30, 14, 27, 11, tzinfo=UTC)
    # :12 moved the tag into a 330-character whiteboard, joined with a space: no change
    assert marks == [
        Mark(flag="hold", on=True, by="admin@example.com", at=at),
        Mark(flag="hold", on=False, by="admin@example.com", at=at.replace(second=13)),
    ]


@pytest.mark.parametrize(
    "entry",
    [
        {"who": ME, "when": "yesterday", "changes": [{"field_name": "whiteboard"}]},
        {"who": ME, "when": "2026-11-30T14:27:11", "changes": [{"field_name": "whiteboard"}]},
        {"who": ME, "when": "2026-11-30T14:27:11Z", "changes": "whiteboard"},
        "not an entry",
    ],
    ids=["bad-time", "no-zone", "changes-not-a-list", "not-an-object"],
)
def test_a_history_entry_we_cannot_read_is_an_error_never_no_marks(entry: Any) -> None:
    with pytest.raises(ProtocolError):
        marks_of([entry], "here")


def test_an_answer_without_the_bug_is_an_error() -> None:
    with pytest.raises(ProtocolError):
        history_of({"bugs": []}, 1, "here")


# ---------------------------------------------------------------------- when it is read


def test_only_a_fresh_read_asks_the_52_history_once_alongside_the_bug(world: World) -> None:
    at = _hold(world)
    tracker = world.tracker()
    start = len(world.fake.log)
    cached = [run(tracker.fetch(world.ref)) for _ in range(3)]
    assert _history_reads(world, start) == []
    assert all(snap.marks == [] for snap in cached)
    start = len(world.fake.log)
    fresh = run(tracker.fetch(world.ref, fresh=True))
    assert _history_reads(world, start) == [f"GET /rest/bug/{world.bug}/history"]
    assert fresh.requests == 3  # the comments, the bug and its history, concurrently
    assert fresh.marks == [Mark(flag="hold", on=True, by=ME, at=at)]


def test_on_bmo_the_history_comes_with_the_bug_at_no_extra_request(bmo: World) -> None:
    at = _hold(bmo)
    bmo.base = "https://bugzilla.mozilla.org"  # BMO by its name, before any version is known
    tracker = bmo.tracker()
    run(tracker.fetch(bmo.ref))  # the key is checked from here on
    start = len(bmo.fake.log)
    fresh = run(tracker.fetch(bmo.ref, fresh=True))
    assert _history_reads(bmo, start) == []
    [bug_read] = [r for r in bmo.fake.log[start:] if r.path == f"/rest/bug/{bmo.bug}"]
    assert "history" in bug_read.params["include_fields"][0].split(",")
    assert fresh.requests == 2  # the comments and the bug, as before
    assert fresh.marks == [Mark(flag="hold", on=True, by=ME, at=at)]


def test_a_failing_history_read_fails_the_fresh_read(world: World) -> None:
    _hold(world)
    tracker = world.tracker()
    world.fake.faults.append(Fault("status", "GET", r"/history$", status=503, times=10))
    with pytest.raises(Unavailable):
        run(tracker.fetch(world.ref, fresh=True))
    assert run(tracker.fetch(world.ref)).comments  # a cached read never asks it


def test_a_bmo_that_does_not_send_the_history_with_the_bug_is_asked_for_it(bmo: World) -> None:
    at = _hold(bmo)

    def without_extra(request: httpx.Request) -> httpx.Response:  # an older BMO
        response = bmo.fake.handler(request)
        if request.url.path != f"/rest/bug/{bmo.bug}" or response.status_code != 200:
            return response
        data = response.json()
        data["bugs"][0].pop("history", None)
        return httpx.Response(200, json=data, headers={"ETag": response.headers["etag"]})

    tracker = build_bugzilla(
        BASE,
        ME_KEY,
        cache=bmo.cache(),
        login=ME,
        transport=httpx.MockTransport(without_extra),
        sleep=bmo.sleep,
    )
    try:
        start = len(bmo.fake.log)
        assert run(tracker.fetch(bmo.ref, fresh=True)).marks[0].at == at
        assert _history_reads(bmo, start) == [f"GET /rest/bug/{bmo.bug}/history"]
        bmo.fake.faults.append(Fault("status", "GET", r"/history$", status=503, times=10))
        with pytest.raises(Unavailable):
            run(tracker.fetch(bmo.ref, fresh=True))
    finally:
        run(tracker.aclose())


def test_a_server_without_the_history_route_is_read_without_marks(world: World) -> None:
    _hold(world)

    def no_history(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/history"):
            return httpx.Response(404, json=_fixture("error.unknown-route.404.json"))
        return world.fake.handler(request)

    cache = world.cache()
    tracker = build_bugzilla(
        BASE, ME_KEY, cache=cache, login=ME, transport=httpx.MockTransport(no_history)
    )
    try:
        snap = run(tracker.fetch(world.ref, fresh=True))
    finally:
        run(tracker.aclose())
    assert snap.marks == [] and snap.comments


def test_a_hold_tag_someone_typed_is_a_mark_too(world: World) -> None:
    world.fake.set_whiteboard(world.bug, OTHER, "[hold] please")
    snap = run(world.tracker().fetch(world.ref, fresh=True))
    assert [(m.on, m.by) for m in snap.marks] == [(True, OTHER)]
