"""The local cache: the durability it needs (and does not)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sync_incident.core.comments import Account, Comment
from sync_incident.trackers.cache import Cache, CachedIncident

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
