"""What the status page shows of one incident: a pure view model over its overview.

Built from the :class:`~sync_incident.application.overview.Overview` of the daemon's last read
(the state and the gate's verdict on each release, with that read's membership facts), so the
page never says READY where ``gate`` would not and never judges a release itself. Only ``now``
moves: local times, ages and "overdue" are computed for the moment of rendering.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sync_incident.application.overview import Overview
from sync_incident.core.events import INFORMATIONAL
from sync_incident.core.hours import end_of_day, next_day_start
from sync_incident.core.policy import Policy
from sync_incident.core.readiness import Verdict
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import Entry, Handoff, IncidentState
from sync_incident.core.times import age, minutes_between, utc
from sync_incident.views import stale_note, web_url

# status -> (symbol, words); the symbol is decoration, the words carry the meaning
CELLS = {
    "signed": ("✓", "signed"),
    "stale": ("↺", "stale"),
    "revoked": ("✗", "revoked"),
    "missing": ("–", "missing"),
    "unknown team": ("?", "unknown team"),
    "unchecked": ("?", "cannot check"),
    "not required": ("", "not required"),
}
VERDICTS = {"ready": "READY", "not-ready": "NOT READY", "in-doubt": "IN DOUBT"}


def slug(key: str) -> str:
    """An HTML id from a reference key: ``github-o-r-1``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")


def href(ref: IncidentRef | str, prefix: str = "/incidents/") -> str:
    """The page of an incident: its reference key, ``#`` escaped (``/incidents/github:o/r%231``)."""
    key = ref.key if isinstance(ref, IncidentRef) else ref
    return prefix + quote(key, safe=":/")


@dataclass(frozen=True)
class Person:
    """The incident commander as the page shows them: local time, end of working day."""

    name: str
    zone: str = ""
    local: str = ""  # "14:03 Europe/Berlin"
    day: str = ""  # "working day ends 17:00 (in 2 h 57 min)" / "off work until 09:00 ..."
    off: bool = False


@dataclass(frozen=True)
class Cell:
    status: str
    symbol: str
    words: str
    detail: str = ""  # who and when, for the title attribute and the incident page


@dataclass(frozen=True)
class ReleaseView:
    release: str
    verdict: str  # ready / not-ready / in-doubt
    label: str
    reason: str  # every reason in one line, in the order to act on them (never cut)
    reasons: list[str]


@dataclass(frozen=True)
class HoldView:
    release: str
    by: str
    since: str
    waited: str
    reason: str


@dataclass(frozen=True)
class HandoffView:
    by: str
    to: str
    what: str
    since: str
    waited: str
    stale: str  # " — STALE, over the 2 h the policy allows", as `show` says it; "" when not


@dataclass(frozen=True)
class EventView:
    at: str
    actor: str
    summary: str
    mark: str  # "", "rejected", "retracted"


@dataclass(frozen=True)
class Card:
    """One incident card; ``error`` set (and little else) when it could not be read."""

    ref: str
    key: str
    href: str
    title: str
    url: str
    slug: str = ""
    status: str = "unknown"
    severity: str = ""
    error: str = ""
    ic: Person | None = None
    releases: list[ReleaseView] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    matrix: list[list[Cell]] = field(default_factory=list)  # one row per team, per release
    holds: list[HoldView] = field(default_factory=list)
    handoffs: list[HandoffView] = field(default_factory=list)
    next_update: str = ""
    overdue: str = ""  # "OVERDUE by 12 min" or ""
    last_status: str = ""
    doubts: list[str] = field(default_factory=list)
    timeline: list[EventView] = field(default_factory=list)
    resolved: str = ""


