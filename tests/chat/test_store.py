"""What the chat bot keeps between runs: a cache, never the record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sync_incident.chat.store import KEEP, Pending, Store
from sync_incident.trackers.cache import Cache

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def pending(**changes: str) -> Pending:
    fields = {
        "chat": "matrix",
        "room": "!ops:example.org",
        "sender": "@alice:example.org",
        "message_id": "$m1",
        "at": T0,
        "ref": "bug 123456",
        "command": "hold 'Firefox 96.0.1' crashes",
        "sentence": "alice holds Firefox 96.0.1 because of crashes.",
        "expires": T0 + timedelta(minutes=10),
        "token": "abc123",
    }
    return Pending(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_sync_token_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Store(Cache(path)).save_sync_token("@syncbot:example.org", "s72594_4483_1934")
    assert Store(Cache(path)).sync_token("@syncbot:example.org") == "s72594_4483_1934"
    assert Store(Cache(path)).sync_token("@other:example.org") is None


def test_a_confirmation_is_found_by_room_and_person_by_prompt_and_by_token(
    tmp_path: Path,
) -> None:
    store = Store(Cache(tmp_path / "cache.sqlite3"))
    waiting = pending(prompt="$prompt1")
    store.save_pending(waiting)
    assert store.pending("matrix", "!ops:example.org", "@alice:example.org") == waiting
    assert store.pending_by("matrix", "$prompt1") == waiting
    assert store.pending_by("matrix", "abc123") == waiting
    assert store.pending_by("slack", "abc123") is None
    store.drop_pending(waiting)
    assert store.pending_by("matrix", "$prompt1") is None
    assert store.pending("matrix", "!ops:example.org", "@alice:example.org") is None


def test_a_broken_entry_is_no_confirmation(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite3")
    cache.put("chat-pending", "matrix|!ops:example.org|@alice:example.org", "{not json")
    assert Store(cache).pending("matrix", "!ops:example.org", "@alice:example.org") is None


def test_announced_ids_are_bounded_and_none_means_a_room_new_to_the_incident(
    tmp_path: Path,
) -> None:
    store = Store(Cache(tmp_path / "cache.sqlite3"))
    assert store.announced("matrix", "!ops:example.org", "bugzilla:1") is None
    store.save_announced("matrix", "!ops:example.org", "bugzilla:1", [str(i) for i in range(3000)])
    kept = store.announced("matrix", "!ops:example.org", "bugzilla:1")
    assert kept is not None and len(kept) == KEEP and kept[-1] == "2999"
