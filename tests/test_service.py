"""End to end through the library API (Session) on the fake Bugzilla and the fake GitHub.

The CLI is a thin layer over these calls; here the whole path runs — open, post with the
mirror, read back, fold, gate — against stateful fakes behind httpx.MockTransport.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident import service
from sync_incident.application.act import open_new, post_events
from sync_incident.application.intents import Open
from sync_incident.config import LocalSettings, Settings
from sync_incident.core import codec
from sync_incident.core.errors import RefusedError
from sync_incident.core.events import (
    Event,
    HandoffAccepted,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Opened,
    SignoffGiven,
    StatusUpdate,
    StepAdded,
)
from sync_incident.core.policy import Person, Policy, Team
from sync_incident.core.readiness import readiness
from sync_incident.core.refs import IncidentRef
from sync_incident.service import Session
from sync_incident.testing.bugzilla import FakeBugzilla
from sync_incident.testing.github import FakeClock, FakeGitHub
from sync_incident.trackers.base import NewIncident
from sync_incident.trackers.local import LocalTracker
from tests.trackers.contract import run

BZ = "https://bugzilla.example.org"
GH = "https://api.github.com"
RELEASE = "Firefox 96.0.1"


async def _no_sleep(seconds: float) -> None:
    return None


def _session(settings: Settings, fake: Any, kind: str) -> Session:
    return Session(
        settings,
        transports={kind: httpx.MockTransport(fake.handler)},
        sleep=_no_sleep,
    )


@pytest.fixture
def bugzilla(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBugzilla]:
    fake = FakeBugzilla("5.2")
    fake.add_user("alice@example.com", "alice-key-0000000000000000000000000000", insider=True)
    fake.add_user("bob@example.com", "bob-key-000000000000000000000000000000", editbugs=False)
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "alice-key-0000000000000000000000000000")
    yield fake


def _bz_settings(tmp_path: Path, login: str = "alice@example.com") -> Settings:
    return Settings(
        bugzilla={
            "url": BZ,
            "login": login,
            "product": "Release Engineering",
            "component": "General",
        },
        cache=tmp_path / "cache.sqlite3",
    )


def test_open_on_bugzilla_files_a_tagged_bug_whose_first_comment_is_the_opened_event(
    bugzilla: FakeBugzilla, tmp_path: Path
) -> None:
    async def go() -> tuple[IncidentRef, Any]:
        async with _session(_bz_settings(tmp_path), bugzilla, "bugzilla") as session:
            opened = Open(title="Startup crash", ic="alice@example.com", releases=(RELEASE,))
            ref = (await open_new(session, "bugzilla", opened)).where
            state = (await session.read(ref)).state
            return ref, state

    ref, state = run(go())
    bug = bugzilla.bugs[ref.number]
    assert state.opened and state.ic == "alice@example.com"
    assert bug.summary == "Startup crash"
    assert "[incident:active]" in bug.whiteboard
    assert "[ic:alice@example.com]" in bug.whiteboard  # set at creation, in the same request
    assert sum("sync-incident:1 opened" in c.text for c in bug.comments) == 1


def test_open_by_an_account_the_policy_does_not_know_files_nothing(
    bugzilla: FakeBugzilla, tmp_path: Path
) -> None:
    policy = Policy(
        people={"quinn": Person(bugzilla=["quinn@example.com"])},
        teams={"QA": Team(members=["quinn"])},
    )
    settings = _bz_settings(tmp_path).model_copy(update={"policy": policy})
    bugs_before = len(bugzilla.bugs)

    async def go() -> None:
        async with _session(settings, bugzilla, "bugzilla") as session:
            await open_new(
                session, "bugzilla", Open(title="Crash", ic="quinn", releases=(RELEASE,))
            )

    with pytest.raises(RefusedError, match="not a person in the policy"):
        run(go())
    assert len(bugzilla.bugs) == bugs_before


def test_a_hold_on_bugzilla_mirrors_the_whiteboard_and_blocks_the_gate(
    bugzilla: FakeBugzilla, tmp_path: Path
) -> None:
    bug = bugzilla.add_bug(creator="alice@example.com", whiteboard="[perf] keep me")
    ref = IncidentRef("bugzilla", bug)
    hold = HoldRaised(release=RELEASE, reason="a crash spike on startup")

    async def go() -> Any:
        async with _session(_bz_settings(tmp_path), bugzilla, "bugzilla") as session:
            await post_events(
                session, ref, [Opened(title="Crash", ic="alice@example.com", releases=[RELEASE])]
            )
            await post_events(session, ref, [hold])
            state = (await session.read(ref)).state
            return state

    state = run(go())
    whiteboard = bugzilla.bugs[bug].whiteboard
    assert "[perf] keep me" in whiteboard
    assert "[hold]" in whiteboard and "[incident:active]" in whiteboard
    verdict = readiness(state, RELEASE, required=["QA"])
    assert not verdict.ready
    assert any("alice@example.com holds Firefox 96.0.1" in r for r in verdict.reasons)


def test_on_bugzilla_a_third_person_cannot_release_a_hold_and_nothing_is_posted(
    bugzilla: FakeBugzilla, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = bugzilla.add_bug(creator="alice@example.com")
    ref = IncidentRef("bugzilla", bug)
    hold = HoldRaised(release=RELEASE, reason="a crash spike on startup")

    async def as_alice() -> None:
        async with _session(_bz_settings(tmp_path), bugzilla, "bugzilla") as session:
            await post_events(
                session, ref, [Opened(title="Crash", ic="alice@example.com", releases=[RELEASE])]
            )
            await post_events(session, ref, [hold])

    run(as_alice())
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "bob-key-000000000000000000000000000000")
    before = len(bugzilla.bugs[bug].comments)

    async def as_bob() -> None:
        settings = _bz_settings(tmp_path / "bob", login="bob@example.com")
        async with _session(settings, bugzilla, "bugzilla") as session:
            await post_events(
                session,
                ref,
                [
                    HoldReleased(
                        release=RELEASE, hold=hold.id, reason="The crash is fixed in the new build."
                    )
                ],
            )

    with pytest.raises(RefusedError, match=r"only alice@example\.com"):
        run(as_bob())
    assert len(bugzilla.bugs[bug].comments) == before


def test_on_bugzilla_an_event_by_someone_without_editbugs_is_posted_without_the_mirror(
    bugzilla: FakeBugzilla, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = bugzilla.add_bug(creator="alice@example.com", whiteboard="[perf]")
    ref = IncidentRef("bugzilla", bug)

    async def as_alice() -> None:
        async with _session(_bz_settings(tmp_path), bugzilla, "bugzilla") as session:
            await post_events(
                session, ref, [Opened(title="Crash", ic="alice@example.com", releases=[RELEASE])]
            )

    run(as_alice())
    whiteboard = bugzilla.bugs[bug].whiteboard
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "bob-key-000000000000000000000000000000")

    async def as_bob() -> Any:
        settings = _bz_settings(tmp_path / "bob", login="bob@example.com")
        async with _session(settings, bugzilla, "bugzilla") as session:
            return await post_events(
                session, ref, [HoldRaised(release=RELEASE, reason="a crash spike")]
            )

    outcome = run(as_bob())
    assert outcome.posted and "not updated" in outcome.mirror_error
    assert bugzilla.bugs[bug].whiteboard == whiteboard  # no [hold]: bob may not edit it
    assert sum("hold.raised" in c.text for c in bugzilla.bugs[bug].comments) == 1


# --- GitHub ------------------------------------------------------------------------------------


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    fake = FakeGitHub(GH, clock=FakeClock())
    fake.add_user("alice", "ghp_alice0000000000000000000000000000000")
    fake.add_user("quinn", "ghp_quinn0000000000000000000000000000000")
    fake.add_user("mallory", "ghp_mallory00000000000000000000000000000")
    fake.add_repo("acme/releases", admins=("alice",))
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_alice0000000000000000000000000000000")
    return fake


def _gh_settings(tmp_path: Path, **policy: Any) -> Settings:
    return Settings(
        github={"api_url": GH},
        cache=tmp_path / "cache.sqlite3",
        policy=Policy(**policy),
    )


def _as(monkeypatch: pytest.MonkeyPatch, fake: FakeGitHub, login: str) -> None:
    token = fake.users[login].token
    assert token is not None
    monkeypatch.setenv("GITHUB_TOKEN", token)


def test_open_on_github_files_a_labelled_issue_with_a_status_block(
    github: FakeGitHub, tmp_path: Path
) -> None:
    async def go() -> IncidentRef:
        async with _session(_gh_settings(tmp_path), github, "github") as session:
            return (
                await open_new(
                    session,
                    "github",
                    Open(title="Startup crash", ic="alice", releases=(RELEASE,)),
                    location="acme/releases",
                )
            ).where

    ref = run(go())
    issue = github.issue("acme/releases", ref.number)
    labels = {label.lower() for label in issue.labels}
    assert {"incident", "incident:active"} <= labels
    assert "<!-- sync-incident:1 opened" in (issue.body or "") + "".join(
        c.body for c in issue.comments.values()
    )


def test_github_handoff_moves_the_ic_and_the_assignee_only_when_accepted(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.repos["acme/releases"].permissions["quinn"] = "write"
    number = github.add_issue("acme/releases", "Crash", "Opened by hand.", by="alice").number
    ref = IncidentRef("github", number, repo="acme/releases")
    offer = HandoffOffered(to="quinn", done="Steps 1-3 are done.", todo="Step 4.")

    async def post(login: str, events: list[Any]) -> Any:
        _as(monkeypatch, github, login)
        async with _session(_gh_settings(tmp_path / login), github, "github") as session:
            await post_events(session, ref, events)
            state = (await session.read(ref)).state
            return state

    run(post("alice", [Opened(title="Crash", ic="alice", releases=[RELEASE])]))
    pending = run(post("alice", [offer]))
    assert pending.ic == "alice" and pending.pending_handoffs[0].to == "quinn"
    accepted = run(post("quinn", [HandoffAccepted(offer=offer.id)]))
    assert accepted.ic == "quinn"
    assert "quinn" in [a.lower() for a in github.issue("acme/releases", number).assignees]


def test_an_event_by_a_commenter_without_push_access_is_posted_and_the_mirror_is_reported(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    number = github.add_issue("acme/releases", "Crash", "Opened by hand.", by="alice").number
    ref = IncidentRef("github", number, repo="acme/releases")

    async def post(login: str, events: list[Any]) -> Any:
        _as(monkeypatch, github, login)
        async with _session(_gh_settings(tmp_path / login), github, "github") as session:
            return await post_events(session, ref, events)

    run(post("alice", [Opened(title="Crash", ic="alice", releases=[RELEASE])]))
    outcome = run(post("mallory", [HoldRaised(release=RELEASE, reason="a crash spike")]))
    assert outcome.posted and not outcome.duplicate
    assert "not updated" in outcome.mirror_error
    issue = github.issue("acme/releases", number)
    assert sum("hold.raised" in c.body for c in issue.comments.values()) == 1
    assert "hold" not in [label.lower() for label in issue.labels]


def test_github_signoff_counts_only_for_active_members_of_the_org_team(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.teams[("acme", "qa")] = {"quinn": "active", "mallory": "pending"}
    number = github.add_issue("acme/releases", "Crash", "Opened by hand.", by="alice").number
    ref = IncidentRef("github", number, repo="acme/releases")
    policy = {
        "people": {
            "alice": Person(github="alice", github_id=github.users["alice"].id),
            "quinn": Person(github="quinn", github_id=github.users["quinn"].id),
            "mallory": Person(github="mallory", github_id=github.users["mallory"].id),
        },
        "teams": {"QA": Team(github_teams=["acme/qa"])},
    }

    async def post(login: str, events: list[Any]) -> None:
        _as(monkeypatch, github, login)
        async with _session(_gh_settings(tmp_path / login, **policy), github, "github") as s:
            await post_events(s, ref, events)

    run(post("alice", [Opened(title="Crash", ic="alice", releases=[RELEASE])]))
    with pytest.raises(RefusedError, match="mallory is not a member of QA"):
        run(
            post(
                "mallory",
                [
                    SignoffGiven(
                        team="QA", release=RELEASE, statement="QA signs off on Firefox 96.0.1."
                    )
                ],
            )
        )
    run(
        post(
            "quinn",
            [SignoffGiven(team="QA", release=RELEASE, statement="QA signs off on Firefox 96.0.1.")],
        )
    )

    async def gate() -> Any:
        _as(monkeypatch, github, "alice")
        async with _session(_gh_settings(tmp_path / "gate", **policy), github, "github") as s:
            reading = await s.read(ref)
            return readiness(
                reading.state, RELEASE, required=["QA"], policy=s.policy, facts=reading.facts
            )

    verdict = run(gate())
    assert verdict.ready, verdict.reasons
    assert verdict.teams[0].by == "quinn"


def test_github_token_that_cannot_read_teams_fails_the_gate_closed(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.teams[("acme", "qa")] = {"quinn": "active"}
    github.add_user("actions", "ghs_actions000000000000000000000000000", actions_token=True)
    number = github.add_issue("acme/releases", "Crash", "Opened by hand.", by="alice").number
    ref = IncidentRef("github", number, repo="acme/releases")
    policy = {
        "people": {
            "alice": Person(github="alice", github_id=github.users["alice"].id),
            "quinn": Person(github="quinn", github_id=github.users["quinn"].id),
        },
        "teams": {"QA": Team(github_teams=["acme/qa"])},
    }
    github.add_comment(
        "acme/releases",
        number,
        _rendered(Opened(title="Crash", ic="alice", releases=[RELEASE])),
        by="alice",
    )
    statement = "QA signs off on Firefox 96.0.1."
    github.add_comment(
        "acme/releases",
        number,
        _rendered(SignoffGiven(team="QA", release=RELEASE, statement=statement)),
        by="quinn",
    )
    _as(monkeypatch, github, "actions")

    async def gate() -> Any:
        async with _session(_gh_settings(tmp_path, **policy), github, "github") as s:
            reading = await s.read(ref)
            return readiness(
                reading.state, RELEASE, required=["QA"], policy=s.policy, facts=reading.facts
            )

    verdict = run(gate())
    assert not verdict.ready
    assert any("membership of QA cannot be checked" in r for r in verdict.reasons)


def _rendered(event: Any) -> str:
    from sync_incident.core import codec

    return codec.render(event, "github")


# ---------------------------------------------------------------------- reading again


T0 = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)


class FoldSpy:
    """Counts the folds the session runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from sync_incident.core.fold import Folding as real

        self.calls = 0

        def spy(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(service, "Folding", spy)


def _local_settings(tmp_path: Path) -> Settings:
    return Settings(
        local=LocalSettings(db=tmp_path / "local.sqlite3", user="alice"),
        cache=tmp_path / "cache.sqlite3",
    )


async def _posted(settings: Settings, ref: IncidentRef | None, *events: Event) -> IncidentRef:
    """Each event as a comment by alice at T0; the first one files the incident (no ``ref``)."""
    db = settings.local.db
    assert db is not None
    async with LocalTracker(db, user="alice", clock=lambda: T0) as tracker:
        for event in events:
            body = codec.render(event)
            if ref is None:
                ref = await tracker.create(NewIncident(title="Crash", body=body, marker=event.id))
            else:
                await tracker.post(ref, body, marker=event.id)
    assert ref is not None
    return ref


def _post_local(settings: Settings, ref: IncidentRef | None, *events: Event) -> IncidentRef:
    return run(_posted(settings, ref, *events))


def _reads(
    settings: Settings, ref: IncidentRef, first: datetime, *later: datetime
) -> tuple[service.Reading, list[service.Reading], list[service.Reading]]:
    """A read at ``first``; then at each later time a read given it, and one from scratch."""

    async def go() -> tuple[service.Reading, list[service.Reading], list[service.Reading]]:
        async with Session(settings) as session:
            session.now = first
            before = await session.read(ref)
            given, scratch = [], []
            for moment in later:
                session.now = moment
                given.append(await session.read(ref, previous=before))
                scratch.append(await session.read(ref))
            return before, given, scratch

    return run(go())


def test_an_unchanged_record_read_again_is_not_folded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _local_settings(tmp_path)
    ref = _post_local(settings, None, Opened(title="Crash", ic="alice"))
    spy = FoldSpy(monkeypatch)

    async def go() -> tuple[service.Reading, service.Reading]:
        async with Session(settings) as session:
            session.now = T0 + timedelta(minutes=1)
            first = await session.read(ref)
            session.now += timedelta(minutes=5)
            return first, await session.read(ref, previous=first)

    first, again = run(go())
    assert spy.calls == 1
    assert again.state is first.state
    assert again.at == T0 + timedelta(minutes=6)


def test_a_record_with_a_new_comment_is_folded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _local_settings(tmp_path)
    ref = _post_local(settings, None, Opened(title="Crash", ic="alice"))
    spy = FoldSpy(monkeypatch)

    async def go() -> tuple[service.Reading, service.Reading]:
        async with Session(settings) as session:
            session.now = T0 + timedelta(minutes=1)
            first = await session.read(ref)
            await _posted(settings, ref, StatusUpdate(summary="QA verifies the fix."))
            return first, await session.read(ref, previous=first)

    first, again = run(go())
    assert spy.calls == 2
    assert (first.state.last_status, again.state.last_status) == (None, "QA verifies the fix.")


def test_a_fresh_read_always_folds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _local_settings(tmp_path)
    ref = _post_local(settings, None, Opened(title="Crash", ic="alice"))
    spy = FoldSpy(monkeypatch)

    async def go() -> None:
        async with Session(settings) as session:
            session.now = T0 + timedelta(minutes=1)
            first = await session.read(ref)
            await session.read(ref, fresh=True, previous=first)

    run(go())
    assert spy.calls == 2


@pytest.mark.parametrize("pending_handoff", [False, True])
def test_a_state_read_again_is_the_state_folded_from_scratch_whatever_the_clock_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pending_handoff: bool
) -> None:
    settings = _local_settings(tmp_path)
    events: list[Event] = [
        Opened(title="Crash", ic="alice"),
        StepAdded(step="build", title="Build 96.0.2", due=T0 + timedelta(minutes=30)),
        StatusUpdate(summary="QA verifies.", next_update_due=T0 + timedelta(minutes=60)),
    ]
    if pending_handoff:
        events.append(HandoffOffered(to="bob", done="Steps 1-3.", todo="Steps 4-5."))
    ref = _post_local(settings, None, *events)
    first = T0 + timedelta(minutes=10)
    # around the step's deadline (+30), the promised update (+60), and back in time
    offsets = [0, 5, 19, 20, 21, 49, 50, 51, 120, -5]
    spy = FoldSpy(monkeypatch)
    before, given, scratch = _reads(
        settings, ref, first, *(first + timedelta(minutes=m) for m in offsets)
    )
    assert [g.state for g in given] == [s.state for s in scratch]
    reused = [m for m, g in zip(offsets, given, strict=True) if g.state is before.state]
    assert reused == ([] if pending_handoff else [0, 5, 19, 20, -5])  # overdue: due < now
    assert spy.calls == 1 + 2 * len(offsets) - len(reused)


