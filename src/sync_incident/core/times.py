"""Times as people type them on the command line, and as every view writes them.

Written: :func:`utc` (``2022-01-12 14:03 UTC``), :func:`stamp` (``2022-01-12T14:03Z``, in keys
and data attributes), :func:`local_time` (``Wed 12 Jan 09:03 EST``), and spans of minutes as
:func:`age` (rounded, for a glance) or :func:`duration` (exact, for the record).

Accepted: ISO 8601 (``2022-01-12T14:03+01:00``; without an offset it is read in the zone
below), ``2022-01-12 14:03 UTC``, a relative ``+90m`` / ``+2h`` / ``+1d``, a wall time
``18:00`` or ``18:00 Europe/Berlin``, and ``today 09:00`` / ``tomorrow 09:00`` (with an
optional zone). A wall time without a zone is in the user's configured timezone, else UTC,
and the answer says which.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync_incident.core.errors import UsageError

_RELATIVE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_WALL = re.compile(
    r"^(?:(?P<day>today|tomorrow)\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?:\s+(?P<zone>\S+))?$", re.I
)
HINT = (
    "use '18:00 Europe/Berlin', 'tomorrow 09:00', '09:00' (in your timezone), "
    "'2022-01-12 14:03 UTC', ISO 8601 with an offset, or '+90m' / '+2h' / '+1d'"
)


def utc(value: datetime | None, missing: str = "-") -> str:
    """``2022-01-12 14:03 UTC``: how every time reads in comments, views and verdicts."""
    if value is None:
        return missing
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def stamp(moment: datetime) -> str:
    """``2022-01-12T14:03Z``: a minute in UTC as keys and ``data-`` attributes carry it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def local_time(moment: datetime, zone: str, *, with_date: bool = True) -> str:
    """``Wed 12 Jan 09:03 EST`` (or ``Wed 09:03 EST``): a time as a person in ``zone`` reads it."""
    there = moment.astimezone(ZoneInfo(zone))
    shape = "%a %d %b %H:%M " if with_date else "%a %H:%M "
    return there.strftime(shape) + (there.tzname() or zone)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from ``start`` to ``end``; never negative."""
    return max(0, int((end - start).total_seconds() // 60))


def age(minutes: int | None) -> str:
    """``45 min``, ``3 h 05 min``, past two days ``2 d 3 h``; ``?`` when unknown."""
    if minutes is None:
        return "?"
    if minutes < 1:  # "OVERDUE by 0 min" reads as not overdue at all
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"


def duration(minutes: int | None) -> str:
    """``2 d 3 h 05 min``, ``3 h 05 min``, ``45 min``; ``—`` when unknown."""
    if minutes is None:
        return "—"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {mins:02d} min"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"{name!r} is not a timezone", hint="use an IANA name like Europe/Berlin"
        ) from None


def parse_time(text: str, *, now: datetime | None = None, tz: str | None = None) -> datetime:
    """An aware UTC datetime from what a person typed; ``tz`` is their zone (default UTC)."""
    raw = " ".join(text.split())
    base = now or datetime.now(UTC)
    relative = _RELATIVE.match(raw)
    if relative:
        amount, unit = float(relative[1]), _UNITS[relative[2]]
        return base + timedelta(**{unit: amount})
    wall = _WALL.match(raw)
    if wall:
        return _wall(wall, base, tz, text)
    cleaned = raw.removesuffix("UTC").removesuffix("utc").strip()
    explicit_utc = cleaned != raw
    if cleaned.endswith(("Z", "z")):
        cleaned, explicit_utc = cleaned[:-1], True
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise UsageError(f"{text!r} is not a time", hint=HINT) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC if explicit_utc else zone_of(tz))
    return parsed.astimezone(UTC)


def _wall(match: re.Match[str], base: datetime, tz: str | None, text: str) -> datetime:
    hours, minutes = int(match["h"]), int(match["m"])
    if hours > 23 or minutes > 59:
        raise UsageError(f"{text!r} is not a time of day", hint=HINT)
    zone = zone_of(match["zone"] or tz)
    today: date = base.astimezone(zone).date()
    if (match["day"] or "").lower() == "tomorrow":
        today += timedelta(days=1)
    return datetime.combine(today, time(hours, minutes), tzinfo=zone).astimezone(UTC)
