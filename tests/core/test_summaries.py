"""The words the timeline and the doubts use for events."""

from __future__ import annotations

from sync_incident.core.events import EVENT_TYPES
from sync_incident.core.summaries import NOUNS, noun


def test_every_event_type_has_a_noun_without_its_wire_spelling() -> None:
    assert set(NOUNS) == set(EVENT_TYPES)
    for kind in EVENT_TYPES:
        assert "." not in noun(kind) and "_" not in noun(kind), kind


def test_the_sign_off_is_called_a_sign_off() -> None:
    assert noun("signoff.given") == "sign-off"
