"""The GitHub tracker: the shared contract, writing once, filing, and what posting costs."""

from __future__ import annotations

import itertools
import socket
from pathlib import Path

import httpx
import pytest

from sync_incident.application.act import open_new
from sync_incident.application.intents import Open
from sync_incident.config import Settings
from sync_incident.core.errors import Unavailable
from sync_incident.core.refs import IncidentRef
from sync_incident.service import Session
from sync_incident.testing.github import Fault
from sync_incident.trackers.base import Mirror, NewIncident
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.mirror import STATUS_START
from sync_incident.trackers.github.tracker import build_github
from tests.trackers.contract import ContractEnv, TrackerContract, run
from tests.trackers.github.world import (
    API,
    ME,
    ME_TOKEN,
    OTHER,
    OTHER_TOKEN,
    REPO,
    WRITES,
    World,
    calls,
    comments_with,
    hold_mirror,
    since,
)


class TestGitHubContract(TrackerContract):
    @pytest.fixture
    def env(self, world: World) -> ContractEnv:
        cache = Cache()

        def spoil(ref: IncidentRef) -> None:
            key = f"{API}#{ref.repo.lower()}#{ref.number}"
            entry = cache.load(key)
            entry.comments.popitem()
            cache.save(key, entry)

        return ContractEnv(
            tracker=world.tracker(cache=cache),
            other=world.tracker(OTHER_TOKEN),
            ref=world.ref,
            missing_ref=IncidentRef("github", 999, repo=REPO),
            me=ME,
            other_login=OTHER,
            fresh=lambda: world.tracker(),
            new_incident=NewIncident(
                title="Firefox 97.0.2 chemspill",
                body="Incident opened.\n\n[marker 01OPENEDEVENT]",
                marker="01OPENEDEVENT",
                location=REPO,
            ),
            requests=lambda: len(world.fake.log),
            again=lambda: world.tracker(cache=cache),
            spoil=spoil,
        )


# ---------------------------------------------------------------------- writing


def test_posting_one_event_with_a_mirror_change_costs_these_requests(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "IC is alice, hold", marker="w-0", mirror=hold_mirror()))
    run(tracker.fetch(world.ref))  # what `show` or the daemon did just before
    start = len(world.fake.log)
    lifted = Mirror(True, "alice", OTHER, False, "Active · IC alice", status_block="**Active**")
    posted = run(tracker.post(world.ref, "Hold lifted [marker e-1]", marker="e-1", mirror=lifted))
    issue = f"/repos/{REPO}/issues/{world.ref.number}"
    assert calls(since(world, start)) == [
        ("GET", issue),  # 304: nothing changed since the fetch
        ("POST", f"{issue}/comments"),
        ("DELETE", f"{issue}/labels/hold"),
        ("PATCH", issue),  # the status block
    ]
    assert since(world, start)[0].status == 304
    assert posted.requests == 4


def test_second_identical_mirror_writes_nothing(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "one", marker="s-1", mirror=hold_mirror()))
    start = len(world.fake.log)
    posted = run(tracker.post(world.ref, "one", marker="s-1", mirror=hold_mirror()))
    assert posted.duplicate
    assert [e for e in since(world, start) if e.method in WRITES] == []


def test_writes_are_spaced_at_least_one_second(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "one", marker="sp-1", mirror=hold_mirror()))
    writes = [e for e in world.fake.log if e.method in WRITES]
    assert len(writes) >= 5
    gaps = [b.at - a.at for a, b in itertools.pairwise(writes)]
    assert all(gap >= 1.0 for gap in gaps)
    assert world.clock.sleeps and all(s <= 1.0 for s in world.clock.sleeps)


def test_create_files_the_issue_with_incident_labels(world: World) -> None:
    tracker = world.tracker()
    new = NewIncident("Title", "Body [marker 01CREATE]", marker="01CREATE", location=REPO)
    ref = run(tracker.create(new))
    issue = world.fake.issue(REPO, ref.number)
    assert issue.labels == ["incident", "incident:active"]
    assert issue.title == "Title"
    assert issue.body is not None
    assert "Body [marker 01CREATE]" not in issue.body  # the body only mirrors state
    comments = world.fake.comments_of(REPO, ref.number)
    assert [c.body for c in comments] == ["Body [marker 01CREATE]"]


def test_create_after_a_lost_answer_files_one_issue(world: World) -> None:
    tracker = world.tracker()
    run(tracker.whoami())
    world.fake.faults.append(Fault("drop", method="POST", path=r"/issues$"))
    new = NewIncident("Title", "Body [marker 01LOST]", marker="01LOST", location=REPO)
    ref = run(tracker.create(new))
    matching = [i for i in world.fake.repos[REPO].issues.values() if i.title == "Title"]
    assert len(matching) == 1
    assert ref.number == matching[0].number


# ---------------------------------------------------------------------- faults and idempotency


