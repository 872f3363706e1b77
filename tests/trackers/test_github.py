"""The GitHub backend against the stateful fake GitHub (``tests/fakes/github.py``)."""

from __future__ import annotations

import itertools
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    NotFound,
    RateLimited,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.github import FakeClock, FakeGitHub, Fault, Logged
from sync_incident.trackers.base import Mirror, NewIncident
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.tracker import (
    STATUS_END,
    STATUS_START,
    GitHubTracker,
    build_github,
    replace_status_block,
    strip_status_block,
)
from sync_incident.trackers.http import USER_AGENT
from tests.trackers.contract import ContractEnv, TrackerContract, run

API = "https://api.github.com"
REPO = "acme/releases"
ME, ME_TOKEN = "incident-bot", "ghp_me0000000000000000000000000000000000"
OTHER, OTHER_TOKEN = "alice", "ghp_alice000000000000000000000000000000"
CANARY = "ghp_CANARY7f3a9c2e41d8b05f6a7c9e2d1b3f4a5c6d7"
OPENAPI = Path(__file__).parents[1] / "fixtures" / "github" / "openapi-issues-subset.json"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@dataclass
class World:
    """A fake GitHub with one incident issue, and trackers on it that share a fake clock."""

    fake: FakeGitHub
    clock: FakeClock
    ref: IncidentRef
    trackers: list[GitHubTracker] = field(default_factory=list)

    def tracker(
        self, token: str | None = ME_TOKEN, cache: Cache | None = None, **options: Any
    ) -> GitHubTracker:
        client = build_github(
            API, token, cache=Cache(), transport=httpx.MockTransport(self.fake.handler)
        )._client  # the headers build_github sets, on a tracker we tune below
        tracker = GitHubTracker(
            client,
            token=token,
            cache=cache or Cache(),
            sleep=self.clock.sleep,
            clock=self.clock,
            **options,
        )
        self.trackers.append(tracker)
        return tracker

    def close(self) -> None:
        for tracker in self.trackers:
            run(tracker.aclose())


def make_world(**fake_options: Any) -> World:
    clock = FakeClock()
    fake = FakeGitHub(API, clock=clock, **fake_options)
    fake.add_user(ME, ME_TOKEN)
    fake.add_user(OTHER, OTHER_TOKEN)
    fake.add_user("carol", "ghp_carol00000000000000000000000000000000")
    fake.add_repo(REPO, admins=(ME, OTHER))
    issue = fake.add_issue(REPO, "Firefox 96.0.1 chemspill", "Opened by hand.", by=ME)
    clock.now += 60
    return World(fake, clock, IncidentRef("github", issue.number, repo=REPO))


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world()
    yield w
    w.close()


def as_alice(world: World, method: str, path: str, body: object = None) -> None:
    """Another user acting on GitHub directly (through the fake's REST endpoints)."""
    with httpx.Client(
        base_url=f"{API}/repos/{REPO}/issues",
        transport=httpx.MockTransport(world.fake.handler),
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    ) as client:
        response = client.request(method, path, json=body)
    assert response.is_success, response.text


def calls(entries: list[Logged]) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in entries]


def since(world: World, start: int) -> list[Logged]:
    return world.fake.log[start:]


class TestGitHubContract(TrackerContract):
    @pytest.fixture
    def env(self, world: World) -> ContractEnv:
        return ContractEnv(
            tracker=world.tracker(),
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
        )


# ---------------------------------------------------------------------- connection


def test_build_github_sends_bearer_accept_api_version_and_user_agent(world: World) -> None:
    tracker = build_github(
        API, ME_TOKEN, cache=Cache(), transport=httpx.MockTransport(world.fake.handler)
    )
    try:
        assert run(tracker.whoami()).login == ME
    finally:
        run(tracker.aclose())
    headers = world.fake.log[-1].headers
    assert headers["authorization"] == f"Bearer {ME_TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"] == USER_AGENT


def test_without_token_no_authorization_header_is_sent(world: World) -> None:
    tracker = build_github(
        API, None, cache=Cache(), transport=httpx.MockTransport(world.fake.handler)
    )
    try:
        run(tracker.fetch(world.ref))
    finally:
        run(tracker.aclose())
    assert all("authorization" not in e.headers for e in world.fake.log)


