"""Vague decisions in a room, and explicit sentences read as the commands that record them."""

from __future__ import annotations

import pytest

from sync_incident.chat.commands import Do, parse
from sync_incident.chat.vague import explicit_form, vague_decision, what_was_vague


@pytest.mark.parametrize(
    "text",
    [
        "It seems better",
        "LGTM, we can proceed",
        "looks good to me",
        "should be fine",
        "I think we are ready to ship",
        "probably ok to release",
    ],
)
def test_a_vague_decision_is_caught(text: str) -> None:
    assert vague_decision(text)


@pytest.mark.parametrize(
    "text",
    [
        "the build is green",
        "it is building, I will look later",
        "maybe lunch first",
        "QA signs off on Firefox 96.0.1.",
        "the crash rate is back at the 95.0 baseline",
    ],
)
def test_chatter_is_left_alone(text: str) -> None:
    assert vague_decision(text) == []


def test_what_was_vague_names_each_reason_once() -> None:
    said = what_was_vague(vague_decision("it seems better, it seems"))
    assert said.count("'seems' hedges") == 1 and "'better' is relative" in said


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("QA signs off on Firefox 96.0.1.", "signoff QA 'Firefox 96.0.1'"),
        ("qa signs off on Firefox 96.0.1", "signoff qa 'Firefox 96.0.1'"),
        (
            "Releng has no more concerns about the readiness of ESR 91.5.1.",
            "signoff Releng 'ESR 91.5.1' 'Releng has no more concerns about the readiness of "
            "ESR 91.5.1.'",
        ),
        (
            "Please hold the release of Firefox 96.0.1 because of a crash spike on startup.",
            "hold 'Firefox 96.0.1' 'a crash spike on startup'",
        ),
        ("Please ship Focus 97.0 to users.", "ship 'Focus 97.0'"),
    ],
)
def test_an_explicit_sentence_is_the_command_that_records_it(text: str, command: str) -> None:
    assert explicit_form(text) == command
    assert isinstance(parse(command, "matrix"), Do)


def test_words_around_an_explicit_sentence_make_it_no_offer() -> None:
    assert explicit_form("I guess QA signs off on Firefox 96.0.1 unless the tests fail") is None
    assert explicit_form("we said: Please ship Focus 97.0 to users, right?") is None