def test_timeout_after_the_comment_was_stored_leaves_exactly_one(world: World) -> None:
    tracker = world.tracker()
    world.fake.faults.append(Fault("drop", method="POST", path=r"/comments$"))
    posted = run(tracker.post(world.ref, "Sign-off [marker T1]", marker="T1"))
    assert comments_with(world, "T1") == 1
    assert posted.comment_id == str(next(iter(world.fake.issue(REPO, 1).comments)))
    assert len(world.fake.requests("POST", r"/comments$")) == 1


@pytest.mark.parametrize("kind", ["status", "html", "connect"])
def test_failure_before_storing_posts_exactly_one(world: World, kind: str) -> None:
    tracker = world.tracker()
    world.fake.faults.append(Fault(kind, method="POST", path=r"/comments$", status=500))  # type: ignore[arg-type]
    run(tracker.post(world.ref, "Sign-off [marker F1]", marker="F1"))
    assert comments_with(world, "F1") == 1
    assert len(world.fake.requests("POST", r"/comments$")) == 2


def test_truncated_answer_to_a_stored_comment_is_not_posted_again(world: World) -> None:
    tracker = world.tracker()
    world.fake.faults.append(Fault("truncated", method="POST", path=r"/comments$"))
    run(tracker.post(world.ref, "Sign-off [marker TR]", marker="TR"))
    assert comments_with(world, "TR") == 1


def test_someone_elses_comment_quoting_our_marker_does_not_suppress_ours(world: World) -> None:
    world.fake.add_comment(REPO, world.ref.number, "> quoting [marker Q1]", by=OTHER)
    posted = run(world.tracker().post(world.ref, "mine [marker Q1]", marker="Q1"))
    assert not posted.duplicate
    assert comments_with(world, "Q1") == 2


def test_403_on_a_mirror_write_is_not_retried_and_the_comment_still_stands(
    world: World,
) -> None:
    world.fake.repos[REPO].permissions.clear()
    tracker = world.tracker("ghp_carol00000000000000000000000000000000")
    posted = run(tracker.post(world.ref, "x", marker="d-1", mirror=hold_mirror()))
    assert [e.status for e in world.fake.log].count(403) == 1  # never retried
    assert "not updated" in posted.mirror_error
    comments = world.fake.issue(REPO, world.ref.number).comments.values()
    assert [c.body for c in comments if c.id == int(posted.comment_id)] != []


# ---------------------------------------------------------------------- identity and cost


def test_whoami_is_remembered_per_server_and_token_for_a_day(world: World) -> None:
    cache = Cache()
    assert run(world.tracker(cache=cache).whoami()).login == ME
    start = len(world.fake.log)
    assert run(world.tracker(cache=cache).whoami()).login == ME  # the next command
    assert since(world, start) == []
    rows = cache._db.execute("SELECT data FROM entries").fetchall()
    assert not [r for r in rows if ME_TOKEN in r[0]]


# ---------------------------------------------------------------------- opening, end to end


def test_open_writes_the_opened_event_once_as_a_comment(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def go() -> IncidentRef:
        settings = Settings(github={"api_url": API}, cache=tmp_path / "cache.sqlite3")
        transports = {"github": httpx.MockTransport(world.fake.handler)}
        async with Session(settings, transports=transports, sleep=world.clock.sleep) as s:
            return (
                await open_new(s, "github", Open(title="Crash", ic="alice"), location=REPO)
            ).where

    monkeypatch.setenv("GITHUB_TOKEN", ME_TOKEN)
    ref = run(go())
    issue = world.fake.issue(REPO, ref.number)
    opened = [c for c in issue.comments.values() if "opened" in c.body]
    assert len(opened) == 1 and len(issue.comments) == 1
    assert "sync-incident:1 opened" not in (issue.body or "")  # the body only mirrors state
    assert STATUS_START in (issue.body or "")
    assert len(world.fake.requests("POST", r"/issues$")) == 1


# ---------------------------------------------------------------------- failing fast


def test_a_github_that_does_not_resolve_fails_fast_naming_the_setting(world: World) -> None:
    class NoDns(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            except socket.gaierror as exc:
                raise httpx.ConnectError(str(exc), request=request) from exc

    tracker = build_github(
        "https://ghe.example.invalid/api/v3",
        ME_TOKEN,
        cache=Cache(),
        transport=NoDns(),
        sleep=world.clock.sleep,
    )
    with pytest.raises(Unavailable) as caught:
        run(tracker.fetch(world.ref))
    run(tracker.aclose())
    assert "ghe.example.invalid" in caught.value.message
    assert "--github-api-url" in caught.value.hint
    assert "SYNC_INCIDENT_GITHUB__API_URL" in caught.value.hint
    assert sum(world.clock.sleeps) <= 5.0
    assert ME_TOKEN not in caught.value.message + caught.value.hint
