"""The event vocabulary: every change of an incident's state is one of these.

Events are immutable pydantic models with a discriminating ``type``. Each gets a ULID when it
is created, so ids are unique and sort by creation time. The actor and the time of an event
are NOT fields: they come from the tracker comment that carries it (PRODUCT.md "Trust").

The vocabulary is versioned by :data:`FORMAT_MAJOR`, written into every trailer. Adding an
optional field or a new event type keeps the major version (old readers ignore unknown fields
and report unknown types as warnings); anything else bumps it.
"""

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    model_validator,
)

from sync_incident.core.releases import normalise_release
from sync_incident.core.times import ZONE_NAME

FORMAT_MAJOR = 1

StepState = Literal["todo", "doing", "done", "blocked"]
LinkKind = Literal["patch", "doc", "bug", "call", "other"]
RetroKind = Literal["root_cause", "went_well", "could_be_better", "action_item"]
HandoffRole = Literal["ic", "steps"]

_ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_SURROGATE = re.compile("[\ud800-\udfff]")


def new_event_id() -> str:
    """A fresh ULID: unique, and sortable by creation time."""
    from ulid import ULID  # here: commands that only read never make one

    return str(ULID())


def own_id(event_id: str, account: str) -> str:
    """``event_id`` bound to the account that posts it: the same time part, another tail.

    Derived ids (digests, reminders, checkpoints, witness records) are keyed on the tool's
    own account, so replicas sharing the account derive one id and nobody else's event was
    made for it.
    """
    import hashlib

    from ulid import ULID

    head = ULID.from_str(event_id).bytes[:6]
    tail = hashlib.sha256(f"{account}|{event_id}".encode()).digest()[:10]
    return str(ULID.from_bytes(head + tail))


def event_id_for(key: str, stamp: datetime) -> str:
    """A ULID every replica derives alike: the stamp's milliseconds + 80 bits of sha256(key).

    For events that must be posted once however many replicas derive them (digests,
    reminders, witnesses): the same key and stamp give the same id, which the fold keeps once.
    """
    import hashlib

    from ulid import ULID

    ms = max(0, int(stamp.timestamp() * 1000)) & ((1 << 48) - 1)
    tail = hashlib.sha256(key.encode("utf-8")).digest()[:10]
    return str(ULID.from_bytes(ms.to_bytes(6, "big") + tail))


