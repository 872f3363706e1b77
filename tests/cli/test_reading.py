"""What people read and type (issue 12): one readiness everywhere, handoffs you can act on,
input people actually type, errors for people."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from sync_incident.cli.app import main
from tests.cli.test_cli import REL, entry, errors, ok, state

POLICY = """
[people.dana]
timezone = "America/Toronto"
working_hours = "09:00-17:00"
[people.beatrice]
timezone = "Europe/Berlin"
working_hours = "09:00-17:00"
[people.quinn]
timezone = "Europe/London"
[people.rachel]
[people.morgan]
[people.alice]
[teams.QA]
members = ["quinn"]
[teams.Releng]
members = ["rachel"]
[teams.Relman]
members = ["morgan"]
[products.Firefox]
required_signoffs = ["QA", "Releng"]
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "incidents.sqlite3"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def run(db: Path, policy: Path, *args: str, who: str = "dana") -> tuple[int, str]:
    """The real entry point (exit codes as a shell sees them); stdout then stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as stop:
        main(["--db", str(db), "--policy", str(policy), "--as", who, *args])
    assert "Traceback" not in err.getvalue()
    code = stop.value.code
    return (code if isinstance(code, int) else 0), out.getvalue() + err.getvalue()


def opened(db: Path, policy: Path) -> str:
    code, out = run(db, policy, "open", "--local", "--title", "Crash spike", "--release", REL)
    assert code == 0, out
    return "local:1"


def test_show_json_carries_each_release_exactly_as_the_gate_reports_it(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    for who, args in (
        ("quinn", ("signoff", ref, "--team", "QA", "--release", REL)),
        ("alice", ("hold", ref, "--release", REL, "--reason", "a crash spike on startup")),
        (
            "alice",
            (
                "release-hold",
                ref,
                "--release",
                REL,
                "--reason",
                "The crash was a driver bug, fixed in build 2.",
            ),
        ),
        ("rachel", ("signoff", ref, "--team", "Releng", "--release", REL)),
    ):
        assert run(db, policy, *args, who=who)[0] == 0
        _, shown = run(db, policy, "show", ref, "--json")
        gate_code, gated = run(db, policy, "gate", ref, "--release", REL, "--json")
        release = json.loads(shown)["releases"][0]
        assert release == json.loads(gated), args
        assert gate_code == (0 if release["ready"] else 1)
    assert release["teams"][0]["status"] == "stale"  # QA signed before alice's hold


def test_show_json_signoffs_carry_the_gates_status_for_each(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    for who, args in (
        ("quinn", ("signoff", ref, "--team", "QA", "--release", REL)),
        ("rachel", ("signoff", ref, "--team", "Releng", "--release", REL)),
        ("morgan", ("signoff", ref, "--team", "Relman", "--release", REL)),  # not required
        ("alice", ("hold", ref, "--release", REL, "--reason", "a crash spike on startup")),
        (
            "alice",
            (
                "release-hold",
                ref,
                "--release",
                REL,
                "--reason",
                "The crash was a driver bug, fixed in build 2.",
            ),
        ),
        ("rachel", ("signoff", ref, "--team", "Releng", "--release", REL)),
    ):
        assert run(db, policy, *args, who=who)[0] == 0, args
    shown = json.loads(run(db, policy, "show", ref, "--json")[1])
    statuses = {s["team"]: s["status"] for s in shown["signoffs"]}
    assert statuses == {"QA": "stale", "Releng": "signed", "Relman": "stale"}
    teams = {t["team"]: t["status"] for t in shown["releases"][0]["teams"]}
    assert teams == {"QA": "stale", "Releng": "signed"}  # the same as the top-level list


def test_show_json_marks_revoked_signoffs_revoked(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    run(db, policy, "signoff", ref, "--team", "QA", "--release", REL, who="quinn")
    run(
        db, policy, "revoke", ref, "--team", "QA", "--release", REL, "--reason",
        "a new crash signature", who="quinn",
    )  # fmt: skip
    shown = json.loads(run(db, policy, "show", ref, "--json")[1])
    assert [s["status"] for s in shown["revoked_signoffs"]] == ["revoked"]
    assert shown["releases"][0]["teams"][0]["status"] == "revoked"


def test_show_starts_with_one_verdict_line_per_release_and_every_reason(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    run(db, policy, "hold", ref, "--release", REL, "--reason", "crash spike", who="alice")
    out = run(db, policy, "show", ref)[1]
    since = out.split("since ", 1)[1].split(" UTC", 1)[0]
    assert out.splitlines()[1] == (
        f"  NOT READY {REL} — alice holds {REL} since {since} UTC: crash spike. "
        f"{REL} has no sign-off from QA. {REL} has no sign-off from Releng."
    )
    assert "  QA: missing" in out and "  Releng: missing" in out


def test_show_displays_a_pending_handoff_in_full_in_both_timezones(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(
        db,
        policy,
        "handoff",
        ref,
        "--to",
        "beatrice",
        "--done",
        "Steps 1 to 3 are done.",
        "--todo",
        "Step 4 remains.",
        "--next",
        "Verify Firefox 96.0.1 on nightly | beatrice | 2030-01-12 18:00 UTC",
        "--notify",
        "Relman",
    )
    assert code == 0, out
    shown = run(db, policy, "show", ref)[1]
    assert "Handoff PENDING: dana → beatrice (incident commander)" in shown
    assert "  Done: Steps 1 to 3 are done." in shown and "  To do: Step 4 remains." in shown
    assert "  Next: Verify Firefox 96.0.1 on nightly — beatrice, by 2030-01-12 18:00 UTC" in shown
    assert "19:00 Europe/Berlin" in shown  # the recipient's time
    assert "  Notify when done: Relman" in shown
    run(db, policy, "accept", ref, who="beatrice")
    after = run(db, policy, "show", ref)[1]
    assert "Last handoff: dana → beatrice (incident commander)" in after and "accepted" in after


def _offer_with_a_time(db: Path, policy: Path) -> str:
    ref = opened(db, policy)
    code, out = run(
        db, policy, "handoff", ref, "--to", "beatrice", "--done", "Steps 1 to 3 are done.",
        "--todo", "Step 4 remains.", "--next",
        "Verify Firefox 96.0.1 on nightly | beatrice | 2030-01-12 18:00 UTC",
    )  # fmt: skip
    assert code == 0, out
    return ref


def _next_line(shown: str) -> str:
    return next(line for line in shown.splitlines() if line.startswith("  Next: "))


def test_show_gives_a_handoff_time_on_the_readers_clock_too(db: Path, policy: Path) -> None:
    ref = _offer_with_a_time(db, policy)
    assert _next_line(run(db, policy, "show", ref, who="dana")[1]).endswith(
        "by 2030-01-12 18:00 UTC (13:00 America/Toronto for you; 19:00 Europe/Berlin for beatrice)"
    )
    assert _next_line(run(db, policy, "show", ref, who="beatrice")[1]).endswith(
        "(19:00 Europe/Berlin for you)"
    )


def test_show_falls_back_to_the_configured_timezone_for_a_reader_without_one(
    db: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = _offer_with_a_time(db, policy)
    monkeypatch.setenv("SYNC_INCIDENT_TIMEZONE", "Asia/Tokyo")
    assert _next_line(run(db, policy, "show", ref, who="rachel")[1]).endswith(
        "(2030-01-13 03:00 Asia/Tokyo for you; 19:00 Europe/Berlin for beatrice)"
    )


def test_handoff_needs_an_owner_and_a_time_for_each_next_step(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(
        db,
        policy,
        "handoff",
        ref,
        "--to",
        "beatrice",
        "--done",
        "d",
        "--todo",
        "t",
        "--next",
        "Verify on nightly",
    )
    assert code == 64 and "needs what, who and by when" in out


def test_handoff_refuses_a_blank_done(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(db, policy, "handoff", ref, "--to", "beatrice", "--done", "  ", "--todo", "t")
    assert code == 64 and "--done: must not be empty" in out


def test_handoff_without_to_picks_whose_working_day_starts_next_and_says_so(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    code, out = run(db, policy, "handoff", ref, "--done", "Steps 1-3.", "--todo", "Step 4.")
    assert code == 0, out
    assert "handing off to beatrice" in out
    assert state(db)["handoffs"][0]["to"] == "beatrice"


def test_severity_takes_only_the_configured_levels(db: Path, policy: Path) -> None:
    code, out = run(db, policy, "open", "--local", "--title", "T", "--severity", "S9")
    assert code == 64 and "use one of S1, S2, S3, S4" in out
    assert run(db, policy, "open", "--local", "--title", "T", "--severity", "s1")[0] == 0
    assert state(db)["severity"] == "S1"


def test_step_title_on_an_existing_step_renames_it(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    run(db, policy, "step", ref, "--step", "4", "--title", "Verify")
    run(db, policy, "step", ref, "--step", "4", "--title", "Verify the fix on nightly")
    assert state(db)["checklist"][0]["title"] == "Verify the fix on nightly"


def test_step_rerun_with_the_same_title_records_no_title_change(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    run(db, policy, "step", ref, "--step", "4", "--title", "Verify the fix on nightly")
    before = len(state(db)["timeline"])
    code, out = run(db, policy, "step", ref, "--step", "4", "--title", "Verify the fix on nightly")
    assert code == 0, out
    assert "New title" not in out and "nothing posted" in out
    assert len(state(db)["timeline"]) == before
    code, out = run(
        db, policy, "step", ref, "--step", "4", "--title", "Verify the fix on nightly", "--state",
        "doing",
    )  # fmt: skip
    assert code == 0 and "is now doing" in out and "New title" not in out, out
    assert '"title"' not in state(db)["timeline"][-1]["data"]


def test_a_status_without_next_update_keeps_the_promise_unless_cleared(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    run(
        db,
        policy,
        "status",
        ref,
        "-m",
        "Builds are green.",
        "--next-update",
        "2030-01-01 10:00 UTC",
    )
    run(db, policy, "status", ref, "-m", "QA started on the builds.")
    assert state(db)["next_update_due"] == "2030-01-01T10:00:00Z"
    run(db, policy, "status", ref, "-m", "Done for today.", "--next-update", "none")
    assert state(db)["next_update_due"] is None


def test_a_due_time_in_the_past_is_warned_about(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(
        db, policy, "status", ref, "-m", "Green.", "--next-update", "2020-01-01 10:00 UTC"
    )
    assert code == 0 and "warning: the next update (2020-01-01 10:00 UTC) is in the past" in out


def test_a_reference_given_as_one_argument_works(
    db: Path, policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, err = entry(capsys, "bug 1750000", "--bugzilla-url", "http://127.0.0.1:9")
    assert "No such command" not in err
    code, _, err = entry(capsys, "--db", str(db), "--policy", str(policy), "local:1 ")
    assert code == 66 and "local:1 does not exist" in err  # parsed as a reference, then looked up


def test_list_shows_active_incidents_with_their_verdicts(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    run(db, policy, "hold", ref, "--release", REL, "--reason", "crash spike", who="alice")
    code, out = run(db, policy, "list")
    assert code == 0
    assert out.startswith(
        "local:1: Crash spike (S2) · IC dana\n  NOT READY Firefox 96.0.1 — alice holds"
    )
    data = json.loads(run(db, policy, "list", "--json")[1])
    assert data["schema_version"] == 2
    assert data["incidents"][0]["releases"][0]["verdict"] == "not-ready"


def test_list_with_nothing_active_says_so_and_exits_0(db: Path, policy: Path) -> None:
    assert run(db, policy, "list") == (0, "No active incidents.\n")


def test_every_error_is_one_line_and_a_hint(
    db: Path, policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    opened(db, policy)
    cases = [
        ("--db", str(db), "show", "local:9"),  # not found
        ("--db", str(db), "--policy", str(policy), "--as", "quinn", "accept", "local:1"),  # refused
        ("--db", str(db), "note", "local:1", "-m", "x", "--occurred-at", "soon"),  # usage
        ("--db", str(db), "--config", str(policy.with_name("nope.toml")), "show", "local:1"),
    ]
    for args in cases:
        code, _, err = entry(capsys, *args)
        lines = [x for x in err.splitlines() if not x.startswith(("note:", "warning:"))]
        assert code != 0 and len(lines) == 2 and lines[1].startswith("hint: "), (args, err)
        assert "Error:" not in lines[0] and "Value error" not in lines[0]
        assert errors(err), err


def test_an_option_outside_its_choices_is_explained_in_words(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    run(db, policy, "step", ref, "--step", "4", "--title", "Verify the fix on nightly")
    code, out = run(db, policy, "step", ref, "--step", "4", "--state", "finished")
    assert code == 64
    assert out.splitlines() == [
        "usage error: --state: 'finished' is not a valid state (todo, doing, done, blocked)",
        "hint: use one of: todo, doing, done, blocked",
    ]


def test_a_config_value_of_the_wrong_type_is_explained_in_words(
    db: Path, policy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = policy.with_name("config.toml")
    config.write_text('[bugzilla]\npoll_minutes = "often"\n', encoding="utf-8")
    code, _, err = entry(capsys, "--db", str(db), "--config", str(config), "show", "local:1")
    assert code == 78
    (message, hint) = err.splitlines()
    assert message.endswith(": [bugzilla] poll_minutes: 'often' is not a number"), message
    assert hint.startswith("hint: write a number"), hint
    assert "Input should" not in err and "unable to parse" not in err


def test_a_refused_accept_exits_3(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    assert run(db, policy, "accept", ref, who="quinn")[0] == 3


def test_show_lists_links(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    run(
        db,
        policy,
        "link",
        ref,
        "--url",
        "https://x.test/D1",
        "--kind",
        "patch",
        "--title",
        "The fix",
    )
    assert "  patch: The fix — https://x.test/D1 (dana)" in run(db, policy, "show", ref)[1]


def test_ok_helper_still_works(db: Path) -> None:
    ok(db, "open", "--local", "--title", "T", "--release", REL)
    assert state(db)["status"] == "active"


@pytest.mark.parametrize(
    ("command", "option"),
    [("status", "--next-update"), ("step", "--due"), ("note", "--occurred-at")],
)
def test_time_options_list_every_form_the_parser_accepts(
    command: str, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from sync_incident.core.times import HINT

    code, out, _ = entry(capsys, command, "--help")
    help_text = " ".join(out.split())
    assert code == 0 and option in help_text
    forms = re.findall(r"'([^']+)'", HINT)
    assert "18:00 Europe/Berlin" in forms and "+2h" in forms
    for form in [*forms, "ISO 8601"]:
        assert f"{form}" in help_text, (form, help_text)


def test_a_local_read_never_opens_the_http_cache(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from sync_incident.cli.app import app

    db, cache = tmp_path / "local.sqlite3", tmp_path / "cache" / "cache.sqlite3"
    runner = CliRunner()
    base = ["--db", str(db), "--cache", str(cache), "--as", "alice"]
    opened = runner.invoke(app, [*base, "open", "--local", "--title", "Startup crash spike"])
    assert opened.exit_code == 0, opened.output
    shown = runner.invoke(app, [*base, "show", "local:1"])
    assert shown.exit_code == 0 and "Startup crash spike" in shown.output
    assert not cache.parent.exists()