def test_enterprise_server_base_path_is_kept_on_every_request() -> None:
    clock = FakeClock()
    fake = FakeGitHub("https://ghe.example.com/api/v3", clock=clock)
    fake.add_user(ME, ME_TOKEN)
    fake.add_repo(REPO, admins=(ME,))
    issue = fake.add_issue(REPO, "t", "b", by=ME)
    for i in range(150):
        fake.add_comment(REPO, issue.number, f"c{i}", by=ME)
    tracker = build_github(
        "https://ghe.example.com/api/v3",
        ME_TOKEN,
        cache=Cache(),
        transport=httpx.MockTransport(fake.handler),
    )
    try:
        snap = run(tracker.fetch(IncidentRef("github", issue.number, repo=REPO)))
    finally:
        run(tracker.aclose())
    assert len(snap.comments) == 150
    assert all(e.url.startswith("https://ghe.example.com/api/v3/") for e in fake.log)


# ---------------------------------------------------------------------- reading


def test_comments_are_read_with_since_per_page_100_following_link_across_3_pages(
    world: World,
) -> None:
    for i in range(250):
        world.fake.add_comment(REPO, world.ref.number, f"comment {i}", by=OTHER)
    tracker = world.tracker()
    cold = run(tracker.fetch(world.ref))
    assert len(cold.comments) == 250
    pages = since(world, 0)[1:]
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


def test_next_link_to_another_host_is_refused(world: World) -> None:
    def evil(request: httpx.Request) -> httpx.Response:
        response = world.fake.handler(request)
        if request.url.path.endswith("/comments"):
            response.headers["link"] = '<https://evil.example/steal?page=2>; rel="next"'
        return response

    client = build_github(API, ME_TOKEN, cache=Cache(), transport=httpx.MockTransport(evil))
    try:
        with pytest.raises(TrackerError, match="another host"):
            run(client.fetch(world.ref))
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


def test_500_comment_issue_costs_6_requests_cold_and_1_warm(world: World) -> None:
    for i in range(500):
        world.fake.add_comment(REPO, world.ref.number, f"c{i}", by=OTHER)
    tracker = world.tracker()
    cold = run(tracker.fetch(world.ref))
    warm = run(tracker.fetch(world.ref))
    assert len(cold.comments) == 500
    assert (cold.requests, warm.requests) == (6, 1)


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


# ---------------------------------------------------------------------- writing


def hold_mirror(block: str = "**Active** · IC alice · hold") -> Mirror:
    return Mirror(
        active=True,
        ic_name="alice",
        ic_account=OTHER,
        hold=True,
        status_line="Active · IC alice · hold",
        status_block=block,
    )


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


def test_labels_added_and_removed_one_by_one_never_put_others_kept(world: World) -> None:
    world.fake.issue(REPO, world.ref.number).labels = ["p1", "incident", "incident:active"]
    tracker = world.tracker()
    run(tracker.post(world.ref, "hold", marker="l-1", mirror=hold_mirror()))
    assert world.fake.issue(REPO, world.ref.number).labels == [
        "p1",
        "incident",
        "incident:active",
        "hold",
    ]
    resolved = Mirror(False, "alice", OTHER, False, "Resolved", status_block="**Resolved**")
    run(tracker.post(world.ref, "resolved", marker="l-2", mirror=resolved))
    assert world.fake.issue(REPO, world.ref.number).labels == [
        "p1",
        "incident",
        "incident:resolved",
    ]
    assert not world.fake.requests("PUT")
    removed = [e.path.rsplit("/", 1)[1] for e in world.fake.requests("DELETE", r"/labels/")]
    assert sorted(removed) == ["hold", "incident:active"]
    added = [e.body for e in world.fake.requests("POST", r"/issues/\d+/labels$")]
    assert added == [{"labels": ["hold"]}, {"labels": ["incident:resolved"]}]


