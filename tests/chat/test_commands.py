"""What people type in a room, read into the application layer's intents (pure)."""

from __future__ import annotations

import pytest

from sync_incident.application.intents import (
    AcceptHandoff,
    DeclineHandoff,
    OfferHandoff,
    PostStatus,
    RaiseHold,
    ReleaseHold,
    Revoke,
    Ship,
    SignOff,
)
from sync_incident.chat.commands import (
    Bind,
    Cancel,
    Confirm,
    Do,
    Gate,
    Help,
    Show,
    Unbind,
    command_text,
    help_text,
    mention_of,
    parse,
)
from sync_incident.core.errors import UsageError
from sync_incident.core.refs import IncidentRef


def intent_of(text: str) -> object:
    command = parse(text, "matrix", lambda t: {"@beatrice:example.org": "beatrice"}.get(t))
    assert isinstance(command, Do)
    return command.intent


def test_only_a_message_that_starts_with_the_prefix_is_a_command() -> None:
    assert command_text("!incident hold Firefox 96.0.1 because of crashes", "matrix") == (
        "hold Firefox 96.0.1 because of crashes"
    )
    assert command_text("  !INCIDENT show", "matrix") == "show"
    assert command_text("!incident", "matrix") == ""
    assert command_text("!incidents show", "matrix") is None
    assert command_text("please run !incident show", "matrix") is None


def test_a_quoted_command_in_a_reply_is_never_read() -> None:
    quoted = "> <@mallory:example.org> !incident ship Firefox 96.0.1\n\nno thanks"
    assert command_text(quoted, "matrix") is None
    reply = "> <@alice:example.org> the crash rate\n\n!incident show"
    assert command_text(reply, "matrix") == "show"


def test_a_release_is_the_product_and_its_version_quoted_or_not() -> None:
    assert intent_of("hold Firefox 96.0.1 because of a crash spike on startup") == RaiseHold(
        "Firefox 96.0.1", "a crash spike on startup"
    )
    assert intent_of('hold "Firefox for Android 96.0" crashes on startup') == RaiseHold(
        "Firefox for Android 96.0", "crashes on startup"
    )
    assert intent_of("hold Firefox for Android 96.0 due to crashes on startup") == RaiseHold(
        "Firefox for Android 96.0", "crashes on startup"
    )
    assert intent_of("hold “Firefox 96.0.1” because crashes on startup") == RaiseHold(
        "Firefox 96.0.1", "crashes on startup"
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("signoff QA Firefox 96.0.1", SignOff("QA", "Firefox 96.0.1")),
        ("sign-off qa Firefox 96.0.1", SignOff("qa", "Firefox 96.0.1")),
        (
            "revoke QA Firefox 96.0.1 because of a new crash signature",
            Revoke("QA", "Firefox 96.0.1", "a new crash signature"),
        ),
        ("ship Firefox 96.0.1", Ship("Firefox 96.0.1")),
        (
            "release-hold Firefox 96.0.1 the crash was a test machine --hold 4X6B",
            ReleaseHold("Firefox 96.0.1", "the crash was a test machine", hold="4X6B"),
        ),
        ("accept", AcceptHandoff()),
        ("accept 4X6B", AcceptHandoff(handoff="4X6B")),
        (
            "decline because I am off tomorrow --handoff 4X6B",
            DeclineHandoff("I am off tomorrow", handoff="4X6B"),
        ),
        (
            "status the respin is building --next 18:00",
            PostStatus("the respin is building", next_update="18:00"),
        ),
    ],
)
def test_each_command_is_the_intent_the_cli_would_build(text: str, intent: object) -> None:
    assert intent_of(text) == intent


def test_a_handoff_names_its_recipient_by_chat_mention_or_name() -> None:
    offered = intent_of(
        "handoff @beatrice:example.org --done 'steps 1-4' --todo 'step 5' "
        "--next 'Ship | @beatrice:example.org | 18:00' --notify Releng"
    )
    assert offered == OfferHandoff(
        done="steps 1-4",
        todo="step 5",
        to="beatrice",
        next=("Ship | beatrice | 18:00",),
        notify=("Releng",),
    )


def test_what_the_gate_counts_and_handoff_answers_wait_for_a_confirmation() -> None:
    confirmed = {
        "hold Firefox 96.0.1 crashes on startup": True,
        "signoff QA Firefox 96.0.1": True,
        "ship Firefox 96.0.1": True,
        "accept": True,
        "decline I am off tomorrow": True,
        "status building the respin": False,
        "note the respin is building": False,
        "handoff bob --done a --todo b": False,
    }
    for text, wanted in confirmed.items():
        command = parse(text, "matrix")
        assert isinstance(command, Do) and command.confirm is wanted, text


def test_the_other_commands() -> None:
    assert parse("", "slack") == Help()
    assert parse("help", "slack") == Help()
    assert parse("show", "slack") == Show()
    assert parse("gate", "slack") == Gate()
    assert parse("gate Firefox 96.0.1", "slack") == Gate("Firefox 96.0.1")
    assert parse("bind bug 123456", "slack") == Bind(IncidentRef("bugzilla", 123456))
    assert parse("unbind", "slack") == Unbind()
    assert parse("confirm", "slack") == Confirm()
    assert parse("cancel", "slack") == Cancel()


@pytest.mark.parametrize(
    ("text", "message", "hint"),
    [
        ("frobnicate", "no such command", "help"),
        ("hold Firefox because of crashes", "needs a release", "Firefox 96.0.1"),
        ("hold Firefox 96.0.1", "needs a reason", "because of REASON"),
        ("hold 'Firefox 96.0.1 crashes", "cannot read the command", "close the quote"),
        ("ship Firefox 96.0.1 --force", "ship has no option --force", "ship RELEASE"),
        ("status", "needs a summary", "status SUMMARY"),
        ("bind", "bind needs an incident", "bind bug 123456"),
        ("bind bugg 1", "", "bind bug 123456"),
        ("handoff bob --todo b", "--done", "--done TEXT"),
    ],
)
def test_malformed_commands_say_what_to_type(text: str, message: str, hint: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text, "matrix")
    assert message in caught.value.message and hint in caught.value.hint


def test_help_lists_every_command_with_the_chats_prefix() -> None:
    text = help_text("slack")
    for verb in ("status", "note", "hold", "release-hold", "signoff", "revoke", "ship"):
        assert f"/incident {verb} " in text
    assert "!incident" not in text


def test_a_slack_mention_names_the_member_id() -> None:
    assert mention_of("slack", "<@U024BE7LH|beatrice>") == "U024BE7LH"
    assert mention_of("slack", "<@U024BE7LH>") == "U024BE7LH"
    assert mention_of("matrix", " @beatrice:example.org ") == "@beatrice:example.org"
