"""Release readiness: may this exact release ship? (PRODUCT.md rules 5 and 6.)

The one readiness model: the gate, ``show``, ``show --json``, the digest, the retrospective,
the status block and ``serve`` all call :func:`readiness`. Pure: it reads a folded
:class:`~sync_incident.core.state.IncidentState`.

A release is READY only when it is a release of the incident, every required team signed off
on it (not revoked, not before a hold raised later), no hold is open, the ship decision exists
when required (and is not older than a later hold), and nothing on the record is in doubt.
IN DOUBT when the record itself cannot be trusted; NOT READY otherwise. Every reason is a
complete sentence; the first one is the one to act on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from sync_incident.core.policy import Facts, Policy
from sync_incident.core.releases import normalise_release, release_key
from sync_incident.core.sentences import clause, sentence
from sync_incident.core.state import Doubt, Hold, IncidentState, ShipRecord, Signoff
from sync_incident.core.times import utc as when

VERDICT_SCHEMA = 3
Status = Literal["signed", "stale", "revoked", "missing", "unknown team", "unchecked"]


class TeamStatus(BaseModel):
    """One required team on one release."""

    team: str
    status: Status
    signed: bool  # the sign-off counts
    by: str | None = None
    at: datetime | None = None
    statement: str | None = None
    why: str | None = None  # for stale / revoked / unchecked: in words
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    problem: str | None = None  # status when not signed (kept for older readers)

    def line(self) -> str:
        """``QA: signed by quinn at 2022-01-12 14:03 UTC`` / ``QA: STALE — why``."""
        name, status = self.team, self.status
        if status == "signed":
            return f"{name}: signed by {self.by} at {when(self.at)}"
        if status == "stale":
            return f"{name}: STALE — {self.why}"
        if status == "revoked":
            return f"{name}: REVOKED — {self.why}"  # why names who revoked it, when and why
        if status == "unchecked":
            return f"{name}: cannot be checked — {self.why}"
        if status == "unknown team":
            return f"{name}: not a team in the policy"
        return f"{name}: missing"


class HoldView(BaseModel):
    by: str
    since: datetime
    reason: str
    id: str


class ShipView(BaseModel):
    by: str
    at: datetime
    statement: str
    event_id: str
    stale: bool = False
    why: str | None = None


class Verdict(BaseModel):
    """The documented ``gate --json`` schema; ``show --json`` carries one per release."""

    schema_version: int = VERDICT_SCHEMA
    ready: bool
    verdict: Literal["ready", "not-ready", "in-doubt"]
    release: str
    incident: str
    required: list[str]
    teams: list[TeamStatus]
    holds: list[HoldView]
    ship_required: bool = False
    ship_decision: ShipView | None = None
    reasons: list[str]  # in the order to act on them: holds, sign-offs, doubts, the ship decision
    summary: str = ""  # when ready: what it rests on, the ship decision included
    policy: str

    @property
    def label(self) -> str:
        return {"ready": "READY", "not-ready": "NOT READY", "in-doubt": "IN DOUBT"}[self.verdict]

    @property
    def missing(self) -> list[str]:
        return [t.team for t in self.teams if not t.signed]

    @property
    def headline(self) -> str:
        """``NOT READY — Firefox 96.0.1 has no sign-off from QA.``: the verdict and what to act on.

        The first reason loses its own label ("Not ready: "), which the verdict already says;
        READY says what it rests on, the ship decision included.
        """
        if not self.reasons:
            return f"{self.label} — {self.summary}" if self.summary else self.label
        return f"{self.label} — {unlabelled(self.reasons[0])}"

    def text(self) -> str:
        """What ``gate`` prints: the verdict, each required team, every reason, the ship decision."""
        out = [f"{self.label}: {self.release} ({self.incident})"]
        out += [f"  {'✓' if t.signed else '✗'} {t.line()}" for t in self.teams]
        out += [f"  {reason}" for reason in self.reasons]
        if not self.reasons and self.summary:
            out.append(f"  {self.summary}")
        ship = self.ship_decision
        if ship is not None:
            stale = " (STALE)" if ship.stale else ""
            out.append(f"  Ship decision{stale}: {ship.by} at {when(ship.at)}: {ship.statement}")
        return "\n".join(out)

    @property
    def said(self) -> str:
        """``NOT READY — reason reason reason``: the verdict word and ALL its reasons, in order.

        READY says what it rests on (:attr:`summary`), the ship decision included.
        """
        words = " ".join(unlabelled(r) for r in self.reasons) or self.summary
        return f"{self.label} — {words}" if words else self.label

    @property
    def line(self) -> str:
        """``NOT READY Firefox 96.0.1 — reason reason``: what one-line views show per release.

        ``list``, the digest, the status card and ``show``'s head all print this: every
        reason, none cut.
        """
        label, _, words = self.said.partition(" — ")
        return f"{label} {self.release} — {words}" if words else f"{label} {self.release}"


LABELS = ("Not ready: ", "Blocked: ", "In doubt: ")


def unlabelled(reason: str) -> str:
    """A reason without its leading label, for a line that already names the verdict."""
    for label in LABELS:
        if reason.startswith(label):
            return reason.removeprefix(label)
    return reason


def undecided(error: str, hint: str = "") -> dict[str, object]:
    """What ``gate --json`` and ``/api/gate`` say when the gate could not decide (exit 2, 503).

    The same keys a script reads first on a verdict (``schema_version``, ``ready``,
    ``verdict``), so one check of ``ready`` covers every outcome; ``error`` is the one-line
    error the gate prints on stderr, ``hint`` what to do about it.
    """
    return {
        "schema_version": VERDICT_SCHEMA,
        "ready": False,
        "verdict": "could-not-decide",
        "error": error,
        "hint": hint,
    }


def readiness(
    state: IncidentState,
    release: str,
    *,
    required: list[str] | None = None,
    policy: Policy | None = None,
    facts: Facts | None = None,
    require_ship: bool | None = None,
) -> Verdict:
    """Say whether ``release`` may ship, and every reason why not, in the order to act on them.

    What is required is resolved here, once, for every caller: the policy's required teams for
    the product plus ``required`` (a request adds teams, it never drops the policy's); the ship
    decision when the policy, the product or ``require_ship`` asks for it (a request can ask
    for it, never waive it).
    """
    policy = policy or Policy()
    facts = facts or Facts()
    release = state.concerns(release) or normalise_release(release)
    key = release_key(release)
    ship_needed = policy.ship_required_for(release) or bool(require_ship)
    reasons = _record_reasons(state, release)
    holds = [h for h in state.holds if release_key(h.release) == key]
    reasons += [
        f"Blocked: {h.by} holds {release} since {when(h.at)}: {sentence(h.reason)}" for h in holds
    ]
    every_hold = holds + [h for h in state.released_holds if release_key(h.release) == key]
    teams = _required(release, required, policy)
    if not teams:
        reasons.append(
            f"Not ready: no required sign-offs are configured for {release}; pass --require TEAM "
            "or set required_signoffs for the product in the policy."
        )
    statuses = [_team(state, release, t, every_hold, policy, facts, reasons) for t in teams]
    doubts = _doubt_reasons(state)
    reasons += doubts
    ship = _ship(state, release, every_hold, policy, ship_needed, reasons)
    verdict: Literal["ready", "not-ready", "in-doubt"] = "ready"
    if doubts:
        verdict = "in-doubt"
    elif reasons:
        verdict = "not-ready"
    return Verdict(
        ready=not reasons,
        verdict=verdict,
        release=release,
        incident=state.ref,
        required=teams,
        teams=statuses,
        holds=[HoldView(by=h.by, since=h.at, reason=h.reason, id=h.id) for h in holds],
        ship_required=ship_needed,
        ship_decision=ship,
        reasons=reasons,
        summary=_summary(teams, ship, ship_needed, policy) if not reasons else "",
        policy="permissive" if policy.permissive else "configured",
    )


def _summary(teams: list[str], ship: ShipView | None, needed: bool, policy: Policy) -> str:
    """What READY rests on: ``QA and Releng signed off; Relman's ship decision is given.``"""
    signed = f"{_and(teams)} signed off"
    if ship is not None and not ship.stale:
        decision = f"{policy.ship_team}'s ship decision is given ({ship.by}, {when(ship.at)})"
    elif needed:  # unreachable when ready: a required decision missing is a reason
        decision = f"{policy.ship_team}'s ship decision is missing"
    else:
        decision = f"{policy.ship_team}'s ship decision is not required"
    return f"{signed}; {decision}."


def _and(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + f" and {names[-1]}"


def _doubt_reasons(state: IncidentState) -> list[str]:
    """Each unchecked doubt in words: where, whose event, what changed, who may clear it."""
    return [_doubt_reason(state, d) for d in state.doubts]


def _doubt_reason(state: IncidentState, d: Doubt) -> str:
    where = d.where
    if where.startswith("event "):  # an event id is for `check --where`, not for people
        where = f"comment {d.comment_id}" if d.comment_id else "the record"
    by = f" by {d.author}" if d.author else ""
    carried = [e.summary for e in state.timeline if e.event_id in d.event_ids]
    what = ""
    if carried:
        more = f" and {len(carried) - 1} more" if len(carried) > 1 else ""
        what = f' (it carries "{clause(carried[0])}"{more})'
    clear = d.clear_hint or "the incident commander checks it"
    return f"In doubt: {where}{by}{what}: {clause(d.detail)}; nothing counts until {clear}."


def _record_reasons(state: IncidentState, release: str) -> list[str]:
    """Why the record itself cannot make ``release`` ready: no incident, or not its release."""
    if not state.opened:
        return [f"Not ready: {state.ref or 'this bug'} holds no open incident record."]
    if state.concerns(release) is None:
        known = ", ".join(state.releases) or "none"
        return [
            f"Not ready: {release} is not a release of {state.ref or 'this incident'} "
            f"(its releases: {known})."
        ]
    return []


def _required(release: str, required: list[str] | None, policy: Policy) -> list[str]:
    names = [*policy.required_for(release), *(required or [])]
    out: list[str] = []
    for name in names:
        canonical = policy.team_name(name) or name
        if canonical.casefold() not in (n.casefold() for n in out):
            out.append(canonical)
    return out


def _later_hold(pos: int, holds: list[Hold], policy: Policy) -> Hold | None:
    """The last hold raised after ``pos`` (which makes a sign-off or ship decision stale)."""
    if not policy.renew_signoffs_after_hold:
        return None
    later = [h for h in holds if h.pos > pos]
    return max(later, key=lambda h: h.pos) if later else None


def _team(
    state: IncidentState,
    release: str,
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
        return TeamStatus(team=team, status="unknown team", signed=False, problem="unknown team")
    if team in facts.unknown:
        why = f"membership of {team} cannot be checked ({facts.unknown[team]})"
        reasons.append(f"Not ready: {why}.")
        return TeamStatus(team=team, status="unchecked", signed=False, why=why, problem="unchecked")
    key = release_key(release)
    mine = [s for s in state.signoffs if release_key(s.release) == key and _same(s.team, team)]
    if not mine:
        return _unsigned(state, release, key, team, reasons)
    signoff = mine[0]
    hold = _later_hold(signoff.pos, holds, policy)
    if hold is not None:
        why = (
            f"{team}'s sign-off on {release} ({signoff.by}, {when(signoff.at)}) predates the hold "
            f"{hold.by} raised at {when(hold.at)}; {team} must sign off again after the hold is "
            "released"
        )
        reasons.append(f"Not ready: {why}.")
        return _status(signoff, "stale", why)
    return _status(signoff, "signed", None)


def _same(a: str, b: str) -> bool:
    return a.casefold() == b.casefold()


def _status(signoff: Signoff, status: Status, why: str | None) -> TeamStatus:
    signed = status == "signed"
    return TeamStatus(
        team=signoff.team,
        status=status,
        signed=signed,
        by=signoff.by,
        at=signoff.at,
        statement=signoff.statement,
        why=why,
        problem=None if signed else status,
    )


def _unsigned(
    state: IncidentState, release: str, key: str, team: str, reasons: list[str]
) -> TeamStatus:
    revoked = [
        s for s in state.revoked_signoffs if release_key(s.release) == key and _same(s.team, team)
    ]
    if revoked:
        last = revoked[-1]
        at = last.revoked_at or last.at
        why = (
            f"{team}'s sign-off on {release} was revoked by {last.revoked_by} at {when(at)}: "
            + clause(last.revoke_reason)
        )
        reasons.append(f"Not ready: {sentence(why)}")
        return TeamStatus(
            team=team,
            status="revoked",
            signed=False,
            by=last.by,
            at=last.at,
            statement=last.statement,
            why=why,
            revoked_by=last.revoked_by,
            revoked_at=last.revoked_at,
            problem="revoked",
        )
    reasons.append(f"Not ready: {release} has no sign-off from {team}.")
    return TeamStatus(team=team, status="missing", signed=False, problem="missing")


def _ship(
    state: IncidentState,
    release: str,
    holds: list[Hold],
    policy: Policy,
    needed: bool,
    reasons: list[str],
) -> ShipView | None:
    key = release_key(release)
    decisions = [s for s in state.ship_decisions if release_key(s.release) == key]
    record: ShipRecord | None = decisions[-1] if decisions else None
    if record is None:
        if needed:
            reasons.append(
                f'Not ready: {policy.ship_team} has not said "Please ship {release} to users".'
            )
        return None
    hold = _later_hold(record.pos, holds, policy)
    why = None
    if hold is not None:
        why = (
            f"{record.by}'s ship decision ({when(record.at)}) predates the hold {hold.by} raised "
            f"at {when(hold.at)}; {policy.ship_team} must say to ship {release} again"
        )
        if needed:
            reasons.append(f"Not ready: {why}.")
    return ShipView(
        by=record.by,
        at=record.at,
        statement=record.statement,
        event_id=record.event_id,
        stale=hold is not None,
        why=why,
    )
