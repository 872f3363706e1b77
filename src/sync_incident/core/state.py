"""The incident state: what :func:`sync_incident.core.fold.fold` derives from the comments.

Plain pydantic models, the documented ``show --json`` schema's building blocks. ``pos`` fields
are the event's position in the fold (the tracker's comment order, then the order of events
in a comment): "before" and "after" between events are always decided by ``pos``, never by
timestamps, so a sign-off and a hold stamped in the same second keep their real order.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from sync_incident.core.releases import release_key

STATE_SCHEMA = 2


class Entry(BaseModel):
    """One event in the timeline, accepted or not."""

    event_id: str
    type: str
    actor: str  # the person (policy key), or the account when the policy does not know it
    account: str
    at: datetime  # when the tracker stored the comment
    occurred_at: datetime | None = None  # backfilled events: when it really happened
    comment_id: str
    pos: int = 0
    accepted: bool
    retracted: bool = False  # withdrawn later by its author or the IC: shown struck through
    reason: str = ""  # why it was rejected (or retracted)
    summary: str
    data: dict[str, Any] = {}
    via: str = ""  # relayed from a chat room: "matrix" or "slack" ("alice (via Matrix)")


class Hold(BaseModel):
    id: str
    release: str
    by: str
    at: datetime
    pos: int = 0
    reason: str
    released_by: str | None = None
    released_at: datetime | None = None
    released_pos: int | None = None
    release_reason: str = ""


class Signoff(BaseModel):
    team: str
    release: str
    by: str
    at: datetime
    pos: int = 0
    statement: str
    event_id: str
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""


class ShipRecord(BaseModel):
    release: str
    by: str
    at: datetime
    pos: int = 0
    statement: str
    event_id: str


class NextStepView(BaseModel):
    what: str
    owner: str | None = None
    by: datetime | None = None
    by_zone: str | None = None  # the zone the time was typed in: views echo it there


class Handoff(BaseModel):
    id: str
    by: str
    to: str
    role: Literal["ic", "steps"]
    steps: list[str] = []
    at: datetime
    status: Literal["pending", "accepted", "declined", "superseded"] = "pending"
    answered_at: datetime | None = None
    decline_reason: str = ""
    done: str
    todo: str
    next_steps: list[NextStepView] = []
    notify: list[str] = []
    waited_minutes: int | None = None  # until answered, or until now while pending


class Step(BaseModel):
    step: str
    title: str
    owner: str | None = None
    state: Literal["todo", "doing", "done", "blocked"] = "todo"
    due: datetime | None = None
    due_zone: str | None = None  # the zone the due time was typed in
    updated_at: datetime
    overdue: bool = False


class Tenure(BaseModel):
    """One stretch of a person being incident commander."""

    ic: str
    since: datetime
    until: datetime | None = None


DoubtKind = Literal[
    "edited",
    "vanished",
    "unreadable",
    "private",
    "gap",
    "missing",
    "conflict",
    "witness",
    "history",
    "tracker",
]


class Doubt(BaseModel):
    """Something that makes the record untrustworthy until a person checks it.

    ``where`` names it the way a ``doubt.checked`` event does ("comment 17", "comment #4",
    "event 01J..."); ``clearable_by`` says who may check it (never nobody); ``checked_by``
    is set once one of them did.
    """

    kind: DoubtKind
    where: str
    comment_id: str = ""
    author: str = ""
    detail: str
    event_ids: list[str] = []
    body_hash: str = ""  # of the comment as read, so a check covers exactly this text
    # who may clear it (people, by name; the incident commander among them when they may),
    # and the same in words: "the incident commander (dana) checks it"
    clearable_by: list[str] = []
    clear_hint: str = ""
    checked_by: str | None = None
    checked_at: datetime | None = None
    finding: str = ""


class LinkView(BaseModel):
    url: str
    kind: str
    title: str
    by: str
    at: datetime


class Room(BaseModel):
    """A chat room bound to the incident: its events are announced there (``room.bound``)."""

    chat: Literal["matrix", "slack"]
    room: str
    by: str
    at: datetime
    event_id: str


class RetroItem(BaseModel):
    kind: str
    text: str
    owner: str | None
    by: str
    at: datetime


class IncidentState(BaseModel):
    """Everything folded from the record (see the README's JSON schema)."""

    schema_version: int = STATE_SCHEMA
    ref: str = ""
    title: str = ""
    url: str = ""
    tracker: str = ""
    policy: Literal["configured", "permissive"] = "permissive"
    opened: bool = False
    opened_at: datetime | None = None
    opened_by: str | None = None
    status: Literal["not-opened", "active", "resolved"] = "not-opened"
    resolved_at: datetime | None = None
    resolution: str = ""
    severity: str | None = None
    releases: list[str] = []
    ic: str | None = None
    ic_since: datetime | None = None
    ic_history: list[Tenure] = []
    holds: list[Hold] = []  # open holds
    released_holds: list[Hold] = []
    signoffs: list[Signoff] = []  # in force: one per (release, team)
    revoked_signoffs: list[Signoff] = []
    replaced_signoffs: list[Signoff] = []  # superseded by a later sign-off of the same team
    ship_decisions: list[ShipRecord] = []
    handoffs: list[Handoff] = []
    checklist: list[Step] = []
    links: list[LinkView] = []
    retro: list[RetroItem] = []
    rooms: list[Room] = []  # chat rooms bound to the incident, oldest first
    participants: list[str] = []
    last_update: datetime | None = None
    last_event_id: str | None = None  # what the next event written should follow
    last_status: str | None = None
    last_status_by: str | None = None
    last_status_at: datetime | None = None
    next_update_due: datetime | None = None
    next_update_zone: str | None = None  # the zone the promise was typed in
    update_overdue: bool = False
    doubts: list[Doubt] = []  # open: the gate refuses while any exists
    checked_doubts: list[Doubt] = []  # checked by the incident commander
    timeline: list[Entry] = []
    warnings: list[str] = []

    @property
    def pending_handoffs(self) -> list[Handoff]:
        return [h for h in self.handoffs if h.status == "pending"]

    def holds_on(self, release: str) -> list[Hold]:
        key = release_key(release)
        return [h for h in self.holds if release_key(h.release) == key]

    def concerns(self, release: str) -> str | None:
        """The incident's own spelling of ``release``, or None when it is not one of them."""
        key = release_key(release)
        return next((r for r in self.releases if release_key(r) == key), None)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)
