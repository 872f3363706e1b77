"""One daemon poll cycle over N incidents on a fake Bugzilla behind a real loopback socket.

The fake server (``tests/fakes/bugzilla.py``, an upstream 5.2 look-alike with ETags and
``new_since``) is served by a threaded HTTP server on 127.0.0.1 with an ephemeral port; every
request waits ``--latency`` seconds (default 50 ms) before it is answered, concurrently with
the others, as a remote server would. For N = 100 and 1,000 incidents it measures:

- the daemon (:class:`sync_incident.daemon.Daemon`, real ``BugzillaTracker``, real SQLite
  cache, bounded concurrency per tracker): a cold first cycle, a cycle where nothing changed,
  and a cycle where 10 % of the incidents got a new comment;
- the baseline: a loop that reads every incident sequentially and in full, as a
  python-bugzilla script would (``GET /rest/bug/{id}`` + ``GET /rest/bug/{id}/comment``).
  At 50 ms per request a sequential loop over 1,000 incidents takes 100 s, so the baseline is
  measured on a sample of incidents and extrapolated linearly (it is strictly sequential,
  hence linear); the output says so.

Figures are ratios against the baseline measured in the same run. Goals (issue 6): an
unchanged incident costs one request; a cycle over 1,000 unchanged incidents is at least 20×
faster than the baseline.

    .venv/bin/python bench/poll.py [--latency 0.05] [--sizes 100,1000] [--sample 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import Row, print_table  # noqa: E402

from sync_incident.config import Settings  # noqa: E402
from sync_incident.core import codec  # noqa: E402
from sync_incident.core.comments import Account, Comment  # noqa: E402
from sync_incident.core.events import Opened, StatusUpdate  # noqa: E402
from sync_incident.core.state import fold  # noqa: E402
from sync_incident.daemon.poller import DEFAULT_CONCURRENCY, Daemon  # noqa: E402
from sync_incident.service import Session  # noqa: E402
from sync_incident.testing.bugzilla import FakeBugzilla  # noqa: E402

ALICE = "alice@example.test"


class LoopbackBugzilla:
    """Serves ``FakeBugzilla.handler`` over HTTP/1.1 on 127.0.0.1 with injected latency."""

    def __init__(self, fake: FakeBugzilla, latency: float) -> None:
        self.fake = fake
        self.latency = latency
        self.requests = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # no Nagle: headers and body go out in separate writes, and a delayed ACK
                # would add ~40 ms to every response
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return None

            def _serve(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                time.sleep(outer.latency)  # the network and the server, concurrently
                request = httpx.Request(
                    self.command,
                    f"http://{self.headers.get('Host', 'localhost')}{self.path}",
                    headers=[(k, v) for k, v in self.headers.items()],
                    content=body,
                )
                with outer._lock:
                    outer.requests += 1
                    response = outer.fake.handler(request)
                    content = response.content
                self.send_response(response.status_code)
                for name, value in response.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackBugzilla:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def change(self, bug_ids: list[int]) -> None:
        with self._lock:
            for bug_id in bug_ids:
                update = StatusUpdate(summary=f"QA is verifying the fix for bug {bug_id}.")
                self.fake.add_comment(bug_id, ALICE, codec.render(update))


def make_fake(n: int) -> FakeBugzilla:
    fake = FakeBugzilla()
    fake.add_user(ALICE, "alice-key-0123456789")
    for i in range(n):
        opened = Opened(title=f"Release incident {i}", ic="alice", releases=["Firefox 96.0.1"])
        bug = fake.add_bug(f"Release incident {i}", creator=ALICE, description=codec.render(opened))
        fake.add_comment(bug, ALICE, codec.render(StatusUpdate(summary="Investigating the crash.")))
    return fake


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
                    codec_time(c["creation_time"]),
                    c["text"],
                )
                for c in raw
            ]
            fold(comments, kind="bugzilla", title=bug["summary"])
    return time.perf_counter() - start, requests


def codec_time(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Clock:
    def __init__(self, now: Any) -> None:
        self.now = now

    def __call__(self) -> Any:
        return self.now


async def daemon_cycles(
    server: LoopbackBugzilla, n: int, cache: Path, changed: list[int], concurrency: int
) -> dict[str, tuple[float, int, int]]:
    """Cold, unchanged and 10 %-changed cycles: {name: (seconds, requests, incidents polled)}."""
    settings = Settings(
        tracker="bugzilla",
        incidents=[f"bug {i}" for i in range(1, n + 1)],
        bugzilla={"url": server.url, "poll_minutes": 5},
        cache=cache,
        reminders={"no_update_hours": 10_000, "handoff_pending_minutes": 10_000},
    )
    clock = Clock(server.fake.clock.moment() + timedelta(minutes=1))
    session = Session(settings)
    daemon = Daemon(settings, lambda: session, clock=clock, progress=False, concurrency=concurrency)
    out: dict[str, tuple[float, int, int]] = {}
    try:
        for name in ("cold", "unchanged", "changed"):
            if name == "changed":
                server.change(changed)
            before = server.requests
            start = time.perf_counter()
            report = await daemon.cycle(session)
            out[name] = (time.perf_counter() - start, server.requests - before, report.polled)
            if report.failed:
                raise SystemExit(f"{report.failed} incidents failed in the {name} cycle")
            clock.now += timedelta(minutes=5)  # the next cycle: every incident is due again
    finally:
        await session.aclose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--sizes", default="100,1000", help="incident counts, comma-separated")
    parser.add_argument("--sample", type=int, default=40, help="baseline sample size")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help="requests in flight per tracker (default: the daemon's)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    print(
        f"Fake Bugzilla 5.2 on a real loopback socket, {args.latency * 1000:.0f} ms per request; "
        "daemon = sync_incident.daemon.Daemon (BugzillaTracker, SQLite cache, "
        f"{args.concurrency} concurrent requests per tracker)."
    )
    rows: list[Row] = []
    figures: dict[str, Any] = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        fake = make_fake(n)
        with LoopbackBugzilla(fake, args.latency) as server, tempfile.TemporaryDirectory() as tmp:
            sample = list(range(1, min(n, args.sample) + 1))
            base_s, base_req = baseline(server.url, sample)
            per_incident_s, per_incident_req = base_s / len(sample), base_req / len(sample)
            base_total_s, base_total_req = per_incident_s * n, per_incident_req * n
            changed = list(range(1, n + 1, 10))  # 10 %
            cycles = asyncio.run(
                daemon_cycles(server, n, Path(tmp) / "cache.sqlite3", changed, args.concurrency)
            )
        extrapolated = len(sample) < n
        note = f" (extrapolated from {len(sample)})" if extrapolated else ""
        figures[str(n)] = {
            "baseline_seconds": base_total_s,
            "baseline_requests": base_total_req,
            "baseline_sample": len(sample),
            **{
                name: {"seconds": s, "requests": r, "polled": p}
                for name, (s, r, p) in cycles.items()
            },
        }
        rows.append(
            Row(
                f"N={n} baseline: sequential full reads",
                f"{base_total_s:.2f} s, {base_total_req:.0f} req{note}",
                "-",
                "1.0×",
                "-",
                None,
            )
        )
        for name, label in (
            ("cold", "daemon, first cycle (cold cache)"),
            ("unchanged", "daemon, nothing changed"),
            ("changed", "daemon, 10 % changed"),
        ):
            secs, reqs, polled = cycles[name]
            speedup = base_total_s / secs if secs else float("inf")
            per = reqs / polled if polled else float("nan")
            goal, met = "-", None
            if name == "unchanged":
                goal = "1 req/incident" + (", ≥20× faster" if n >= 1000 else "")
                met = per <= 1.0 + 1.0 / n * 2 and (n < 1000 or speedup >= 20)
            rows.append(
                Row(
                    f"N={n} {label}",
                    f"{secs:.2f} s, {reqs} req ({per:.2f}/incident)",
                    f"{base_total_s:.2f} s, {base_total_req:.0f} req",
                    f"{speedup:.1f}× faster, {reqs / base_total_req:.2f}× requests",
                    goal,
                    met,
                )
            )
    print_table(rows)
    print(
        "Baseline: measured on the first --sample incidents and extrapolated linearly to N "
        "(a sequential loop is linear); the daemon cycles are measured in full. "
        "Requests are counted by the server."
    )
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
