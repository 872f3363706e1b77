"""The local cache: durability it needs (and does not), and comments made once while unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sync_incident.core.comments import Account, Comment
from sync_incident.trackers.cache import Cache, CachedIncident, Made

T0 = datetime(2026, 11, 27, 3, 50, 13, tzinfo=UTC)


def _incident(*bodies: str) -> CachedIncident:
    entry = CachedIncident()
    for n, body in enumerate(bodies, 1):
        entry.merge(Comment(str(n), Account("alice@example.test"), T0, body, order=n, seq=n))
    return entry


def test_a_file_cache_does_not_sync_the_disk_at_every_commit(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    try:
        (mode,) = cache._db.execute("PRAGMA journal_mode").fetchone()
        (sync,) = cache._db.execute("PRAGMA synchronous").fetchone()
    finally:
        cache.close()
    assert (mode, sync) == ("wal", 1)  # 1 = NORMAL: synced at checkpoints, safe from crashes


def test_a_saved_incident_loads_back_the_same_comments(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    try:
        cache.save("k", _incident("one", "two"))
        assert [c.body for c in cache.load("k").comment_list()] == ["one", "two"]
    finally:
        cache.close()


def test_unchanged_comments_are_made_once_however_often_the_incident_is_loaded() -> None:
    made: Made = {}
    text = _incident("one", "two").to_json()
    first = CachedIncident.from_json(text).comment_list(made)
    again = CachedIncident.from_json(text).comment_list(made)
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert first == CachedIncident.from_json(text).comment_list()  # the same as made anew


def test_a_comment_changed_in_place_is_made_again() -> None:
    made: Made = {}
    entry = _incident("one", "two")
    before = entry.comment_list(made)
    entry.comments["2"].edited = True  # as the GitHub reader does when GraphQL says so
    after = entry.comment_list(made)
    assert after[0] is before[0]
    assert (before[1].edited, after[1].edited) == (False, True)
    assert after == entry.comment_list()


def test_a_comment_whose_text_changed_is_made_again_and_shows_as_edited() -> None:
    made: Made = {}
    entry = _incident("one", "two")
    entry.comment_list(made)
    changed = _incident("one", "two, rewritten")
    changed.comments["2"].first_hash = entry.comments["2"].first_hash  # first seen as "two"
    [_, second] = changed.comment_list(made)
    assert second.body == "two, rewritten" and second.edited


def test_a_cache_never_asked_opens_no_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "cache.sqlite3"
    cache = Cache(path)
    cache.close()
    assert not path.parent.exists()
    cache = Cache(path)
    cache.put("ns", "k", "v")
    assert cache.get("ns", "k") == "v" and path.exists()
    cache.close()
