"""Vague decisions said in a room, and explicit ones that could be recorded (pure).

"It seems better" as a response in a channel, where it is not clear which question it answers,
is how releases ship while someone still has concerns. In a bound room:

- :func:`vague_decision`: a message the lint (:func:`~sync_incident.core.lint.lint_text`)
  flags as a vague *decision*: a hedge or a relative word about the state of things
  ("seems", "better", "LGTM", "should be fine", "we can proceed"), or another hedge in a
  message about shipping, holding or signing off. Chatter the lint would also flag ("it is
  building", "later") is left alone: teams hate bots that nag;
- :func:`explicit_form`: a message that already is one of the tool's explicit sentences
  ("QA signs off on Firefox 96.0.1.", "Please hold the release of Firefox 96.0.1 because of
  …", "Please ship Firefox 96.0.1 to users.") read as the command that records it.
"""

from __future__ import annotations

import re

from sync_incident.core.lint import Finding, lint_text

# phrases that hedge or compare the state of things: vague wherever a decision is near
_DECISIVE = re.compile(
    r"seem|better|worse|should be|lgtm|looks?\b|proceed|good to go|go ahead", re.I
)
# words that make a message about a decision
_DECISION_WORDS = re.compile(
    r"\b(ship|shipping|release|releasing|sign(?:s|ed)?[ -]?off|signoff|approved?|"
    r"proceed|hold|ready|go)\b",
    re.I,
)
_NOT_ABOUT_DECISIONS = ("a pronoun opens the sentence", "say by when")

_SIGNOFF = re.compile(r"^(?P<team>[\w-]+) signs off on (?P<release>.+?)\.?$", re.I)
_NO_CONCERNS = re.compile(
    r"^(?P<team>[\w-]+) has no (?:more |further )?concerns about (?:the readiness of )?"
    r"(?P<release>.+?)\.?$",
    re.I,
)
_HOLD = re.compile(
    r"^please hold (?:the release of )?(?P<release>.+?) because (?:of )?(?P<reason>.+?)\.?$",
    re.I,
)
_SHIP = re.compile(r"^please ship (?P<release>.+?) to users\.?$", re.I)


def vague_decision(text: str) -> list[Finding]:
    """The lint's findings when ``text`` is a vague decision (empty when it is not one)."""
    findings = [
        f
        for f in lint_text("message", text)
        if not any(f.message.startswith(skip) for skip in _NOT_ABOUT_DECISIONS)
    ]
    decisive = [f for f in findings if _DECISIVE.search(f.phrase)]
    if decisive or (findings and _DECISION_WORDS.search(text)):
        return findings
    return []


def explicit_form(text: str) -> str | None:
    """The command (after the prefix) that records ``text``, when it is an explicit sentence.

    Only a message that is one sentence and nothing else: words around it may change what
    it means ("QA signs off on Firefox 96.0.1 unless the tests fail").
    """
    said = " ".join(text.split())
    if (found := _SIGNOFF.match(said)) is not None:
        return f"signoff {_quoted(found['team'])} {_quoted(found['release'])}"
    if (found := _NO_CONCERNS.match(said)) is not None:
        statement = said if said.endswith(".") else said + "."
        return f"signoff {_quoted(found['team'])} {_quoted(found['release'])} {_quoted(statement)}"
    if (found := _HOLD.match(said)) is not None:
        return f"hold {_quoted(found['release'])} {_quoted(found['reason'])}"
    if (found := _SHIP.match(said)) is not None:
        return f"ship {_quoted(found['release'])}"
    return None


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def what_was_vague(findings: list[Finding]) -> str:
    """``'seems' hedges the whole statement; 'better' is relative: …``: each reason once."""
    return "; ".join(dict.fromkeys(f.message for f in findings))
