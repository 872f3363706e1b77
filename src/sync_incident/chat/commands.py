"""What people type in a room, as values: ``!incident hold Firefox 96.0.1 because of …``.

Pure: :func:`parse` turns the words after the prefix (``!incident`` in Matrix; Slack's
``/incident`` hands the words over itself) into a :data:`Command`. Commands that change the
incident become the application layer's intents (:mod:`sync_incident.application.intents`),
the same values the CLI builds, so the rules, refusals and hints are the CLI's; this module
only reads words.

The words read as the CLI's options do, with what a phone makes easy: a release is the product
and its version (``Firefox 96.0.1``, quoted or not: the words up to the first one that starts
with a digit), "because (of)" before a reason is dropped, curly quotes count as quotes, and a
person may be named by their chat mention (``@beatrice:example.org``, ``<@U024BE7LH>``).

Malformed input raises :class:`~sync_incident.core.errors.UsageError` with what to type.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from sync_incident.application.intents import (
    AcceptHandoff,
    AddNote,
    DeclineHandoff,
    Intent,
    OfferHandoff,
    PostStatus,
    RaiseHold,
    ReleaseHold,
    Revoke,
    Ship,
    SignOff,
)
from sync_incident.core.errors import UsageError
from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref

ChatKind = Literal["matrix", "slack"]
PREFIX: dict[str, str] = {"matrix": "!incident", "slack": "/incident"}
# what asks for a confirmation before it is recorded: what the gate counts, and answering a
# handoff (a tap recorded by mistake would make someone incident commander)
CONFIRMED = frozenset({"hold", "release-hold", "signoff", "revoke", "ship", "accept", "decline"})
# how a person can be named in a room: a Matrix user id, a Slack mention
Mentions = Callable[[str], str | None]
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "«": '"', "»": '"'})
_BECAUSE = re.compile(r"^(?:because(?:\s+of)?|due\s+to|as)\s+|^[:—–-]\s*", re.I)
_SLACK_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")


@dataclass(frozen=True)
class Help:
    """``help``: what can be typed here."""


@dataclass(frozen=True)
class Bind:
    """``bind bug 123456``: bind this room to an incident (its commander only)."""

    ref: IncidentRef


@dataclass(frozen=True)
class Unbind:
    """``unbind``: this room no longer follows its incident."""


@dataclass(frozen=True)
class Show:
    """``show``: the incident at a glance."""


@dataclass(frozen=True)
class Gate:
    """``gate [RELEASE]``: may it ship? (every release of the incident when none is named)."""

    release: str | None = None


@dataclass(frozen=True)
class Confirm:
    """``confirm``: record what is waiting for this person's confirmation."""


@dataclass(frozen=True)
class Cancel:
    """``cancel``: drop what is waiting for this person's confirmation."""


@dataclass(frozen=True)
class Do:
    """A change of the incident: an intent, and whether it waits for a confirmation."""

    intent: Intent
    confirm: bool


Command = Help | Bind | Unbind | Show | Gate | Confirm | Cancel | Do

USAGE: dict[str, str] = {
    "status": "status SUMMARY [--next TIME]",
    "note": "note TEXT",
    "hold": "hold RELEASE because of REASON",
    "release-hold": "release-hold RELEASE REASON [--hold ID]",
    "signoff": "signoff TEAM RELEASE [STATEMENT]",
    "revoke": "revoke TEAM RELEASE REASON",
    "ship": "ship RELEASE",
    "handoff": "handoff [PERSON] --done TEXT --todo TEXT [--next 'what | owner | by'] [--notify WHO]",
    "accept": "accept [HANDOFF-ID]",
    "decline": "decline REASON [--handoff ID]",
    "gate": "gate [RELEASE]",
    "show": "show",
    "bind": "bind REF (the incident commander; e.g. bind bug 123456)",
    "unbind": "unbind",
    "confirm": "confirm",
    "cancel": "cancel",
    "help": "help",
}
_OPTIONS: dict[str, set[str]] = {
    "status": {"--next"},
    "release-hold": {"--hold"},
    "handoff": {"--done", "--todo", "--next", "--notify", "--to"},
    "decline": {"--handoff"},
}
_REPEATED = {"--next", "--notify"}


