"""A fake Bugzilla (5.2 or BMO) with one bug, and trackers on it, for the Bugzilla tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import FakeBugzilla, Flavor, LoggedRequest
from sync_incident.trackers.base import Mirror
from sync_incident.trackers.bugzilla.tracker import BugzillaTracker, build_bugzilla
from sync_incident.trackers.cache import Cache
from tests.trackers.contract import run

BASE = "https://bugzilla.test"
ME, ME_KEY = "admin@example.com", "ExampleAdminKey00000000000000000000000001"
OTHER, OTHER_KEY = "qa@example.com", "ExampleQaKey00000000000000000000000000000002"
CANARY = "CANARY-KEY-7f3a9"


class World:
    """A fake server (swappable, to simulate a restart), its bug, and trackers on it."""

    def __init__(self, flavor: Flavor = "5.2", **fake_args: Any) -> None:
        self.fake = FakeBugzilla(flavor, **fake_args)
        self.base = BASE
        self.fake.add_user(ME, ME_KEY, real_name="Admin", insider=True, privileged=True)
        self.fake.add_user(OTHER, OTHER_KEY, real_name="QA", editbugs=False)
        self.bug = self.fake.add_bug(creator=ME)
        self.ref = IncidentRef("bugzilla", self.bug)
        self.sleeps: list[float] = []
        self.on_sleep: list[Any] = []
        self._trackers: list[BugzillaTracker] = []
        self._caches: list[Cache] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        for hook in self.on_sleep:
            hook()

    def tracker(
        self,
        key: str | None = ME_KEY,
        *,
        login: str | None = ME,
        cache: Cache | None = None,
        auth: str = "auto",
        mirror_assignee: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> BugzillaTracker:
        if cache is None:
            cache = Cache(None)
            self._caches.append(cache)
        transport = httpx.MockTransport(lambda request: self.fake.handler(request))
        tracker = build_bugzilla(
            self.base,
            key,
            cache=cache,
            auth=auth,
            transport=transport,
            sleep=self.sleep,
            mirror_assignee=mirror_assignee,
            login=login,
            clock=clock or time.time,
        )
        self._trackers.append(tracker)
        return tracker

    def close(self) -> None:
        for tracker in self._trackers:
            run(tracker.aclose())
        for cache in self._caches:
            cache.close()

    def cache(self) -> Cache:
        """A cache shared by several trackers: one person's machine across commands."""
        cache = Cache(None)
        self._caches.append(cache)
        return cache

    def command(
        self, key: str = ME_KEY, *, login: str | None = ME, cache: Cache
    ) -> BugzillaTracker:
        """A new process of the CLI: a new tracker on the same cache file."""
        return self.tracker(key, login=login, cache=cache)

    def sent(self, start: int = 0) -> list[str]:
        """``METHOD path`` of every request since ``start`` (an index into the log)."""
        return [f"{r.method} {r.path}" for r in self.fake.log[start:]]

    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.fake.log if r.method in ("POST", "PUT")]

    def stored_with(self, text: str) -> int:
        return sum(text in c.text for c in self.fake.bugs[self.bug].comments)


def mirror(**changes: Any) -> Mirror:
    base: dict[str, Any] = {
        "active": True,
        "ic_name": "alice",
        "ic_account": OTHER,
        "hold": False,
        "status_line": "Active · IC alice",
    }
    base.update(changes)
    return Mirror(**base)
