"""One line per event for the timeline: who did what, by name (the comment has the sentence).

Lines are whole: a view that shows less must offer the rest (``show --full``, an expandable
row), so nothing here is cut. Ids and checksums are for machines; these lines name people,
releases and what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sync_incident.core.events import Event
from sync_incident.core.state import Handoff, IncidentState

CHATS = {"matrix": "Matrix", "slack": "Slack"}  # how people write the chats' names


def short(text: str, limit: int = 0) -> str:
    """``text`` on one line (``limit`` is kept for the callers' sake: nothing is cut)."""
    return " ".join(text.split())


def _offer(e: Any, s: IncidentState, offers: Mapping[str, Handoff]) -> str:
    offer = offers.get(e.offer)
    return f"the handoff from {offer.by}" if offer else f"handoff {e.offer[-6:]}"


def _released(actor: str, e: Any, s: IncidentState) -> str:
    hold = next((h for h in s.holds if h.id == e.hold), None)
    if hold is None:
        return f"{actor} released a hold on {e.release}: {short(e.reason)}"
    if hold.by == actor:
        return f"{actor} released the hold {actor} raised on {e.release}: {short(e.reason)}"
    return f"{actor} released {hold.by}'s hold on {e.release}: {short(e.reason)}"


def _retracted(actor: str, e: Any, s: IncidentState) -> str:
    target = next((x for x in reversed(s.timeline) if x.event_id == e.event), None)
    if target is None:
        return f"{actor} retracted an event: {short(e.reason)}"
    what = noun(target.type)
    release = target.data.get("release")
    on = f" on {release}" if release else ""
    whose = f"the {what} {actor} posted" if target.actor == actor else f"{target.actor}'s {what}"
    return f"{actor} retracted {whose}{on}: {short(e.reason)}"


_LINES: dict[str, Callable[[str, Any, IncidentState, Mapping[str, Handoff]], str]] = {
    "opened": lambda a, e, s, o: (
        f"{a} opened the incident ({e.severity}); {e.ic} is incident commander"
    ),
    "note": lambda a, e, s, o: f"{a}: {short(e.text)}",
    "link": lambda a, e, s, o: f"{a} linked {e.kind}: {e.title or e.url}",
    "step.added": lambda a, e, s, o: f"{a} added step {e.step}: {short(e.title)}",
    "step.updated": lambda a, e, s, o: (
        f"{a} updated step {e.step}"
        + (f" to {e.state}" if e.state else "")
        + (f" ({short(e.title, 50)})" if e.title else "")
    ),
    "status": lambda a, e, s, o: f"{a} posted status: {short(e.summary)}",
    "handoff.offered": lambda a, e, s, o: (
        f"{a} offered "
        + ("the IC role" if e.role == "ic" else "steps " + ", ".join(e.steps))
        + f" to {e.to}"
    ),
    "handoff.accepted": lambda a, e, s, o: f"{a} accepted {_offer(e, s, o)}",
    "ic.taken": lambda a, e, s, o: (
        f"{a} took over as incident commander from {e.from_ic}: {short(e.reason)}"
    ),
    "handoff.declined": lambda a, e, s, o: f"{a} declined {_offer(e, s, o)}: {short(e.reason, 60)}",
    "hold.raised": lambda a, e, s, o: f"{a} asked to hold {e.release}: {short(e.reason)}",
    "hold.released": lambda a, e, s, o: _released(a, e, s),
    "signoff.given": lambda a, e, s, o: f"{a} signed off for {e.team} on {e.release}",
    "signoff.revoked": lambda a, e, s, o: (
        f"{a} revoked {e.team}'s sign-off on {e.release}: " + short(e.reason, 60)
    ),
    "ship": lambda a, e, s, o: f"{a} decided to ship {e.release}: {short(e.statement)}",
    "resolved": lambda a, e, s, o: f"{a} resolved the incident: {short(e.summary, 70)}",
    "reopened": lambda a, e, s, o: f"{a} reopened the incident: {short(e.reason)}",
    "retro": lambda a, e, s, o: f"{a} added a retrospective note ({e.kind})",
    "release.added": lambda a, e, s, o: f"{a} added {e.release} to the incident",
    "retract": lambda a, e, s, o: _retracted(a, e, s),
    "doubt.checked": lambda a, e, s, o: f"{a} checked {', '.join(e.where)}: {short(e.finding, 60)}",
    "checkpoint": lambda a, e, s, o: f"{a} recorded a checkpoint of {e.count} events",
    "room.bound": lambda a, e, s, o: (
        f"{a} {'unbound' if e.unbound else 'bound'} {CHATS.get(e.chat, e.chat)} room {e.room} "
        + ("from" if e.unbound else "to")
        + " the incident"
    ),
}


# The free-text fields of events (what a one-line summary may shorten), and what views call them
TEXT_FIELDS = (
    ("text", "Text"),
    ("summary", "Summary"),
    ("statement", "Statement"),
    ("reason", "Reason"),
    ("finding", "Finding"),
    ("done", "Done"),
    ("todo", "To do"),
)


# What each event is called in a sentence ("quinn's sign-off follows …"): never the wire type.
NOUNS: dict[str, str] = {
    "opened": "opening of the incident",
    "note": "note",
    "link": "link",
    "step.added": "new checklist step",
    "step.updated": "checklist step update",
    "status": "status update",
    "handoff.offered": "handoff offer",
    "handoff.accepted": "acceptance of a handoff",
    "handoff.declined": "refusal of a handoff",
    "ic.taken": "take-over as incident commander",
    "hold.raised": "hold",
    "hold.released": "release of a hold",
    "signoff.given": "sign-off",
    "signoff.revoked": "revocation of a sign-off",
    "ship": "ship decision",
    "resolved": "resolution of the incident",
    "reopened": "reopening of the incident",
    "retro": "retrospective note",
    "release.added": "addition of a release",
    "retract": "retraction",
    "doubt.checked": "check of a doubt",
    "checkpoint": "checkpoint",
    "witness": "witness record",
    "digest": "digest",
    "reminder": "reminder",
    "retro.draft": "retrospective draft",
    "room.bound": "binding of a chat room",
}


def noun(event_type: str) -> str:
    """What an event of ``event_type`` is called in a sentence: "sign-off", "hold"."""
    return NOUNS.get(event_type, f"{event_type} event")


def summary(event: Event, actor: str, state: IncidentState, offers: Mapping[str, Handoff]) -> str:
    """The timeline line for ``event`` by ``actor``, read against the state before it."""
    line = _LINES.get(event.type)
    return line(actor, event, state, offers) if line else f"{actor} posted a {event.type}"