def command_text(text: str, chat: ChatKind) -> str | None:
    """The words after the prefix when ``text`` is a command (``!incident …``), else None.

    A Matrix reply quotes the message it answers (lines starting with ``>``): quoted text is
    never read as a command.
    """
    lines = text.strip().splitlines()
    while lines and (lines[0].startswith(">") or not lines[0].strip()):
        lines.pop(0)
    first = "\n".join(lines).strip()
    prefix = PREFIX[chat]
    if not first.casefold().startswith(prefix):
        return None
    rest = first[len(prefix) :]
    if rest and not rest[0].isspace():
        return None  # "!incidents", "!incident-bot"
    return rest.strip()


def help_text(chat: ChatKind) -> str:
    """Every command, one per line, as typed in this chat."""
    prefix = PREFIX[chat]
    lines = [f"{prefix} {USAGE[verb]}" for verb in USAGE]
    return (
        "Commands (a RELEASE is the product and its version, e.g. Firefox 96.0.1; what the "
        "gate counts, and answering a handoff, asks you to confirm first):\n" + "\n".join(lines)
    )


def parse(text: str, chat: ChatKind, mentions: Mentions | None = None) -> Command:
    """What ``text`` (the words after the prefix) asks for; UsageError when it is malformed."""
    words = split(text)
    if not words:
        return Help()
    verb, rest = words[0].casefold(), words[1:]
    verb = {"release": "release-hold", "sign-off": "signoff", "sign_off": "signoff"}.get(verb, verb)
    if verb not in USAGE:
        raise UsageError(
            f"{PREFIX[chat]} {words[0]}: no such command",
            hint=f"type `{PREFIX[chat]} help` for the commands",
        )
    args, options = _options(verb, rest, chat)
    simple: dict[str, Command] = {
        "help": Help(),
        "show": Show(),
        "unbind": Unbind(),
        "confirm": Confirm(),
        "cancel": Cancel(),
    }
    if verb in simple:
        return simple[verb]
    if verb == "bind":
        return Bind(_ref(" ".join(args), chat))
    if verb == "gate":
        release = _release(args, verb, chat)[0] if args else None
        return Gate(release)
    return Do(_intent(verb, args, options, chat, mentions), confirm=verb in CONFIRMED)


def split(text: str) -> list[str]:
    """The words of a command, quotes honoured (curly ones too); UsageError when unbalanced."""
    try:
        return shlex.split(text.translate(_QUOTES))
    except ValueError as exc:
        raise UsageError(
            f"cannot read the command: {exc}", hint="close the quote you opened"
        ) from None


def _options(verb: str, words: list[str], chat: ChatKind) -> tuple[list[str], dict[str, list[str]]]:
    allowed = _OPTIONS.get(verb, set())
    args: list[str] = []
    options: dict[str, list[str]] = {}
    index = 0
    while index < len(words):
        word = words[index]
        name, eq, value = word.partition("=")
        if name.startswith("--") and len(name) > 2:
            if name not in allowed:
                raise UsageError(
                    f"{verb} has no option {name}", hint=f"{PREFIX[chat]} {USAGE[verb]}"
                )
            if not eq:
                index += 1
                if index >= len(words):
                    raise UsageError(f"{name} needs a value", hint=f"{PREFIX[chat]} {USAGE[verb]}")
                value = words[index]
            if name in options and name not in _REPEATED:
                raise UsageError(f"{name} is given twice", hint=f"{PREFIX[chat]} {USAGE[verb]}")
            options.setdefault(name, []).append(value)
        else:
            args.append(word)
        index += 1
    return args, options


