"""Times as people type them on the command line, and as everything the tool writes says them.

**Written.** For people, a time is UTC plus the local time of each person it concerns, and of
the zone it was typed in: :func:`for_people` / :func:`for_person` (``2026-12-07 19:00 UTC
(11:00 America/Los_Angeles for beatrice)``); one clock per zone, the date only when it is not
the UTC date, dates always ISO. :func:`utc` (``2022-01-12 14:03 UTC``) alone where no person
is concerned, :func:`in_zone` (``2026-12-07 08:50 Europe/Berlin``) to echo a time in one zone,
:func:`stamp` (``2022-01-12T14:03Z``) in keys and data attributes, and spans of minutes as
:func:`age` (rounded, for a glance) or :func:`duration` (exact, for the record).

**Accepted** (:func:`read_time`; :func:`parse_time` gives just the instant):

- a date and a time, with an optional offset and an optional zone: ``2026-12-07 08:50
  Europe/Berlin``, ``2022-01-12 14:03 UTC``, ``2022-01-12T14:03Z``, ``2022-01-12T15:03+01:00``,
  ``2026-10-25 02:30+01:00 Europe/Berlin``, ``2026-10-25T02:30+01:00[Europe/Berlin]``; a date
  alone is its midnight;
- a wall time, with an optional day word and an optional zone: ``18:00``, ``18:00
  Europe/Berlin``, ``today 09:00``, ``tomorrow 09:00 Asia/Tokyo``, ``yesterday 22:00``,
  ``monday 09:00 America/Toronto``;
- a span from now: ``+90m``, ``+2h``, ``+1d``.

Without a zone or offset a time is read in the author's zone (their ``timezone`` setting or
policy entry), else UTC. Zone names are IANA names (``Europe/Berlin``), matched regardless of
case; a near miss gets "did you mean".

**Day words are read in the zone typed**, as a person living in that zone means them: the day
is that zone's calendar day, whatever the date is where the author sits. ``today`` is that
day; ``tomorrow`` / ``yesterday`` the next / previous one; a weekday name the next such day
after today (on that weekday itself it is refused: today, or in a week?). In that zone's small
hours (before 05:00), ``tomorrow`` and ``yesterday`` are refused as ambiguous (a person still
up at 02:00 often means the day after the night, not the calendar's), with both dated forms
to type instead. When the author's own calendar day differs from the zone's, the answer
carries a note saying which day the words were read as.

**Impossible and ambiguous times are refused**, never guessed: a wall time the clocks skip
(spring forward) does not exist; one they repeat (fall back) needs its offset, and the hint
gives both forms. An offset typed with a zone must be one the zone has then.

Every accepted form, echoed in its own zone (:meth:`Typed.echo`), reads back as the same
instant (a property test checks it over DST edges and :30 / :45 offsets).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync_incident.core.errors import UsageError

_RELATIVE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_CLOCK = r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?"
_OFFSET = r"(?:\s?(?P<off>[zZ]|[+-]\d{2}(?::?\d{2})?))?"
_WALL = re.compile(rf"^(?:(?P<day>[A-Za-z]+)\s)?{_CLOCK}{_OFFSET}$")
_DATED = re.compile(rf"^(?P<date>\d{{4}}-\d{{2}}-\d{{2}})(?:[Tt ]{_CLOCK}{_OFFSET})?$")
_BRACKETED = re.compile(r"^(?P<body>.*\S)\[(?P<zone>[^\[\]\s]+)\]$")
_ZONE_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/]*$")
# what an event may carry as the zone a time was typed in: an IANA-like name or an offset.
# Checked by shape only: a reader whose tz database lacks the zone still reads the event
ZONE_NAME = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9_+\-]{0,40}(?:/[A-Za-z0-9_+\-]{1,40}){0,3}|[+-]\d{2}:\d{2})$"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SMALL_HOURS_END = time(5, 0)  # before this, "tomorrow" / "yesterday" are ambiguous
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
     "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "GMT-0", "Etc/GMT+0", "Etc/GMT-0",
     "Greenwich", "Etc/Greenwich", "+00:00", "-00:00"}
)  # fmt: skip
HINT = (
    "use '18:00 Europe/Berlin', 'tomorrow 09:00', '2026-12-07 08:50 Europe/Berlin', "
    "'monday 09:00', '09:00' (in your timezone), '2022-01-12 14:03 UTC', "
    "ISO 8601 with an offset, or '+90m' / '+2h' / '+1d'"
)


# --- written -------------------------------------------------------------------------------


def utc(value: datetime | None, missing: str = "-") -> str:
    """``2022-01-12 14:03 UTC``: a time where no person's clock is concerned."""
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


