"""Reminders: which are due on an incident at a given time (pure; posting checks the tracker).

Each reminder has a key ``"{kind}:{incident}:{period}"`` and a stamp that fixes its event id
(:func:`~sync_incident.core.events.event_id_for`), so every replica derives the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sync_incident.core.comments import Flavor
from sync_incident.core.hours import end_of_day
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.core.times import for_people, for_person, stamp

if TYPE_CHECKING:
    from sync_incident.config import Settings

Mention = Callable[[str], str]


@dataclass(frozen=True)
class Due:
    """A reminder that is due; ``stamp`` fixes its event id, so every replica derives the same."""

    kind: str
    ref: IncidentRef
    key: str
    to: str | None
    text: str
    stamp: datetime


def _mention(settings: Settings, ref: IncidentRef, person: str, flavor: Flavor) -> str:
    """How to address a person in a comment: an @-mention pings where comments are Markdown."""
    account = settings.policy.account_for(ref.kind, person)
    if flavor == "github" and account:
        return f"@{account}"
    return settings.policy.display(person)


def _zone(settings: Settings, person: str) -> str | None:
    found = settings.policy.people.get(person)
    return found.timezone if found else None


def due_reminders(
    state: IncidentState,
    ref: IncidentRef,
    settings: Settings,
    now: datetime,
    flavor: Flavor = "plain",
) -> list[Due]:
    """The reminders due on an incident at ``now`` (pure; posting checks the tracker first)."""
    if state.status != "active":
        return []
    mention: Mention = lambda person: _mention(settings, ref, person, flavor)  # noqa: E731
    out = _handoffs_pending(state, ref, settings, now, mention)
    for check in (_update_overdue, _end_of_day, _no_update):
        found = check(state, ref, settings, now, mention)
        if found is not None:
            out.append(found)
    return out


def _handoffs_pending(
    state: IncidentState, ref: IncidentRef, settings: Settings, now: datetime, mention: Mention
) -> list[Due]:
    out = []
    for offer in state.pending_handoffs:
        threshold = offer.at + timedelta(minutes=settings.reminders.handoff_pending_minutes)
        if now < threshold:
            continue
        waited = int((now - offer.at).total_seconds() // 60)
        what = (
            "the incident commander role"
            if offer.role == "ic"
            else "steps " + ", ".join(offer.steps)
        )
        text = (
            f"Reminder: {offer.by} offered {what} on {ref} to {offer.to} {waited} minutes ago "
            f"and the handoff is still pending; {mention(offer.to)}, please accept or decline it."
        )
        key = f"handoff-pending:{ref.key}:{offer.id}"
        out.append(Due("handoff-pending", ref, key, offer.to, text, threshold))
    return out


def _update_overdue(
    state: IncidentState, ref: IncidentRef, settings: Settings, now: datetime, mention: Mention
) -> Due | None:
    ic, due = state.ic, state.next_update_due
    if not ic or due is None or now <= due:
        return None
    zone = _zone(settings, ic)
    at = for_people(due, [(ic, zone)], typed=state.next_update_zone)
    text = (
        f"Reminder: the status update on {ref} was due at {at}; "
        f"{mention(ic)}, as incident commander, please post a status update."
    )
    return Due("update-overdue", ref, f"update-overdue:{ref.key}:{stamp(due)}", ic, text, due)


def _end_of_day(
    state: IncidentState, ref: IncidentRef, settings: Settings, now: datetime, mention: Mention
) -> Due | None:
    ic = state.ic
    person = settings.policy.people.get(ic) if ic else None
    if not ic or person is None or not person.working_hours:
        return None
    window = timedelta(minutes=settings.reminders.end_of_day_minutes)
    found = end_of_day(person.timezone, person.working_hours, now, window)
    offered = any(h.role == "ic" and h.by == ic for h in state.pending_handoffs)
    if found is None or offered:
        return None
    day, end = found
    text = (
        f"Reminder: {ic}'s working day ends at {for_person(end, person.timezone, ic)} "
        f"and no handoff of the incident commander role on {ref} is offered; "
        f"{mention(ic)}, please offer a handoff to the next incident commander."
    )
    key = f"end-of-day:{ref.key}:{ic}@{day.isoformat()}"
    return Due("end-of-day", ref, key, ic, text, end - window)


def _no_update(
    state: IncidentState, ref: IncidentRef, settings: Settings, now: datetime, mention: Mention
) -> Due | None:
    ic, last = state.ic, state.last_update
    if last is None or not ic:
        return None
    threshold = last + timedelta(hours=settings.reminders.no_update_hours)
    if now < threshold:
        return None
    hours = (now - last).total_seconds() / 3600
    text = (
        f"Reminder: nothing has been recorded on active incident {ref} for {hours:.1f} hours; "
        f"{mention(ic)}, please post a status update."
    )
    return Due("no-update", ref, f"no-update:{ref.key}:{stamp(last)}", ic, text, threshold)
