"""The daemon: reminders and schedules across timezones and DST, exactly-once posting with two
replicas and after a crash, outages with catch-up, graceful stop, and the command line.

A fake clock drives everything; the injected sleep advances it, so nothing here really waits.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import shutil
import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.cli.app import main
from sync_incident.config import DigestSettings, LocalSettings, Settings
from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.errors import Unavailable
from sync_incident.core.events import (
    Event,
    HandoffOffered,
    Note,
    Opened,
    Reminder,
    Resolved,
    StatusUpdate,
    event_id_for,
    own_id,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Person, Policy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.daemon import (
    Daemon,
    due_reminders,
    end_of_day,
)
from sync_incident.daemon.poller import Watch
from sync_incident.logs import configure_logging
from sync_incident.service import Session
from sync_incident.testing.bugzilla import FakeBugzilla
from sync_incident.trackers.base import IncidentSnapshot, Mirror, NewIncident, Posted
from sync_incident.trackers.local import LocalTracker

PEOPLE = {
    "alice": Person(
        timezone="Europe/Berlin", working_hours="09:00-17:00", bugzilla=["alice@example.test"]
    ),
    "bob": Person(
        timezone="America/Toronto", working_hours="09:00-17:00", bugzilla=["bob@example.test"]
    ),
    "carol": Person(timezone="UTC"),
    # the daemon's own account: its reminders and digests count only from a known account
    "daemon": Person(bugzilla=["daemon@example.test"]),
    "daemon-a": Person(),
    "daemon-b": Person(),
}
TEAMS = {"Releng": Team(members=["alice", "bob", "carol"])}
T0 = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_settings(tmp_path: Path, **over: Any) -> Settings:
    return Settings(
        local=LocalSettings(db=tmp_path / "local.sqlite3", user="daemon"),
        cache=tmp_path / "cache.sqlite3",
        policy=Policy(people=PEOPLE, teams=TEAMS),
        **over,
    )


def state_of(*items: tuple[str, datetime, Event], status_ref: str = "local:1") -> IncidentState:
    comments = [
        Comment(id=str(n), author=Account(who), created_at=at, body=codec.render(event), order=n)
        for n, (who, at, event) in enumerate(items, 1)
    ]
    return fold(
        comments,
        kind="local",
        policy=make_settings(Path("/nonexistent")).policy,
        now=items[-1][1],
        ref=status_ref,
    )


REF = IncidentRef("local", 1)


def kinds(dues: list[Any]) -> list[str]:
    return sorted(d.kind for d in dues)


# --- reminders (pure) ---------------------------------------------------------------------------


def test_handoff_pending_reminder_pings_the_recipient_after_n_minutes(tmp_path: Path) -> None:
    offer = HandoffOffered(to="bob", done="Steps 1-3 are done.", todo="Steps 4-5.")
    state = state_of(
        ("alice", T0, Opened(title="Crash", ic="alice")),
        ("alice", T0 + timedelta(minutes=5), offer),
    )
    settings = make_settings(tmp_path)
    assert due_reminders(state, REF, settings, T0 + timedelta(minutes=64)) == []
    [due] = due_reminders(state, REF, settings, T0 + timedelta(minutes=65))
    assert (due.kind, due.to, due.key) == (
        "handoff-pending",
        "bob",
        f"handoff-pending:local:1:{offer.id}",
    )
    assert "bob, please accept or decline" in due.text
    assert due.stamp == T0 + timedelta(minutes=65)


def test_update_overdue_reminder_pings_the_ic(tmp_path: Path) -> None:
    due_at = T0 + timedelta(hours=1)
    state = state_of(
        ("alice", T0, Opened(title="Crash", ic="carol")),
        ("carol", T0, StatusUpdate(summary="QA verifies.", next_update_due=due_at)),
    )
    settings = make_settings(tmp_path)
    assert due_reminders(state, REF, settings, due_at) == []
    [due] = due_reminders(state, REF, settings, due_at + timedelta(minutes=1))
    assert (due.kind, due.to) == ("update-overdue", "carol")
    assert due.key == "update-overdue:local:1:2026-10-24T07:00Z"


def test_update_overdue_reminder_gives_the_ics_clock_and_the_zone_promised_in(
    tmp_path: Path,
) -> None:
    due_at = T0 + timedelta(hours=1)  # 09:00 in Berlin, summer time; 03:00 in Toronto
    promise = StatusUpdate(
        summary="QA verifies.", next_update_due=due_at, next_update_zone="Europe/Berlin"
    )
    state = state_of(("alice", T0, Opened(title="Crash", ic="bob")), ("bob", T0, promise))
    [due] = due_reminders(state, REF, make_settings(tmp_path), due_at + timedelta(minutes=1))
    assert due.text.startswith(
        "Reminder: the status update on local:1 was due at 2026-10-24 07:00 UTC "
        "(09:00 Europe/Berlin; 03:00 America/Toronto for bob); "
    )


def test_end_of_day_reminder_writes_the_date_with_the_time(tmp_path: Path) -> None:
    moment = datetime(2026, 10, 31, 20, 30, tzinfo=UTC)  # Toronto's day ends at 21:00 UTC
    state = state_of(("alice", moment - timedelta(minutes=10), Opened(title="Crash", ic="bob")))
    [due] = [
        d
        for d in due_reminders(state, REF, make_settings(tmp_path), moment)
        if d.kind == "end-of-day"
    ]
    assert due.text.startswith(
        "Reminder: bob's working day ends at 2026-10-31 21:00 UTC (17:00 America/Toronto for "
        "bob) and no handoff"
    )


def test_no_update_reminder_after_n_hours_once_per_silence(tmp_path: Path) -> None:
    state = state_of(("alice", T0, Opened(title="Crash", ic="carol")))
    settings = make_settings(tmp_path)
    assert due_reminders(state, REF, settings, T0 + timedelta(hours=3, minutes=59)) == []
    first = due_reminders(state, REF, settings, T0 + timedelta(hours=4))
    later = due_reminders(state, REF, settings, T0 + timedelta(hours=9))
    assert kinds(first) == ["no-update"] and first[0].to == "carol"
    assert first[0].key == later[0].key  # same silence, same key: posted once


@pytest.mark.parametrize(
    ("ic", "now", "expected"),
    [
        # Berlin, summer time (UTC+2) on 2026-10-24: 17:00 is 15:00 UTC
        ("alice", "2026-10-24T14:30", "alice@2026-10-24"),
        ("alice", "2026-10-24T15:30", None),
        # Berlin, winter time (UTC+1) on 2026-10-25: 17:00 is 16:00 UTC
        ("alice", "2026-10-25T14:30", None),
        ("alice", "2026-10-25T15:30", "alice@2026-10-25"),
        # Toronto, daylight time (UTC-4) on 2026-10-31: 17:00 is 21:00 UTC
        ("bob", "2026-10-31T20:30", "bob@2026-10-31"),
        # Toronto, standard time (UTC-5) on 2026-11-01: 17:00 is 22:00 UTC
        ("bob", "2026-11-01T20:30", None),
        ("bob", "2026-11-01T21:30", "bob@2026-11-01"),
        ("carol", "2026-10-24T16:30", None),  # no working hours configured
    ],
)
def test_end_of_day_reminder_follows_the_ics_timezone_over_dst(
    tmp_path: Path, ic: str, now: str, expected: str | None
) -> None:
    moment = datetime.fromisoformat(now + "+00:00")
    state = state_of(
        ("alice", moment - timedelta(minutes=10), Opened(title="Crash", ic=ic)),
    )
    dues = [
        d
        for d in due_reminders(state, REF, make_settings(tmp_path), moment)
        if d.kind == "end-of-day"
    ]
    if expected is None:
        assert dues == []
    else:
        [due] = dues
        assert due.key == f"end-of-day:local:1:{expected}"
        assert due.to == ic and "please offer a handoff" in due.text


def test_no_end_of_day_reminder_when_a_handoff_is_offered(tmp_path: Path) -> None:
    moment = datetime(2026, 10, 25, 15, 30, tzinfo=UTC)
    state = state_of(
        ("alice", moment - timedelta(minutes=10), Opened(title="Crash", ic="alice")),
        ("alice", moment - timedelta(minutes=5), HandoffOffered(to="bob", done="d", todo="t")),
    )
    assert "end-of-day" not in kinds(due_reminders(state, REF, make_settings(tmp_path), moment))


def test_overnight_working_hours_end_the_next_morning() -> None:
    window = timedelta(hours=1)
    found = end_of_day("UTC", "22:00-06:00", datetime(2026, 10, 25, 5, 30, tzinfo=UTC), window)
    assert found is not None and found[1] == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    assert (
        end_of_day("UTC", "22:00-06:00", datetime(2026, 10, 25, 23, 0, tzinfo=UTC), window) is None
    )


def test_resolved_incidents_get_no_reminders(tmp_path: Path) -> None:
    state = state_of(
        ("alice", T0, Opened(title="Crash", ic="alice")),
        ("alice", T0, HandoffOffered(to="bob", done="d", todo="t")),
        ("alice", T0 + timedelta(minutes=1), Resolved(summary="Firefox 96.0.1 shipped.")),
    )
    assert due_reminders(state, REF, make_settings(tmp_path), T0 + timedelta(days=1)) == []


# --- helpers for the daemon tests ---------------------------------------------------------------


class Hooked:
    """A tracker wrapper with hooks around ``post`` and ``fetch``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.kind = inner.kind
        self.flavor = inner.flavor
        self.server = inner.server
        self.before_post: Callable[[], Any] | None = None
        self.after_post: Callable[[], Any] | None = None
        self.posts = 0

    async def whoami(self) -> Account:
        return await self.inner.whoami()  # type: ignore[no-any-return]

    async def fetch(
        self, ref: IncidentRef, *, fresh: bool = False, history: bool = False
    ) -> IncidentSnapshot:
        return await self.inner.fetch(ref, fresh=fresh, history=history)  # type: ignore[no-any-return]

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        return await self.inner.sync_mirror(ref, mirror)  # type: ignore[no-any-return]

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        if self.before_post is not None:
            await self.before_post()
        posted: Posted = await self.inner.post(ref, body, marker=marker, mirror=mirror)
        self.posts += 1
        if self.after_post is not None:
            await self.after_post()
        return posted

    async def create(self, new: NewIncident) -> IncidentRef:
        return await self.inner.create(new)  # type: ignore[no-any-return]

    async def active_incidents(self) -> list[IncidentRef]:
        return await self.inner.active_incidents()  # type: ignore[no-any-return]

    async def resolved_incidents(self, since: datetime) -> list[IncidentRef]:
        return await self.inner.resolved_incidents(since)  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self.inner.aclose()


