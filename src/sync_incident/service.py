"""One run's trackers, and how an incident is read: fetched, its membership facts asked, folded.

``Session`` builds trackers from settings (lazily: only the one a reference needs) and reads.
Reading never writes: the mirrored fields are brought in line by posting
(:mod:`sync_incident.application.act`) and by the daemon (:meth:`Session.catch_up`), never
by ``show``, ``list``, the gate or a page view. The use cases that read and post live in
:mod:`sync_incident.application`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.errors import (
    SyncIncidentError,
    TrackerError,
    Unavailable,
    Unverifiable,
)
from sync_incident.core.fold import Folding
from sync_incident.core.policy import Facts, Policy
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.core.rules import teams_claimed
from sync_incident.core.state import IncidentState
from sync_incident.mirror import mirror_for
from sync_incident.trackers import BuildContext, Sleep, build_tracker, kinds_in_use
from sync_incident.trackers.base import (
    Discovery,
    IncidentSnapshot,
    Membership,
    Resolutions,
    Tracker,
)
from sync_incident.trackers.cache import Cache

if TYPE_CHECKING:
    import httpx

    from sync_incident.config import Settings

log = logging.getLogger("sync_incident.service")

PENDING_ID = "(this comment)"

# The accounts claiming each team the policy delegates to the tracker (by Account.key: the
# numeric id where the tracker has one, never a login another account could take).
Claims = dict[str, dict[str, Account]]


@dataclass(frozen=True)
class Reading:
    """One read of an incident: what the tracker returned and what it folds to (at ``at``).

    ``folding`` can take one more comment: posting checks its events on it without folding
    the record again (which moves ``state`` on: a reading is posted on once).
    """

    snapshot: IncidentSnapshot
    state: IncidentState
    facts: Facts
    folding: Folding
    at: datetime | None = None  # the ``now`` of the fold; None: unknown (never reused)
    claims: Claims = field(default_factory=dict)  # who claimed delegated teams (for facts)


@dataclass
class Session:
    """One run's trackers, cache and renderer. Use as ``async with Session(settings) as s``."""

    settings: Settings
    as_user: str | None = None
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    sleep: Sleep | None = None
    now: datetime | None = None  # fixed time for tests; None = the clock
    # no cache file at all (the gate: nothing it does not read can change or fail its answer)
    ephemeral: bool = False
    _trackers: dict[str, Tracker] = field(default_factory=dict)
    _cache: Cache | None = None
    _renderer: codec.Renderer | None = None

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    @property
    def renderer(self) -> codec.Renderer:
        if self._renderer is None:
            self._renderer = codec.Renderer(self.settings.templates_dir)
        return self._renderer

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for tracker in self._trackers.values():
            await tracker.aclose()
        self._trackers.clear()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def cache(self) -> Cache:
        """The cache file (an in-memory one when ``ephemeral`` or when the file is unusable)."""
        if self._cache is None:
            self._cache = Cache(None) if self.ephemeral else Cache.open(self.settings.cache_path())
        return self._cache

    def tracker(self, kind: TrackerKind) -> Tracker:
        if kind not in self._trackers:
            context = BuildContext(
                cache=self.cache(),
                as_user=self.as_user,
                transports=self.transports,
                sleep=self.sleep,
            )
            self._trackers[kind] = build_tracker(kind, self.settings, context)
        return self._trackers[kind]

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    async def whoami(self, kind: TrackerKind) -> Account:
        return await self.tracker(kind).whoami()

    async def active_incidents(
        self, kinds: Sequence[TrackerKind] | None = None
    ) -> list[IncidentRef]:
        """Active incidents on the trackers in use (those that can list them)."""
        found: list[IncidentRef] = []
        for kind in kinds if kinds is not None else kinds_in_use(self.settings):
            tracker = self.tracker(kind)
            if isinstance(tracker, Discovery):
                found.extend(await tracker.active_incidents())
        return found

    async def resolved_incidents(
        self, since: datetime, kinds: Sequence[TrackerKind] | None = None
    ) -> list[IncidentRef]:
        """Incidents the trackers in use mirror as resolved, changed since ``since`` (those
        that can list them); fold each to know when it was resolved."""
        found: list[IncidentRef] = []
        for kind in kinds if kinds is not None else kinds_in_use(self.settings):
            tracker = self.tracker(kind)
            if isinstance(tracker, Resolutions):
                found.extend(await tracker.resolved_incidents(since))
        return found

    # --- reading ------------------------------------------------------------------------

    async def read(
        self,
        ref: IncidentRef,
        *,
        fresh: bool = False,
        previous: Reading | None = None,
        history: bool = False,
    ) -> Reading:
        """Fetch and fold. ``fresh`` trusts no cache (the gate): same verdict with or without.

        A fresh read that could not make a check the gate relies on (no token for GitHub's
        edit check, no history route) raises :class:`Unverifiable`, naming what is missing,
        unless the policy accepts the weaker check (``accept_weaker_checks``).

        ``history``: the read judges doubt before posting: the hold flag's history is read
        as the gate reads it (see :meth:`Tracker.fetch`).

        ``previous``: this session's last reading of ``ref`` (the daemon's). When the tracker
        returns the same comments, who claims which delegated team is not parsed out of them
        again (membership itself is still asked); when the record and the facts are the same
        and the clock moved past nothing the state depends on, its state is what the fold
        would return again, and is returned without folding.
        """
        tracker = self.tracker(ref.kind)
        snap = await tracker.fetch(ref, fresh=fresh, history=history)
        missing = {
            k: v for k, v in snap.unchecked.items() if k not in self.policy.accept_weaker_checks
        }
        if missing:
            raise Unverifiable(
                f"{ref}: " + "; ".join(missing.values()),
                hint="give the gate what it needs, or accept the weaker check in the policy: "
                + ", ".join(f'accept_weaker_checks = ["{k}"]' for k in missing)
                + " (README: Missing evidence)",
            )
        if fresh or previous is None or previous.at is None:
            previous = None
        if previous is not None and snap.comments == previous.snapshot.comments:
            claims = previous.claims  # the same comments claim the same teams
        else:
            claims = self._claims(tracker, snap.comments)
        # asked again: membership can change (the gate's fresh read trusts no kept answer)
        facts = await self._members(ref, tracker, claims, fresh=fresh)
        now = self.clock()
        if previous is not None and _refold_gives_same(previous, snap, facts, now):
            folding = previous.folding
        else:
            folding = self._fold(ref, snap, facts, now)
        return Reading(snap, folding.state, facts, folding, now, claims)

    async def catch_up(self, ref: IncidentRef, reading: Reading) -> None:
        """The daemon brings the mirrored fields in line after a read; never fails its cycle."""
        if not reading.state.opened:
            return
        from sync_incident.application.overview import overview

        seen = overview(reading.state, self.policy, reading.facts, self.clock())
        mirror = mirror_for(seen, ref.kind)
        try:
            await self.tracker(ref.kind).sync_mirror(ref, mirror)
        except TrackerError as exc:
            log.warning("the mirrored fields of %s were not brought in line: %s", ref, exc.message)

    async def read_many(
        self, refs: Sequence[IncidentRef], *, concurrency: int = 8
    ) -> dict[IncidentRef, Reading | SyncIncidentError]:
        """Read every incident, ``concurrency`` at a time; a failure is kept, not raised."""
        gate = asyncio.Semaphore(concurrency)
        results: dict[IncidentRef, Reading | SyncIncidentError] = {}

        async def one(ref: IncidentRef) -> None:
            async with gate:
                try:
                    results[ref] = await self.read(ref)
                except SyncIncidentError as exc:
                    results[ref] = exc

        await asyncio.gather(*(one(r) for r in refs))
        return {ref: results[ref] for ref in refs}

    async def read_within(self, ref: IncidentRef, seconds: float) -> Reading:
        """A fresh read (the gate's) that gives up after ``seconds``, saying so."""
        try:
            async with asyncio.timeout(seconds):
                return await self.read(ref, fresh=True)
        except TimeoutError:
            server = self.tracker(ref.kind).server
            raise Unavailable(
                f"no answer from {server} about {ref} within {seconds:.0f} s "
                "(slow, rate limited or unreachable)",
                hint="the release must not ship until the gate decides; try again later, or "
                "raise [gate] deadline_seconds",
            ) from None

    def _fold(
        self, ref: IncidentRef, snap: IncidentSnapshot, facts: Facts, now: datetime
    ) -> Folding:
        return Folding(
            snap.comments,
            kind=ref.kind,
            policy=self.policy,
            facts=facts,
            vanished=snap.vanished,
            evidence=snap.evidence,
            marks=snap.marks,
            now=now,
            ref=str(ref),
            title=snap.title,
            url=snap.url,
        )

    async def facts_with(
        self, ref: IncidentRef, reading: Reading, comments: Sequence[Comment]
    ) -> Facts:
        """The reading's facts, asked again only when ``comments`` claim a delegated team anew."""
        tracker = self.tracker(ref.kind)
        extra = self._claims(tracker, comments)
        if not extra:
            return reading.facts
        merged: Claims = {team: dict(accounts) for team, accounts in reading.claims.items()}
        for team, accounts in extra.items():
            merged.setdefault(team, {}).update(accounts)
        return await self._members(ref, tracker, merged)

    def _claims(self, tracker: Tracker, comments: Sequence[Comment]) -> Claims:
        """Who claims each team the policy delegates to the tracker (parses every comment)."""
        policy = self.policy
        if policy.permissive or not isinstance(tracker, Membership):
            return {}
        delegated = {name for name, team in policy.teams.items() if tracker.delegates(team)}
        claims: Claims = {}
        for comment in comments:
            for event in codec.parse(comment.body).events:
                for team in teams_claimed(event, policy):
                    if team in delegated:
                        claims.setdefault(team, {})[comment.author.key] = comment.author
        return claims

    async def _members(
        self, ref: IncidentRef, tracker: Tracker, claims: Claims, *, fresh: bool = False
    ) -> Facts:
        """The facts: which claimants the tracker says are members of the team they claim."""
        if not claims or not isinstance(tracker, Membership):
            return Facts()
        policy = self.policy
        members: dict[str, frozenset[str]] = {}
        unknown: dict[str, str] = {}
        from sync_incident.core.errors import AccessDenied

        for team_name, accounts in claims.items():
            ok: set[str] = set()
            for folded, account in accounts.items():
                try:
                    team = policy.teams[team_name]
                    if await tracker.is_member(ref, team, account, fresh=fresh):
                        ok.add(folded)
                except AccessDenied as exc:
                    unknown[team_name] = exc.message
            members[team_name] = frozenset(ok)
        return Facts(members=members, unknown=unknown, checked_on=ref.kind)


