"""The Bugzilla backend against the fake 5.2 / BMO server: contract, auth, reads, writes, faults."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.core.errors import (
    AuthError,
    CommentTooLong,
    NotConfigured,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import (
    FakeBugzilla,
    FakeClock,
    Fault,
    Flavor,
    LoggedRequest,
    stamp,
)
from sync_incident.trackers.base import Mirror, NewIncident
from sync_incident.trackers.bugzilla.tracker import (
    FULL_EVERY,
    BugzillaTracker,
    auth_style_for,
    build_bugzilla,
    mirror_whiteboard,
)
from sync_incident.trackers.cache import Cache
from tests.trackers.contract import ContractEnv, TrackerContract, run

BASE = "https://bugzilla.test"
ME, ME_KEY = "admin@example.com", "ExampleAdminKey00000000000000000000000001"
OTHER, OTHER_KEY = "qa@example.com", "ExampleQaKey00000000000000000000000000000002"
CANARY = "CANARY-KEY-7f3a9"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "bugzilla"


class World:
    """A fake server (swappable, to simulate a restart), its bug, and trackers on it."""

    def __init__(self, flavor: Flavor = "5.2", **fake_args: Any) -> None:
        self.fake = FakeBugzilla(flavor, **fake_args)
        self.fake.add_user(ME, ME_KEY, real_name="Admin", insider=True, privileged=True)
        self.fake.add_user(OTHER, OTHER_KEY, real_name="QA", editbugs=False)
        self.bug = self.fake.add_bug(creator=ME)
        self.ref = IncidentRef("bugzilla", self.bug)
        self.sleeps: list[float] = []
        self.on_sleep: list[Any] = []
        self._trackers: list[BugzillaTracker] = []
        self._caches: list[Cache] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        for hook in self.on_sleep:
            hook()

    def tracker(
        self,
        key: str | None = ME_KEY,
        *,
        login: str | None = ME,
        cache: Cache | None = None,
        auth: str = "auto",
        mirror_assignee: bool = False,
    ) -> BugzillaTracker:
        if cache is None:
            cache = Cache(None)
            self._caches.append(cache)
        transport = httpx.MockTransport(lambda request: self.fake.handler(request))
        tracker = build_bugzilla(
            BASE,
            key,
            cache=cache,
            auth=auth,
            transport=transport,
            sleep=self.sleep,
            mirror_assignee=mirror_assignee,
            login=login,
        )
        self._trackers.append(tracker)
        return tracker

    def close(self) -> None:
        for tracker in self._trackers:
            run(tracker.aclose())
        for cache in self._caches:
            cache.close()

    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.fake.log if r.method in ("POST", "PUT")]

    def stored_with(self, text: str) -> int:
        return sum(text in c.text for c in self.fake.bugs[self.bug].comments)


@pytest.fixture
def world() -> Iterator[World]:
    w = World("5.2")
    yield w
    w.close()


@pytest.fixture
def bmo() -> Iterator[World]:
    w = World("bmo")
    yield w
    w.close()


def _mirror(**changes: Any) -> Mirror:
    base: dict[str, Any] = {
        "active": True,
        "ic_name": "alice",
        "ic_account": OTHER,
        "hold": False,
        "status_line": "Active · IC alice",
    }
    base.update(changes)
    return Mirror(**base)


# ---------------------------------------------------------------------- the shared contract


class TestBugzillaContract(TrackerContract):
    @pytest.fixture(params=["5.2", "bmo"])
    def env(self, request: pytest.FixtureRequest) -> Iterator[ContractEnv]:
        w = World(request.param)
        yield ContractEnv(
            tracker=w.tracker(),
            other=w.tracker(OTHER_KEY, login=OTHER),
            ref=w.ref,
            missing_ref=IncidentRef("bugzilla", 999_999),
            me=ME,
            other_login=OTHER,
            fresh=lambda: w.tracker(),
            new_incident=NewIncident(
                title="Firefox 97.0 release blocked by crash",
                body="Releng opens an incident for Firefox 97.0. [marker 01NEWINCIDENT]",
                marker="01NEWINCIDENT",
                location="Release Engineering :: General",
            ),
        )
        w.close()


# ---------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("version", "style"),
    [
        ("5.2+", "param"),
        ("5.2", "param"),
        ("5.0.6", "param"),
        ("4.4.14", "param"),
        ("20240101.1", "header"),
        ("5.1.2", "header"),
        ("5.3+", "header"),
        ("6.0", "header"),
        ("banana", "both"),
        ("", "both"),
    ],
)
def test_auth_style_follows_the_server_version(version: str, style: str) -> None:
    assert auth_style_for(version) == style


def _key_in_param_or_body(request: LoggedRequest, key: str) -> bool:
    if request.method == "GET":
        return request.params.get("Bugzilla_api_key") == [key]
    return isinstance(request.json, dict) and request.json.get("Bugzilla_api_key") == key


def test_52_always_gets_the_key_as_parameter_never_header_only(world: World) -> None:
    tracker = world.tracker()
    run(tracker.whoami())
    run(tracker.fetch(world.ref))
    run(tracker.post(world.ref, "QA signs off on Firefox 96.0.1.", marker="auth-1"))
    run(tracker.post(world.ref, "Hold released.", marker="auth-2", mirror=_mirror()))
    keyed = [r for r in world.fake.log if r.path != "/rest/version"]
    assert keyed
    assert all(_key_in_param_or_body(r, ME_KEY) for r in keyed)
    assert world.fake.bugs[world.bug].comments[-1].creator == ME


def test_unparseable_version_sends_both_header_and_parameter() -> None:
    w = World("5.2", version="custom-build")
    try:
        run(w.tracker().post(w.ref, "Releng note.", marker="both-1"))
        post = w.writes()[-1]
        assert post.headers["x-bugzilla-api-key"] == ME_KEY
        assert _key_in_param_or_body(post, ME_KEY)
    finally:
        w.close()


def test_bmo_gets_the_key_in_the_header_and_not_in_urls(bmo: World) -> None:
    tracker = bmo.tracker()
    run(tracker.post(bmo.ref, "QA signs off on Firefox 96.0.1.", marker="bmo-1"))
    run(tracker.fetch(bmo.ref))
    keyed = [r for r in bmo.fake.log if r.path != "/rest/version"]
    assert all(r.headers.get("x-bugzilla-api-key") == ME_KEY for r in keyed)
    assert not any(ME_KEY in r.url for r in bmo.fake.log)


def test_bearer_auth_sends_an_authorization_header(world: World) -> None:
    run(world.tracker(auth="bearer").fetch(world.ref))
    assert all(r.headers.get("authorization") == f"Bearer {ME_KEY}" for r in world.fake.log)
    assert not any(ME_KEY in r.url for r in world.fake.log)


def test_forced_header_auth_on_52_fails_before_writing(world: World) -> None:
    tracker = world.tracker(auth="header")
    with pytest.raises(AuthError, match="does not accept the API key"):
        run(tracker.post(world.ref, "Releng note.", marker="hdr-1"))
    assert world.writes() == []


def test_whoami_on_bmo_names_the_account(bmo: World) -> None:
    me = run(bmo.tracker(login=None).whoami())
    assert (me.login, me.uid, me.name) == (ME, "1", "Admin")
    assert [r.path for r in bmo.fake.log] == ["/rest/version", "/rest/whoami"]


def test_whoami_on_52_falls_back_to_valid_login(world: World) -> None:
    assert run(world.tracker().whoami()).login == ME
    paths = [r.path for r in world.fake.log]
    assert paths == ["/rest/version", "/rest/whoami", "/rest/valid_login"]
    assert world.fake.log[-1].params["login"] == [ME]


def test_whoami_on_52_without_login_is_not_configured_but_posting_works(world: World) -> None:
    tracker = world.tracker(login=None)
    with pytest.raises(NotConfigured, match="whoami"):
        run(tracker.whoami())
    posted = run(tracker.post(world.ref, "Releng note.", marker="nologin-1"))
    assert world.fake.comment(int(posted.comment_id)).creator == ME
    assert "/rest/user" in [r.path for r in world.fake.log]


def test_key_is_validated_once_before_the_first_write(bmo: World) -> None:
    tracker = bmo.tracker()
    run(tracker.post(bmo.ref, "first", marker="once-1"))
    run(tracker.post(bmo.ref, "second", marker="once-2"))
    paths = [r.path for r in bmo.fake.log]
    assert paths.count("/rest/whoami") == 1
    assert paths.index("/rest/whoami") < [r.method for r in bmo.fake.log].index("POST")


def test_bad_key_costs_one_request_and_is_never_retried(bmo: World) -> None:
    tracker = bmo.tracker("NotARealKey0000", auth="header")
    with pytest.raises(AuthError) as caught:
        run(tracker.post(bmo.ref, "Releng note.", marker="bad-1"))
    assert len(bmo.fake.log) == 1
    assert bmo.sleeps == []
    assert "306" in str(caught.value)
    assert caught.value.hint


def test_posting_without_a_key_is_not_configured_and_sends_nothing(world: World) -> None:
    with pytest.raises(NotConfigured):
        run(world.tracker(None).post(world.ref, "x", marker="nokey-1"))
    assert world.fake.log == []


def test_reading_a_public_bug_needs_no_key(world: World) -> None:
    snap = run(world.tracker(None).fetch(world.ref))
    assert snap.comments[0].body == "Initial description (comment 0)."
    assert all("Bugzilla_api_key" not in r.params for r in world.fake.log)


# ---------------------------------------------------------------------- reading


def _comment_reads(fake: FakeBugzilla) -> list[LoggedRequest]:
    return [r for r in fake.log if r.method == "GET" and r.path.endswith("/comment")]


def test_incremental_read_sends_new_since_with_z_one_second_before_the_last(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    last = world.fake.bugs[world.bug].comments[-1].time
    world.fake.add_comment(world.bug, OTHER, "Please hold the release.")
    run(tracker.fetch(world.ref))
    sent = _comment_reads(world.fake)[-1].params["new_since"]
    assert sent == [stamp(last - timedelta(seconds=1))]
    assert sent[0].endswith("Z")


def test_comments_in_the_same_second_are_not_missed() -> None:
    w = World("5.2", clock=FakeClock(step=0))
    try:
        tracker = w.tracker()
        run(tracker.post(w.ref, "first", marker="same-a"))
        run(tracker.fetch(w.ref))
        w.fake.add_comment(w.bug, OTHER, "second, same second")
        snap = run(tracker.fetch(w.ref))
        bodies = [c.body for c in snap.comments]
        assert bodies.count("second, same second") == 1
        assert len({c.id for c in snap.comments}) == len(snap.comments)
    finally:
        w.close()


def test_a_comment_behind_replica_lag_is_neither_lost_nor_duplicated(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    world.fake.lag_reads = 2
    posted = run(tracker.post(world.ref, "Hold on Firefox 96.0.1. [m LAG1]", marker="LAG1"))
    world.fake.lag_reads = 0
    world.fake.clock.advance(30)
    world.fake.add_comment(world.bug, OTHER, "later comment, visible at once")
    first = run(tracker.fetch(world.ref))
    assert posted.comment_id not in [c.id for c in first.comments]
    again = run(tracker.post(world.ref, "Hold on Firefox 96.0.1. [m LAG1]", marker="LAG1"))
    assert (again.duplicate, again.comment_id) == (True, posted.comment_id)
    run(tracker.fetch(world.ref))
    final = run(tracker.fetch(world.ref))
    assert [c.id for c in final.comments].count(posted.comment_id) == 1
    assert world.stored_with("[m LAG1]") == 1


def test_an_unchanged_incident_costs_one_request(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    second = run(tracker.fetch(world.ref))
    third = run(tracker.fetch(world.ref))
    assert (second.requests, third.requests) == (1, 1)
    assert third.from_cache
    assert world.fake.log[-1].headers.get("if-none-match")
    assert [c.id for c in third.comments] == [c.id for c in second.comments]


def test_a_cold_read_of_1000_comments_costs_two_requests(world: World) -> None:
    for i in range(999):
        world.fake.add_comment(world.bug, OTHER if i % 2 else ME, f"comment {i}")
    tracker = world.tracker(auth="param")
    cold = run(tracker.fetch(world.ref))
    warm = run(tracker.fetch(world.ref))
    assert len(cold.comments) == 1000
    assert (cold.requests, warm.requests) == (2, 1)


def test_a_vanished_comment_is_reported_after_a_full_read(world: World) -> None:
    tracker = world.tracker()
    posted = run(tracker.post(world.ref, "QA signs off. [m VAN1]", marker="VAN1"))
    run(tracker.fetch(world.ref))
    world.fake.hide_comment(int(posted.comment_id))
    snaps = [run(tracker.fetch(world.ref)) for _ in range(FULL_EVERY)]
    assert [c.id for c in snaps[-1].vanished] == [posted.comment_id]
    assert posted.comment_id not in [c.id for c in snaps[-1].comments]
    assert any("new_since" not in r.params for r in _comment_reads(world.fake)[2:])


def test_a_bmo_deleted_comment_counts_as_vanished(bmo: World) -> None:
    tracker = bmo.tracker()
    posted = run(tracker.post(bmo.ref, "Please hold. [m DEL1]", marker="DEL1"))
    run(tracker.fetch(bmo.ref))
    bmo.fake.delete_comment(int(posted.comment_id))
    bmo.fake.add_comment(bmo.bug, OTHER, "a new comment after the deletion")
    snaps = [run(tracker.fetch(bmo.ref)) for _ in range(FULL_EVERY)]
    assert posted.comment_id in [c.id for c in snaps[-1].vanished]


def test_a_new_gap_in_count_triggers_a_full_read(world: World) -> None:
    outsider = world.tracker(OTHER_KEY, login=OTHER)  # cannot see private comments
    run(outsider.fetch(world.ref))
    world.fake.add_comment(world.bug, ME, "insiders only", private=True)
    world.fake.add_comment(world.bug, OTHER, "public")
    run(outsider.fetch(world.ref))
    assert "new_since" in _comment_reads(world.fake)[-1].params
    run(outsider.fetch(world.ref))
    assert "new_since" not in _comment_reads(world.fake)[-1].params


def test_edit_count_marks_a_comment_edited_on_bmo(bmo: World) -> None:
    cid = bmo.fake.add_comment(bmo.bug, OTHER, "QA signs off on Firefox 96.0.1.")
    bmo.fake.edit_comment(cid, "QA signs off on Firefox 96.0.2.")
    snap = run(bmo.tracker().fetch(bmo.ref))
    edited = [c for c in snap.comments if c.id == str(cid)]
    assert edited[0].edited
    assert edited[0].body == "QA signs off on Firefox 96.0.2."


def test_private_comments_are_flagged_for_insiders_and_hidden_from_others(world: World) -> None:
    cid = world.fake.add_comment(world.bug, ME, "Security details.", private=True)
    mine = run(world.tracker().fetch(world.ref))
    theirs = run(world.tracker(OTHER_KEY, login=OTHER).fetch(world.ref))
    assert [c.private for c in mine.comments if c.id == str(cid)] == [True]
    assert str(cid) not in [c.id for c in theirs.comments]


def test_search_active_finds_bugs_by_whiteboard_tag(world: World) -> None:
    other_bug = world.fake.add_bug("Other", creator=ME, whiteboard="[incident:active] [ic:bob]")
    world.fake.add_bug("Done", creator=ME, whiteboard="[incident:resolved]")
    refs = run(world.tracker().active_incidents())
    assert refs == [IncidentRef("bugzilla", other_bug)]
    assert world.fake.log[-1].params["whiteboard"] == ["[incident:active]"]


# ---------------------------------------------------------------------- errors and retries


def test_an_error_inside_a_200_is_an_error_and_retried(world: World) -> None:
    tracker = world.tracker(auth="param")
    world.fake.faults.append(Fault("error_200", path="/comment", times=10))
    with pytest.raises(Unavailable, match="100500"):
        run(tracker.fetch(world.ref))
    assert len(world.sleeps) == 4


def test_a_single_crash_in_a_200_is_retried_transparently(world: World) -> None:
    world.fake.faults.append(Fault("error_200", path="/comment"))
    snap = run(world.tracker(auth="param").fetch(world.ref))
    assert snap.comments
    assert len(world.sleeps) == 1


def test_html_429_backs_off_for_minutes(bmo: World) -> None:
    bmo.fake.faults.append(Fault("html_429", times=2))
    run(bmo.tracker(auth="header").fetch(bmo.ref))
    assert len(bmo.sleeps) == 2
    assert all(s >= 60 for s in bmo.sleeps)
    assert bmo.sleeps[1] > bmo.sleeps[0]


def test_retry_after_is_honoured_when_present(bmo: World) -> None:
    bmo.fake.faults.append(Fault("html_429", retry_after="7"))
    run(bmo.tracker(auth="header").fetch(bmo.ref))
    assert bmo.sleeps == [7.0]


def test_plain_text_414_is_a_clear_rejection_without_retry(world: World) -> None:
    world.fake.faults.append(Fault("plain_414"))
    with pytest.raises(Rejected, match="too long"):
        run(world.tracker(auth="param").fetch(world.ref))
    assert world.sleeps == []


def test_html_500_pages_become_unavailable_after_retries(world: World) -> None:
    world.fake.faults.append(Fault("status", status=500, times=10))
    with pytest.raises(Unavailable, match="HTML") as caught:
        run(world.tracker(auth="param").fetch(world.ref))
    assert len(world.sleeps) == 4
    assert "JSON" not in type(caught.value).__name__


def test_a_truncated_answer_is_read_again(world: World) -> None:
    world.fake.faults.append(Fault("truncated", path="/comment"))
    snap = run(world.tracker(auth="param").fetch(world.ref))
    assert snap.comments[0].body.startswith("Initial description")
    assert len(world.sleeps) == 1


def test_missing_bug_is_never_retried(world: World) -> None:
    with pytest.raises(TrackerError, match="101"):
        run(world.tracker(auth="param").fetch(IncidentRef("bugzilla", 424242)))
    assert world.sleeps == []


def test_too_long_comment_costs_no_request(world: World) -> None:
    with pytest.raises(CommentTooLong):
        run(world.tracker().post(world.ref, "😀" * 65_536, marker="long-2"))
    assert world.fake.log == []


# ---------------------------------------------------------------------- idempotent writes


@pytest.mark.parametrize("kind", ["drop_after", "reset_after", "truncated"])
def test_a_lost_answer_after_the_server_stored_the_comment_posts_once(
    world: World, kind: str
) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    world.fake.faults.append(Fault(kind, method="POST"))  # type: ignore[arg-type]
    posted = run(tracker.post(world.ref, "QA signs off. [m AMB1]", marker="AMB1"))
    assert world.stored_with("[m AMB1]") == 1
    assert world.fake.comment(int(posted.comment_id)).text.endswith("[m AMB1]")
    assert len(world.writes()) == 1


@pytest.mark.parametrize(
    "fault",
    [Fault("status", status=503), Fault("status", status=502), Fault("connect_timeout")],
    ids=["503", "502", "connect-timeout"],
)
def test_a_failure_before_storing_posts_once_after_checking(world: World, fault: Fault) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    fault.method = "POST"
    world.fake.faults.append(fault)
    run(tracker.post(world.ref, "QA signs off. [m BEF1]", marker="BEF1"))
    assert world.stored_with("[m BEF1]") == 1
    assert len(world.writes()) == 2
    assert len(world.sleeps) == 1


def test_a_crash_in_a_200_on_write_posts_once(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    world.fake.faults.append(Fault("error_200", method="POST"))
    run(tracker.post(world.ref, "QA signs off. [m E200]", marker="E200"))
    assert world.stored_with("[m E200]") == 1


def test_a_lost_put_with_mirror_changes_posts_once(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    world.fake.faults.append(Fault("reset_after", method="PUT"))
    posted = run(tracker.post(world.ref, "Alice is IC. [m PUT1]", marker="PUT1", mirror=_mirror()))
    assert world.stored_with("[m PUT1]") == 1
    assert posted.comment_id == str(world.fake.bugs[world.bug].comments[-1].id)
    assert [r.method for r in world.writes()] == ["PUT"]


def test_a_server_restart_mid_sync_loses_and_duplicates_nothing(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "A [m R-A]", marker="R-A"))
    run(tracker.fetch(world.ref))
    world.fake.faults.append(Fault("drop_after", method="POST"))

    def restart() -> None:
        world.fake = world.fake.restarted()

    world.on_sleep.append(restart)
    run(tracker.post(world.ref, "B [m R-B]", marker="R-B"))
    world.fake.add_comment(world.bug, OTHER, "C from someone else")
    run(tracker.post(world.ref, "B [m R-B]", marker="R-B"))
    snap = run(tracker.fetch(world.ref))
    bodies = [c.body for c in snap.comments]
    assert [bodies.count(x) for x in ("A [m R-A]", "B [m R-B]", "C from someone else")] == [1, 1, 1]
    assert world.stored_with("[m R-B]") == 1


def test_an_ambiguous_create_files_one_bug(world: World) -> None:
    tracker = world.tracker()
    world.fake.faults.append(Fault("drop_after", method="POST", path="^/rest/bug$"))
    new = NewIncident(
        "Firefox 97 crash", "Incident opened. [m NEW2]", "NEW2", location="Firefox :: General"
    )
    ref = run(tracker.create(new))
    created = [b for b in world.fake.bugs.values() if b.summary == "Firefox 97 crash"]
    assert [b.id for b in created] == [ref.number]


# ---------------------------------------------------------------------- mirroring


def test_mirror_whiteboard_keeps_other_text_and_is_stable() -> None:
    wb = mirror_whiteboard("[other-team] triage  notes", _mirror(hold=True))
    assert wb == "[other-team] triage  notes [incident:active] [ic:alice] [hold]"
    assert mirror_whiteboard("[hold] x [ic:alice] [incident:active]", _mirror(hold=True)) == (
        "[hold] x [ic:alice] [incident:active]"
    )
    resolved = mirror_whiteboard(wb, _mirror(active=False, ic_name=None, hold=False))
    assert resolved == "[other-team] triage  notes [incident:resolved]"


def test_comment_and_whiteboard_go_in_one_put(world: World) -> None:
    world.fake.bugs[world.bug].whiteboard = "[other-team] triage notes"
    tracker = world.tracker()
    run(tracker.whoami())  # the key check before the first write is measured elsewhere
    run(tracker.fetch(world.ref))
    before = len(world.fake.log)
    posted = run(tracker.post(world.ref, "Alice is IC. [m WB1]", marker="WB1", mirror=_mirror()))
    writes = [r for r in world.fake.log[before:] if r.method in ("POST", "PUT")]
    assert [r.method for r in writes] == ["PUT"]
    assert writes[0].json["comment"]["body"] == "Alice is IC. [m WB1]"
    assert world.fake.bugs[world.bug].whiteboard == (
        "[other-team] triage notes [incident:active] [ic:alice]"
    )
    assert posted.requests == 3  # conditional bug read, the PUT, reading back the comment id


def test_an_unchanged_mirror_writes_a_plain_comment(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "Alice is IC. [m WB2]", marker="WB2", mirror=_mirror()))
    world.fake.bugs[world.bug].whiteboard += " someone's note"
    run(tracker.post(world.ref, "Still IC. [m WB3]", marker="WB3", mirror=_mirror()))
    assert [r.method for r in world.writes()] == ["PUT", "POST"]
    assert world.fake.bugs[world.bug].whiteboard.endswith("[ic:alice] someone's note")


def test_mirror_assignee_sets_the_ic_as_assignee(world: World) -> None:
    run(
        world.tracker(mirror_assignee=True).post(
            world.ref, "x [m AS1]", marker="AS1", mirror=_mirror()
        )
    )
    assert world.writes()[-1].json["assigned_to"] == OTHER
    assert world.fake.bugs[world.bug].assigned_to == OTHER


def test_needinfo_is_set_and_cleared_on_bmo(bmo: World) -> None:
    tracker = bmo.tracker()
    run(
        tracker.post(
            bmo.ref, "Handoff to QA. [m NI1]", marker="NI1", mirror=_mirror(needinfo=OTHER)
        )
    )
    flags = list(bmo.fake.bugs[bmo.bug].flags)
    assert [(f.name, f.status, f.requestee, f.setter) for f in flags] == [
        ("needinfo", "?", OTHER, ME)
    ]
    assert bmo.writes()[-1].json["flags"] == [
        {"name": "needinfo", "status": "?", "requestee": OTHER}
    ]
    run(tracker.post(bmo.ref, "QA accepts. [m NI2]", marker="NI2", mirror=_mirror(ic_name="qa")))
    assert bmo.writes()[-1].json["flags"] == [{"id": flags[0].id, "status": "X"}]
    assert bmo.fake.bugs[bmo.bug].flags == []


def test_no_flags_are_sent_to_upstream_52(world: World) -> None:
    run(
        world.tracker().post(
            world.ref, "Handoff. [m NI3]", marker="NI3", mirror=_mirror(needinfo=OTHER)
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
                world.ref, f"n{i} [m INM{i}]", marker=f"INM{i}", mirror=_mirror(hold=i % 2 == 1)
            )
        )
    assert world.writes()
    assert all("if-none-match" not in r.headers for r in world.writes())


# ---------------------------------------------------------------------- the key never leaks


def _every_error_path(flavor: Flavor) -> tuple[list[BaseException], list[str], list[str]]:
    """Run each failure with the canary key; return the errors, reprs and request URLs."""
    errors: list[BaseException] = []
    reprs: list[str] = []
    urls: list[str] = []
    scenarios: list[tuple[str, Fault | None]] = [
        ("bad-key", None),
        ("500", Fault("status", status=500, times=10)),
        ("timeout", Fault("connect_timeout", times=10)),
        ("reset", Fault("reset_after", times=10)),
        ("429", Fault("html_429", times=10)),
        ("414", Fault("plain_414")),
        ("truncated", Fault("truncated", times=10)),
        ("crash", Fault("error_200", times=10)),
    ]
    for name, fault in scenarios:
        w = World(flavor)
        if name != "bad-key":
            w.fake.add_user("canary@example.com", CANARY)
        tracker = w.tracker(CANARY, login="canary@example.com", auth="param")
        if fault is not None:
            w.fake.faults.append(fault)
        for call in (tracker.fetch(w.ref), tracker.post(w.ref, "x", marker=name)):
            try:
                run(call)
            except TrackerError as exc:
                errors.append(exc)
        reprs.append(repr(tracker))
        urls.extend(r.url for r in w.fake.log)
        w.close()
    return errors, reprs, urls


@pytest.mark.parametrize("flavor", ["5.2", "bmo"])
def test_the_key_never_appears_in_errors_reprs_logs_or_output(
    flavor: Flavor, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    errors, reprs, urls = _every_error_path(flavor)
    assert any(CANARY in url for url in urls)  # it really travelled in URLs
    assert len(errors) >= 8
    assert any(isinstance(e, AuthError) for e in errors)
    chained = [c for e in errors for c in (e.__cause__, e.__context__) if c is not None]
    texts = [str(e) for e in errors + chained] + [repr(e) for e in errors + chained]
    texts += [getattr(e, "hint", "") for e in errors] + reprs
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err]
    assert "HTTP Request" in caplog.text  # httpx logged the URLs, redacted
    assert not [t for t in texts if CANARY in t]


# ---------------------------------------------------------------------- the fake matches reality


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if not k.isdigit()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _call(fake: FakeBugzilla, method: str, url: str, body: Any = None) -> httpx.Response:
    request = httpx.Request(method, BASE + url, json=body)
    return fake.handler(request)


@pytest.mark.parametrize(
    ("method", "url", "body", "fixture"),
    [
        ("GET", "/rest/version", None, "version.200.json"),
        ("GET", f"/rest/bug/1/comment?api_key={ME_KEY}", None, "comments.admin.200.json"),
        (
            "GET",
            "/rest/bug/1?include_fields=id,summary,whiteboard,keywords,last_change_time,status,creation_time",
            None,
            "bug.include_fields.200.json",
        ),
        (
            "POST",
            "/rest/bug/1/comment",
            {"comment": "x", "api_key": ME_KEY},
            "comment.create.201.json",
        ),
        ("PUT", "/rest/bug/1", {"whiteboard": "[w]", "api_key": ME_KEY}, "bug.update.200.json"),
        ("GET", "/rest/bug/1?api_key=NotARealKey", None, "error.invalid-key.400.json"),
        ("POST", "/rest/bug/1/comment", {"comment": "x"}, "error.login-required.401.json"),
        ("GET", "/rest/bug/999999", None, "error.no-such-bug.404.json"),
        (
            "PUT",
            "/rest/bug/1",
            {"keywords": ["x"], "api_key": ME_KEY},
            "error.crash-in-200.200.json",
        ),
        (
            "POST",
            "/rest/bug/1/comment",
            {"comment": "a" * 65_536, "api_key": ME_KEY},
            "error.comment-too-long.400.json",
        ),
        ("GET", "/rest/nonexistent", None, "error.unknown-route.404.json"),
    ],
)
def test_the_fake_answers_with_the_real_52_shapes(
    method: str, url: str, body: Any, fixture: str
) -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY, insider=True)
    fake.add_bug(creator=ME)
    fake.add_comment(1, ME, "private", private=True)
    response = _call(fake, method, url, body)
    status = int(fixture.split(".")[-2])
    assert response.status_code == status
    assert _shape(response.json()) == _shape(_fixture(fixture))
    assert response.headers["etag"] and '"' not in response.headers["etag"]


def test_the_fake_applies_a_write_and_answers_304_to_if_none_match_star() -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    request = httpx.Request(
        "PUT",
        BASE + "/rest/bug/1",
        json={"whiteboard": "[inm]", "api_key": ME_KEY},
        headers={"If-None-Match": "*"},
    )
    response = fake.handler(request)
    assert (response.status_code, response.content) == (304, b"")
    assert fake.bugs[1].whiteboard == "[inm]"


def test_the_fake_52_ignores_the_header_and_runs_anonymous() -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    request = httpx.Request(
        "POST",
        BASE + "/rest/bug/1/comment",
        json={"comment": "x"},
        headers={"X-BUGZILLA-API-KEY": ME_KEY},
    )
    response = fake.handler(request)
    assert (response.status_code, response.json()["code"]) == (401, 410)
