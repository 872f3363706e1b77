"""Reading GitHub comments: conditional, incremental, paginated; edits and deletions."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from sync_incident.core.errors import (
    TrackerError,
)
from sync_incident.testing.github import Fault, Logged
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.tracker import build_github
from tests.trackers.contract import run
from tests.trackers.github.world import (
    API,
    ME,
    ME_TOKEN,
    OTHER,
    REPO,
    World,
    as_alice,
    calls,
    make_world,
    since,
)

# ---------------------------------------------------------------------- reading


def test_comments_are_read_with_since_per_page_100_following_link_across_3_pages(
    world: World,
) -> None:
    for i in range(250):
        world.fake.add_comment(REPO, world.ref.number, f"comment {i}", by=OTHER)
    tracker = world.tracker()
    cold = run(tracker.fetch(world.ref))
    assert len(cold.comments) == 250
    pages = [e for e in since(world, 0)[1:] if not e.path.endswith("/events")]
    assert [e.params.get("page") for e in pages] == [None, "2", "3"]
    assert all(e.params["per_page"] == "100" for e in pages)
    # pages 2 and 3 are GitHub's Link URLs (by repository id), not URLs we built
    assert pages[1].path.startswith("/repositories/")
    assert pages[2].path.startswith("/repositories/")

    world.clock.now += 10
    world.fake.add_comment(REPO, world.ref.number, "late", by=OTHER)
    start = len(world.fake.log)
    warm = run(tracker.fetch(world.ref))
    incremental = since(world, start)[1]
    assert incremental.params["since"]
    assert incremental.params["per_page"] == "100"
    assert [c.body for c in warm.comments[-2:]] == ["comment 249", "late"]
    assert len({c.id for c in warm.comments}) == 251


@pytest.mark.parametrize("listing", ["/comments", "/events"])
def test_next_link_to_another_host_is_refused(world: World, listing: str) -> None:
    def evil(request: httpx.Request) -> httpx.Response:
        response = world.fake.handler(request)
        if request.url.path.endswith(listing):
            response.headers["link"] = '<https://evil.example/steal?page=2>; rel="next"'
        return response

    client = build_github(API, ME_TOKEN, cache=Cache(), transport=httpx.MockTransport(evil))
    try:
        with pytest.raises(TrackerError, match="another host") as caught:
            run(client.fetch(world.ref))
        assert "evil.example" in caught.value.message
        assert "was not sent" in caught.value.hint
    finally:
        run(client.aclose())
    assert not any("evil" in e.url for e in world.fake.log)


def test_edited_comment_by_another_user_comes_back_via_since_newest_body_flagged(
    world: World,
) -> None:
    tracker = world.tracker()
    posted = run(tracker.post(world.ref, "QA signs off on 96.0.1.", marker="qa-1"))
    run(tracker.fetch(world.ref))
    world.clock.now += 120
    as_alice(world, "PATCH", f"/comments/{posted.comment_id}", {"body": "QA signs off on 96.0.2."})
    start = len(world.fake.log)
    snap = run(tracker.fetch(world.ref))
    comments_read = since(world, start)[1]
    assert "since" in comments_read.params
    found = [c for c in snap.comments if c.id == posted.comment_id]
    assert len(found) == 1
    assert found[0].body == "QA signs off on 96.0.2."
    assert found[0].edited


def test_edit_within_a_second_is_caught_by_the_hash(world: World) -> None:
    tracker = world.tracker()
    posted = run(tracker.post(world.ref, "original", marker="h-1"))
    first = run(tracker.fetch(world.ref))
    assert not next(c for c in first.comments if c.id == posted.comment_id).edited
    # updated_at == created_at: GitHub's timestamps do not show the change, the hash does
    world.fake.issue(REPO, world.ref.number).comments[int(posted.comment_id)].body = "forged"
    world.fake.issue(REPO, world.ref.number).updated_at += 1
    snap = run(tracker.fetch(world.ref))
    comment = next(c for c in snap.comments if c.id == posted.comment_id)
    assert comment.body == "forged"
    assert comment.edited


def test_fresh_comment_with_updated_at_one_second_later_is_not_an_edit(world: World) -> None:
    comment = world.fake.add_comment(REPO, world.ref.number, "hello", by=OTHER)
    comment.updated_at = comment.created_at + 1  # GitHub does this (palantir/policy-bot#459)
    snap = run(world.tracker().fetch(world.ref))
    assert not snap.comments[-1].edited


def test_the_issue_body_is_never_read_as_a_comment(world: World) -> None:
    world.fake.issue(REPO, world.ref.number).body = (
        "Opened by somebody else.\n\n<!-- sync-incident:1 signoff.given 01JDX3K8Q4ZC0V5Y7S9T2W4X6B"
        ' {"team":"QA"} c=00000000 -->'
    )
    snap = run(world.tracker().fetch(world.ref))
    assert snap.comments == []


def test_deleted_comment_is_reported_vanished(world: World) -> None:
    tracker = world.tracker()
    keep = world.fake.add_comment(REPO, world.ref.number, "keep", by=OTHER)
    gone = world.fake.add_comment(REPO, world.ref.number, "hold on 96.0.1", by=OTHER)
    run(tracker.fetch(world.ref))
    world.clock.now += 30
    as_alice(world, "DELETE", f"/comments/{gone.id}")
    snap = run(tracker.fetch(world.ref))
    assert [c.id for c in snap.vanished] == [str(gone.id)]
    assert str(keep.id) in [c.id for c in snap.comments]
    assert str(gone.id) not in [c.id for c in snap.comments]


def test_unchanged_incident_costs_one_304_and_no_rate_limit(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "something", marker="u-1"))
    run(tracker.fetch(world.ref))
    before = world.fake.remaining(ME_TOKEN)
    start = len(world.fake.log)
    snap = run(tracker.fetch(world.ref))
    log = since(world, start)
    assert calls(log) == [("GET", f"/repos/{REPO}/issues/{world.ref.number}")]
    assert log[0].status == 304
    assert log[0].headers["if-none-match"]
    assert snap.requests == 1
    assert snap.from_cache
    assert world.fake.remaining(ME_TOKEN) == before


def test_quiet_polls_check_comments_every_nth_time_for_edits_the_issue_hides() -> None:
    # in case GitHub stops moving the issue's updated_at on comment edits
    w = make_world(edit_bumps_issue=False)
    try:
        tracker = w.tracker(verify_every=3)
        c = w.fake.add_comment(REPO, w.ref.number, "sign-off", by=OTHER)
        run(tracker.fetch(w.ref))
        w.clock.now += 100
        w.fake.edit_comment(c.id, "forged sign-off")
        first = run(tracker.fetch(w.ref))
        second = run(tracker.fetch(w.ref))
        third = run(tracker.fetch(w.ref))
        assert (first.requests, second.requests, third.requests) == (1, 1, 2)
        assert first.comments[-1].body == "sign-off"
        assert third.comments[-1].body == "forged sign-off"
        assert third.comments[-1].edited
    finally:
        w.close()


def test_500_comment_issue_costs_7_requests_cold_and_1_warm(world: World) -> None:
    for i in range(500):
        world.fake.add_comment(REPO, world.ref.number, f"c{i}", by=OTHER)
    tracker = world.tracker()
    cold = run(tracker.fetch(world.ref))
    warm = run(tracker.fetch(world.ref))
    assert len(cold.comments) == 500
    # the issue, 5 pages of comments, the hold label's history; then one 304
    assert (cold.requests, warm.requests) == (7, 1)


def test_issue_fields_are_reported(world: World) -> None:
    world.fake.issue(REPO, world.ref.number).labels = ["incident", "p1"]
    snap = run(world.tracker().fetch(world.ref))
    assert snap.fields["labels"] == ["incident", "p1"]
    assert snap.fields["state"] == "open"
    assert snap.url == f"https://github.com/{REPO}/issues/{world.ref.number}"
    assert snap.comments == []


def test_search_active_follows_pages_and_skips_other_issues(world: World) -> None:
    for i in range(103):
        world.fake.add_issue(
            REPO, f"active {i}", "b", by=ME, labels=("incident", "incident:active")
        )
    world.fake.add_issue(REPO, "resolved", "b", by=ME, labels=("incident", "incident:resolved"))
    closed = world.fake.add_issue(REPO, "closed", "b", by=ME, labels=("incident:active",))
    closed.state = "closed"
    tracker = world.tracker(repos=[REPO])
    refs = run(tracker.active_incidents())
    assert sorted(r.number for r in refs) == list(range(2, 105))
    assert world.fake.log[0].params["labels"] == "incident:active"
    assert [e.path.startswith("/repositories/") for e in world.fake.log] == [False, True]


def test_search_resolved_finds_open_and_closed_issues_changed_since(world: World) -> None:
    now = world.fake.clock()
    done = world.fake.add_issue(REPO, "done", "b", by=ME, labels=("incident:resolved",))
    closed = world.fake.add_issue(REPO, "closed", "b", by=ME, labels=("incident:resolved",))
    closed.state = "closed"
    old = world.fake.add_issue(REPO, "old", "b", by=ME, labels=("incident:resolved",))
    old.updated_at = now - 10 * 86400
    world.fake.add_issue(REPO, "running", "b", by=ME, labels=("incident:active",))
    tracker = world.tracker(repos=[REPO])
    since = datetime.fromtimestamp(now - 86400, UTC)
    refs = run(tracker.resolved_incidents(since))
    assert sorted(r.number for r in refs) == [done.number, closed.number]
    sent = world.fake.log[0].params
    assert (sent["labels"], sent["state"]) == ("incident:resolved", "all")
    assert sent["since"] == since.strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------- ambiguous edits


def _stamped_one_second_late(world: World, text: str) -> int:
    """A comment whose updated_at is a second after created_at: GitHub does this unedited."""
    comment = world.fake.add_comment(REPO, world.ref.number, text, by=OTHER)
    comment.updated_at = comment.created_at + 1
    return comment.id


def _graphql(world: World, start: int = 0) -> list[Logged]:
    return [e for e in world.fake.log[start:] if e.path == "/graphql"]


def test_an_ambiguous_comment_is_asked_about_once_in_one_graphql_request(world: World) -> None:
    first = _stamped_one_second_late(world, "QA signs off on 96.0.1.")
    second = _stamped_one_second_late(world, "Releng signs off on 96.0.1.")
    tracker = world.tracker()
    snap = run(tracker.fetch(world.ref))
    assert [c.edited for c in snap.comments] == [False, False]
    asked = _graphql(world)
    assert len(asked) == 1
    assert asked[0].method == "POST"
    assert "lastEditedAt" in asked[0].body["query"]
    assert sorted(asked[0].body["variables"]["ids"]) == sorted(
        world.fake.issue(REPO, world.ref.number).comments[c].node_id for c in (first, second)
    )
    start = len(world.fake.log)
    run(tracker.fetch(world.ref))  # warm: already answered, not asked again
    run(tracker.fetch(world.ref))
    assert _graphql(world, start) == []


def test_a_comment_replaced_within_a_second_is_edited(world: World) -> None:
    cid = _stamped_one_second_late(world, "QA signs off on 96.0.1.")
    comment = world.fake.issue(REPO, world.ref.number).comments[cid]
    comment.body = "QA signs off on 96.0.2."
    comment.last_edited_at = comment.updated_at  # what GitHub's edit history says
    snap = run(world.tracker().fetch(world.ref))
    assert snap.comments[-1].edited


def _replaced_in_the_same_second(world: World) -> int:
    """A comment with events replaced within the second it was posted: no gap to see."""
    comment = world.fake.add_comment(REPO, world.ref.number, "Note. [sync-incident:1 x]", by=OTHER)
    comment.body = "QA signs off. [sync-incident:1 y]"
    comment.last_edited_at = comment.updated_at = comment.created_at
    return comment.id


def test_the_gate_asks_about_a_comment_with_events_replaced_within_its_second(
    world: World,
) -> None:
    _replaced_in_the_same_second(world)
    world.fake.add_comment(REPO, world.ref.number, "Plain chatter, no events.", by=OTHER)
    tracker = world.tracker()
    snap = run(tracker.fetch(world.ref, fresh=True))
    assert [c.edited for c in snap.comments] == [True, False]
    [asked] = _graphql(world)
    assert len(asked.body["variables"]["ids"]) == 1  # only the comment carrying events


def test_the_gate_asks_about_many_comments_in_batches_graphql_accepts(world: World) -> None:
    for n in range(150):
        world.fake.add_comment(REPO, world.ref.number, f"Note {n}. [sync-incident:1 x]", by=OTHER)
    snap = run(world.tracker().fetch(world.ref, fresh=True))
    assert not any(c.edited for c in snap.comments)  # every batch was answered
    assert [len(a.body["variables"]["ids"]) for a in _graphql(world)] == [100, 50]


def test_ordinary_reads_do_not_ask_about_same_second_comments(world: World) -> None:
    _replaced_in_the_same_second(world)
    snap = run(world.tracker().fetch(world.ref))
    assert _graphql(world) == [] and not snap.comments[-1].edited


def test_without_a_token_the_gate_does_not_doubt_every_same_second_comment(
    world: World,
) -> None:
    world.fake.add_comment(REPO, world.ref.number, "Note. [sync-incident:1 x]", by=OTHER)
    snap = run(world.tracker(None).fetch(world.ref, fresh=True))
    assert _graphql(world) == [] and not snap.comments[-1].edited


@pytest.mark.parametrize("failure", ["no-token", "5xx", "graphql-errors"])
def test_an_ambiguous_comment_counts_as_edited_when_the_check_fails(
    world: World, failure: str
) -> None:
    _stamped_one_second_late(world, "QA signs off on 96.0.1.")
    if failure == "5xx":
        world.fake.faults.append(Fault("status", method="POST", path="/graphql", times=10))
    if failure == "graphql-errors":

        def broken(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/graphql":
                return httpx.Response(200, json={"errors": [{"message": "rate limited"}]})
            return world.fake.handler(request)

        tracker = build_github(API, ME_TOKEN, cache=Cache(), transport=httpx.MockTransport(broken))
    else:
        tracker = world.tracker(None if failure == "no-token" else ME_TOKEN)
    try:
        first = run(tracker.fetch(world.ref))
        assert first.comments[-1].edited  # fail closed
        world.fake.faults.clear()
        second = run(tracker.fetch(world.ref))  # asked again on the next read
        assert second.comments[-1].edited is (failure != "5xx")
    finally:
        run(tracker.aclose())


def test_a_fresh_read_asks_again(world: World) -> None:
    _stamped_one_second_late(world, "QA signs off on 96.0.1.")
    cache = Cache()
    run(world.tracker(cache=cache).fetch(world.ref))
    start = len(world.fake.log)
    run(world.tracker(cache=cache).fetch(world.ref, fresh=True))
    assert len(_graphql(world, start)) == 1