def factory(
    settings: Settings, clock: Clock, *, user: str = "daemon", hooked: list[Hooked] | None = None
) -> Callable[[], Session]:
    def make() -> Session:
        session = Session(settings)
        assert settings.local.db is not None
        tracker = Hooked(LocalTracker(settings.local.db, user=user, clock=clock))
        if hooked is not None:
            hooked.append(tracker)
        session._trackers["local"] = tracker
        return session

    return make


def post_as(
    db: Path, when: datetime, who: str, ref: IncidentRef | None, event: Event
) -> IncidentRef:
    async def go() -> IncidentRef:
        async with LocalTracker(db, user=who, clock=lambda: when) as tracker:
            body = codec.render(event)
            if ref is None:
                title = event.title if isinstance(event, Opened) else "Status digests"
                return await tracker.create(NewIncident(title=title, body=body, marker=event.id))
            await tracker.post(ref, body, marker=event.id)
            return ref

    return asyncio.run(go())


def new_digest_target(db: Path, when: datetime) -> IncidentRef:
    async def go() -> IncidentRef:
        async with LocalTracker(db, user="alice", clock=lambda: when) as tracker:
            return await tracker.create(
                NewIncident(title="Status digests", body="Digests go here.", marker="digest-target")
            )

    return asyncio.run(go())