def card(
    ref: IncidentRef,
    seen: Overview | None,
    now: datetime,
    *,
    events: int = 5,
    error: str = "",
) -> Card:
    """The card of one watched incident as of ``now`` (``events``: timeline entries shown)."""
    if seen is None:
        why = error or "not read yet: the first poll is on its way"
        return Card(str(ref), ref.key, href(ref), str(ref), "", slug(ref.key), error=why)
    state, found, policy = seen.state, seen.verdicts, seen.policy
    teams, matrix = sign_off_matrix(found)
    return Card(
        ref=state.ref or str(ref),
        key=ref.key,
        href=href(ref),
        title=state.title or "(no title)",
        url=state.url if state.url != state.ref and web_url(state.url) else "",
        slug=slug(ref.key),
        status=state.status,
        severity=state.severity or "",
        error=error,
        ic=commander(state.ic, policy, now) if state.ic else None,
        releases=[release_view(v) for v in found],
        teams=teams,
        matrix=matrix,
        holds=[
            HoldView(h.release, h.by, utc(h.at), age(minutes_between(h.at, now)), h.reason)
            for h in state.holds
        ],
        handoffs=[handoff_view(h, policy, now) for h in state.pending_handoffs],
        next_update=utc(state.next_update_due) if state.next_update_due else "",
        overdue=overdue_note(state, now),
        last_status=state.last_status or "",
        doubts=[f"{d.where}: {d.detail}" for d in state.doubts],
        timeline=[event_view(e) for e in latest(state, events)],
        resolved=utc(state.resolved_at) if state.status == "resolved" else "",
    )


def overdue_note(state: IncidentState, now: datetime) -> str:
    """``OVERDUE by 12 min`` when the promised update of an active incident is late, else ""."""
    due = state.next_update_due
    if state.status != "active" or due is None or due >= now:
        return ""
    return f"OVERDUE by {age(minutes_between(due, now))}"


def handoff_view(h: Handoff, policy: Policy, now: datetime) -> HandoffView:
    waited = minutes_between(h.at, now)
    return HandoffView(
        by=h.by,
        to=h.to,
        what="incident commander" if h.role == "ic" else "steps " + ", ".join(h.steps),
        since=utc(h.at),
        waited=age(waited),
        stale=stale_note(waited, policy.stale_handoff_minutes),
    )


def release_view(v: Verdict) -> ReleaseView:
    words = v.said.partition(" — ")[2]
    return ReleaseView(
        release=v.release,
        verdict=v.verdict,
        label=VERDICTS[v.verdict],
        reason=words,
        reasons=list(v.reasons) or [v.summary],
    )


def sign_off_matrix(found: list[Verdict]) -> tuple[list[str], list[list[Cell]]]:
    """Teams (rows) × releases (columns): each required team's sign-off status per release."""
    teams: list[str] = []
    for v in found:
        for name in v.required:
            if name.casefold() not in (t.casefold() for t in teams):
                teams.append(name)
    rows: list[list[Cell]] = []
    for team in teams:
        row = []
        for v in found:
            status = next((t for t in v.teams if t.team.casefold() == team.casefold()), None)
            if status is None:
                row.append(Cell("not required", *CELLS["not required"]))
                continue
            detail = status.why or ""
            if status.by and status.at and not detail:
                detail = f"{status.by}, {utc(status.at)}"
            row.append(Cell(status.status, *CELLS[status.status], detail=detail))
        rows.append(row)
    return teams, rows


def commander(name: str, policy: Policy, now: datetime) -> Person:
    """The IC's local time and where they are in their working day."""
    person = policy.people.get(name)
    shown = policy.display(name)
    if person is None:
        return Person(shown)
    zone = person.timezone
    local = now.astimezone(ZoneInfo(zone))
    clock = f"{local:%H:%M} {zone}"
    if not person.working_hours:
        return Person(shown, zone, clock, "no working hours in the policy")
    start = next_day_start(zone, person.working_hours, now)
    if start > now:
        back = start.astimezone(ZoneInfo(zone))
        day = f"off work; back {back:%a %H:%M} (in {age(minutes_between(now, start))})"
        return Person(shown, zone, clock, day, off=True)
    found = end_of_day(zone, person.working_hours, now, timedelta(hours=24))
    if found is None:  # pragma: no cover - at work means the day ends within 24 hours
        return Person(shown, zone, clock)
    end = found[1]
    ends = end.astimezone(ZoneInfo(zone))
    return Person(
        shown, zone, clock, f"working day ends {ends:%H:%M} (in {age(minutes_between(now, end))})"
    )


def latest(state: IncidentState, count: int) -> list[Entry]:
    """The last ``count`` events; on a card (a few), reminders, digests and checkpoints aside."""
    if count <= 0:
        return []
    if count >= len(state.timeline):
        return list(state.timeline)
    return [e for e in state.timeline if e.type not in INFORMATIONAL][-count:]


def event_view(entry: Entry) -> EventView:
    mark = "retracted" if entry.retracted else "" if entry.accepted else "rejected"
    summary = entry.summary + (f" ({entry.reason})" if mark == "rejected" else "")
    return EventView(utc(entry.at), entry.actor, summary, mark)
