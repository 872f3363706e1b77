"""Times typed on the command line, and times as every view writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync_incident.core.errors import UsageError
from sync_incident.core.times import (
    age,
    duration,
    local_time,
    minutes_between,
    parse_time,
    stamp,
    utc,
)

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


def test_utc_converts_to_utc_and_says_so() -> None:
    berlin = datetime(2022, 1, 12, 15, 3, tzinfo=ZoneInfo("Europe/Berlin"))
    assert utc(berlin) == "2022-01-12 14:03 UTC"


def test_utc_of_no_time_is_the_missing_mark() -> None:
    assert utc(None) == "-"
    assert utc(None, missing="—") == "—"


def test_stamp_is_the_minute_in_utc_with_a_z() -> None:
    tokyo = datetime(2022, 1, 12, 23, 3, 59, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert stamp(tokyo) == "2022-01-12T14:03Z"


def test_local_time_names_the_weekday_and_the_zone_abbreviation() -> None:
    assert local_time(NOW, "America/New_York") == "Wed 12 Jan 09:03 EST"
    assert local_time(NOW, "Asia/Tokyo", with_date=False) == "Wed 23:03 JST"


def test_minutes_between_counts_whole_minutes_and_never_goes_negative() -> None:
    assert minutes_between(NOW, NOW + timedelta(minutes=90, seconds=59)) == 90
    assert minutes_between(NOW, NOW - timedelta(minutes=5)) == 0


@pytest.mark.parametrize(
    "minutes,text",
    [(None, "?"), (45, "45 min"), (185, "3 h 05 min"), (47 * 60, "47 h 00 min"), (3025, "2 d 2 h")],
)
def test_age_rounds_past_two_days_to_hours(minutes: int | None, text: str) -> None:
    assert age(minutes) == text


@pytest.mark.parametrize(
    "minutes,text",
    [(None, "—"), (45, "45 min"), (185, "3 h 05 min"), (1445, "1 d 0 h 05 min")],
)
def test_duration_is_exact_to_the_minute(minutes: int | None, text: str) -> None:
    assert duration(minutes) == text
