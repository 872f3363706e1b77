"""The wording lint (PRODUCT.md rule 2): flag vague text before it is posted.

"It seems better" ships releases someone still had concerns about. The lint flags hedges,
relative words, pronouns that open a sentence without a referent, and approvals that do not
name the team, product and version. It warns; ``--strict`` turns findings into a refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sync_incident.core.events import Event, HandoffOffered, ShipDecision, SignoffGiven

_VAGUE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bseem(s|ed|ingly)?\b", re.I), "'seems' hedges the whole statement"),
    (re.compile(r"\b(better|worse)\b", re.I), "'better' is relative: say what is true now"),
    (re.compile(r"\bshould be (fine|ok|okay|good)\b", re.I), "'should be fine' is a guess"),
    (re.compile(r"\blgtm\b", re.I), "'LGTM' does not say what was checked or approved"),
    (
        re.compile(r"\blooks? (good|fine|ok|okay)\b", re.I),
        "'looks good' does not say what was checked",
    ),
    (re.compile(r"\b(probably|maybe|perhaps|i think|i guess|hopefully)\b", re.I), "a hedge"),
    (re.compile(r"\b(asap|soon|later|at some point)\b", re.I), "say by when, as a time"),
    (
        re.compile(r"\b(we can proceed|good to go|go ahead)\b", re.I),
        "say what may ship: team, product and version",
    ),
]
_PRONOUN_OPENING = re.compile(
    r"(?:^|[.!?]\s+)(it|this|that|they|these|those)\b(?!\s+(?:bug|build|release|patch|step|issue|incident)\b)",
    re.I,
)


@dataclass(frozen=True)
class Finding:
    field: str
    phrase: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.phrase!r}: {self.message}"


def lint_text(field: str, text: str) -> list[Finding]:
    findings = []
    for pattern, message in _VAGUE:
        for match in pattern.finditer(text):
            findings.append(Finding(field, match.group(0), message))
    for match in _PRONOUN_OPENING.finditer(text):
        findings.append(
            Finding(field, match.group(1), "a pronoun opens the sentence: name what you mean")
        )
    return findings


def _names(field: str, text: str, *required: str) -> list[Finding]:
    folded = text.casefold()
    return [
        Finding(field, word, f"the statement does not name {word!r}")
        for word in required
        if word.casefold() not in folded
    ]


def lint_event(event: Event) -> list[Finding]:
    """Findings for the free-text fields of one event, and for explicit approvals."""
    findings: list[Finding] = []
    for name, value in _free_text(event):
        findings += lint_text(name, value)
    if isinstance(event, SignoffGiven):
        findings += _names("statement", event.statement, event.team, event.release)
    if isinstance(event, ShipDecision):
        findings += _names("statement", event.statement, event.release)
    return findings


def _free_text(event: Event) -> list[tuple[str, str]]:
    fields = ("text", "summary", "reason", "statement", "done", "todo", "note", "title")
    out = [
        (name, getattr(event, name))
        for name in fields
        if isinstance(getattr(event, name, None), str)
    ]
    if isinstance(event, HandoffOffered):
        out += [(f"next_steps[{i}]", step.what) for i, step in enumerate(event.next_steps)]
    return [(name, value) for name, value in out if value]
