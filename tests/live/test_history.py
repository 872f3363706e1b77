"""The bug's history on a real Bugzilla 5.2: the [hold] tag the mirror writes comes back as a
mark, and a reader who cannot see the hold comment is in doubt.

The kit's server has no insider group (nobody may mark a comment private) and 5.2 cannot
delete comments, so the last step folds what such a reader would get: every comment but the
hold, with the history the server really sent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sync_incident.core.fold import MARK_SLACK, fold
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.bugzilla.tracker import build_bugzilla
from sync_incident.trackers.cache import Cache
from tests.live.server import KEYS, RELEASE, URL, People, live, login, transport, whiteboard
from tests.trackers.contract import run

pytestmark = live


def test_the_hold_tag_in_the_real_history_catches_a_hold_nobody_can_see(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = People(tmp_path, monkeypatch, capsys)
    R = RELEASE
    opened = people.run("admin", "open", "--bugzilla", "--title", "Hold history", "-r", R)
    assert opened.code == 0, opened.err
    bug = people.bug_of(opened)
    ref = f"bug {bug}"
    held = people.run("alice", "hold", ref, "-r", R, "--reason", "A crash spike on startup")
    assert held.code == 0, held.err  # alice has no editbugs: the whiteboard is left to others
    gated = people.run("admin", "gate", ref, "-r", R)
    assert gated.code == 1, gated.out  # blocked; and admin's catch-up writes [hold]
    assert gated.paths().count(f"GET /rest/bug/{bug}/history") == 1
    assert whiteboard(bug) == "[incident:active] [ic:admin] [hold]"

    cache = Cache(None)
    tracker = build_bugzilla(
        URL, KEYS["bob"], cache=cache, login=login("bob"), transport=transport()
    )
    try:
        snap = run(tracker.fetch(IncidentRef("bugzilla", bug), fresh=True))
    finally:
        run(tracker.aclose())
        cache.close()
    [mark] = snap.marks
    hold = snap.comments[-1]
    assert (mark.flag, mark.on, mark.by) == ("hold", True, "admin@example.com")
    assert hold.created_at <= mark.at <= hold.created_at + MARK_SLACK

    seen = fold(snap.comments, kind="bugzilla", marks=snap.marks)
    assert not seen.doubts and seen.holds
    unseen = fold(snap.comments[:-1], kind="bugzilla", marks=snap.marks)
    assert [d.kind for d in unseen.doubts] == ["history"]
    assert "hold flag set by admin@example.com" in unseen.doubts[0].detail
