"""Incidents the daemon does not watch: resolved ones keep their page, retrospective and JSON.

Through the routes (a real server over the fake GitHub) and, for the bounds, the
:class:`~sync_incident.serve.lookup.Lookup` alone over a scripted reader.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sync_incident.core import codec
from sync_incident.core.comments import Comment
from sync_incident.core.errors import NotFound, Unavailable
from sync_incident.core.events import Event, Opened, Resolved
from sync_incident.core.fold import fold
from sync_incident.core.policy import Facts
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.serve.lookup import Lookup, Unreadable
from sync_incident.testing.github import Fault
from sync_incident.trackers.github.mirror import LABEL_ACTIVE
from tests.serve.world import REPO, World, account, policy, start, world

__all__ = ["world"]

OLD = Opened(title="Last month's crash", releases=["Firefox 95.0.2"], ic="dana")
DONE = Resolved(summary="The fix shipped in 95.0.2.")


def resolved_issue(world: World) -> int:
    """An incident opened and resolved before this server started: it is not watched."""
    number = world.new_issue(OLD.title)
    world.post(number, "dana", OLD)
    world.post(number, "dana", DONE)
    return number


def page(number: int, prefix: str = "/incidents/") -> str:
    return f"{prefix}github:{REPO}%23{number}"


# --- through the routes ---------------------------------------------------------------------------


def test_a_resolved_incident_not_watched_has_its_page_retro_and_json(world: World) -> None:
    number = resolved_issue(world)
    answer = world.get(page(number))
    assert answer.status_code == 200, answer.text
    assert "Last month&#39;s crash" in answer.text and "resolved" in answer.text
    assert f'<a href="{page(number, "/retro/")}">Retrospective draft</a>' in answer.text
    retro = world.get(page(number, "/retro/"))
    assert retro.status_code == 200 and "The fix shipped in 95.0.2." in retro.text
    assert f'<a href="{page(number)}" id="back">' in retro.text  # back to the incident page
    data = world.get(page(number, "/api/incidents/")).json()
    assert data["status"] == "resolved" and data["title"] == OLD.title


def test_an_incident_read_on_demand_is_read_once_then_kept(world: World) -> None:
    number = resolved_issue(world)
    before = len(world.github.log)
    assert world.get(page(number)).status_code == 200
    after_one = len(world.github.log)
    assert after_one > before
    for path in (page(number), page(number, "/retro/"), page(number, "/api/incidents/")):
        assert world.get(path).status_code == 200
    assert len(world.github.log) == after_one


def test_the_status_page_lists_only_watched_incidents_not_those_read_on_demand(
    world: World,
) -> None:
    number = resolved_issue(world)
    assert world.get(page(number)).status_code == 200
    board = world.get("/").text
    assert OLD.title not in board and f"card-github-acme-releases-{number}" not in board
    refs = [i["ref"] for i in world.get("/api/incidents").json()["incidents"]]
    assert f"{REPO}#{number}" not in refs


def test_a_webhook_about_an_incident_read_on_demand_makes_the_next_view_read_again(
    world: World,
) -> None:
    number = resolved_issue(world)
    assert world.get(page(number)).status_code == 200
    before = len(world.github.log)
    payload = world.payload("issue_comment", "created", number, sender="dana")
    assert world.deliver("issue_comment", payload).json()["result"] == "not-watched"
    assert world.get(page(number)).status_code == 200
    assert len(world.github.log) > before


def test_a_missing_incident_is_404_after_one_read_and_then_reads_nothing(world: World) -> None:
    before = len(world.github.log)
    assert world.get(f"/incidents/{REPO}%2399").status_code == 404
    once = len(world.github.log)
    assert once > before
    assert world.get(f"/incidents/{REPO}%2399").status_code == 404
    assert world.get(f"/api/incidents/{REPO}%2399").status_code == 404
    assert world.get(f"/retro/{REPO}%2399").status_code == 404
    assert len(world.github.log) == once


def test_an_issue_that_is_no_incident_is_404(world: World) -> None:
    number = world.new_issue("A feature request")
    answer = world.get(page(number))
    assert answer.status_code == 404 and "not an incident" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/local:5",  # a tracker this server does not use
        "/api/incidents/local:5",
        "/incidents/github:someone/else%231",  # a repository it does not watch
        "/retro/github:someone/else%231",
        "/incidents/not%20a%20reference",
    ],
)
def test_references_outside_the_configured_trackers_are_404_without_a_read(
    world: World, path: str
) -> None:
    before = len(world.github.log)
    assert world.get(path).status_code == 404
    assert len(world.github.log) == before


def test_a_tracker_that_cannot_answer_is_503_and_nothing_is_kept(world: World) -> None:
    number = resolved_issue(world)
    world.call(lambda: world.github.faults.extend(Fault("status", status=502) for _ in range(50)))
    answer = world.get(page(number))
    assert answer.status_code == 503 and "try again" in answer.text
    assert answer.headers["retry-after"] == "30"
    assert world.get(page(number, "/api/incidents/")).status_code == 503
    assert world.get(page(number, "/retro/")).status_code == 503
    world.call(world.github.faults.clear)
    assert world.get(page(number)).status_code == 200


def test_an_incident_resolved_while_serving_keeps_its_page_and_retro(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start(tmp_path, monkeypatch, discover=True)
    try:
        key = f"github:{REPO}#2"
        assert running.get(page(2)).status_code == 200  # discovered, watched
        running.post(2, "alice", Resolved(summary="A fix landed; the crash is gone."))
        payload = running.payload("issue_comment", "created", 2, sender="alice")
        assert running.deliver("issue_comment", payload).status_code == 202
        running.wait_reads(key, 2)
        # `sync-incident resolve` brings the label in line; discovery then stops watching it
        labels = running.call(lambda: running.github.repos[REPO].issues[2].labels)
        running.call(lambda: labels.remove(LABEL_ACTIVE))
        daemon = running.server.daemon
        running.call(lambda: daemon.poke(IncidentRef("github", 77, repo=REPO), discover=True))
        deadline = time.monotonic() + 5
        while any(w.ref.key == key for w in list(daemon.watches.values())):
            assert time.monotonic() < deadline, "discovery did not drop the resolved incident"
            time.sleep(0.01)
        answer = running.get(page(2))
        assert answer.status_code == 200, answer.text
        assert "Retrospective draft" in answer.text
        assert running.get(page(2, "/retro/")).status_code == 200
        assert running.get(page(2, "/api/incidents/")).json()["status"] == "resolved"
        board = running.get("/").text
        assert "card-github-acme-releases-2" not in board
        assert "card-github-acme-releases-1" in board
    finally:
        running.close()


# --- the bounds, over a scripted reader -----------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
GH = IncidentRef("github", 5, repo=REPO)


def state(ref: IncidentRef, *, opened: bool = True) -> IncidentState:
    events: list[Event] = [OLD, DONE.model_copy(update={"follows": OLD.id})] if opened else []
    comments = [
        Comment(str(n), account("dana"), T0 + timedelta(minutes=n), codec.render(e, "github"))
        for n, e in enumerate(events, 1)
    ]
    return fold(comments, kind="github", policy=policy(), now=T0 + timedelta(hours=1), ref=str(ref))


class Board:
    """What the lookup needs of the board: watched incidents, verdicts, a generation."""

    def __init__(self) -> None:
        from sync_incident.serve.board import Known

        self.watched: dict[str, Known] = {}
        self.generation = 0
        self.down: list[str] = []
        self.now = T0

    def find(self, text: str) -> object:
        return self.watched.get(text)

    def known_of(self, ref: IncidentRef, state: IncidentState, facts: Facts) -> object:
        from sync_incident.application.overview import overview
        from sync_incident.core.policy import Policy
        from sync_incident.serve.board import Known

        return Known(ref, overview(state, Policy(), facts, self.now))

    def touch(self) -> None:
        self.generation += 1

    def trackers_down(self) -> list[str]:
        return self.down

    def clock(self) -> datetime:
        return self.now


class Reader:
    """Counts reads; each waits for ``release`` (so tests can hold reads in flight)."""

    def __init__(self, answer: Callable[[IncidentRef], IncidentState] | Exception) -> None:
        self.answer = answer
        self.reads: list[IncidentRef] = []
        self.release = asyncio.Event()
        self.release.set()
        self.in_flight = 0
        self.most = 0

    async def __call__(self, ref: IncidentRef) -> tuple[IncidentState, Facts]:
        self.reads.append(ref)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer(ref), Facts()


def lookup(reader: Reader, board: Board | None = None, **options: object) -> tuple[Lookup, Board]:
    board = board or Board()
    found = Lookup(
        board,  # type: ignore[arg-type]
        reader,
        allowed=lambda ref: ref.kind == "github" and ref.repo == REPO,
        keep=lambda kind: timedelta(minutes=5),
        **options,  # type: ignore[arg-type]
    )
    return found, board


def run(make: Callable[[], Awaitable[object]]) -> object:
    return asyncio.run(make())  # type: ignore[arg-type]


def test_concurrent_views_of_one_reference_share_one_read() -> None:
    reader = Reader(state)
    found, _ = lookup(reader)

    async def views() -> bool:
        reader.release.clear()
        pending = [asyncio.ensure_future(found.find(GH.key)) for _ in range(5)]
        await asyncio.sleep(0)
        reader.release.set()
        results = await asyncio.gather(*pending)
        return results[0] is not None and all(r is results[0] for r in results)

    assert run(views) is True
    assert len(reader.reads) == 1


def test_reads_in_flight_are_bounded_across_references() -> None:
    reader = Reader(state)
    found, _ = lookup(reader, concurrency=2)

    async def views() -> None:
        reader.release.clear()
        pending = [asyncio.ensure_future(found.find(f"{REPO}#{n}")) for n in range(1, 7)]
        for _ in range(5):
            await asyncio.sleep(0)
        reader.release.set()
        await asyncio.gather(*pending)

    run(views)
    assert len(reader.reads) == 6 and reader.most == 2


def test_the_kept_reads_are_bounded_least_recently_used_first() -> None:
    reader = Reader(state)
    found, _ = lookup(reader, capacity=2)

    async def views() -> None:
        for n in (1, 2, 1, 3, 1, 2):  # 2 is the least recently used when 3 comes
            await found.find(f"{REPO}#{n}")

    run(views)
    assert [r.number for r in reader.reads] == [1, 2, 3, 2]


def test_a_kept_read_expires_after_the_poll_interval() -> None:
    reader = Reader(state)
    found, board = lookup(reader)

    async def views() -> None:
        await found.find(GH.key)
        board.now += timedelta(minutes=4)
        await found.find(GH.key)
        board.now += timedelta(minutes=2)
        await found.find(GH.key)

    run(views)
    assert len(reader.reads) == 2


def test_a_missing_incident_is_kept_as_missing() -> None:
    reader = Reader(NotFound("no such issue"))
    found, _ = lookup(reader)

    async def views() -> list[object]:
        return [await found.find(GH.key), await found.find(GH.key)]

    assert run(views) == [None, None] and len(reader.reads) == 1


def test_an_issue_with_no_incident_on_it_is_kept_as_missing() -> None:
    reader = Reader(lambda ref: state(ref, opened=False))
    found, _ = lookup(reader)
    assert run(lambda: found.find(GH.key)) is None
    assert found.cached(GH.key) is None


def test_a_tracker_error_is_unreadable_and_not_kept() -> None:
    reader = Reader(Unavailable("no answer in time"))
    found, _ = lookup(reader)
    for _ in range(2):
        with pytest.raises(Unreadable, match="no answer in time"):
            run(lambda: found.find(GH.key))
    assert len(reader.reads) == 2


def test_a_tracker_the_daemon_backs_off_is_not_read() -> None:
    reader = Reader(state)
    found, board = lookup(reader)
    board.down = ["github"]
    with pytest.raises(Unreadable, match="github"):
        run(lambda: found.find(GH.key))
    assert reader.reads == []


def test_references_not_allowed_are_never_read() -> None:
    reader = Reader(state)
    found, _ = lookup(reader)

    async def views() -> list[object]:
        texts = ("local:5", "github:someone/else#1", "bug 7", "no reference at all")
        return [await found.find(t) for t in texts]

    assert run(views) == [None] * 4 and reader.reads == []


def test_a_watched_incident_is_never_read_on_demand() -> None:
    from sync_incident.serve.board import Known

    reader = Reader(state)
    found, board = lookup(reader)
    board.watched[GH.key] = Known(GH, None)
    assert run(lambda: found.find(GH.key)) is board.watched[GH.key]
    assert reader.reads == []


def test_a_new_read_moves_the_board_generation_and_forget_drops_it() -> None:
    reader = Reader(state)
    found, board = lookup(reader)
    run(lambda: found.find(GH.key))
    assert board.generation == 1 and found.cached(GH.key) is not None
    found.forget(GH)
    assert found.cached(GH.key) is None
    run(lambda: found.find(GH.key))
    assert len(reader.reads) == 2