def comments_on(db: Path, ref: IncidentRef) -> list[Comment]:
    async def go() -> IncidentSnapshot:
        async with LocalTracker(db, user="reader") as tracker:
            return await tracker.fetch(ref)

    return list(asyncio.run(go()).comments)


def events_on(db: Path, ref: IncidentRef) -> list[Event]:
    return [e for c in comments_on(db, ref) for e in codec.parse(c.body).events]


def keyed_comments(db: Path, ref: IncidentRef) -> Counter[str]:
    """How many comments carry each digest / reminder key."""

    async def go() -> IncidentSnapshot:
        async with LocalTracker(db, user="reader") as tracker:
            return await tracker.fetch(ref)

    counts: Counter[str] = Counter()
    for comment in asyncio.run(go()).comments:
        for event in codec.parse(comment.body).events:
            key = getattr(event, "key", None)
            if key:
                counts[key] += 1
    return counts


def accepted_keys(db: Path, ref: IncidentRef, policy: Policy | None = None) -> Counter[str]:
    async def go() -> IncidentSnapshot:
        async with LocalTracker(db, user="reader") as tracker:
            return await tracker.fetch(ref)

    state = fold(asyncio.run(go()).comments, kind="local", policy=policy)
    return Counter(e.data["key"] for e in state.timeline if e.accepted and "key" in e.data)


@pytest.fixture
def world(tmp_path: Path) -> tuple[Settings, IncidentRef, IncidentRef]:
    """An incident with a pending handoff from T0, and a designated digest target."""
    settings = make_settings(
        tmp_path,
        incidents=["local:1"],
        digest=DigestSettings(post_to="local:2", times=["09:00 Europe/Berlin"]),
    )
    db = settings.local.db
    assert db is not None
    ref = post_as(db, T0, "alice", None, Opened(title="Startup crash", ic="alice"))
    post_as(db, T0, "alice", ref, HandoffOffered(to="bob", done="Steps 1-3.", todo="Steps 4-5."))
    target = new_digest_target(db, T0)
    return settings, ref, target


# --- the daemon ---------------------------------------------------------------------------------


