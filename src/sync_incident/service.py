"""The library API the CLI, the daemon, the digest, the retrospective and the Action share.

``Session`` builds trackers from settings (lazily: only the one a reference needs), reads and
folds, and is the only way anything is posted: lint the wording, check that the rules would
accept the event (by folding it as if posted), render, post once with the mirrored fields.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.errors import (
    RefusedError,
    SyncIncidentError,
    TrackerError,
    Unavailable,
    Unverifiable,
    UsageError,
)
from sync_incident.core.events import Event
from sync_incident.core.fold import fold
from sync_incident.core.policy import Facts, Policy
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.core.rules import teams_claimed
from sync_incident.core.sentences import Context
from sync_incident.core.state import IncidentState
from sync_incident.core.summaries import noun
from sync_incident.mirror import mirror_for
from sync_incident.trackers import BuildContext, Sleep, build_tracker, kinds_in_use
from sync_incident.trackers.base import (
    Discovery,
    IncidentSnapshot,
    Membership,
    NewIncident,
    Tracker,
)
from sync_incident.trackers.cache import Cache

if TYPE_CHECKING:
    import httpx

    from sync_incident.config import Settings
    from sync_incident.core.lint import Finding

log = logging.getLogger("sync_incident.service")

PENDING_ID = "(this comment)"

# The accounts claiming each team the policy delegates to the tracker (by Account.key: the
# numeric id where the tracker has one, never a login another account could take).
Claims = dict[str, dict[str, Account]]


@dataclass(frozen=True)
class Reading:
    """One read of an incident: what the tracker returned and what it folds to (at ``at``)."""

    snapshot: IncidentSnapshot
    state: IncidentState
    facts: Facts
    at: datetime | None = None  # the ``now`` of the fold; None: unknown (never reused)
    claims: Claims = field(default_factory=dict)  # who claimed delegated teams (for facts)


@dataclass
class Outcome:
    """What posting did (or, with ``dry_run``, would do)."""

    ref: IncidentRef
    body: str
    events: list[Event]
    findings: list[Finding]
    state: IncidentState  # the state after the event
    posted: bool = False
    duplicate: bool = False
    comment_id: str | None = None
    mirror_error: str = ""  # posted, but the mirrored fields could not be updated


@dataclass
class Session:
    """One run's trackers, cache and renderer. Use as ``async with Session(settings) as s``."""

    settings: Settings
    as_user: str | None = None
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    sleep: Sleep | None = None
    now: datetime | None = None  # fixed time for tests; None = the clock
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
        if self._cache is None:
            self._cache = Cache(self.settings.cache_path())
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

    async def actor(self, kind: TrackerKind) -> str:
        """Who is acting, as the policy names them (the account when it does not)."""
        me = await self.whoami(kind)
        return self.policy.actor_for(kind, me, self.clock())

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

    # --- reading ------------------------------------------------------------------------

    async def read(
        self,
        ref: IncidentRef,
        *,
        fresh: bool = False,
        catch_up: bool = True,
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

        ``catch_up``: bring the tracker's mirrored fields in line afterwards (best effort).
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
            state = previous.state
        else:
            state = self._fold(ref, snap, snap.comments, facts, now)
        reading = Reading(snap, state, facts, now, claims)
        if catch_up:
            await self.catch_up(ref, reading)
        return reading

    async def catch_up(self, ref: IncidentRef, reading: Reading) -> None:
        """Mirrors catch up whenever someone who may write them reads; never fails a command."""
        if not reading.state.opened:
            return
        mirror = mirror_for(reading.state, ref.kind, self.policy)
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
                return await self.read(ref, fresh=True, catch_up=False)
        except TimeoutError:
            server = self.tracker(ref.kind).server
            raise Unavailable(
                f"no answer from {server} about {ref} within {seconds:.0f} s "
                "(slow, rate limited or unreachable)",
                hint="the release must not ship until the gate decides; try again later, or "
                "raise [gate] deadline_seconds",
            ) from None

    def _fold(
        self,
        ref: IncidentRef,
        snap: IncidentSnapshot,
        comments: Sequence[Comment],
        facts: Facts,
        now: datetime | None = None,
    ) -> IncidentState:
        return fold(
            comments,
            kind=ref.kind,
            policy=self.policy,
            facts=facts,
            vanished=snap.vanished,
            evidence=snap.evidence,
            marks=snap.marks,
            now=now or self.clock(),
            ref=str(ref),
            title=snap.title,
            url=snap.url,
        )

    async def _facts(
        self, ref: IncidentRef, tracker: Tracker, comments: Sequence[Comment]
    ) -> Facts:
        """Membership the policy delegates to the tracker, for every account that claims it."""
        return await self._members(ref, tracker, self._claims(tracker, comments))

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

    # --- writing ------------------------------------------------------------------------

    async def post(
        self,
        ref: IncidentRef,
        events: Sequence[Event],
        *,
        reading: Reading | None = None,
        dry_run: bool = False,
        strict: bool = False,
        lint: bool = True,
        mirror: bool = True,
        collide: bool = False,
    ) -> Outcome:
        """Post ``events`` as one comment, or say exactly why not. The only way to post.

        ``reading``: what the caller just read (to build the events), so it is not read twice.
        ``mirror=False`` leaves the tracker's mirrored fields alone (a digest on a bug that
        is not an incident must not be tagged as one). ``collide``: an id someone else took
        first is no reason to refuse (a derived id: the collision is doubt, never a skip).
        """
        if not events:
            raise UsageError("nothing to post")
        from sync_incident.core.lint import lint_event  # here: reading commands never lint

        findings = [f for e in events for f in lint_event(e)] if lint else []
        if strict and findings:
            raise RefusedError(
                "vague wording: " + "; ".join(str(f) for f in findings),
                hint="say what is true, naming the team, product and version (or drop --strict)",
            )
        tracker = self.tracker(ref.kind)
        reading = reading if reading is not None else await self.read(ref)
        snap = reading.snapshot
        events = chained(events, reading.state.last_event_id)
        me = await tracker.whoami()
        actor = self.policy.actor_for(ref.kind, me, self.clock())
        order = max((c.order for c in snap.comments), default=0) + 1
        pending = Comment(PENDING_ID, me, self.clock(), "", order=order)
        draft = self.renderer.comment(events, tracker.flavor)  # the events decide; words later
        comments = [*snap.comments, replace(pending, body=draft)]
        facts = await self._facts(ref, tracker, comments)
        after = self._fold(ref, snap, comments, facts)
        refuse_if_rejected(after, events, collide=collide)
        ctx = Context(
            actor=actor,
            ref=str(ref),
            state=reading.state,
            outcome=outcome_of(after, self.policy, events),
        )
        body = self.renderer.render(events, tracker.flavor, ctx)
        outcome = Outcome(ref=ref, body=body, events=list(events), findings=findings, state=after)
        if dry_run:
            return outcome
        fields = mirror_for(after, ref.kind, self.policy) if mirror else None
        posted = await tracker.post(ref, body, marker=events[0].id, mirror=fields)
        outcome.posted, outcome.duplicate = True, posted.duplicate
        outcome.comment_id, outcome.mirror_error = posted.comment_id, posted.mirror_error
        return outcome

    async def open_new(self, kind: TrackerKind, event: Event, *, location: str = "") -> IncidentRef:
        """File a new incident bug / issue whose first comment is the opened event."""
        tracker = self.tracker(kind)
        me = await tracker.whoami()
        actor = self.policy.actor_for(kind, me, self.clock())
        body = self.renderer.render([event], tracker.flavor, Context(actor=actor))
        pending = Comment(PENDING_ID, me, self.clock(), body, order=1)
        state = fold([pending], kind=kind, policy=self.policy, now=self.clock())
        refuse_if_rejected(state, [event])
        mirror = mirror_for(state, kind, self.policy)
        new = NewIncident(
            title=getattr(event, "title", ""),
            body=body,
            marker=event.id,
            location=location,
            mirror=mirror,
        )
        ref = await tracker.create(new)
        # finds the opened comment (never posts it twice) and sets what create could not
        await tracker.post(ref, body, marker=event.id, mirror=mirror)
        return ref


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


def chained(events: Sequence[Event], last: str | None) -> list[Event]:
    """``events`` each naming the event it follows: the last one the writer saw, then each other.

    A later event pointing at one a reader cannot see proves a deletion to every reader.
    """
    out: list[Event] = []
    for event in events:
        if event.follows is None and last is not None:
            event = event.model_copy(update={"follows": last})
        out.append(event)
        last = event.id
    return out


def outcome_of(state: IncidentState, policy: Policy, events: Sequence[Event]) -> list[str]:
    """For a resolve: each release's final verdict, in one line (what the sentence lists)."""
    if not any(e.type == "resolved" for e in events):
        return []
    from sync_incident.core.readiness import readiness

    lines = []
    for release in state.releases:
        lines.append(f"{release}: {readiness(state, release, policy=policy).headline}")
    return lines


def refuse_if_rejected(
    state: IncidentState, events: Sequence[Event], *, collide: bool = False
) -> None:
    """Raise :class:`RefusedError` when the fold rejected one of ``events`` (not yet posted);
    with ``collide``, not for an id an earlier event took (see :meth:`Session.post`)."""
    ids = {e.id for e in events}
    for entry in state.timeline:
        taken = collide and entry.reason.startswith("duplicate of")
        if entry.comment_id == PENDING_ID and entry.event_id in ids and not entry.accepted:
            if taken:
                continue
            raise RefusedError(
                f"the rules would reject this {noun(entry.type)}: {entry.reason}",
                hint="nothing was posted",
            )
