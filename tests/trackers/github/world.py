"""A fake GitHub with one incident issue, and trackers on it that share a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sync_incident.core.refs import IncidentRef
from sync_incident.testing.github import FakeClock, FakeGitHub, Logged
from sync_incident.trackers.base import Mirror
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.client import HEADERS
from sync_incident.trackers.github.tracker import GitHubTracker
from sync_incident.trackers.http import BearerAuth, make_client
from tests.trackers.contract import run

API = "https://api.github.com"
REPO = "acme/releases"
ME, ME_TOKEN = "incident-bot", "ghp_me0000000000000000000000000000000000"
OTHER, OTHER_TOKEN = "alice", "ghp_alice000000000000000000000000000000"
OPENAPI = Path(__file__).parents[2] / "fixtures" / "github" / "openapi-issues-subset.json"
CANARY = "ghp_CANARY7f3a9c2e41d8b05f6a7c9e2d1b3f4a5c6d7"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@dataclass
class World:
    """A fake GitHub with one incident issue, and trackers on it that share a fake clock."""

    fake: FakeGitHub
    clock: FakeClock
    ref: IncidentRef
    trackers: list[GitHubTracker] = field(default_factory=list)

    def tracker(
        self, token: str | None = ME_TOKEN, cache: Cache | None = None, **options: Any
    ) -> GitHubTracker:
        client = make_client(
            API,
            headers=HEADERS,
            auth=BearerAuth(token) if token else None,
            transport=httpx.MockTransport(self.fake.handler),
        )  # what build_github builds, on a tracker we tune below
        tracker = GitHubTracker(
            client,
            token=token,
            cache=cache or Cache(),
            sleep=self.clock.sleep,
            clock=self.clock,
            **options,
        )
        self.trackers.append(tracker)
        return tracker

    def close(self) -> None:
        for tracker in self.trackers:
            run(tracker.aclose())


def make_world(**fake_options: Any) -> World:
    clock = FakeClock()
    fake = FakeGitHub(API, clock=clock, **fake_options)
    fake.add_user(ME, ME_TOKEN)
    fake.add_user(OTHER, OTHER_TOKEN)
    fake.add_user("carol", "ghp_carol00000000000000000000000000000000")
    fake.add_repo(REPO, admins=(ME, OTHER))
    issue = fake.add_issue(REPO, "Firefox 96.0.1 chemspill", "Opened by hand.", by=ME)
    clock.now += 60
    return World(fake, clock, IncidentRef("github", issue.number, repo=REPO))


def as_alice(world: World, method: str, path: str, body: object = None) -> None:
    """Another user acting on GitHub directly (through the fake's REST endpoints)."""
    with httpx.Client(
        base_url=f"{API}/repos/{REPO}/issues",
        transport=httpx.MockTransport(world.fake.handler),
        headers={"Authorization": f"Bearer {OTHER_TOKEN}"},
    ) as client:
        response = client.request(method, path, json=body)
    assert response.is_success, response.text


def calls(entries: list[Logged]) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in entries]


def since(world: World, start: int) -> list[Logged]:
    return world.fake.log[start:]


def hold_mirror(block: str = "**Active** · IC alice · hold") -> Mirror:
    return Mirror(
        active=True,
        ic_name="alice",
        ic_account=OTHER,
        hold=True,
        status_line="Active · IC alice · hold",
        status_block=block,
    )


def comments_with(world: World, text: str) -> int:
    issue = world.fake.issue(REPO, world.ref.number)
    return sum(text in c.body for c in issue.comments.values())
