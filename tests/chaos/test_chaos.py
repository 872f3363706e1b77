"""Chaos suite: the guarantees under faults, over real loopback sockets (issue 8).

Every scenario runs the real httpx transport against the stateful fakes served by
:mod:`sync_incident.testing.server`, which drops answers after storing writes, resets connections,
stalls past the client's timeout, and answers 5xx, 429, HTML pages, truncated JSON and
Bugzilla's ``"error": true`` inside a 200. The trackers' sleeps are injected, so the only real
waiting is the short client timeout of a stall.

``SYNC_INCIDENT_LONG=1`` runs the long mode: 1,000 posts per tracker instead of 200 and
10,000 fuzz examples instead of 300.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_incident.cli import app as cli
from sync_incident.cli import options as cli_options
from sync_incident.core import codec
from sync_incident.core.errors import ProtocolError, RateLimited, TrackerError, Unavailable
from sync_incident.core.events import (
    DigestPosted,
    Event,
    HoldRaised,
    HoldReleased,
    Note,
    Opened,
    Reminder,
    Retracted,
    SignoffGiven,
    StatusUpdate,
)
from sync_incident.core.fold import fold
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import FakeBugzilla, Flavor
from sync_incident.testing.github import FakeClock, FakeGitHub
from sync_incident.testing.server import (
    AMBIGUOUS,
    FaultKind,
    LoopbackServer,
    ServerFault,
    TimeoutTransport,
)
from sync_incident.trackers.bugzilla.tracker import BugzillaTracker
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.client import API_VERSION
from sync_incident.trackers.github.tracker import GitHubTracker
from sync_incident.trackers.http import make_client

# faults, real sockets and client timeouts: about a minute, so outside the fast lane
pytestmark = pytest.mark.slow

LONG = os.environ.get("SYNC_INCIDENT_LONG") == "1"
POSTS = 1_000 if LONG else 200
FUZZ_EXAMPLES = 10_000 if LONG else 300
TIMEOUT = 0.25  # client timeout: a stall costs this much real time, nothing else waits

BZ_ME, BZ_KEY = "releng-bot@example.com", "ExampleChaosKey0000000000000000000000001"
GH_ME, GH_TOKEN = "incident-bot", "ghp_chaos00000000000000000000000000000001"
REPO = "acme/releases"
RELEASE = "Firefox 96.0.1"
BZ_CANARY = "CANARY-BZ-KEY-5c1e8d2a"
GH_CANARY = "ghp_CANARY0e4b7d9f2a6c3e8b1d5f7a9c2e4b6d8f0"

ALL_FAULTS: tuple[FaultKind, ...] = (
    "drop_after",
    "reset_before",
    "reset_after",
    "stall_before",
    "stall_after",
    "status_before",
    "status_after",
    "rate_429",
    "html",
    "truncated",
    "bugzilla_error",
)
# what a post may meet: the ambiguous failures, and a stored write whose answer is cut off
WRITE_FAULTS: tuple[FaultKind, ...] = (*AMBIGUOUS, "truncated")
READ_FAULTS: tuple[FaultKind, ...] = ("reset_before", "stall_before", "status_before", "truncated")


async def no_sleep(seconds: float) -> None:
    """The trackers' injected sleep: backoffs cost no time."""


# ---------------------------------------------------------------------- worlds on loopback


@dataclass
class BzWorld:
    server: LoopbackServer
    fake: FakeBugzilla
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def tracker(self, key: str = BZ_KEY, *, cache: Cache | None = None) -> BugzillaTracker:
        cache = cache or Cache(None)
        client = make_client(self.server.url, timeout=TIMEOUT)
        tracker = BugzillaTracker(client, api_key=key, cache=cache, sleep=no_sleep, login=BZ_ME)
        self.closers.append(cache.close)
        return tracker

    def texts(self, bug: int) -> list[str]:
        return [c.text for c in self.fake.bugs[bug].comments]


