"""What the retrospective draft says: its data classes and the few words they are told in.

Everything here is plain data (frozen dataclasses) and stdlib formatting; :mod:`.build` fills
it from the incident record, :mod:`.render` and :mod:`.picture` only read it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sync_incident.core import times

SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "root_cause",
        "Root causes",
        "No root cause recorded yet. What made this happen, and why was it not caught earlier?",
    ),
    (
        "went_well",
        "What went well",
        "Nothing recorded yet. Which practices, tools or decisions helped?",
    ),
    (
        "could_be_better",
        "What could have gone better",
        "Nothing recorded yet. Where did we lose time, context or certainty?",
    ),
    (
        "action_item",
        "Action items",
        "No action items yet. What will make the next incident at least incrementally better, "
        "who owns it, and by when?",
    ),
)


class Format(enum.StrEnum):
    """What ``sync-incident retro --format`` writes."""

    md = "md"
    html = "html"


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    """A timeline column: one timezone and the participants who live in it."""

    name: str
    people: list[str]


@dataclass(frozen=True)
class TimelineRow:
    at: datetime  # when it happened: occurred_at for backfilled events, else the comment time
    recorded_at: datetime  # when the tracker stored the comment
    backfilled: bool
    actor: str
    type: str
    summary: str
    event_id: str
    local: list[str]  # ``at`` in each of :attr:`Retro.zones`, same order
    tag: str = ""  # a short label for the picture: "QA", "hold 96.0.2", "ship 96.0.2"; or ""


@dataclass(frozen=True)
class Window:
    opened_at: datetime | None
    opened_by: str | None
    first_sign_at: datetime | None  # earliest backfilled event, when before the opening
    first_sign_minutes: int | None  # how long before the opening
    mitigated_at: datetime | None
    mitigated_how: str  # which definition applied, in words
    resolved_at: datetime | None
    as_of: datetime  # where durations of open intervals end
    to_mitigated_minutes: int | None
    to_resolved_minutes: int | None
    mitigated_to_resolved_minutes: int | None


@dataclass(frozen=True)
class Participant:
    person: str
    name: str
    timezone: str | None
    teams: list[str]
    events: int
    steps_done: list[str]
    holds_raised: int
    holds_released: int
    signoffs: list[str]
    ship_decisions: list[str]
    decisions: list[str]  # sign-offs (revoked ones marked) and ship decisions, in words
    was_ic: bool
    ic_minutes: int
    handoffs_offered: int
    handoffs_accepted: int
    handoffs_declined: int


@dataclass(frozen=True)
class TenureRow:
    ic: str
    since: datetime
    until: datetime | None  # None: still IC at the end of the record
    minutes: int


@dataclass(frozen=True)
class HandoffRow:
    id: str
    by: str
    to: str
    role: str
    steps: list[str]
    offered_at: datetime
    status: str
    answered_at: datetime | None
    waited_minutes: int | None  # None while pending
    decline_reason: str
    done: str
    todo: str


@dataclass(frozen=True)
class HoldRow:
    id: str
    release: str
    by: str
    at: datetime
    reason: str
    released_by: str | None
    released_at: datetime | None
    held_minutes: int  # until released, or until the end of the record
    release_reason: str


@dataclass(frozen=True)
class SignoffRow:
    team: str
    by: str
    at: datetime
    statement: str
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""
    stale: str | None = None  # why the gate calls this sign-off stale; None when it does not


@dataclass(frozen=True)
class ShipRow:
    by: str
    at: datetime
    statement: str
    stale: str | None = None  # why the gate calls this ship decision stale; None when it does not


@dataclass(frozen=True)
class ReleaseRow:
    """One release as the gate sees it at the end of the record, and what happened to it."""

    release: str
    required: list[str]  # the gate's required teams
    missing: list[str]  # required teams with no sign-off at all (or none that can count)
    stale: list[str]  # required teams whose sign-off predates a later hold
    ready: bool  # the gate's verdict
    reasons: list[str]  # the gate's reasons, when not ready
    signoffs: list[SignoffRow]
    ships: list[ShipRow]
    verdict: str = "NOT READY"  # the gate's label: READY, NOT READY or IN DOUBT
    revoked: list[str] = field(default_factory=list)  # required teams whose sign-off was revoked


@dataclass(frozen=True)
class LinkRow:
    kind: str
    title: str
    url: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Problem:
    kind: str  # "rejected", "edited", "vanished", "unreadable", "warning"
    at: datetime | None
    who: str
    what: str
    why: str


@dataclass(frozen=True)
class NoteRow:
    text: str
    owner: str | None
    by: str
    at: datetime


@dataclass(frozen=True)
class Section:
    kind: str
    heading: str
    prompt: str
    items: list[NoteRow]


@dataclass(frozen=True)
class Retro:
    """Everything the draft says; both renderers read only this."""

    ref: str
    url: str
    title: str
    tracker: str
    policy: str  # "configured" or "permissive"
    status: str
    severity: str | None
    releases: list[str]
    products: list[str]
    ic: str | None
    window: Window
    zones: list[Zone]
    timeline: list[TimelineRow]
    participants: list[Participant]
    tenures: list[TenureRow]
    handoffs: list[HandoffRow]
    holds: list[HoldRow]
    release_rows: list[ReleaseRow]
    links: list[LinkRow]
    problems: list[Problem]
    sections: list[Section]
    names: dict[str, str] = field(default_factory=dict)  # person key -> display name

    def name(self, person: str | None) -> str:
        if person is None:
            return "nobody"
        return self.names.get(person, person)


# --- formatting helpers (also Jinja filters) ---------------------------------------------------


def utc(value: datetime | None) -> str:
    """``2022-01-12 14:03 UTC``; ``—`` where the record has no time."""
    return times.utc(value, missing="—")
