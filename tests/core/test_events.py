"""The event vocabulary: ids, releases, times, every type, the discriminated union."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from sync_incident.core.events import (
    EVENT_ADAPTER,
    EVENT_TYPES,
    INFORMATIONAL,
    DigestPosted,
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Link,
    NextStep,
    Note,
    Opened,
    Reminder,
    Reopened,
    Resolved,
    RetroDraft,
    RetroNote,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
    StepAdded,
    StepUpdated,
    new_event_id,
)
from sync_incident.core.releases import normalise_release, release_key

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
T0 = datetime(2022, 1, 12, 14, 3, tzinfo=UTC)
OFFER = "01HZZZZZZZZZZZZZZZZZZZZZZZ"

# One valid instance's fields for every event type (id and type added by the model).
SAMPLES: dict[str, dict[str, Any]] = {
    "opened": {"title": "Startup crash", "releases": ["Firefox 96.0.1"], "ic": "alice"},
    "note": {"text": "The patch landed.", "occurred_at": T0, "links": ["https://x.test/1"]},
    "link": {"url": "https://x.test/patch", "kind": "patch", "title": "Fix"},
    "step.added": {"step": "4", "title": "Verify", "owner": "bob", "due": T0},
    "step.updated": {"step": "4", "state": "done"},
    "status": {"summary": "Builds are green.", "next_update_due": T0},
    "handoff.offered": {
        "to": "beatrice",
        "done": "Step 4.",
        "todo": "Step 5.",
        "next_steps": [{"what": "Step 5", "owner": "beatrice", "by": T0}],
        "notify": ["Relman"],
    },
    "handoff.accepted": {"offer": OFFER},
    "handoff.declined": {"offer": OFFER, "reason": "Off today."},
    "ic.taken": {"from_ic": "carol", "reason": "carol is on leave and has not answered."},
    "hold.raised": {"release": "Firefox 96.0.1", "reason": "crash spike"},
    "hold.released": {"release": "Firefox 96.0.1", "hold": OFFER, "reason": "fixed"},
    "signoff.given": {"team": "QA", "release": "Firefox 96.0.1", "statement": "QA signs off."},
    "signoff.revoked": {"team": "QA", "release": "Firefox 96.0.1", "reason": "regression"},
    "ship": {"release": "Focus 97.0", "statement": "Please ship Focus 97.0 to users."},
    "resolved": {"summary": "Shipped."},
    "reopened": {"reason": "The crash is back."},
    "retro": {"kind": "action_item", "text": "Add a test.", "owner": "bob"},
    "digest": {"key": "daily-2022-01-12", "text": "Digest."},
    "reminder": {"key": "handoff-1", "kind": "handoff", "to": "beatrice", "text": "Reminder."},
    "retro.draft": {"digest": "abc123", "text": "# Retro"},
    "release.added": {"release": "Firefox 96.0.2", "reason": "the respin"},
    "retract": {"event": OFFER, "reason": "posted on the wrong incident"},
    "doubt.checked": {"where": ["comment 17"], "finding": "only a typo was fixed"},
    "checkpoint": {"count": 12, "digest": "0123abcd", "last": OFFER},
    "witness": {"what": "deleted", "comment": "1234", "events": [OFFER], "by": "mallory"},
    "room.bound": {"chat": "matrix", "room": "!ops:example.org"},
}


def test_samples_cover_every_event_type() -> None:
    assert set(SAMPLES) == set(EVENT_TYPES)


def test_event_ids_are_ulids() -> None:
    assert ULID_RE.match(new_event_id())


def test_event_ids_are_unique() -> None:
    ids = [new_event_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)


def test_event_ids_sort_by_creation_order() -> None:
    # ULIDs from one process are monotonic within a millisecond as well as across them
    ids = [Note(text=f"note {i}").id for i in range(500)]
    assert ids == sorted(ids)


def test_each_event_gets_its_own_id() -> None:
    assert Note(text="a").id != Note(text="a").id


def test_event_id_must_be_a_ulid() -> None:
    with pytest.raises(ValidationError):
        Note(id="not-a-ulid", text="a")


def test_release_whitespace_is_normalised() -> None:
    assert normalise_release("  Firefox   96.0.1 ") == "Firefox 96.0.1"


def test_release_with_a_multi_word_product_is_kept() -> None:
    assert normalise_release("Firefox ESR 91.5.1esr") == "Firefox ESR 91.5.1esr"


@pytest.mark.parametrize("text", ["", "Firefox", "96.0.1", "Firefox beta", "Firefox .1"])
def test_release_without_a_version_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a release"):
        normalise_release(text)


def test_event_release_field_is_normalised() -> None:
    hold = HoldRaised(release="Firefox    96.0.1", reason="crash")
    assert hold.release == "Firefox 96.0.1"


def test_event_release_field_without_version_is_refused() -> None:
    with pytest.raises(ValidationError):
        SignoffGiven(team="QA", release="Firefox", statement="QA signs off.")


def test_release_key_folds_the_product_case() -> None:
    assert release_key("firefox 96.0.1") == release_key("Firefox 96.0.1")


def test_release_key_compares_versions_exactly() -> None:
    assert release_key("Firefox 96.0.1") != release_key("Firefox 96.0.10")


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Note(text="backfilled", occurred_at=datetime(2022, 1, 12, 14, 3))


def test_aware_time_is_converted_to_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    note = Note(text="backfilled", occurred_at=datetime(2022, 1, 12, 15, 3, tzinfo=berlin))
    assert note.occurred_at == T0
    assert note.occurred_at is not None and note.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "zone",
    ["Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5", "+05:45", "Mars/Olympus"],
)
def test_a_typed_zone_is_kept_by_its_shape_even_when_this_machine_does_not_know_it(
    zone: str,
) -> None:
    # a reader with an older tz database must still read the event (and fold it alike)
    step = NextStep(what="Verify", by=datetime(2022, 1, 12, tzinfo=UTC), by_zone=zone)
    assert step.by_zone == zone


@pytest.mark.parametrize("zone", ["", "../../etc/passwd", "Europe/Berlin; rm", "+5:45", "/UTC"])
def test_a_typed_zone_that_is_no_zone_name_is_refused(zone: str) -> None:
    with pytest.raises(ValidationError, match="must be a timezone name"):
        StepAdded(step="4", title="Verify", due=datetime(2022, 1, 12, tzinfo=UTC), due_zone=zone)


def test_naive_time_in_a_next_step_is_refused() -> None:
    with pytest.raises(ValidationError):
        NextStep(what="Step 5", by=datetime(2022, 1, 12))


@pytest.mark.parametrize(
    "cls,fields",
    [
        (Note, {"text": "   "}),
        (Opened, {"title": "", "ic": "alice"}),
        (Opened, {"title": "Crash", "ic": "  "}),
        (HoldRaised, {"release": "Firefox 96.0.1", "reason": "\n"}),
        (Reopened, {"reason": ""}),
    ],
)
def test_required_text_must_not_be_blank(cls: Any, fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        cls(**fields)


def test_names_are_whitespace_normalised() -> None:
    assert SignoffGiven(team="  Rel  eng ", release="X 1", statement="s").team == "Rel eng"


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_event_type_constructs(kind: str) -> None:
    event = EVENT_TYPES[kind](**SAMPLES[kind])
    assert event.type == kind  # type: ignore[attr-defined]
    assert ULID_RE.match(event.id)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_union_dispatches_on_type(kind: str) -> None:
    event = EVENT_ADAPTER.validate_python({"type": kind, **SAMPLES[kind]})
    assert type(event) is EVENT_TYPES[kind]


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_union_round_trips_through_json(kind: str) -> None:
    event = EVENT_TYPES[kind](**SAMPLES[kind])
    again = EVENT_ADAPTER.validate_json(event.model_dump_json())
    assert again == event


def test_union_refuses_an_unknown_type() -> None:
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_python({"type": "explode", "text": "boom"})


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    event = EVENT_ADAPTER.validate_python({"type": "note", "text": "a", "added_in_v1_9": 1})
    assert isinstance(event, Note)


def test_events_are_immutable() -> None:
    note = Note(text="a")
    with pytest.raises(ValidationError):
        note.text = "b"


@pytest.mark.parametrize(
    "cls,fields",
    [
        (Link, {"url": "https://x", "kind": "video"}),
        (StepAdded, {"step": "1", "title": "t", "state": "started"}),
        (StepUpdated, {"step": "1", "state": "finished"}),
        (RetroNote, {"kind": "blame", "text": "t"}),
        (HandoffOffered, {"to": "b", "done": "d", "todo": "t", "role": "boss"}),
        (HandoffAccepted, {"offer": "nope"}),
        (HandoffDeclined, {"offer": "nope"}),
        (HoldReleased, {"release": "X 1", "hold": "nope"}),
    ],
)
def test_closed_vocabularies_refuse_unknown_values(cls: Any, fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        cls(**fields)


def test_informational_events_are_the_daemon_posts() -> None:
    assert {
        "checkpoint",
        "witness",
        DigestPosted.model_fields["type"].default,
        Reminder.model_fields["type"].default,
        RetroDraft.model_fields["type"].default,
    } == INFORMATIONAL


def test_defaults_of_the_simple_events() -> None:
    assert Opened(title="t", ic="a").severity == "S2"
    assert Resolved().summary == ""
    assert StatusUpdate(summary="s").next_update_due is None
    assert SignoffRevoked(team="QA", release="X 1", reason="r").team == "QA"
    assert ShipDecision(release="X 1", statement="s").release == "X 1"
