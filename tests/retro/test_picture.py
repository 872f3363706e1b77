"""The timeline picture as SVG text: what it draws for unusual records (the browser tests in
``tests/test_retro.py`` measure how it reads)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import Note
from sync_incident.core.fold import fold
from sync_incident.retro import build_retro, timeline_svg
from tests.test_retro import NOW, _comments, _policy, _recorded_state


def _svg(comments: list[Comment]) -> str:
    state = fold(comments, kind="bugzilla", policy=_policy(), now=NOW, ref="bug 1", title="t")
    return timeline_svg(build_retro(state, _policy(), now=NOW))


def test_an_empty_record_and_a_single_event_still_draw() -> None:
    assert "<svg" in _svg([]) and 'class="marker' not in _svg([])
    assert _svg(_comments()[:1]).count('class="marker ') == 1


def test_a_backfill_years_before_the_opening_breaks_the_axis() -> None:
    old = Note(
        id="01CXQ0000000000000000000AA",
        occurred_at=datetime(2018, 11, 2, 10, 0, tzinfo=UTC),
        text="The same signature was reported in 2018.",
    )
    at = datetime(2022, 1, 10, 17, 30, tzinfo=UTC)
    comments = [*_comments(), Comment("9998", Account("alice@example.com"), at, codec.render(old))]
    svg = _svg(sorted(comments, key=lambda c: c.created_at))
    assert svg.count('class="axis-break"') == 1
    assert "The axis skips 1165 d 5 h 40 min without events: 2018-11-02 10:00 UTC" in svg
    assert ">3.2 y</text>" in svg
    assert "Fri 2018-11-02</text>" in svg


def test_the_recorded_incident_keeps_one_linear_axis() -> None:
    svg = timeline_svg(build_retro(_recorded_state(), _policy(), now=NOW))
    assert "axis-break" not in svg


def test_decisive_markers_carry_short_tags() -> None:
    svg = timeline_svg(build_retro(_recorded_state(), _policy(), now=NOW))
    tags = re.findall(r'class="marker-tag"[^>]*>([^<]+)<', svg)
    assert {"ship 96.0.2", "hold 96.0.2", "declined"} <= set(tags)
