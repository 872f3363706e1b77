"""``sync-incident serve`` under load, and what webhooks save in tracker requests.

1. **Page and API under load.** 100 active incidents on the fake GitHub, served on a real
   loopback socket (``sync_incident.testing.server``); ``serve``'s :class:`Server` (daemon +
   uvicorn) in a thread of its own, pointed at it. Once the first cycle has read every incident,
   200 concurrent clients (200 keep-alive connections of a minimal HTTP/1.1 client on asyncio
   streams, :func:`_hammer`, run in a subprocess by :func:`hammer_process` so the clients do
   not share the server's GIL) each request the status page ``/`` and ``/api/incidents`` in
   turn. Printed: p50 / p99 latency and requests per second per route, and the tracker
   requests the load caused (none: pages read the daemon's state).

2. **Tracker requests per minute, webhooks on vs polling only.** The daemon alone, on a
   simulated clock (``Daemon.cycle`` every 5 simulated seconds), over the same 100 incidents
   while comments arrive at ``--changes`` per minute on random incidents, for ``--minutes``
   simulated minutes, requests counted at the socket:

   - polling only, every minute (GitHub's default ``poll_minutes``): a change shows on the
     page 30 s later on average;
   - webhooks on: each change pokes its incident (read at once), and polling every 30 minutes
     stays as a safety net.

    .venv/bin/python bench/serve.py [--incidents 100] [--clients 200] [--requests 10]
                                    [--changes 10] [--minutes 20] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from sync_incident.config import DaemonSettings, GitHubSettings, Settings  # noqa: E402
from sync_incident.core import codec  # noqa: E402
from sync_incident.core.events import (  # noqa: E402
    Event,
    HandoffOffered,
    HoldRaised,
    Note,
    Opened,
    SignoffGiven,
)
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team  # noqa: E402
from sync_incident.core.refs import IncidentRef  # noqa: E402
from sync_incident.daemon.poller import Daemon  # noqa: E402
from sync_incident.serve.runner import Server, bind  # noqa: E402
from sync_incident.service import Session  # noqa: E402
from sync_incident.testing.github import FakeClock, FakeGitHub  # noqa: E402
from sync_incident.testing.server import LoopbackServer  # noqa: E402

REPO = "acme/incidents"
PEOPLE = ("dana", "quinn", "robin", "alice", "bot")


def token(name: str) -> str:
    return f"ghp_{name}".ljust(40, "0")


def policy() -> Policy:
    return Policy(
        people={name: Person(github=name, timezone="Europe/Berlin") for name in PEOPLE},
        teams={"QA": Team(members=["quinn"]), "Releng": Team(members=["robin"])},
        products={"Firefox": ProductPolicy(required_signoffs=["QA", "Releng"])},
        witnesses=["bot"],
    )


def populate(fake: FakeGitHub, incidents: int) -> None:
    """Incidents with 4–6 events each: sign-offs, a hold on every third, a handoff on every fifth."""
    for name in PEOPLE:
        fake.add_user(name, token(name))
    fake.add_repo(REPO, admins=("dana",))
    for n in range(1, incidents + 1):
        release = f"Firefox 96.0.{n}"
        fake.add_issue(REPO, f"Incident {n}: crash spike in {release}", None, by="dana")
        events: list[tuple[str, Event]] = [
            ("dana", Opened(title=f"Crash spike in {release}", releases=[release], ic="dana")),
            (
                "quinn",
                SignoffGiven(team="QA", release=release, statement=f"QA signs off on {release}."),
            ),
            (
                "robin",
                SignoffGiven(
                    team="Releng", release=release, statement=f"Releng signs off on {release}."
                ),
            ),
            ("dana", Note(text=f"Crash reports for {release} are attached to bug {1750000 + n}.")),
        ]
        if n % 3 == 0:
            events.append(("alice", HoldRaised(release=release, reason="a crash spike on startup")))
        if n % 5 == 0:
            events.append(
                ("dana", HandoffOffered(to="alice", done="Triage is done.", todo="Verify the fix."))
            )
        last = None
        for who, event in events:
            if last is not None:
                event = event.model_copy(update={"follows": last})
            last = event.id
            fake.clock.now += 1  # type: ignore[attr-defined]
            fake.add_comment(REPO, n, codec.render(event, "github"), by=who)


def settings_for(tmp: Path, incidents: int, poll: float, name: str) -> Settings:
    return Settings(
        github=GitHubSettings(api_url="https://api.github.com", poll_minutes=max(0.5, poll)),
        incidents=[f"{REPO}#{n}" for n in range(1, incidents + 1)],
        cache=tmp / f"{name}.sqlite3",
        policy=policy(),
        daemon=DaemonSettings(checkpoint_minutes=0),
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- 1. the page and the API under load ------------------------------------------------------------


def load(args: argparse.Namespace, tmp: Path) -> list[str]:
    # comments stamped now: no reminder is due, so the daemon only reads (as in a live incident)
    fake = FakeGitHub("http://127.0.0.1", clock=FakeClock(time.time() - 600))
    populate(fake, args.incidents)
    with LoopbackServer() as github:
        fake = _rebase(fake, github.url)
        github.handler = fake.handler
        os.environ["GITHUB_TOKEN"] = token("bot")
        settings = settings_for(tmp, args.incidents, 1.0, "load")

        def factory() -> Session:
            return Session(settings, transports={"github": httpx.AsyncHTTPTransport()})

        settings = settings.model_copy(
            update={"github": GitHubSettings(api_url=github.url, poll_minutes=1.0)}
        )
        server = Server(settings, factory)
        sock = bind("127.0.0.1", 0)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=lambda: loop.run_until_complete(server.run(sock)))
        thread.start()
        try:
            started = time.monotonic()
            while server.daemon.cycles < 1:
                time.sleep(0.05)
            first = time.monotonic() - started
            before = github.count()
            results = hammer_process(url, args.clients, args.requests)
            during = github.count() - before
        finally:
            loop.call_soon_threadsafe(server.drain)
            thread.join(timeout=60)
            sock.close()
    lines = [
        f"First daemon cycle over {args.incidents} incidents: {first:.2f} s "
        f"({before} tracker requests).",
        f"{args.clients} concurrent clients × {args.requests} requests each, alternating / and "
        "/api/incidents:",
    ]
    for route, (latencies, wall, sizes, errors) in results.items():
        lines.append(
            f"  {route:<15} p50 {statistics.median(latencies) * 1000:7.1f} ms   "
            f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   "
            f"{len(latencies) / wall:7.0f} req/s   {statistics.mean(sizes) / 1024:6.1f} KiB/answer   "
            f"errors {errors}"
        )
    total = sum(len(r[0]) for r in results.values())
    wall = max(r[1] for r in results.values())
    every = [x for r in results.values() for x in r[0]]
    lines.append(
        f"  {'both':<15} p50 {statistics.median(every) * 1000:7.1f} ms   "
        f"p99 {percentile(every, 0.99) * 1000:7.1f} ms   {total / wall:7.0f} req/s in all"
    )
    lines.append(f"  tracker requests caused by the load: {during} (pages read the daemon's state)")
    return lines


def _rebase(fake: FakeGitHub, url: str) -> FakeGitHub:
    """The fake answers with URLs of its real socket address (it builds pagination links)."""
    fake.base_url = url.rstrip("/")
    fake._base_path = ""
    return fake


async def _hammer(url: str, clients: int, requests: int) -> dict[str, Any]:
    """``clients`` keep-alive connections, each sending ``requests`` GETs in turn.

    A minimal HTTP/1.1 client on asyncio streams: httpx's connection pool costs more CPU than
    the server at 200 connections, and would measure itself instead.
    """
    host, port = url.removeprefix("http://").split(":")
    routes = ("/", "/api/incidents")
    latencies: dict[str, list[float]] = {r: [] for r in routes}
    sizes: dict[str, list[int]] = {r: [] for r in routes}
    errors: dict[str, int] = dict.fromkeys(routes, 0)

    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for i in range(requests):
                route = routes[(n + i) % 2]
                start = time.perf_counter()
                writer.write(f"GET {route} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                latencies[route].append(time.perf_counter() - start)
                sizes[route].append(len(body))
                errors[route] += status != 200
        finally:
            writer.close()
            await writer.wait_closed()

    start = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(clients)))
    wall = time.perf_counter() - start
    return {r: (latencies[r], wall, sizes[r], errors[r]) for r in routes}


def hammer_process(url: str, clients: int, requests: int) -> dict[str, Any]:
    """Run :func:`_hammer` in a process of its own (the server keeps this one's GIL)."""
    code = (
        "import asyncio, json, sys; sys.path.insert(0, sys.argv[1]); import serve; "
        "print(json.dumps(asyncio.run(serve._hammer(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))))"
    )
    here = str(Path(__file__).resolve().parent)
    out = subprocess.run(
        [sys.executable, "-c", code, here, url, str(clients), str(requests)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data


# --- 2. tracker requests per minute: webhooks vs polling -------------------------------------------


def requests_per_minute(
    args: argparse.Namespace, tmp: Path, *, webhooks: bool
) -> tuple[float, float]:
    """(tracker requests per simulated minute, mean delay from a change to its read, seconds)."""
    fake = FakeGitHub("http://127.0.0.1", clock=FakeClock())
    populate(fake, args.incidents)
    rng = random.Random(7)
    poll = 30.0 if webhooks else 1.0
    with LoopbackServer() as github:
        fake = _rebase(fake, github.url)
        github.handler = fake.handler
        os.environ["GITHUB_TOKEN"] = token("bot")
        settings = settings_for(tmp, args.incidents, poll, f"rate-{webhooks}")
        settings = settings.model_copy(
            update={"github": GitHubSettings(api_url=github.url, poll_minutes=poll)}
        )
        now = [datetime.fromtimestamp(fake.clock.now, UTC) + timedelta(minutes=1)]  # type: ignore[attr-defined]

        def clock() -> datetime:
            return now[0]

        def factory() -> Session:
            return Session(settings, transports={"github": httpx.AsyncHTTPTransport()})

        daemon = Daemon(settings, factory, clock=clock)

        async def simulate() -> tuple[int, list[float]]:
            session = factory()
            delays: list[float] = []
            pending: dict[str, datetime] = {}
            try:
                await daemon.cycle(session)  # the first read of everything: not counted
                start = github.count()
                step = 5.0
                for tick in range(int(args.minutes * 60 / step)):
                    now[0] += timedelta(seconds=step)
                    fake.clock.now += step  # type: ignore[attr-defined]
                    for _ in range(_arrivals(rng, args.changes * step / 60)):
                        n = rng.randint(1, args.incidents)
                        fake.add_comment(REPO, n, f"Question {tick} on incident {n}.", by="alice")
                        ref = IncidentRef("github", n, repo=REPO)
                        pending.setdefault(ref.key, now[0])
                        if webhooks:
                            daemon.poke(ref)
                    before = {
                        k: w.reads for k, w in ((w.ref.key, w) for w in daemon.watches.values())
                    }
                    await daemon.cycle(session)
                    for watch in daemon.watches.values():
                        key = watch.ref.key
                        if watch.reads > before[key] and key in pending:
                            delays.append((now[0] - pending.pop(key)).total_seconds())
                return github.count() - start, delays
            finally:
                await session.aclose()

        count, delays = asyncio.run(simulate())
    # a poke is read in the cycle right after the delivery (milliseconds in real time, as the
    # browser test shows); the simulated step only quantises it to 5 s, so report 0 for pokes
    mean_delay = 0.0 if webhooks else (statistics.mean(delays) if delays else 0.0)
    return count / args.minutes, mean_delay


def _arrivals(rng: random.Random, mean: float) -> int:
    """Poisson arrivals in one step."""
    count, total = 0, rng.expovariate(1.0) if mean > 0 else float("inf")
    while total < mean:
        count += 1
        total += rng.expovariate(1.0)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=100)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--changes", type=float, default=10.0, help="comments per minute")
    parser.add_argument("--minutes", type=float, default=20.0, help="simulated minutes")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about 20 s")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.minutes = 4, 5.0
    with tempfile.TemporaryDirectory() as tmp:
        for line in load(args, Path(tmp)):
            print(line)
        polled, polled_delay = requests_per_minute(args, Path(tmp), webhooks=False)
        hooked, _ = requests_per_minute(args, Path(tmp), webhooks=True)
    print(
        f"Tracker requests per minute, {args.incidents} incidents, {args.changes:g} comments/min, "
        f"{args.minutes:g} simulated minutes:"
    )
    print(
        f"  polling only (every 1 min):         {polled:7.1f} req/min; a change is on the page "
        f"{polled_delay:.0f} s later on average"
    )
    print(
        f"  webhooks on (poll every 30 min):    {hooked:7.1f} req/min; a change is on the page "
        "at once (< 1 s, tests/serve/test_browser.py)"
    )
    if hooked:
        print(f"  webhooks save {1 - hooked / polled:.0%} of the tracker requests")


if __name__ == "__main__":
    main()
