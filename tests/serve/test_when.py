"""Moments as the pages show them: a UTC instant for the reader's zone, the people's clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_incident.serve.when import marked, moment

T = datetime(2026, 3, 10, 9, 15, 42, tzinfo=UTC)


def test_a_moment_carries_the_instant_the_utc_text_and_the_clocks_of_whom_it_concerns() -> None:
    m = moment(T, T + timedelta(minutes=25), [("dana", "Europe/Berlin"), ("robin", None)])
    assert m.iso == "2026-03-10T09:15:42Z"
    assert m.utc == "2026-03-10 09:15 UTC"
    assert m.people == "10:15 Europe/Berlin for dana"
    assert m.relative == "25 min ago" and not m.ahead


def test_a_moment_to_come_says_in_how_long_and_the_zone_it_was_typed_in() -> None:
    m = moment(T, T - timedelta(minutes=50), [("alice", "Asia/Tokyo")], typed="Europe/Berlin")
    assert m.relative == "in 50 min" and m.ahead
    assert m.people == "10:15 Europe/Berlin; 18:15 Asia/Tokyo for alice"


def test_a_moment_nobody_else_reads_is_utc_alone() -> None:
    assert moment(T, T, [("quinn", "UTC")]).people == ""
    assert moment(T, T).relative == "under a minute ago"


def test_marked_text_shows_its_utc_times_in_the_readers_zone_and_keeps_dates_whole() -> None:
    html = marked("alice holds <b> since 2026-03-10 08:45 UTC; due 2026-03-11 (10:00 Asia/Tokyo)")
    assert html == (
        'alice holds &lt;b&gt; since <time datetime="2026-03-10T08:45:00Z">'
        "2026-03-10 08:45 UTC</time>; due "
        '<span class="nobr">2026-03-11</span> (10:00 Asia/Tokyo)'
    )
