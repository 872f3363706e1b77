"""The picture's time axis: linear within stretches of activity, broken around long silences.

One backfilled event years before the opening used to squeeze the incident's own hours into the
last pixels of the axis. Here the times are cut into *segments* wherever a gap is much longer
than everything else that is drawn; each gap becomes a fixed-width *break* that the picture
draws visibly, and each segment gets room in proportion to its length (a lone event gets a
minimum width). Within a segment one pixel is always the same duration.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

BREAK_W = 48.0  # px given to each break
EDGE = 12.0  # px between a segment's first or last moment and its edge
MIN_SEGMENT_W = 120.0  # px, so a lone event has room for its date
MAX_BREAKS = 3
# a gap is broken when it is at least this long and this many times longer than the rest
MIN_BREAK = timedelta(hours=2)
BREAK_RATIO = 2.0

_STEPS = [timedelta(minutes=m) for m in (15, 30, 60, 120, 180, 360, 720)] + [
    timedelta(days=d) for d in (1, 2, 7, 14, 28)
]
_MIN_STEP_PX = 60.0  # between time-of-day ticks ("18:00" is about 35 px)
_MIN_DAY_STEP_PX = 120.0  # between date ticks ("Wed 2022-03-09" is about 105 px)


@dataclass(frozen=True)
class Segment:
    start: datetime
    end: datetime
    left: float
    right: float


@dataclass(frozen=True)
class Break:
    """A gap the axis skips: ``before`` is the last moment drawn before it, ``after`` the next."""

    before: datetime
    after: datetime
    left: float
    right: float

    @property
    def centre(self) -> float:
        return (self.left + self.right) / 2


@dataclass(frozen=True)
class Tick:
    at: datetime
    x: float
    grid: bool  # draw a grid line (False: a label only, naming a segment's day)
    day: bool  # midnight UTC
    time_label: str  # "" when the step is a day or more
    date_label: str  # "" between days


@dataclass(frozen=True)
class TimeScale:
    segments: list[Segment]
    breaks: list[Break]
    low: float  # the plot's left and right edges, px
    high: float

    def x(self, moment: datetime) -> float:
        """Where ``moment`` is drawn; moments inside a break are spread across it."""
        knots = self._knots()
        times = [t for t, _ in knots]
        i = bisect.bisect_left(times, moment)
        if i == 0:
            return knots[0][1]
        if i == len(knots):
            return knots[-1][1]
        (t0, x0), (t1, x1) = knots[i - 1], knots[i]
        return x0 + (x1 - x0) * ((moment - t0) / (t1 - t0))

    def _knots(self) -> list[tuple[datetime, float]]:
        knots: list[tuple[datetime, float]] = []
        for seg in self.segments:
            if seg.end == seg.start:
                knots.append((seg.start, (seg.left + seg.right) / 2))
            else:
                knots += [(seg.start, seg.left + EDGE), (seg.end, seg.right - EDGE)]
        return knots

    def ticks(self) -> list[Tick]:
        """Grid lines with their labels, chosen per segment so that labels have room."""
        out: list[Tick] = []
        for seg in self.segments:
            out += _segment_ticks(seg, self.x)
        return out


def build_scale(times: list[datetime], low: float, high: float) -> TimeScale:
    """A scale from ``low`` to ``high`` px that shows every moment in ``times``."""
    moments = sorted({t.astimezone(UTC) for t in times})
    if not moments:
        moments = [datetime(2000, 1, 1, tzinfo=UTC)]
    if moments[-1] - moments[0] < timedelta(hours=1):  # a lone moment still gets an hour
        moments.append(moments[0] + timedelta(hours=1))
    spans = _spans(moments)
    widths = _widths([end - start for start, end in spans], high - low - BREAK_W * (len(spans) - 1))
    segments: list[Segment] = []
    breaks: list[Break] = []
    left = low
    for (start, end), width in zip(spans, widths, strict=True):
        if segments:
            breaks.append(Break(segments[-1].end, start, left, left + BREAK_W))
            left += BREAK_W
        segments.append(Segment(start, end, left, left + width))
        left += width
    return TimeScale(segments, breaks, low, high)


def _spans(moments: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Cut the sorted moments at the gaps that dwarf everything else (longest first)."""
    gaps = sorted(range(1, len(moments)), key=lambda i: moments[i] - moments[i - 1], reverse=True)
    total = moments[-1] - moments[0]
    cuts: list[int] = []
    for i in gaps[:MAX_BREAKS]:
        gap = moments[i] - moments[i - 1]
        rest = total - gap - sum((moments[c] - moments[c - 1] for c in cuts), timedelta())
        if gap < MIN_BREAK or gap < BREAK_RATIO * max(rest, timedelta(hours=1)):
            break
        cuts.append(i)
    bounds = [0, *sorted(cuts), len(moments)]
    return [(moments[a], moments[b - 1]) for a, b in pairwise(bounds)]


def _widths(spans: list[timedelta], room: float) -> list[float]:
    """Room in proportion to duration, but at least MIN_SEGMENT_W each."""
    widths = [0.0] * len(spans)
    short: set[int] = set()
    while True:
        rest = [i for i in range(len(spans)) if i not in short]
        free = room - MIN_SEGMENT_W * len(short)
        total = sum((spans[i] for i in rest), timedelta()) or timedelta(seconds=1)
        for i in rest:
            widths[i] = free * (spans[i] / total)
        newly = {i for i in rest if widths[i] < MIN_SEGMENT_W}
        if not newly or len(short | newly) == len(spans):
            break
        short |= newly
    for i in short:
        widths[i] = MIN_SEGMENT_W
    return widths


def _step(seg: Segment) -> timedelta:
    room = seg.right - seg.left - 2 * EDGE
    span = seg.end - seg.start
    for step in _STEPS:
        need = _MIN_DAY_STEP_PX if step >= timedelta(days=1) else _MIN_STEP_PX
        if room * (step / span) >= need:
            return step
    return _STEPS[-1]


def _segment_ticks(seg: Segment, x: Callable[[datetime], float]) -> list[Tick]:
    if seg.end == seg.start:  # a lone moment: label it in full, no grid
        return [Tick(seg.start, x(seg.start), False, False, f"{seg.start:%H:%M}", _date(seg.start))]
    step = _step(seg)
    midnight = seg.start.replace(hour=0, minute=0, second=0, microsecond=0)
    tick = midnight + step * -(-(seg.start - midnight) // step)  # the first tick in the segment
    out = []
    while tick <= seg.end:
        day = tick.hour == 0 and tick.minute == 0
        daily = step >= timedelta(days=1)
        date_label = _date(tick) if day or daily else ""
        out.append(Tick(tick, x(tick), True, day, "" if daily else f"{tick:%H:%M}", date_label))
        tick += step
    # name the segment's day, with the year, where it starts
    if out and out[0].at == seg.start and out[0].date_label:
        out[0] = replace(out[0], date_label=_date(seg.start))
    else:
        out.insert(0, Tick(seg.start, x(seg.start), False, False, "", _date(seg.start)))
    return out


def _date(moment: datetime) -> str:
    """``Wed 2022-03-09``: an ISO date, with its weekday (a weekend changes who answers)."""
    return f"{moment:%a %Y-%m-%d}"
