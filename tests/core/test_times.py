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
    "text", ["", "tomorrow", "soon", "+2w", "-1h", "2h", "2022-13-01", "25:03", "+h", "9 am"]
)
def test_not_a_time_is_a_usage_error_with_a_hint(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_time(text, now=NOW)
    assert "is not a time" in info.value.message
    assert "+90m" in info.value.hint


def test_wall_time_with_a_zone_is_today_in_that_zone() -> None:
    # NOW is 2022-01-12 14:00 UTC; Berlin is UTC+1 in January
    assert parse_time("18:00 Europe/Berlin", now=NOW) == datetime(2022, 1, 12, 17, 0, tzinfo=UTC)


def test_wall_time_without_a_zone_is_in_the_users_zone_else_utc() -> None:
    assert parse_time("09:00", now=NOW) == datetime(2022, 1, 12, 9, 0, tzinfo=UTC)
    toronto = parse_time("09:00", now=NOW, tz="America/Toronto")
    assert toronto == datetime(2022, 1, 12, 14, 0, tzinfo=UTC)


def test_tomorrow_is_the_next_day_in_the_zone() -> None:
    assert parse_time("tomorrow 09:00 Asia/Tokyo", now=NOW) == datetime(
        2022, 1, 13, 0, 0, tzinfo=UTC
    )
    assert parse_time("today 16:00", now=NOW) == datetime(2022, 1, 12, 16, 0, tzinfo=UTC)


def test_iso_without_an_offset_is_in_the_users_zone_and_utc_said_explicitly_is_utc() -> None:
    berlin = parse_time("2022-01-12 14:03", now=NOW, tz="Europe/Berlin")
    assert berlin == datetime(2022, 1, 12, 13, 3, tzinfo=UTC)
    assert parse_time("2022-01-12 14:03 UTC", now=NOW, tz="Europe/Berlin") == datetime(
        2022, 1, 12, 14, 3, tzinfo=UTC
    )


def test_an_unknown_zone_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a timezone"):
        parse_time("18:00 Mars/Olympus", now=NOW)
