"""GitHub Actions reporting for the gate: job summary, ``::error::`` annotations, step outputs.

Active only when ``GITHUB_ACTIONS`` is set. Text that comes from comments (hold reasons, sign-off
statements, names) is neutralised before it reaches the runner: workflow commands start with
``::`` at the beginning of a line, so line breaks are removed and ``::`` is broken up, and
``%``, CR and LF are escaped as the runner expects in annotation messages.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sync_incident.gate import Verdict
from sync_incident.render import when


def neutralise(text: str) -> str:
    """One line that cannot start or smuggle a workflow command."""
    flat = " ".join(str(text).split())
    return flat.replace("::", ":\u200b:")


def _annotation(text: str) -> str:
    return neutralise(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _cell(text: str) -> str:
    return neutralise(text).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def summary_markdown(v: Verdict) -> str:
    verdict = "✅ **Ready**" if v.ready else "⛔ **Not ready**"
    lines = [
        f"## Release gate: {_cell(v.release)}",
        "",
        f"{verdict} — incident {_cell(v.incident)} (policy: {v.policy})",
        "",
        "| Team | Signed off | By | When |",
        "|---|---|---|---|",
    ]
    for team in v.teams:
        mark = "yes" if team.signed else f"no ({team.problem})"
        lines.append(
            f"| {_cell(team.team)} | {mark} | {_cell(team.by or '-')} | {when(team.at) if team.at else '-'} |"
        )
    lines += ["", "### Open holds", ""]
    if v.holds:
        lines += ["| Held by | Since | Reason |", "|---|---|---|"]
        lines += [f"| {_cell(h.by)} | {when(h.since)} | {_cell(h.reason)} |" for h in v.holds]
    else:
        lines.append("None.")
    if v.ship_decision:
        lines += ["", f"Ship decision: {_cell(v.ship_decision)}"]
    if v.reasons:
        lines += ["", "### Why not", ""] + [f"- {_cell(r)}" for r in v.reasons]
    return "\n".join(lines) + "\n"


def _append(path: str, text: str) -> None:
    with Path(path).open("a", encoding="utf-8") as handle:
        handle.write(text)


def _output(name: str, value: str) -> str:
    # the heredoc form, with a random delimiter, so a value cannot end the block early
    delimiter = f"ghadelimiter_{uuid.uuid4()}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def report(v: Verdict, environ: dict[str, str] | None = None, echo: object = print) -> None:
    """Write the summary, annotations and outputs when running inside GitHub Actions."""
    env = os.environ if environ is None else environ
    if not env.get("GITHUB_ACTIONS"):
        return
    for reason in v.reasons:
        print(f"::error title=Release gate::{_annotation(reason)}")
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        _append(summary, summary_markdown(v))
    output = env.get("GITHUB_OUTPUT")
    if output:
        holds = "; ".join(neutralise(f"{h.by}: {h.reason}") for h in v.holds)
        _append(
            output,
            _output("ready", "true" if v.ready else "false")
            + _output("missing", ",".join(neutralise(t) for t in v.missing))
            + _output("holds", holds),
        )