def test_missing_labels_are_created_on_first_use_only(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "one", marker="c-1", mirror=hold_mirror()))
    created = [e.body["name"] for e in world.fake.requests("POST", r"/repos/[^/]+/[^/]+/labels$")]
    assert sorted(created) == ["hold", "incident", "incident:active"]
    world.fake.issue(REPO, world.ref.number).labels = []  # someone removed them all
    run(tracker.post(world.ref, "two", marker="c-2", mirror=hold_mirror()))
    assert len(world.fake.requests("POST", r"/repos/[^/]+/[^/]+/labels$")) == 3
    assert world.fake.issue(REPO, world.ref.number).labels == [
        "hold",
        "incident",
        "incident:active",
    ]


def test_existing_label_is_fine_when_creating_it(world: World) -> None:
    world.fake.repos[REPO].labels["hold"] = {"color": "000000", "description": "theirs"}
    run(world.tracker().post(world.ref, "x", marker="x-1", mirror=hold_mirror()))
    assert "hold" in world.fake.issue(REPO, world.ref.number).labels
    assert world.fake.repos[REPO].labels["hold"]["description"] == "theirs"


def test_status_block_is_replaced_in_place_rest_of_body_byte_identical(world: World) -> None:
    before = "Intro with trailing spaces  \r\n\r\n"
    after = "\r\nFooter written by a human.\n"
    old_block = f"{STATUS_START}\nold status\n{STATUS_END}"
    world.fake.issue(REPO, world.ref.number).body = before + old_block + after
    tracker = world.tracker()
    run(tracker.post(world.ref, "e", marker="b-1", mirror=hold_mirror("**new** status")))
    body = world.fake.issue(REPO, world.ref.number).body
    assert body == before + f"{STATUS_START}\n\n**new** status\n\n{STATUS_END}" + after
    snap = run(tracker.fetch(world.ref))
    assert not snap.comments[0].edited  # our own block is not an edit of the description


def test_status_block_is_appended_when_absent(world: World) -> None:
    run(world.tracker().post(world.ref, "e", marker="b-2", mirror=hold_mirror("status")))
    body = world.fake.issue(REPO, world.ref.number).body
    assert body == f"Opened by hand.\n\n{STATUS_START}\n\nstatus\n\n{STATUS_END}"
    assert strip_status_block(body).rstrip() == "Opened by hand."


def test_replace_status_block_is_idempotent() -> None:
    once = replace_status_block("text", "block")
    assert replace_status_block(once, "block") == once


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


def test_assignee_of_a_former_ic_we_set_is_removed_others_kept(world: World) -> None:
    world.fake.issue(REPO, world.ref.number).assignees = ["carol"]
    world.fake.repos[REPO].permissions["carol"] = "write"
    tracker = world.tracker()
    run(tracker.post(world.ref, "ic alice", marker="a-1", mirror=hold_mirror()))
    assert world.fake.issue(REPO, world.ref.number).assignees == ["carol", OTHER]
    me_ic = Mirror(True, "bot", ME, True, "Active", status_block="**Active** · IC alice · hold")
    run(tracker.post(world.ref, "ic me", marker="a-2", mirror=me_ic))
    assert world.fake.issue(REPO, world.ref.number).assignees == ["carol", ME]


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


def comments_with(world: World, text: str) -> int:
    issue = world.fake.issue(REPO, world.ref.number)
    return sum(text in c.body for c in issue.comments.values())


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


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_read_is_retried(world: World, status: int) -> None:
    world.fake.faults.append(Fault("status", method="GET", status=status, times=2))
    tracker = world.tracker()
    snap = run(tracker.fetch(world.ref))
    assert snap.title == "Firefox 96.0.1 chemspill"
    assert [e.status for e in world.fake.log[:3]] == [status, status, 200]
    assert len(world.clock.sleeps) == 2


def test_html_error_page_and_truncated_json_on_read_are_retried(world: World) -> None:
    world.fake.faults.append(Fault("html", method="GET", status=502))
    world.fake.faults.append(Fault("truncated", method="GET", path=r"/comments$"))
    snap = run(world.tracker().fetch(world.ref))
    assert snap.title == "Firefox 96.0.1 chemspill"


def test_persistent_5xx_becomes_unavailable(world: World) -> None:
    world.fake.faults.append(Fault("status", method="GET", status=503, times=100))
    with pytest.raises(Unavailable):
        run(world.tracker().fetch(world.ref))
    assert len(world.fake.log) == 5