def test_a_github_record_read_again_is_not_parsed_again_but_membership_is_asked_again(
    github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github.teams[("acme", "qa")] = {"quinn": "active"}
    number = github.add_issue("acme/releases", "Crash", "Opened by hand.", by="alice").number
    ref = IncidentRef("github", number, repo="acme/releases")
    policy = {
        "people": {
            "alice": Person(github="alice", github_id=github.users["alice"].id),
            "quinn": Person(github="quinn", github_id=github.users["quinn"].id),
        },
        "teams": {"QA": Team(github_teams=["acme/qa"])},
    }

    async def post(login: str, event: Any) -> None:
        _as(monkeypatch, github, login)
        async with _session(_gh_settings(tmp_path / login, **policy), github, "github") as s:
            await post_events(s, ref, [event])

    run(post("alice", Opened(title="Crash", ic="alice", releases=[RELEASE])))
    statement = "QA signs off on Firefox 96.0.1."
    run(post("quinn", SignoffGiven(team="QA", release=RELEASE, statement=statement)))
    _as(monkeypatch, github, "alice")
    parsed: list[int] = []
    real_claims = service.Session._claims

    def claims(self: Session, tracker: Any, comments: Any) -> Any:
        parsed.append(len(comments))
        return real_claims(self, tracker, comments)

    monkeypatch.setattr(service.Session, "_claims", claims)
    asked: list[str] = []

    async def reads() -> tuple[service.Reading, service.Reading]:
        async with _session(_gh_settings(tmp_path / "daemon", **policy), github, "github") as s:
            first = await s.read(ref)
            tracker: Any = s.tracker("github")
            real_is_member = tracker.is_member

            async def is_member(
                ref: IncidentRef, team: Team, account: Any, *, fresh: bool = False
            ) -> bool:
                asked.append(account.login)
                return bool(await real_is_member(ref, team, account, fresh=fresh))

            tracker.is_member = is_member
            return first, await s.read(ref, previous=first)

    first, again = run(reads())
    assert parsed == [2]  # the first read only
    assert asked == ["quinn"]  # the second read asked again
    assert again.facts == first.facts and again.facts.members == {
        "QA": frozenset({str(github.users["quinn"].id)})
    }
    assert again.state is first.state
