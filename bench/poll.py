"""The daemon's poll cycle over N incidents, with the fake Bugzilla in a process of its own.

The fake server (:class:`sync_incident.testing.bugzilla.FakeBugzilla`, an upstream 5.2
look-alike with ETags and ``new_since``) runs in a separate process, behind
:class:`sync_incident.testing.server.LoopbackServer` on 127.0.0.1: every request waits
``--latency`` seconds (default 50 ms) in the server, concurrently with the others, as a remote
server would. So this process runs the daemon and nothing else, and its CPU time
(``time.process_time``) is the daemon's own. For N = 100 and 1,000 incidents it measures:

- the daemon (:class:`sync_incident.daemon.Daemon`, real ``BugzillaTracker``, real SQLite
  cache, ``--concurrency`` requests in flight): a cold first cycle, ``--repeat`` cycles where
  nothing changed (the median is reported; the first read after a full read of an incident
  gets the overlapping last second back, a 200, and the later ones a 304), and a cycle where
  10 % of the incidents got a new comment;
- the concurrency bound: N / in-flight × latency, the wall time of one request per incident
  with nothing but waiting in between (3.1 s for 1,000 at 16 and 50 ms);
- the baseline: a loop that reads every incident sequentially and in full, as a
  python-bugzilla script would (``GET /rest/bug/{id}`` + ``GET /rest/bug/{id}/comment``),
  measured on a sample and extrapolated linearly (it is strictly sequential, hence linear).

Goals (issue 13): an unchanged incident costs one request; a cycle over 1,000 unchanged
incidents is within 1.5× of the concurrency bound and at least 20× faster than the baseline.
Requests are counted by the server.

    .venv/bin/python bench/poll.py [--latency 0.05] [--sizes 100,1000] [--sample 40]
    .venv/bin/python bench/poll.py --comments 50   # incidents of 50 comments, not 2
    .venv/bin/python bench/poll.py --sizes 1000 --profile /tmp/poll.prof  # cProfile (CPU
                                                    # time) of the last unchanged cycle
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
from _common import Row, print_table  # noqa: E402

from sync_incident.config import Settings  # noqa: E402
from sync_incident.core import codec  # noqa: E402
from sync_incident.core.comments import Account, Comment  # noqa: E402
from sync_incident.core.events import Opened, StatusUpdate  # noqa: E402
from sync_incident.core.fold import fold  # noqa: E402
from sync_incident.daemon.poller import DEFAULT_CONCURRENCY, Daemon  # noqa: E402
from sync_incident.service import Session  # noqa: E402
from sync_incident.testing.bugzilla import FakeBugzilla  # noqa: E402

ALICE, ALICE_KEY = "alice@example.test", "alice-key-0123456789"
BOUND_GOAL = 1.5  # the unchanged cycle within 1.5× of the concurrency bound
SPEEDUP_GOAL = 20.0  # and at least 20× faster than the sequential baseline (N = 1,000)


# ---------------------------------------------------------------------- the server's process


def make_fake(n: int, comments: int = 2) -> FakeBugzilla:
    """``n`` incidents of ``comments`` comments: opened, then status updates."""
    fake = FakeBugzilla()
    fake.add_user(ALICE, ALICE_KEY)
    for i in range(n):
        opened = Opened(title=f"Release incident {i}", ic="alice", releases=["Firefox 96.0.1"])
        bug = fake.add_bug(f"Release incident {i}", creator=ALICE, description=codec.render(opened))
        for k in range(1, max(comments, 2)):
            update = StatusUpdate(summary=f"Investigating the crash ({k}).")
            fake.add_comment(bug, ALICE, codec.render(update))
    return fake


def serve_fake(n: int, comments: int, latency: float, conn: Connection) -> None:
    """The server process: a fake with ``n`` incidents on a loopback socket, run by commands."""
    from sync_incident.testing.server import LoopbackServer

    fake = make_fake(n, comments)
    lock = threading.Lock()  # the fake is not thread-safe: changes wait for requests

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            return fake.handler(request)

    with LoopbackServer(handler, latency=latency) as server:
        conn.send((server.url, fake.clock.moment()))
        while True:
            command, arg = conn.recv()
            if command == "requests":
                conn.send(len(server.hits))
            elif command == "change":
                with lock:
                    for bug_id in arg:
                        update = StatusUpdate(summary=f"QA is verifying the fix for bug {bug_id}.")
                        fake.add_comment(bug_id, ALICE, codec.render(update))
                conn.send(None)
            elif command == "stop":
                conn.send(None)
                return


class FakeProcess:
    """The fake Bugzilla in its own process (spawned: nothing of this one is inherited)."""

    def __init__(self, n: int, latency: float, comments: int = 2) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        args = (n, comments, latency, child)
        self._process = ctx.Process(target=serve_fake, args=args, daemon=True)
        self._process.start()
        child.close()
        url, now = self._conn.recv()
        self.url: str = url
        self.now: datetime = now

    def _ask(self, command: str, arg: Any = None) -> Any:
        self._conn.send((command, arg))
        return self._conn.recv()

    def requests(self) -> int:
        """Requests the server has seen on its socket so far."""
        return int(self._ask("requests"))

    def change(self, bug_ids: list[int]) -> None:
        self._ask("change", bug_ids)

    def __enter__(self) -> FakeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._ask("stop")
        finally:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
            self._conn.close()


# ---------------------------------------------------------------------- the measured side


def baseline(url: str, bug_ids: list[int]) -> tuple[float, int]:
    """Sequential full reads (bug + all comments) and a fold: (seconds, requests)."""
    requests = 0
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=30) as client:
        for bug_id in bug_ids:
            bug = client.get(f"/rest/bug/{bug_id}").json()["bugs"][0]
            data = client.get(f"/rest/bug/{bug_id}/comment").json()
            requests += 2
            raw = data["bugs"][str(bug_id)]["comments"]
            comments = [
                Comment(
                    str(c["id"]),
                    Account(c["creator"]),
                    datetime.fromisoformat(c["creation_time"].replace("Z", "+00:00")),
                    c["text"],
                )
                for c in raw
            ]
            fold(comments, kind="bugzilla", title=bug["summary"])
    return time.perf_counter() - start, requests


@dataclass
class Cycle:
    seconds: float
    cpu: float  # this process's CPU seconds (the daemon's: the server runs elsewhere)
    requests: int
    polled: int


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def daemon_cycles(
    server: FakeProcess,
    n: int,
    cache: Path,
    changed: list[int],
    concurrency: int,
    repeat: int,
    profile: cProfile.Profile | None = None,
) -> dict[str, list[Cycle]]:
    """Cold, ``repeat`` unchanged and one 10 %-changed cycles, measured one by one."""
    settings = Settings(
        tracker="bugzilla",
        incidents=[f"bug {i}" for i in range(1, n + 1)],
        bugzilla={"url": server.url, "poll_minutes": 5, "login": ALICE},
        bugzilla_api_key=ALICE_KEY,
        cache=cache,
        reminders={"no_update_hours": 10_000, "handoff_pending_minutes": 10_000},
    )
    clock = Clock(server.now + timedelta(minutes=1))
    session = Session(settings)
    daemon = Daemon(settings, lambda: session, clock=clock, progress=False, concurrency=concurrency)
    out: dict[str, list[Cycle]] = {"cold": [], "unchanged": [], "changed": []}
    plan = ["cold", *["unchanged"] * repeat, "changed"]
    try:
        for name in plan:
            if name == "changed":
                server.change(changed)
            before = server.requests()
            profiling = profile is not None and name == "unchanged" and len(out[name]) == repeat - 1
            if profiling and profile is not None:
                profile.enable()
            start, cpu = time.perf_counter(), time.process_time()
            report = await daemon.cycle(session)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            if profiling and profile is not None:
                profile.disable()
            out[name].append(Cycle(seconds, cpu, server.requests() - before, report.polled))
            if report.failed:
                raise SystemExit(f"{report.failed} incidents failed in the {name} cycle")
            clock.now += timedelta(minutes=5)  # the next cycle: every incident is due again
    finally:
        await session.aclose()
    return out


@dataclass
class Figures:
    n: int
    concurrency: int
    latency: float
    bound: float  # N / in flight × latency
    baseline: float  # sequential full reads, extrapolated
    baseline_requests: float
    sample: int
    cycles: dict[str, list[Cycle]]

    def median(self, name: str) -> Cycle:
        runs = self.cycles[name]
        return Cycle(
            statistics.median(c.seconds for c in runs),
            statistics.median(c.cpu for c in runs),
            round(statistics.median(c.requests for c in runs)),
            runs[0].polled,
        )

    def as_json(self) -> dict[str, Any]:
        unchanged = self.median("unchanged")
        return {
            "incidents": self.n,
            "concurrency": self.concurrency,
            "latency_seconds": self.latency,
            "bound_seconds": self.bound,
            "baseline_seconds": self.baseline,
            "baseline_requests": self.baseline_requests,
            "baseline_sample": self.sample,
            "unchanged_vs_bound": unchanged.seconds / self.bound,
            "unchanged_speedup": self.baseline / unchanged.seconds,
            "unchanged_requests_per_incident": unchanged.requests / self.n,
            "unchanged_cpu_ms_per_incident": unchanged.cpu * 1000 / self.n,
            **{
                name: [vars(c) for c in runs]
                for name, runs in self.cycles.items()  # every cycle, not only the medians
            },
        }


def measure(
    n: int,
    *,
    latency: float,
    sample: int,
    concurrency: int = DEFAULT_CONCURRENCY,
    repeat: int = 3,
    comments: int = 2,
    profile: cProfile.Profile | None = None,
) -> Figures:
    with FakeProcess(n, latency, comments) as server, tempfile.TemporaryDirectory() as tmp:
        ids = list(range(1, min(n, sample) + 1))
        base_s, base_req = baseline(server.url, ids)
        changed = list(range(1, n + 1, 10))  # 10 %
        cycles = asyncio.run(
            daemon_cycles(
                server, n, Path(tmp) / "cache.sqlite3", changed, concurrency, repeat, profile
            )
        )
    return Figures(
        n=n,
        concurrency=concurrency,
        latency=latency,
        bound=n / concurrency * latency,
        baseline=base_s / len(ids) * n,
        baseline_requests=base_req / len(ids) * n,
        sample=len(ids),
        cycles=cycles,
    )


def rows_for(f: Figures) -> list[Row]:
    n, rows = f.n, []
    note = f" (extrapolated from {f.sample})" if f.sample < n else ""
    rows.append(
        Row(
            f"N={n} bound: {n} / {f.concurrency} in flight × {f.latency * 1000:.0f} ms",
            f"{f.bound:.2f} s",
            "-",
            "-",
            "-",
            None,
        )
    )
    rows.append(
        Row(
            f"N={n} baseline: sequential full reads",
            f"{f.baseline:.2f} s, {f.baseline_requests:.0f} req{note}",
            "-",
            "1.0×",
            "-",
            None,
        )
    )
    for name, label in (
        ("cold", "daemon, first cycle (cold cache)"),
        ("unchanged", f"daemon, nothing changed (median of {len(f.cycles['unchanged'])})"),
        ("changed", "daemon, 10 % changed"),
    ):
        c = f.median(name)
        per = c.requests / c.polled if c.polled else float("nan")
        rows.append(
            Row(
                f"N={n} {label}",
                f"{c.seconds:.2f} s, {c.requests} req ({per:.2f}/incident), "
                f"CPU {c.cpu * 1000 / n:.2f} ms/incident",
                f"bound {f.bound:.2f} s",
                f"{c.seconds / f.bound:.2f}× the bound, {f.baseline / c.seconds:.1f}× faster",
                "-",
                None,
            )
        )
    u = f.median("unchanged")
    vs_bound, speedup = u.seconds / f.bound, f.baseline / u.seconds
    per = u.requests / u.polled if u.polled else float("nan")
    rows += [
        Row(
            f"N={n} unchanged cycle / bound",
            f"{u.seconds:.2f} s",
            f"{f.bound:.2f} s",
            f"{vs_bound:.2f}×",
            f"≤ {BOUND_GOAL}×",
            vs_bound <= BOUND_GOAL,
        ),
        Row(
            f"N={n} unchanged cycle vs baseline",
            f"{u.seconds:.2f} s",
            f"{f.baseline:.2f} s",
            f"{speedup:.1f}× faster",
            f"≥ {SPEEDUP_GOAL:.0f}×" if n >= 1000 else "-",
            speedup >= SPEEDUP_GOAL if n >= 1000 else None,
        ),
        Row(
            f"N={n} requests per unchanged incident",
            f"{per:.2f}",
            f"{f.baseline_requests / n:.0f} (full read)",
            "-",
            "1",
            per <= 1.0,
        ),
        Row(
            f"N={n} CPU per unchanged incident (daemon's process)",
            f"{u.cpu * 1000 / n:.2f} ms",
            "-",
            "-",
            "-",
            None,
        ),
    ]
    return rows


def poll_cycle(incidents: int, latency: float, baseline_sample: int) -> Row:
    """``bench/run.py``'s poll row: the daemon's unchanged cycle against the bound."""
    f = measure(incidents, latency=latency, sample=baseline_sample, repeat=3)
    u = f.median("unchanged")
    vs_bound, speedup = u.seconds / f.bound, f.baseline / u.seconds
    note = "" if f.sample == incidents else f", extrapolated from {f.sample}"
    return Row(
        f"daemon poll cycle, {incidents:,} unchanged @ {latency * 1000:.0f} ms",
        f"{u.seconds:.2f} s ({u.requests} req, CPU {u.cpu * 1000 / incidents:.1f} ms/incident)",
        f"bound {f.bound:.2f} s; sequential {f.baseline:.1f} s{note}",
        f"{vs_bound:.2f}x the bound, {speedup:.0f}x faster",
        f"<= {BOUND_GOAL}x the bound",
        vs_bound <= BOUND_GOAL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--sizes", default="100,1000", help="incident counts, comma-separated")
    parser.add_argument("--sample", type=int, default=40, help="baseline sample size")
    parser.add_argument("--repeat", type=int, default=3, help="unchanged cycles (median)")
    parser.add_argument("--comments", type=int, default=2, help="comments per incident")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="requests in flight per tracker (default: the daemon's)",
    )
    parser.add_argument("--profile", type=Path, help="cProfile the last unchanged cycle to this")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 10:
        parser.error("--repeat: 1 to 10 (every 12th read of an incident is a full read)")

    print(
        f"Fake Bugzilla 5.2 in its own process on a loopback socket, {args.latency * 1000:.0f} ms "
        "per request (server side, concurrent); daemon = sync_incident.daemon.Daemon "
        f"(BugzillaTracker, SQLite cache, {args.concurrency} requests in flight) in this process; "
        f"{max(args.comments, 2)} comments per incident."
    )
    rows: list[Row] = []
    figures: dict[str, Any] = {}
    profile = cProfile.Profile(time.process_time) if args.profile else None
    for n in [int(s) for s in args.sizes.split(",")]:
        f = measure(
            n,
            latency=args.latency,
            sample=args.sample,
            concurrency=args.concurrency,
            repeat=args.repeat,
            comments=args.comments,
            profile=profile,
        )
        figures[str(n)] = f.as_json()
        rows += rows_for(f)
    print_table(rows)
    print(
        "Bound: one request per incident, in flight N at a time, nothing but latency between. "
        "Baseline: measured on the first --sample incidents and extrapolated linearly to N. "
        "Daemon cycles are measured in full; requests are counted by the server; CPU is "
        "time.process_time of this (the daemon's) process."
    )
    if profile is not None:
        profile.dump_stats(str(args.profile))
        print(f"profile of the last unchanged cycle: {args.profile}")
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
