"""The Bugzilla tracker: the shared contract, identity, what a command costs, idempotent writes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync_incident.core.errors import (
    AuthError,
    NotConfigured,
)
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import (
    Fault,
)
from sync_incident.trackers.base import Mirror, NewIncident
from sync_incident.trackers.cache import Cache
from tests.trackers.bugzilla.world import (
    BASE,
    ME,
    ME_KEY,
    OTHER,
    OTHER_KEY,
    World,
    mirror,
)
from tests.trackers.contract import ContractEnv, TrackerContract, run

# ---------------------------------------------------------------------- the shared contract


class TestBugzillaContract(TrackerContract):
    @pytest.fixture(params=[("5.2", ME), ("bmo", ME), ("bmo", None)], ids=["5.2", "bmo", "whoami"])
    def env(self, request: pytest.FixtureRequest) -> Iterator[ContractEnv]:
        flavor, login = request.param
        w = World(flavor)
        cache = w.cache()

        def spoil(ref: IncidentRef) -> None:
            entry = cache.load(f"{BASE}#{ref.number}")
            entry.comments.popitem()
            cache.save(f"{BASE}#{ref.number}", entry)

        yield ContractEnv(
            tracker=w.tracker(login=login, cache=cache),
            other=w.tracker(OTHER_KEY, login=OTHER),
            ref=w.ref,
            missing_ref=IncidentRef("bugzilla", 999_999),
            me=ME,
            other_login=OTHER,
            fresh=lambda: w.tracker(login=login),
            new_incident=NewIncident(
                title="Firefox 97.0 release blocked by crash",
                body="Releng opens an incident for Firefox 97.0. [marker 01NEWINCIDENT]",
                marker="01NEWINCIDENT",
                location="Release Engineering :: General",
            ),
            requests=lambda: len(w.fake.log),
            again=lambda: w.tracker(login=login, cache=cache),
            spoil=spoil,
        )
        w.close()


def test_whoami_asks_nothing_when_the_login_is_configured(world: World, bmo: World) -> None:
    assert run(world.tracker().whoami()).login == ME
    assert run(bmo.tracker().whoami()).login == ME
    assert world.fake.log == [] and bmo.fake.log == []


def test_whoami_on_bmo_names_the_account_and_remembers_it(bmo: World) -> None:
    cache = bmo.cache()
    me = run(bmo.tracker(login=None, cache=cache).whoami())
    assert (me.login, me.uid, me.name) == (ME, "1", "Admin")
    assert bmo.sent() == ["GET /rest/version", "GET /rest/whoami"]
    again = run(bmo.tracker(login=None, cache=cache).whoami())  # the next command
    assert again == me
    assert len(bmo.fake.log) == 2


def test_whoami_on_52_without_login_is_not_configured_and_never_asked(world: World) -> None:
    cache = world.cache()
    with pytest.raises(NotConfigured, match="whoami") as caught:
        run(world.tracker(login=None, cache=cache).whoami())
    assert "SYNC_INCIDENT_BUGZILLA__LOGIN" in caught.value.hint
    # the version says 5.2, which has no /rest/whoami: it is not asked for a 404
    assert world.sent() == ["GET /rest/version"]
    with pytest.raises(NotConfigured):
        run(world.tracker(login=None, cache=cache).whoami())
    assert len(world.fake.log) == 1  # the version is remembered


def test_posting_on_52_without_a_login_works(world: World) -> None:
    posted = run(world.tracker(login=None).post(world.ref, "Releng note.", marker="nologin-1"))
    assert world.fake.comment(int(posted.comment_id)).creator == ME


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


def test_the_key_check_is_remembered_per_server_and_key_for_a_day(world: World) -> None:
    now = [1_000_000.0]
    cache = world.cache()
    first = world.tracker(cache=cache, clock=lambda: now[0])
    run(first.post(world.ref, "first", marker="day-1"))
    assert "GET /rest/user" in world.sent()
    start = len(world.fake.log)
    run(world.tracker(cache=cache, clock=lambda: now[0]).post(world.ref, "next", marker="day-2"))
    assert world.sent(start) == ["POST /rest/bug/1/comment"]  # no version, no key check
    other_key = world.tracker(OTHER_KEY, login=OTHER, cache=cache, clock=lambda: now[0])
    start = len(world.fake.log)
    run(other_key.post(world.ref, "qa", marker="day-3"))
    assert "GET /rest/user" in world.sent(start)  # another key is checked on its own
    now[0] += 25 * 3600
    start = len(world.fake.log)
    run(world.tracker(cache=cache, clock=lambda: now[0]).post(world.ref, "later", marker="day-4"))
    assert "GET /rest/version" in world.sent(start)
    assert "GET /rest/user" in world.sent(start)


def test_the_cache_keeps_a_fingerprint_never_the_key(world: World) -> None:
    cache = world.cache()
    run(world.tracker(cache=cache).post(world.ref, "x", marker="fp-1"))
    rows = cache._db.execute("SELECT ns, key, data FROM entries").fetchall()
    assert rows
    assert not [row for row in rows if ME_KEY in "".join(row) or ME_KEY[:12] in "".join(row)]


def test_a_revoked_key_fails_the_write_fast_and_is_checked_again(world: World) -> None:
    cache = world.cache()
    run(world.tracker(cache=cache).post(world.ref, "x", marker="rev-1"))
    world.fake.users[ME].key = "a-new-key-after-revocation"
    start = len(world.fake.log)
    with pytest.raises(AuthError, match="306"):
        run(world.tracker(cache=cache).post(world.ref, "y", marker="rev-2"))
    assert [r for r in world.sent(start) if r.startswith("POST")] == ["POST /rest/bug/1/comment"]
    assert world.sleeps == []  # never retried
    world.fake.users[ME].key = ME_KEY  # the same key works again: it is checked again first
    start = len(world.fake.log)
    run(world.tracker(cache=cache).post(world.ref, "y", marker="rev-2"))
    assert "GET /rest/user" in world.sent(start)
    assert world.stored_with("y") == 1


def test_a_key_of_another_account_than_the_login_is_refused_before_writing(bmo: World) -> None:
    with pytest.raises(AuthError, match=f"belongs to {ME}, not to {OTHER}"):
        run(bmo.tracker(ME_KEY, login=OTHER).post(bmo.ref, "x", marker="mix-1"))
    assert bmo.writes() == []


# ---------------------------------------------------------------------- what a command costs


def _warm(world: World, cache: Cache, key: str = ME_KEY, login: str = ME) -> None:
    """The first command with this key: version, key check and a cold read are paid once."""
    tracker = world.tracker(key, login=login, cache=cache)
    run(tracker.fetch(world.ref))
    run(tracker.post(world.ref, f"warm-up by {login}", marker=f"warm-{login}"))


def _command(
    world: World, cache: Cache, marker: str, m: Mirror | None, key: str = ME_KEY, login: str = ME
) -> list[str]:
    """A posting command as the CLI runs it: read, name the actor, post with the mirror."""
    tracker = world.tracker(key, login=login, cache=cache)
    start = len(world.fake.log)
    run(tracker.fetch(world.ref))
    run(tracker.whoami())
    run(tracker.post(world.ref, f"event {marker}", marker=marker, mirror=m))
    return world.sent(start)


def test_a_posting_command_costs_one_read_and_one_write(world: World) -> None:
    cache = world.cache()
    _warm(world, cache)
    run(world.tracker(cache=cache).sync_mirror(world.ref, mirror()))
    world.fake.add_comment(world.bug, OTHER, "someone else said something")
    sent = _command(world, cache, "cost-1", mirror())
    assert sent == ["GET /rest/bug/1/comment", "POST /rest/bug/1/comment"]


def test_a_posting_command_that_changes_a_field_costs_three(world: World) -> None:
    cache = world.cache()
    _warm(world, cache)
    run(world.tracker(cache=cache).sync_mirror(world.ref, mirror()))
    sent = _command(world, cache, "cost-2", mirror(hold=True))
    assert sent == ["GET /rest/bug/1/comment", "GET /rest/bug/1", "PUT /rest/bug/1"]
    assert world.fake.bugs[world.bug].whiteboard.endswith("[hold]")


def test_a_plain_account_is_known_from_the_key_check_and_never_sends_a_failing_put(
    world: World,
) -> None:
    cache = world.cache()
    _warm(world, cache, OTHER_KEY, OTHER)
    first = _command(world, cache, "plain-1", mirror(hold=True), OTHER_KEY, OTHER)
    assert first == ["GET /rest/bug/1/comment", "POST /rest/bug/1/comment"]  # no failing PUT
    later = _command(world, cache, "plain-2", mirror(hold=False), OTHER_KEY, OTHER)
    assert later == ["GET /rest/bug/1/comment", "POST /rest/bug/1/comment"]
    assert world.stored_with("event plain-1") == world.stored_with("event plain-2") == 1


def test_a_plain_account_still_mirrors_a_bug_it_filed(world: World) -> None:
    cache = world.cache()
    world.tracker(OTHER_KEY, login=OTHER, cache=cache)
    world.fake.users[OTHER].editbugs = False
    theirs = world.fake.add_bug("QA's own incident", creator=OTHER)
    ref = IncidentRef("bugzilla", theirs)
    tracker = world.tracker(OTHER_KEY, login=OTHER, cache=cache)
    run(tracker.post(world.ref, "learn", marker="own-0", mirror=mirror(hold=True)))  # 115
    run(tracker.fetch(ref))
    run(tracker.post(ref, "hold", marker="own-1", mirror=mirror(hold=True)))
    assert world.fake.bugs[theirs].whiteboard.endswith("[hold]")


def test_a_refused_command_makes_no_key_check(world: World) -> None:
    cache = world.cache()
    tracker = world.tracker(OTHER_KEY, login=OTHER, cache=cache)
    run(tracker.fetch(world.ref))
    run(tracker.whoami())  # ... and then the rules refuse: nothing is posted
    assert not [r for r in world.sent() if "valid_login" in r or "whoami" in r]


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
    posted = run(tracker.post(world.ref, "Alice is IC. [m PUT1]", marker="PUT1", mirror=mirror()))
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


def test_a_52_server_is_not_asked_for_whoami_once_its_version_is_known(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))  # the key's first request asks the version: 5.2+
    run(tracker.post(world.ref, "note", marker="v-1"))
    assert "GET /rest/whoami" not in world.sent()
    assert world.sent().count("GET /rest/user") == 1
