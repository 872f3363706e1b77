"""A running ``serve`` over the fake GitHub: the server on a real socket in its own thread.

The server's event loop runs in a background thread (the browser driver blocks its caller),
so everything that touches the fake tracker runs on that loop through :meth:`World.call`:
the fake is never used from two threads at once. Polling is effectively off (every 10 hours):
whatever the page shows after the first read came through a webhook's poke.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sync_incident.config import (
    BugzillaSettings,
    DaemonSettings,
    GitHubSettings,
    ReminderSettings,
    ServeSettings,
    Settings,
)
from sync_incident.core import codec
from sync_incident.core.comments import Account
from sync_incident.core.events import (
    Event,
    HandoffOffered,
    HoldRaised,
    Opened,
    SignoffGiven,
)
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.serve.runner import Server, bind
from sync_incident.service import Session
from sync_incident.testing.bugzilla import FakeBugzilla
from sync_incident.testing.github import FakeClock, FakeGitHub
from sync_incident.trackers.github.mirror import LABEL_ACTIVE
from sync_incident.trackers.github.webhooks import signature as github_signature

T = TypeVar("T")
GH = "https://api.github.com"
BZ = "https://bugzilla.example.org"
REPO = "acme/releases"
REL = "Firefox 96.0.1"
FOCUS = "Focus 97.0"
SECRET = "whsec-test-4f1b2c3d4e5f60718293"
BZ_SECRET = "bmo-shared-secret-0123456789"
PEOPLE = ("dana", "quinn", "robin", "alice", "mallory", "incident-bot")
GITHUB_IDS = {name: 601 + n for n, name in enumerate(PEOPLE)}  # pinned in the policy


def account(login: str) -> Account:
    """The fake GitHub's account ``login``, with the numeric id the policy pins."""
    return Account(login, uid=str(GITHUB_IDS[login]))


def token(name: str) -> str:
    return f"ghp_{name.replace('-', '')}".ljust(40, "0")


def policy() -> Policy:
    people = {
        "dana": Person(
            github="dana",
            github_id=GITHUB_IDS["dana"],
            bugzilla=["dana@example.com"],
            timezone="Europe/Berlin",
            working_hours="09:00-17:00",
        ),
        "quinn": Person(github="quinn", github_id=GITHUB_IDS["quinn"], timezone="America/Toronto"),
        "robin": Person(github="robin", github_id=GITHUB_IDS["robin"]),
        "alice": Person(
            github="alice",
            github_id=GITHUB_IDS["alice"],
            timezone="Asia/Tokyo",
            working_hours="09:00-18:00",
        ),
        "bot": Person(github="incident-bot", github_id=GITHUB_IDS["incident-bot"]),
    }
    return Policy(
        people=people,
        teams={"QA": Team(members=["quinn"]), "Releng": Team(members=["robin"])},
        products={
            "Firefox": ProductPolicy(required_signoffs=["QA", "Releng"]),
            "Focus": ProductPolicy(required_signoffs=["QA"]),
        },
        witnesses=["bot"],
    )


def chained(*events: Event) -> list[Event]:
    out: list[Event] = []
    for event in events:
        if out:
            event = event.model_copy(update={"follows": out[-1].id})
        out.append(event)
    return out


OPEN_1 = Opened(title="Startup crash spike on Windows", releases=[REL], ic="dana")
QA_1 = SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")
RELENG_1 = SignoffGiven(team="Releng", release=REL, statement=f"Releng signs off on {REL}.")
OPEN_2 = Opened(title="Focus crash on Android 14", releases=[FOCUS], ic="alice")
HOLD_2 = HoldRaised(release=FOCUS, reason="a crash in the new-tab page on Android 14")
HANDOFF_2 = HandoffOffered(
    to="dana", done="The crash is reproduced.", todo="Land the fix and verify it on nightly."
)


OPEN_BUG = Opened(title="Thunderbird 128.1 update fails", releases=["Thunderbird 128.1"], ic="dana")


@dataclass(frozen=True)
class Scene:
    """A story told at moments of its own (``tell`` sets the fakes' clocks), and the moment
    the server reads it at; ``titles`` and ``labels`` (one per issue) of its issues."""

    tell: Callable[[World], None]
    start: datetime
    now: datetime
    titles: dict[int, str] = field(default_factory=dict)
    labels: dict[int, str] = field(default_factory=dict)
    policy: Policy | None = None  # the standard story's when None