def _refold_gives_same(
    previous: Reading, snap: IncidentSnapshot, facts: Facts, now: datetime
) -> bool:
    """Whether folding ``snap`` at ``now`` would give ``previous.state`` again.

    The fold is deterministic: the same inputs give the same state. Its inputs are the
    snapshot's record (comments, vanished, evidence, marks, title, URL), the facts, the policy
    (this session's) and ``now``, which only the end of the fold reads: a pending handoff
    counts its minutes until ``now``; a checklist step and the next status update are overdue
    once their time is before ``now``. So another ``now`` changes nothing when no handoff is
    pending and no such deadline lies between the two.
    """
    before, old = previous.at, previous.snapshot
    if before is None or previous.facts != facts:
        return False
    same_record = (
        snap.ref == old.ref
        and snap.title == old.title
        and snap.url == old.url
        and snap.comments == old.comments
        and snap.vanished == old.vanished
        and snap.evidence == old.evidence
        and snap.marks == old.marks
    )
    if not same_record:
        return False
    state = previous.state
    if any(offer.answered_at is None for offer in state.handoffs):
        return False
    deadlines = [s.due for s in state.checklist if s.due is not None and s.state != "done"]
    if state.status == "active" and state.next_update_due is not None:
        deadlines.append(state.next_update_due)
    return all((due < before) == (due < now) for due in deadlines)