def test_401_is_auth_error_in_one_request_without_retry(world: World) -> None:
    tracker = world.tracker("ghp_revoked000000000000000000000000000000")
    with pytest.raises(AuthError):
        run(tracker.fetch(world.ref))
    assert len(world.fake.log) == 1
    assert world.clock.sleeps == []


def test_422_is_rejected_with_githubs_message_and_errors(world: World) -> None:
    tracker = world.tracker()
    with pytest.raises(Rejected, match=r"Validation Failed.*missing_field"):
        run(tracker.create(NewIncident("", "body", marker="m", location=REPO)))
    assert len(world.fake.requests("POST", r"/issues$")) == 1


def test_missing_repo_and_deleted_issue_are_not_found(world: World) -> None:
    tracker = world.tracker()
    with pytest.raises(NotFound):
        run(tracker.fetch(IncidentRef("github", 1, repo="acme/nope")))
    world.fake.issue(REPO, world.ref.number).deleted = True
    with pytest.raises(NotFound):
        run(tracker.fetch(world.ref))
    world.fake.repos[REPO].has_issues = False
    with pytest.raises(NotFound):
        run(tracker.fetch(world.ref))


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


# ---------------------------------------------------------------------- rate limits


def test_primary_limit_waits_until_reset(world: World) -> None:
    world.fake.faults.append(Fault("primary", method="GET", reset_in=300))
    snap = run(world.tracker().fetch(world.ref))
    assert snap.title
    assert len(world.clock.sleeps) == 1
    assert 300 <= world.clock.sleeps[0] <= 302


def test_primary_limit_too_far_raises_rate_limited_saying_when(world: World) -> None:
    world.fake.faults.append(Fault("primary", method="GET", reset_in=3000))
    with pytest.raises(RateLimited, match=r"resets at \d\d:\d\d:\d\d UTC") as info:
        run(world.tracker().fetch(world.ref))
    assert info.value.retry_after is not None and info.value.retry_after > 2900
    assert world.clock.sleeps == []


def test_secondary_limit_honours_retry_after(world: World) -> None:
    world.fake.faults.append(Fault("secondary", method="GET", status=429, retry_after=7))
    run(world.tracker().fetch(world.ref))
    assert world.clock.sleeps == [7.0]


def test_secondary_limit_without_retry_after_waits_at_least_60s_with_backoff(world: World) -> None:
    world.fake.faults.append(Fault("secondary", method="GET", status=403, times=2))
    run(world.tracker().fetch(world.ref))
    assert world.clock.sleeps == [60.0, 120.0]


def test_secondary_limit_on_a_post_is_waited_out_and_posts_once(world: World) -> None:
    world.fake.faults.append(Fault("secondary", method="POST", retry_after=30))
    run(world.tracker().post(world.ref, "x [marker S2]", marker="S2"))
    assert comments_with(world, "S2") == 1
    assert 30.0 in world.clock.sleeps


# ---------------------------------------------------------------------- authorization


def test_team_membership_active_pending_missing_and_cached(world: World) -> None:
    world.fake.teams[("acme", "relman")] = {"alice": "active", "carol": "pending"}
    tracker = world.tracker()
    assert run(tracker.team_membership("acme", "relman", "alice")) is True
    assert run(tracker.team_membership("acme", "relman", "carol")) is False
    assert run(tracker.team_membership("acme", "relman", "mallory")) is False
    count = tracker.requests
    assert run(tracker.team_membership("acme", "relman", "alice")) is True
    assert tracker.requests == count


def test_team_membership_with_github_token_is_access_denied_clearly(world: World) -> None:
    world.fake.add_user(
        "github-actions[bot]", "ghs_actions000000000000000000000000000", actions_token=True
    )
    tracker = world.tracker("ghs_actions000000000000000000000000000")
    with pytest.raises(
        AccessDenied, match="cannot read the membership of team acme/relman"
    ) as info:
        run(tracker.team_membership("acme", "relman", "alice"))
    assert "GITHUB_TOKEN" in str(info.value)
    assert "read:org" in info.value.hint


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", "admin"), ("maintain", "maintain"), ("write", "write"), ("triage", "triage")],
)
def test_repo_permission(world: World, role: str, expected: str) -> None:
    world.fake.repos[REPO].permissions["carol"] = role
    assert run(world.tracker().repo_permission(REPO, "carol")) == expected


