"""The daemon's poller: poll active incidents cheaply; post digests and reminders, each exactly once.

One asyncio loop over one :class:`~sync_incident.service.Session` (its trackers share httpx
clients and the SQLite cache). Every cycle:

1. finds the incidents to watch: config ``incidents``, else the trackers' active-incident
   queries (re-run at each tracker's poll interval);
2. reads each incident that is due, at most ``concurrency`` at a time per tracker. Reads are
   incremental inside the trackers (``new_since`` / ``since`` + ETag), so an unchanged incident
   costs one request; the interval per tracker comes from config with the tracker's guidance
   as floor (BMO: 5 minutes);
3. posts the reminders that are due (:func:`due_reminders`) and the digest of the current
   schedule slot.

Exactly once, across replicas and restarts: every reminder and digest has a key
``"{kind}:{incident}:{period}"`` and an event id derived from it
(:func:`~sync_incident.core.events.event_id_for`). Right before posting, the target is read and
the post skipped when an accepted event with that key is there. Two replicas that both pass
the check post the same event id: the tracker's marker check finds it, and failing that the
fold counts an event id seen twice once. Nothing here depends on the local cache, so
deleting it, or running several daemons on several machines, posts nothing twice.

A tracker that fails (network, 5xx, rate limit, auth) is backed off exponentially while the
other trackers keep being polled; its incidents stay due and are read as soon as it is back.
SIGTERM / SIGINT set the stop event: no new read or write starts, the ones in flight finish,
and :meth:`Daemon.run` returns 0.

:meth:`Daemon.poke` marks one incident due now and wakes the loop (``serve`` calls it when a
webhook says the incident changed); ``listeners`` are called after each successful read, so
a page can show the new state at once, and ``dropped`` when discovery stops watching an
incident (``serve`` then reads its page on demand).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sync_incident.application.once import post_once
from sync_incident.application.overview import overview
from sync_incident.core.comments import Comment
from sync_incident.core.events import event_id_for
from sync_incident.core.fold import checkpoint_of
from sync_incident.core.policy import Facts
from sync_incident.core.refs import IncidentRef, TrackerKind, parse_ref
from sync_incident.core.state import IncidentState
from sync_incident.daemon.reminders import due_reminders
from sync_incident.digest.model import build_digest, render_markdown
from sync_incident.digest.schedule import (
    digest_key,
    has_key,
    latest_slot,
    next_slot,
    ours,
)
from sync_incident.digest.webhooks import send_webhooks
from sync_incident.trackers import kinds_in_use
from sync_incident.trackers import poll_minutes as backend_poll_minutes

if TYPE_CHECKING:
    import httpx

    from sync_incident.config import Settings
    from sync_incident.service import Reading, Session

log = logging.getLogger("sync_incident.daemon")

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
SessionFactory = Callable[[], "Session"]

DEFAULT_CONCURRENCY = 16  # requests in flight per tracker (GitHub allows 100 at most)
BACKOFF_START = 30.0  # seconds after the first failure of a tracker; doubled each time
BACKOFF_MAX = 15 * 60.0
MAX_NAP = 60.0  # reminders are time-driven: look at least once a minute
DIGEST_GRACE = timedelta(hours=1)  # a slot missed by more than this is skipped, not late-posted
PROGRESS_MIN = 10  # show a progress bar on a first read of at least this many incidents


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Watch:
    ref: IncidentRef
    configured: bool  # from config `incidents` (kept) or discovered (dropped when inactive)
    next_poll: datetime
    state: IncidentState | None = None
    facts: Facts = field(default_factory=Facts)  # membership as last read (for verdicts)
    comments: list[Comment] = field(default_factory=list)  # as last read, for checkpoints
    reading: Reading | None = None  # the last read: an unchanged record is not folded again
    error: str = ""
    reads: int = 0


@dataclass
class Health:
    """A tracker's health: consecutive failures and when to try again."""

    failures: int = 0
    down_until: datetime | None = None
    last_error: str = ""
    next_discovery: datetime | None = None

    def down(self, now: datetime) -> bool:
        return self.down_until is not None and now < self.down_until


@dataclass
class CycleReport:
    polled: int = 0
    requests: int = 0
    failed: int = 0
    posted: list[str] = field(default_factory=list)
    skipped_down: int = 0


