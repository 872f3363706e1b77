"""The wording lint (PRODUCT.md rule 2): flag vague text before it is posted.

"It seems better" ships releases someone still had concerns about. The lint flags hedges,
relative words and pronouns that open a sentence without a referent. On the events the gate
counts (:data:`GATE_COUNTED`) a finding refuses the post; elsewhere it warns, and ``--strict``
refuses. :func:`weak_reason` says when a reason is no reason ("ok", "fixed", "x").

The tool's own sentence is always explicit ("QA signs off on Firefox 96.0.1."): what is linted
is what a person adds in their own words.
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


# The events the release gate counts: vague words in them are refused, not warned about.
GATE_COUNTED = frozenset(
    {
        "signoff.given",
        "signoff.revoked",
        "hold.raised",
        "hold.released",
        "ship",
        "handoff.accepted",
        "handoff.declined",
        "retract",
        "doubt.checked",
        "resolved",
        "ic.taken",
    }
)
# Words that alone say nothing about why: a reason made only of them is no reason.
FILLERS = frozenset(
    {
        "ok",
        "okay",
        "k",
        "no",
        "yes",
        "yep",
        "nope",
        "x",
        "xx",
        "done",
        "fixed",
        "fine",
        "good",
        "works",
        "sure",
        "lgtm",
        "n/a",
        "na",
        "none",
        "test",
        "tbd",
        "todo",
        "asdf",
        "-",
        ".",
        "?",
    }
)
MIN_REASON_WORDS = 2  # the policy's ``min_reason_words`` default; the fold's floor


def weak_reason(text: str, min_words: int = MIN_REASON_WORDS) -> str:
    """Why ``text`` is no reason ("" when it is one): too few words, or only fillers."""
    words = [w.strip(".,;:!?()\"'").casefold() for w in text.split()]
    words = [w for w in words if w]
    if not words or all(w in FILLERS for w in words):
        return f"{text.strip()!r} says nothing about why" if text.strip() else "it is empty"
    if len(words) < min_words:
        count = f"{len(words)} word{'s' if len(words) != 1 else ''}"
        return f"{text.strip()!r} is too short ({count}): say what changed or why in a sentence"
    return ""


def lint_event(event: Event) -> list[Finding]:
    """Findings for the free-text fields of one event (a person's own words)."""
    findings: list[Finding] = []
    for name, value in _free_text(event):
        if _is_default(event, name, value):
            continue  # the tool's own explicit sentence
        findings += lint_text(name, value)
    return findings


def explicit_form(event: Event) -> str:
    """What to write instead of vague words on ``event``: the explicit form, as a command."""
    if isinstance(event, SignoffGiven):
        return (
            f'sign off without --statement: the comment then says "{event.team} signs off on '
            f'{event.release}."; add your own words only if they say what was checked'
        )
    if isinstance(event, ShipDecision):
        return (
            f'decide without --statement: the comment then says "Please ship {event.release} '
            'to users."'
        )
    return (
        'say what is true, naming the team, product and version ("QA signs off on Firefox '
        '96.0.1.", "the crash rate is back at the 95.0 baseline")'
    )


def _is_default(event: Event, name: str, value: str) -> bool:
    if name != "statement":
        return False
    if isinstance(event, SignoffGiven):
        return value == f"{event.team} signs off on {event.release}."
    if isinstance(event, ShipDecision):
        return value == f"Please ship {event.release} to users."
    return False


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