def test_repo_permission_of_unknown_user_is_none(world: World) -> None:
    assert run(world.tracker().repo_permission(REPO, "nobody-here")) == "none"


# ---------------------------------------------------------------------- OpenAPI conformance

# endpoints the client uses that the issues subset does not describe, with their body schemas
EXTRA_OPERATIONS: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/user"): None,
    ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"): None,
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"): None,
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"): {
        "type": "object",
        "properties": {"assignees": {"type": "array", "items": {"type": "string"}}},
    },
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"): {
        "type": "object",
        "properties": {"assignees": {"type": "array", "items": {"type": "string"}}},
    },
}


class OpenAPI:
    """A minimal structural checker: path + method exist, query names declared, body shape."""

    def __init__(self, path: Path) -> None:
        self.spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any] | None]:
        # GitHub's Link URLs address a repository by id: the same operation as /repos/o/r
        path = re.sub(r"^/repositories/\d+", "/repos/o/r", path)
        for template, ops in self.spec["paths"].items():
            if (
                re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path)
                and method.lower() in ops
            ):
                return template, ops[method.lower()]
        for (m, template), _ in EXTRA_OPERATIONS.items():
            if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
                return template, None
        raise AssertionError(f"{method} {path} is not in GitHub's OpenAPI description")

    def conforms(self, value: Any, schema: Any, where: str) -> list[str]:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return []
        if value is None:
            return [] if schema.get("nullable") else [f"{where}: null not allowed"]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [self.conforms(value, option, where) for option in schema[key]]
                return [] if any(not o for o in options) else [f"{where}: matches no {key}"]
        kind = schema.get("type")
        types: dict[str, type | tuple[type, ...]] = {
            "object": dict,
            "array": list,
            "string": str,
            "integer": int,
            "boolean": bool,
            "number": (int, float),
        }
        if kind in types and not isinstance(value, types[kind]):
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
        problems: list[str] = []
        if kind == "object":
            problems += [
                f"{where}: missing {k}" for k in schema.get("required", []) if k not in value
            ]
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    problems += self.conforms(value[name], sub, f"{where}.{name}")
        if kind == "array":
            if len(value) < schema.get("minItems", 0):
                problems.append(f"{where}: fewer than {schema['minItems']} items")
            for i, item in enumerate(value):
                problems += self.conforms(item, schema.get("items", {}), f"{where}[{i}]")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} not in {schema['enum']}")
        return problems

    def check(self, entry: Logged) -> list[str]:
        template, op = self.operation(entry.method, entry.path)
        if op is None:
            body_schema = EXTRA_OPERATIONS[(entry.method, template)]
            return self.conforms(entry.body, body_schema, "body") if body_schema else []
        declared = {
            p["name"]
            for p in (self.resolve(x) for x in op.get("parameters", []))
            if p["in"] == "query"
        }
        problems = [f"query {k} not declared" for k in entry.params if k not in declared]
        body = op.get("requestBody")
        if body is None:
            if entry.body is not None:
                problems.append("body sent to an operation without a request body")
            return problems
        schema = self.resolve(body)["content"]["application/json"]["schema"]
        if entry.body is None:
            return problems + (
                ["required body missing"] if self.resolve(body).get("required") else []
            )
        return problems + self.conforms(entry.body, schema, "body")


def test_openapi_checker_catches_bad_requests() -> None:
    api = OpenAPI(OPENAPI)
    bad_body = Logged("POST", "/repos/o/r/issues/1/comments", {}, {"text": 1}, {}, 201, "", 0.0)
    assert api.check(bad_body) == ["body: missing body"]
    bad_type = Logged(
        "POST", "/repos/o/r/issues", {}, {"title": "t", "labels": "x"}, {}, 201, "", 0
    )
    assert api.check(bad_type)
    with pytest.raises(AssertionError):
        api.check(Logged("POST", "/repos/o/r/issues/1/pin", {}, None, {}, 201, "", 0.0))


