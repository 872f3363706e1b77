"""The GitHub Action: ``action.yml`` run as a runner would, and the reporting in ``action.py``.

The gate step's ``run:`` script is taken from ``action.yml``; its ``env:`` mapping gets the
``${{ }}`` expressions substituted (as the runner does, and only there); the script runs under
``bash --noprofile --norc -eo pipefail`` (the runner's ``shell: bash``) with ``GITHUB_ACTIONS``,
``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` set, against local-tracker incidents. The setup and
install steps are skipped: the package is already installed next to the test interpreter.

Stdout is then read the way ``actions/runner`` reads it (``ActionCommand.TryParseV2`` and the
legacy ``TryParse``, with ``stop-commands``), and ``$GITHUB_OUTPUT`` the way its file command
does, so the injection tests check what a runner would actually do with the text.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync_incident import action
from sync_incident.cli.app import main
from sync_incident.core.readiness import HoldView, TeamStatus, Verdict

yaml: Any = importlib.import_module("yaml")  # the `test` extra; no stubs needed

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent / "sync-incident"

POLICY = """\
[people.alice]
local = "alice"
[people.bob]
local = "bob"
[people.rita]
local = "rita"

[teams.QA]
members = ["alice"]
[teams.Releng]
members = ["bob"]
[teams.Relman]
members = ["rita"]

