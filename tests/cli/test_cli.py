"""The command line: every command through CliRunner, and the error boundary through main().

``CliRunner`` drives ``sync_incident.cli.app`` for the happy paths. The real entry point is
``main(argv)``: it reorders global options, maps every error to ``ClassName: message`` plus a
hint on stderr and a documented exit code, and never prints a traceback; it is tested by
calling it inside ``pytest.raises(SystemExit)`` with ``capsys``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from sync_incident.cli.app import app, main
from sync_incident.core import codec
from sync_incident.core.events import Note
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.base import NewIncident
from sync_incident.trackers.local import LocalTracker

REL = "Firefox 96.0.1"
README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "incidents.sqlite3"


def cli(db: Path, *args: str, who: str = "dana", stdin: str | None = None) -> Result:
    return runner.invoke(app, ["--db", str(db), "--as", who, *args], input=stdin)


def ok(db: Path, *args: str, who: str = "dana") -> Result:
    result = cli(db, *args, who=who)
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def entry(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the real entry point; return (exit code, stdout, stderr). Never a traceback."""
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err and "Traceback" not in out.out
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def errors(err: str) -> list[str]:
    """The error lines on stderr (not the permissive-policy note, not retry notices)."""
    return [
        line
        for line in err.splitlines()
        if re.match(r"^(?!note:|warning:|hint:|wording:)[a-z][a-z ()]*: ", line)
    ]


def state(db: Path, ref: str = "local:1") -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(ok(db, "show", ref, "--json").stdout)
    return shown


def comments(db: Path, number: int = 1) -> list[Any]:
    async def go() -> list[Any]:
        async with LocalTracker(db, user="reader") as tracker:
            return (await tracker.fetch(IncidentRef("local", number))).comments

    return asyncio.run(go())


def _stored_comments(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM comments").fetchone()[0])


@pytest.fixture
def incident(db: Path) -> str:
    ok(db, "open", "--local", "--title", "Startup crash in Firefox 96.0.1", "--release", REL)
    return "local:1"


@pytest.fixture
def held(db: Path, incident: str) -> str:
    ok(db, "hold", incident, "--release", REL, "--reason", "crash spike on startup", who="alice")
    return incident


@pytest.fixture
def offered(db: Path, incident: str) -> str:
    ok(
        db,
        "handoff",
        incident,
        "--to",
        "beatrice",
        "--done",
        "Steps 1 to 3 are done.",
        "--todo",
        "Step 4 remains.",
        "--next",
        "Verify Firefox 96.0.1 on nightly | beatrice | 2022-01-12 18:00",
        "--notify",
        "Relman",
    )
    return incident


# --- opening ----------------------------------------------------------------------------------


def test_open_files_a_new_local_incident(db: Path) -> None:
    result = ok(db, "open", "--local", "--title", "Startup crash", "--release", REL)
    assert result.stdout.strip() == "Incident opened: local:1; dana is incident commander."
    data = state(db)
    assert (data["ic"], [r["release"] for r in data["releases"]]) == ("dana", [REL])


def test_open_names_another_first_ic(db: Path) -> None:
    ok(db, "open", "--local", "--title", "Startup crash", "--ic", "alice")
    assert state(db)["ic"] == "alice"


def test_open_adopts_an_existing_bug(db: Path) -> None:
    async def file_plain_bug() -> None:
        async with LocalTracker(db, user="reporter") as tracker:
            await tracker.create(
                NewIncident(title="Crash spike", body="Crash reports attached.", marker="m1")
            )

    asyncio.run(file_plain_bug())
    result = ok(db, "open", "local:1", "--severity", "S1")
    assert result.stdout.strip() == "Incident opened on local:1; dana is incident commander."
    data = state(db)
    assert (data["title"], data["severity"], data["status"]) == ("Crash spike", "S1", "active")


def test_open_without_title_is_a_usage_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "--db", str(db), "open", "--local")
    assert code == 64
    assert errors(err) == ["usage error: a new incident needs --title"]


# --- posting commands ---------------------------------------------------------------------------


def test_note_is_posted_with_its_text(db: Path, incident: str) -> None:
    result = ok(db, "note", incident, "-m", "The patch for bug 1750001 landed.", who="bob")
    assert result.stdout.startswith("Posted on local:1 as comment ")
    assert "  The patch for bug 1750001 landed." in result.stdout
    assert state(db)["timeline"][-1]["actor"] == "bob"