def test_every_request_the_client_sends_matches_githubs_openapi(world: World) -> None:
    tracker = world.tracker()
    world.fake.teams[("acme", "relman")] = {"alice": "active"}
    for i in range(120):
        world.fake.add_comment(REPO, world.ref.number, f"c{i}", by=OTHER)
    run(tracker.fetch(world.ref))
    run(tracker.post(world.ref, "hold", marker="o-1", mirror=hold_mirror()))
    resolved = Mirror(False, "bob", ME, False, "Resolved", status_block="Resolved")
    run(tracker.post(world.ref, "resolved", marker="o-2", mirror=resolved))
    ref = run(tracker.create(NewIncident("T", "B [marker O3]", marker="O3", location=REPO)))
    run(tracker.fetch(ref))
    run(tracker.active_incidents())
    run(tracker.team_membership("acme", "relman", "alice"))
    run(tracker.repo_permission(REPO, "alice"))
    world.fake.faults.append(Fault("drop", method="POST", path=r"/issues$"))
    run(tracker.create(NewIncident("T2", "B [marker O4]", marker="O4", location=REPO)))
    api = OpenAPI(OPENAPI)
    problems = {f"{e.method} {e.path}": api.check(e) for e in world.fake.log}
    assert {k: v for k, v in problems.items() if v} == {}
    assert len(world.fake.log) > 20


# ---------------------------------------------------------------------- secrets


def canary_world() -> World:
    w = make_world()
    w.fake.add_user("canary-bot", CANARY)
    w.fake.repos[REPO].permissions["canary-bot"] = "admin"
    return w


def test_canary_token_never_appears_in_errors_reprs_or_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def record(exc: BaseException, tracker: GitHubTracker) -> None:
        seen.extend([str(exc), repr(exc), getattr(exc, "hint", ""), repr(tracker)])

    faults = [
        Fault("status", method="GET", status=503, times=100),
        Fault("drop", method="GET", times=100),
        Fault("connect", method="GET", times=100),
        Fault("html", method="GET", status=502, times=100),
        Fault("primary", method="GET", reset_in=5000),
    ]
    for fault in faults:
        w = canary_world()
        w.fake.faults.append(fault)
        tracker = w.tracker(CANARY)
        with pytest.raises(TrackerError) as info:
            run(tracker.fetch(w.ref))
        record(info.value, tracker)
        w.close()

    w = canary_world()
    w.fake.add_user("actions", "ghs_canaryactions00000000000000000000", actions_token=True)
    tracker = w.tracker(CANARY)
    with pytest.raises(NotFound) as missing:
        run(tracker.fetch(IncidentRef("github", 404, repo=REPO)))
    record(missing.value, tracker)
    with pytest.raises(Rejected) as invalid:
        run(tracker.create(NewIncident("", "b", marker="m", location=REPO)))
    record(invalid.value, tracker)
    w.close()

    # a server that echoes the credentials back in its error message
    w = canary_world()

    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if request.method == "POST":
            return httpx.Response(422, json={"message": f"bad {auth}", "errors": [auth]})
        return w.fake.handler(request)

    client = build_github(API, CANARY, cache=Cache(), transport=httpx.MockTransport(echo))
    with pytest.raises(Rejected) as rejected:
        run(client.post(w.ref, "x", marker="m"))
    record(rejected.value, client)
    run(client.aclose())
    w.close()

    unknown = make_world()  # the canary is not a valid token here: 401
    tracker = unknown.tracker(CANARY)
    for call in (tracker.whoami, lambda: tracker.fetch(unknown.ref)):
        with pytest.raises(AuthError) as auth:
            run(call())
        record(auth.value, tracker)
    actions = unknown.tracker(CANARY)
    with pytest.raises(AccessDenied) as denied:
        run(actions.team_membership("acme", "relman", "alice"))
    record(denied.value, actions)
    unknown.close()

    out = capsys.readouterr()
    assert "[REDACTED]" in " ".join(seen)  # the echo case really carried the token
    for text in [*seen, caplog.text, out.out, out.err]:
        assert CANARY not in text
        assert "CANARY7f3a9" not in text