@dataclass
class GhWorld:
    server: LoopbackServer
    fake: FakeGitHub
    clock: FakeClock
    closers: list[Callable[[], Any]] = field(default_factory=list)

    def tracker(self, token: str = GH_TOKEN, *, cache: Cache | None = None) -> GitHubTracker:
        cache = cache or Cache(None)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {token}",
        }
        client = make_client(self.server.url, headers=headers, timeout=TIMEOUT)
        tracker = GitHubTracker(
            client, token=token, cache=cache, sleep=self.clock.sleep, clock=self.clock
        )
        self.closers.append(cache.close)
        return tracker

    def texts(self, number: int) -> list[str]:
        issue = self.fake.issue(REPO, number)
        return [issue.body or ""] + [c.body for c in issue.comments.values()]


def make_bz(flavor: Flavor = "5.2", *, key: str = BZ_KEY, seed: int = 8) -> BzWorld:
    server = LoopbackServer(seed=seed)
    fake = FakeBugzilla(flavor)
    fake.add_user(BZ_ME, key, insider=True)
    fake.add_user("qa@example.com", "ExampleQaKey00000000000000000000000000002")
    server.handler = fake.handler
    return BzWorld(server, fake)


def make_gh(*, token: str = GH_TOKEN, seed: int = 8) -> GhWorld:
    server = LoopbackServer(seed=seed)
    clock = FakeClock()
    fake = FakeGitHub(server.url, clock=clock, rate_limit=1_000_000)
    fake.add_user(GH_ME, token)
    fake.add_user("alice", "ghp_alice000000000000000000000000000000")
    fake.add_repo(REPO, admins=(GH_ME, "alice"))
    server.handler = fake.handler
    return GhWorld(server, fake, clock)


@pytest.fixture
def bz() -> Iterator[BzWorld]:
    world = make_bz()
    yield world
    world.server.close()
    for close in world.closers:
        close()


@pytest.fixture
def gh() -> Iterator[GhWorld]:
    world = make_gh()
    yield world
    world.server.close()
    for close in world.closers:
        close()


