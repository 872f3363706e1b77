"""Team membership and repository permission, the Membership capability."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.application.act import post_events
from sync_incident.config import Settings
from sync_incident.core.errors import AccessDenied
from sync_incident.core.events import Opened, SignoffGiven, SignoffRevoked
from sync_incident.core.policy import Person, Policy, Team
from sync_incident.service import Session
from sync_incident.trackers.github.members import KEPT_SECONDS
from tests.trackers.contract import run
from tests.trackers.github.world import API, ME, REPO, World

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


def test_a_kept_membership_answer_expires_and_a_fresh_question_never_uses_one(
    world: World,
) -> None:
    """A long-running daemon or serve must not count someone removed from a team for ever."""
    world.fake.teams[("acme", "relman")] = {"alice": "active"}
    world.fake.repos[REPO].permissions["alice"] = "write"
    tracker = world.tracker()
    assert run(tracker.team_membership("acme", "relman", "alice")) is True
    assert run(tracker.repo_permission(REPO, "alice")) == "write"
    del world.fake.teams[("acme", "relman")]["alice"]
    world.fake.repos[REPO].permissions["alice"] = "read"
    count = tracker.requests
    assert run(tracker.team_membership("acme", "relman", "alice")) is True  # kept
    assert run(tracker.repo_permission(REPO, "alice")) == "write"
    assert tracker.requests == count
    assert run(tracker.team_membership("acme", "relman", "alice", fresh=True)) is False
    assert run(tracker.repo_permission(REPO, "alice", fresh=True)) == "read"
    assert tracker.requests == count + 2
    world.fake.teams[("acme", "relman")]["alice"] = "active"
    world.fake.repos[REPO].permissions["alice"] = "admin"
    world.clock.now += KEPT_SECONDS
    assert run(tracker.team_membership("acme", "relman", "alice")) is True  # asked again
    assert run(tracker.repo_permission(REPO, "alice")) == "admin"
    assert tracker.requests == count + 4


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


def test_anyone_who_may_hold_may_revoke_and_the_timeline_says_who_is_not_in_the_team(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Membership is asked for every actor whose team matters, revokers too (issue 11); a
    revocation counts from anyone who may hold the release (issue 24: blocking is open)."""
    world.fake.add_user("quinn", "ghp_quinn0000000000000000000000000000000")
    world.fake.add_user("mallory", "ghp_mallory00000000000000000000000000000")
    world.fake.teams[("acme", "qa")] = {"quinn": "active", "carol": "active", "mallory": "pending"}
    policy = Policy(
        people={
            "bot": Person(github=ME, github_id=world.fake.users[ME].id),
            "quinn": Person(github="quinn", github_id=world.fake.users["quinn"].id),
            "carol": Person(github="carol", github_id=world.fake.users["carol"].id),
            "mallory": Person(github="mallory", github_id=world.fake.users["mallory"].id),
        },
        teams={"QA": Team(github_teams=["acme/qa"])},
    )
    release = "Firefox 96.0.1"

    async def act(login: str, events: list[Any]) -> Any:
        monkeypatch.setenv("GITHUB_TOKEN", world.fake.users[login].token or "")
        settings = Settings(
            github={"api_url": API}, cache=tmp_path / f"{login}.sqlite3", policy=policy
        )
        transports = {"github": httpx.MockTransport(world.fake.handler)}
        async with Session(settings, transports=transports, sleep=world.clock.sleep) as s:
            await post_events(s, world.ref, events)
            return (await s.read(world.ref, fresh=True)).state

    run(act(ME, [Opened(title="Crash", ic="bot", releases=[release])]))
    statement = "QA signs off on Firefox 96.0.1."
    run(act("quinn", [SignoffGiven(team="QA", release=release, statement=statement)]))
    reason = "A new crash signature appeared."
    state = run(act("mallory", [SignoffRevoked(team="QA", release=release, reason=reason)]))
    assert state.signoffs == [] and state.timeline[-1].summary.endswith("(mallory is not in QA)")
    run(act("quinn", [SignoffGiven(team="QA", release=release, statement=statement)]))
    state = run(act("carol", [SignoffRevoked(team="QA", release=release, reason=reason)]))
    assert state.signoffs == [] and state.timeline[-1].accepted
    assert [s.revoked_by for s in state.revoked_signoffs] == ["mallory", "carol"]
    assert not state.timeline[-1].summary.endswith(")")


def test_the_gate_in_a_long_running_session_asks_membership_again(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """serve's /api/gate reads fresh in the daemon's session: removal from a team counts at once."""
    from sync_incident.core.readiness import readiness

    world.fake.add_user("quinn", "ghp_quinn0000000000000000000000000000000")
    world.fake.teams[("acme", "qa")] = {"quinn": "active"}
    policy = Policy(
        people={
            "bot": Person(github=ME, github_id=world.fake.users[ME].id),
            "quinn": Person(github="quinn", github_id=world.fake.users["quinn"].id),
        },
        teams={"QA": Team(github_teams=["acme/qa"])},
    )
    release = "Firefox 96.0.1"
    transports = {"github": httpx.MockTransport(world.fake.handler)}

    def settings(login: str) -> Settings:
        monkeypatch.setenv("GITHUB_TOKEN", world.fake.users[login].token or "")
        return Settings(github={"api_url": API}, cache=tmp_path / f"{login}.db", policy=policy)

    async def nap(_: float) -> None:  # GitHub's spacing between writes, not waited here
        return None

    async def post(login: str, event: Any) -> None:
        async with Session(settings(login), transports=transports, sleep=nap) as s:
            await post_events(s, world.ref, [event])

    run(post(ME, Opened(title="Crash", ic="bot", releases=[release])))
    run(
        post(
            "quinn",
            SignoffGiven(team="QA", release=release, statement=f"QA signs off on {release}."),
        )
    )

    async def daemon_then_gate() -> tuple[bool, bool]:
        async with Session(settings(ME), transports=transports, sleep=nap) as s:
            before = await s.read(world.ref)  # the daemon's poll
            del world.fake.teams[("acme", "qa")]["quinn"]
            after = await s.read_within(world.ref, 60)  # the gate, a moment later
            verdicts = [
                readiness(r.state, release, required=["QA"], policy=policy, facts=r.facts)
                for r in (before, after)
            ]
            return verdicts[0].ready, verdicts[1].ready

    assert run(daemon_then_gate()) == (True, False)