def is_utc(zone: str | None) -> bool:
    """Whether ``zone`` is UTC under another name (its clock adds nothing to a UTC time)."""
    return zone is None or zone in _UTC_NAMES


def wall(moment: datetime, zone: str) -> str | None:
    """``11:00 America/Los_Angeles``, or ``2026-12-07 18:00 America/Los_Angeles`` when that is
    not the UTC date: the clock in ``zone`` beside a UTC time. None for a zone this machine's
    tz database does not know (a record written elsewhere)."""
    found = _tz_or_none(zone)
    if found is None:
        return None
    there = moment.astimezone(found)
    day = "" if there.date() == moment.astimezone(UTC).date() else f"{there:%Y-%m-%d} "
    return f"{day}{there:%H:%M}{_fold_offset(there, found)} {zone}"


def for_people(
    moment: datetime,
    people: Iterable[tuple[str, str | None]] = (),
    *,
    typed: str | None = None,
) -> str:
    """``2026-12-07 19:00 UTC (11:00 America/Los_Angeles for beatrice)``.

    UTC first, then the time in the zone it was typed in (``typed``), then the local time of
    each person (``(name, zone)``; a name may be "you"): one clock per zone, naming everyone
    who reads it, the date only when it is not the UTC date. Zones that are UTC, and unknown
    ones, add nothing.
    """
    groups: dict[str, list[str]] = {}
    if typed and not is_utc(typed):
        groups[typed] = []
    for name, zone in people:
        if not name or zone is None or is_utc(zone):
            continue
        names = groups.setdefault(zone, [])
        if name not in names:
            names.append(name)
    parts = []
    for zone, names in groups.items():
        clock = wall(moment, zone)
        if clock is not None:
            parts.append(f"{clock} for {_and(names)}" if names else clock)
    written = utc(moment)
    return f"{written} ({'; '.join(parts)})" if parts else written


def for_person(moment: datetime, zone: str | None, name: str, *, typed: str | None = None) -> str:
    """``2026-12-07 19:00 UTC (11:00 America/Los_Angeles for beatrice)``: see :func:`for_people`."""
    return for_people(moment, [(name, zone)], typed=typed)


def in_zone(moment: datetime, zone: str | None) -> str:
    """``2026-12-07 08:50 Europe/Berlin``: ``moment`` in one zone, date included, exactly (seconds
    when it has them; the offset when that wall time happens twice), so it reads back as the
    same instant. ``2022-01-12 14:03 UTC`` when the zone is UTC, none, or unknown here."""
    found = None if is_utc(zone) or zone is None else _tz_or_none(zone)
    name = zone if found is not None and zone is not None else "UTC"
    there = moment.astimezone(found or UTC)
    offset = _fold_offset(there, found) if found is not None else ""
    return f"{there:%Y-%m-%d} {_clock(there)}{offset} {name}"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _clock(moment: datetime) -> str:
    text = f"{moment:%H:%M}"
    if moment.second or moment.microsecond:
        text += f":{moment:%S}"
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text


def _offset_text(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta(0)).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"


def _fold_offset(there: datetime, zone: tzinfo | None) -> str:
    """``+01:00`` when the wall time of ``there`` happens twice in ``zone``; else nothing."""
    if not isinstance(zone, ZoneInfo):
        return ""
    other = there.replace(fold=1 - there.fold)
    return _offset_text(there.utcoffset()) if other.utcoffset() != there.utcoffset() else ""


