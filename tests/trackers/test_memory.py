"""What a tracker remembers about a server and its credentials: a day, by fingerprint."""

from __future__ import annotations

from sync_incident.core.comments import Account
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.memory import DAY, ServerMemory, fingerprint

SERVER = "https://bugzilla.test"
KEY = "CANARY-memory-key-0123456789abcdef"


def _memory(cache: Cache, now: list[float], key: str | None = KEY) -> ServerMemory:
    return ServerMemory(cache, SERVER, key, clock=lambda: now[0])


def test_facts_last_a_day_and_no_longer() -> None:
    cache, now = Cache(None), [1_000.0]
    memory = _memory(cache, now)
    memory.remember_version("5.2+")
    memory.remember_key(Account("alice@example.com"))
    memory.remember_may_not_write("alice@example.com")
    now[0] += DAY - 1
    again = _memory(cache, now)  # the next process
    assert again.version() == "5.2+"
    assert again.identity() == Account("alice@example.com")
    assert again.may_not_write("alice@example.com")
    now[0] += 2
    assert again.version() is None
    assert again.identity() is None and not again.key_checked()
    assert not again.may_not_write("alice@example.com")


def test_a_key_is_known_by_a_fingerprint_of_server_and_key_never_the_key() -> None:
    cache, now = Cache(None), [1_000.0]
    _memory(cache, now).remember_key(Account("alice@example.com"))
    stored = " ".join(" ".join(row) for row in cache._db.execute("SELECT * FROM entries"))
    assert KEY not in stored
    assert fingerprint(SERVER, KEY) in stored
    assert fingerprint(SERVER, KEY) != fingerprint("https://other.test", KEY)
    assert _memory(cache, now, "another-key").identity() is None


def test_a_forgotten_key_is_checked_again() -> None:
    cache, now = Cache(None), [1_000.0]
    memory = _memory(cache, now)
    memory.remember_key(Account("alice@example.com"))
    memory.forget_key()
    assert not _memory(cache, now).key_checked()


def test_without_a_key_nothing_is_remembered_about_one() -> None:
    cache, now = Cache(None), [1_000.0]
    memory = _memory(cache, now, key=None)
    memory.remember_key(Account("alice@example.com"))
    assert memory.identity() is None and not memory.key_checked()
    assert KEY not in repr(memory)
