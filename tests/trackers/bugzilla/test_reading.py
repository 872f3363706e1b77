"""Reading comments from Bugzilla: incremental, conditional, and what the tracker proves."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import (
    FakeBugzilla,
    FakeClock,
    LoggedRequest,
    stamp,
)
from sync_incident.trackers.bugzilla.reading import FULL_EVERY
from sync_incident.trackers.bugzilla.tracker import build_bugzilla
from sync_incident.trackers.cache import Cache, CachedIncident
from tests.trackers.bugzilla.world import (
    BASE,
    ME,
    ME_KEY,
    OTHER,
    OTHER_KEY,
    World,
)
from tests.trackers.contract import run

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


class SaveCounting(Cache):
    """An in-memory cache that counts the incident documents saved."""

    def __init__(self) -> None:
        super().__init__(None)
        self.saves = 0

    def save(self, key: str, incident: CachedIncident) -> None:
        self.saves += 1
        super().save(key, incident)


def test_an_unchanged_read_does_not_rewrite_the_cached_incident(world: World) -> None:
    cache = SaveCounting()
    try:
        tracker = world.tracker(cache=cache)
        run(tracker.fetch(world.ref))  # cold: comments and bug
        world.fake.add_comment(world.bug, OTHER, "QA verifies the fix.")
        run(tracker.fetch(world.ref))  # something new: saved
        run(tracker.fetch(world.ref))  # the overlapping second again, and this URL's ETag
        key = f"{BASE}#{world.bug}"
        saved, document = cache.saves, cache.get("incident", key)
        snaps = [run(tracker.fetch(world.ref)) for _ in range(3)]
        assert all(s.from_cache and s.requests == 1 for s in snaps)
        assert (cache.saves, cache.get("incident", key)) == (saved, document)
        assert "QA verifies the fix." in [c.body for c in snaps[-1].comments]
    finally:
        cache.close()


def test_every_twelfth_read_is_full_even_at_one_read_per_process(world: World) -> None:
    cache = Cache(None)  # one file, a new tracker (a new CLI command) for every read
    try:
        for _ in range(FULL_EVERY + 1):
            run(world.tracker(cache=cache).fetch(world.ref))
    finally:
        cache.close()
    full = ["new_since" not in r.params for r in _comment_reads(world.fake)]
    assert full == [True] + [False] * (FULL_EVERY - 1) + [True]


def test_an_unchanged_comment_is_made_once_and_an_edited_one_again(bmo: World) -> None:
    cid = str(bmo.fake.add_comment(bmo.bug, OTHER, "QA signs off on Firefox 96.0.1."))
    tracker = bmo.tracker()
    first = run(tracker.fetch(bmo.ref))
    second = run(tracker.fetch(bmo.ref))
    assert all(a is b for a, b in zip(first.comments, second.comments, strict=True))
    bmo.fake.edit_comment(int(cid), "QA signs off on Firefox 96.0.2.")
    fresh = run(tracker.fetch(bmo.ref, fresh=True))
    [before] = [c for c in second.comments if c.id == cid]
    [after] = [c for c in fresh.comments if c.id == cid]
    assert (before.edited, after.edited, after.body) == (
        False,
        True,
        "QA signs off on Firefox 96.0.2.",
    )
    others = [(a, b) for a, b in zip(second.comments, fresh.comments, strict=True) if a.id != cid]
    assert others and all(a is b for a, b in others)


def test_a_cold_read_of_1000_comments_costs_two_requests(world: World) -> None:
    for i in range(999):
        world.fake.add_comment(world.bug, OTHER if i % 2 else ME, f"comment {i}")
    tracker = world.tracker(auth="param")
    cold = run(tracker.fetch(world.ref))
    warm = run(tracker.fetch(world.ref))
    assert len(cold.comments) == 1000
    assert (cold.requests, warm.requests) == (2, 1)


def test_a_reader_without_a_key_reads_the_comments_alone(world: World) -> None:
    # the bug's fields serve the mirror, which a reader without a key never writes
    for i in range(99):
        world.fake.add_comment(world.bug, OTHER, f"comment {i}")
    tracker = world.tracker(key=None, login=None)
    cold = run(tracker.fetch(world.ref))
    assert cold.requests == 1 and len(cold.comments) == 100
    assert {r.path for r in world.fake.log} == {f"/rest/bug/{world.bug}/comment"}
    # the gate's fresh read still reads the bug and its [hold] history
    fresh = run(tracker.fetch(world.ref, fresh=True))
    assert fresh.requests == 3 and len(fresh.comments) == 100


def test_a_vanished_comment_is_reported_after_a_full_read(world: World) -> None:
    tracker = world.tracker()
    posted = run(tracker.post(world.ref, "QA signs off. [m VAN1]", marker="VAN1"))
    run(tracker.fetch(world.ref))
    world.fake.hide_comment(int(posted.comment_id))
    snaps = [run(tracker.fetch(world.ref)) for _ in range(FULL_EVERY)]
    assert [c.id for c in snaps[-1].vanished] == [posted.comment_id]
    assert posted.comment_id not in [c.id for c in snaps[-1].comments]
    assert any("new_since" not in r.params for r in _comment_reads(world.fake)[2:])


def test_a_bmo_deleted_comment_is_evidence_for_a_reader_without_cache(bmo: World) -> None:
    hold = bmo.fake.add_comment(bmo.bug, OTHER, "Please hold Firefox 96.0.1.")
    bmo.fake.delete_comment(hold)
    snap = run(bmo.tracker().fetch(bmo.ref, fresh=True))  # an admin: sees the tag
    assert str(hold) not in [c.id for c in snap.comments]
    assert [(e.kind, e.where) for e in snap.evidence] == [("hidden", f"comment {hold}")]
    assert "deleted" in snap.evidence[0].detail
    again = run(bmo.tracker().fetch(bmo.ref))  # cold, cached: the same, and warm reads keep it
    assert again.evidence == snap.evidence
    assert run(bmo.tracker().fetch(bmo.ref)).evidence == snap.evidence


def test_a_bmo_deleted_comment_is_a_gap_in_seq_for_everyone_else(bmo: World) -> None:
    hold = bmo.fake.add_comment(bmo.bug, OTHER, "Please hold Firefox 96.0.1.")
    bmo.fake.add_comment(bmo.bug, OTHER, "later")
    bmo.fake.delete_comment(hold)
    snap = run(bmo.tracker(OTHER_KEY, login=OTHER).fetch(bmo.ref, fresh=True))
    assert [c.seq for c in snap.comments] == [0, 2]  # the fold reads the gap as doubt


def test_a_bmo_deleted_comment_counts_as_vanished_for_a_warm_reader(bmo: World) -> None:
    tracker = bmo.tracker()
    posted = run(tracker.post(bmo.ref, "Please hold. [m DEL1]", marker="DEL1"))
    run(tracker.fetch(bmo.ref))
    bmo.fake.delete_comment(int(posted.comment_id))
    bmo.fake.add_comment(bmo.bug, OTHER, "a new comment after the deletion")
    snaps = [run(tracker.fetch(bmo.ref)) for _ in range(FULL_EVERY)]
    assert posted.comment_id in [c.id for c in snaps[-1].vanished]
    assert f"comment {posted.comment_id}" in [e.where for e in snaps[-1].evidence]


def test_comments_carry_the_trackers_order_and_count(world: World) -> None:
    world.fake.add_comment(world.bug, OTHER, "one")
    world.fake.add_comment(world.bug, OTHER, "two")
    snap = run(world.tracker().fetch(world.ref))
    assert [c.seq for c in snap.comments] == [0, 1, 2]
    assert [c.order for c in snap.comments] == [int(c.id) for c in snap.comments]


def test_a_fresh_read_neither_uses_nor_writes_the_cache(world: World) -> None:
    cache = world.cache()
    hold = world.fake.add_comment(world.bug, OTHER, "Please hold Firefox 96.0.1.")
    run(world.tracker(cache=cache).fetch(world.ref))
    key = f"{BASE}#{world.bug}"
    forged = cache.load(key)
    del forged.comments[str(hold)]  # a cache edited to drop the hold
    cache.save(key, forged)
    before = cache.get("incident", key)
    world.fake.add_comment(world.bug, ME, "new since")
    start = len(world.fake.log)
    snap = run(world.tracker(cache=cache).fetch(world.ref, fresh=True))
    assert str(hold) in [c.id for c in snap.comments]
    assert "new since" in [c.body for c in snap.comments]
    assert cache.get("incident", key) == before
    assert not [r for r in world.fake.log[start:] if r.headers.get("if-none-match")]
    assert not [r for r in world.fake.log[start:] if "new_since" in r.params]


def test_cache_keys_include_the_server(world: World) -> None:
    cache = world.cache()
    run(world.tracker(cache=cache).fetch(world.ref))
    other = FakeBugzilla("5.2")
    other.add_user(ME, ME_KEY)
    other.add_bug("Another server's bug 1", creator=ME, description="Not the same bug.")
    tracker = build_bugzilla(
        "https://other-bugzilla.test",
        ME_KEY,
        cache=cache,
        login=ME,
        transport=httpx.MockTransport(other.handler),
    )
    try:
        snap = run(tracker.fetch(world.ref))
    finally:
        run(tracker.aclose())
    assert [c.body for c in snap.comments] == ["Not the same bug."]


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


def test_search_resolved_finds_bugs_by_whiteboard_tag_changed_since(world: World) -> None:
    done = world.fake.add_bug("Done", creator=ME, whiteboard="[incident:resolved]")
    old = world.fake.add_bug("Old", creator=ME, whiteboard="[incident:resolved]")
    world.fake.add_bug("Running", creator=ME, whiteboard="[incident:active]")
    since = world.fake.bugs[done].last_change_time - timedelta(days=1)
    world.fake.bugs[old].last_change_time = since - timedelta(days=1)
    refs = run(world.tracker().resolved_incidents(since))
    assert refs == [IncidentRef("bugzilla", done)]
    sent = world.fake.log[-1].params
    assert sent["whiteboard"] == ["[incident:resolved]"]
    assert sent["last_change_time"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]


def test_search_active_finds_bugs_by_whiteboard_tag(world: World) -> None:
    other_bug = world.fake.add_bug("Other", creator=ME, whiteboard="[incident:active] [ic:bob]")
    world.fake.add_bug("Done", creator=ME, whiteboard="[incident:resolved]")
    refs = run(world.tracker().active_incidents())
    assert refs == [IncidentRef("bugzilla", other_bug)]
    assert world.fake.log[-1].params["whiteboard"] == ["[incident:active]"]


class Rounds(httpx.AsyncBaseTransport):
    """Answers as the fake does, a moment later; notes how many answers had come back when
    each request was sent: a request sent after an answer waited for it (another round)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.answered = 0
        self.sent: list[tuple[str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, self.answered))
        await request.aread()
        await asyncio.sleep(0.01)
        response = self.world.fake.handler(request)
        self.answered += 1
        return response

    def rounds(self) -> int:
        return len({answered for _, answered in self.sent})