def _intent(
    verb: str,
    args: list[str],
    options: dict[str, list[str]],
    chat: ChatKind,
    mentions: Mentions | None,
) -> Intent:
    def one(name: str) -> str | None:
        return options[name][0] if name in options else None

    def needs(value: str, what: str) -> str:
        if not value.strip():
            raise UsageError(f"{verb} needs {what}", hint=f"{PREFIX[chat]} {USAGE[verb]}")
        return value

    if verb == "status":
        return PostStatus(needs(" ".join(args), "a summary"), next_update=one("--next"))
    if verb == "note":
        return AddNote(needs(" ".join(args), "the text of the note"))
    if verb in ("hold", "release-hold", "ship"):
        release, rest = _release(args, verb, chat)
        said = _reason(rest)
        if verb == "hold":
            return RaiseHold(release, needs(said, "a reason"))
        if verb == "release-hold":
            return ReleaseHold(release, needs(said, "a reason"), hold=one("--hold"))
        return Ship(release, statement=said or None)
    if verb in ("signoff", "revoke"):
        if not args:
            raise UsageError(
                f"{verb} needs a team and a release", hint=f"{PREFIX[chat]} {USAGE[verb]}"
            )
        team, (release, rest) = args[0], _release(args[1:], verb, chat)
        if verb == "signoff":
            return SignOff(team, release, statement=" ".join(rest) or None)
        return Revoke(team, release, needs(_reason(rest), "a reason"))
    if verb == "handoff":
        to = one("--to") or (args[0] if args else None)
        return OfferHandoff(
            done=needs(one("--done") or "", "--done (what is done)"),
            todo=needs(one("--todo") or "", "--todo (what remains)"),
            to=_person(to, mentions),
            next=tuple(_next(spec, mentions) for spec in options.get("--next", [])),
            notify=tuple(_person(n, mentions) or n for n in options.get("--notify", [])),
        )
    if verb == "accept":
        return AcceptHandoff(handoff=args[0] if args else None)
    return DeclineHandoff(needs(_reason(args), "a reason"), handoff=one("--handoff"))


def _release(words: list[str], verb: str, chat: ChatKind) -> tuple[str, list[str]]:
    """The release the words start with (the product and its version), and the words after."""
    if words and " " in words[0].strip():
        return words[0].strip(), words[1:]  # it was quoted
    for index, word in enumerate(words):
        if index and word[:1].isdigit():
            return " ".join(words[: index + 1]), words[index + 1 :]
    raise UsageError(
        f"{verb} needs a release: the product and its version",
        hint=f"for example {PREFIX[chat]} {USAGE[verb].replace('RELEASE', 'Firefox 96.0.1')}",
    )


def _reason(words: list[str]) -> str:
    """The words of a reason, without the "because of" a sentence puts before it."""
    return _BECAUSE.sub("", " ".join(words).strip(), count=1).strip()


def _person(text: str | None, mentions: Mentions | None) -> str | None:
    """A person as typed: a chat mention becomes the policy's key when it maps to one."""
    if text is None:
        return None
    found = mentions(text) if mentions is not None else None
    return found or text


def _next(spec: str, mentions: Mentions | None) -> str:
    parts = spec.split("|")
    if len(parts) == 3:
        owner = _person(parts[1].strip(), mentions) or parts[1]
        return " | ".join([parts[0].strip(), owner, parts[2].strip()])
    return spec


def _ref(text: str, chat: ChatKind) -> IncidentRef:
    if not text.strip():
        raise UsageError("bind needs an incident", hint=f"{PREFIX[chat]} bind bug 123456")
    try:
        return parse_ref(text)
    except ReferenceError as exc:
        raise UsageError(str(exc), hint=f"{PREFIX[chat]} bind bug 123456") from None


def mention_of(chat: ChatKind, text: str) -> str:
    """The chat user id a mention names (``<@U024BE7LH|bob>`` → ``U024BE7LH``), else ``text``."""
    if chat == "slack":
        found = _SLACK_MENTION.match(text.strip())
        return found.group(1) if found else text.strip()
    return text.strip()