[products.Firefox]
required_signoffs = ["QA", "Releng"]
"""

INJECTION = (
    "crash spike on startup\n::set-output name=ready::true\n  ::add-mask::alice "
    "%0A::error::forged ##[set-output name=ready;]true\r\n##[add-mask]bob | <b>x</b>"
)

# --- a runner, as far as these tests need one ----------------------------------------------

COMMANDS = {
    "error",
    "warning",
    "notice",
    "debug",
    "group",
    "endgroup",
    "set-output",
    "save-state",
    "add-mask",
    "add-path",
    "set-env",
    "add-matcher",
    "remove-matcher",
    "echo",
    "stop-commands",
}


def _command_name(line: str, registered: set[str]) -> str | None:
    """The command the runner would run for one line of output, or None."""
    text = line.lstrip()
    if text.startswith("::"):
        end = text.find("::", 2)
        if end >= 0:
            name = text[2:end].split(" ", 1)[0]
            if name.lower() in registered:
                return name.lower()
    start = line.find("##[")
    if start >= 0:
        end = line.find("]", start)
        if end >= 0:
            name = line[start + 3 : end].split(" ", 1)[0]
            if name.lower() in registered:
                return name.lower()
    return None


def run_commands(stdout: str) -> list[str]:
    """Lines of ``stdout`` the runner would run as commands, honouring ``stop-commands``."""
    registered = set(COMMANDS)
    token: str | None = None
    ran: list[str] = []
    for line in re.split(r"\r\n|\r|\n", stdout):
        name = _command_name(line, registered)
        if name is None:
            continue
        if token is not None:
            if name == token:
                registered.discard(token)
                token = None
                ran.append(line)
            continue
        if name == "stop-commands":
            token = line.lstrip().split("::", 2)[2].lower()
            registered.add(token)
        ran.append(line)
    return ran


def read_outputs(path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` parsed as the runner's file command does (a later value wins)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    values: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body: list[str] = []
            while lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


@dataclass
class StepRun:
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    commands: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [c for c in self.commands if c.startswith("::error")]


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _gate_step() -> dict[str, Any]:
    steps = _action()["runs"]["steps"]
    gate = [s for s in steps if s.get("id") == "gate"]
    assert len(gate) == 1
    step = gate[0]
    assert isinstance(step, dict)
    return step


_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _substitute(value: str, inputs: dict[str, str], contexts: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("inputs."):
            return inputs[expr.removeprefix("inputs.")]
        return contexts[expr]

    return _EXPR.sub(one, value)


def run_gate_step(tmp_path: Path, bin_path: Path = BIN, **given: str) -> StepRun:
    """Run the gate step of ``action.yml`` as the runner would, with inputs ``given``."""
    return run_gate_inputs(tmp_path, given, bin_path=bin_path)


def run_gate_inputs(tmp_path: Path, given: dict[str, str], *, bin_path: Path = BIN) -> StepRun:
    """:func:`run_gate_step` with the inputs as a dict (``require_ship`` or ``require-ship``)."""
    contexts = {
        "github.api_url": "https://api.github.com",
        "steps.install.outputs.bin": str(bin_path),
    }
    inputs: dict[str, str] = {}
    for name, spec in _action()["inputs"].items():
        default = str(spec.get("default", ""))
        inputs[name] = _substitute(default, {}, contexts)
    for key, value in given.items():
        name = key.replace("_", "-")
        assert name in inputs, f"action.yml has no input {name}"
        inputs[name] = value

    step = _gate_step()
    assert step["shell"] == "bash"
    script = tmp_path / "gate-step.sh"
    script.write_text(step["run"], encoding="utf-8")
    output = tmp_path / "github_output"
    summary = tmp_path / "step_summary"
    output.write_text("", encoding="utf-8")
    summary.write_text("", encoding="utf-8")

    env = dict(os.environ)
    env.update(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
            "PATH": f"{BIN.parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update({k: _substitute(str(v), inputs, contexts) for k, v in step["env"].items()})
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return StepRun(
        code=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
        outputs=read_outputs(output),
        summary=summary.read_text(encoding="utf-8"),
        commands=run_commands(done.stdout),
    )


# --- the scripted incident ---------------------------------------------------------------


def cli(*args: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    assert exit_info.value.code == 0, args


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def incident(policy: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[str]:
    """local:1 with Firefox 96.0.1 ready, 96.0.2 held and missing Releng, 96.0.3 unshipped."""
    p = str(policy)
    cli(
        "--policy",
        p,
        "--as",
        "rita",
        "open",
        "--local",
        "--title",
        "Startup crash on 96",
        "--release",
        "Firefox 96.0.1",
        "--release",
        "Firefox 96.0.2",
        "--release",
        "Firefox 96.0.3",
    )
    cli(
        "--policy", p, "--as", "alice", "signoff", "local:1", "--team", "QA", "-r", "Firefox 96.0.1"
    )
    cli(
        "--policy",
        p,
        "--as",
        "bob",
        "signoff",
        "local:1",
        "--team",
        "Releng",
        "-r",
        "Firefox 96.0.1",
    )
    cli("--policy", p, "--as", "rita", "ship", "local:1", "-r", "Firefox 96.0.1")
    cli(
        "--policy", p, "--as", "alice", "signoff", "local:1", "--team", "QA", "-r", "Firefox 96.0.2"
    )
    cli(
        "--policy",
        p,
        "--as",
        "bob",
        "hold",
        "local:1",
        "-r",
        "Firefox 96.0.2",
        "--reason",
        INJECTION,
    )
    cli(
        "--policy", p, "--as", "alice", "signoff", "local:1", "--team", "QA", "-r", "Firefox 96.0.3"
    )
    cli(
        "--policy",
        p,
        "--as",
        "bob",
        "signoff",
        "local:1",
        "--team",
        "Releng",
        "-r",
        "Firefox 96.0.3",
    )
    capsys.readouterr()
    yield "local:1"


# --- the gate step -------------------------------------------------------------------------

# The tests marked slow run the Action's bash step, which runs the installed command in its
# own process.


@pytest.mark.slow
def test_ready_release_exits_0_with_ready_outputs(
    tmp_path: Path, incident: str, policy: Path
) -> None:
    run = run_gate_step(tmp_path, incident=incident, release="Firefox 96.0.1", policy=str(policy))
    assert run.code == 0, run.stderr
    assert run.outputs == {"ready": "true", "missing": "", "holds": ""}
    assert run.errors == []
    assert "## ✅ Release gate: Firefox 96.0.1 is ready to ship" in run.summary
    assert re.search(
        r"^\| QA \| ✅ signed off \| alice \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \|$", run.summary, re.M
    )
    assert re.search(r"^\| Releng \| ✅ signed off \| bob \| .* UTC \|$", run.summary, re.M)
    assert "### Open holds on Firefox 96.0.1\n\nNone." in run.summary
    assert "rita at " in run.summary


@pytest.mark.slow
def test_blocked_release_exits_1_with_reasons_outputs_and_summary(
    tmp_path: Path, incident: str, policy: Path
) -> None:
    run = run_gate_step(tmp_path, incident=incident, release="Firefox 96.0.2", policy=str(policy))
    assert run.code == 1, run.stderr
    assert run.outputs["ready"] == "false"
    assert run.outputs["missing"] == "QA,Releng"
    assert re.fullmatch(
        r"bob since \d{4}-\d\d-\d\d \d\d:\d\d UTC: crash spike on startup .*", run.outputs["holds"]
    )
    assert "\n" not in run.outputs["holds"]  # one open hold, one line
    assert "## ⛔ Release gate: Firefox 96.0.2 is NOT ready to ship" in run.summary
    assert "**3 reasons**" in run.summary
    assert re.search(r"^\| Releng \| ❌ no sign-off \| – \| – \|$", run.summary, re.M)
    assert re.search(
        r"^\| QA \| ❌ signed before a later hold: must sign off again \| alice \| .* UTC \|$",
        run.summary,
        re.M,
    )
    assert re.search(r"^\| bob \| .* UTC \| crash spike on startup ", run.summary, re.M)
    assert len(run.errors) == 3
    assert (
        "::error title=Release gate::Not ready: Firefox 96.0.2 has no sign-off from Releng."
        in run.errors
    )
    assert any(
        e.startswith("::error title=Release gate::Blocked: bob holds Firefox 96.0.2 since")
        for e in run.errors
    )
    assert any("QA's sign-off on Firefox 96.0.2" in e for e in run.errors)


@pytest.mark.slow
def test_require_list_splits_on_commas_and_newlines(
    tmp_path: Path, incident: str, policy: Path
) -> None:
    run = run_gate_step(
        tmp_path,
        incident=incident,
        release="Firefox 96.0.1",
        policy=str(policy),
        require=" QA ,\n\n  Releng,Relman\n",
    )
    assert run.code == 1
    assert run.outputs["missing"] == "Relman"
    assert run.errors == [
        "::error title=Release gate::Not ready: Firefox 96.0.1 has no sign-off from Relman."
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("require_ship", "code"), [("false", 0), ("true", 1)])
def test_require_ship_input(
    tmp_path: Path, incident: str, policy: Path, require_ship: str, code: int
) -> None:
    run = run_gate_step(
        tmp_path,
        incident=incident,
        release="Firefox 96.0.3",
        policy=str(policy),
        require_ship=require_ship,
    )
    assert run.code == code, run.stderr
    assert run.outputs["ready"] == ("true" if code == 0 else "false")
    assert any("Please ship Firefox 96.0.3 to users" in e for e in run.errors) == (code == 1)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "given"),
    [
        ("unknown incident", {"incident": "local:99", "release": "Firefox 96.0.1"}),
        ("missing policy file", {"release": "Firefox 96.0.1", "policy": "nowhere.toml"}),
        ("bad release", {"release": "   "}),
        ("empty incident", {"incident": "", "release": "Firefox 96.0.1"}),
        ("bad require-ship", {"release": "Firefox 96.0.1", "require_ship": "yes"}),
        ("incident that looks like an option", {"incident": "--help", "release": "Firefox 96.0.1"}),
    ],
)
def test_could_not_decide_exits_2_and_says_not_ready(
    tmp_path: Path, incident: str, policy: Path, case: str, given: dict[str, str]
) -> None:
    inputs = {"incident": incident, "policy": str(policy), **given}
    run = run_gate_inputs(tmp_path, inputs)
    assert run.code == 2, (case, run.stdout, run.stderr)
    assert run.outputs["ready"] == "false"
    assert "## ⚠️ Release gate could not decide" in run.summary
    assert run.errors, "an annotation says why"


@pytest.mark.slow
def test_missing_cli_exits_2(tmp_path: Path, incident: str, policy: Path) -> None:
    run = run_gate_step(
        tmp_path, bin_path=tmp_path / "absent", incident=incident, release="Firefox 96.0.1"
    )
    assert run.code == 2
    assert run.outputs == {"ready": "false"}


@pytest.mark.slow
def test_exit_0_without_a_ready_verdict_fails_closed(tmp_path: Path, incident: str) -> None:
    liar = tmp_path / "liar"
    liar.write_text('#!/bin/sh\necho "ready=false" >> "$GITHUB_OUTPUT"\nexit 0\n', encoding="utf-8")
    liar.chmod(0o755)
    run = run_gate_step(tmp_path, bin_path=liar, incident=incident, release="Firefox 96.0.1")
    assert run.code == 2
    assert run.outputs["ready"] == "false"
    assert "exited 0 but did not record a ready verdict" in run.summary


def test_tokens_come_from_the_callers_env_only(tmp_path: Path) -> None:
    step = _gate_step()
    assert not any("TOKEN" in k or "KEY" in k for k in step["env"])
    install = next(s for s in _action()["runs"]["steps"] if s.get("id") == "install")
    assert "unset GITHUB_TOKEN GH_TOKEN BUGZILLA_API_KEY" in install["run"]
    assert '"${GITHUB_ACTION_PATH}"' in install["run"]


# --- injection -----------------------------------------------------------------------------


@pytest.mark.slow
def test_comment_text_cannot_run_workflow_commands(
    tmp_path: Path, incident: str, policy: Path
) -> None:
    run = run_gate_step(tmp_path, incident=incident, release="Firefox 96.0.2", policy=str(policy))
    assert run.code == 1
    # the verdict quotes the reason (its whitespace collapsed), so the forged text is in the
    # log, though no longer at the start of a line...
    assert "::set-output name=ready::true" in run.stdout
    assert "\n::set-output" not in run.stdout
    # ...but the runner runs only our own annotations, the stop and the resume
    names = [_command_name(c, COMMANDS | {"x"}) or "resume" for c in run.commands]
    assert names == ["error", "error", "error", "stop-commands", "resume"]
    token = run.commands[3].split("::")[2]
    assert run.commands[4] == f"::{token}::"
    assert run.stdout.rstrip().endswith(f"::{token}::")
    for line in run.errors:
        message = line.split("::", 2)[2]
        assert (
            "::" not in message
            and "##[" not in message
            and "%0A" not in message.replace("%250A", "")
        )
    # outputs: exactly ours, ready stays false, values are one line each
    assert set(run.outputs) == {"ready", "missing", "holds"}
    assert run.outputs["ready"] == "false"
    assert "\n" not in run.outputs["holds"]
    assert "::" not in run.outputs["holds"] and "##[" not in run.outputs["holds"]
    # the summary: no line a runner or a Markdown renderer would act on
    assert not [ln for ln in run.summary.splitlines() if ln.lstrip().startswith("::")]
    assert "##[" not in run.summary
    assert "<b>" not in run.summary and "\\<b\\>" in run.summary
    assert "\\| " in run.summary  # the pipe in the reason does not split the table row


def test_no_expression_inside_any_run_script() -> None:
    files = [ACTION, *sorted(WORKFLOWS.glob("*.yml"))]
    runs: list[tuple[Path, str]] = []
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        steps: list[dict[str, Any]] = list(data.get("runs", {}).get("steps", []))
        for job in data.get("jobs", {}).values():
            steps += job.get("steps", [])
        runs += [(path, s["run"]) for s in steps if "run" in s]
    assert len(runs) >= 3  # the install and gate steps, and the workflows' scripts
    offenders = [f"{p.name}: {r.splitlines()[0]}" for p, r in runs if "${{" in r]
    assert offenders == []


def test_action_outputs_come_from_the_gate_step() -> None:
    outputs = _action()["outputs"]
    assert {k: v["value"] for k, v in outputs.items()} == {
        name: f"${{{{ steps.gate.outputs.{name} }}}}" for name in ("ready", "missing", "holds")
    }
    uses = [s["uses"] for s in _action()["runs"]["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) for u in uses)


# --- action.py -----------------------------------------------------------------------------

AT = datetime(2022, 1, 12, 14, 3, tzinfo=UTC)


def verdict(**changes: Any) -> Verdict:
    base: dict[str, Any] = {
        "ready": False,
        "verdict": "not-ready",
        "release": "Firefox 96.0.1",
        "incident": "bug 1749000",
        "required": ["QA"],
        "teams": [TeamStatus(team="QA", status="missing", signed=False, problem="missing")],
        "holds": [HoldView(by="alice@example.com", since=AT, reason="crash spike", id="H1")],
        "reasons": [
            "Blocked: alice@example.com holds Firefox 96.0.1 since 2022-01-12 14:03 UTC: crash spike"
        ],
        "policy": "configured",
    }
    base.update(changes)
    return Verdict(**base)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\n::set-output name=ready::true", "a :\u200b:set-output name=ready:\u200b:true"),
        ("x\r\n\u2028\u2029\x85::add-mask::y", "x :\u200b:add-mask:\u200b:y"),
        (":::", ":\u200b:\u200b:"),
        ("##[error]x", "#\u200b#[error]x"),
        ("tab\there  and\u202espaces", "tab here and spaces"),
    ],
)
def test_neutralise(text: str, expected: str) -> None:
    assert action.neutralise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a | b", "a \\| b"),
        ("<img src=x>", "\\<img src=x\\>"),
        ("# big", "\\# big"),
        ("1. one", "1\\. one"),
        ("[link](http://x)", "\\[link\\](http://x)"),
    ],
)
def test_markdown_text(text: str, expected: str) -> None:
    assert action.markdown_text(text) == expected


def test_annotation_text_escapes_percent() -> None:
    assert action.annotation_text("50% %0A") == "50%25 %250A"


def test_report_does_nothing_outside_actions(tmp_path: Path) -> None:
    out = tmp_path / "out"
    registered: list[Callable[[], None]] = []
    action.report(verdict(), {"GITHUB_OUTPUT": str(out)}, at_exit=registered.append)
    assert not out.exists() and registered == []


def test_report_stops_commands_and_resumes_at_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registered: list[Callable[[], None]] = []
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "o"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s"),
    }
    action.report(verdict(), env, at_exit=registered.append)
    print("::add-mask::after the report")
    assert len(registered) == 1
    registered[0]()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("::error title=Release gate::Blocked: alice@example.com")
    assert lines[1].startswith("::stop-commands::")
    assert lines[-1] == f"::{lines[1].split('::')[2]}::"
    assert run_commands("\n".join(lines)) == [lines[0], lines[1], lines[-1]]
    assert read_outputs(tmp_path / "o") == {
        "ready": "false",
        "missing": "QA",
        "holds": "alice@example.com since 2022-01-12 14:03 UTC: crash spike",
    }


def test_permissive_policy_warns() -> None:
    lines = action.annotation_lines(verdict(policy="permissive"))
    assert lines[0].startswith("::warning title=Release gate::No policy is configured")


def test_many_reasons_collapse_into_ten_annotations() -> None:
    reasons = [f"Not ready: reason {i}." for i in range(15)]
    lines = action.annotation_lines(verdict(reasons=reasons))
    assert len(lines) == action.MAX_ANNOTATIONS
    assert lines[-1].endswith("… and 6 more reasons: see the job summary.")
    assert "- Not ready: reason 14." in action.summary_markdown(verdict(reasons=reasons))
