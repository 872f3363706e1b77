"""Times typed in four zones and read on the tracker (issue 20, times).

Every time a comment gives people is UTC plus the clock of the person it concerns, and the
clock of the zone it was typed in; day words are read in the zone typed; dates are ISO.
The clock is fixed (Monday 2026-12-07) by patching :meth:`Session.clock`.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sync_incident.cli.app import main
from sync_incident.service import Session
from tests.cli.test_cli import REL, comments, state

POLICY = """
[people.dana]
timezone = "America/Toronto"
[people.beatrice]
timezone = "America/Los_Angeles"
[people.carol]
timezone = "Europe/Berlin"
[people.rachel]
[teams.Releng]
members = ["rachel"]
"""
MORNING = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # 05:00 Toronto, 11:00 Berlin


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "incidents.sqlite3"


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time every command runs at: set ``clock[0]``."""
    now = [MORNING]
    monkeypatch.setattr(Session, "clock", lambda self: now[0])
    return now


def run(db: Path, policy: Path, *args: str, who: str = "dana") -> tuple[int, str, str]:
    """The real entry point: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as stop:
        main(["--db", str(db), "--policy", str(policy), "--as", who, *args])
    assert "Traceback" not in err.getvalue()
    code = stop.value.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


@pytest.fixture
def ref(db: Path, policy: Path, clock: list[datetime]) -> str:
    code, out, err = run(db, policy, "open", "--local", "--title", "Crash spike", "--release", REL)
    assert code == 0, out + err
    return "local:1"


def last_comment(db: Path) -> str:
    body: str = comments(db)[-1].body
    return body


def test_occurred_at_takes_a_date_a_time_and_a_zone(db: Path, policy: Path, ref: str) -> None:
    code, out, err = run(
        db, policy, "note", ref, "-m", "The tree closed.", "--occurred-at",
        "2026-12-07 08:50 Europe/Berlin",
    )  # fmt: skip
    assert code == 0, out + err
    assert state(db)["timeline"][-1]["occurred_at"] == "2026-12-07T07:50:00Z"
    assert (
        "(Backfilled: this happened at 2026-12-07 07:50 UTC (08:50 Europe/Berlin; "
        "02:50 America/Toronto for dana).)" in last_comment(db)
    )


def test_a_next_step_typed_in_the_owners_zone_is_echoed_once_for_them(
    db: Path, policy: Path, ref: str
) -> None:
    code, out, err = run(
        db, policy, "handoff", ref, "--to", "beatrice", "--done", "Steps 1-3 are done.",
        "--todo", "Step 4.", "--next", "Verify the fix on nightly | beatrice | 11:00 America/Los_Angeles",
    )  # fmt: skip
    assert code == 0, out + err
    assert (
        "- Verify the fix on nightly: beatrice, by 2026-12-07 19:00 UTC "
        "(11:00 America/Los_Angeles for beatrice)." in last_comment(db)
    )


def test_a_next_step_gives_the_typed_zone_and_the_owners_clock(
    db: Path, policy: Path, ref: str
) -> None:
    code, out, err = run(
        db, policy, "handoff", ref, "--to", "beatrice", "--done", "Steps 1-3 are done.",
        "--todo", "Step 4.", "--next", "Ship the respin | carol | 18:00",
    )  # fmt: skip
    assert code == 0, out + err
    # dana typed 18:00 in her zone (Toronto): carol, who does it, reads it in Berlin
    assert (
        "- Ship the respin: carol, by 2026-12-07 23:00 UTC (18:00 America/Toronto; "
        "2026-12-08 00:00 Europe/Berlin for carol)." in last_comment(db)
    )
    (offer,) = state(db)["handoffs"]
    assert offer["next_steps"][0]["by_zone"] == "America/Toronto"


def test_tomorrow_in_berlin_typed_late_in_toronto_is_refused_with_both_dates(
    db: Path, policy: Path, ref: str, clock: list[datetime]
) -> None:
    clock[0] = datetime(2026, 12, 7, 20, 30, tzinfo=ZoneInfo("America/Toronto"))
    before = len(comments(db))
    code, out, err = run(
        db, policy, "step", ref, "--step", "4", "--title", "Verify the fix", "--owner", "carol",
        "--due", "tomorrow 10:00 Europe/Berlin",
    )  # fmt: skip
    assert code == 64, out + err
    assert "usage error: 'tomorrow 10:00 Europe/Berlin' is ambiguous: it is 02:30 on " in err
    assert "'2026-12-08 10:00 Europe/Berlin' or '2026-12-09 10:00 Europe/Berlin'" in err
    assert len(comments(db)) == before


def test_tomorrow_in_berlin_is_echoed_with_its_date_and_the_author_is_told_why(
    db: Path, policy: Path, ref: str, clock: list[datetime]
) -> None:
    clock[0] = datetime(2026, 12, 7, 23, 30, tzinfo=ZoneInfo("America/Toronto"))
    code, out, err = run(
        db, policy, "step", ref, "--step", "4", "--title", "Verify the fix", "--owner", "carol",
        "--due", "tomorrow 10:00 Europe/Berlin",
    )  # fmt: skip
    assert code == 0, out + err
    assert "Due by 2026-12-09 09:00 UTC (10:00 Europe/Berlin for carol)." in (last_comment(db))
    assert (
        "warning: 'tomorrow' is read in Europe/Berlin, where it is already 2026-12-08 "
        "(2026-12-07 where you are): 2026-12-09 10:00 Europe/Berlin" in err
    )


def test_a_step_due_time_gives_the_owners_clock_on_update_too(
    db: Path, policy: Path, ref: str
) -> None:
    run(db, policy, "step", ref, "--step", "4", "--title", "Verify the fix", "--owner", "beatrice")
    code, out, err = run(db, policy, "step", ref, "--step", "4", "--due", "2026-12-07 20:00 UTC")
    assert code == 0, out + err
    assert "Due by 2026-12-07 20:00 UTC (12:00 America/Los_Angeles for beatrice)." in (
        last_comment(db)
    )


def test_the_next_update_gives_the_incident_commanders_clock(
    db: Path, policy: Path, ref: str
) -> None:
    code, out, err = run(
        db, policy, "status", ref, "-m", "QA is verifying the fix.", "--next-update", "+2h"
    )
    assert code == 0, out + err
    assert "Next update due by 2026-12-07 12:00 UTC (07:00 America/Toronto for dana)." in (
        last_comment(db)
    )
    assert state(db)["next_update_zone"] is None  # "+2h" was typed in no zone


def test_a_past_time_is_warned_about_in_the_zone_it_was_typed_in(
    db: Path, policy: Path, ref: str
) -> None:
    code, out, err = run(
        db, policy, "status", ref, "-m", "Green.", "--next-update", "2026-12-07 09:00 Europe/Berlin"
    )
    assert code == 0, out + err
    assert (
        "warning: the next update (2026-12-07 08:00 UTC (09:00 Europe/Berlin)) is in the past"
        in err
    )
