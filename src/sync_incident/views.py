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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sync_incident.application.overview import Overview, handoff_stale

if TYPE_CHECKING:
    from sync_incident.application.summary import Listing
from sync_incident.core.policy import Policy
from sync_incident.core.readiness import Verdict
from sync_incident.core.state import STATE_SCHEMA, Handoff, IncidentState
from sync_incident.core.times import age, for_people, is_utc, utc, wall

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


def select_fields(document: str, fields: str) -> str:
    """``show --fields ic,releases``: only those top-level fields of the JSON (as ``gh --json``)."""
    from sync_incident.core.errors import UsageError

    data = json.loads(document)
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in data]
    if not wanted or unknown:
        raise UsageError(
            f"--fields: no field {', '.join(unknown)!s}" if unknown else "--fields: name a field",
            hint="fields: " + ", ".join(sorted(data)),
        )
    return json.dumps({f: data[f] for f in wanted}, indent=2, ensure_ascii=False)


def state_text(
    seen: Overview,
    *,
    timeline: int | None = 15,
    reader_tz: str | None = None,
    reader: str | None = None,
    ids: bool = False,
) -> str:
    """The incident at a glance; ``timeline`` = how many recent entries (None = all).

    Times are UTC, then the clock of whom they concern (the IC, a step's owner, a handoff's
    recipient) and of ``reader`` (who runs the command, on ``reader_tz``). ``ids`` adds the
    event ids people need for ``retract`` and ``--hold``; sentences for people carry none.
    """
    out = _head(seen)
    out += _releases(seen.verdicts, ids)
    out += _handoffs(seen, reader_tz, reader, ids)
    out += _work(seen, reader_tz, reader)
    out += _doubts(seen.state)
    out += _timeline(seen.state, timeline, ids)
    return "\n".join(out)


def _clock(seen: Overview, moment: datetime, *people: str | None, typed: str | None = None) -> str:
    """A time as ``for_people`` writes it, for the people named (their policy timezones)."""
    named = [(p, seen.timezone_of(p)) for p in dict.fromkeys(p for p in people if p)]
    return for_people(moment, named, typed=typed)


def _head(seen: Overview) -> list[str]:
    s = seen.state
    out = [f"{s.ref}: {s.title or '(no title)'}"]
    if s.url and s.url != s.ref:
        out.append(f"  {s.url}")
    if not s.opened:
        out.append("  No incident has been opened here yet: run `sync-incident open` on it.")
        return out
    for v in seen.verdicts:
        out.append(f"  {v.line}")
    if not seen.verdicts:
        out.append("  No release is named: add one with `sync-incident add-release`.")
    status = "RESOLVED" if s.status == "resolved" else "ACTIVE"
    out.append(
        f"  Status: {status} · Severity {s.severity} · opened {when(s.opened_at)} by {s.opened_by}"
    )
    if s.status == "resolved":
        out.append(f"  Resolved {when(s.resolved_at)}: {s.resolution}")
    if s.ic:
        since = when(s.ic_since)
        zone = seen.timezone_of(s.ic)
        clock = wall(seen.now.replace(second=0, microsecond=0), zone) if zone else None
        now = f"; {s.ic}'s time now: {clock}" if clock and not is_utc(zone) else ""
        out.append(f"  Incident commander: {s.ic} since {since}{now}")
    if s.last_status:
        by = s.last_status_by or "someone"
        at = f" at {when(s.last_status_at)}" if s.last_status_at else ""
        out.append(f"  Last status, by {by}{at}: {s.last_status}")
    if s.next_update_due:
        overdue = " (OVERDUE)" if s.update_overdue else ""
        due = _clock(seen, s.next_update_due, s.ic, typed=s.next_update_zone)
        out.append(f"  Next update due by {due}{overdue}")
    return out


def _releases(found: list[Verdict], ids: bool) -> list[str]:
    out: list[str] = []
    for v in found:
        out += ["", f"{v.release}: {v.label}"]
        for hold in v.holds:
            hold_id = f" (hold {hold.id})" if ids else ""
            out.append(f"  HOLD by {hold.by} since {when(hold.since)}: {hold.reason}{hold_id}")
        for team in v.teams:
            out.append("  " + team.line())
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


