"""Team membership and repository permission, the Membership capability."""

from __future__ import annotations

import pytest

from sync_incident.core.errors import (
    AccessDenied,
)
from tests.trackers.contract import run
from tests.trackers.github.world import (
    REPO,
    World,
)

# ---------------------------------------------------------------------- authorization


def test_team_membership_active_pending_missing_and_cached(world: World) -> None:
    world.fake.teams[("acme", "relman")] = {"alice": "active", "carol": "pending"}
    tracker = world.tracker()
    assert run(tracker.team_membership("acme", "relman", "alice")) is True
    assert run(tracker.team_membership("acme", "relman", "carol")) is False
    assert run(tracker.team_membership("acme", "relman", "mallory")) is False
    count = tracker.requests
    assert run(tracker.team_membership("acme", "relman", "alice")) is True
    assert tracker.requests == count


def test_team_membership_with_github_token_is_access_denied_clearly(world: World) -> None:
    world.fake.add_user(
        "github-actions[bot]", "ghs_actions000000000000000000000000000", actions_token=True
    )
    tracker = world.tracker("ghs_actions000000000000000000000000000")
    with pytest.raises(
        AccessDenied, match="cannot read the membership of team acme/relman"
    ) as info:
        run(tracker.team_membership("acme", "relman", "alice"))
    assert "GITHUB_TOKEN" in str(info.value)
    assert "read:org" in info.value.hint


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin", "admin"), ("maintain", "maintain"), ("write", "write"), ("triage", "triage")],
)
def test_repo_permission(world: World, role: str, expected: str) -> None:
    world.fake.repos[REPO].permissions["carol"] = role
    assert run(world.tracker().repo_permission(REPO, "carol")) == expected


def test_repo_permission_of_unknown_user_is_none(world: World) -> None:
    assert run(world.tracker().repo_permission(REPO, "nobody-here")) == "none"
