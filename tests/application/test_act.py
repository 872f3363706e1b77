"""Acting on an incident: one read, one whoami, one fold of the record, one render, one post."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident import service
from sync_incident.application import act as act_module
from sync_incident.application.act import act
from sync_incident.application.intents import RaiseHold, SignOff
from sync_incident.config import Settings
from sync_incident.core import codec
from sync_incident.core.errors import RefusedError
from sync_incident.core.events import Opened
from sync_incident.core.fold import Folding
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.service import Session
from sync_incident.testing.bugzilla import FakeBugzilla
from tests.trackers.contract import run

BZ = "https://bugzilla.example.org"
REL = "Firefox 96.0.1"
POLICY = Policy(
    people={
        "dana": Person(bugzilla=["dana@example.com"]),
        "quinn": Person(bugzilla=["quinn@example.com"]),
        "alice": Person(bugzilla=["alice@example.com"]),
    },
    teams={"QA": Team(members=["quinn"]), "Releng": Team(members=["dana"])},
    products={"Firefox": ProductPolicy(required_signoffs=["QA", "Releng"])},
)


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeBugzilla, int]]:
    fake = FakeBugzilla("5.2")
    for name in ("dana", "quinn", "alice"):
        fake.add_user(f"{name}@example.com", f"{name}-key".ljust(40, "0"))
    opened = Opened(title="Startup crash", releases=[REL], ic="dana")
    bug = fake.add_bug(creator="dana@example.com", description=codec.render(opened))
    yield fake, bug


def session(
    tmp_path: Path, fake: FakeBugzilla, who: str, monkeypatch: pytest.MonkeyPatch
) -> Session:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", f"{who}-key".ljust(40, "0"))
    settings = Settings(
        bugzilla={"url": BZ, "login": f"{who}@example.com"},
        cache=tmp_path / f"{who}.sqlite3",
        policy=POLICY,
    )
    return Session(
        settings, transports={"bugzilla": httpx.MockTransport(fake.handler)}, sleep=_no_sleep
    )


class Counts:
    """How many times a sign-off reads, asks who acts, folds and renders."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folds = self.renders = self.whoami = self.fetches = 0
        real_folding = Folding
        real_render = codec.Renderer.render

        def folding(*args: Any, **kwargs: Any) -> Folding:
            self.folds += 1
            return real_folding(*args, **kwargs)

        def render(renderer: codec.Renderer, *args: Any, **kwargs: Any) -> str:
            self.renders += 1
            return real_render(renderer, *args, **kwargs)

        monkeypatch.setattr(service, "Folding", folding)
        monkeypatch.setattr(codec.Renderer, "render", render)
        real_whoami = Session.whoami

        async def whoami(s: Session, kind: Any) -> Any:
            self.whoami += 1
            return await real_whoami(s, kind)

        monkeypatch.setattr(Session, "whoami", whoami)
        real_read = Session.read

        async def read(s: Session, *args: Any, **kwargs: Any) -> Any:
            self.fetches += 1
            return await real_read(s, *args, **kwargs)

        monkeypatch.setattr(Session, "read", read)


