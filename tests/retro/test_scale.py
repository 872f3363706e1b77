"""The picture's time axis: linear where things happen, broken around long silences."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from sync_incident.retro.scale import BREAK_W, MIN_SEGMENT_W, build_scale

LOW, HIGH = 190.0, 1150.0
OPENED = datetime(2022, 3, 7, 8, 0, tzinfo=UTC)


def _incident(hours: int = 62) -> list[datetime]:
    return [OPENED + timedelta(minutes=35 * n) for n in range(hours * 60 // 35)]


def test_a_moment_years_before_gets_its_own_segment_behind_a_break() -> None:
    ancient = datetime(2018, 11, 2, 10, 0, tzinfo=UTC)
    scale = build_scale([ancient, *_incident()], LOW, HIGH)
    assert len(scale.breaks) == 1 and len(scale.segments) == 2
    assert scale.segments[0].right - scale.segments[0].left == MIN_SEGMENT_W
    assert (scale.breaks[0].before, scale.breaks[0].after) == (ancient, OPENED)
    # the incident's own hours fill everything but the lone moment and the break
    own = scale.x(_incident()[-1]) - scale.x(OPENED)
    assert own / (HIGH - LOW) >= 0.75
    assert own >= HIGH - LOW - MIN_SEGMENT_W - BREAK_W - 30


def test_a_quiet_day_within_the_incident_is_not_broken() -> None:
    # the recorded fixture: 22 quiet hours in 58 (Kenji watched crash rates) stay to scale
    times = [datetime(2022, 1, 10, 15, 40, tzinfo=UTC), datetime(2022, 1, 12, 3, tzinfo=UTC)]
    times += [datetime(2022, 1, 13, 1, 0, tzinfo=UTC), datetime(2022, 1, 13, 2, 15, tzinfo=UTC)]
    scale = build_scale(times, LOW, HIGH)
    assert scale.breaks == []


def test_a_backfill_hours_before_a_short_incident_breaks_the_axis() -> None:
    start = datetime(2022, 1, 12, 14, 0, tzinfo=UTC)
    short = [start + timedelta(minutes=15 * n) for n in range(13)]  # three hours
    scale = build_scale([start - timedelta(hours=20), *short], LOW, HIGH)
    assert len(scale.breaks) == 1


def test_x_grows_with_time_and_is_linear_within_a_segment() -> None:
    ancient = datetime(2018, 11, 2, 10, 0, tzinfo=UTC)
    times = [ancient, *_incident()]
    scale = build_scale(times, LOW, HIGH)
    xs = [scale.x(t) for t in sorted(times)]
    assert xs == sorted(xs) and xs[0] >= LOW and xs[-1] <= HIGH
    steps = [scale.x(OPENED + timedelta(hours=h)) for h in range(0, 50, 10)]
    deltas = {round(b - a, 6) for a, b in itertools.pairwise(steps)}
    assert len(deltas) == 1


@pytest.mark.parametrize("hours", [1, 3, 12, 62, 24 * 9])
def test_tick_labels_have_room_and_each_segment_names_its_day(hours: int) -> None:
    scale = build_scale(_incident(hours) or [OPENED], LOW, HIGH)
    ticks = scale.ticks()
    timed = [t.x for t in ticks if t.time_label]
    assert all(b - a >= 48 for a, b in itertools.pairwise(timed))
    assert ticks[0].date_label.endswith("2022-03-07")  # an ISO date, with the year


def test_a_lone_moment_is_labelled_with_its_date_and_time() -> None:
    ancient = datetime(2018, 11, 2, 10, 0, tzinfo=UTC)
    scale = build_scale([ancient, *_incident()], LOW, HIGH)
    first = scale.ticks()[0]
    assert (first.date_label, first.time_label, first.grid) == ("Fri 2018-11-02", "10:00", False)
