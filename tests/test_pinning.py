"""`config pin-github-ids`: people pinned by numeric id in the user's own policy file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.cli import app as cli
from sync_incident.cli import options as cli_options
from sync_incident.core.policy import Policy
from sync_incident.testing.github import FakeClock, FakeGitHub

GH = "https://api.github.com"
POLICY = """\
# who may do what on the release incidents
witnesses = ["bot"]

[people.ivan]   # the incident commander this week
name = "Ivan"
github = "ivan-gh"
timezone = "Europe/Berlin"

[people.alice]
github = "alice-gh"
github_id = 702  # pinned by hand

[people.bot]
github = "incident-bot"

[people.quinn]
bugzilla = "quinn@example.com"

[teams.QA]
members = ["alice"]
"""


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(GH, clock=FakeClock())
    fake.add_user("ivan-gh", "ghp_ivan00000000000000000000000000000000", uid=701)
    fake.add_user("alice-gh", "ghp_alice0000000000000000000000000000000", uid=702)
    fake.add_user("incident-bot", "ghp_bot000000000000000000000000000000000", uid=703)
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_bot000000000000000000000000000000000")
    original = cli_options.session_of

    def session(ctx: Any, **kwargs: Any) -> Any:
        s = original(ctx, **kwargs)
        s.transports = {"github": httpx.MockTransport(fake.handler)}
        return s

    monkeypatch.setattr(cli_options, "session_of", session)
    yield fake


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(args))
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out, out.err


def test_pinning_writes_each_id_and_keeps_the_rest_of_the_file(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    code, out, err = run(capsys, "--policy", str(path), "config", "pin-github-ids")
    assert code == 0, err
    assert "ivan: pinned github_id = 701" in out and "bot: pinned github_id = 703" in out
    assert "alice: github_id = 702 already pinned" in out
    text = path.read_text(encoding="utf-8")
    assert "# who may do what on the release incidents" in text
    assert "[people.ivan]   # the incident commander this week" in text
    assert text.count("github_id") == 3
    policy = Policy.model_validate(__import__("tomllib").loads(text))
    assert [policy.people[k].github_id for k in ("ivan", "alice", "bot")] == [701, 702, 703]
    assert policy.people["quinn"].github_id is None  # no GitHub login: nothing to pin
    # once pinned, config check names nobody, and pinning again changes nothing
    assert "no pinned github_id" not in run(capsys, "--policy", str(path), "config", "check")[1]
    run(capsys, "--policy", str(path), "config", "pin-github-ids")
    assert path.read_text(encoding="utf-8") == text


def test_a_dry_run_writes_nothing(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    code, out, _ = run(capsys, "--policy", str(path), "config", "pin-github-ids", "--dry-run")
    assert code == 0 and "ivan: would pin github_id = 701" in out
    assert path.read_text(encoding="utf-8") == POLICY


def test_a_pinned_id_whose_login_moved_on_is_never_overwritten(
    github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # alice renamed her account; someone registered "alice-gh"
    github.rename_user("alice-gh", "alice-new")
    github.add_user("alice-gh", "ghp_taken0000000000000000000000000000000", uid=9009)
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.replace('github = "ivan-gh"', 'github = "nobody-here"'), "utf-8")
    code, _, err = run(capsys, "--policy", str(path), "config", "pin-github-ids")
    assert code == 78, err
    assert (
        "alice: the login 'alice-gh' now belongs to account 9009, not the pinned account 702" in err
    )
    assert "ivan: no GitHub account has the login 'nobody-here'" in err
    text = path.read_text(encoding="utf-8")
    assert "github_id = 702" in text and "9009" not in text
    assert "github_id = 703" in text  # the others are pinned all the same


def test_pinning_needs_a_file_that_lists_people(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNC_INCIDENT_CONFIG", raising=False)
    code, _, err = run(capsys, "config", "pin-github-ids")
    assert code == 78 and "no policy file to write the ids into" in err
