"""GitHub Actions reporting for the gate: job summary, ``::error::`` annotations, step outputs.

Active only when ``GITHUB_ACTIONS`` is set (the runner sets it to ``true``); elsewhere
:func:`report` does nothing. It runs before the CLI prints the verdict and writes:

- one ``::error::`` annotation per reason (and a ``::warning::`` when no policy is configured);
- a Markdown job summary to ``$GITHUB_STEP_SUMMARY``: the verdict and every reason first, then
  the required teams with who signed off and when, the open holds and the ship decision;
- the step outputs ``ready`` (``true``/``false``), ``missing`` (comma-separated teams) and
  ``holds`` (one open hold per line) to ``$GITHUB_OUTPUT``.

Comment text is attacker-controlled: anyone who can comment on the bug writes hold reasons,
statements and names. The runner reads every line a step prints and runs it as a workflow
command when it starts with ``::name::`` (after leading whitespace) or contains the legacy
``##[name]`` anywhere (``actions/runner`` ``ActionCommand.TryParseV2`` / ``TryParse``). So:

- every piece of comment text we print or write is first flattened to one line (every Unicode
  line break and control character goes), and ``::`` and ``##[`` are broken with a zero-width
  space; annotation messages are also %-escaped as the runner expects;
- after the annotations, :func:`report` sends ``::stop-commands::TOKEN`` (a random token) and
  resumes with ``::TOKEN::`` when the process exits, so the verdict text the CLI prints next,
  which quotes hold reasons verbatim, is shown in the log but never runs as a command;
- outputs use the multi-line form with a random delimiter, so a value cannot end it early or
  add an output of its own; the summary escapes Markdown and HTML in comment text.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import sys
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from sync_incident.core.readiness import Verdict
from sync_incident.core.times import utc as when

MAX_TEXT = 1000  # characters of one comment-derived value shown in the summary or an annotation
MAX_ANNOTATIONS = 10  # GitHub shows at most 10 error annotations per step
ZWSP = "\u200b"

# Words for TeamStatus.problem, as a release manager reads them.
PROBLEMS = {
    "missing": "no sign-off",
    "revoked": "sign-off revoked",
    "stale": "signed before a later hold: must sign off again",
    "unknown team": "not a team in the policy",
}

# Inline Markdown and HTML anywhere; block markers (headings, lists, quotes) only at the start.
_MARKDOWN_INLINE = frozenset("\\`*_[]<>|~!&$")
_BLOCK_START = re.compile(r"^(?:[#+\-=>]|\d+(?=[.)]))")


def neutralise(text: str) -> str:
    """One line of text that cannot start, contain or smuggle a workflow command.

    Line breaks, tabs and other control or separator characters become single spaces (they
    are what would start a new line for the runner); ``::`` and ``##[`` are broken with a
    zero-width space, so the text reads the same but never parses as a command.
    """
    chars = [
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Zs") and c != ZWSP else c
        for c in str(text)
    ]
    flat = " ".join("".join(chars).split())
    while "::" in flat:
        flat = flat.replace("::", f":{ZWSP}:")
    return flat.replace("##[", f"#{ZWSP}#[")


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def annotation_text(text: str) -> str:
    """An annotation message: neutralised, clipped and %-escaped as the runner unescapes it."""
    return _clip(neutralise(text)).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def markdown_text(text: str) -> str:
    """Comment text for a summary table cell or list item: one line, no Markdown, no HTML."""
    flat = _clip(neutralise(text))
    escaped = "".join(f"\\{c}" if c in _MARKDOWN_INLINE else c for c in flat)
    start = _BLOCK_START.match(escaped)
    if start is None:
        return escaped
    if start.group().isdigit():  # "1. x" / "1) x" would start an ordered list
        cut = start.end()
        return f"{escaped[:cut]}\\{escaped[cut:]}"
    return f"\\{escaped}"


def _problem(code: str | None) -> str:
    if code is None:
        return "not signed"
    return PROBLEMS.get(code, markdown_text(code))


def summary_markdown(v: Verdict) -> str:
    """The job summary: verdict and reasons first, then teams, holds and the ship decision."""
    release = markdown_text(v.release)
    if v.ready:
        head = f"## ✅ Release gate: {release} is ready to ship"
    else:
        head = f"## ⛔ Release gate: {release} is NOT ready to ship"
    lines = [head, ""]
    policy = "configured" if v.policy != "permissive" else "**none: anyone may sign off**"
    lines += [f"Incident: {markdown_text(v.incident)} · policy: {policy}", ""]
    if v.reasons:
        count = "1 reason" if len(v.reasons) == 1 else f"{len(v.reasons)} reasons"
        lines += [f"**{count}**, each must be resolved before {release} can ship:", ""]
        lines += [f"- {markdown_text(r)}" for r in v.reasons]
        lines.append("")

    lines += ["### Required sign-offs", ""]
    if v.teams:
        lines += ["| Team | Status | Signed by | When |", "|---|---|---|---|"]
        for team in v.teams:
            status = "✅ signed off" if team.signed else f"❌ {_problem(team.problem)}"
            by = markdown_text(team.by) if team.by else "–"
            at = when(team.at) if team.at else "–"
            lines.append(f"| {markdown_text(team.team)} | {status} | {by} | {at} |")
    else:
        lines.append("No team is required: the gate cannot pass without one.")
    lines.append("")

    lines += [f"### Open holds on {release}", ""]
    if v.holds:
        lines += ["| Held by | Since | Reason |", "|---|---|---|"]
        lines += [
            f"| {markdown_text(h.by)} | {when(h.since)} | {markdown_text(h.reason)} |"
            for h in v.holds
        ]
    else:
        lines.append("None.")
    lines.append("")

    lines += ["### Ship decision", ""]
    ship = v.ship_decision
    if ship is None:
        lines.append("None recorded." + (" It is required." if v.ship_required else ""))
    else:
        stale = f" **Stale**: {markdown_text(ship.why or '')}" if ship.stale else ""
        lines.append(
            f"{markdown_text(ship.by)} at {when(ship.at)}: {markdown_text(ship.statement)}{stale}"
        )
    lines.append("")
    return "\n".join(lines) + "\n"


def annotation_lines(v: Verdict) -> list[str]:
    """The workflow command lines for the verdict: one ``::error::`` per reason."""
    out: list[str] = []
    if v.policy == "permissive":
        out.append(
            "::warning title=Release gate::No policy is configured: any account may sign off "
            "for any team. Pass a policy file to enforce who signs off for whom."
        )
    reasons = v.reasons
    if len(reasons) > MAX_ANNOTATIONS:
        more = len(reasons) - (MAX_ANNOTATIONS - 1)
        reasons = [
            *reasons[: MAX_ANNOTATIONS - 1],
            f"… and {more} more reasons: see the job summary.",
        ]
    out += [f"::error title=Release gate::{annotation_text(r)}" for r in reasons]
    return out


def outputs(v: Verdict, delimiter: str | None = None) -> str:
    """``$GITHUB_OUTPUT`` content for ``ready``, ``missing`` and ``holds``."""
    holds = "\n".join(
        neutralise(f"{h.by} since {when(h.since)}: {_clip(h.reason)}") for h in v.holds
    )
    missing = ",".join(neutralise(t) for t in v.missing)
    return (
        f"ready={'true' if v.ready else 'false'}\n"
        + _multiline("missing", missing, delimiter)
        + _multiline("holds", holds, delimiter)
    )


def _multiline(name: str, value: str, delimiter: str | None) -> str:
    # a random delimiter: a value cannot guess it to end the block early
    mark = delimiter or f"ghadelimiter_{secrets.token_hex(16)}"
    if mark in value:
        raise ValueError("output delimiter found in the value")
    return f"{name}<<{mark}\n{value}\n{mark}\n"


def _append(path: str, text: str) -> None:
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(text)


def report(
    v: Verdict,
    environ: Mapping[str, str] | None = None,
    *,
    stream: TextIO | None = None,
    at_exit: Callable[[Callable[[], None]], object] = atexit.register,
) -> None:
    """Write the summary, annotations and outputs when running inside GitHub Actions.

    Then stop command processing until the process exits (see the module docstring), so the
    text printed after this call is inert. ``stream`` defaults to stdout: the runner reads
    stdout and stderr concurrently, so the stop must travel on the same stream as the text.
    """
    env = os.environ if environ is None else environ
    if not env.get("GITHUB_ACTIONS"):
        return
    out = sys.stdout if stream is None else stream
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(summary, summary_markdown(v))
    output = env.get("GITHUB_OUTPUT")
    if output:
        _append(output, outputs(v))
    for line in annotation_lines(v):
        print(line, file=out)
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=out, flush=True)
    at_exit(lambda: _resume(out, token))


def _resume(out: TextIO, token: str) -> None:
    line = f"::{token}::"
    try:
        print(line, file=out, flush=True)
    except (ValueError, OSError):  # the stream was closed (a test runner's capture)
        if sys.__stdout__ is not None:
            print(line, file=sys.__stdout__, flush=True)