def occurrences(texts: list[str], ids: list[str]) -> Counter[str]:
    """How many stored comments carry each event id."""
    found: Counter[str] = Counter()
    for text in texts:
        for event_id in set(re.findall(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", text)):
            found[event_id] += 1
    return Counter({i: found.get(i, 0) for i in ids})


# ---------------------------------------------------------------------- 1. posts under faults


@dataclass
class Tally:
    posted: int = 0
    duplicates_found: int = 0  # the tracker found the event already stored
    caller_retries: int = 0  # post() raised and the caller ran it again (same event id)
    gave_up: list[str] = field(default_factory=list)


async def post_all(
    tracker: BugzillaTracker | GitHubTracker,
    ref: IncidentRef,
    events: list[Event],
    flavor: codec.Flavor,
) -> Tally:
    """Post every event; like a user re-running a failed command, retry the same event id."""
    tally = Tally()
    for event in events:
        body = codec.render([event], flavor)
        for _ in range(20):
            try:
                posted = await tracker.post(ref, body, marker=event.id)
            except (Unavailable, RateLimited, ProtocolError):
                tally.caller_retries += 1
                continue
            tally.posted += 1
            tally.duplicates_found += posted.duplicate
            break
        else:
            tally.gave_up.append(event.id)
    await tracker.aclose()
    return tally


def chaos_events(n: int) -> list[Event]:
    return [
        Note(text=f"Chaos note {i}: crash rate on {RELEASE} is {i % 9} per mille.")
        for i in range(n)
    ]


def arm_post_faults(server: LoopbackServer) -> None:
    server.faults.append(ServerFault(WRITE_FAULTS, method="POST", probability=0.2, stall=1.0))
    server.faults.append(ServerFault(READ_FAULTS, method="GET", probability=0.05, stall=1.0))


def test_bugzilla_posts_under_20_percent_ambiguous_failures_are_stored_exactly_once(
    bz: BzWorld,
) -> None:
    bug = bz.fake.add_bug(creator=BZ_ME)
    ref = IncidentRef("bugzilla", bug)
    events = chaos_events(POSTS)
    arm_post_faults(bz.server)
    tally = asyncio.run(post_all(bz.tracker(), ref, events, "plain"))
    bz.server.faults.clear()

    ids = [e.id for e in events]
    counts = occurrences(bz.texts(bug), ids)
    faults = bz.server.fault_counts()
    print(f"\nbugzilla: {POSTS} posts, faults {dict(sorted(faults.items()))}, {tally}")
    assert sum(faults.values()) >= POSTS * 0.15  # the faults really happened (seeded)
    assert tally.gave_up == []
    assert [i for i, c in counts.items() if c > 1] == []  # no duplicate
    assert [i for i, c in counts.items() if c == 0] == []  # nothing lost
    # read back through a fresh tracker and the fold: each event once, in order
    snap = asyncio.run(_fetch_and_close(bz.tracker(), ref))
    state = fold(snap.comments, kind="bugzilla")
    assert [t.event_id for t in state.timeline if t.type == "note"] == ids


def test_github_posts_under_20_percent_ambiguous_failures_are_stored_exactly_once(
    gh: GhWorld,
) -> None:
    issue = gh.fake.add_issue(REPO, "Chaos incident", "Opened by hand.", by=GH_ME)
    ref = IncidentRef("github", issue.number, repo=REPO)
    events = chaos_events(POSTS)
    arm_post_faults(gh.server)
    tally = asyncio.run(post_all(gh.tracker(), ref, events, "github"))
    gh.server.faults.clear()

    ids = [e.id for e in events]
    counts = occurrences(gh.texts(issue.number), ids)
    faults = gh.server.fault_counts()
    print(f"\ngithub: {POSTS} posts, faults {dict(sorted(faults.items()))}, {tally}")
    assert sum(faults.values()) >= POSTS * 0.15
    assert tally.gave_up == []
    assert [i for i, c in counts.items() if c > 1] == []
    assert [i for i, c in counts.items() if c == 0] == []
    snap = asyncio.run(_fetch_and_close(gh.tracker(), ref))
    state = fold(snap.comments, kind="github")
    assert [t.event_id for t in state.timeline if t.type == "note"] == ids


async def _fetch_and_close(tracker: BugzillaTracker | GitHubTracker, ref: IncidentRef) -> Any:
    try:
        return await tracker.fetch(ref)
    finally:
        await tracker.aclose()


@pytest.mark.parametrize("kind", ["drop_after", "reset_after", "status_after", "stall_after"])
def test_bugzilla_a_failed_post_run_again_with_a_warm_cache_posts_once(
    bz: BzWorld, kind: FaultKind
) -> None:
    """The write is stored but unanswered, then every re-read fails: post() raises. Running
    the same event again (the caller's retry) must find it, although the cache is warm."""
    bug = bz.fake.add_bug(creator=BZ_ME)
    ref = IncidentRef("bugzilla", bug)
    event = Note(text="Crash rate on Firefox 96.0.1 is at the 95.0 baseline.")
    body = codec.render([event], "plain")

    async def go() -> tuple[str, bool]:
        tracker = bz.tracker()
        await tracker.fetch(ref)  # warm cache
        await tracker.post(ref, "Warm-up: the key is checked before the first write.", marker="w")
        bz.server.faults.append(ServerFault(kind, method="POST", times=1, stall=1.0))
        bz.server.faults.append(ServerFault("status_before", method="GET", times=5))
        with pytest.raises(Unavailable):
            await tracker.post(ref, body, marker=event.id)
        posted = await tracker.post(ref, body, marker=event.id)
        await tracker.aclose()
        return posted.comment_id, posted.duplicate

    _, duplicate = asyncio.run(go())
    assert occurrences(bz.texts(bug), [event.id])[event.id] == 1
    assert duplicate


# ---------------------------------------------------------------------- 2. the gate under faults


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., tuple[int, str, str]]:
    """Run ``sync_incident.cli.main`` with short timeouts and no real backoff sleeping."""
    original = cli_options.session_of

    def session(ctx: Any, **kwargs: Any) -> Any:
        s = original(ctx, **kwargs)
        s.sleep = no_sleep
        s.transports = {"bugzilla": TimeoutTransport(TIMEOUT), "github": TimeoutTransport(TIMEOUT)}
        return s

    monkeypatch.setattr(cli_options, "session_of", session)
    cache = tmp_path / "cli-cache.sqlite3"

    def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            cli.main([*args, "--cache", str(cache)])
        out = capsys.readouterr()
        code = info.value.code
        return (code if isinstance(code, int) else 0 if code is None else 70), out.out, out.err

    return run_cli


def _incident_bodies(flavor: codec.Flavor, ready: bool) -> list[str]:
    bodies = [
        codec.render([Opened(title="Startup crash spike", ic="alice", releases=[RELEASE])], flavor),
        codec.render(
            [SignoffGiven(team="QA", release=RELEASE, statement=f"QA signs off on {RELEASE}.")],
            flavor,
        ),
    ]
    if not ready:
        bodies.append(
            codec.render([HoldRaised(release=RELEASE, reason="a crash spike on startup")], flavor)
        )
    return bodies


def _bz_incident(world: BzWorld, ready: bool) -> int:
    first, *rest = _incident_bodies("plain", ready)
    bug = world.fake.add_bug(creator=BZ_ME, description=first)
    for body in rest:
        world.fake.add_comment(bug, BZ_ME, body)
    return bug


def _gh_incident(world: GhWorld, ready: bool) -> int:
    bodies = _incident_bodies("github", ready)
    # the issue body only mirrors state: every event is a comment
    issue = world.fake.add_issue(REPO, "Startup crash spike", "Opened by hand.", by=GH_ME)
    for body in bodies:
        world.fake.add_comment(REPO, issue.number, body, by=GH_ME)
    return issue.number


GATE = ("--release", RELEASE, "--require", "QA")


@pytest.mark.parametrize("ready", [True, False], ids=["ready", "not-ready"])
@pytest.mark.parametrize("kind", ALL_FAULTS)
def test_bugzilla_gate_under_each_fault_is_never_a_wrong_ready(
    bz: BzWorld,
    cli_env: Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: FaultKind,
    ready: bool,
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", BZ_KEY)
    bug = _bz_incident(bz, ready)
    args = ("gate", "bug", str(bug), *GATE, "--bugzilla-url", bz.server.url)
    right = 0 if ready else 1

    once = ServerFault(kind, times=1, stall=1.0)
    bz.server.faults.append(once)
    code, _, err = cli_env(capsys, *args)
    assert once.fired == 1
    assert code == right, err  # one fault is retried away: the correct verdict

    bz.server.faults[:] = [ServerFault(kind, stall=1.0)]
    code, out, err = cli_env(capsys, *args)  # warm cache, tracker failing throughout
    assert code == 2, (out, err)
    assert "Ready" not in out

    bz.server.faults.clear()
    assert cli_env(capsys, *args)[0] == right


@pytest.mark.parametrize("ready", [True, False], ids=["ready", "not-ready"])
@pytest.mark.parametrize("kind", [k for k in ALL_FAULTS if k != "bugzilla_error"])
def test_github_gate_under_each_fault_is_never_a_wrong_ready(
    gh: GhWorld,
    cli_env: Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: FaultKind,
    ready: bool,
) -> None:
    monkeypatch.setenv("SYNC_INCIDENT_GITHUB_TOKEN", GH_TOKEN)
    number = _gh_incident(gh, ready)
    args = ("gate", "issue", f"{REPO}#{number}", *GATE, "--github-api-url", gh.server.url)
    right = 0 if ready else 1

    once = ServerFault(kind, times=1, stall=1.0)
    gh.server.faults.append(once)
    code, _, err = cli_env(capsys, *args)
    assert once.fired == 1
    assert code == right, err

    gh.server.faults[:] = [ServerFault(kind, stall=1.0)]
    code, out, err = cli_env(capsys, *args)
    assert code == 2, (out, err)

    gh.server.faults.clear()
    assert cli_env(capsys, *args)[0] == right


# ---------------------------------------------------------------------- 3. bad API key


@pytest.mark.parametrize("flavor", ["bmo", "5.2"])
def test_bugzilla_bad_key_is_refused_once_per_request_and_never_retried(
    cli_env: Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flavor: Flavor,
) -> None:
    world = make_bz(flavor)
    try:
        bug = world.fake.add_bug(creator=BZ_ME)
        monkeypatch.setenv(
            "SYNC_INCIDENT_BUGZILLA_API_KEY", "NotTheKey0000000000000000000000000000000"
        )
        monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__LOGIN", BZ_ME)
        code, _, err = cli_env(
            capsys,
            "note",
            "bug",
            str(bug),
            "--text",
            "Crash rate on Firefox 96.0.1 is at the 95.0 baseline.",
            "--bugzilla-url",
            world.server.url,
        )
        hits = [(h.method, h.path, h.status) for h in world.server.hits]
    finally:
        world.server.close()
    assert code == 77, err
    assert "authentication failed: " in err
    rejected = [h for h in hits if h[2] in (400, 401)]
    # a posting command's cold read sends the comments, the bug and the [hold] history side
    # by side (BMO by its name sends the comments alone first: tests/trackers/bugzilla):
    # each is refused once and never sent again, and nothing else is sent
    assert sorted(p for _, p, _ in rejected) == [
        f"/rest/bug/{bug}",
        f"/rest/bug/{bug}/comment",
        f"/rest/bug/{bug}/history",
    ]
    assert len(hits) == 3
    assert [h for h in hits if h[0] in ("POST", "PUT")] == []
    assert len({(m, p) for m, p, _ in hits}) == len(hits)  # no endpoint asked twice


# ---------------------------------------------------------------------- 4. canary secrets


CANARY_FAULTS: list[tuple[str, FaultKind | None]] = [
    ("auth", None),
    ("5xx", "status_before"),
    ("timeout", "stall_before"),
    ("reset", "reset_before"),
    ("truncated", "truncated"),
    ("html", "html"),
    ("429", "rate_429"),
]


def _assert_no_canary(secret: str, *texts: str) -> None:
    leaked = [t for t in texts if secret in t]
    assert leaked == [], leaked[:1]


@pytest.mark.parametrize(("path", "kind"), CANARY_FAULTS, ids=[c[0] for c in CANARY_FAULTS])
def test_the_bugzilla_key_never_leaks_through_any_error_path(
    cli_env: Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    kind: FaultKind | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    # 5.2 takes the key as a query parameter: it travels in every GET's URL
    world = make_bz("5.2", key=BZ_CANARY if path != "auth" else BZ_KEY)
    texts: list[str] = []
    try:
        bug = _bz_incident(world, ready=False)
        if kind is not None:  # the version probe passes, so the key travels into the faults
            world.server.faults.append(ServerFault(kind, path=r"^/rest/(?!version)", stall=1.0))
        monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", BZ_CANARY)
        monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__LOGIN", BZ_ME)
        url = ("--bugzilla-url", world.server.url)
        for args in (
            ("gate", "bug", str(bug), *GATE),
            ("show", "bug", str(bug), "--json"),
            ("note", "bug", str(bug), "--text", "Crash rate on Firefox 96.0.1 is flat."),
        ):
            code, out, err = cli_env(capsys, *args, *url)
            assert code != 0, (args, out, err)
            texts += [out, err]
        texts.append(_direct_error(world.tracker(BZ_CANARY), IncidentRef("bugzilla", bug)))
        queries = [h.query for h in world.server.hits]
    finally:
        world.server.close()
    assert any(BZ_CANARY in q for q in queries)  # it really travelled in URLs
    texts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    _assert_no_canary(BZ_CANARY, *texts)


@pytest.mark.parametrize(("path", "kind"), CANARY_FAULTS, ids=[c[0] for c in CANARY_FAULTS])
def test_the_github_token_never_leaks_through_any_error_path(
    cli_env: Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    kind: FaultKind | None,
) -> None:
    caplog.set_level(logging.DEBUG)
    world = make_gh(token=GH_CANARY if path != "auth" else GH_TOKEN)
    texts: list[str] = []
    try:
        number = _gh_incident(world, ready=False)
        if kind is not None:
            world.server.faults.append(ServerFault(kind, stall=1.0))
        monkeypatch.setenv("SYNC_INCIDENT_GITHUB_TOKEN", GH_CANARY)
        url = ("--github-api-url", world.server.url)
        ref = f"{REPO}#{number}"
        for args in (
            ("gate", "issue", ref, *GATE),
            ("show", "issue", ref, "--json"),
            ("note", "issue", ref, "--text", "Crash rate on Firefox 96.0.1 is flat."),
        ):
            code, out, err = cli_env(capsys, *args, *url)
            assert code != 0, (args, out, err)
            texts += [out, err]
        texts.append(
            _direct_error(world.tracker(GH_CANARY), IncidentRef("github", number, repo=REPO))
        )
    finally:
        world.server.close()
    texts += [caplog.text, *(r.getMessage() for r in caplog.records)]
    _assert_no_canary(GH_CANARY, *texts)


def _direct_error(tracker: BugzillaTracker | GitHubTracker, ref: IncidentRef) -> str:
    """Every text an exception raised by the tracker carries: str, repr, args, its chain."""

    async def go() -> BaseException:
        try:
            await tracker.post(ref, "Crash rate on Firefox 96.0.1 is flat.", marker="canary-1")
        except TrackerError as exc:
            return exc
        finally:
            await tracker.aclose()
        raise AssertionError("the post succeeded despite the fault")

    exc: BaseException | None = asyncio.run(go())
    parts = [repr(tracker)]
    while exc is not None:
        parts += [str(exc), repr(exc), *(str(a) for a in exc.args)]
        parts.append(str(getattr(exc, "hint", "")))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


# ---------------------------------------------------------------------- 5. fuzzing


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_words = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
_release = st.sampled_from([RELEASE, "Focus 97.0", "Thunderbird 91.5.1"])
_events: st.SearchStrategy[Event] = st.one_of(
    st.builds(Note, text=_words),
    st.builds(StatusUpdate, summary=_words),
    st.builds(HoldRaised, release=_release, reason=_words),
    st.builds(
        SignoffGiven,
        team=st.sampled_from(["QA", "Releng", "Relman"]),
        release=_release,
        statement=_words,
    ),
)


def _mutate(text: str, data: st.DataObject) -> str:
    ops = data.draw(
        st.lists(
            st.sampled_from(
                ["crlf", "trailing", "md", "html", "wrap", "insert", "delete", "quote", "swap"]
            ),
            max_size=3,
        )
    )
    for op in ops:
        if op == "crlf":
            text = text.replace("\n", "\r\n")
        elif op == "trailing":
            text = "\n".join(line + "  " for line in text.split("\n"))
        elif op == "md":
            text = re.sub(r"([_\[\]*])", r"\\\1", text)
        elif op == "html":
            text = text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        elif op == "wrap":
            width = data.draw(st.integers(20, 120))
            text = "\n".join(
                line[i : i + width]
                for line in text.split("\n")
                for i in range(0, max(len(line), 1), width)
            )
        elif op == "insert" and text:
            at = data.draw(st.integers(0, len(text)))
            text = text[:at] + data.draw(st.text(max_size=3)) + text[at:]
        elif op == "delete" and text:
            at = data.draw(st.integers(0, len(text) - 1))
            text = text[:at] + text[at + 1 :]
        elif op == "quote":
            text = "\n".join("> " + line for line in text.split("\n"))
        elif op == "swap" and len(text) > 1:
            at = data.draw(st.integers(0, len(text) - 2))
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    return text


@FUZZ
@given(event=_events, flavor=st.sampled_from(["plain", "github"]), data=st.data())
def test_codec_never_raises_and_never_reads_a_different_event(
    event: Event, flavor: codec.Flavor, data: st.DataObject
) -> None:
    original = codec.render([event], flavor)
    assert [e.id for e in codec.parse(original).events] == [event.id]
    mutated = _mutate(original, data)
    parsed = codec.parse(mutated)  # never raises
    for got in parsed.events:
        assert got == event  # a repair is accepted only when it is exactly the event


@FUZZ
@given(text=st.text(max_size=400))
def test_codec_reads_random_text_without_raising(text: str) -> None:
    parsed = codec.parse(text)
    assert isinstance(parsed.events, list)


FOLD_NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _dump(state: Any) -> dict[str, Any]:
    data: dict[str, Any] = state.model_dump(mode="json")
    return data


@FUZZ
@given(
    batches=st.lists(
        st.lists(st.tuples(_events, st.sampled_from([BZ_ME, "qa@example.com"])), max_size=4),
        min_size=1,
        max_size=4,
    ),
    opener=st.booleans(),
)
def test_fold_is_the_same_with_a_cold_and_a_warm_cache(
    batches: list[list[tuple[Event, str]]], opener: bool
) -> None:
    """The same comments read incrementally (warm cache, after each batch) and in one cold
    read fold to equal states; through Bugzilla and GitHub, and against LocalTracker's fold
    of the same events, ignoring what is tracker-specific."""
    fake = FakeBugzilla("5.2")
    fake.add_user(BZ_ME, BZ_KEY, insider=True)
    fake.add_user("qa@example.com", "ExampleQaKey00000000000000000000000000002")
    first = codec.render([Opened(title="Fuzz", ic="alice", releases=[RELEASE])], "plain")
    bug = fake.add_bug(creator=BZ_ME, description=first if opener else "Filed by hand.")
    ref = IncidentRef("bugzilla", bug)
    transport = httpx.MockTransport(fake.handler)

    def tracker(cache: Cache) -> BugzillaTracker:
        client = make_client("https://bugzilla.test", transport=transport)
        return BugzillaTracker(client, api_key=BZ_KEY, cache=cache, sleep=no_sleep, login=BZ_ME)

    async def go() -> tuple[Any, Any]:
        warm_cache, cold_cache = Cache(None), Cache(None)
        warm = tracker(warm_cache)
        snap = await warm.fetch(ref)
        for batch in batches:
            for event, who in batch:
                fake.add_comment(bug, who, codec.render([event], "plain"))
            snap = await warm.fetch(ref)
        cold = tracker(cold_cache)
        cold_snap = await cold.fetch(ref)
        again = await cold.fetch(ref)  # and warm again: unchanged, from the cache
        await warm.aclose()
        await cold.aclose()
        warm_cache.close()
        cold_cache.close()
        assert again.comments == cold_snap.comments
        return snap, cold_snap

    warm_snap, cold_snap = asyncio.run(go())
    assert warm_snap.comments == cold_snap.comments

    def state(snap: Any) -> Any:
        return fold(snap.comments, kind="bugzilla", vanished=snap.vanished, now=FOLD_NOW)

    assert _dump(state(warm_snap)) == _dump(state(cold_snap))


# ---------------------------------------------------------------------- 6. the daemon


def test_the_daemon_keeps_polling_while_bugzilla_is_down_and_posts_nothing_twice(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sync_incident.config import Settings
    from sync_incident.daemon import Daemon
    from sync_incident.service import Session

    bzw, ghw = make_bz("bmo"), make_gh()
    try:
        bugs = [_bz_incident(bzw, ready=False) for _ in range(2)]
        issues = [_gh_incident(ghw, ready=False) for _ in range(2)]
        digest_issue = ghw.fake.add_issue(REPO, "Release digests", "Digests land here.", by=GH_ME)
        monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", BZ_KEY)
        monkeypatch.setenv("SYNC_INCIDENT_GITHUB_TOKEN", GH_TOKEN)
        settings = Settings(
            incidents=[f"bug {b}" for b in bugs] + [f"issue {REPO}#{n}" for n in issues],
            bugzilla={"url": bzw.server.url, "login": BZ_ME},
            github={"api_url": ghw.server.url, "poll_minutes": 1.0},
            digest={"post_to": f"issue {REPO}#{digest_issue.number}", "every_hours": 1.0},
            cache=tmp_path / "daemon-cache.sqlite3",
        )
        now = [datetime(2026, 11, 27, 12, 0, tzinfo=UTC)]
        daemon = Daemon(settings, lambda: Session(settings), clock=lambda: now[0], sleep=no_sleep)
        session = Session(
            settings,
            transports={"bugzilla": TimeoutTransport(TIMEOUT), "github": TimeoutTransport(TIMEOUT)},
            sleep=no_sleep,
        )
        gh_refs = [IncidentRef("github", n, repo=REPO) for n in issues]
        bz_refs = [IncidentRef("bugzilla", b) for b in bugs]

        async def cycles(count: int) -> None:
            for _ in range(count):
                await daemon.cycle(session)
                now[0] += timedelta(minutes=5)

        async def story() -> dict[str, Any]:
            await cycles(2)  # healthy: everything read once or more
            before = {r: daemon.watches[r].reads for r in (*gh_refs, *bz_refs)}
            bzw.server.faults.append(ServerFault(("status_before", "reset_before", "stall_before")))
            bzw.fake.add_comment(
                bugs[0], BZ_ME, codec.render([Note(text="Written while down.")], "plain")
            )
            await cycles(36)  # three hours down
            during = {r: daemon.watches[r].reads for r in (*gh_refs, *bz_refs)}
            down_requests = bzw.server.count()
            bzw.server.faults.clear()
            await cycles(6)  # back: backoff (at most 15 min) + poll interval
            after = {r: daemon.watches[r].reads for r in (*gh_refs, *bz_refs)}
            await session.aclose()
            return {
                "before": before,
                "during": during,
                "after": after,
                "down_requests": down_requests,
                "caught_up": [
                    t.summary for t in (daemon.watches[bz_refs[0]].state or _empty()).timeline
                ],
            }

        result = asyncio.run(story())
    finally:
        bzw.server.close()
        ghw.server.close()

    for ref in gh_refs:  # GitHub incidents were polled all along (every 5 fake minutes)
        assert result["during"][ref] - result["before"][ref] >= 35
    for ref in bz_refs:  # nothing read from Bugzilla while down, then it catches up
        assert result["during"][ref] == result["before"][ref]
        assert result["after"][ref] > result["during"][ref]
    assert result["down_requests"] < 36 * 2 * 5  # backed off, not hammered every cycle
    assert any("Written while down" in s for s in result["caught_up"])

    keys: Counter[str] = Counter()
    texts = [t for b in bugs for t in bzw.texts(b)]
    texts += [t for n in [*issues, digest_issue.number] for t in ghw.texts(n)]
    for text in texts:
        for event in codec.parse(text).events:
            if isinstance(event, Reminder | DigestPosted):
                keys[event.key] += 1
    print(f"\ndaemon: posted keys {len(keys)}: {dict(Counter(k.split(':')[0] for k in keys))}")
    assert keys, "the daemon posted no reminder or digest at all"
    assert {k for k in keys if k.startswith(("no-update", "update-overdue"))}
    assert [k for k, n in keys.items() if n > 1] == []  # nothing posted twice
    reminded = {
        k.removeprefix("no-update:").rsplit(":", 2)[0] for k in keys if k.startswith("no-update")
    }
    assert len(reminded) == 4, reminded  # each incident reminded, Bugzilla ones after recovery


def _empty() -> Any:
    return fold([], kind="bugzilla", now=FOLD_NOW)


# ---------------------------------------------------------------------- strangers (issue 24)


@pytest.mark.parametrize("kind", READ_FAULTS)
def test_strangers_who_took_the_policys_logins_never_make_the_gate_ready_under_faults(
    gh: GhWorld,
    cli_env: Callable[..., tuple[int, str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    kind: FaultKind,
) -> None:
    """The bot holds the release; alice (the IC, account pinned) renamed her account, and a
    stranger who registered "alice" releases and retracts the hold as if IC. Under each read
    fault the gate is right or cannot decide, never READY."""
    me, alice = gh.fake.users[GH_ME.lower()], gh.fake.users["alice"]
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[people.alice]\ngithub = "alice"\ngithub_id = {alice.id}\n'
        f'[people.bot]\ngithub = "{GH_ME}"\ngithub_id = {me.id}\n'
        '[teams.QA]\nmembers = ["bot"]\n',
        encoding="utf-8",
    )
    number = _gh_incident(gh, ready=False)  # the bot opened it, signed for QA and held it
    hold = next(
        e
        for c in gh.fake.comments_of(REPO, number)
        for e in codec.parse(c.body).events
        if isinstance(e, HoldRaised)
    )
    gh.fake.rename_user("alice", "alice-renamed")
    gh.fake.add_user("alice", "ghp_stranger0000000000000000000000000000")
    reason = "The crash is fixed in build 2."
    for event in (
        HoldReleased(release=RELEASE, hold=hold.id, reason=reason),
        Retracted(event=hold.id, reason=reason),
    ):
        gh.fake.add_comment(REPO, number, codec.render([event], "github"), by="alice")
    monkeypatch.setenv("SYNC_INCIDENT_GITHUB_TOKEN", GH_TOKEN)
    args = (
        "--policy",
        str(policy),
        "gate",
        "issue",
        f"{REPO}#{number}",
        *GATE,
        "--github-api-url",
        gh.server.url,
    )
    once = ServerFault(kind, times=1, stall=1.0)
    gh.server.faults.append(once)
    code, out, err = cli_env(capsys, *args)
    assert once.fired == 1
    assert code == 1 and "Blocked" in out, (out, err)
    gh.server.faults[:] = [ServerFault(kind, stall=1.0)]
    assert cli_env(capsys, *args)[0] == 2
    gh.server.faults.clear()
    code, out, _ = cli_env(capsys, *args)
    assert code == 1 and "Blocked" in out