def clean_text(value: str) -> str:
    """Text that can always be printed: lone surrogates (never valid) become U+FFFD."""
    if value.isascii():  # a flag on the string, no scan: most text is ASCII
        return value
    return _SURROGATE.sub("\ufffd", value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


_NO_CLEANING = {"clean": False}


def _cleaning(info: ValidationInfo) -> bool:
    """Whether to replace lone surrogates: unless the caller said the data holds none."""
    context = info.context
    return not (isinstance(context, dict) and context.get("clean") is False)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("time must carry a timezone (for example 2022-01-12T14:03Z)")
    return value.astimezone(UTC)


def _zone(value: str) -> str:
    # by shape only: a reader whose tz database lacks the zone still reads the event (and
    # writes the time in UTC alone)
    if not ZONE_NAME.match(value):
        raise ValueError("must be a timezone name like Europe/Berlin, or an offset like +05:30")
    return value


def _release(value: str) -> str:
    return normalise_release(value)


def _name(value: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise ValueError("must not be empty")
    return cleaned


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


UtcTime = Annotated[datetime, AfterValidator(_utc)]
Release = Annotated[str, AfterValidator(_release)]
Name = Annotated[str, AfterValidator(_name)]
Text = Annotated[str, AfterValidator(_text)]
# the zone a time was typed in (or the author's, a time typed without one): its sentence
# echoes the time in that zone. Never set for UTC, which adds nothing
Zone = Annotated[str, AfterValidator(_zone)]


# Validators are built on first use, not at import: a command meets a few of the 25 event
# types, and building them all took about a tenth of the start-up of `show`.
_CONFIG = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class Via(BaseModel):
    """A chat relay's envelope: who said it in which chat room, and the chat message's id.

    A relay bot posts under its own account for a person who spoke in a Matrix or Slack
    room. The event counts only when the comment's author is one of the policy's
    ``relays`` and ``user`` is a chat identity the policy maps to a person; it is then that
    person's. Anything else carrying ``via`` is rejected, as a forged trailer is.
    """

    model_config = _CONFIG

    chat: Literal["matrix", "slack"]
    user: Name  # "@alice:example.org" (Matrix), "U024BE7LH" (Slack)
    message: Name  # the chat message's id, so a reader can find what was said


class _Event(BaseModel):
    model_config = _CONFIG

    id: str = Field(default_factory=new_event_id, pattern=_ULID.pattern)
    # the last accepted event the writer saw: a later event pointing at one a reader cannot
    # see proves a deletion to every reader, with or without a cache
    follows: str | None = Field(default=None, pattern=_ULID.pattern)
    via: Via | None = None  # posted by a chat relay for the person who said it

    @model_validator(mode="before")
    @classmethod
    def _printable(cls, data: Any, info: ValidationInfo) -> Any:
        return _clean(data) if isinstance(data, dict) and _cleaning(info) else data


class Opened(_Event):
    """The incident starts; the opener names the first incident commander."""

    type: Literal["opened"] = "opened"
    title: Text
    severity: str = "S2"
    releases: list[Release] = []
    ic: Name


class Note(_Event):
    """A timeline entry; ``occurred_at`` places a backfilled event at its real time."""

    type: Literal["note"] = "note"
    text: Text
    occurred_at: UtcTime | None = None
    occurred_zone: Zone | None = None
    links: list[str] = []


class Link(_Event):
    type: Literal["link"] = "link"
    url: Text
    kind: LinkKind = "other"
    title: str = ""


class StepAdded(_Event):
    type: Literal["step.added"] = "step.added"
    step: Name
    title: Text
    owner: str | None = None
    state: StepState = "todo"
    due: UtcTime | None = None
    due_zone: Zone | None = None


class StepUpdated(_Event):
    type: Literal["step.updated"] = "step.updated"
    step: Name
    title: str | None = None  # renames the step
    state: StepState | None = None
    owner: str | None = None
    due: UtcTime | None = None
    due_zone: Zone | None = None
    note: str = ""


class StatusUpdate(_Event):
    """Where things stand. Without ``next_update_due`` the promised time stays, unless cleared."""

    type: Literal["status"] = "status"
    summary: Text
    next_update_due: UtcTime | None = None
    next_update_zone: Zone | None = None
    clear_next_update: bool = False


class NextStep(BaseModel):
    model_config = _CONFIG

    @model_validator(mode="before")
    @classmethod
    def _printable(cls, data: Any, info: ValidationInfo) -> Any:
        return _clean(data) if isinstance(data, dict) and _cleaning(info) else data

    what: Text
    owner: str | None = None
    by: UtcTime | None = None
    by_zone: Zone | None = None


class HandoffOffered(_Event):
    """Rule 4: recipient, what is done, what remains, who does what by when, whom to notify."""

    type: Literal["handoff.offered"] = "handoff.offered"
    to: Name
    role: HandoffRole = "ic"
    steps: list[str] = []
    done: Text
    todo: Text
    next_steps: list[NextStep] = []
    notify: list[str] = []


class TakeOver(_Event):
    """An incident lead takes over as incident commander, with a reason everybody reads.

    For an IC who cannot act (gone, on leave, not answering, no longer in the policy): the
    handoff the IC never offered. ``from_ic`` names the IC taken over from, as the taker saw.
    """

    type: Literal["ic.taken"] = "ic.taken"
    from_ic: Name
    reason: Text


class HandoffAccepted(_Event):
    type: Literal["handoff.accepted"] = "handoff.accepted"
    offer: str = Field(pattern=_ULID.pattern)


class HandoffDeclined(_Event):
    type: Literal["handoff.declined"] = "handoff.declined"
    offer: str = Field(pattern=_ULID.pattern)
    reason: str = ""


class HoldRaised(_Event):
    type: Literal["hold.raised"] = "hold.raised"
    release: Release
    reason: Text


class HoldReleased(_Event):
    type: Literal["hold.released"] = "hold.released"
    release: Release
    hold: str = Field(pattern=_ULID.pattern)
    reason: str = ""


class SignoffGiven(_Event):
    type: Literal["signoff.given"] = "signoff.given"
    team: Name
    release: Release
    statement: Text


class SignoffRevoked(_Event):
    type: Literal["signoff.revoked"] = "signoff.revoked"
    team: Name
    release: Release
    reason: Text


class ShipDecision(_Event):
    type: Literal["ship"] = "ship"
    release: Release
    statement: Text


class Resolved(_Event):
    type: Literal["resolved"] = "resolved"
    summary: str = ""


class Reopened(_Event):
    type: Literal["reopened"] = "reopened"
    reason: Text


class RetroNote(_Event):
    type: Literal["retro"] = "retro"
    kind: RetroKind
    text: Text
    owner: str | None = None


class DigestPosted(_Event):
    """A status digest; ``key`` names the incident set and period, so it is posted once."""

    type: Literal["digest"] = "digest"
    key: Name
    text: Text


class Reminder(_Event):
    """A reminder the daemon posted; ``key`` names what and for which period."""

    type: Literal["reminder"] = "reminder"
    key: Name
    kind: str
    to: str | None = None
    text: Text


class ReleaseAdded(_Event):
    """A release this incident concerns, added after opening (sign-offs name one of these)."""

    type: Literal["release.added"] = "release.added"
    release: Release
    reason: str = ""


class Retracted(_Event):
    """An event posted in error, withdrawn by its author or the incident commander."""

    type: Literal["retract"] = "retract"
    event: str = Field(pattern=_ULID.pattern)
    reason: str = ""


class DoubtChecked(_Event):
    """Someone who may clear a doubt checked it, and says what they found.

    ``where`` names the doubts as the fold reports them ("comment 17", "comment #4").
    ``seen_hidden``: the checker looked at the comments this reader cannot see (Bugzilla's
    private and hidden comments as an insider, GitHub's audit log of deleted comments):
    what the incident commander needs to clear a hold flag with no hold behind it.
    """

    type: Literal["doubt.checked"] = "doubt.checked"
    where: list[str]
    finding: str = ""
    hashes: dict[str, str] = {}  # where -> hash of the comment text as checked
    seen_hidden: bool = False


class Checkpoint(_Event):
    """A witness (the daemon) records what the record held: a later reader compares.

    ``count`` events before this comment, ``digest`` a hash of their ids and contents in
    order (:func:`sync_incident.core.codec.record_digest`), ``last`` the last of them.
    """

    type: Literal["checkpoint"] = "checkpoint"
    count: int = Field(ge=0)
    digest: Name
    last: str | None = None


class Witnessed(_Event):
    """A witness (the daemon or ``serve``) reports what the tracker told it happened to a comment.

    GitHub delivers comment deletions and edits as webhooks, with the old text: the witness
    records them here, so every later reader sees the doubt even though the comment is gone.
    ``events`` are the ids the comment carried; ``by`` and ``at`` are the tracker's.
    """

    type: Literal["witness"] = "witness"
    what: Literal["deleted", "edited"]
    comment: Name
    events: list[str] = []
    by: str = ""
    at: UtcTime | None = None


class RoomBound(_Event):
    """A chat room bound to the incident by its commander (or unbound, ``unbound``).

    While bound, the incident's events are announced in the room and the people there may
    act on the incident from it (``!incident`` in Matrix, ``/incident`` in Slack). Recorded
    on the tracker, so every replica and every restart knows the binding.
    """

    type: Literal["room.bound"] = "room.bound"
    chat: Literal["matrix", "slack"]
    room: Name  # "!abcdef:example.org" (a Matrix room id), "C024BE91L" (a Slack channel id)
    unbound: bool = False


class RetroDraft(_Event):
    """A posted retrospective draft; ``digest`` is the hash of its Markdown."""

    type: Literal["retro.draft"] = "retro.draft"
    digest: Name
    revision: int = 1
    text: Text


Event = Annotated[
    Opened
    | Note
    | Link
    | StepAdded
    | StepUpdated
    | StatusUpdate
    | HandoffOffered
    | TakeOver
    | HandoffAccepted
    | HandoffDeclined
    | HoldRaised
    | HoldReleased
    | SignoffGiven
    | SignoffRevoked
    | ShipDecision
    | Resolved
    | Reopened
    | RetroNote
    | DigestPosted
    | Reminder
    | RetroDraft
    | ReleaseAdded
    | Retracted
    | DoubtChecked
    | Checkpoint
    | Witnessed
    | RoomBound,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[_Event]] = {
    cls.model_fields["type"].default: cls
    for cls in (
        Opened,
        Note,
        Link,
        StepAdded,
        StepUpdated,
        StatusUpdate,
        HandoffOffered,
        TakeOver,
        HandoffAccepted,
        HandoffDeclined,
        HoldRaised,
        HoldReleased,
        SignoffGiven,
        SignoffRevoked,
        ShipDecision,
        Resolved,
        Reopened,
        RetroNote,
        DigestPosted,
        Reminder,
        RetroDraft,
        ReleaseAdded,
        Retracted,
        DoubtChecked,
        Checkpoint,
        Witnessed,
        RoomBound,
    )
}

# any event by its ``type``; built on first use, like the event classes
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event, config=ConfigDict(defer_build=True))


def validate_event(kind: str, data: dict[str, Any], *, clean: bool = True) -> Event:
    """What :data:`EVENT_ADAPTER` makes of ``data`` as an event of type ``kind``.

    Only that type's validator is built. ``kind`` must be a key of :data:`EVENT_TYPES`.
    Error locations start at the field: the adapter's have the type in front. ``clean=False``:
    the caller knows ``data`` holds no lone surrogate (the walk that replaces them is skipped).
    """
    context = None if clean else _NO_CLEANING
    event = EVENT_TYPES[kind].model_validate({**data, "type": kind}, context=context)
    return cast("Event", event)  # every class in EVENT_TYPES is a member of the Event union


# Events that only inform: they never change the incident's state.
INFORMATIONAL = frozenset({"digest", "reminder", "retro.draft", "checkpoint", "witness"})

# What a "decisions only" view of a timeline keeps: who may ship, who holds, who is in charge
# (the retrospective's timeline and the incident page's filter).
DECISIONS = frozenset(
    {
        "opened",
        "resolved",
        "reopened",
        "hold.raised",
        "hold.released",
        "signoff.given",
        "signoff.revoked",
        "ship",
        "handoff.offered",
        "handoff.accepted",
        "handoff.declined",
        "retract",
        "doubt.checked",
    }
)