def test_a_sign_off_reads_once_asks_once_folds_once_renders_once_and_posts_once(
    tmp_path: Path, world: tuple[FakeBugzilla, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, bug = world
    counts = Counts(monkeypatch)
    ref = IncidentRef("bugzilla", bug)

    async def go() -> act_module.Outcome:
        async with session(tmp_path, fake, "quinn", monkeypatch) as s:
            return await act(s, ref, SignOff("QA", REL))

    before = len(fake.bugs[bug].comments)
    outcome = run(go())
    assert outcome.posted and not outcome.duplicate
    assert (counts.fetches, counts.whoami, counts.folds, counts.renders) == (1, 1, 1, 1)
    assert len(fake.bugs[bug].comments) == before + 1
    assert outcome.body.startswith("QA signs off on Firefox 96.0.1.")
    # the state after the post is the overview every view renders
    [verdict] = outcome.overview.verdicts
    assert verdict.reasons == ["Not ready: Firefox 96.0.1 has no sign-off from Releng."]


def test_a_dry_run_refuses_what_the_rules_would_reject_and_posts_nothing(
    tmp_path: Path, world: tuple[FakeBugzilla, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """alice is in no team: a real post is refused, and so is its dry run."""
    fake, bug = world
    ref = IncidentRef("bugzilla", bug)

    async def go(dry: bool) -> None:
        async with session(tmp_path, fake, "alice", monkeypatch) as s:
            await act(s, ref, SignOff("QA", REL), dry_run=dry)

    before = len(fake.bugs[bug].comments)
    for dry in (True, False):
        with pytest.raises(RefusedError, match="alice is not a member of QA"):
            run(go(dry))
    assert len(fake.bugs[bug].comments) == before


def test_the_mirror_comes_with_the_post_from_the_state_after_it(
    tmp_path: Path, world: tuple[FakeBugzilla, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, bug = world
    ref = IncidentRef("bugzilla", bug)

    async def go() -> None:
        async with session(tmp_path, fake, "dana", monkeypatch) as s:
            await act(s, ref, RaiseHold(REL, "a crash spike on startup in Firefox 96.0.1"))

    run(go())
    assert "[hold]" in fake.bugs[bug].whiteboard
    puts = [r for r in fake.log if r.method == "PUT"]
    assert len(puts) == 1  # the comment and the whiteboard in one request


# --- a chat relay posts for the person who spoke ---------------------------------------------

RELAYED = Policy(
    people={
        "dana": Person(),
        "alice": Person(matrix="@alice:example.org", timezone="Asia/Tokyo"),
        "syncbot": Person(),
    },
    teams={"QA": Team(members=["alice"])},
    products={"Firefox": ProductPolicy(required_signoffs=["QA"])},
    relays=["syncbot"],
)


def local_session(tmp_path: Path, who: str) -> Session:
    from sync_incident.config import LocalSettings

    settings = Settings(
        local=LocalSettings(db=tmp_path / "local.sqlite3"),
        cache=tmp_path / "cache.sqlite3",
        policy=RELAYED,
    )
    return Session(settings, as_user=who)


def opened_locally(tmp_path: Path) -> IncidentRef:
    from sync_incident.application.act import open_new
    from sync_incident.application.intents import Open

    async def go() -> IncidentRef:
        async with local_session(tmp_path, "dana") as s:
            filed = await open_new(s, "local", Open(title="Crash", releases=(REL,)))
            return filed.where

    return run(go())


def test_a_relay_posts_for_the_person_who_spoke_and_the_event_is_theirs(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sync_incident.core.events import Via

    ref = opened_locally(tmp_path)
    via = Via(chat="matrix", user="@alice:example.org", message="$evt1")
    said = ("matrix:$evt1", datetime(2026, 12, 8, 1, 0, tzinfo=UTC))

    async def go() -> act_module.Outcome:
        async with local_session(tmp_path, "syncbot") as s:
            return await act(s, ref, RaiseHold(REL, "a crash spike on startup"), via=via, key=said)

    first = run(go())
    [hold] = first.state.holds
    assert hold.by == "alice"  # the relay spoke for alice: it is alice's hold
    entry = first.state.timeline[-1]
    assert (entry.actor, entry.account, entry.via) == ("alice", "syncbot", "matrix")
    assert first.body.startswith("alice holds Firefox 96.0.1 because of a crash spike")
    again = run(go())  # the same chat message seen twice: posted once
    assert again.duplicate and again.events[0].id == first.events[0].id


def test_a_relay_cannot_speak_for_a_chat_identity_the_policy_does_not_map(
    tmp_path: Path,
) -> None:
    from sync_incident.core.events import Via

    ref = opened_locally(tmp_path)
    stranger = Via(chat="matrix", user="@mallory:evil.example", message="$evt2")

    async def go(who: str, via: Via) -> None:
        async with local_session(tmp_path, who) as s:
            await act(s, ref, RaiseHold(REL, "a crash spike on startup"), via=via)

    with pytest.raises(RefusedError, match="not a chat identity of a person in the policy"):
        run(go("syncbot", stranger))
    alice = Via(chat="matrix", user="@alice:example.org", message="$evt3")
    with pytest.raises(RefusedError, match="dana is not a relay account of the policy"):
        run(go("dana", alice))
