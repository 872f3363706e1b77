"""The bug fields we mirror: whiteboard tags, assignee, needinfo, in one write."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sync_incident.config import Settings
from sync_incident.core import codec
from sync_incident.core.events import Opened
from sync_incident.service import Session
from sync_incident.trackers.bugzilla.mirror import mirror_whiteboard
from tests.trackers.bugzilla.world import (
    BASE,
    ME,
    ME_KEY,
    OTHER,
    OTHER_KEY,
    World,
    mirror,
)
from tests.trackers.contract import run

# ---------------------------------------------------------------------- mirroring


def test_mirror_whiteboard_keeps_other_text_and_is_stable() -> None:
    wb = mirror_whiteboard("[other-team] triage  notes", mirror(hold=True))
    assert wb == "[other-team] triage  notes [incident:active] [ic:alice] [hold]"
    assert mirror_whiteboard("[hold] x [ic:alice] [incident:active]", mirror(hold=True)) == (
        "[hold] x [ic:alice] [incident:active]"
    )
    resolved = mirror_whiteboard(wb, mirror(active=False, ic_name=None, hold=False))
    assert resolved == "[other-team] triage  notes [incident:resolved]"


def test_comment_and_whiteboard_go_in_one_put(world: World) -> None:
    world.fake.bugs[world.bug].whiteboard = "[other-team] triage notes"
    tracker = world.tracker()
    run(tracker.post(world.ref, "first, checks the key", marker="WB0"))
    run(tracker.fetch(world.ref))
    before = len(world.fake.log)
    posted = run(tracker.post(world.ref, "Alice is IC. [m WB1]", marker="WB1", mirror=mirror()))
    writes = [r for r in world.fake.log[before:] if r.method in ("POST", "PUT")]
    assert [r.method for r in writes] == ["PUT"]
    assert writes[0].json["comment"]["body"] == "Alice is IC. [m WB1]"
    assert world.fake.bugs[world.bug].whiteboard == (
        "[other-team] triage notes [incident:active] [ic:alice]"
    )
    assert posted.requests == 1  # the bug was read moments ago (this command): just the PUT
    assert posted.comment_id == ""  # a PUT does not say which comment it added ...
    snap = run(tracker.fetch(world.ref))  # ... the next read shows it
    assert snap.comments[-1].body == "Alice is IC. [m WB1]"


def test_an_unchanged_mirror_writes_a_plain_comment(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "Alice is IC. [m WB2]", marker="WB2", mirror=mirror()))
    world.fake.bugs[world.bug].whiteboard += " someone's note"
    run(tracker.post(world.ref, "Still IC. [m WB3]", marker="WB3", mirror=mirror()))
    assert [r.method for r in world.writes()] == ["PUT", "POST"]
    assert world.fake.bugs[world.bug].whiteboard.endswith("[ic:alice] someone's note")


def test_mirror_assignee_sets_the_ic_as_assignee(world: World) -> None:
    run(
        world.tracker(mirror_assignee=True).post(
            world.ref, "x [m AS1]", marker="AS1", mirror=mirror()
        )
    )
    assert world.writes()[-1].json["assigned_to"] == OTHER
    assert world.fake.bugs[world.bug].assigned_to == OTHER


def test_needinfo_is_set_and_cleared_on_bmo(bmo: World) -> None:
    tracker = bmo.tracker()
    run(
        tracker.post(bmo.ref, "Handoff to QA. [m NI1]", marker="NI1", mirror=mirror(needinfo=OTHER))
    )
    flags = list(bmo.fake.bugs[bmo.bug].flags)
    assert [(f.name, f.status, f.requestee, f.setter) for f in flags] == [
        ("needinfo", "?", OTHER, ME)
    ]
    assert bmo.writes()[-1].json["flags"] == [
        {"name": "needinfo", "status": "?", "requestee": OTHER}
    ]
    run(tracker.post(bmo.ref, "QA accepts. [m NI2]", marker="NI2", mirror=mirror(ic_name="qa")))
    assert bmo.writes()[-1].json["flags"] == [{"id": flags[0].id, "status": "X"}]
    assert bmo.fake.bugs[bmo.bug].flags == []


def test_no_flags_are_sent_to_upstream_52(world: World) -> None:
    run(
        world.tracker().post(
            world.ref, "Handoff. [m NI3]", marker="NI3", mirror=mirror(needinfo=OTHER)
        )
    )
    assert "flags" not in world.writes()[-1].json


def test_bmo_comments_are_posted_as_plain_text(bmo: World, world: World) -> None:
    run(bmo.tracker().post(bmo.ref, "x [m MD1]", marker="MD1"))
    run(world.tracker().post(world.ref, "x [m MD2]", marker="MD2"))
    assert bmo.writes()[-1].json["is_markdown"] is False
    assert "is_markdown" not in world.writes()[-1].json


def test_if_none_match_is_never_sent_on_writes(world: World) -> None:
    tracker = world.tracker()
    for i in range(3):
        run(tracker.fetch(world.ref))
        run(
            tracker.post(
                world.ref, f"n{i} [m INM{i}]", marker=f"INM{i}", mirror=mirror(hold=i % 2 == 1)
            )
        )
    assert world.writes()
    assert all("if-none-match" not in r.headers for r in world.writes())


# ---------------------------------------------------------------------- sync_mirror


def test_sync_mirror_writes_once_when_fields_differ_and_then_costs_nothing(world: World) -> None:
    cache = world.cache()
    run(world.tracker(cache=cache).post(world.ref, "checks the key", marker="sm-0"))
    tracker = world.tracker(cache=cache)  # the next command
    run(tracker.fetch(world.ref))
    start = len(world.fake.log)
    assert run(tracker.sync_mirror(world.ref, mirror(hold=True))) is True
    # the bug was just read by this command: one write, no second read
    assert world.sent(start) == ["PUT /rest/bug/1"]
    assert world.fake.bugs[world.bug].whiteboard == "[incident:active] [ic:alice] [hold]"
    start = len(world.fake.log)
    assert run(tracker.sync_mirror(world.ref, mirror(hold=True))) is False
    assert world.sent(start) == []


def test_sync_mirror_rereads_fields_changed_by_someone_else_and_keeps_their_text(
    world: World,
) -> None:
    cache = world.cache()
    run(world.tracker(cache=cache).fetch(world.ref))
    world.fake.bugs[world.bug].whiteboard = "[incident:active] [ic:alice] [hold] [qa-notes]"
    later = world.tracker(cache=cache)  # a later command: what it has cached is old
    assert run(later.sync_mirror(world.ref, mirror(hold=True))) is False  # read again: agrees
    assert world.fake.bugs[world.bug].whiteboard.endswith("[qa-notes]")
    assert "PUT /rest/bug/1" not in world.sent()


def test_sync_mirror_without_permission_returns_false_and_is_not_tried_again(
    world: World,
) -> None:
    cache = world.cache()
    plain = world.tracker(OTHER_KEY, login=OTHER, cache=cache)
    run(plain.fetch(world.ref))
    # the key check (once, before a first write) says: no editbugs; remembered, nothing sent
    assert run(plain.sync_mirror(world.ref, mirror(hold=True))) is False
    assert world.sent().count("GET /rest/user") == 1
    assert "PUT /rest/bug/1" not in world.sent()
    start = len(world.fake.log)
    later = world.tracker(OTHER_KEY, login=OTHER, cache=cache)
    assert run(later.sync_mirror(world.ref, mirror(hold=False, ic_name="bob"))) is False
    assert world.sent(start) == []


def test_sync_mirror_without_a_key_does_nothing(world: World) -> None:
    assert run(world.tracker(None).sync_mirror(world.ref, mirror(hold=True))) is False
    assert world.fake.log == []


def test_a_mirror_left_behind_by_a_plain_account_catches_up_on_the_next_editbugs_read(
    world: World,
) -> None:
    ic = world.tracker()
    run(ic.post(world.ref, "Alice is IC.", marker="cu-1", mirror=mirror()))
    plain = world.tracker(OTHER_KEY, login=OTHER)
    accepted = mirror(ic_name="qa", ic_account=OTHER)
    posted = run(plain.post(world.ref, "QA accepts the handoff.", marker="cu-2", mirror=accepted))
    assert "not updated" in posted.mirror_error and "editbugs" in posted.mirror_error
    assert "[ic:alice]" in world.fake.bugs[world.bug].whiteboard
    run(ic.fetch(world.ref))  # whoever can write next reads the incident ...
    assert run(ic.sync_mirror(world.ref, accepted)) is True  # ... and brings the mirror in line
    assert "[ic:qa]" in world.fake.bugs[world.bug].whiteboard


def test_a_read_never_writes_the_mirror_the_daemons_catch_up_does(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads (show, the gate, pages) write nothing; the daemon's catch-up after its read does."""
    world.fake.bugs[world.bug].whiteboard = "[incident:active] [ic:dana] [qa-notes]"
    opened = codec.render([Opened(title="Crash", ic="alice")], "plain")
    world.fake.add_comment(world.bug, ME, opened)
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", ME_KEY)
    settings = Settings(bugzilla={"url": BASE, "login": ME}, cache=tmp_path / "c.sqlite3")

    async def read(fresh: bool, catch_up: bool = False) -> None:
        transports = {"bugzilla": httpx.MockTransport(world.fake.handler)}
        async with Session(settings, transports=transports, sleep=world.sleep) as session:
            reading = await session.read(world.ref, fresh=fresh)
            if catch_up:
                await session.catch_up(world.ref, reading)

    start = len(world.fake.log)
    run(read(fresh=True))  # the gate's read
    run(read(fresh=False))  # show's
    assert [s for s in world.sent(start) if s.startswith("PUT")] == []
    assert world.fake.bugs[world.bug].whiteboard == "[incident:active] [ic:dana] [qa-notes]"
    run(read(fresh=False, catch_up=True))  # the daemon's
    assert world.fake.bugs[world.bug].whiteboard == "[qa-notes] [incident:active] [ic:alice]"
    start = len(world.fake.log)
    run(read(fresh=False, catch_up=True))  # in line already: nothing written
    assert [s for s in world.sent(start) if s.startswith("PUT")] == []


def test_on_bmo_a_plain_account_learns_from_the_first_115_and_then_sends_no_put(bmo: World) -> None:
    cache = bmo.cache()
    plain = bmo.tracker(OTHER_KEY, login=OTHER, cache=cache)
    run(plain.fetch(bmo.ref))
    first = run(plain.post(bmo.ref, "hold", marker="b115-1", mirror=mirror(hold=True)))
    assert "115" in first.mirror_error
    assert bmo.sent().count("PUT /rest/bug/1") == 1
    start = len(bmo.fake.log)
    later = bmo.tracker(OTHER_KEY, login=OTHER, cache=cache)
    run(later.post(bmo.ref, "released", marker="b115-2", mirror=mirror(hold=False)))
    assert [r for r in bmo.sent(start) if r.startswith(("PUT", "POST"))] == [
        "POST /rest/bug/1/comment"
    ]
