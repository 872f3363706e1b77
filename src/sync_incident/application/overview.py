"""The overview: an incident's state and ONE verdict per release, computed once per reading.

Every view renders an :class:`Overview` and nothing else: ``show`` (text and ``--json``),
``list``, the digest, the retrospective, the status card and incident page, the mirrored status
block, the resolve comment. None of them calls :func:`~sync_incident.core.readiness.readiness`
itself, so none can say READY where the gate would not: the verdicts are made here, with the
membership facts of the reading and the policy's requirements (teams and the ship decision, per
product), exactly as :mod:`.decide` makes the gate's.

:meth:`Overview.summary` is the one documented shape of an incident at a glance
(:mod:`.summary`), shared by ``list --json``, ``digest --json`` and ``serve``'s
``/api/incidents``.

Pure but :func:`survey`, which reads the incidents to overview (``list``, the digest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sync_incident.core.policy import Facts, Policy
from sync_incident.core.readiness import Verdict, readiness
from sync_incident.core.refs import IncidentRef
from sync_incident.core.releases import release_key
from sync_incident.core.state import Handoff, IncidentState, Signoff

if TYPE_CHECKING:
    from sync_incident.application.summary import IncidentSummary
    from sync_incident.service import Session


def handoff_stale(waited_minutes: int | None, limit: int) -> bool:
    """Whether a pending handoff waited ``limit`` minutes (the policy's
    ``stale_handoff_minutes``) or longer: every view marks it the same."""
    return waited_minutes is not None and waited_minutes >= limit


@dataclass(frozen=True)
class Overview:
    """One incident as every view shows it: the state, the verdicts, the policy, the moment."""

    state: IncidentState
    verdicts: list[Verdict]  # one per release of the incident, in the incident's order
    policy: Policy
    facts: Facts
    now: datetime
    _statuses: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ref(self) -> str:
        return self.state.ref

    @property
    def active(self) -> bool:
        return self.state.status == "active"

    @property
    def open(self) -> bool:
        """Active, or resolved with a hold still open (someone must look): what lists show."""
        return self.active or bool(self.state.holds and self.state.opened)

    def verdict(self, release: str) -> Verdict | None:
        key = release_key(release)
        return next((v for v in self.verdicts if release_key(v.release) == key), None)

    def signoff_status(self, signoff: Signoff) -> str:
        """A sign-off in force as the gate sees it: ``signed`` or ``stale`` (or why it cannot count)."""
        return self._statuses.get(signoff.event_id, "signed")

    def timezone_of(self, person: str | None) -> str | None:
        """A person's timezone in the policy (None when the policy does not know them)."""
        found = self.policy.people.get(person) if person else None
        return found.timezone if found else None

    def handoff_stale(self, offer: Handoff) -> bool:
        """A pending handoff waiting longer than the policy allows."""
        return offer.status == "pending" and handoff_stale(
            offer.waited_minutes, self.policy.stale_handoff_minutes
        )

    def summary(self, now: datetime | None = None) -> IncidentSummary:
        """The incident at a glance (``list --json``, ``digest --json``, ``/api/incidents``).

        ``now``: the moment ages and "overdue" are counted to (default: the overview's).
        """
        from sync_incident.application.summary import summarise

        return summarise(self, now or self.now)


def overview(state: IncidentState, policy: Policy, facts: Facts | None, now: datetime) -> Overview:
    """The overview of a folded state: every release judged once, with the reading's facts."""
    facts = facts or Facts()
    verdicts = [readiness(state, r, policy=policy, facts=facts) for r in releases_named(state)]
    statuses: dict[str, str] = {}
    for verdict in verdicts:
        key = release_key(verdict.release)
        for team in verdict.teams:
            for signoff in state.signoffs:
                same = team.team.casefold() == signoff.team.casefold()
                if same and release_key(signoff.release) == key:
                    statuses[signoff.event_id] = team.status
    for signoff in state.signoffs:
        if signoff.event_id not in statuses:
            # a team the release does not require: as the gate would judge it if it did
            alone = readiness(
                state, signoff.release, required=[signoff.team], policy=policy, facts=facts
            )
            mine = [t for t in alone.teams if t.team.casefold() == signoff.team.casefold()]
            statuses[signoff.event_id] = mine[0].status if mine else "signed"
    return Overview(state, verdicts, policy, facts, now, statuses)


def releases_named(state: IncidentState) -> list[str]:
    """The incident's releases, then any other release a hold, sign-off or decision names.

    A hold belongs to the release it names, whatever happened to the release's bookkeeping:
    a view that listed only the incident's releases would hide it.
    """
    named: dict[str, str] = {}
    for release in [
        *state.releases,
        *(h.release for h in [*state.holds, *state.released_holds]),
        *(s.release for s in [*state.signoffs, *state.revoked_signoffs]),
        *(s.release for s in state.replaced_signoffs),
        *(s.release for s in state.ship_decisions),
    ]:
        named.setdefault(release_key(release), release)
    return list(named.values())


async def survey(
    session: Session, refs: Sequence[IncidentRef] | None = None, *, concurrency: int = 8
) -> tuple[list[Overview], dict[str, str]]:
    """Read incidents into overviews: ``refs``, or the active ones each tracker in use lists.

    A tracker that cannot list, or an incident that cannot be read, is reported (key: the
    tracker's kind or the reference; value: the error in one line) and the rest still come.
    """
    from sync_incident.core.errors import SyncIncidentError
    from sync_incident.trackers import kinds_in_use

    unreadable: dict[str, str] = {}
    if refs is None:
        found: list[IncidentRef] = []
        for kind in kinds_in_use(session.settings):
            try:
                found += await session.active_incidents([kind])
            except SyncIncidentError as exc:
                unreadable[kind] = f"could not list its incidents: {exc.label}: {exc.message}"
        refs = found
    results = await session.read_many(refs, concurrency=concurrency)
    now = session.clock()
    seen: list[Overview] = []
    for ref, result in results.items():
        if isinstance(result, SyncIncidentError):
            unreadable[str(ref)] = f"{result.label}: {result.message}"
        else:
            seen.append(overview(result.state, session.policy, result.facts, now))
    return seen, unreadable
