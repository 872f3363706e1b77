"""The habits people bring from gh and python-bugzilla (issue 23): --json on posts, field
selection, --web, init, config check saying who you are, a partial list that still lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_cli import REL, entry
from tests.cli.test_reading import POLICY, opened, run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "incidents.sqlite3"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def test_a_posting_command_prints_what_it_posted_as_json(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(
        db,
        policy,
        "hold",
        ref,
        "--release",
        REL,
        "--reason",
        "a crash spike on startup",
        "--json",
        who="alice",
    )
    assert code == 0, out
    data = json.loads(out)
    assert (data["ref"], data["posted"], data["dry_run"]) == ("local:1", True, False)
    [event] = data["events"]
    assert event["type"] == "hold.raised" and len(event["id"]) == 26
    assert data["comment_id"] == "2"
    assert data["body"].startswith(f"alice holds {REL} because of a crash spike on startup.")


def test_show_prints_only_the_fields_asked_for(db: Path, policy: Path) -> None:
    ref = opened(db, policy)
    code, out = run(db, policy, "show", ref, "--fields", "ic,releases")
    assert code == 0, out
    data = json.loads(out)
    assert sorted(data) == ["ic", "releases"] and data["ic"] == "dana"
    code, out = run(db, policy, "show", ref, "--fields", "ic,nope")
    assert code == 64 and "--fields: no field nope" in out


def test_web_opens_the_bug_or_issue_and_says_so_for_local_ones(
    db: Path, policy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync_incident.cli.reading import open_in_browser

    opened_urls: list[str] = []

    def browse(url: str) -> bool:
        opened_urls.append(url)
        return True

    monkeypatch.setattr("webbrowser.open", browse)
    ref = opened(db, policy)
    code, out = run(db, policy, "show", ref, "--web")
    assert code == 64 and "has no web page on its tracker" in out and opened_urls == []
    bug = "https://bugzilla.mozilla.org/show_bug.cgi?id=1750000"
    assert open_in_browser(bug, "bug 1750000") == f"Opening {bug} in your browser."
    assert opened_urls == [bug]


def test_init_writes_a_starter_that_works_offline_and_says_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "conf" / "config.toml"
    code, out, _ = entry(capsys, "--config", str(config), "init")
    assert code == 0 and f"Wrote a starter configuration and policy to {config}." in out
    assert "[teams.QA]" in config.read_text(encoding="utf-8")
    code, _, err = entry(capsys, "--config", str(config), "init")
    assert code == 64 and "exists: nothing was written" in err
    db = tmp_path / "db.sqlite3"
    code, out, err = entry(
        capsys,
        "--config",
        str(config),
        "--db",
        str(db),
        "--as",
        "dana",
        "open",
        "--local",
        "--title",
        "Crash",
        "--release",
        "Product 2.0.3",
    )
    assert code == 0, err
    code, out, err = entry(capsys, "--config", str(config), "--db", str(db), "list", "--json")
    assert code == 0, err
    assert [i["ref"] for i in json.loads(out)["incidents"]] == ["local:1"]


def test_config_check_says_where_the_database_is_and_who_you_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    code, out, _ = entry(
        capsys, "--policy", str(policy), "--db", str(db), "--as", "quinn", "config", "check"
    )
    assert code == 0
    assert f"  local tracker database: {db}" in out
    assert "  you on local: quinn (quinn in the policy)" in out
    code, out, _ = entry(
        capsys, "--policy", str(policy), "--db", str(db), "--as", "zed", "config", "check"
    )
    assert "you on local: zed (not a person in the policy: set [local] user, or pass --as" in out


def test_list_names_a_tracker_it_cannot_reach_and_still_lists_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], db: Path, policy: Path
) -> None:
    opened(db, policy)
    config = tmp_path / "config.toml"
    # a GitHub that cannot be reached (nothing listens on port 9 of loopback)
    config.write_text('[github]\napi_url = "http://127.0.0.1:9"\nrepos = ["acme/incidents"]\n')
    code, out, err = entry(
        capsys, "--config", str(config), "--policy", str(policy), "--db", str(db), "list", "--json"
    )
    assert code == 69, err
    data = json.loads(out)
    assert [i["ref"] for i in data["incidents"]] == ["local:1"]
    assert data["unreadable"]["github"].startswith("could not list its incidents")
    assert "the list above is partial" in err


def test_the_demo_says_where_its_files_are_or_that_they_are_gone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = entry(capsys, "demo")
    assert code == 0 and "The demo's files are gone now" in out
    kept = tmp_path / "demo.sqlite3"
    code, out, _ = entry(capsys, "demo", "--db", str(kept))
    assert code == 0 and f"The incident is kept in {kept}" in out and kept.exists()


def test_version_and_shell_completion(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    code, out, _ = entry(capsys, "--version")
    assert (code, out.strip()) == (0, f"sync-incident {version('sync-incident')}")
    code, out, _ = entry(capsys, "--help")
    assert "--install-completion" in out and "--show-completion" in out
