"""Plain-text views of the state and the gate verdict, for people at a terminal."""

from __future__ import annotations

from datetime import datetime

from sync_incident.core.readiness import Verdict
from sync_incident.core.state import IncidentState


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def age(minutes: int | None) -> str:
    if minutes is None:
        return "?"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"


def state_text(s: IncidentState, *, timeline: int | None = 15) -> str:
    """The incident at a glance; ``timeline`` = how many recent entries (None = all)."""
    out: list[str] = []
    title = s.title or "(no title)"
    out.append(f"{s.ref}: {title}")
    if s.url and s.url != s.ref:
        out.append(f"  {s.url}")
    if not s.opened:
        out.append("  No incident has been opened here yet: run `sync-incident open` on it.")
    else:
        status = "RESOLVED" if s.status == "resolved" else "ACTIVE"
        out.append(
            f"  Status: {status} · Severity {s.severity} · opened {when(s.opened_at)} by {s.opened_by}"
        )
        out.append(f"  Incident commander: {s.ic} (since {when(s.ic_since)})")
        if s.releases:
            out.append(f"  Releases: {', '.join(s.releases)}")
        if s.last_status:
            due = f" · next update due {when(s.next_update_due)}" if s.next_update_due else ""
            overdue = " (OVERDUE)" if s.update_overdue else ""
            out.append(f"  Last status: {s.last_status}{due}{overdue}")
    out.append("")
    out.append("Holds:")
    if not s.holds:
        out.append("  none open")
    for hold in s.holds:
        out.append(f"  HOLD {hold.release}: {hold.by} since {when(hold.at)}: {hold.reason}")
    out.append("Sign-offs:")
    if not s.signoffs and not s.revoked_signoffs:
        out.append("  none yet")
    for signoff in s.signoffs:
        out.append(f"  {signoff.release}: {signoff.team} by {signoff.by} at {when(signoff.at)}")
    for signoff in s.revoked_signoffs:
        out.append(
            f"  {signoff.release}: {signoff.team} REVOKED by {signoff.revoked_by} at "
            f"{when(signoff.revoked_at)}: {signoff.revoke_reason}"
        )
    for ship in s.ship_decisions:
        out.append(f"  SHIP {ship.release}: {ship.by} at {when(ship.at)}: {ship.statement}")
    pending = [h for h in s.handoffs if h.status == "pending"]
    declined = [h for h in s.handoffs if h.status == "declined"]
    if pending or declined:
        out.append("Handoffs:")
    for offer in pending:
        what = "IC role" if offer.role == "ic" else "steps " + ", ".join(offer.steps)
        out.append(
            f"  PENDING {what}: {offer.by} → {offer.to}, waiting {age(offer.waited_minutes)} "
            f"(handoff {offer.id})"
        )
    for offer in declined:
        out.append(f"  DECLINED by {offer.to} at {when(offer.answered_at)}: {offer.decline_reason}")
    if s.checklist:
        out.append("Checklist:")
        for step in s.checklist:
            flag = " OVERDUE" if step.overdue else ""
            due = f", due {when(step.due)}" if step.due else ""
            owner = step.owner or "no owner"
            out.append(f"  [{step.state:7}] {step.step}. {step.title} ({owner}{due}){flag}")
    if s.doubts:
        out.append("DOUBT (the gate refuses until a person checks these):")
        for doubt in s.doubts:
            out.append(f"  comment {doubt.comment_id} by {doubt.author}: {doubt.detail}")
    entries = s.timeline if timeline is None else s.timeline[-timeline:]
    if entries:
        hidden = len(s.timeline) - len(entries)
        out.append(
            f"Timeline ({len(s.timeline)} events{f', last {len(entries)} shown' if hidden else ''}):"
        )
        for entry in entries:
            mark = "" if entry.accepted else f"  REJECTED: {entry.reason}"
            backfill = f" (happened {when(entry.occurred_at)})" if entry.occurred_at else ""
            out.append(f"  {when(entry.at)}  {entry.summary}{backfill}{mark}")
    for warning in s.warnings[-5:]:
        out.append(f"Warning: {warning}")
    return "\n".join(out)


def verdict_text(v: Verdict) -> str:
    out = [f"{'READY' if v.ready else 'NOT READY'}: {v.release} ({v.incident})"]
    for team in v.teams:
        if team.signed:
            out.append(f"  ✓ {team.team}: {team.by} at {when(team.at)}")
        else:
            out.append(f"  ✗ {team.team}: {team.problem}")
    for reason in v.reasons:
        out.append(f"  {reason}")
    if v.ship_decision:
        out.append(f"  Ship decision: {v.ship_decision}")
    return "\n".join(out)
