"""Explicit in, explicit out (issue 20): vague words, filler reasons and unknown people are
refused where the gate counts them; the tool's sentence is always the first line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_incident.core.comments import Comment
from tests.cli.test_cli import REL, comments
from tests.cli.test_reading import POLICY, opened, run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "incidents.sqlite3"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def posted(db: Path) -> list[Comment]:
    return comments(db)


def test_a_vague_signoff_statement_is_refused_with_the_explicit_form(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    before = len(posted(db))
    code, out = run(
        db,
        policy,
        "signoff",
        ref,
        "--team",
        "QA",
        "--release",
        REL,
        "--statement",
        "LGTM",
        who="quinn",
    )
    assert code == 3, out
    assert "vague words on a sign-off, which the release gate counts" in out
    assert 'the comment then says "QA signs off on Firefox 96.0.1."' in out
    assert len(posted(db)) == before  # nothing was posted


def test_the_tools_sentence_comes_first_and_a_persons_words_after_it(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    statement = "Verified on Windows 7, 10 and 11 with the 96.0.1 candidate build"
    code, out = run(
        db,
        policy,
        "signoff",
        ref,
        "--team",
        "qa",
        "--release",
        REL,
        "--statement",
        statement,
        who="quinn",
    )
    assert code == 0, out
    body = posted(db)[-1].body
    assert body.startswith(f'QA signs off on {REL}.\nquinn adds: "{statement}."\n'), (
        body
    )  # "qa" as typed is the policy's "QA"


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("release-hold", ("--release", REL, "--reason", "ok")),
        ("hold", ("--release", REL, "--reason", "x")),
        ("revoke", ("--team", "QA", "--release", REL, "--reason", "fixed")),
        ("resolve", ("--summary", "done")),
    ],
)
def test_a_filler_is_no_reason(
    db: Path, policy: Path, command: str, extra: tuple[str, ...]
) -> None:
    ref = opened(db, policy)
    run(db, policy, "hold", ref, "--release", REL, "--reason", "a crash spike on startup")
    before = len(posted(db))
    code, out = run(db, policy, command, ref, *extra)
    assert code == 3, out
    assert "needs a real reason" in out and "say what changed or why" in out
    assert len(posted(db)) == before


def test_declining_with_no_is_refused(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(
        db,
        policy,
        "handoff",
        ref,
        "--to",
        "beatrice",
        "--done",
        "Step 1 is done.",
        "--todo",
        "Step 2 remains.",
    )
    assert code == 0, out
    code, out = run(db, policy, "decline", ref, "--reason", "no", who="beatrice")
    assert code == 3 and "needs a real reason" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("--to", "beatrix"),
            "--to 'beatrix' is not a person in the policy: did you mean 'beatrice'?",
        ),
        (
            ("--to", "beatrice", "--next", "Verify the build | zed | +1h"),
            "is not a person in the policy",
        ),
        (("--to", "beatrice", "--notify", "Relmen"), "did you mean 'Relman'?"),
    ],
)
def test_every_person_named_in_a_handoff_is_a_person_of_the_policy(
    db: Path, policy: Path, args: tuple[str, ...], said: str
) -> None:
    ref = opened(db, policy)
    before = len(posted(db))
    code, out = run(
        db, policy, "handoff", ref, "--done", "Step 1 is done.", "--todo", "Step 2 remains.", *args
    )
    assert code == 64, out
    assert said in out
    assert len(posted(db)) == before


def test_an_incident_cannot_be_opened_with_an_ic_nobody_can_be(db: Path, policy: Path) -> None:
    code, out = run(db, policy, "open", "--local", "--title", "Crash", "--ic", "nobody")
    assert code == 64, out
    assert "--ic 'nobody' is not a person in the policy" in out
    code, out = run(db, policy, "open", "--local", "--title", "Crash", "--ic", "Beatrice")
    assert code == 0 and "beatrice is incident commander" in out


def test_step_and_action_owners_are_people_of_the_policy(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(db, policy, "step", ref, "--step", "4", "--title", "Verify", "--owner", "zed")
    assert code == 64 and "--owner 'zed' is not a person in the policy" in out
    code, out = run(
        db,
        policy,
        "retro-note",
        ref,
        "--kind",
        "action_item",
        "--text",
        "Add a canary.",
        "--owner",
        "alise",
    )
    assert code == 64 and "did you mean 'alice'?" in out


def test_a_resolved_incident_takes_notes_links_and_a_reopen_nothing_else(
    db: Path, policy: Path
) -> None:
    ref = opened(db, policy)
    code, out = run(db, policy, "resolve", ref, "--summary", "Firefox 96.0.1 shipped at baseline.")
    assert code == 0, out
    before = len(posted(db))
    code, out = run(
        db, policy, "hold", ref, "--release", REL, "--reason", "a late crash report", who="alice"
    )
    assert code == 3, out
    assert "local:1 is resolved" in out and "reopen it first" in out
    assert len(posted(db)) == before
    assert run(db, policy, "note", ref, "--text", "Crash rates stayed at baseline.")[0] == 0
    assert run(db, policy, "reopen", ref, "--reason", "the crash spike returned on 96.0.2")[0] == 0
    assert (
        run(
            db,
            policy,
            "hold",
            ref,
            "--release",
            REL,
            "--reason",
            "a late crash report",
            who="alice",
        )[0]
        == 0
    )


def test_a_dry_run_refuses_what_a_post_would_refuse(db: Path, policy: Path) -> None:
    """alice is in no team: her sign-off is refused, dry run or not, and nothing is posted."""
    ref = opened(db, policy)
    before = len(posted(db))
    for dry in ([], ["--dry-run"]):
        code, out = run(
            db, policy, "signoff", ref, "--team", "QA", "--release", REL, *dry, who="alice"
        )
        assert code == 3, out
        assert "alice is not a member of QA" in out
    assert len(posted(db)) == before


def test_a_lead_takes_over_from_an_ic_who_cannot_act(db: Path, tmp_path: Path) -> None:
    from tests.cli.test_reading import POLICY as BASE

    policy = tmp_path / "leads.toml"
    policy.write_text('incident_leads = ["beatrice"]\n' + BASE, encoding="utf-8")
    ref = opened(db, policy)
    why = "dana is on leave and has not answered since 09:00 America/Toronto"
    code, out = run(db, policy, "take-over", ref, "--reason", why, who="alice")
    assert code == 3 and "only an incident lead of the policy may take over" in out
    code, out = run(db, policy, "take-over", ref, "--reason", "ok", who="beatrice")
    assert code == 3 and "needs a real reason" in out
    code, out = run(db, policy, "take-over", ref, "--reason", why, who="beatrice")
    assert code == 0, out
    assert f"beatrice takes over as incident commander of local:1 from dana: {why}." in out
    shown = run(db, policy, "show", ref)[1]
    assert "Incident commander: beatrice since" in shown
    assert f"beatrice took over as incident commander from dana: {why}" in shown


def test_as_with_a_near_miss_of_a_person_is_a_typo_not_a_stranger(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    before = len(posted(db))
    code, out = run(db, policy, "note", ref, "--text", "Crash rates are flat.", who="beatrix")
    assert code == 64 and "--as 'beatrix' is not a person in the policy: did you mean" in out
    assert len(posted(db)) == before