def test_note_with_occurred_at_is_backfilled(db: Path, incident: str) -> None:
    ok(db, "note", incident, "-m", "The tree closed.", "--occurred-at", "2022-01-12 14:03")
    last = state(db)["timeline"][-1]
    assert last["occurred_at"] == "2022-01-12T14:03:00Z"
    assert last["at"] != last["occurred_at"]


def test_note_with_a_bad_time_is_a_usage_error(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(
        capsys, "--db", str(db), "note", incident, "-m", "x", "--occurred-at", "yesterday"
    )
    assert code == 64
    assert errors(err) == ["usage error: 'yesterday' is not a time"]
    assert "hint: use '18:00 Europe/Berlin', 'tomorrow 09:00'" in err


def test_link_is_recorded(db: Path, incident: str) -> None:
    ok(db, "link", incident, "--url", "https://x.test/D1", "--kind", "patch", "--title", "Fix")
    assert [(lk["url"], lk["kind"]) for lk in state(db)["links"]] == [
        ("https://x.test/D1", "patch")
    ]


def test_step_is_added_then_updated(db: Path, incident: str) -> None:
    ok(db, "step", incident, "--step", "4", "--title", "Verify on nightly", "--owner", "bob")
    ok(db, "step", incident, "--step", "4", "--state", "done")
    (step,) = state(db)["checklist"]
    assert (step["step"], step["owner"], step["state"]) == ("4", "bob", "done")


def test_updating_an_unknown_step_without_title_is_a_usage_error(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(
        capsys, "--db", str(db), "step", incident, "--step", "9", "--state", "done"
    )
    assert code == 64
    assert "there is no step 9 yet" in err


def test_status_update_sets_the_next_update(db: Path, incident: str) -> None:
    ok(
        db,
        "status",
        incident,
        "-m",
        "Firefox 96.0.1 builds are green.",
        "--next-update",
        "2030-01-01T10:00Z",
    )
    data = state(db)
    assert data["last_status"] == "Firefox 96.0.1 builds are green."
    assert data["next_update_due"] == "2030-01-01T10:00:00Z"


def test_handoff_is_pending_until_accepted(db: Path, offered: str) -> None:
    data = state(db)
    assert data["ic"] == "dana"
    (handoff,) = data["handoffs"]
    assert (handoff["to"], handoff["status"], handoff["notify"]) == (
        "beatrice",
        "pending",
        ["Relman"],
    )
    assert handoff["next_steps"][0]["by"] == "2022-01-12T18:00:00Z"


def test_handoff_comment_states_the_templated_sentences(db: Path, offered: str) -> None:
    body = comments(db)[-1].body
    assert body.startswith(
        "beatrice, dana asks you to take over as incident commander of local:1.\n"
    )
    assert "Done: Steps 1 to 3 are done." in body
    assert "Still to do: Step 4 remains." in body
    assert "When done, notify Relman." in body


def test_accept_by_the_recipient_makes_them_ic(db: Path, offered: str) -> None:
    ok(db, "accept", offered, who="beatrice")
    assert state(db)["ic"] == "beatrice"


def test_accept_by_someone_else_is_refused(
    db: Path, offered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(comments(db))
    code, _, err = entry(capsys, "--db", str(db), "--as", "bob", "accept", offered)
    assert code == 3
    assert errors(err)[0].startswith("refused: no handoff is waiting for bob")
    assert len(comments(db)) == before


def test_accept_naming_someone_elses_handoff_is_refused(
    db: Path, offered: str, capsys: pytest.CaptureFixture[str]
) -> None:
    handoff_id = state(db)["handoffs"][0]["id"]
    code, _, err = entry(
        capsys, "--db", str(db), "--as", "bob", "accept", offered, "--handoff", handoff_id[-6:]
    )
    assert code == 3
    assert errors(err)[0].startswith("refused: the rules would reject this acceptance of a handoff")
    assert state(db)["ic"] == "dana"


def test_decline_keeps_the_ic(db: Path, offered: str) -> None:
    ok(db, "decline", offered, "--reason", "I am off on Friday.", who="beatrice")
    data = state(db)
    assert data["ic"] == "dana"
    assert (data["handoffs"][0]["status"], data["handoffs"][0]["decline_reason"]) == (
        "declined",
        "I am off on Friday.",
    )


def test_hold_is_raised_as_the_simulated_person(db: Path, held: str) -> None:
    (hold,) = state(db)["holds"]
    assert (hold["by"], hold["release"], hold["reason"]) == ("alice", REL, "crash spike on startup")


def test_hold_comment_is_the_explicit_sentence(db: Path, held: str) -> None:
    assert comments(db)[-1].body.startswith(
        "alice holds Firefox 96.0.1 because of crash spike on startup.\n"
        "Firefox 96.0.1 must not ship until alice or the incident commander releases this hold."
    )


def test_release_hold_by_the_raiser(db: Path, held: str) -> None:
    ok(db, "release-hold", held, "--release", REL, "--reason", "Fixed in build 2.", who="alice")
    data = state(db)
    assert data["holds"] == []
    assert data["released_holds"][0]["released_by"] == "alice"


def test_release_hold_by_a_third_person_is_refused_and_posts_nothing(
    db: Path, held: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(comments(db))
    code, _, err = entry(
        capsys,
        "--db",
        str(db),
        "--as",
        "bob",
        "release-hold",
        held,
        "--release",
        REL,
        "--reason",
        "Bob believes the crash is fixed.",
    )
    assert code == 3
    assert errors(err) == [
        "refused: the rules would reject this release of a hold: only alice, who raised "
        "the hold, or the incident commander (dana) can release it"
    ]
    assert "hint: nothing was posted" in err
    assert len(comments(db)) == before
    assert len(state(db)["holds"]) == 1


def test_release_hold_without_a_hold_is_refused(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("release-hold", incident, "--release", REL, "--reason", "The fix landed.")
    code, _, err = entry(capsys, "--db", str(db), *args)
    assert code == 3
    assert errors(err) == ["refused: there is no open hold on Firefox 96.0.1"]


def test_release_hold_without_a_reason_is_a_usage_error(
    db: Path, held: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(capsys, "--db", str(db), "release-hold", held, "--release", REL)
    assert code == 64
    assert errors(err) == ["usage error: Missing option '--reason'."]


def test_signoff_posts_the_explicit_statement(db: Path, incident: str) -> None:
    ok(db, "signoff", incident, "--team", "QA", "--release", REL, who="quinn")
    assert comments(db)[-1].body.startswith("QA signs off on Firefox 96.0.1.\n")
    assert [(s["team"], s["by"]) for s in state(db)["signoffs"]] == [("QA", "quinn")]


def test_signoff_with_a_release_without_version_is_a_usage_error(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(
        capsys, "--db", str(db), "signoff", incident, "--team", "QA", "--release", "Firefox"
    )
    assert code == 64
    assert errors(err)[0].startswith("usage error: 'Firefox' is not a release")


def test_revoke_withdraws_the_signoff(db: Path, incident: str) -> None:
    ok(db, "signoff", incident, "--team", "QA", "--release", REL, who="quinn")
    ok(
        db,
        "revoke",
        incident,
        "--team",
        "QA",
        "--release",
        REL,
        "--reason",
        "a regression",
        who="quinn",
    )
    data = state(db)
    assert data["signoffs"] == []
    assert data["revoked_signoffs"][0]["revoke_reason"] == "a regression"


def test_ship_records_the_decision(db: Path, incident: str) -> None:
    ok(db, "ship", incident, "--release", REL, who="morgan")
    assert comments(db)[-1].body.startswith("Please ship Firefox 96.0.1 to users.")
    assert state(db)["ship_decisions"][0]["by"] == "morgan"


def test_resolve_and_reopen(db: Path, incident: str) -> None:
    ok(db, "resolve", incident, "-m", "Firefox 96.0.1 shipped.")
    assert state(db)["status"] == "resolved"
    ok(db, "reopen", incident, "--reason", "the crash is back in 96.0.1", who="alice")
    assert state(db)["status"] == "active"


def test_resolve_by_a_non_ic_is_refused(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(
        capsys, "--db", str(db), "--as", "bob", "resolve", incident, "-m", "It is over."
    )
    assert code == 3
    assert "only the incident commander (dana) can resolve" in err


def test_retro_note_is_recorded(db: Path, incident: str) -> None:
    ok(
        db,
        "retro-note",
        incident,
        "--kind",
        "action_item",
        "-m",
        "Add a startup test.",
        "--owner",
        "bob",
    )
    assert [(r["kind"], r["owner"]) for r in state(db)["retro"]] == [("action_item", "bob")]


def test_retro_note_with_an_unknown_kind_is_a_usage_error(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(
        capsys, "--db", str(db), "retro-note", incident, "--kind", "blame", "-m", "x"
    )
    assert code == 64
    assert errors(err)[0].startswith("usage error: --kind:")


# --- dry run, lint on free text, --as -----------------------------------------------------------


def test_dry_run_prints_the_exact_comment_and_posts_nothing(db: Path, incident: str) -> None:
    before = len(comments(db))
    result = ok(db, "note", incident, "-m", "The tree is open again.", "--dry-run")
    header, _, body = result.stdout.partition("\n")
    assert header == "--- comment that would be posted on local:1 ---"
    parsed = codec.parse(body)
    assert [type(e) for e in parsed.events] == [Note]
    assert parsed.events[0].text == "The tree is open again."  # type: ignore[union-attr]
    assert body.rstrip("\n") == codec.render(parsed.events)
    assert len(comments(db)) == before


def test_dry_run_of_open_posts_nothing(db: Path) -> None:
    result = ok(db, "open", "--local", "--title", "Startup crash", "--dry-run")
    assert result.stdout.startswith("Incident opened: Startup crash.")
    assert codec.parse(result.stdout).events[0].type == "opened"
    assert not db.exists() or _stored_comments(db) == 0


def test_vague_wording_is_warned_about_but_posted(db: Path, incident: str) -> None:
    result = ok(db, "note", incident, "-m", "It seems better now.")
    assert "wording: text: 'seems'" in result.stderr
    assert state(db)["timeline"][-1]["type"] == "note"


def test_strict_refuses_vague_wording_and_posts_nothing(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(comments(db))
    code, _, err = entry(
        capsys, "--db", str(db), "note", incident, "-m", "It seems better.", "--strict"
    )
    assert code == 3
    assert errors(err)[0].startswith("refused: vague wording: text: 'seems'")
    assert len(comments(db)) == before


def test_strict_passes_explicit_wording(db: Path, incident: str) -> None:
    ok(db, "signoff", incident, "--team", "QA", "--release", REL, "--strict", who="quinn")
    assert len(state(db)["signoffs"]) == 1


def test_as_simulates_several_people(db: Path, incident: str) -> None:
    ok(db, "note", incident, "-m", "Alice checked the crash reports.", who="alice")
    ok(db, "note", incident, "-m", "Bob checked the build logs.", who="bob")
    assert [c.author.login for c in comments(db)] == ["dana", "alice", "bob"]


def test_as_only_works_with_the_local_tracker(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "--as", "alice", "bug", "123")
    assert code == 64
    assert errors(err) == ["usage error: --as works only with the local tracker"]


def test_global_options_may_follow_the_command(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = entry(
        capsys, "note", incident, "-m", "Bob is here.", "--as", "bob", "--db", str(db)
    )
    assert code == 0
    assert comments(db)[-1].author.login == "bob"


def test_every_command_says_when_the_policy_is_permissive(db: Path, incident: str) -> None:
    assert "note: no policy is configured" in ok(db, "show", incident).stderr


# --- showing ----------------------------------------------------------------------------------


def test_show_prints_the_incident_for_a_person(db: Path, held: str) -> None:
    out = ok(db, "show", held).stdout
    assert out.startswith("local:1: Startup crash in Firefox 96.0.1")
    assert "Incident commander: dana" in out
    assert "  NOT READY Firefox 96.0.1 — alice holds Firefox 96.0.1 since" in out
    assert "  HOLD by alice since" in out


def test_bare_reference_shows_the_incident(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = entry(capsys, "--db", str(db), "local:1")
    assert code == 0
    assert "Incident commander: dana" in out


def test_bare_reference_with_json(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = entry(capsys, "local:1", "--json", "--db", str(db))
    assert code == 0
    assert json.loads(out)["ic"] == "dana"


def test_global_options_after_the_command_work_through_the_group_itself(
    db: Path, incident: str
) -> None:
    # the root group moves them (click's parse_args), so typer's own runner sees it too
    result = runner.invoke(app, ["show", "local:1", "--json", "--db", str(db), "--as", "dana"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ic"] == "dana"


def test_commands_are_built_when_run_not_for_the_listing() -> None:
    from sync_incident.cli.app import _Listed

    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    listed = {name: c for name, c in group.commands.items() if name != "config"}
    assert listed and all(isinstance(c, _Listed) for c in listed.values())
    with group.make_context("sync-incident", ["show", "local:1"]) as ctx:
        show = group.get_command(ctx, "show")
    assert show is not None and not isinstance(show, _Listed)
    assert "--json" in {opt for p in show.params for opt in p.opts}
    assert all(isinstance(group.commands[n], _Listed) for n in listed if n != "show")


# The documented, stable `--json` schema of an incident (README "JSON output").
STATE_KEYS = {
    "schema_version",
    "rooms",
    "resolution",
    "last_event_id",
    "next_update_zone",
    "checked_doubts",
    "ref",
    "title",
    "url",
    "tracker",
    "policy",
    "opened",
    "opened_at",
    "opened_by",
    "status",
    "resolved_at",
    "severity",
    "releases",
    "ic",
    "ic_since",
    "ic_history",
    "holds",
    "released_holds",
    "signoffs",
    "revoked_signoffs",
    "replaced_signoffs",
    "ship_decisions",
    "handoffs",
    "checklist",
    "links",
    "retro",
    "participants",
    "last_update",
    "last_status",
    "last_status_by",
    "last_status_at",
    "next_update_due",
    "update_overdue",
    "doubts",
    "timeline",
    "warnings",
}
TIMELINE_KEYS = {
    "event_id",
    "type",
    "actor",
    "account",
    "at",
    "occurred_at",
    "comment_id",
    "pos",
    "accepted",
    "retracted",
    "reason",
    "summary",
    "data",
    "via",
}
HOLD_KEYS = {
    "id",
    "release",
    "by",
    "at",
    "pos",
    "reason",
    "released_by",
    "released_at",
    "released_pos",
    "release_reason",
}
VERDICT_KEYS = {
    "schema_version",
    "ready",
    "verdict",
    "release",
    "incident",
    "required",
    "teams",
    "holds",
    "ship_required",
    "ship_decision",
    "reasons",
    "summary",
    "policy",
}


def test_json_schema_keys_are_stable(db: Path, held: str) -> None:
    data = state(db)
    assert set(data) == STATE_KEYS
    assert set(data["timeline"][0]) == TIMELINE_KEYS
    assert set(data["holds"][0]) == HOLD_KEYS
    assert set(data["releases"][0]) == VERDICT_KEYS
    assert (data["schema_version"], data["ref"], data["tracker"], data["policy"]) == (
        2,
        "local:1",
        "local",
        "permissive",
    )


SIGNOFF_KEYS = {
    "team",
    "release",
    "by",
    "at",
    "pos",
    "statement",
    "event_id",
    "revoked_by",
    "revoked_at",
    "revoke_reason",
    "status",
}


def test_signoff_json_keys_are_stable(db: Path, incident: str) -> None:
    _signed(db, incident)
    ok(db, "revoke", incident, "--team", "QA", "--release", REL, "--reason", "a regression")
    data = state(db)
    assert set(data["signoffs"][0]) == SIGNOFF_KEYS
    assert set(data["revoked_signoffs"][0]) == SIGNOFF_KEYS


def test_show_of_a_missing_local_incident_is_not_found(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(capsys, "--db", str(db), "show", "local:9")
    assert code == 66
    assert errors(err)[0].startswith("not found: local:9 does not exist")


# --- gate -------------------------------------------------------------------------------------


def _signed(db: Path, ref: str) -> None:
    ok(db, "signoff", ref, "--team", "QA", "--release", REL, who="quinn")
    ok(db, "signoff", ref, "--team", "Releng", "--release", REL, who="rachel")


def test_gate_exits_0_when_ready(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _signed(db, incident)
    code, out, _ = entry(
        capsys,
        "--db",
        str(db),
        "gate",
        incident,
        "--release",
        REL,
        "--require",
        "QA",
        "--require",
        "Releng",
    )
    assert code == 0
    assert out.startswith("READY: Firefox 96.0.1 (local:1)")


def test_gate_exits_1_when_a_hold_is_open(
    db: Path, held: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _signed(db, held)
    code, out, _ = entry(
        capsys,
        "--db",
        str(db),
        "gate",
        held,
        "--release",
        REL,
        "--require",
        "QA",
        "--require",
        "Releng",
    )
    assert code == 1
    assert "Blocked: alice holds Firefox 96.0.1 since" in out


def test_gate_exits_1_when_a_team_is_missing(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = entry(
        capsys, "--db", str(db), "gate", incident, "--release", REL, "--require", "QA"
    )
    assert code == 1
    assert "Not ready: Firefox 96.0.1 has no sign-off from QA." in out


def test_gate_json_has_the_documented_keys(
    db: Path, held: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = entry(
        capsys, "--db", str(db), "gate", held, "--release", REL, "--require", "QA", "--json"
    )
    data = json.loads(out)
    assert code == 1
    assert {"ready", "release", "teams", "holds", "reasons"} <= set(data)
    assert data["ready"] is False and data["holds"][0]["by"] == "alice"


def test_gate_with_a_bad_reference_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "gate", "bug", "twelve", "--release", REL, "--require", "QA")
    assert code == 2
    assert errors(err)[0].startswith(
        "could not decide (usage error): 'bug twelve' is not a valid bugzilla reference"
    )


def test_gate_on_a_missing_incident_exits_2(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(
        capsys, "--db", str(db), "gate", "local:5", "--release", REL, "--require", "QA"
    )
    assert code == 2
    assert errors(err)[0].startswith("could not decide (not found): ")


def test_gate_with_a_broken_config_exits_2(
    db: Path, incident: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[bugzilla\n")
    code, _, err = entry(
        capsys, "--config", str(broken), "--db", str(db), "gate", incident, "--release", REL
    )
    assert code == 2
    assert errors(err)[0].startswith("could not decide (configuration error): ")


def test_gate_with_a_release_without_version_exits_2(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = entry(capsys, "--db", str(db), "gate", incident, "--release", "Firefox")
    assert code == 2


@pytest.mark.parametrize(
    "args",
    [
        ("gate", "local:5", "--release", REL, "--require", "QA", "--json"),  # no such incident
        ("gate", "local:1", "--release", "Firefox", "--json"),  # no version
        ("gate", "local:1", "--release", REL, "--json", "--bogus"),  # a bad option
    ],
    ids=["not-found", "no-version", "bad-option"],
)
def test_gate_json_that_cannot_decide_still_prints_json(
    db: Path, incident: str, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from sync_incident.core.readiness import VERDICT_SCHEMA

    code, out, err = entry(capsys, "--db", str(db), *args)
    assert code == 2
    data = json.loads(out)
    (line,) = errors(err)
    assert data == {
        "schema_version": VERDICT_SCHEMA,
        "ready": False,
        "verdict": "could-not-decide",
        "error": line,
        "hint": err.split("hint: ", 1)[1].strip(),
    }


def test_gate_with_an_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "gate", "local:1", "--release", REL, "--bogus")
    assert code == 2
    assert errors(err) == ["could not decide (usage error): No such option: --bogus"]


def test_gate_without_required_teams_fails_closed(
    db: Path, incident: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = entry(capsys, "--db", str(db), "gate", incident, "--release", REL)
    assert code == 1
    assert "no required sign-offs are configured" in out


# --- lint, config check, demo -------------------------------------------------------------------


def test_lint_reports_vague_wording_exits_1_and_says_what_to_write(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A script or a chat bot can guard a message with lint: exit 1 means vague."""
    code, out, _ = entry(capsys, "lint", "It seems better, LGTM.")
    assert code == 1
    assert "'seems'" in out and "'LGTM'" in out
    assert (
        'Instead: say what is true, naming the team, product and version ("QA signs off on' in out
    )


def test_lint_passes_explicit_wording(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = entry(capsys, "lint", "QA signs off on Firefox 96.0.1.")
    assert (code, out.strip()) == (0, "No vague wording found.")


def test_lint_reads_stdin(db: Path) -> None:
    result = cli(db, "lint", "-", stdin="Should be fine.")
    assert result.exit_code == 1 and "'should be fine'" in result.stdout.casefold()


def test_lint_strict_is_kept_for_old_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    assert entry(capsys, "lint", "--strict", "It seems better.")[0] == 1
    assert entry(capsys, "lint", "--strict", "QA signs off on Firefox 96.0.1.")[0] == 0


POLICY_TOML = """
[people.quinn]
[people.dana]
[teams.QA]
members = ["quinn"]
[products.Firefox]
required_signoffs = ["QA"]
"""


def test_config_check_prints_what_is_in_force(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(POLICY_TOML)
    result = runner.invoke(app, ["--config", str(config), "config", "check"])
    assert result.exit_code == 0
    assert result.stdout.startswith("Configuration is valid.")
    assert "policy: 2 people, teams: QA" in result.stdout
    assert "Firefox: requires QA" in result.stdout


def test_config_check_in_permissive_mode(db: Path) -> None:
    assert "policy: permissive" in ok(db, "config", "check").stdout


def test_config_check_says_whether_secrets_are_set_never_their_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUGZILLA_API_KEY", "hunter2-secret")
    code, out, err = entry(capsys, "config", "check")
    assert code == 0
    assert "Bugzilla API key: set; GitHub token: not set" in out
    assert "hunter2-secret" not in out + err


def test_a_key_set_as_a_setting_by_mistake_is_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = "Zq4RkVb7LmN2pX9cT1wY6hJ3sD8fG5aK0eU2iO7r"
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__AUTH", key)
    code, out, err = entry(capsys, "bug", "1")
    assert code == 78
    assert key not in out + err
    assert "[bugzilla] auth: [REDACTED] is not a valid auth" in errors(err)[0]


def test_the_configured_key_is_never_printed_even_where_it_does_not_look_like_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "hunter2 secret")
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__AUTH", "hunter2 secret")
    code, out, err = entry(capsys, "bug", "1")
    assert code == 78
    assert "hunter2" not in out + err


def test_a_token_pasted_into_the_api_url_is_never_printed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    url = f"https://api.github.example/{token}"
    code, out, err = entry(capsys, "--github-api-url", url, "config", "check")
    assert code == 0
    assert "github: https://api.github.example/[REDACTED]" in out
    assert token not in out + err


def test_flag_beats_env_in_config_check(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "https://env.example")
    code, out, _ = entry(capsys, "--bugzilla-url", "https://flag.example", "config", "check")
    assert code == 0
    assert "bugzilla: https://flag.example" in out


def test_env_beats_file_in_config_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[bugzilla]\nurl = "https://file.example"\n')
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "https://env.example")
    code, out, _ = entry(capsys, "--config", str(config), "config", "check")
    assert code == 0
    assert "bugzilla: https://env.example" in out


def test_config_check_with_broken_toml_exits_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("tracker = \n")
    code, _, err = entry(capsys, "--config", str(config), "config", "check")
    assert code == 78
    (line,) = errors(err)
    assert line.startswith(f"configuration error: {config} is not valid TOML")


def test_config_check_with_unknown_key_exits_78(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("colour = 'blue'\n")
    code, _, err = entry(capsys, "--config", str(config), "config", "check")
    assert code == 78
    assert "colour" in errors(err)[0]


def test_config_from_the_environment_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(POLICY_TOML)
    monkeypatch.setenv("SYNC_INCIDENT_CONFIG", str(config))
    code, out, _ = entry(capsys, "config", "check")
    assert code == 0 and "teams: QA" in out


def test_posting_with_a_broken_config_exits_78(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[teams.QA]\nmembers = ['ghost']\n")
    code, _, err = entry(
        capsys, "--config", str(config), "--db", str(db), "note", "local:1", "-m", "x"
    )
    assert code == 78
    assert errors(err) == [
        "configuration error: invalid policy: teams.QA.members: 'ghost' is not in [people]"
    ]


def test_demo_plays_the_release_story_with_real_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = entry(capsys, "demo")
    assert code == 0, err
    for line in (
        "$ sync-incident --as alice hold local:1 --release 'Product 2.0.3' --reason",
        "alice holds Product 2.0.3 because of",
        "Blocked: alice holds Product 2.0.3 since",
        "QA signs off on Product 2.0.3.",
        "Releng has no more concerns about the readiness of Product 2.0.3.",
        "Please ship Product 2.0.3 to users.",
        "beatrice, dana asks you to take over as incident commander of local:1.",
        "beatrice accepts the handoff from dana and is now the incident commander of local:1.",
        "Incident commander: beatrice",
        "Demo finished: every step behaved as the rules say.",
    ):
        assert line in out, line
    assert (
        "refused: the rules would reject this release of a hold: only alice, who raised "
        "the hold, or the incident commander (dana) can release it"
    ) in err
    verdicts = [line for line in out.splitlines() if line.endswith("Product 2.0.3 (local:1)")]
    assert verdicts == ["NOT READY: Product 2.0.3 (local:1)", "READY: Product 2.0.3 (local:1)"]
    assert "seed" not in out


def test_demo_commands_are_exact_and_can_be_run_again(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite3"
    assert runner.invoke(app, ["--db", str(db), "demo"]).exit_code == 0
    config = tmp_path / "demo-demo.toml"
    assert config.exists()
    args = ["--as", "beatrice", "gate", "local:1", "-r", "Product 2.0.3"]
    env = {"SYNC_INCIDENT_CONFIG": str(config), "SYNC_INCIDENT_LOCAL__DB": str(db)}
    again = runner.invoke(app, args, env=env)
    assert again.exit_code == 0, again.output
    assert "READY: Product 2.0.3 (local:1)" in again.output


def test_demo_through_the_runner(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "demo.sqlite3"), "demo"])
    assert result.exit_code == 0
    assert (tmp_path / "demo.sqlite3").exists()


# --- the error boundary -----------------------------------------------------------------------


def test_bad_reference_is_one_usage_error_line_with_a_hint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = entry(capsys, "note", "bug12", "-m", "x")
    assert code == 64
    lines = [line for line in err.splitlines() if not line.startswith("Note: ")]
    assert lines == [
        "usage error: 'bug12' is not an incident reference",
        "hint: use 'bug 123456', 'bugzilla:123456', a show_bug.cgi?id= URL, "
        "'issue owner/repo#42', 'github:owner/repo#42', an issue URL, or 'local:7'",
    ]


def test_bad_reference_on_show(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "show", "local:zero")
    assert code == 64
    assert errors(err)[0].startswith("usage error: 'local:zero' is not a valid local reference")


def test_unknown_option_is_one_usage_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "note", "local:1", "--bogus")
    assert code == 64
    assert err.splitlines() == [
        "usage error: No such option: --bogus",
        "hint: run `sync-incident note --help` for the options",
    ]


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "explode")
    assert code == 64
    assert errors(err)[0].startswith("usage error: No such command")


def test_missing_required_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = entry(capsys, "hold", "local:1", "--release", REL)
    assert code == 64
    assert "--reason" in errors(err)[0]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = entry(capsys, "--help")
    assert code == 0 and "Usage: sync-incident" in out


def test_no_arguments_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = entry(capsys)
    assert code == 0 and "Commands" in out


@pytest.fixture
def no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Trackers retry with backoff; record the waits instead of sleeping."""
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)

    # each backend sleeps through asyncio.sleep (directly or through its injected default)
    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    yield waits


def test_unreachable_bugzilla_is_one_line_and_exit_69(
    no_retry_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(capsys, "--bugzilla-url", "http://127.0.0.1:9", "bug", "123")
    assert code == 69
    (line,) = errors(err)
    assert line.startswith("unavailable: ")
    assert no_retry_sleep  # it retried (without waiting) before giving up


def test_unreachable_github_is_one_line_and_exit_69(
    no_retry_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(capsys, "--github-api-url", "http://127.0.0.1:9", "issue", "o/r#1")
    assert code == 69
    (line,) = errors(err)
    assert line.startswith("unavailable: ")


def test_gate_on_an_unreachable_tracker_exits_2(
    no_retry_sleep: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = entry(
        capsys,
        "--bugzilla-url",
        "http://127.0.0.1:9",
        "gate",
        "bug",
        "123",
        "--release",
        REL,
        "--require",
        "QA",
    )
    assert code == 2
    assert errors(err)[0].startswith("could not decide (unavailable): ")


def test_token_never_appears_in_errors(
    no_retry_sleep: list[float],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_supersecret123")
    code, out, err = entry(capsys, "--github-api-url", "http://127.0.0.1:9", "issue", "o/r#1")
    assert code != 0
    assert "ghp_supersecret123" not in out + err


# --- every command is documented --------------------------------------------------------------


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found.append((path, command))
            found += _commands(command, path + " ")
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_the_command_walk_finds_the_config_sub_app() -> None:
    names = [name for name, _ in COMMANDS]
    assert "config check" in names and "gate" in names and "release-hold" in names


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_every_command_has_help_text(name: str) -> None:
    command = dict(COMMANDS)[name]
    assert (command.help or command.short_help or "").strip(), name


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_every_command_appears_in_the_readme(name: str) -> None:
    assert f"sync-incident {name}" in README.read_text(encoding="utf-8"), name


@pytest.mark.parametrize("name", [name for name, _ in COMMANDS])
def test_every_command_help_runs(name: str) -> None:
    result = runner.invoke(app, [*name.split(), "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout


@pytest.mark.slow  # a subprocess: its imports must not be those this test process already has
def test_the_command_line_does_not_load_httpx_own_command_line_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys; import sync_incident.cli; import httpx; "
        "print(sorted({'click', 'pygments', 'rich'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