def _tz_or_none(zone: str) -> tzinfo | None:
    if re.fullmatch(r"[+-]\d{2}:\d{2}", zone):
        sign = -1 if zone[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --- spans ---------------------------------------------------------------------------------


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


# --- accepted ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    """A time as a person typed it: the instant, and the zone they meant it in."""

    at: datetime  # the instant, in UTC
    zone: str | None = None  # typed, or the author's zone it was read in; None for "+2h"
    note: str | None = None  # for the author: which day a day word was read as, when unsure

    def echo(self) -> str:
        """``2026-12-07 08:50 Europe/Berlin``: the time in its own zone; reads back as ``at``."""
        return in_zone(self.at, self.zone)

    @property
    def kept_zone(self) -> str | None:
        """The zone to record beside the instant: None when it is UTC (it adds nothing)."""
        return None if is_utc(self.zone) else self.zone


def zone_of(name: str | None) -> ZoneInfo:
    """The IANA zone ``name`` (UTC when none), matched regardless of case."""
    found, _ = _zone(name or "UTC")
    if not isinstance(found, ZoneInfo):  # pragma: no cover - _zone gives ZoneInfo for names
        raise UsageError(f"{name!r} is not a timezone", hint="use an IANA name like Europe/Berlin")
    return found


def parse_time(text: str, *, now: datetime | None = None, tz: str | None = None) -> datetime:
    """An aware UTC datetime from what a person typed; ``tz`` is their zone (default UTC)."""
    return read_time(text, now=now, tz=tz).at


def read_time(text: str, *, now: datetime | None = None, tz: str | None = None) -> Typed:
    """What a person typed (see the module docstring), with the zone they meant it in.

    ``tz`` is the author's zone (default UTC): times without a zone are read in it, and it
    decides whether a day word needs a note. Raises :class:`UsageError` with a hint for
    anything that is not a time, or is not one time.
    """
    raw = " ".join(text.split())
    base = now or datetime.now(UTC)
    relative = _RELATIVE.match(raw)
    if relative:
        amount, unit = float(relative[1]), _UNITS[relative[2]]
        return Typed((base + timedelta(**{unit: amount})).astimezone(UTC))
    body, zone_text = _split_zone(raw)
    match = _WALL.match(body) or _DATED.match(body)
    if match is None:
        raise UsageError(f"{text!r} is not a time", hint=HINT)
    clock = _clock_of(match, text)
    offset = _offset_of(match["off"], text)
    if zone_text is not None:
        zone, name = _zone(zone_text)
    elif offset is not None:
        zone, name = (timezone(offset), _offset_text(offset)) if offset else (UTC, "UTC")
    else:
        zone, name = _zone(tz or "UTC")
    note = None
    if "date" in match.groupdict():
        day = _date_of(match["date"], text)
    else:
        word = (match["day"] or "today").lower()
        day = _day(word, base, zone, name, clock, text)
        if zone_text is not None or offset is not None:
            said = repr(match["day"].lower()) if match["day"] else "the day"
            note = _day_note(said, base, zone, name, tz)
    moment = _instant(day, clock, zone, name, offset, text).astimezone(UTC)
    if note is not None:
        note = f"{note}: {in_zone(moment, name)}"
    return Typed(moment, name, note)


def _split_zone(raw: str) -> tuple[str, str | None]:
    """``('2026-12-07 08:50', 'Europe/Berlin')``: the time and the zone typed after it."""
    bracketed = _BRACKETED.match(raw)
    if bracketed:
        return bracketed["body"], bracketed["zone"]
    body, space, last = raw.rpartition(" ")
    if space and body and _ZONE_WORD.match(last):
        return body, last
    return raw, None


def _zone(name: str) -> tuple[tzinfo, str]:
    """A zone and its canonical name from what was typed: an IANA name in any case, or UTC."""
    if name.casefold() in ("utc", "z", "zulu"):
        return ZoneInfo("UTC"), "UTC"
    if ZONE_NAME.match(name):
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
        canonical = _known_zones().get(name.casefold())
        if canonical is not None:
            return ZoneInfo(canonical), canonical
    import difflib

    close = difflib.get_close_matches(name, sorted(_known_zones().values()), n=1, cutoff=0.75)
    hint = f"did you mean {close[0]}?" if close else "use an IANA name like Europe/Berlin"
    raise UsageError(f"{name!r} is not a timezone", hint=hint)


@functools.cache
def _known_zones() -> dict[str, str]:
    from zoneinfo import available_timezones

    return {name.casefold(): name for name in available_timezones()}


def _clock_of(match: re.Match[str], text: str) -> time:
    if match["h"] is None:
        return time(0, 0)
    hours, minutes, seconds = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    fraction = int((match["f"] or "0").ljust(6, "0"))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise UsageError(f"{text!r} is not a time of day", hint=HINT)
    return time(hours, minutes, seconds, fraction)


def _offset_of(found: str | None, text: str) -> timedelta | None:
    if found is None:
        return None
    if found in ("z", "Z"):
        return timedelta(0)
    digits = found[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise UsageError(f"{text!r} has no valid UTC offset ({found})", hint=HINT)
    sign = -1 if found[0] == "-" else 1
    return sign * timedelta(hours=hours, minutes=minutes)


def _date_of(found: str, text: str) -> date:
    try:
        return date.fromisoformat(found)
    except ValueError:
        raise UsageError(f"{text!r} is not a time (no such date)", hint=HINT) from None


def _weekday(word: str) -> int | None:
    if len(word) < 3:
        return None
    found = [n for n, name in enumerate(_WEEKDAYS) if name.startswith(word)]
    return found[0] if len(found) == 1 else None


def _day(word: str, base: datetime, zone: tzinfo, name: str, clock: time, text: str) -> date:
    """The calendar day a day word means in ``zone``, as a person there means it."""
    there = base.astimezone(zone)
    today = there.date()
    if word == "today":
        return today
    if word in ("tomorrow", "yesterday"):
        step = 1 if word == "tomorrow" else -1
        if there.time() < SMALL_HOURS_END:
            near, far = (
                (today, today + timedelta(days=1))
                if step > 0
                else (today - timedelta(days=1), today - timedelta(days=2))
            )
            raise UsageError(
                f"{text!r} is ambiguous: it is {there:%H:%M} on {today} in {name}, so "
                f"{word!r} may mean {near} or {far}",
                hint=f"type the date: '{near} {_clock_at(clock)} {name}' or "
                f"'{far} {_clock_at(clock)} {name}'",
            )
        return today + timedelta(days=step)
    weekday = _weekday(word)
    if weekday is None:
        raise UsageError(f"{text!r} is not a time ({word!r} is not a day)", hint=HINT)
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0:
        later = today + timedelta(days=7)
        raise UsageError(
            f"{text!r} is ambiguous: it is {_WEEKDAYS[weekday].capitalize()} {today} in {name} "
            "today, so it may mean today or in a week",
            hint=f"type 'today {_clock_at(clock)} {name}' or '{later} {_clock_at(clock)} {name}'",
        )
    return today + timedelta(days=ahead)


def _clock_at(clock: time) -> str:
    return _clock(datetime.combine(date(2000, 1, 1), clock))


def _day_note(said: str, base: datetime, zone: tzinfo, name: str, tz: str | None) -> str | None:
    """Why the day may not be the one the author thought: their calendar is not the zone's."""
    mine = _tz_or_none(tz) if tz else None
    their_day, my_day = base.astimezone(zone).date(), base.astimezone(mine or UTC).date()
    if their_day == my_day:
        return None
    already = "already" if their_day > my_day else "still"
    return f"{said} is read in {name}, where it is {already} {their_day} ({my_day} where you are)"


def _instant(
    day: date, clock: time, zone: tzinfo, name: str, offset: timedelta | None, text: str
) -> datetime:
    """``clock`` on ``day`` in ``zone``: refused when the clocks skip it, or repeat it and
    no ``offset`` says which; an ``offset`` must be one the zone has then."""
    naive = datetime.combine(day, clock)
    if not isinstance(zone, ZoneInfo):
        if offset is not None and offset != zone.utcoffset(None):
            raise UsageError(f"{text!r} gives two different offsets", hint=HINT)
        return naive.replace(tzinfo=zone)
    real: dict[timedelta | None, datetime] = {}
    for fold in (0, 1):
        candidate = naive.replace(tzinfo=zone, fold=fold)
        if candidate.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive:
            real.setdefault(candidate.utcoffset(), candidate)
    if not real:
        after = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
        raise UsageError(
            f"{text!r} does not exist: the clocks in {name} jump over {_clock_at(clock)} on {day}",
            hint=f"type a time that exists, e.g. '{in_zone(after, name)}'",
        )
    if offset is not None:
        chosen = real.get(offset)
        if chosen is None:
            has = " or ".join(f"UTC{_offset_text(o)}" for o in real)
            raise UsageError(
                f"{text!r} does not match: {name} is at {has} then, not {_offset_text(offset)}",
                hint="drop the offset, or type the zone the offset belongs to",
            )
        return chosen
    if len(real) > 1:
        first, second = real.values()
        forms = [
            f"'{day} {_clock_at(clock)}{_offset_text(c.utcoffset())} {name}' ({label}, {utc(c)})"
            for c, label in ((first, "the first"), (second, "the second"))
        ]
        raise UsageError(
            f"{text!r} happens twice: the clocks in {name} go back over it on {day}",
            hint=f"add the offset: {forms[0]} or {forms[1]}",
        )
    return next(iter(real.values()))
