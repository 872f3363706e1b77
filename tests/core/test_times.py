"""Times typed on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync_incident.core.errors import UsageError
from sync_incident.core.times import parse_time

NOW = datetime(2022, 1, 12, 14, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2022-01-12 14:03", NOW),
        ("2022-01-12T14:03", NOW),
        ("2022-01-12 14:03 UTC", NOW),
        ("2022-01-12 14:03 utc", NOW),
        ("2022-01-12T14:03Z", NOW),
        ("2022-01-12T14:03z", NOW),
        ("2022-01-12T15:03+01:00", NOW),
        ("2022-01-12T09:03-05:00", NOW),
        ("  2022-01-12 14:03  ", NOW),
        ("2022-01-12", datetime(2022, 1, 12, tzinfo=UTC)),
    ],
)
def test_absolute_time(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text,delta",
    [
        ("+90m", timedelta(minutes=90)),
        ("+2h", timedelta(hours=2)),
        ("+1d", timedelta(days=1)),
        ("+1.5h", timedelta(minutes=90)),
        ("+ 30 m", timedelta(minutes=30)),
        ("+0m", timedelta(0)),
    ],
)
def test_relative_time_counts_from_now(text: str, delta: timedelta) -> None:
    assert parse_time(text, now=NOW) == NOW + delta


def test_result_is_always_utc() -> None:
    parsed = parse_time("2022-01-12T15:03+01:00", now=NOW)
    assert parsed.utcoffset() == timedelta(0)


def test_relative_time_without_now_uses_the_clock() -> None:
    before = datetime.now(UTC)
    parsed = parse_time("+1h")
    assert before + timedelta(hours=1) <= parsed <= datetime.now(UTC) + timedelta(hours=1)


@pytest.mark.parametrize(
    "text", ["", "tomorrow", "soon", "+2w", "-1h", "2h", "2022-13-01", "14:03", "+h"]
)
def test_not_a_time_is_a_usage_error_with_a_hint(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_time(text, now=NOW)
    assert "is not a time" in info.value.message
    assert "+90m" in info.value.hint
