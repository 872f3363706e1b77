"""What the retrospective draft says: its data classes and the few words they are told in.

Everything here is plain data (frozen dataclasses) and stdlib formatting; :mod:`.build` fills
it from the incident record, :mod:`.render` and :mod:`.picture` only read it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
    """A timeline column: the participants' timezones that keep one UTC offset over the incident.

    ``name`` is the first IANA name (west to east, then by name); ``names`` every IANA name the
    column stands for; ``offsets`` the offset over the incident ("UTC−05:00", or
    "UTC−05:00 → UTC−04:00" where the clocks changed). Never an abbreviation: "CST" and "IST"
    each name three zones.
    """

    name: str
    people: list[str]
    names: list[str] = field(default_factory=list)
    offsets: str = ""

    @property
    def label(self) -> str:
        """``America/New_York = America/Toronto``: every IANA name of the column."""
        return " = ".join(self.names or [self.name])


@dataclass(frozen=True)
class TimelineRow:
    at: datetime  # when it happened: occurred_at for backfilled events, else the comment time
    recorded_at: datetime  # when the tracker stored the comment
    backfilled: bool
    actor: str
    type: str
    summary: str
    event_id: str
    local: list[str]  # ``at`` in each of :attr:`Retro.zones`, same order ("2022-01-10 09:05")
    tag: str = ""  # a short label for the picture: "QA 96.0.2", "hold 96.0.2"; or ""
    zone: int | None = None  # the actor's column in :attr:`Retro.zones`; None: UTC or unknown
    own_zone: str = ""  # the actor's own IANA zone ("" when the policy names none)
    release: str = ""  # the release a hold, sign-off or ship decision names
    decision: bool = False  # a hold, sign-off, ship decision, handoff or IC change
    full: list[tuple[str, str]] = field(default_factory=list)  # what the summary shortens

    @property
    def actor_local(self) -> str:
        """The actor's own wall-clock time ("2022-01-10 09:05"); "" when their zone is unknown."""
        return wall(self.at, self.own_zone) if self.own_zone else ""


@dataclass(frozen=True)
class Window:
    opened_at: datetime | None
    opened_by: str | None
    first_sign_at: datetime | None  # earliest backfilled event, when before the opening
    first_sign_minutes: int | None  # how long before the opening
    mitigated_at: datetime | None  # the incident: the last release that shipped was decided
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
    replaced_by: str | None = None  # a later sign-off of the same team took its place
    replaced_at: datetime | None = None
    was_stale: bool = False  # replaced after a later hold had made it stale

    @property
    def status(self) -> str:
        """``revoked``, ``replaced``, ``stale`` or ``in force``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.replaced_at is not None:
            return "replaced"
        return "stale" if self.stale else "in force"


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
    mitigated_at: datetime | None = None  # its first ship decision
    to_mitigated_minutes: int | None = None  # from the opening


@dataclass(frozen=True)
class LinkRow:
    kind: str
    title: str
    url: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Problem:
    """An event that did not count, or something that made the record doubtful.

    ``kind``: "rejected" (the rules refused it), "retracted" (withdrawn by ``by``),
    a doubt's kind ("edited", "vanished", "unreadable", …) while it is open, "checked" once the
    incident commander checked it (``by``, ``by_at``, ``finding``), or "warning".
    """

    kind: str
    at: datetime | None
    who: str
    what: str
    why: str
    by: str | None = None  # who retracted it, or who checked the doubt
    by_at: datetime | None = None  # when ``by`` did
    finding: str = ""
    doubt: str = ""  # the doubt's own kind, for a checked one ("unreadable")


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
    zones: list[Zone]  # the participants' distinct offsets, not UTC's
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
    utc_names: list[str] = field(default_factory=list)  # participants' zones equal to UTC

    def name(self, person: str | None) -> str:
        if person is None:
            return "nobody"
        return self.names.get(person, person)


# --- formatting helpers (also Jinja filters) ---------------------------------------------------


def utc(value: datetime | None) -> str:
    """``2022-01-12 14:03 UTC``; ``—`` where the record has no time."""
    return times.utc(value, missing="—")


def wall(moment: datetime, zone: str) -> str:
    """``2022-01-10 09:05``: the wall-clock time in ``zone`` (an IANA name), ISO date, 24 h."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def offset(moment: datetime, zone: str) -> str:
    """``UTC−05:00``, ``UTC+05:30``: the zone's offset at ``moment`` (never an abbreviation)."""
    delta = moment.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
