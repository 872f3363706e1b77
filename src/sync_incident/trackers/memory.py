"""What we learned about a tracker server and our credentials there, remembered for a day.

Every request costs about a second on a CGI Bugzilla, BMO counts them per IP and GitHub per
token, so a new process must not re-learn what the last one found out:

- the server's version (Bugzilla: where it reads the API key) and whether it has a whoami
  route, per server URL;
- that a key or token was checked and whose it is, per server and key *fingerprint* (a hash of
  both; the key itself is never stored);
- that an account may not change the mirrored fields (Bugzilla: no ``editbugs``, code 115;
  GitHub: no triage/push access, 403), per server, place and account, so it posts its comment
  without a write that is bound to fail.

It lives in the cache file (namespace ``tracker-memory``), which is only a cache: delete it and
the next command asks again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from sync_incident.core.comments import Account
from sync_incident.trackers.cache import Cache

DAY = 24 * 3600.0
_NS = "tracker-memory"


def fingerprint(server: str, key: str) -> str:
    """A short hash of server and key: enough to tell keys apart, useless to an attacker."""
    return hashlib.sha256(f"{server}\n{key}".encode()).hexdigest()[:24]


class ServerMemory:
    """Facts about one server (and one key on it) with a time to live of a day."""

    def __init__(
        self,
        cache: Cache,
        server: str,
        key: str | None,
        *,
        clock: Callable[[], float] = time.time,
        ttl: float = DAY,
    ) -> None:
        self._cache = cache
        self._server = server
        self._key_id = fingerprint(server, key) if key else None
        self._clock = clock
        self._ttl = ttl

    def __repr__(self) -> str:  # the fingerprint is harmless, but there is no need to show it
        return f"ServerMemory(server={self._server!r})"

    # ------------------------------------------------------------------ storage

    def _get(self, entry: str) -> dict[str, Any] | None:
        raw = self._cache.get(_NS, entry)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("at"), int | float):
            return None
        if data.get("forgotten"):
            return None
        if self._clock() - float(data["at"]) > self._ttl:
            return None
        return data

    def _put(self, entry: str, **values: Any) -> None:
        self._cache.put(_NS, entry, json.dumps({**values, "at": self._clock()}))

    def _forget(self, entry: str) -> None:
        self._put(entry, forgotten=True)

    # ------------------------------------------------------------------ the server

    def version(self) -> str | None:
        data = self._get(f"version {self._server}")
        value = data.get("version") if data else None
        return value if isinstance(value, str) else None

    def remember_version(self, version: str) -> None:
        self._put(f"version {self._server}", version=version)

    def lacks_whoami(self) -> bool:
        return self._get(f"no-whoami {self._server}") is not None

    def remember_lacks_whoami(self) -> None:
        self._put(f"no-whoami {self._server}")

    # ------------------------------------------------------------------ our key

    def identity(self) -> Account | None:
        """Whose the key is, when it was checked within the last day."""
        if self._key_id is None:
            return None
        data = self._get(f"key {self._key_id}")
        if not data or not isinstance(data.get("login"), str):
            return None
        return Account(data["login"], data.get("uid"), str(data.get("name") or ""))

    def key_checked(self) -> bool:
        return self._key_id is not None and self._get(f"key {self._key_id}") is not None

    def remember_key(self, account: Account | None) -> None:
        """The key works (and belongs to ``account`` when the server could name it)."""
        if self._key_id is None:
            return
        if account is None:
            self._put(f"key {self._key_id}")
            return
        self._put(f"key {self._key_id}", login=account.login, uid=account.uid, name=account.name)

    def forget_key(self) -> None:
        """The server refused the key: check it again next time."""
        if self._key_id is not None:
            self._forget(f"key {self._key_id}")

    # ------------------------------------------------------------------ our account

    def _account(self, login: str | None, where: str) -> str:
        return f"no-write {self._server} {where} {login or self._key_id or 'anonymous'}"

    def may_not_write(self, login: str | None, where: str = "") -> bool:
        """The account may not change the mirrored fields (of others' bugs, in ``where``)."""
        return self._get(self._account(login, where)) is not None

    def remember_may_not_write(self, login: str | None, where: str = "") -> None:
        self._put(self._account(login, where))

    def forget_may_not_write(self, login: str | None, where: str = "") -> None:
        self._forget(self._account(login, where))
