"""What people read at a terminal, and ``show --json``: renderings of the one overview.

Pure: every function renders an :class:`~sync_incident.application.overview.Overview` (the
state and the gate's verdict on each release, made once per reading), so ``show`` and
``list`` never say anything the gate would not, and never judge a release themselves.
``show`` starts with one line per release (READY / NOT READY / IN DOUBT and every reason, in
the order to act on them), then the people and the work.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from sync_incident.application.overview import (
    SUMMARY_SCHEMA,
    IncidentSummary,
    Overview,
    handoff_stale,
)
from sync_incident.core.policy import Policy
from sync_incident.core.readiness import Verdict
from sync_incident.core.state import STATE_SCHEMA, Handoff, IncidentState
from sync_incident.core.times import age, utc

WIDTH = 100


when = utc  # views name it for what it reads like


def web_url(url: str) -> bool:
    """Whether ``url`` may be a link on a page: absolute ``http``/``https`` with a host.

    URLs come from comments anyone can write: ``javascript:``, ``data:``, scheme-relative
    and anything with whitespace or control characters (which browsers strip or rewrite
    before they read the scheme) are shown as text, never as an ``href``.
    """
    if not url or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def local(value: datetime, zone: str | None) -> str:
    """``18:00 Europe/Berlin`` (with the date when it is not the UTC date)."""
    if not zone or zone == "UTC":
        return ""
    moment = value.astimezone(ZoneInfo(zone))
    day = "" if moment.date() == value.date() else f"{moment:%a} "
    return f"{day}{moment:%H:%M} {zone}"


def incident_json(seen: Overview) -> str:
    """``show --json``: the state, with each release as ``gate --json`` reports it.

    Each sign-off carries its ``status`` as the gate sees it (signed, stale; revoked in
    ``revoked_signoffs``), so the top-level list never contradicts ``releases[]``; each
    handoff carries ``stale``, true while it is pending longer than the policy allows.
    """
    state = seen.state
    data: dict[str, Any] = state.model_dump(mode="json")
    data["schema_version"] = STATE_SCHEMA
    for signoff, shown in zip(state.signoffs, data["signoffs"], strict=True):
        shown["status"] = seen.signoff_status(signoff)
    for shown in data["revoked_signoffs"]:
        shown["status"] = "revoked"
    for offer, shown in zip(state.handoffs, data["handoffs"], strict=True):
        shown["stale"] = seen.handoff_stale(offer)
    data["releases"] = [v.model_dump(mode="json") for v in seen.verdicts]
    return json.dumps(data, indent=2, ensure_ascii=False)


def state_text(
    seen: Overview,
    *,
    timeline: int | None = 15,
    reader_tz: str | None = None,
    reader: str | None = None,
) -> str:
    """The incident at a glance; ``timeline`` = how many recent entries (None = all).

    ``reader`` (who runs the command) and ``reader_tz`` (their timezone) add their own clock to
    the times a pending handoff asks for, beside the recipient's.
    """
    s, policy, found = seen.state, seen.policy, seen.verdicts
    out = _head(s, found)
    out += _releases(found)
    out += _handoffs(s, policy, reader_tz, reader)
    out += _work(s)
    out += _doubts(s)
    out += _timeline(s, timeline)
    return "\n".join(out)


def _head(s: IncidentState, found: list[Verdict]) -> list[str]:
    out = [f"{s.ref}: {s.title or '(no title)'}"]
    if s.url and s.url != s.ref:
        out.append(f"  {s.url}")
    if not s.opened:
        out.append("  No incident has been opened here yet: run `sync-incident open` on it.")
        return out
    for v in found:
        out.append(f"  {v.line}")
    if not found:
        out.append("  No release is named: add one with `sync-incident add-release`.")
    status = "RESOLVED" if s.status == "resolved" else "ACTIVE"
    out.append(
        f"  Status: {status} · Severity {s.severity} · opened {when(s.opened_at)} by {s.opened_by}"
    )
    if s.status == "resolved":
        out.append(f"  Resolved {when(s.resolved_at)}: {s.resolution}")
    out.append(f"  Incident commander: {s.ic} since {when(s.ic_since)}")
    if s.last_status:
        due = f" · next update due {when(s.next_update_due)}" if s.next_update_due else ""
        overdue = " (OVERDUE)" if s.update_overdue else ""
        out.append(f"  Last status: {s.last_status}{due}{overdue}")
    return out


def _releases(found: list[Verdict]) -> list[str]:
    out: list[str] = []
    for v in found:
        out += ["", f"{v.release}: {v.label}"]
        for hold in v.holds:
            out.append(
                f"  HOLD by {hold.by} since {when(hold.since)}: {hold.reason} (hold {hold.id})"
            )
        for team in v.teams:
            out.append("  " + _team_line(team.team, team.status, team))
        ship = v.ship_decision
        if ship is not None:
            stale = f" — STALE: {ship.why}" if ship.stale else ""
            out.append(f"  Ship decision: {ship.by} at {when(ship.at)}: {ship.statement}{stale}")
        elif v.ship_required:
            out.append("  Ship decision: none yet (required)")
        if not v.required:
            out.append(
                "  No sign-offs are required by the policy: the gate refuses until some are."
            )
    return out


def _team_line(name: str, status: str, team: Any) -> str:
    if status == "signed":
        return f"{name}: signed by {team.by} at {when(team.at)}"
    if status == "stale":
        return f"{name}: STALE — {team.why}"
    if status == "revoked":
        return f"{name}: REVOKED — {team.why}"  # why names who revoked it, when and why
    if status == "unchecked":
        return f"{name}: cannot be checked — {team.why}"
    if status == "unknown team":
        return f"{name}: not a team in the policy"
    return f"{name}: missing"


def _handoffs(
    s: IncidentState, policy: Policy, reader_tz: str | None, reader: str | None = None
) -> list[str]:
    out: list[str] = []
    for offer in s.pending_handoffs:
        out += ["", _offer_head(offer, "PENDING", _stale(offer, policy))]
        out += _offer_body(offer, policy, reader_tz, reader)
    accepted = [h for h in s.handoffs if h.status == "accepted"]
    if accepted and not s.pending_handoffs:
        last = accepted[-1]
        out += [
            "",
            f"Last handoff: {last.by} → {last.to} ({_what(last)}), offered {when(last.at)}, "
            f"accepted {when(last.answered_at)} after {age(last.waited_minutes)}",
        ]
    for offer in s.handoffs:
        if offer.status == "declined":
            out.append(
                f"Declined: {offer.to} declined the handoff from {offer.by} at "
                f"{when(offer.answered_at)}: {offer.decline_reason}"
            )
    return out


def _what(offer: Handoff) -> str:
    return "incident commander" if offer.role == "ic" else "steps " + ", ".join(offer.steps)


def _offer_head(offer: Handoff, label: str, stale: str = "") -> str:
    return (
        f"Handoff {label}: {offer.by} → {offer.to} ({_what(offer)}), offered {when(offer.at)}, "
        f"waiting {age(offer.waited_minutes)}{stale} (handoff {offer.id})"
    )


def _stale(offer: Handoff, policy: Policy) -> str:
    return stale_note(offer.waited_minutes, policy.stale_handoff_minutes)


def stale_note(waited_minutes: int | None, limit: int) -> str:
    """`` — STALE, over the 2 h the policy allows`` once a pending handoff waited that long."""
    if not handoff_stale(waited_minutes, limit):
        return ""
    hours, minutes = divmod(limit, 60)
    allowed = " ".join(
        p for p in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if p
    )
    return f" — STALE, over the {allowed} the policy allows"


def _offer_body(
    offer: Handoff, policy: Policy, reader_tz: str | None, reader: str | None = None
) -> list[str]:
    out = [f"  Done: {offer.done}", f"  To do: {offer.todo}"]
    recipient = policy.people.get(offer.to)
    their_tz = recipient.timezone if recipient else None
    for step in offer.next_steps:
        line = f"  Next: {step.what}"
        if step.owner:
            line += f" — {step.owner}"
        if step.by is not None:
            if reader == offer.to:  # the recipient reads: their clock is "you"
                line += f", by {when(step.by)}{_zones(step.by, their_tz, offer.to, None)}"
            else:
                line += f", by {when(step.by)}{_zones(step.by, reader_tz, offer.to, their_tz)}"
        out.append(line)
    if offer.notify:
        out.append(f"  Notify when done: {', '.join(offer.notify)}")
    return out


def _zones(moment: datetime, reader_tz: str | None, recipient: str, their_tz: str | None) -> str:
    """`` (12:00 America/New_York for you; 18:00 Europe/Berlin for beatrice)``: the time as the
    reader and the recipient of a handoff each read it, once when their zones agree."""
    mine, theirs = local(moment, reader_tz), local(moment, their_tz)
    if mine and mine == theirs:
        return f" ({mine} for you and {recipient})"
    parts = [f"{mine} for you" if mine else "", f"{theirs} for {recipient}" if theirs else ""]
    shown = [p for p in parts if p]
    return f" ({'; '.join(shown)})" if shown else ""


def _work(s: IncidentState) -> list[str]:
    out: list[str] = []
    if s.checklist:
        out += ["", "Checklist:"]
        for step in s.checklist:
            flag = " OVERDUE" if step.overdue else ""
            due = f", due {when(step.due)}" if step.due else ""
            owner = step.owner or "no owner"
            out.append(f"  [{step.state:7}] {step.step}. {step.title} ({owner}{due}){flag}")
    if s.links:
        out += ["", "Links:"]
        out += [f"  {x.kind}: {x.title or x.url} — {x.url} ({x.by})" for x in s.links]
    return out


def _doubts(s: IncidentState) -> list[str]:
    out: list[str] = []
    if s.doubts:
        out += ["", "IN DOUBT (the gate refuses until the incident commander checks these):"]
        for d in s.doubts:
            by = f" by {d.author}" if d.author else ""
            out.append(f"  {d.where}{by}: {d.detail}")
        out.append("  After checking: sync-incident check REF --where 'comment N' --finding '...'")
    for d in s.checked_doubts:
        out.append(f"Checked: {d.where} by {d.checked_by} at {when(d.checked_at)}: {d.finding}")
    return out


def _timeline(s: IncidentState, limit: int | None) -> list[str]:
    entries = s.timeline if limit is None else s.timeline[-limit:]
    if not entries:
        return []
    hidden = len(s.timeline) - len(entries)
    shown = f"; the last {len(entries)} shown, --full for all" if hidden else ""
    out = ["", f"Timeline ({len(s.timeline)} events{shown}):"]
    for entry in entries:
        if entry.retracted:
            mark = "  RETRACTED"
        elif not entry.accepted:
            mark = f"  REJECTED: {entry.reason}"
        else:
            mark = ""
        backfill = f" (happened {when(entry.occurred_at)})" if entry.occurred_at else ""
        out.append(f"  {when(entry.at)}  {entry.summary}{backfill}{mark}")
    for warning in s.warnings[-5:]:
        out.append(f"warning: {warning}")
    return out


LIST_SCHEMA = SUMMARY_SCHEMA


class Listing(BaseModel):
    """The documented ``list --json`` schema: each incident as ``digest --json`` shows it."""

    schema_version: int = LIST_SCHEMA
    incidents: list[IncidentSummary]
    unreadable: dict[str, str] = {}  # ref -> error


def listing(seen: list[Overview], unreadable: dict[str, str] | None = None) -> Listing:
    """Active incidents at a glance: each the summary of its overview."""
    return Listing(incidents=[o.summary() for o in seen], unreadable=unreadable or {})


def listing_text(found: Listing, stale_after: int = Policy().stale_handoff_minutes) -> str:
    """``list``: per incident its head, one line per release (every reason), what waits."""
    if not found.incidents and not found.unreadable:
        return "No active incidents."
    out: list[str] = []
    for inc in found.incidents:
        out.append(f"{inc.ref}: {inc.title} ({inc.severity or '?'}) · IC {inc.ic or 'none'}")
        out += [f"  {v.line}" for v in inc.releases]
        for h in inc.pending_handoffs:
            what = "incident commander" if h.role == "ic" else "steps " + ", ".join(h.steps)
            stale = stale_note(h.waited_minutes, stale_after) if h.stale else ""
            out.append(
                f"  Handoff pending: {h.by} → {h.to} ({what}), waiting {age(h.waited_minutes)}"
                f"{stale}"
            )
        if inc.next_update_due:
            overdue = " (OVERDUE)" if inc.update_overdue else ""
            out.append(f"  Next update due {when(inc.next_update_due)}{overdue}")
    for ref, error in found.unreadable.items():
        out.append(f"{ref}: could not be read: {error}")
    return "\n".join(out)


def verdict_text(v: Verdict) -> str:
    out = [f"{v.label}: {v.release} ({v.incident})"]
    for team in v.teams:
        mark = "✓" if team.signed else "✗"
        out.append(f"  {mark} " + _team_line(team.team, team.status, team))
    for reason in v.reasons:
        out.append(f"  {reason}")
    ship = v.ship_decision
    if ship is not None:
        stale = " (STALE)" if ship.stale else ""
        out.append(f"  Ship decision{stale}: {ship.by} at {when(ship.at)}: {ship.statement}")
    return "\n".join(out)
