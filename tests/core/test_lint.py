"""The wording lint (PRODUCT.md rule 2): vague text is flagged, explicit statements pass."""

from __future__ import annotations

import pytest

from sync_incident.core.events import (
    HandoffOffered,
    HoldRaised,
    NextStep,
    Note,
    ShipDecision,
    SignoffGiven,
    StatusUpdate,
)
from sync_incident.core.lint import explicit_form, lint_event, lint_text, weak_reason


def phrases(text: str) -> list[str]:
    return [f.phrase.casefold() for f in lint_text("text", text)]


@pytest.mark.parametrize(
    "text,phrase",
    [
        # hedges about the state of things
        ("It seems fixed now.", "seems"),
        ("The crash seemed gone.", "seemed"),
        ("Seemingly the patch works.", "seemingly"),
        # relative words
        ("The crash rate is better.", "better"),
        ("Startup is worse on Windows.", "worse"),
        # guesses
        ("The build should be fine.", "should be fine"),
        ("Release should be OK.", "should be ok"),
        # approvals that name nothing
        ("LGTM", "lgtm"),
        ("lgtm, ship", "lgtm"),
        ("The dashboard looks good.", "looks good"),
        ("Crash stats look fine.", "look fine"),
        # hedges
        ("Probably a flaky test.", "probably"),
        ("Maybe wait for QA.", "maybe"),
        ("Perhaps roll back.", "perhaps"),
        ("I think the fix landed.", "i think"),
        ("I guess we are done.", "i guess"),
        ("Hopefully the fix holds.", "hopefully"),
        # times that are not times
        ("We will ship ASAP.", "asap"),
        ("Bob will look soon.", "soon"),
        ("I will update later.", "later"),
        ("Someone must fix this at some point.", "at some point"),
        # go-aheads that do not say what may ship
        ("We can proceed.", "we can proceed"),
        ("Releng is good to go.", "good to go"),
        ("Go ahead.", "go ahead"),
    ],
)
def test_vague_phrase_is_flagged(text: str, phrase: str) -> None:
    assert phrase in phrases(text)


@pytest.mark.parametrize(
    "text,pronoun",
    [
        ("It is fixed.", "it"),
        ("Crashes dropped. This means we ship.", "this"),
        ("Build 2 is green! That was the last blocker.", "that"),
        ("They signed off.", "they"),
        ("These are done.", "these"),
        ("Those failed again?", "those"),
    ],
)
def test_pronoun_opening_a_sentence_is_flagged(text: str, pronoun: str) -> None:
    assert pronoun in phrases(text)


@pytest.mark.parametrize(
    "text",
    [
        "This bug blocks Firefox 96.0.1.",
        "That build crashes on start.",
        "This release is on hold.",
        "This patch fixes the startup crash.",
        "This incident is resolved.",
    ],
)
def test_pronoun_followed_by_a_noun_is_explicit(text: str) -> None:
    assert phrases(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "QA signs off on Firefox 96.0.1.",
        "Releng has no more concerns about the readiness of ESR 91.5.1.",
        "Please ship Focus 97.0 to users.",
        "Please hold the release of Product 2.0.3 because of startup crashes on Windows 7.",
        "Bob pushes Firefox 96.0.1 to the release channel by 2022-01-12 18:00 UTC.",
    ],
)
def test_explicit_statement_has_no_finding(text: str) -> None:
    assert lint_text("statement", text) == []


def test_words_containing_a_vague_word_are_not_flagged() -> None:
    assert phrases("The bettering of seamless itemised soonest asapx builds.") == []


def test_every_occurrence_is_reported() -> None:
    assert phrases("Seems fine. It seems better.").count("seems") == 2


def test_finding_names_the_field_and_the_phrase() -> None:
    (finding,) = lint_text("reason", "LGTM")
    assert str(finding).startswith("reason: 'LGTM': ")


def test_event_free_text_fields_are_linted() -> None:
    findings = lint_event(HoldRaised(release="Firefox 96.0.1", reason="it seems broken"))
    assert {f.field for f in findings} == {"reason"}


def test_handoff_next_steps_are_linted() -> None:
    event = HandoffOffered(
        to="beatrice",
        done="Step 4 is done.",
        todo="Step 5 remains.",
        next_steps=[NextStep(what="Push Firefox 96.0.1 soon")],
    )
    assert [f.field for f in lint_event(event)] == ["next_steps[0]"]


def test_explicit_signoff_event_has_no_finding() -> None:
    event = SignoffGiven(
        team="QA", release="Firefox 96.0.1", statement="QA signs off on Firefox 96.0.1."
    )
    assert lint_event(event) == []


def test_a_persons_own_words_on_a_signoff_are_linted_the_tools_sentence_is_not() -> None:
    """The tool writes "QA signs off on Firefox 96.0.1." first; a statement is the person's
    own words after it, so it need not repeat the team and release, but may not be vague."""
    plain = SignoffGiven(team="QA", release="Firefox 96.0.1", statement="Tested on 3 platforms.")
    assert lint_event(plain) == []
    vague = SignoffGiven(team="QA", release="Firefox 96.0.1", statement="LGTM")
    assert [f.phrase for f in lint_event(vague)] == ["LGTM"]
    assert "--statement" in explicit_form(vague)


@pytest.mark.parametrize(
    ("reason", "weak"),
    [
        ("ok", True),
        ("no", True),
        ("x", True),
        ("done", True),
        ("fixed", True),
        ("ok, done.", True),
        ("crash", True),  # one word: says nothing about why
        ("", True),
        ("a crash spike on startup", False),
        ("fixed in build 2", False),
    ],
)
def test_a_reason_is_a_reason(reason: str, weak: bool) -> None:
    assert bool(weak_reason(reason)) is weak


def test_the_reason_threshold_is_a_parameter() -> None:
    assert weak_reason("crash spike", min_words=2) == ""
    assert "2 word" in weak_reason("crash spike", min_words=3)


def test_explicit_ship_decision_has_no_finding() -> None:
    event = ShipDecision(release="Focus 97.0", statement="Please ship Focus 97.0 to users.")
    assert lint_event(event) == []


def test_status_summary_is_linted() -> None:
    assert lint_event(StatusUpdate(summary="Things look good.")) != []


def test_explicit_note_has_no_finding() -> None:
    assert lint_event(Note(text="The patch for bug 1750001 landed on mozilla-release.")) == []
