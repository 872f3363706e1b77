"""The digest model (the documented ``digest --json`` schema) and its Markdown rendering.

Pure: :func:`build_digest` turns folded states into a :class:`Digest`, :func:`render_markdown`
renders it in at most ~40 lines for 5 incidents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel

from sync_incident.core.policy import Policy
from sync_incident.core.releases import release_key
from sync_incident.core.state import IncidentState, Step
from sync_incident.core.times import age, for_people, minutes_between, utc
from sync_incident.views import handoff_stale, stale_note

DIGEST_SCHEMA = 1
SCREEN_LINES = 40
LINE_WIDTH = 160


class HoldLine(BaseModel):
    release: str
    by: str
    since: datetime
    reason: str


class ReleaseProgress(BaseModel):
    """One release through the gate's readiness: its verdict, first reason and each team."""

    release: str
    required: list[str]
    signed: list[str]
    missing: list[str]  # required teams with no sign-off at all
    holds: int
    ready: bool
    verdict: str = "not-ready"  # the gate's: ready / not-ready / in-doubt
    reason: str | None = None  # the gate's first reason, the one to act on
    stale: list[str] = []  # signed, but before a hold raised later
    revoked: list[str] = []


class HandoffLine(BaseModel):
    id: str
    by: str
    to: str
    role: str
    since: datetime
    waited_minutes: int
    stale: bool = False  # waited at least the policy's stale_handoff_minutes


class StepLine(BaseModel):
    step: str
    title: str
    owner: str | None
    state: str
    due: datetime | None
    overdue: bool
    due_zone: str | None = None  # the zone the due time was typed in
    owner_timezone: str | None = None  # the policy's, for the owner's clock


class IncidentDigest(BaseModel):
    ref: str
    title: str
    url: str
    status: str
    severity: str | None
    ic: str | None
    ic_timezone: str | None = None  # the policy's, for the IC's clock
    opened_at: datetime | None
    age_minutes: int | None
    last_update: datetime | None
    last_update_minutes: int | None
    next_update_due: datetime | None
    next_update_zone: str | None = None  # the zone the promise was typed in
    update_overdue: bool
    overdue_minutes: int | None
    holds: list[HoldLine]
    releases: list[ReleaseProgress]
    pending_handoffs: list[HandoffLine]
    steps: list[StepLine]  # blocked or overdue checklist steps only
    doubts: int


class Unreadable(BaseModel):
    ref: str
    error: str


class Digest(BaseModel):
    """The documented ``digest --json`` schema (``schema_version`` bumps on breaking changes)."""

    schema_version: int = DIGEST_SCHEMA
    generated_at: datetime
    incidents: list[IncidentDigest]
    unreadable: list[Unreadable] = []
    stale_handoff_minutes: int = 120  # the policy's: a handoff waiting this long is stale


def build_digest(
    states: Sequence[IncidentState],
    policy: Policy,
    now: datetime,
    *,
    unreadable: Iterable[Unreadable] = (),
) -> Digest:
    """The digest of ``states`` as of ``now`` (pure: no I/O, no clock)."""
    return Digest(
        generated_at=now,
        incidents=[_incident(s, policy, now) for s in states],
        unreadable=list(unreadable),
        stale_handoff_minutes=policy.stale_handoff_minutes,
    )


def _incident(s: IncidentState, policy: Policy, now: datetime) -> IncidentDigest:
    due = s.next_update_due
    overdue = bool(s.status == "active" and due is not None and due < now)
    return IncidentDigest(
        ref=s.ref,
        title=s.title,
        url=s.url,
        status=s.status,
        severity=s.severity,
        ic=s.ic,
        ic_timezone=_zone(policy, s.ic),
        opened_at=s.opened_at,
        age_minutes=minutes_between(s.opened_at, now) if s.opened_at else None,
        last_update=s.last_update,
        last_update_minutes=minutes_between(s.last_update, now) if s.last_update else None,
        next_update_due=due,
        next_update_zone=s.next_update_zone,
        update_overdue=overdue,
        overdue_minutes=minutes_between(due, now) if overdue and due else None,
        holds=[HoldLine(release=h.release, by=h.by, since=h.at, reason=h.reason) for h in s.holds],
        releases=[_progress(s, release, policy) for release in _releases(s)],
        pending_handoffs=[
            HandoffLine(
                id=h.id,
                by=h.by,
                to=h.to,
                role=h.role,
                since=h.at,
                waited_minutes=minutes_between(h.at, now),
                stale=handoff_stale(minutes_between(h.at, now), policy.stale_handoff_minutes),
            )
            for h in s.pending_handoffs
        ],
        steps=[
            StepLine(
                step=st.step,
                title=st.title,
                owner=st.owner,
                state=st.state,
                due=st.due,
                overdue=_step_overdue(st, now),
                due_zone=st.due_zone,
                owner_timezone=_zone(policy, st.owner),
            )
            for st in s.checklist
            if st.state == "blocked" or _step_overdue(st, now)
        ],
        doubts=len(s.doubts),
    )


def _zone(policy: Policy, person: str | None) -> str | None:
    found = policy.people.get(person) if person else None
    return found.timezone if found else None


def _step_overdue(step: Step, now: datetime) -> bool:
    return bool(step.due is not None and step.state != "done" and step.due < now)


def _releases(s: IncidentState) -> list[str]:
    seen: dict[str, str] = {}
    for release in [*s.releases, *(x.release for x in s.signoffs), *(h.release for h in s.holds)]:
        seen.setdefault(release_key(release), release)
    return list(seen.values())