@dataclass
class World:
    github: FakeGitHub
    bugzilla: FakeBugzilla
    bug: int
    server: Server
    url: str
    tmp: Path
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    last: dict[int, str] = field(default_factory=dict)  # issue -> last event id posted
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    # --- the fake tracker, on the server's loop ------------------------------------------------

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's event loop thread and return its result."""
        if not self.thread.is_alive():  # not started yet: nothing else touches the fake
            return fn()
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:  # handed back to the caller
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(timeout=10)

    def new_issue(self, title: str) -> int:
        return self.call(
            lambda: self.github.add_issue(REPO, title, "Opened by hand.", by="dana").number
        )

    def post(self, number: int, author: str, event: Event) -> int:
        """Post ``event`` as ``author`` (following the last event posted there): the comment id."""
        if number in self.last and event.follows is None:
            event = event.model_copy(update={"follows": self.last[number]})
        self.last[number] = event.id

        def add() -> int:
            self.github.clock.now += 1  # type: ignore[attr-defined]
            body = codec.render(event, "github")
            return self.github.add_comment(REPO, number, body, by=author).id

        return self.call(add)

    def payload(self, event: str, action: str, number: int, **kwargs: Any) -> dict[str, Any]:
        return self.call(lambda: self.github.webhook(event, action, REPO, number, **kwargs))  # type: ignore[arg-type]

    # --- HTTP -----------------------------------------------------------------------------------

    def deliver(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        secret: str | None = SECRET,
        delivery: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a GitHub webhook delivery, signed with ``secret`` (None: unsigned)."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery or f"d-{time.monotonic_ns()}",
            "User-Agent": "GitHub-Hookshot/test",
        }
        if secret is not None:
            sent["X-Hub-Signature-256"] = github_signature(secret, body)
        sent.update(headers or {})
        return self.client.post(self.url + "/webhooks/github", content=body, headers=sent)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(self.url + path, **kwargs)

    def wait_reads(self, key: str, reads: int, timeout: float = 5.0) -> None:
        """Until the daemon has read incident ``key`` ``reads`` times."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            watch = next((w for w in self.server.daemon.watches.values() if w.ref.key == key), None)
            if watch is not None and watch.reads >= reads:
                return
            time.sleep(0.01)
        raise AssertionError(f"{key} was not read {reads} times within {timeout} s")

    def reads(self, key: str) -> int:
        watch = next(w for w in self.server.daemon.watches.values() if w.ref.key == key)
        return watch.reads

    def close(self) -> None:
        self.client.close()
        self.loop.call_soon_threadsafe(self.server.drain)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the server did not drain"


async def _no_sleep(seconds: float) -> None:
    return None


def start(
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    issues: int = 2,
    serve: ServeSettings | None = None,
    token_env: bool = False,
    discover: bool = False,
    scene: Scene | None = None,
) -> World:
    """A fake GitHub with the standard story on issues #1 and #2, and a server watching them.

    ``discover``: no ``incidents`` list; the issues are labelled ``incident:active`` and the
    daemon finds them as it finds incidents in production. ``scene``: another story, told at
    its own moments, read by a server whose clock stands still at ``scene.now`` (with its
    policy; no reminder, no checkpoint of the daemon's joins its record).
    """
    fake = FakeGitHub(GH, clock=FakeClock())
    for name in PEOPLE:
        fake.add_user(name, token(name), uid=GITHUB_IDS[name])
    fake.add_repo(REPO, admins=("dana",))
    bz = FakeBugzilla("5.2")
    bz.add_user("dana@example.com", "dana-key-0000000000000000000000000000")
    bug = bz.add_bug(OPEN_BUG.title, creator="dana@example.com", description=codec.render(OPEN_BUG))
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "dana-key-0000000000000000000000000000")
    monkeypatch.setenv("GITHUB_TOKEN", token("incident-bot"))
    monkeypatch.setenv("SYNC_INCIDENT_GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_WEBHOOK_SECRET", BZ_SECRET)
    if token_env:
        monkeypatch.setenv("SYNC_INCIDENT_SERVE_TOKEN", "page-token-0123456789")
    settings = Settings(
        github=GitHubSettings(api_url=GH, repos=[REPO]),
        bugzilla=BugzillaSettings(url=BZ, login="dana@example.com"),
        incidents=[]
        if discover
        else [f"{REPO}#{n}" for n in range(1, issues + 1)] + [f"bug {bug}"],
        cache=tmp / "cache.sqlite3",
        policy=scene.policy if scene is not None and scene.policy is not None else policy(),
        serve=serve or ServeSettings(),
        # a scene's record is its story's alone: no checkpoint, no reminder of the daemon's
        daemon=DaemonSettings(checkpoint_minutes=0 if scene else 60),
        reminders=ReminderSettings(no_update_hours=1e6, handoff_pending_minutes=10**6)
        if scene
        else ReminderSettings(),
    )
    transports = {
        "github": httpx.MockTransport(fake.handler),
        "bugzilla": httpx.MockTransport(bz.handler),
    }

    def factory() -> Session:
        return Session(settings, transports=dict(transports), sleep=_no_sleep)

    options: dict[str, Any] = {"poll_minutes": {"github": 600.0, "bugzilla": 600.0}}
    if scene is not None:
        moment = scene.now
        options["clock"] = lambda: moment
        fake.clock.now = scene.start.timestamp()  # type: ignore[attr-defined]
    server = Server(settings, factory, **options)
    sock = bind("127.0.0.1", 0)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    loop = asyncio.new_event_loop()

    def run() -> None:
        try:
            loop.run_until_complete(server.run(sock))
        finally:
            sock.close()
            loop.close()

    thread = threading.Thread(target=run, name="serve", daemon=True)
    world = World(fake, bz, bug, server, url, tmp, loop, thread)
    titles = scene.titles if scene is not None else {1: OPEN_1.title, 2: OPEN_2.title}
    for number in range(1, issues + 1):
        title = titles.get(number, f"Incident {number}")
        labels = (LABEL_ACTIVE,) if discover else ()
        if scene is not None and number in scene.labels:
            labels = (scene.labels[number],)
        fake.add_issue(REPO, title, "Opened by hand.", by="dana", labels=labels)
    (scene.tell if scene is not None else story)(world)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if world.get("/readyz").status_code != 404 and server.daemon.cycles >= 1:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    return world


def story(world: World) -> None:
    """#1: Firefox 96.0.1 with both sign-offs (READY); #2: Focus 97.0 held, a handoff pending."""
    first: tuple[Event, ...] = (OPEN_1, QA_1, RELENG_1)
    second: tuple[Event, ...] = (OPEN_2, HOLD_2, HANDOFF_2)
    for author, event in zip(("dana", "quinn", "robin"), first, strict=True):
        world.post(1, author, event)
    for author, event in zip(("alice", "alice", "alice"), second, strict=True):
        world.post(2, author, event)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    running = start(tmp_path, monkeypatch)
    try:
        yield running
    finally:
        running.close()
