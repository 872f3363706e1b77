"""Reminders: which are due on an incident at a given time (pure; posting checks the tracker).

Each reminder has a key ``"{kind}:{incident}:{period}"`` and a stamp that fixes its event id
(:func:`~sync_incident.digest.schedule.event_id_for`), so every replica derives the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sync_incident.core.hours import end_of_day
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState

if TYPE_CHECKING:
    from sync_incident.config import Settings


@dataclass(frozen=True)
class Due:
    """A reminder that is due; ``stamp`` fixes its event id, so every replica derives the same."""

    kind: str
    ref: IncidentRef
    key: str
    to: str | None
    text: str
    stamp: datetime


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _mention(settings: Settings, ref: IncidentRef, person: str) -> str:
    """How to address a person in a comment: an @-mention pings on GitHub."""
    account = settings.policy.account_for(ref.kind, person)
    if ref.kind == "github" and account:
        return f"@{account}"
    return settings.policy.display(person)


def due_reminders(
    state: IncidentState, ref: IncidentRef, settings: Settings, now: datetime
) -> list[Due]:
    """The reminders due on an incident at ``now`` (pure; posting checks the tracker first)."""
    if state.status != "active":
        return []
    rules = settings.reminders
    out: list[Due] = []
    for offer in state.pending_handoffs:
        threshold = offer.at + timedelta(minutes=rules.handoff_pending_minutes)
        if now >= threshold:
            waited = int((now - offer.at).total_seconds() // 60)
            what = (
                "the incident commander role"
                if offer.role == "ic"
                else "steps " + ", ".join(offer.steps)
            )
            out.append(
                Due(
                    kind="handoff-pending",
                    ref=ref,
                    key=f"handoff-pending:{ref.key}:{offer.id}",
                    to=offer.to,
                    text=(
                        f"Reminder: {offer.by} offered {what} on {ref} to {offer.to} "
                        f"{waited} minutes ago and the handoff is still pending; "
                        f"{_mention(settings, ref, offer.to)}, please accept or decline it."
                    ),
                    stamp=threshold,
                )
            )
    ic = state.ic
    due = state.next_update_due
    if ic and due is not None and now > due:
        out.append(
            Due(
                kind="update-overdue",
                ref=ref,
                key=f"update-overdue:{ref.key}:{_stamp(due)}",
                to=ic,
                text=(
                    f"Reminder: the status update on {ref} was due at "
                    f"{due.astimezone(UTC):%Y-%m-%d %H:%M} UTC; {_mention(settings, ref, ic)}, as "
                    "incident commander, please post a status update."
                ),
                stamp=due,
            )
        )
    person = settings.policy.people.get(ic) if ic else None
    if ic and person is not None and person.working_hours:
        window = timedelta(minutes=rules.end_of_day_minutes)
        found = end_of_day(person.timezone, person.working_hours, now, window)
        offered = any(h.role == "ic" and h.by == ic for h in state.pending_handoffs)
        if found is not None and not offered:
            day, end = found
            local_end = end.astimezone(ZoneInfo(person.timezone))
            out.append(
                Due(
                    kind="end-of-day",
                    ref=ref,
                    key=f"end-of-day:{ref.key}:{ic}@{day.isoformat()}",
                    to=ic,
                    text=(
                        f"Reminder: {ic}'s working day ends at {local_end:%H:%M} {person.timezone} "
                        f"({end:%H:%M} UTC) and no handoff of the incident commander role on {ref} "
                        f"is offered; {_mention(settings, ref, ic)}, please offer a handoff to the "
                        "next incident commander."
                    ),
                    stamp=end - window,
                )
            )
    last = state.last_update
    if last is not None and ic:
        threshold = last + timedelta(hours=rules.no_update_hours)
        if now >= threshold:
            hours = (now - last).total_seconds() / 3600
            out.append(
                Due(
                    kind="no-update",
                    ref=ref,
                    key=f"no-update:{ref.key}:{_stamp(last)}",
                    to=ic,
                    text=(
                        f"Reminder: nothing has been recorded on active incident {ref} for "
                        f"{hours:.1f} hours; {_mention(settings, ref, ic)}, please post a status update."
                    ),
                    stamp=threshold,
                )
            )
    return out