def _handoffs(seen: Overview, reader_tz: str | None, reader: str | None, ids: bool) -> list[str]:
    s = seen.state
    out: list[str] = []
    for offer in s.pending_handoffs:
        stale = stale_note(offer.waited_minutes, seen.policy.stale_handoff_minutes)
        out += ["", _offer_head(offer, "PENDING", stale, ids)]
        out += _offer_body(seen, offer, reader_tz, reader)
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


def _offer_head(offer: Handoff, label: str, stale: str = "", ids: bool = False) -> str:
    handoff_id = f" (handoff {offer.id})" if ids else ""
    return (
        f"Handoff {label}: {offer.by} → {offer.to} ({_what(offer)}), offered {when(offer.at)}, "
        f"waiting {age(offer.waited_minutes)}{stale}{handoff_id}"
    )


def stale_note(waited_minutes: int | None, limit: int) -> str:
    """`` — STALE, over the 2 h the policy allows`` once a pending handoff waited that long."""
    if not handoff_stale(waited_minutes, limit):
        return ""
    hours, minutes = divmod(limit, 60)
    allowed = " ".join(
        p for p in (f"{hours} h" if hours else "", f"{minutes} min" if minutes else "") if p
    )
    return f" — STALE, over the {allowed} the policy allows"


def _readers(reader_tz: str | None) -> list[tuple[str, str | None]]:
    """The reader as "you", on their clock (their policy timezone, else the one configured)."""
    return [("you", reader_tz)] if reader_tz else []


def _offer_body(
    seen: Overview, offer: Handoff, reader_tz: str | None, reader: str | None
) -> list[str]:
    out = [f"  Done: {offer.done}", f"  To do: {offer.todo}"]
    you = _readers(reader_tz)
    for step in offer.next_steps:
        line = f"  Next: {step.what}"
        if step.owner:
            line += f" — {step.owner}"
        if step.by is not None:
            people = [
                (p, seen.timezone_of(p))
                for p in dict.fromkeys(x for x in (step.owner, offer.to) if x and x != reader)
            ]
            line += f", by {for_people(step.by, [*you, *people], typed=step.by_zone)}"
        out.append(line)
    if offer.notify:
        out.append(f"  Notify when done: {', '.join(offer.notify)}")
    return out


def _work(seen: Overview, reader_tz: str | None, reader: str | None) -> list[str]:
    s = seen.state
    out: list[str] = []
    if s.checklist:
        done = sum(1 for step in s.checklist if step.state == "done")
        out += ["", f"Checklist ({done} of {len(s.checklist)} done):"]
        for step in s.checklist:
            flag = " OVERDUE" if step.overdue else ""
            due = ""
            if step.due:
                owner = [(step.owner, seen.timezone_of(step.owner))] if step.owner else []
                due = f", due {for_people(step.due, owner, typed=step.due_zone)}"
            owner_name = step.owner or "no owner"
            out.append(f"  [{step.state:7}] {step.step}. {step.title} ({owner_name}{due}){flag}")
    if s.links:
        out += ["", "Links:"]
        out += [f"  {x.kind}: {x.title or x.url} — {x.url} ({x.by})" for x in s.links]
    return out


def _doubts(s: IncidentState) -> list[str]:
    out: list[str] = []
    if s.doubts:
        out += ["", "IN DOUBT (the gate refuses until each is checked by who may clear it):"]
        for d in s.doubts:
            by = f" by {d.author}" if d.author else ""
            clear = f" Who may clear it: {d.clear_hint}." if d.clear_hint else ""
            out.append(f"  {d.where}{by}: {d.detail}.{clear}")
        ref = s.ref or "REF"
        out.append(f"  After checking: sync-incident check {ref} --where '...' --finding '...'")
    for d in s.checked_doubts:
        out.append(f"Checked: {d.where} by {d.checked_by} at {when(d.checked_at)}: {d.finding}")
    return out


def _timeline(s: IncidentState, limit: int | None, ids: bool) -> list[str]:
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
        event_id = f"  [{entry.event_id}]" if ids else ""
        out.append(f"  {when(entry.at)}  {entry.summary}{backfill}{mark}{event_id}")
    for warning in s.warnings[-5:]:
        out.append(f"warning: {warning}")
    return out


def listing(seen: list[Overview], unreadable: dict[str, str] | None = None) -> Listing:
    """Active incidents at a glance: each the summary of its overview (``list --json``)."""
    from sync_incident.application.summary import Listing

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
        said = error if error.startswith("could not") else f"could not be read: {error}"
        out.append(f"{ref}: {said}")
    return "\n".join(out)