def test_once_posts_due_reminders_and_the_digest_then_nothing_again(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, ref, target = world
    clock = Clock(T0 + timedelta(hours=1, minutes=30))  # 07:30 UTC = 09:30 in Berlin
    assert asyncio.run(Daemon(settings, factory(settings, clock), clock=clock).run(once=True)) == 0
    db = settings.local.db
    assert db is not None
    reminders = keyed_comments(db, ref)
    assert [k.split(":")[0] for k in reminders] == ["handoff-pending"]
    assert keyed_comments(db, target) == {"digest:local:1:2026-10-24T07:00Z": 1}
    # a second daemon (fresh memory) and a second cycle later post nothing again
    clock.advance(minutes=5)
    asyncio.run(Daemon(settings, factory(settings, clock), clock=clock).run(once=True))
    assert keyed_comments(db, ref) == reminders
    assert sum(keyed_comments(db, target).values()) == 1


def test_a_decoy_reminder_with_the_daemons_id_does_not_silence_it(
    world: tuple[Settings, IncidentRef, IncidentRef], tmp_path: Path
) -> None:
    settings, ref, _ = world  # the daemon's account is named: the policy's witness
    policy = settings.policy.model_copy(update={"witnesses": ["daemon"]})
    settings = settings.model_copy(update={"policy": policy})
    db = settings.local.db
    assert db is not None
    clock = Clock(T0 + timedelta(hours=1, minutes=30))
    # what the daemon would post, learnt on a copy: its ids are derived from public keys
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(db, copy)
    local = settings.local.model_copy(update={"db": copy})
    twin = settings.model_copy(update={"local": local})
    asyncio.run(Daemon(twin, factory(twin, clock), clock=clock).run(once=True))
    [decoy] = [e for e in events_on(copy, ref) if isinstance(e, Reminder)]
    # carol, a person in the policy but not the daemon, posts it first
    post_as(db, T0 + timedelta(hours=1), "carol", ref, decoy)
    asyncio.run(Daemon(settings, factory(settings, clock), clock=clock).run(once=True))
    assert keyed_comments(db, ref)[decoy.key] == 2  # the decoy and the daemon's own
    mine = [c for c in comments_on(db, ref) if c.author.login == "daemon"]
    assert [e.id for c in mine for e in codec.parse(c.body).events if e.type == "reminder"] == [
        decoy.id
    ]
    # and the daemon does not post it again on the next cycle
    clock.advance(minutes=5)
    asyncio.run(Daemon(settings, factory(settings, clock), clock=clock).run(once=True))
    assert keyed_comments(db, ref)[decoy.key] == 2


@pytest.mark.parametrize("witnesses", [["daemon"], []], ids=["witnesses", "no-witnesses"])
@pytest.mark.parametrize("who", ["carol", "mallory"], ids=["a-person", "a-stranger"])
def test_a_note_carrying_the_daemons_next_reminder_id_never_silences_it(
    world: tuple[Settings, IncidentRef, IncidentRef],
    tmp_path: Path,
    witnesses: list[str],
    who: str,
) -> None:
    settings, ref, _ = world
    policy = settings.policy.model_copy(update={"witnesses": witnesses})
    settings = settings.model_copy(update={"policy": policy})
    db = settings.local.db
    assert db is not None
    clock = Clock(T0 + timedelta(hours=1, minutes=30))
    # the exact id the daemon will post, learnt on a copy (it derives from public keys)
    copy = tmp_path / "copy.sqlite3"
    shutil.copy(db, copy)
    twin = settings.model_copy(update={"local": settings.local.model_copy(update={"db": copy})})
    asyncio.run(Daemon(twin, factory(twin, clock), clock=clock).run(once=True))
    [reminder] = [e for e in events_on(copy, ref) if isinstance(e, Reminder)]
    decoy = Note(id=reminder.id, text="Placeholder for the reminder.")
    post_as(db, T0 + timedelta(hours=1), who, ref, decoy)
    asyncio.run(Daemon(settings, factory(settings, clock), clock=clock).run(once=True))

    def reminders() -> list[str]:
        mine = [c for c in comments_on(db, ref) if c.author.login == "daemon"]
        return [e.id for c in mine for e in codec.parse(c.body).events if e.type == "reminder"]

    assert reminders() == [reminder.id]
    # two different events claim one id: doubt for every reader, never a silent skip
    state = fold(comments_on(db, ref), kind="local", policy=policy)
    assert [d.kind for d in state.doubts] == ["conflict"]
    # and the daemon does not post it again on the next cycle
    clock.advance(minutes=5)
    asyncio.run(Daemon(settings, factory(settings, clock), clock=clock).run(once=True))
    assert reminders() == [reminder.id]


def test_derived_ids_are_bound_to_the_account_that_posts_them() -> None:
    base = event_id_for("reminder:local:1:2026-10-24", T0)
    mine, theirs = own_id(base, "local:daemon"), own_id(base, "local:mallory")
    assert mine != theirs != base
    assert mine[:10] == base[:10]  # the same time part: ids still sort by when
    assert own_id(base, "local:daemon") == mine  # every replica of one account derives it


@pytest.mark.parametrize(
    ("spec", "start", "hours", "expected"),
    [
        (
            "09:00 Europe/Berlin",
            datetime(2026, 10, 24, 6, 0, tzinfo=UTC),
            27,
            ["2026-10-24T07:00Z", "2026-10-25T08:00Z"],
        ),
        (
            "09:00 America/Toronto",
            datetime(2026, 10, 31, 12, 0, tzinfo=UTC),
            27,
            ["2026-10-31T13:00Z", "2026-11-01T14:00Z"],
        ),
    ],
)
def test_the_loop_posts_digests_at_local_times_across_dst(
    tmp_path: Path, spec: str, start: datetime, hours: int, expected: list[str]
) -> None:
    settings = make_settings(
        tmp_path, incidents=["local:1"], digest=DigestSettings(post_to="local:2", times=[spec])
    )
    db = settings.local.db
    assert db is not None
    ref = post_as(db, start, "alice", None, Opened(title="Startup crash", ic="carol"))
    target = new_digest_target(db, start)
    clock = Clock(start)
    end = start + timedelta(hours=hours)
    naps: list[float] = []
    daemon: Daemon

    async def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock.advance(seconds=seconds)
        if clock.now >= end:
            daemon.stop()

    daemon = Daemon(
        settings, factory(settings, clock), clock=clock, sleep=sleep, poll_minutes={"local": 30}
    )
    assert asyncio.run(daemon.run()) == 0
    posted = sorted(
        k.rsplit(":", 1)[0].split("local:1:")[1] + ":" + k.rsplit(":", 1)[1]
        for k in keyed_comments(db, target)
    )
    assert posted == expected
    assert max(naps) <= 60
    assert keyed_comments(db, ref)  # no-update reminders kept coming, each once
    assert set(keyed_comments(db, ref).values()) == {1}


@pytest.mark.parametrize("users", [("daemon", "daemon"), ("daemon-a", "daemon-b")])
def test_two_daemons_racing_post_each_digest_and_reminder_once(
    world: tuple[Settings, IncidentRef, IncidentRef], users: tuple[str, str]
) -> None:
    settings, ref, target = world
    if users[0] != users[1]:  # daemons under two accounts: both are the policy's witnesses
        policy = settings.policy.model_copy(update={"witnesses": list(users)})
        settings = settings.model_copy(update={"policy": policy})
    clock = Clock(T0 + timedelta(hours=1, minutes=30))
    hooked: list[Hooked] = []
    one = Daemon(settings, factory(settings, clock, user=users[0], hooked=hooked), clock=clock)
    two = Daemon(settings, factory(settings, clock, user=users[1], hooked=hooked), clock=clock)

    async def both() -> list[int]:
        barrier = asyncio.Barrier(2)

        async def meet() -> None:  # both have checked the tracker; now both post
            await barrier.wait()

        async def start(d: Daemon) -> int:
            return await d.run(once=True)

        runs = [asyncio.create_task(start(d)) for d in (one, two)]
        await asyncio.sleep(0)  # sessions are built on first step
        for tracker in hooked:
            tracker.before_post = meet
        return list(await asyncio.gather(*runs))

    assert asyncio.run(both()) == [0, 0]
    # both passed the check: a real race (witnesses also post a checkpoint each)
    assert [t.posts for t in hooked] == [2, 2] if users[0] == users[1] else [3, 3]
    db = settings.local.db
    assert db is not None
    assert set(accepted_keys(db, ref, settings.policy).values()) == {1}
    assert set(accepted_keys(db, target, settings.policy).values()) == {1}
    if users[0] == users[1]:  # same account: the tracker's marker check stores it once
        assert set(keyed_comments(db, ref).values()) == {1}
        assert set(keyed_comments(db, target).values()) == {1}


def test_two_daemons_one_after_the_other_post_once(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, ref, target = world  # two accounts share the work as the policy's witnesses
    policy = settings.policy.model_copy(update={"witnesses": ["daemon-a", "daemon-b"]})
    settings = settings.model_copy(update={"policy": policy})
    clock = Clock(T0 + timedelta(hours=1, minutes=30))

    async def both() -> None:
        await asyncio.gather(
            Daemon(settings, factory(settings, clock, user="daemon-a"), clock=clock).run(once=True),
            Daemon(settings, factory(settings, clock, user="daemon-b"), clock=clock).run(once=True),
        )

    asyncio.run(both())
    db = settings.local.db
    assert db is not None
    assert set(keyed_comments(db, ref).values()) == {1}
    assert set(keyed_comments(db, target).values()) == {1}


class Killed(BaseException):
    """The process dies: nothing after this point runs."""


def test_crash_restart_with_the_cache_deleted_posts_nothing_twice_on_bugzilla(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBugzilla()
    fake.add_user("daemon@example.test", "daemon-key-0123456789")
    fake.add_user("alice@example.test", "alice-key-0123456789")
    fake.add_user("bob@example.test", "bob-key-0123456789")
    opened = Opened(title="Startup crash", ic="alice")
    bug = fake.add_bug(creator="alice@example.test", description=codec.render(opened))
    offer = HandoffOffered(to="bob", done="Steps 1-3.", todo="Steps 4-5.")
    fake.add_comment(bug, "alice@example.test", codec.render(offer))
    digests = fake.add_bug("Status digests", creator="alice@example.test", description="Digests.")
    monkeypatch.setenv("BUGZILLA_API_KEY", "daemon-key-0123456789")
    settings = make_settings(
        tmp_path,
        incidents=[f"bug {bug}"],
        bugzilla={"url": "https://bugzilla.test", "login": "daemon@example.test"},
        digest=DigestSettings(post_to=f"bug {digests}", every_hours=1),
    )
    clock = Clock(fake.clock.moment() + timedelta(hours=2))

    async def nosleep(seconds: float) -> None:
        return None

    def make(crash: bool) -> Callable[[], Session]:
        def build() -> Session:
            session = Session(
                settings, transports={"bugzilla": httpx.MockTransport(fake.handler)}, sleep=nosleep
            )
            if crash:
                tracker: Any = session.tracker("bugzilla")
                real = tracker.post

                async def post_then_die(*args: Any, **kwargs: Any) -> Posted:
                    await real(*args, **kwargs)
                    raise Killed

                tracker.post = post_then_die
            return session

        return build

    with pytest.raises(Killed):
        asyncio.run(Daemon(settings, make(True), clock=clock).run(once=True))
    assert len(fake.requests_to("POST", rf"/rest/bug/{bug}/comment")) == 1  # the reminder
    assert not fake.requests_to("POST", rf"/rest/bug/{digests}/comment")  # died before it
    for path in tmp_path.glob("cache.sqlite3*"):
        path.unlink()
    assert asyncio.run(Daemon(settings, make(False), clock=clock).run(once=True)) == 0
    clock.advance(minutes=5)  # same digest period: 05:00-06:00 UTC
    for path in tmp_path.glob("cache.sqlite3*"):
        path.unlink()
    assert asyncio.run(Daemon(settings, make(False), clock=clock).run(once=True)) == 0

    def keys(bug_id: int) -> Counter[str]:
        found: Counter[str] = Counter()
        for comment in fake.bugs[bug_id].comments:
            for event in codec.parse(comment.text).events:
                key = getattr(event, "key", None)
                if key:
                    found[key] += 1
        return found

    assert list(keys(bug).values()) == [1]
    assert next(iter(keys(bug).keys())).startswith("handoff-pending:bugzilla:1:")
    assert list(keys(digests).values()) == [1]
    assert "[incident:active]" not in fake.bugs[digests].whiteboard  # not mistaken for one


def test_an_unchanged_poll_costs_one_request_writes_nothing_and_folds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync_incident import service

    fake = FakeBugzilla()
    fake.add_user("daemon@example.test", "daemon-key-0123456789")
    fake.add_user("alice@example.test", "alice-key-0123456789")
    opened = codec.render(Opened(title="Startup crash", ic="alice"))
    bugs = [fake.add_bug(creator="alice@example.test", description=opened) for _ in range(3)]
    monkeypatch.setenv("BUGZILLA_API_KEY", "daemon-key-0123456789")
    settings = make_settings(
        tmp_path,
        incidents=[f"bug {bug}" for bug in bugs],
        bugzilla={"url": "https://bugzilla.test", "login": "daemon@example.test"},
    )
    folds: list[str] = []
    from sync_incident.core.fold import Folding

    def counted_fold(*args: Any, **kwargs: Any) -> Folding:
        folds.append(kwargs["ref"])
        return Folding(*args, **kwargs)

    monkeypatch.setattr(service, "Folding", counted_fold)
    clock = Clock(fake.clock.moment() + timedelta(minutes=1))
    session = Session(settings, transports={"bugzilla": httpx.MockTransport(fake.handler)})
    daemon = Daemon(settings, lambda: session, clock=clock)

    async def cycles() -> tuple[list[IncidentState | None], list[IncidentState | None]]:
        try:
            await daemon.cycle(session)
            first = [w.state for w in daemon.watches.values()]
            clock.advance(minutes=5)  # Bugzilla's poll floor: every incident is due again
            fake.log.clear()
            await daemon.cycle(session)
            return first, [w.state for w in daemon.watches.values()]
        finally:
            await session.aclose()

    first, second = asyncio.run(cycles())
    assert sorted(folds) == [f"bug {bug}" for bug in bugs]  # in the first cycle only
    assert all(a is b and a is not None for a, b in zip(first, second, strict=True))
    assert [(r.method, r.path) for r in fake.log] == [
        ("GET", f"/rest/bug/{bug}/comment") for bug in bugs
    ]
    assert daemon.last_report.polled == 3 and daemon.last_report.requests == 3


class FlakyBugzilla:
    """An in-memory Bugzilla-kind tracker whose reads fail while ``down``."""

    kind = "bugzilla"
    flavor = "plain"
    server = "https://bugzilla.test"

    def __init__(self, comments: list[Comment]) -> None:
        self.comments = comments
        self.down = True
        self.fetches = 0
        self.posted: list[str] = []

    async def whoami(self) -> Account:
        return Account("daemon@example.test")

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        return False

    async def fetch(
        self, ref: IncidentRef, *, fresh: bool = False, history: bool = False
    ) -> IncidentSnapshot:
        self.fetches += 1
        if self.down:
            raise Unavailable("bugzilla.test: connection refused")
        return IncidentSnapshot(
            ref=ref, title="Crash", url="", comments=list(self.comments), requests=1
        )

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        if self.down:
            raise Unavailable("bugzilla.test: connection refused")
        for comment in self.comments:
            if marker in comment.body:
                return Posted(comment.id, duplicate=True)
        at = self.comments[-1].created_at
        new = Comment(str(len(self.comments) + 1), Account("daemon@example.test"), at, body)
        self.comments.append(new)
        self.posted.append(body)
        return Posted(new.id)

    async def aclose(self) -> None:
        return None


def test_an_outage_backs_off_one_tracker_while_others_keep_polling_then_catches_up(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, _ref, _ = world
    settings = settings.model_copy(
        update={"incidents": ["local:1", "bug 7"], "digest": DigestSettings()}
    )
    clock = Clock(T0 + timedelta(minutes=65))  # both handoffs are overdue for a reminder
    offer = HandoffOffered(to="bob", done="Steps 1-3.", todo="Steps 4-5.")
    flaky = FlakyBugzilla(
        [
            Comment(
                "1", Account("alice@example.test"), T0, codec.render(Opened(title="C", ic="alice"))
            ),
            Comment("2", Account("alice@example.test"), T0, codec.render(offer)),
        ]
    )
    base = factory(settings, clock)

    def make() -> Session:
        session = base()
        session._trackers["bugzilla"] = flaky  # type: ignore[assignment]
        return session

    daemon = Daemon(settings, make, clock=clock)
    bug = IncidentRef("bugzilla", 7)

    async def scenario() -> list[tuple[int, int, int]]:
        session = make()
        seen = []
        try:
            for minutes, up in [(0, False), (0.25, False), (1, False), (0.5, False), (1.5, True)]:
                clock.advance(minutes=minutes)
                flaky.down = not up
                await daemon.cycle(session)
                seen.append((daemon.watches[REF].reads, flaky.fetches, len(flaky.posted)))
        finally:
            await session.aclose()
        return seen

    seen = asyncio.run(scenario())
    # local kept being polled every minute while Bugzilla was down
    assert [s[0] for s in seen] == [1, 1, 2, 2, 3]
    # Bugzilla: tried at once; not within the 30 s backoff; again at 1:15 (then 60 s off);
    # at 3:15 it is back: one read, then the check right before posting the reminder
    assert [s[1] for s in seen] == [1, 1, 2, 2, 4]
    # caught up: the reminder that fell due during the outage is posted once it is back
    assert [s[2] for s in seen] == [0, 0, 0, 0, 1]
    assert "handoff-pending:bugzilla:7:" in flaky.posted[0]
    assert daemon.health["bugzilla"].failures == 0 and daemon.watches[bug].state is not None


def test_stop_during_a_write_finishes_the_write_and_exits_zero(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, ref, target = world
    clock = Clock(T0 + timedelta(hours=1, minutes=30))  # a reminder and a digest are due
    hooked: list[Hooked] = []
    daemon = Daemon(settings, factory(settings, clock, hooked=hooked), clock=clock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    daemon._sleep = sleep

    async def scenario() -> int:
        task = asyncio.create_task(daemon.run())
        await asyncio.sleep(0)

        async def sigterm_now() -> None:
            daemon.stop()  # what the SIGTERM handler does, while this post is in flight
            await asyncio.sleep(0)

        hooked[0].before_post = sigterm_now
        return await task

    assert asyncio.run(scenario()) == 0
    db = settings.local.db
    assert db is not None
    assert sum(keyed_comments(db, ref).values()) == 1  # the write in flight completed
    assert hooked[0].posts == 1  # nothing new started after the stop
    assert sum(keyed_comments(db, target).values()) == 0
    assert slept == []  # exited without waiting for the next cycle


# --- the command line -----------------------------------------------------------------------


def _exit_code(args: list[str]) -> int:
    with pytest.raises(SystemExit) as caught:
        main(args)
    code = caught.value.code
    return code if isinstance(code, int) else 1


def test_daemon_once_via_the_cli_logs_json_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "local.sqlite3"
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    ref = post_as(db, long_ago, "alice", None, Opened(title="Startup crash", ic="alice"))
    post_as(db, long_ago, "alice", ref, HandoffOffered(to="bob", done="Steps 1-3.", todo="4-5."))
    code = _exit_code(
        [
            "--db",
            str(db),
            "--cache",
            str(tmp_path / "c.sqlite3"),
            "daemon",
            "--once",
            "--log-format",
            "json",
        ]
    )
    assert code == 0
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    events = [line.get("event") for line in lines]
    assert "cycle" in events and "exit" in events
    assert any(
        line.get("event") == "posted" and line["key"].startswith("handoff-pending:")
        for line in lines
    )
    assert [k.split(":")[0] for k in keyed_comments(db, ref)] == ["handoff-pending"]


def test_daemon_cli_exits_zero_on_sigterm_during_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "local.sqlite3"
    long_ago = datetime.now(UTC) - timedelta(hours=5)
    ref = post_as(db, long_ago, "alice", None, Opened(title="Startup crash", ic="alice"))
    post_as(db, long_ago, "alice", ref, HandoffOffered(to="bob", done="Steps 1-3.", todo="4-5."))
    real_post = LocalTracker.post
    calls: list[str] = []

    async def post_with_sigterm(self: LocalTracker, *args: Any, **kwargs: Any) -> Posted:
        calls.append("post")
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to the loop's handler, not fatal
        await asyncio.sleep(0)
        return await real_post(self, *args, **kwargs)

    monkeypatch.setattr(LocalTracker, "post", post_with_sigterm)
    code = _exit_code(["--db", str(db), "--cache", str(tmp_path / "c.sqlite3"), "daemon"])
    assert code == 0
    assert calls == ["post"]  # handoff and no-update were due; only the one in flight ran
    assert sum(keyed_comments(db, ref).values()) == 1
    assert "stopping" in capsys.readouterr().err


def test_bad_log_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["daemon", "--once", "--log-format", "xml"]) == 64
    assert "--log-format must be json or text" in capsys.readouterr().err


def test_json_logs_redact_secrets() -> None:
    stream = io.StringIO()
    handler = configure_logging("json", ["tok-0123456789"], stream=stream)
    try:
        logging.getLogger("sync_incident.daemon").warning(
            "failed with tok-0123456789", extra={"event": "x", "error": "url?key=tok-0123456789"}
        )
    finally:
        logging.getLogger("sync_incident").removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "failed with [REDACTED]"
    assert line["error"] == "url?key=[REDACTED]" and line["event"] == "x"
    assert "tok-0123456789" not in stream.getvalue()


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    daemon = Daemon(settings, factory(settings, Clock(T0)))
    assert daemon._progress_bar(500) is None  # pytest's stderr is not a TTY
    forced = Daemon(settings, factory(settings, Clock(T0)), progress=True)
    bar = forced._progress_bar(3)
    assert bar is not None
    bar.advance()
    bar.stop()


# --- poke: a webhook says an incident changed ----------------------------------------------------


def test_poke_reads_a_watched_incident_in_the_next_cycle_and_tells_the_listeners(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, ref, _ = world
    settings = settings.model_copy(update={"digest": DigestSettings()})
    clock = Clock(T0 + timedelta(minutes=1))
    make = factory(settings, clock)
    daemon = Daemon(settings, make, clock=clock)
    seen: list[IncidentRef] = []
    daemon.listeners.append(lambda watch: seen.append(watch.ref))

    async def scenario() -> list[int]:
        session = make()
        reads = []
        try:
            await daemon.cycle(session)
            reads.append(daemon.watches[ref].reads)
            await daemon.cycle(session)  # not due yet: nothing read
            reads.append(daemon.watches[ref].reads)
            assert daemon.poke(IncidentRef("local", ref.number))
            await daemon.cycle(session)
            reads.append(daemon.watches[ref].reads)
        finally:
            await session.aclose()
        return reads

    assert asyncio.run(scenario()) == [1, 1, 2]
    assert seen == [ref, ref]
    assert daemon.watches[ref].facts is not None and daemon.last_cycle_at == clock.now


def test_poke_of_an_incident_nobody_watches_reads_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, incidents=["local:1"])
    daemon = Daemon(settings, factory(settings, Clock(T0)), clock=Clock(T0))
    assert not daemon.poke(IncidentRef("local", 99))
    assert not daemon.poke(IncidentRef("local", 99), discover=True)  # configured list: no discovery


def test_poke_during_a_read_is_kept_for_the_next_cycle(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, ref, _ = world
    settings = settings.model_copy(update={"digest": DigestSettings()})
    clock = Clock(T0 + timedelta(minutes=1))
    make = factory(settings, clock)
    daemon = Daemon(settings, make, clock=clock)

    def poke_once(watch: Watch) -> None:
        if watch.reads == 1:
            daemon.poke(watch.ref)

    daemon.listeners.append(poke_once)

    async def scenario() -> int:
        session = make()
        try:
            await daemon.cycle(session)  # the poke arrives while the first read finishes
            await daemon.cycle(session)
        finally:
            await session.aclose()
        return daemon.watches[ref].reads

    assert asyncio.run(scenario()) == 2


def test_poke_wakes_the_loop_without_waiting_for_the_poll_interval(
    world: tuple[Settings, IncidentRef, IncidentRef],
) -> None:
    settings, ref, _ = world
    settings = settings.model_copy(update={"digest": DigestSettings()})
    clock = Clock(T0 + timedelta(minutes=1))

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()  # only a poke or stop ends a nap

    daemon = Daemon(settings, factory(settings, clock), clock=clock, sleep=never)

    async def scenario() -> int:
        runner = asyncio.ensure_future(daemon.run())
        while daemon.cycles < 1:
            await asyncio.sleep(0.01)
        daemon.poke(ref)
        while daemon.cycles < 2:
            await asyncio.sleep(0.01)
        daemon.stop()
        assert await asyncio.wait_for(runner, 5) == 0
        return daemon.watches[ref].reads

    assert asyncio.run(scenario()) == 2


def test_discovery_tells_the_dropped_listeners_when_it_stops_watching_a_resolved_incident(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)  # no `incidents`: the daemon discovers them
    db = settings.local.db
    assert db is not None
    ref = post_as(db, T0, "alice", None, Opened(title="Startup crash", ic="alice"))
    clock = Clock(T0 + timedelta(minutes=1))
    make = factory(settings, clock)
    daemon = Daemon(settings, make, clock=clock)
    dropped: list[IncidentRef] = []
    daemon.dropped.append(lambda watch: dropped.append(watch.ref))

    async def cycle() -> None:
        session = make()
        try:
            await daemon.cycle(session)
        finally:
            await session.aclose()

    asyncio.run(cycle())  # discovered and read
    post_as(db, clock.now, "alice", ref, Resolved(summary="Fixed."))
    assert daemon.poke(ref)
    asyncio.run(cycle())  # read resolved: the mirror says so
    assert dropped == [] and daemon.watches[ref].state is not None
    clock.advance(minutes=daemon.interval("local").total_seconds() / 60 + 1)
    asyncio.run(cycle())  # discovery no longer lists it
    assert dropped == [ref] and ref not in daemon.watches


def test_with_resolved_days_discovery_reads_what_was_resolved_lately_and_posts_nothing(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    db = settings.local.db
    assert db is not None
    ref = post_as(db, T0, "alice", None, Opened(title="Startup crash", ic="alice"))
    clock = Clock(T0 + timedelta(minutes=1))
    make = factory(settings, clock)
    daemon = Daemon(settings, make, clock=clock, resolved_days=7)
    read: list[IncidentRef] = []
    dropped: list[IncidentRef] = []
    daemon.listeners.append(lambda watch: read.append(watch.ref))
    daemon.dropped.append(lambda watch: dropped.append(watch.ref))

    def cycle(*, later: bool = True) -> None:
        async def go() -> None:
            session = make()
            try:
                await daemon.cycle(session)
            finally:
                await session.aclose()

        asyncio.run(go())
        if later:
            clock.advance(minutes=daemon.interval("local").total_seconds() / 60 + 1)

    cycle()
    assert ref in daemon.watches and daemon.recent == {}
    post_as(db, clock.now, "alice", ref, Resolved(summary="Fixed."))
    assert daemon.poke(ref)
    cycle()  # read resolved: the mirror says so
    read.clear()
    before = len(comments_on(db, ref))
    cycle()  # discovery: no longer active, resolved lately
    assert ref not in daemon.watches and read == [ref] and dropped == [ref]
    recent = daemon.recent[ref]
    assert recent.state is not None and recent.state.status == "resolved"
    for _ in range(3):
        cycle()  # read again at each discovery; no reminder, digest or checkpoint for it
    assert len(comments_on(db, ref)) == before and read.count(ref) == 4
    cycle(later=False)  # a discovery is due: read
    cycle(later=False)  # none due: not read
    assert read.count(ref) == 5
    assert daemon.poke(ref)  # a webhook about it: read again at once
    cycle(later=False)
    assert read.count(ref) == 6
    clock.advance(days=8)
    cycle()  # resolved more than 7 days ago: off the list
    assert daemon.recent == {} and dropped == [ref, ref]


def test_an_incident_a_chat_room_binds_is_watched_from_then_on(tmp_path: Path) -> None:
    from sync_incident.core.refs import IncidentRef
    from sync_incident.daemon.poller import Daemon

    settings = Settings(cache=tmp_path / "cache.sqlite3")
    daemon = Daemon(settings, lambda: Session(settings))
    ref = IncidentRef("local", 7)
    daemon.watch(ref)
    daemon.watch(ref)  # twice: one watch
    assert list(daemon.watches) == [ref] and daemon.watches[ref].configured
