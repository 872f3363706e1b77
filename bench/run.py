"""Every performance figure we promise, measured against its baseline in the same run.

    .venv/bin/python bench/run.py           # the full run (a few minutes)
    .venv/bin/python bench/run.py --quick   # smaller sizes, same rows

Request counts are taken at the socket layer of :class:`sync_incident.testing.server.LoopbackServer`,
which serves the stateful fake Bugzilla (5.2) and fake GitHub on 127.0.0.1, so the trackers
run on httpx's real transport. README.md ("Benchmarks") says what each row means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
from _common import Row, print_table  # noqa: E402

from sync_incident.core import codec  # noqa: E402
from sync_incident.core.events import Note, Opened, SignoffGiven  # noqa: E402
from sync_incident.core.refs import IncidentRef  # noqa: E402
from sync_incident.testing.bugzilla import FakeBugzilla  # noqa: E402
from sync_incident.testing.github import FakeClock, FakeGitHub  # noqa: E402
from sync_incident.testing.server import LoopbackServer  # noqa: E402
from sync_incident.trackers.bugzilla.tracker import BugzillaTracker  # noqa: E402
from sync_incident.trackers.cache import Cache  # noqa: E402
from sync_incident.trackers.github.client import API_VERSION  # noqa: E402
from sync_incident.trackers.github.tracker import GitHubTracker  # noqa: E402
from sync_incident.trackers.http import make_client  # noqa: E402

BZ_ME, BZ_KEY = "releng-bot@example.com", "BenchKey000000000000000000000000000000001"
GH_ME, GH_TOKEN = "incident-bot", "ghp_bench0000000000000000000000000000000001"
REPO = "acme/releases"
RELEASE = "Firefox 96.0.1"
POLL_CONCURRENCY = 50


async def no_sleep(seconds: float) -> None:
    """Backoffs cost no time in a benchmark (no faults are injected anyway)."""


def bodies(n: int, flavor: codec.Flavor) -> list[str]:
    """An incident of ``n`` comments: opened, a sign-off, then notes."""
    out = [
        codec.render([Opened(title="Startup crash spike", ic="alice", releases=[RELEASE])], flavor),
        codec.render(
            [SignoffGiven(team="QA", release=RELEASE, statement=f"QA signs off on {RELEASE}.")],
            flavor,
        ),
    ]
    out += [
        codec.render([Note(text=f"Crash rate on {RELEASE} is {i % 7} per mille.")], flavor)
        for i in range(n - 2)
    ]
    return out


# ---------------------------------------------------------------------- worlds


class Bz:
    def __init__(self, latency: float = 0.0) -> None:
        self.server = LoopbackServer(latency=latency)
        self.fake = FakeBugzilla("5.2")
        self.fake.add_user(BZ_ME, BZ_KEY, insider=True)
        self.server.handler = self.fake.handler

    def incident(self, n: int) -> IncidentRef:
        first, *rest = bodies(n, "plain")
        bug = self.fake.add_bug(creator=BZ_ME, description=first)
        for body in rest:
            self.fake.add_comment(bug, BZ_ME, body)
        return IncidentRef("bugzilla", bug)

    def tracker(self, cache: Cache) -> BugzillaTracker:
        client = make_client(self.server.url)
        return BugzillaTracker(client, api_key=BZ_KEY, cache=cache, sleep=no_sleep, login=BZ_ME)


class Gh:
    def __init__(self, latency: float = 0.0) -> None:
        self.server = LoopbackServer(latency=latency)
        self.clock = FakeClock()
        self.fake = FakeGitHub(self.server.url, clock=self.clock, rate_limit=10**9)
        self.fake.add_user(GH_ME, GH_TOKEN)
        self.fake.add_user("alice", None)  # the incidents' IC: a collaborator, assignable
        self.fake.add_repo(REPO, admins=(GH_ME, "alice"))
        self.server.handler = self.fake.handler

    def incident(self, n: int) -> IncidentRef:
        issue = self.fake.add_issue(REPO, "Startup crash spike", "Opened by hand.", by=GH_ME)
        for body in bodies(n, "github"):
            self.fake.add_comment(REPO, issue.number, body, by=GH_ME)
        return IncidentRef("github", issue.number, repo=REPO)

    def headers(self) -> dict[str, str]:
        return {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Authorization": f"Bearer {GH_TOKEN}",
        }

    def tracker(self, cache: Cache) -> GitHubTracker:
        client = make_client(self.server.url, headers=self.headers())
        return GitHubTracker(
            client, token=GH_TOKEN, cache=cache, sleep=self.clock.sleep, clock=self.clock
        )


def counted(server: LoopbackServer, work: Callable[[], Coroutine[Any, Any, Any]]) -> int:
    """Requests ``work`` sends, in a fresh event loop (for clients created inside ``work``)."""
    server.reset_counts()
    asyncio.run(work())
    return server.count()


async def acounted(server: LoopbackServer, work: Callable[[], Awaitable[Any]]) -> int:
    """Requests ``work`` sends, in the running loop (the tracker's client lives there)."""
    server.reset_counts()
    await work()
    return server.count()


def _ratio(measured: float, baseline: float) -> str:
    return f"{measured / baseline:.2f}x" if baseline else "-"


# ---------------------------------------------------------------------- request counts


def unchanged_poll(kind: str, comments: int) -> Row:
    """One poll of an unchanged incident, warm cache; the average over 12 polls too."""
    world: Bz | Gh = Bz() if kind == "bugzilla" else Gh()
    try:
        ref = world.incident(comments)
        cache = Cache(None)
        tracker = world.tracker(cache)
        polls: list[int] = []
        last_status: list[int | None] = []

        async def poll() -> None:
            await tracker.fetch(ref)

        async def story() -> None:
            await tracker.fetch(ref)  # warm the cache
            for _ in range(12):
                polls.append(await acounted(world.server, poll))
                last_status.append(world.server.hits[-1].status)
            await tracker.aclose()

        asyncio.run(story())
        cache.close()
        naive = counted(world.server, lambda: naive_read(world, ref))
    finally:
        world.server.close()
    steady = polls[0]
    avg = sum(polls) / len(polls)
    what = f"{steady} ({last_status[0]}); avg {avg:.2f} over 12 polls"
    return Row(
        f"{kind}: unchanged incident, requests/poll",
        what,
        f"full read {naive}",
        _ratio(steady, naive),
        "1" + (" (a 304)" if kind == "github" else ""),
        steady == 1 and (kind != "github" or last_status[0] == 304),
    )


async def naive_read(world: Bz | Gh, ref: IncidentRef) -> None:
    """What a client without a cache does: the bug/issue and every comment page."""
    if isinstance(world, Bz):
        async with httpx.AsyncClient(base_url=world.server.url) as client:
            key = {"Bugzilla_api_key": BZ_KEY}
            (await client.get(f"/rest/bug/{ref.number}", params=key)).raise_for_status()
            (await client.get(f"/rest/bug/{ref.number}/comment", params=key)).raise_for_status()
        return
    async with httpx.AsyncClient(base_url=world.server.url, headers=world.headers()) as client:
        path = f"/repos/{REPO}/issues/{ref.number}"
        (await client.get(path)).raise_for_status()
        url: str | None = f"{world.server.url}{path}/comments?per_page=100"
        while url:
            response = await client.get(url)
            response.raise_for_status()
            url = response.links.get("next", {}).get("url")


def posts(kind: str, count: int = 10) -> Row:
    world: Bz | Gh = Bz() if kind == "bugzilla" else Gh()
    try:
        ref = world.incident(20)
        cache = Cache(None)
        tracker = world.tracker(cache)
        events = [Note(text=f"Bench note {i} on {RELEASE}.") for i in range(count)]
        flavor: codec.Flavor = "github" if kind == "github" else "plain"

        async def post_all() -> None:
            for event in events:
                await tracker.post(ref, codec.render([event], flavor), marker=event.id)

        async def story() -> int:
            await tracker.fetch(ref)  # warm cache
            warm_up = codec.render([Note(text="Bench warm-up note.")], flavor)
            await tracker.post(ref, warm_up, marker="bench-warm-up")  # the key is checked
            sent = await acounted(world.server, post_all)
            await tracker.aclose()
            return sent

        measured = asyncio.run(story()) / count
        cache.close()

        async def naive() -> None:  # post, then re-read everything to see the result
            for event in events:
                await naive_post(world, ref, codec.render([event], flavor))
                await naive_read(world, ref)

        baseline = counted(world.server, naive) / count
    finally:
        world.server.close()
    return Row(
        f"{kind}: requests per posted event",
        f"{measured:.2f}",
        f"post + re-read {baseline:.2f}",
        _ratio(measured, baseline),
        "1" if kind == "bugzilla" else "-",
        measured <= 1.0 if kind == "bugzilla" else None,
    )


async def naive_post(world: Bz | Gh, ref: IncidentRef, body: str) -> None:
    if isinstance(world, Bz):
        async with httpx.AsyncClient(base_url=world.server.url) as client:
            payload = {"comment": body, "Bugzilla_api_key": BZ_KEY}
            (await client.post(f"/rest/bug/{ref.number}/comment", json=payload)).raise_for_status()
        return
    async with httpx.AsyncClient(base_url=world.server.url, headers=world.headers()) as client:
        path = f"/repos/{REPO}/issues/{ref.number}/comments"
        (await client.post(path, json={"body": body})).raise_for_status()


# requests: a full read and the hold flag's history; GitHub also asks GraphQL about edits
GATE_GOAL = {"bugzilla": 3, "github": 4}


def gate_requests(kind: str, comments: int = 100, auth: str = "auto") -> list[Row]:
    """The gate's exact path (decide: a fresh read, no cache file), twice."""
    from sync_incident.application.decide import GateRequest, decide
    from sync_incident.config import Settings
    from sync_incident.service import Session

    world: Bz | Gh = Bz() if kind == "bugzilla" else Gh()
    rows = []
    try:
        ref = world.incident(comments)
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(
                bugzilla={"url": world.server.url, "login": BZ_ME, "auth": auth},
                github={"api_url": world.server.url},
                cache=Path(tmp) / "cache.sqlite3",
            )
            verdicts: list[bool] = []

            async def catch_up() -> None:
                # the incident was built behind the tool's back: bring its mirror in line the
                # way any reader who may write it does, so the rows measure the gate alone
                catch_up_settings = settings.model_copy(update={"cache": Path(tmp) / "other"})
                async with Session(catch_up_settings, sleep=no_sleep) as session:
                    await session.catch_up(ref, await session.read(ref))

            asyncio.run(catch_up())

            async def gate() -> None:
                async with Session(settings, sleep=no_sleep, ephemeral=True) as session:
                    verdict = await decide(session, GateRequest.of(ref, RELEASE, ["QA"]))
                    verdicts.append(verdict.ready)

            cold = counted(world.server, gate)
            warm = counted(world.server, gate)
            naive = counted(world.server, lambda: naive_read(world, ref))
        assert verdicts == [True, True], verdicts
        for name, value in (("cold", cold), ("warm", warm)):
            rows.append(
                Row(
                    f"{kind}: gate on {comments} comments, {name} cache"
                    + (f" (auth = {auth})" if auth != "auto" else ""),
                    f"{value} requests",
                    f"full read {naive}",
                    _ratio(value, naive),
                    # a full read and the hold flag's history (deleted holds); on GitHub also
                    # the GraphQL edit check of comments with events (edits within a second)
                    f"<= {GATE_GOAL[kind]}",
                    value <= GATE_GOAL[kind],
                )
            )
    finally:
        world.server.close()
    return rows


# ---------------------------------------------------------------------- show, cold and warm


def _cli(*argv: str) -> None:
    """``sync-incident ARGV`` in this process, its output swallowed."""
    from sync_incident.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(list(argv))
        except SystemExit as done:
            assert done.code in (0, None), done.code


def show_rows(comments: int = 1000, latency: float = 0.5, repeat: int = 5) -> list[Row]:
    """``sync-incident bug N`` of an N-comment bug vs one raw GET of its comments.

    The fake 5.2 is served on loopback with ``latency`` added to every request (a CGI Bugzilla
    answers in 0.4-1 s). Medians of ``repeat`` runs, all in the same run of this script.
    Cold: an empty cache (the bug's comments and fields are read concurrently); with a key,
    the server's version and the key check remembered (they are paid once a day, not per
    command), and a new machine (nothing remembered: the read does not wait for the version).
    Warm: the same command again on its cache.
    """
    world = Bz(latency=latency)
    rows: list[Row] = []
    try:
        ref = world.incident(comments)
        other = world.incident(2)
        url = world.server.url
        path = f"/rest/bug/{ref.number}/comment"

        def raw_get() -> None:
            with httpx.Client(base_url=url) as client:
                client.get(path).raise_for_status()

        baseline = statistics.median(_timed(raw_get) for _ in range(repeat))
        with tempfile.TemporaryDirectory() as tmp:
            base = ["--bugzilla-url", url]
            os.environ.pop("SYNC_INCIDENT_BUGZILLA_API_KEY", None)
            runs = [
                _timed(
                    lambda i=i: _cli(*base, "--cache", f"{tmp}/nokey-{i}", "bug", str(ref.number))
                )
                for i in range(repeat)
            ]
            rows.append(_show_row("cold, no key", statistics.median(runs), baseline, 1.3))
            os.environ["SYNC_INCIDENT_BUGZILLA_API_KEY"] = BZ_KEY
            os.environ["SYNC_INCIDENT_BUGZILLA__LOGIN"] = BZ_ME
            known = f"{tmp}/known"  # version and key check remembered, no incident cached
            _cli(*base, "--cache", known, "note", f"bug {other.number}", "--text", "Warm-up.")
            # the first keyed read brings the bug's mirrored fields in line (one PUT, once):
            # done here, so the rows time reads, as on an incident someone with editbugs read
            _cli(*base, "--cache", f"{tmp}/mirror", "bug", str(ref.number))
            runs = []
            for i in range(repeat):
                shutil.copy(known, f"{tmp}/key-{i}")
                runs.append(
                    _timed(
                        lambda i=i: _cli(*base, "--cache", f"{tmp}/key-{i}", "bug", str(ref.number))
                    )
                )
            rows.append(_show_row("cold, key known", statistics.median(runs), baseline, 1.3))
            runs = [  # a new machine: nothing remembered (the read does not ask the version)
                _timed(lambda i=i: _cli(*base, "--cache", f"{tmp}/new-{i}", "bug", str(ref.number)))
                for i in range(repeat)
            ]
            rows.append(_show_row("cold, key new", statistics.median(runs), baseline, 1.3))
            warm_cache = f"{tmp}/key-0"
            world.server.reset_counts()
            warm = _timed(lambda: _cli(*base, "--cache", warm_cache, "bug", str(ref.number)))
            sent = world.server.count()
            rows.append(
                Row(
                    f"bugzilla: show of a {comments:,}-comment bug, warm",
                    f"{warm:.2f} s, {sent} request",
                    f"one raw GET {baseline:.2f} s",
                    _ratio(warm, baseline),
                    "1 request",
                    sent == 1,
                )
            )
    finally:
        os.environ["SYNC_INCIDENT_BUGZILLA_API_KEY"] = BZ_KEY
        os.environ.pop("SYNC_INCIDENT_BUGZILLA__LOGIN", None)
        world.server.close()
    return rows


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _show_row(what: str, measured: float, baseline: float, goal: float) -> Row:
    return Row(
        f"bugzilla: show of a 1,000-comment bug, {what} (median)",
        f"{measured:.2f} s",
        f"one raw GET of its comments {baseline:.2f} s",
        _ratio(measured, baseline),
        f"<= {goal}x",
        measured <= goal * baseline,
    )


# ---------------------------------------------------------------------- poll cycle


def poll_cycle(incidents: int, latency: float, baseline_sample: int) -> Row:
    """One poll of ``incidents`` unchanged GitHub incidents (warm cache, at most
    POLL_CONCURRENCY in flight) vs re-reading each in full, one after the other."""
    world = Gh(latency=0.0)
    try:
        refs = [world.incident(3) for _ in range(incidents)]
        cache = Cache(None)
        tracker = world.tracker(cache)
        gate = asyncio.Semaphore(POLL_CONCURRENCY)

        async def fetch(ref: IncidentRef) -> None:
            async with gate:
                await tracker.fetch(ref)

        async def cycle() -> None:
            await asyncio.gather(*(fetch(r) for r in refs))

        async def story() -> tuple[int, float]:
            await cycle()  # the first read fills the cache (not timed)
            world.server.latency = latency
            start = time.perf_counter()
            sent = await acounted(world.server, cycle)
            elapsed = time.perf_counter() - start
            await tracker.aclose()
            return sent, elapsed

        requests, measured = asyncio.run(story())
        cache.close()

        sample = refs[:baseline_sample]

        async def sequential() -> None:
            for ref in sample:
                await naive_read(world, ref)

        start = time.perf_counter()
        asyncio.run(sequential())
        baseline = (time.perf_counter() - start) * len(refs) / len(sample)
    finally:
        world.server.close()
    speedup = baseline / measured
    note = "" if len(sample) == len(refs) else f", extrapolated from {len(sample)}"
    return Row(
        f"poll cycle, {incidents:,} incidents @ {latency * 1000:.0f} ms",
        f"{measured:.2f} s ({requests} requests)",
        f"sequential full re-read {baseline:.1f} s{note}",
        f"{speedup:.0f}x faster",
        ">= 20x faster",
        speedup >= 20,
    )


def poll_rows(quick: bool) -> list[Row]:
    # bench/poll.py (the daemon's own, fuller measurement) prints its own report; it is used
    # here when it offers a ``poll_cycle(incidents, latency, sample) -> Row`` function.
    measure: Callable[[int, float, int], Row] = poll_cycle
    try:
        import poll

        measure = getattr(poll, "poll_cycle", poll_cycle)
    except ImportError:
        pass
    sizes = [(100, 100 if not quick else 20)] + ([] if quick else [(1_000, 100)])
    return [measure(n, 0.05, sample) for n, sample in sizes]


# ---------------------------------------------------------------------- CPU and wall time


def startup(quick: bool) -> list[Row]:
    """`--help` and `show local:N` against `import typer`, subprocess medians (bench/startup.py)."""
    from startup import startup_rows

    return startup_rows(10 if quick else 20)


def fold_rows(quick: bool) -> list[Row]:
    from fold import fold_vs_json, show_local

    return [
        *fold_vs_json(10_000 if quick else 100_000),
        show_local(1_000 if quick else 10_000),
    ]


# ---------------------------------------------------------------------- main


def misses(rows: list[Row]) -> list[str]:
    out = []
    for row in rows:
        if row.met is False:
            out.append(f"MISSED: {row.figure}: measured {row.value}, goal {row.goal} ({row.ratio})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, same rows")
    args = parser.parse_args(argv)
    os.environ.setdefault("SYNC_INCIDENT_BUGZILLA_API_KEY", BZ_KEY)
    os.environ.setdefault("SYNC_INCIDENT_GITHUB_TOKEN", GH_TOKEN)
    started = time.perf_counter()
    rows: list[Row] = []
    steps: list[Callable[[], list[Row]]] = [
        lambda: [unchanged_poll("bugzilla", 100), unchanged_poll("github", 250)],
        lambda: [posts("bugzilla"), posts("github")],
        lambda: (
            gate_requests("bugzilla")
            + gate_requests("bugzilla", auth="param")[:1]
            + gate_requests("github")
        ),
        lambda: show_rows(repeat=3 if args.quick else 5),
        lambda: poll_rows(args.quick),
        lambda: fold_rows(args.quick),
        lambda: startup(args.quick),
    ]
    for step in steps:
        rows += step()
    print_table(rows)
    for line in misses(rows):
        print(line)
    print(f"(whole run: {time.perf_counter() - started:.0f} s{', --quick' if args.quick else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
