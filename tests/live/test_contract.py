"""The tracker contract suite against a real Bugzilla 5.2: admin (editbugs) and qa (plain)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.base import NewIncident
from sync_incident.trackers.bugzilla.tracker import BugzillaTracker, build_bugzilla
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.http import REQUEST_LOG_ENV
from tests.live.server import COMPONENT, KEYS, PRODUCT, URL, live, login, new_bug, transport
from tests.trackers.contract import ContractEnv, TrackerContract, run

pytestmark = live


class TestLiveBugzillaContract(TrackerContract):
    @pytest.fixture
    def env(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
    ) -> Iterator[ContractEnv]:
        log = tmp_path / "requests.log"
        log.write_text("")
        monkeypatch.setenv(REQUEST_LOG_ENV, str(log))
        caches: list[Cache] = []
        trackers: list[BugzillaTracker] = []

        def tracker(person: str = "admin", cache: Cache | None = None) -> BugzillaTracker:
            if cache is None:
                cache = Cache(None)
                caches.append(cache)
            built = build_bugzilla(
                URL, KEYS[person], cache=cache, login=login(person), transport=transport()
            )
            trackers.append(built)
            return built

        shared = Cache(None)
        caches.append(shared)
        bug = new_bug(f"contract: {request.node.name}")

        def spoil(ref: IncidentRef) -> None:
            entry = shared.load(f"{URL}#{ref.number}")
            entry.comments.popitem()
            shared.save(f"{URL}#{ref.number}", entry)

        yield ContractEnv(
            tracker=tracker("admin", shared),
            other=tracker("qa"),
            ref=IncidentRef("bugzilla", bug),
            missing_ref=IncidentRef("bugzilla", 99_999_999),
            me=login("admin"),
            other_login=login("qa"),
            fresh=lambda: tracker("admin"),
            new_incident=NewIncident(
                title="contract: create files an incident",
                body="Releng opens an incident for Firefox 97.0. [marker 01LIVENEWINCIDENT]",
                marker="01LIVENEWINCIDENT",
                location=f"{PRODUCT} :: {COMPONENT}",
            ),
            requests=lambda: len(log.read_text().splitlines()),
            again=lambda: tracker("admin", shared),
            spoil=spoil,
        )
        for built in trackers:
            run(built.aclose())
        for cache in caches:
            cache.close()


def test_a_real_bugzilla_lists_the_incidents_resolved_since_a_moment() -> None:
    from datetime import datetime, timedelta

    from tests.live.server import raw

    bug = new_bug("resolved lately", whiteboard="[incident:resolved]")
    changed = raw("GET", f"/bug/{bug}", params={"include_fields": "last_change_time"})
    at = datetime.fromisoformat(changed["bugs"][0]["last_change_time"].replace("Z", "+00:00"))
    tracker = build_bugzilla(
        URL, KEYS["admin"], cache=Cache(None), login=login("admin"), transport=transport()
    )
    try:
        before = run(tracker.resolved_incidents(at - timedelta(minutes=1)))
        after = run(tracker.resolved_incidents(at + timedelta(seconds=1)))
    finally:
        run(tracker.aclose())
    assert IncidentRef("bugzilla", bug) in before
    assert IncidentRef("bugzilla", bug) not in after
