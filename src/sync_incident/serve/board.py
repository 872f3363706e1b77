"""The board: what the daemon knows, as the page and the API read it. Never reads a tracker.

The daemon re-reads incidents (incrementally, and at once when a webhook pokes one); after
each read it calls :meth:`Board.seen`, which bumps :attr:`Board.generation` and wakes every
server-sent-event stream waiting in :meth:`Board.wait`; so does an incident the daemon stops
watching (:meth:`Board.dropped`) and an incident read on demand
(:class:`~sync_incident.serve.lookup.Lookup` calls :meth:`Board.touch`). The overview (the
state and one verdict per release, :mod:`sync_incident.application.overview`, the same as
``show``'s) is made once per folded state, not once per page view.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync_incident.application.overview import Overview, overview
from sync_incident.core.policy import Facts, Policy
from sync_incident.core.readiness import Verdict
from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref
from sync_incident.core.state import IncidentState

if TYPE_CHECKING:
    from sync_incident.daemon.poller import Daemon, Watch

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Known:
    """One incident as last read: its overview (None before the first read) or an error."""

    ref: IncidentRef
    overview: Overview | None
    error: str = ""

    @property
    def state(self) -> IncidentState | None:
        return self.overview.state if self.overview is not None else None

    @property
    def verdicts(self) -> list[Verdict]:
        return self.overview.verdicts if self.overview is not None else []

    @property
    def active(self) -> bool:
        return self.state is None or self.state.status != "resolved"


class Board:
    """Reads the daemon's watches; tells waiting streams when a read changed something."""

    def __init__(self, daemon: Daemon, policy: Policy, *, clock: Clock = utc_now) -> None:
        self._daemon = daemon
        self.policy = policy
        self.clock = clock
        self.generation = 0
        self._changed = asyncio.Event()  # replaced after each read: waiters of that read wake
        self._overviews: dict[str, tuple[IncidentState, Overview]] = {}
        daemon.listeners.append(self.seen)
        daemon.dropped.append(self.dropped)

    def seen(self, watch: Watch) -> None:
        """A listener on the daemon: an incident was just read."""
        self.touch()

    def dropped(self, watch: Watch) -> None:
        """A listener on the daemon: it no longer watches ``watch`` (off the status page)."""
        self._overviews.pop(watch.ref.key, None)
        self.touch()

    def touch(self) -> None:
        """What the pages show changed: render again, and wake the streams."""
        self.generation += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, generation: int, timeout: float) -> bool:
        """Until a read after ``generation`` (True, at once if one happened) or ``timeout``."""
        if self.generation != generation:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            return False
        return True

    def known(self) -> list[Known]:
        """Every watched incident, active ones first, then by reference."""
        out = [self._known(w) for w in list(self._daemon.watches.values())]
        out.sort(key=lambda k: (not k.active, k.ref))
        return out

    def recent(self) -> list[Known]:
        """The incidents resolved lately that discovery read (none of them watched as active)."""
        watched = self._daemon.watches
        return [self._known(w) for w in list(self._daemon.recent.values()) if w.ref not in watched]

    def find(self, text: str) -> Known | None:
        """The watched incident ``text`` names (any reference form), None when not watched.

        Pages and the API ask :meth:`~sync_incident.serve.lookup.Lookup.find`, which asks this
        first and reads an incident the daemon does not watch on demand.
        """
        try:
            ref = parse_ref(text)
        except ReferenceError:
            return None
        every = [*self._daemon.watches.values(), *self._daemon.recent.values()]
        watch = next((w for w in every if w.ref.key == ref.key), None)
        return self._known(watch) if watch is not None else None

    def known_of(self, ref: IncidentRef, state: IncidentState, facts: Facts) -> Known:
        """An incident the daemon does not watch, as read just now (judged as the rest)."""
        return Known(ref, overview(state, self.policy, facts, self.clock()))

    def _known(self, watch: Watch) -> Known:
        state = watch.state
        if state is None:
            return Known(watch.ref, None, watch.error)
        cached = self._overviews.get(watch.ref.key)
        if cached is None or cached[0] is not state:
            cached = (state, overview(state, self.policy, watch.facts, self.clock()))
            self._overviews[watch.ref.key] = cached
        return Known(watch.ref, cached[1], watch.error)

    # --- what /readyz and /metrics report -----------------------------------------------------

    @property
    def daemon(self) -> Daemon:
        return self._daemon

    def trackers_down(self) -> list[str]:
        now = self._daemon.clock()
        return sorted(kind for kind, h in self._daemon.health.items() if h.down(now))

    def trackers(self) -> dict[str, dict[str, Any]]:
        """Each tracker over the network this server reads: up, or backed off (how long)."""
        from sync_incident.trackers import kinds_in_use, over_http

        daemon, now = self._daemon, self._daemon.clock()
        used = set(kinds_in_use(daemon.settings)) | {w.ref.kind for w in daemon.watches.values()}
        out: dict[str, dict[str, Any]] = {}
        for kind in sorted(used & set(over_http())):
            health = daemon.health.get(kind)
            if health is None or not health.down(now) or health.down_until is None:
                out[kind] = {"up": True}
                continue
            wait = (health.down_until - now).total_seconds()
            out[kind] = {"up": False, "failures": health.failures, "retry_in_seconds": wait}
        return out

    def cycle_age(self) -> float | None:
        """Seconds since the last daemon cycle started (None before the first one ends)."""
        last = self._daemon.last_cycle_at
        return None if last is None else (self._daemon.clock() - last).total_seconds()