class Daemon:
    """Polls incidents and posts reminders and digests; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        session_factory: SessionFactory,
        *,
        clock: Clock = utc_now,
        sleep: Sleep = asyncio.sleep,
        concurrency: int | dict[str, int] = DEFAULT_CONCURRENCY,
        poll_minutes: dict[str, float] | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        progress: bool | None = None,
        digest_grace: timedelta = DIGEST_GRACE,
        resolved_days: int = 0,
    ) -> None:
        self.settings = settings
        self._factory = session_factory
        self.clock = clock
        self._sleep = sleep
        self._concurrency = concurrency
        self._poll = {**backend_poll_minutes(settings), **(poll_minutes or {})}
        self._webhook_transport = webhook_transport
        self._progress = progress
        self._grace = digest_grace
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # set by poke(): cycle again without waiting
        self._poked: set[str] = set()  # incident keys to read in the next cycle
        self.listeners: list[Callable[[Watch], None]] = []  # called after each read
        # called when discovery stops watching an incident (resolved, or its tag removed)
        self.dropped: list[Callable[[Watch], None]] = []
        self.last_cycle_at: datetime | None = None
        self.last_cycle_seconds = 0.0
        self._gates: dict[str, asyncio.Semaphore] = {}
        self.watches: dict[IncidentRef, Watch] = {}
        # with discovery, the incidents resolved in the last ``resolved_days`` days (serve's
        # status page lists them): read at each discovery, never reminded, digested or mirrored
        self.resolved_days = resolved_days
        self.recent: dict[IncidentRef, Watch] = {}
        self.health: dict[str, Health] = {}
        self.done: set[str] = set()  # keys known to be on the tracker (memory only)
        self.cycles = 0
        self.last_report = CycleReport()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._discover = not settings.incidents
        for text in settings.incidents:
            ref = parse_ref(text)
            self.watches[ref] = Watch(
                ref, configured=True, next_poll=datetime.min.replace(tzinfo=UTC)
            )

    # --- control ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish: in-flight reads and writes complete, nothing new starts."""
        if not self._stop.is_set():
            log.info("stopping", extra={"event": "stop"})
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def poke(self, ref: IncidentRef, *, discover: bool = False) -> bool:
        """Read ``ref`` in the next cycle, which starts at once; False when it is not watched.

        ``discover``: when ``ref`` is not watched yet, ask its tracker for the active
        incidents in that cycle (a new incident was just labelled). One of the incidents
        resolved lately (:attr:`recent`) is read again by that discovery. A poke during a cycle
        is kept for the next one, so a change that raced a read is never lost.
        """
        if any(w.ref.key == ref.key for w in self.watches.values()):
            self._poked.add(ref.key)
        elif (discover and self._discover) or any(r.key == ref.key for r in self.recent):
            self._health(ref.kind).next_discovery = None  # a resolved one is read there too
        else:
            return False
        self._wake.set()
        return True

    def watch(self, ref: IncidentRef) -> None:
        """Watch ``ref`` from now on, read at once, kept as a configured incident is (a chat
        room follows it: its events are announced there while it lives)."""
        if ref not in self.watches:
            self.watches[ref] = Watch(ref, configured=True, next_poll=self.clock())
        self._poked.add(ref.key)
        self._wake.set()

    async def run(self, *, once: bool = False) -> int:
        """Cycle until stopped (or once); returns the exit code, 0."""
        session = self._factory()
        try:
            while not self._stop.is_set():
                await self.cycle(session)
                if once or self._stop.is_set():
                    break
                await self._nap(self._seconds_to_next(self.clock()))
        finally:
            if self._inflight:
                await asyncio.gather(*self._inflight, return_exceptions=True)
            await session.aclose()
        log.info("stopped", extra={"event": "exit", "cycles": self.cycles})
        return 0

    async def _nap(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopper = asyncio.ensure_future(self._stop.wait())
        waker = asyncio.ensure_future(self._wake.wait())
        _, pending = await asyncio.wait(
            {sleeper, stopper, waker}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def _seconds_to_next(self, now: datetime) -> float:
        wake = now + timedelta(seconds=MAX_NAP)
        for watch in self.watches.values():
            health = self._health(watch.ref.kind)
            at = health.down_until if health.down(now) and health.down_until else watch.next_poll
            wake = min(wake, at)
        nxt = next_slot(self.settings.digest.times, self.settings.digest.every_hours, now)
        if nxt is not None:
            wake = min(wake, nxt)
        return max(1.0, (wake - now).total_seconds())

    def _gate(self, kind: str) -> asyncio.Semaphore:
        if kind not in self._gates:
            limit = (
                self._concurrency
                if isinstance(self._concurrency, int)
                else self._concurrency.get(kind, DEFAULT_CONCURRENCY)
            )
            self._gates[kind] = asyncio.Semaphore(max(1, limit))
        return self._gates[kind]

    def _health(self, kind: str) -> Health:
        return self.health.setdefault(kind, Health())

    def interval(self, kind: str) -> timedelta:
        """How long a read of an incident on tracker ``kind`` stands before the next one."""
        return timedelta(minutes=self._poll[kind])

    # --- one cycle ----------------------------------------------------------------------------

    async def cycle(self, session: Session) -> CycleReport:
        """Discover, poll what is due, post due reminders and the digest of the current slot."""
        now = self.clock()
        started = time.monotonic()
        session.now = now
        report = CycleReport()
        self.last_report = report
        self._wake.clear()
        for watch in self.watches.values():
            if watch.ref.key in self._poked:
                watch.next_poll = min(watch.next_poll, now)
        self._poked.clear()
        if self._discover:
            await self._discover_all(session, now)
        due = [
            w
            for w in self.watches.values()
            if w.next_poll <= now and not self._health(w.ref.kind).down(now)
        ]
        report.skipped_down = sum(
            1 for w in self.watches.values() if self._health(w.ref.kind).down(now)
        )
        bar = self._progress_bar(len(due))
        try:
            await asyncio.gather(*(self._poll_one(session, w, now, report, bar) for w in due))
        finally:
            if bar is not None:
                bar.stop()
        if not self._stop.is_set():
            await self._reminders(session, now, report)
        if not self._stop.is_set():
            await self._checkpoints(session, now, report)
        if not self._stop.is_set():
            await self._digest(session, now, report)
        self.cycles += 1
        self.last_cycle_at, self.last_cycle_seconds = now, time.monotonic() - started
        log.info(
            "cycle done",
            extra={
                "event": "cycle",
                "polled": report.polled,
                "requests": report.requests,
                "failed": report.failed,
                "posted": len(report.posted),
                "watching": len(self.watches),
                "trackers_down": [k for k, h in self.health.items() if h.down(now)],
            },
        )
        return report

    async def _discover_all(self, session: Session, now: datetime) -> None:
        from sync_incident.core.errors import SyncIncidentError

        for kind in kinds_in_use(self.settings):
            health = self._health(kind)
            if health.down(now) or (health.next_discovery and now < health.next_discovery):
                continue
            try:
                refs = await session.active_incidents([kind])
            except SyncIncidentError as exc:
                self._failed(kind, exc, now)
                continue
            health.next_discovery = now + self.interval(kind)
            found = set(refs)
            for ref in refs:
                if ref not in self.watches:
                    self.watches[ref] = Watch(ref, configured=False, next_poll=now)
            for ref in [r for r, w in self.watches.items() if r.kind == kind and not w.configured]:
                if ref not in found:
                    gone = self.watches.pop(ref)  # resolved or untagged: no more reminders
                    for listener in self.dropped:
                        listener(gone)
            if self.resolved_days:
                await self._discover_resolved(session, kind, now)

    async def _discover_resolved(self, session: Session, kind: TrackerKind, now: datetime) -> None:
        """Read the incidents ``kind`` says were resolved lately (none watched as active)."""
        from sync_incident.core.errors import SyncIncidentError

        try:
            refs = await session.resolved_incidents(
                now - timedelta(days=self.resolved_days), [kind]
            )
        except SyncIncidentError as exc:
            self._failed(kind, exc, now)
            return
        found = [r for r in dict.fromkeys(refs) if r not in self.watches]
        for ref in [r for r in self.recent if r.kind == kind and r not in found]:
            gone = self.recent.pop(ref)
            for listener in self.dropped:
                listener(gone)
        for ref in found:
            self.recent.setdefault(ref, Watch(ref, configured=False, next_poll=now))
        await asyncio.gather(*(self._read_resolved(session, self.recent[r]) for r in found))

    async def _read_resolved(self, session: Session, watch: Watch) -> None:
        from sync_incident.core.errors import SyncIncidentError

        async with self._gate(watch.ref.kind):
            if self._stop.is_set():
                return
            try:
                reading = await session.read(watch.ref, previous=watch.reading)
            except SyncIncidentError as exc:
                watch.error = f"{type(exc).__name__}: {exc.message}"
                return
        watch.state, watch.facts, watch.error = reading.state, reading.facts, ""
        watch.reading = reading
        watch.reads += 1
        for listener in self.listeners:
            listener(watch)

    async def _poll_one(
        self, session: Session, watch: Watch, now: datetime, report: CycleReport, bar: Any
    ) -> None:
        from sync_incident.core.errors import (
            AccessDenied,
            NotFound,
            SyncIncidentError,
            TrackerError,
        )

        kind = watch.ref.kind
        async with self._gate(kind):
            if self._stop.is_set() or self._health(kind).down(now):
                return
            try:
                reading = await session.read(watch.ref, previous=watch.reading)
                await session.catch_up(watch.ref, reading)  # the daemon keeps the mirror in line
            except SyncIncidentError as exc:
                report.failed += 1
                if isinstance(exc, TrackerError) and not isinstance(exc, NotFound | AccessDenied):
                    self._failed(kind, exc, now)  # the tracker is down: back off, stay due
                    return
                # this incident only (gone, no access, a reference this setup cannot read)
                watch.error = f"{type(exc).__name__}: {exc.message}"
                watch.next_poll = now + self.interval(kind)
                log.warning(
                    "cannot read incident",
                    extra={"event": "poll-error", "incident": str(watch.ref), "error": watch.error},
                )
                return
            finally:
                if bar is not None:
                    bar.advance()
        snap = reading.snapshot
        watch.state, watch.facts, watch.error = reading.state, reading.facts, ""
        watch.reading = reading
        watch.comments = snap.comments
        watch.reads += 1
        watch.next_poll = now + self.interval(kind)
        report.polled += 1
        report.requests += snap.requests
        self._recovered(kind)
        for listener in self.listeners:
            listener(watch)
        log.debug(
            "polled",
            extra={
                "event": "poll",
                "incident": str(watch.ref),
                "requests": snap.requests,
                "unchanged": snap.from_cache,
            },
        )

    def _failed(self, kind: str, exc: Exception, now: datetime) -> None:
        from sync_incident.core.errors import RateLimited

        health = self._health(kind)
        if health.down(now):
            return  # several in-flight reads failed together: one failure
        health.failures += 1
        delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** (health.failures - 1))
        if isinstance(exc, RateLimited) and exc.retry_after:
            delay = max(delay, min(exc.retry_after, BACKOFF_MAX))
        health.down_until = now + timedelta(seconds=delay)
        health.last_error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "tracker unavailable; backing off",
            extra={
                "event": "backoff",
                "tracker": kind,
                "error": health.last_error,
                "failures": health.failures,
                "retry_in_s": delay,
            },
        )

    def _recovered(self, kind: str) -> None:
        health = self._health(kind)
        if health.failures:
            log.info("tracker is back", extra={"event": "recovered", "tracker": kind})
        health.failures, health.down_until, health.last_error = 0, None, ""

    # --- writing --------------------------------------------------------------------------------

    async def _me(self, session: Session, ref: IncidentRef) -> str:
        """The daemon's own actor on a tracker: only its own keyed posts count as sent."""
        me = await session.whoami(ref.kind)
        return self.settings.policy.actor_for(ref.kind, me, session.clock())

    async def _write(self, coro: Awaitable[bool]) -> bool:
        """Run a write to completion even when the loop is asked to stop meanwhile."""
        task: asyncio.Task[bool] = asyncio.ensure_future(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return await asyncio.shield(task)

    async def _post_keyed(
        self, session: Session, ref: IncidentRef, event: Any, key: str, report: CycleReport
    ) -> bool:
        from sync_incident.core.errors import (
            AccessDenied,
            NotFound,
            SyncIncidentError,
            TrackerError,
        )

        if key in self.done or self._stop.is_set() or self._health(ref.kind).down(self.clock()):
            return False
        try:
            posted = await self._write(post_once(session, ref, event, key))
        except (NotFound, AccessDenied) as exc:
            log.warning(
                "cannot post", extra={"event": "post-error", "key": key, "error": exc.message}
            )
            return False
        except TrackerError as exc:
            self._failed(ref.kind, exc, self.clock())
            return False
        except SyncIncidentError as exc:  # refused by the rules: a bug, but keep going
            log.error(
                "post refused", extra={"event": "post-error", "key": key, "error": exc.message}
            )
            self.done.add(key)
            return False
        self.done.add(key)
        if posted:
            report.posted.append(key)
        return posted

    async def _reminders(self, session: Session, now: datetime, report: CycleReport) -> None:
        from sync_incident.core.events import Reminder

        for watch in list(self.watches.values()):
            if watch.state is None or self._health(watch.ref.kind).down(now):
                continue
            for due in due_reminders(
                watch.state, watch.ref, self.settings, now, session.tracker(watch.ref.kind).flavor
            ):
                if due.key in self.done:
                    continue
                account = ours(self.settings.policy, await self._me(session, watch.ref))
                if has_key(watch.state, due.key, account=account):
                    self.done.add(due.key)
                    continue
                if self._stop.is_set():
                    return
                event = Reminder(
                    id=event_id_for(due.key, due.stamp),
                    key=due.key,
                    kind=due.kind,
                    to=due.to,
                    text=due.text,
                )
                await self._post_keyed(session, watch.ref, event, due.key, report)

    async def _checkpoints(self, session: Session, now: datetime, report: CycleReport) -> None:
        """As a witness, record what each changed incident holds (see :class:`Checkpoint`)."""
        every = timedelta(minutes=self.settings.daemon.checkpoint_minutes)
        if not every:
            return
        policy = self.settings.policy
        for watch in list(self.watches.values()):
            kind = watch.ref.kind
            if watch.state is None or self._health(kind).down(now) or self._stop.is_set():
                continue
            me = await session.whoami(kind)
            actor = policy.actor_for(kind, me, now)
            if actor not in policy.witnesses:
                continue
            event = checkpoint_of(watch.comments)
            if event is None:
                continue
            mine = [
                e
                for e in watch.state.timeline
                if e.type == "checkpoint" and e.accepted and e.actor == actor
            ]
            if mine and (mine[-1].data.get("digest") == event.digest or now - mine[-1].at < every):
                continue
            key = f"checkpoint:{watch.ref.key}:{event.digest}"
            stamp = watch.comments[-1].created_at
            keyed = event.model_copy(update={"id": event_id_for(key, stamp)})
            await self._post_keyed(session, watch.ref, keyed, key, report)

    async def _digest(self, session: Session, now: datetime, report: CycleReport) -> None:
        from sync_incident.core.events import DigestPosted
        from sync_incident.core.refs import ReferenceError

        ds = self.settings.digest
        slot = latest_slot(ds.times, ds.every_hours, now)
        if slot is None or now - slot > self._grace:
            return
        refs = sorted(self.watches)
        key = digest_key(refs, self._discover, slot)
        if key in self.done:
            return
        seen = [
            overview(w.state, self.settings.policy, w.facts, now)
            for w in self.watches.values()
            if w.state and w.state.status == "active"
        ]
        if not seen:
            self.done.add(key)
            return
        text = render_markdown(build_digest(seen, self.settings.policy, now))
        fresh = True
        if ds.post_to:
            try:
                target = parse_ref(ds.post_to)
            except ReferenceError:
                log.error("digest.post_to is not a reference", extra={"event": "config"})
                self.done.add(key)
                return
            event = DigestPosted(id=event_id_for(key, slot), key=key, text=text)
            fresh = await self._post_keyed(session, target, event, key, report)
            if key not in self.done:
                return  # could not check or post: try again next cycle
        else:
            # No tracker to use as the idempotency store: remember in the cache (best effort).
            cache = session.cache()
            fresh = cache.get("daemon-digest", key) is None
            self.done.add(key)
            if fresh:
                cache.put("daemon-digest", key, now.isoformat())
                report.posted.append(key)
                log.info("digest", extra={"event": "digest", "key": key, "digest": text})
        if fresh and ds.webhook_env:
            problems = await self._write(self._webhooks(text))
            if problems:
                log.warning(
                    "webhooks failed", extra={"event": "webhook-error", "problems": problems}
                )

    async def _webhooks(self, text: str) -> Any:
        return await send_webhooks(
            text, self.settings.webhook_urls(), transport=self._webhook_transport
        )

    # --- display ----------------------------------------------------------------------------

    def _progress_bar(self, total: int) -> _Bar | None:
        enabled = self._progress
        if enabled is None:
            enabled = self.cycles == 0 and total >= PROGRESS_MIN and sys.stderr.isatty()
        if not enabled or total == 0:
            return None
        return _Bar(total)


class _Bar:
    """A rich progress bar on stderr, imported only when shown."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(console=Console(stderr=True), transient=True)
        self._task = self._progress.add_task("First read of the incidents", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()
