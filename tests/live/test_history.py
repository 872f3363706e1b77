"""The bug's history on a real Bugzilla 5.2: the [hold] tag the mirror writes comes back as a
mark, and a reader who cannot see the hold comment is in doubt.

The kit's server has no insider group (nobody may mark a comment private) and 5.2 cannot
delete comments, so the last step folds what such a reader would get: every comment but the
hold, with the history the server really sent.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sync_incident.core.fold import fold
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.bugzilla.tracker import build_bugzilla
from sync_incident.trackers.cache import Cache
from tests.live.server import (
    KEYS,
    RELEASE,
    URL,
    People,
    live,
    login,
    raw,
    transport,
    whiteboard,
)
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
    assert gated.code == 1, gated.out  # blocked
    assert gated.paths().count(f"GET /rest/bug/{bug}/history") == 1
    assert "[hold]" not in whiteboard(bug)  # the gate writes nothing
    people.daemon("admin", ref)  # the daemon (admin's key: editbugs) writes [hold]
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
    assert hold.created_at <= mark.at <= hold.created_at + timedelta(minutes=2)

    seen = fold(snap.comments, kind="bugzilla", marks=snap.marks)
    assert not seen.doubts and seen.holds
    unseen = fold(snap.comments[:-1], kind="bugzilla", marks=snap.marks)
    assert [d.kind for d in unseen.doubts] == ["history"]
    assert "hold flag set by admin@example.com" in unseen.doubts[0].detail


def fresh_read(bug: int, person: str = "bob") -> Any:
    """What a fresh read (the gate's) of ``bug`` returns to ``person``."""
    cache = Cache(None)
    tracker = build_bugzilla(
        URL, KEYS[person], cache=cache, login=login(person), transport=transport()
    )
    try:
        return run(tracker.fetch(IncidentRef("bugzilla", bug), fresh=True))
    finally:
        run(tracker.aclose())
        cache.close()


def test_a_hold_raised_right_after_another_was_released_then_hidden_is_doubt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24, class 6: the second [hold] is not explained by the first, released, hold."""
    people = People(tmp_path, monkeypatch, capsys)
    R = RELEASE
    opened = people.run("admin", "open", "--bugzilla", "--title", "Two holds", "-r", R)
    bug = people.bug_of(opened)
    ref = f"bug {bug}"
    assert (
        people.run("alice", "hold", ref, "-r", R, "--reason", "A crash spike on startup").code == 0
    )
    assert people.run("admin", "gate", ref, "-r", R).code == 1
    people.daemon("admin", ref)  # the daemon's catch-up writes [hold]
    why = "A false alarm: the spike came from one test machine."
    assert people.run("alice", "release-hold", ref, "-r", R, "--reason", why).code == 0
    people.daemon("admin", ref)  # and clears it
    assert "[hold]" not in whiteboard(bug)
    held = people.run("bob", "hold", ref, "-r", R, "--reason", "The respin crashes as well")
    assert held.code == 0, held.err
    assert people.run("admin", "gate", ref, "-r", R).code == 1
    people.daemon("admin", ref)  # [hold] again, for bob's
    snap = fresh_read(bug)
    assert [m.on for m in snap.marks] == [True, False, True]
    seen = fold(snap.comments, kind="bugzilla", marks=snap.marks)
    assert seen.doubts == [] and [h.by for h in seen.holds] == ["bob@example.com"]
    # a reader who cannot see bob's hold (hidden, private): alice's released hold does not
    # explain the second [hold]
    unseen = fold(snap.comments[:-1], kind="bugzilla", marks=snap.marks)
    assert [d.kind for d in unseen.doubts] == ["history"]
    assert "hold flag set by admin@example.com" in unseen.doubts[0].detail
    assert "raised since the flag was last cleared" in unseen.doubts[0].detail


def test_a_hold_tag_typed_into_the_whiteboard_is_doubt_for_check_as_for_the_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 24, class 7: check sees the doubt the gate sees, and says who may clear it."""
    people = People(tmp_path, monkeypatch, capsys)
    R = RELEASE
    opened = people.run("admin", "open", "--bugzilla", "--title", "Typed hold", "-r", R)
    bug = people.bug_of(opened)
    ref = f"bug {bug}"
    for team, person in (("QA", "qa"), ("Releng", "releng")):
        assert people.run(person, "signoff", ref, "--team", team, "-r", R).code == 0
    assert people.run("admin", "gate", ref, "-r", R).code == 0
    board = whiteboard(bug)
    raw("PUT", f"/bug/{bug}", "releng", json={"whiteboard": f"{board} [hold]"})
    gated = people.run("bob", "gate", ref, "-r", R)
    assert gated.code == 1 and "hold flag set by releng" in gated.out, gated.out
    finding = "I read every comment as an insider: no hold is hidden; releng typed the tag."
    refused = people.run("admin", "check", ref, "--finding", finding)
    assert refused.code == 3, refused.out + refused.err
    assert "--seen-hidden" in refused.err and "releng" in refused.err
    checked = people.run("admin", "check", ref, "--finding", finding, "--seen-hidden")
    assert checked.code == 0, checked.err
    assert f"GET /rest/bug/{bug}/history" in checked.paths()
    assert people.run("bob", "gate", ref, "-r", R).code == 0
