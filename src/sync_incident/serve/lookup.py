"""Incidents the daemon does not watch, read when someone asks for one: resolved ones, mostly.

The daemon watches active incidents: discovery stops watching one once it is resolved (or
its tag is removed), and a server started after the resolution never watched it. Its page,
its retrospective draft and ``/api/incidents/{ref}`` still answer: :meth:`Lookup.find` asks
the board first and, for an incident the daemon does not watch, reads it once through the
server's session and keeps what it read for the tracker's poll interval, as long as a
watched incident's state stands between two polls. The status page and ``/api/incidents``
are the board's alone: an incident read on demand is not listed there.

Visitors choose the reference, so what they can make the server read is bounded:

- only references on the trackers this server uses (GitHub: the ``[github] repos``);
  anything else is "not here" without a read, and so is any reference while the daemon
  backs its tracker off (:class:`Unreadable`, without a read);
- one read in flight per reference (views that arrive meanwhile wait for it), and at most
  ``concurrency`` reads in flight in all;
- at most ``capacity`` answers kept, the least recently used forgotten first; "no such
  incident" is an answer too, so asking again for a missing one reads nothing.

A read on demand is the gate's read (fresh), given ``READ_SECONDS`` at most (a visitor is
waiting), and never writes: no mirror catch-up on behalf of a visitor. A tracker that cannot answer raises
:class:`Unreadable` (the routes say 503) and nothing is kept. A webhook about an incident
forgets what was kept of it (:meth:`Lookup.forget`), so the next view reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sync_incident.core.errors import AccessDenied, NotFound, SyncIncidentError
from sync_incident.core.policy import Facts
from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref
from sync_incident.core.state import IncidentState

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.serve.board import Board, Known

Reader = Callable[[IncidentRef], Awaitable[tuple[IncidentState, Facts]]]
CAPACITY = 256  # answers kept: each is one folded incident
CONCURRENCY = 4  # reads on demand in flight at once, across references
READ_SECONDS = 10.0  # a read on demand gives up after this long (or the gate's deadline)
RETRY_AFTER = "30"  # seconds: the Retry-After of a 503 when a tracker could not answer


class Unreadable(Exception):
    """The tracker could not answer about an incident just now; a later view tries again."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class _Kept:
    known: Known | None  # None: the tracker says there is no such incident
    until: datetime


def configured(settings: Settings) -> Callable[[IncidentRef], bool]:
    """Whether a reference is on a tracker this server uses (GitHub: in its repositories)."""
    from sync_incident.trackers import kinds_in_use

    kinds = set(kinds_in_use(settings))
    repos = {r.lower() for r in settings.github.repos}

    def allowed(ref: IncidentRef) -> bool:
        if ref.kind not in kinds:
            return False
        return ref.kind != "github" or ref.repo.lower() in repos

    return allowed


class Lookup:
    """Watched incidents from the board, the others read on demand; see the module docstring."""

    def __init__(
        self,
        board: Board,
        read: Reader,
        *,
        allowed: Callable[[IncidentRef], bool],
        keep: Callable[[str], timedelta],
        capacity: int = CAPACITY,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self.board = board
        self._read = read
        self._allowed = allowed
        self._keep = keep
        self._capacity = max(1, capacity)
        self._gate = asyncio.Semaphore(max(1, concurrency))
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[Known | None]] = {}

    def cached(self, text: str) -> Known | None:
        """The incident ``text`` names, if the board or a kept read knows it; never reads."""
        ref = _parse(text)
        if ref is None:
            return None
        watched = self.board.find(ref.key)
        if watched is not None:
            return watched
        kept = self._fresh(ref.key)
        return kept.known if kept is not None else None

    async def find(self, text: str) -> Known | None:
        """The incident ``text`` names; None when there is none this server may show.

        Raises :class:`Unreadable` when its tracker cannot answer now.
        """
        ref = _parse(text)
        if ref is None:
            return None
        watched = self.board.find(ref.key)
        if watched is not None:
            return watched
        if not self._allowed(ref):
            return None
        kept = self._fresh(ref.key)
        if kept is not None:
            self._kept.move_to_end(ref.key)
            return kept.known
        if ref.kind in self.board.trackers_down():
            raise Unreadable(f"{ref.kind} is not answering (the server is backing off)")
        task = self._inflight.get(ref.key)
        if task is None:
            task = asyncio.ensure_future(self._read_one(ref))
            self._inflight[ref.key] = task
            task.add_done_callback(lambda done: self._settled(ref.key, done))
        # shielded: a visitor who goes away does not cancel the read the others wait for
        return await asyncio.shield(task)

    def allows(self, ref: IncidentRef) -> bool:
        """Whether visitors may make this server read ``ref`` (its trackers, its repos)."""
        return self._allowed(ref)

    @contextlib.asynccontextmanager
    async def reading(self, ref: IncidentRef) -> AsyncIterator[None]:
        """A read on a visitor's behalf (the gate's): one of the bounded reads in flight.

        Raises :class:`Unreadable` at once while the daemon backs the tracker off.
        """
        if ref.kind in self.board.trackers_down():
            raise Unreadable(f"{ref.kind} is not answering (the server is backing off)")
        async with self._gate:
            yield

    def forget(self, ref: IncidentRef) -> None:
        """Drop what was kept of ``ref``: the next view reads it again."""
        self._kept.pop(ref.key, None)

    def __len__(self) -> int:
        return len(self._kept)

    # --- inside ---------------------------------------------------------------------------------

    def _fresh(self, key: str) -> _Kept | None:
        kept = self._kept.get(key)
        if kept is not None and kept.until <= self.board.clock():
            del self._kept[key]
            return None
        return kept

    async def _read_one(self, ref: IncidentRef) -> Known | None:
        async with self._gate:
            try:
                state, facts = await self._read(ref)
            except (NotFound, AccessDenied):
                known = None  # not there, or not for this server's account: the same to a visitor
            except SyncIncidentError as exc:
                raise Unreadable(f"{exc.label}: {exc.message}") from None
            else:
                known = self.board.known_of(ref, state, facts) if state.opened else None
        self._kept[ref.key] = _Kept(known, self.board.clock() + self._keep(ref.kind))
        self._kept.move_to_end(ref.key)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
        if known is not None:
            self.board.touch()  # the incident's page renders from this read
        return known

    def _settled(self, key: str, done: asyncio.Future[Known | None]) -> None:
        if self._inflight.get(key) is done:
            del self._inflight[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have gone away


def _parse(text: str) -> IncidentRef | None:
    try:
        return parse_ref(text)
    except ReferenceError:
        return None
