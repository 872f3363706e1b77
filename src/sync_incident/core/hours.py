"""Working hours and wall-clock times in people's timezones (DST-aware, pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_hours(text: str) -> tuple[time, time]:
    """``"09:00-17:00"`` → (09:00, 17:00)."""
    start, _, end = text.partition("-")
    h1, m1 = (int(x) for x in start.strip().split(":"))
    h2, m2 = (int(x) for x in end.strip().split(":"))
    return time(h1, m1), time(h2, m2)


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone``.

    A wall time that happens twice (autumn) means its first occurrence; one that does not
    exist (spring) means the instant the clocks jumped over it, shifted by the gap, as
    zoneinfo resolves it. Either way each local day yields exactly one instant.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def end_of_day(
    person_tz: str, hours: str, now: datetime, window: timedelta
) -> tuple[date, datetime] | None:
    """The working day (local date, end instant) that ends within ``window`` after ``now``.

    Computed in the person's zone for each nearby local date, so a DST change moves the end
    instant with the wall clock; overnight hours (``22:00-06:00``) work the same way.
    """
    zone = ZoneInfo(person_tz)
    _, end = parse_hours(hours)
    today = now.astimezone(zone).date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        instant = local_instant(day, end, zone)
        if instant - window <= now < instant:
            return day, instant
    return None


def next_day_start(person_tz: str, hours: str, now: datetime) -> datetime:
    """When this person's next working day starts (now, if they are at work)."""
    zone = ZoneInfo(person_tz)
    start, end = parse_hours(hours)
    today = now.astimezone(zone).date()
    for day in (
        today - timedelta(days=1),
        today,
        today + timedelta(days=1),
        today + timedelta(days=2),
    ):
        begin = local_instant(day, start, zone)
        finish = local_instant(day + timedelta(days=1 if end <= start else 0), end, zone)
        if begin <= now < finish:
            return now
        if begin > now:
            return begin
    return now + timedelta(days=3)  # pragma: no cover - a start always falls within two days
