"""Release readiness: may this exact release ship? (PRODUCT.md rules 5 and 6.)

Pure: it reads a folded :class:`~sync_incident.core.state.IncidentState`. Ready only when every
required team signed off on exactly this product and version, no sign-off was revoked or
predates a hold raised later, no hold is open, the ship decision exists when required, and
nothing on the incident is in doubt. Every reason is a complete sentence.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from sync_incident.core.events import normalise_release, release_key
from sync_incident.core.policy import Facts, Policy
from sync_incident.core.state import Hold, IncidentState

VERDICT_SCHEMA = 1


def when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


class TeamStatus(BaseModel):
    team: str
    signed: bool
    by: str | None = None
    at: datetime | None = None
    statement: str | None = None
    problem: str | None = None  # missing / revoked / stale


class HoldView(BaseModel):
    by: str
    since: datetime
    reason: str
    id: str


class Verdict(BaseModel):
    """The documented ``gate --json`` schema."""

    schema_version: int = VERDICT_SCHEMA
    ready: bool
    release: str
    incident: str
    required: list[str]
    teams: list[TeamStatus]
    holds: list[HoldView]
    ship_decision: str | None = None
    reasons: list[str]
    policy: str

    @property
    def missing(self) -> list[str]:
        return [t.team for t in self.teams if not t.signed]


def readiness(
    state: IncidentState,
    release: str,
    *,
    required: list[str] | None = None,
    policy: Policy | None = None,
    facts: Facts | None = None,
    require_ship: bool = False,
) -> Verdict:
    """Say whether ``release`` may ship, and every reason why not."""
    policy = policy or Policy()
    release = normalise_release(release)
    key = release_key(release)
    teams = _required(release, required, policy)
    reasons: list[str] = []

    if not state.opened:
        reasons.append(f"Not ready: {state.ref or 'this bug'} holds no open incident record.")
    if not teams:
        reasons.append(
            f"Not ready: no required sign-offs are configured for {release}; pass --require TEAM "
            "or set required_signoffs for the product in the policy."
        )

    holds = [h for h in state.holds if release_key(h.release) == key]
    for hold in holds:
        reasons.append(f"Blocked: {hold.by} holds {release} since {when(hold.at)}: {hold.reason}")
    all_holds = holds + [h for h in state.released_holds if release_key(h.release) == key]

    statuses = [
        _team_status(state, release, key, team, all_holds, policy, facts or Facts(), reasons)
        for team in teams
    ]

    ship = next((s for s in state.ship_decisions if release_key(s.release) == key), None)
    if require_ship and ship is None:
        reasons.append(
            f'Not ready: {policy.ship_team} has not said "Please ship {release} to users".'
        )

    for doubt in state.doubts:
        reasons.append(
            f"In doubt: comment {doubt.comment_id} by {doubt.author}: {doubt.detail}; "
            "the record cannot be trusted until a person checks it."
        )

    return Verdict(
        ready=not reasons,
        release=release,
        incident=state.ref,
        required=teams,
        teams=statuses,
        holds=[HoldView(by=h.by, since=h.at, reason=h.reason, id=h.id) for h in holds],
        ship_decision=f"{ship.by} at {when(ship.at)}: {ship.statement}" if ship else None,
        reasons=reasons,
        policy="permissive" if policy.permissive else "configured",
    )


def _required(release: str, required: list[str] | None, policy: Policy) -> list[str]:
    names = list(required or []) or policy.required_for(release)
    out: list[str] = []
    for name in names:
        canonical = policy.team_name(name) or name
        if canonical.casefold() not in (n.casefold() for n in out):
            out.append(canonical)
    return out


def _team_status(
    state: IncidentState,
    release: str,
    key: str,
    team: str,
    holds: list[Hold],
    policy: Policy,
    facts: Facts,
    reasons: list[str],
) -> TeamStatus:
    if not policy.permissive and policy.team_name(team) is None:
        reasons.append(
            f"Not ready: the policy has no team {team!r}, so nobody can sign off for it."
        )
        return TeamStatus(team=team, signed=False, problem="unknown team")
    if team in facts.unknown:
        reasons.append(
            f"Not ready: membership of {team} cannot be checked ({facts.unknown[team]})."
        )
    signoff = next(
        (
            s
            for s in state.signoffs
            if release_key(s.release) == key and s.team.casefold() == team.casefold()
        ),
        None,
    )
    if signoff is None:
        revoked = [
            s
            for s in state.revoked_signoffs
            if release_key(s.release) == key and s.team.casefold() == team.casefold()
        ]
        if revoked:
            last = revoked[-1]
            reasons.append(
                f"Not ready: {team}'s sign-off on {release} was revoked by {last.revoked_by} "
                f"at {when(last.revoked_at or last.at)}: {last.revoke_reason}"
            )
            return TeamStatus(team=team, signed=False, problem="revoked")
        reasons.append(f"Not ready: {release} has no sign-off from {team}.")
        return TeamStatus(team=team, signed=False, problem="missing")
    if policy.renew_signoffs_after_hold:
        later = [h for h in holds if h.at > signoff.at]
        if later:
            hold = later[-1]
            reasons.append(
                f"Not ready: {team}'s sign-off on {release} ({signoff.by}, {when(signoff.at)}) "
                f"predates the hold {hold.by} raised at {when(hold.at)}; {team} must sign off "
                "again after the hold is released."
            )
            return TeamStatus(
                team=team,
                signed=False,
                by=signoff.by,
                at=signoff.at,
                statement=signoff.statement,
                problem="stale",
            )
    return TeamStatus(
        team=team, signed=True, by=signoff.by, at=signoff.at, statement=signoff.statement
    )
