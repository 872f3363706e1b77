"""The incident at a glance: one shape for ``list --json``, ``digest --json`` and the API.

Built from an :class:`~sync_incident.application.overview.Overview` (its verdicts, never
judged again here) as of a moment; loaded only by the commands that list incidents.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from sync_incident.core.readiness import Verdict
from sync_incident.core.state import Doubt, Step
from sync_incident.core.times import minutes_between

if TYPE_CHECKING:
    from sync_incident.application.overview import Overview

SUMMARY_SCHEMA = 2


class HoldLine(BaseModel):
    id: str
    release: str
    by: str
    since: datetime
    reason: str
    waited_minutes: int


class HandoffLine(BaseModel):
    id: str
    by: str
    to: str
    role: str
    steps: list[str]
    since: datetime
    waited_minutes: int
    stale: bool  # waited at least the policy's stale_handoff_minutes


class StepLine(BaseModel):
    step: str
    title: str
    owner: str | None
    state: str
    due: datetime | None
    overdue: bool
    due_zone: str | None = None  # the zone the due time was typed in
    owner_timezone: str | None = None  # the policy's, for the owner's clock


class DoubtLine(BaseModel):
    where: str
    author: str
    detail: str


class IncidentSummary(BaseModel):
    """One incident at a glance; ``releases`` are the gate's verdicts, as ``gate --json``."""

    ref: str
    title: str
    url: str
    status: str
    severity: str | None
    ic: str | None
    ic_timezone: str | None  # the policy's, for the IC's clock
    ic_since: datetime | None
    opened_at: datetime | None
    age_minutes: int | None
    resolved_at: datetime | None
    last_update: datetime | None
    last_update_minutes: int | None
    last_status: str | None
    last_status_by: str | None
    last_status_at: datetime | None
    next_update_due: datetime | None
    next_update_zone: str | None  # the zone the promise was typed in
    update_overdue: bool
    overdue_minutes: int | None
    releases: list[Verdict]
    holds: list[HoldLine]
    pending_handoffs: list[HandoffLine]
    steps: list[StepLine]  # blocked or overdue checklist steps only
    doubts: list[DoubtLine]


def summarise(o: Overview, now: datetime) -> IncidentSummary:
    s = o.state
    due = s.next_update_due
    overdue = bool(o.active and due is not None and due < now)
    return IncidentSummary(
        ref=s.ref,
        title=s.title,
        url=s.url,
        status=s.status,
        severity=s.severity,
        ic=s.ic,
        ic_timezone=o.timezone_of(s.ic),
        ic_since=s.ic_since,
        opened_at=s.opened_at,
        age_minutes=minutes_between(s.opened_at, now) if s.opened_at else None,
        resolved_at=s.resolved_at,
        last_update=s.last_update,
        last_update_minutes=minutes_between(s.last_update, now) if s.last_update else None,
        last_status=s.last_status,
        last_status_by=s.last_status_by,
        last_status_at=s.last_status_at,
        next_update_due=due,
        next_update_zone=s.next_update_zone,
        update_overdue=overdue,
        overdue_minutes=minutes_between(due, now) if overdue and due else None,
        releases=list(o.verdicts),
        holds=[
            HoldLine(
                id=h.id,
                release=h.release,
                by=h.by,
                since=h.at,
                reason=h.reason,
                waited_minutes=minutes_between(h.at, now),
            )
            for h in s.holds
        ],
        pending_handoffs=[
            HandoffLine(
                id=h.id,
                by=h.by,
                to=h.to,
                role=h.role,
                steps=list(h.steps),
                since=h.at,
                waited_minutes=minutes_between(h.at, now),
                stale=minutes_between(h.at, now) >= o.policy.stale_handoff_minutes,
            )
            for h in s.pending_handoffs
        ],
        steps=[
            _step(st, now, o.timezone_of(st.owner))
            for st in s.checklist
            if st.state == "blocked" or _late(st, now)
        ],
        doubts=[_doubt(d) for d in s.doubts],
    )


def _late(step: Step, now: datetime) -> bool:
    return bool(step.due is not None and step.state != "done" and step.due < now)


def _step(step: Step, now: datetime, owner_timezone: str | None) -> StepLine:
    return StepLine(
        step=step.step,
        title=step.title,
        owner=step.owner,
        state=step.state,
        due=step.due,
        overdue=_late(step, now),
        due_zone=step.due_zone,
        owner_timezone=owner_timezone,
    )


def _doubt(doubt: Doubt) -> DoubtLine:
    return DoubtLine(where=doubt.where, author=doubt.author, detail=doubt.detail)


class Listing(BaseModel):
    """The documented ``list --json`` schema: each incident as ``digest --json`` shows it."""

    schema_version: int = SUMMARY_SCHEMA
    incidents: list[IncidentSummary]
    unreadable: dict[str, str] = {}  # ref -> error