def _progress(s: IncidentState, release: str, policy: Policy) -> ReleaseProgress:
    from sync_incident.core.readiness import readiness

    verdict = readiness(s, release, policy=policy)
    key = release_key(release)
    if verdict.required:
        signed = [t.team for t in verdict.teams if t.signed]
    else:  # nothing required: show who signed anyway, and that the gate will refuse
        signed = [x.team for x in s.signoffs if release_key(x.release) == key]

    def teams(*statuses: str) -> list[str]:
        return [t.team for t in verdict.teams if not t.signed and t.status in statuses]

    return ReleaseProgress(
        release=release,
        required=verdict.required,
        signed=signed,
        missing=teams("missing", "unknown team", "unchecked"),
        holds=len(verdict.holds),
        ready=verdict.ready,
        verdict=verdict.verdict,
        reason=verdict.reasons[0] if verdict.reasons else None,
        stale=teams("stale"),
        revoked=teams("revoked"),
    )


# --- Markdown --------------------------------------------------------------------------------


def _cut(text: str, width: int) -> str:
    indent = text[: len(text) - len(text.lstrip(" "))]
    line = indent + " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def render_markdown(digest: Digest) -> str:
    """At most 4 lines per incident plus a header: 5 incidents fit one 40-line screen."""
    n = len(digest.incidents)
    lines = [
        f"**Incident digest** · {utc(digest.generated_at)} · {n} incident{'s' if n != 1 else ''}"
    ]
    if not digest.incidents:
        lines.append("No active incidents.")
    for inc in digest.incidents:
        lines.extend(_incident_lines(inc, digest.stale_handoff_minutes))
    for bad in digest.unreadable:
        lines.append(_cut(f"- **{bad.ref}** could not be read: {bad.error}", LINE_WIDTH))
    return "\n".join(lines)


def _incident_lines(inc: IncidentDigest, stale_after: int) -> list[str]:
    out = [_cut(_head_line(inc), LINE_WIDTH), _cut(_update_line(inc), LINE_WIDTH)]
    parts = [_release_part(inc, rel) for rel in inc.releases]
    if parts:
        out.append(_cut("  - " + " · ".join(parts), LINE_WIDTH))
    waiting = _waiting(inc, stale_after)
    if waiting:
        out.append(_cut("  - Waiting: " + " · ".join(waiting), LINE_WIDTH))
    return out


def _head_line(inc: IncidentDigest) -> str:
    # resolved: the age runs from the opening, not from the resolution
    status = (
        f"RESOLVED, opened {age(inc.age_minutes)} ago"
        if inc.status == "resolved"
        else f"{inc.status} for {age(inc.age_minutes)}"
    )
    head = (
        f"- **{inc.ref}** {_cut(inc.title or '(no title)', 60)} ({inc.severity or '?'}) · "
        f"IC {inc.ic or 'none'} · {status}"
    )
    if inc.doubts:
        head += f" · **{inc.doubts} in doubt**"
    return head


def _update_line(inc: IncidentDigest) -> str:
    if not inc.last_update:
        update = "  - Update: none yet"
    else:
        update = f"  - Update: last {age(inc.last_update_minutes)} ago"
    if inc.next_update_due:
        ic = [(inc.ic, inc.ic_timezone)] if inc.ic else []
        due = for_people(inc.next_update_due, ic, typed=inc.next_update_zone)
        update += f" · next due {due}"
        if inc.update_overdue:
            update += f" **OVERDUE by {age(inc.overdue_minutes)}**"
    return update


_LABELS = {"ready": "READY", "not-ready": "NOT READY", "in-doubt": "IN DOUBT"}


def _release_part(inc: IncidentDigest, rel: ReleaseProgress) -> str:
    """``Firefox 96.0.1 NOT READY: HOLD (bob: …) sign-offs 1/2, QA stale``: the gate's verdict."""
    holds = [h for h in inc.holds if release_key(h.release) == release_key(rel.release)]
    text = f"{rel.release} **{_LABELS.get(rel.verdict, rel.verdict.upper())}**:"
    if holds:
        text += " **HOLD** (" + ", ".join(f"{h.by}: {_cut(h.reason, 40)}" for h in holds) + ")"
    if not rel.required:
        signed = ", ".join(rel.signed) or "none"
        return text + f" no sign-offs required by the policy (signed: {signed})"
    text += f" sign-offs {len(rel.signed)}/{len(rel.required)}"
    problems = [
        *(f"{team} missing" for team in rel.missing),
        *(f"{team} stale" for team in rel.stale),
        *(f"{team} revoked" for team in rel.revoked),
    ]
    if problems:
        return text + ", " + ", ".join(problems)
    if rel.verdict == "in-doubt" and rel.reason:
        return text + f"; {rel.reason}"
    return text


def _waiting(inc: IncidentDigest, stale_after: int) -> list[str]:
    waiting = [
        f"handoff {'of IC' if h.role == 'ic' else 'of steps'} {h.by}→{h.to} waiting "
        f"{age(h.waited_minutes)}{stale_note(h.waited_minutes, stale_after) if h.stale else ''}"
        for h in inc.pending_handoffs
    ]
    for st in inc.steps:
        owner = st.owner or "no owner"
        if st.state == "blocked":
            waiting.append(f"step {st.step} blocked ({owner})")
        elif st.due:
            owner_clock = [(st.owner, st.owner_timezone)] if st.owner else []
            since = for_people(st.due, owner_clock, typed=st.due_zone)
            waiting.append(f"step {st.step} overdue since {since} ({owner})")
    return waiting