def _rounds(world: World, *, fresh: bool, base: str = BASE) -> Rounds:
    transport = Rounds(world)
    cache = world.cache()
    tracker = build_bugzilla(base, ME_KEY, cache=cache, login=ME, transport=transport)
    try:
        run(tracker.fetch(world.ref, fresh=fresh))
    finally:
        run(tracker.aclose())
    return transport


def test_a_cold_read_with_a_key_is_one_round_trip(world: World) -> None:
    sent = _rounds(world, fresh=False)
    assert sorted(path for path, _ in sent.sent) == ["/rest/bug/1", "/rest/bug/1/comment"]
    assert sent.rounds() == 1


def test_the_gates_cold_read_is_one_round_trip_with_the_history(world: World) -> None:
    sent = _rounds(world, fresh=True)
    assert sorted(p for p, _ in sent.sent) == [
        "/rest/bug/1",
        "/rest/bug/1/comment",
        "/rest/bug/1/history",
    ]
    assert sent.rounds() == 1


def test_on_bmo_a_key_never_checked_goes_alone_first(bmo: World) -> None:
    # BMO blocks an IP after five bad keys a minute: one refusal, not three
    sent = _rounds(bmo, fresh=False, base="https://bugzilla.mozilla.org")
    assert sent.sent[0][1] == 0 and sent.rounds() == 2
