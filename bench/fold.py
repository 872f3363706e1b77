"""Folding 100,000 events vs json.loads of the same trailers; showing a 10,000-event local incident.

The fold is measured twice: the first fold in the process, which parses and validates every
trailer, and a fold of the same comments again (best of 3), which finds them in the codec's
parse cache, as the second fold of a posting command and every daemon poll of an incident do.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from _common import Row, best_of

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import Note, Opened, SignoffGiven, StatusUpdate, StepAdded
from sync_incident.core.fold import fold

START = datetime(2022, 1, 12, 9, 0, tzinfo=UTC)


def make_comments(n: int) -> list[Comment]:
    bodies = [
        codec.render(Opened(title="Startup crash spike", ic="alice", releases=["Firefox 96.0.1"]))
    ]
    kinds = [
        lambda i: Note(text=f"Crash rate on Firefox 96.0.1 is {i % 7} per mille after build {i}."),
        lambda i: StepAdded(step=str(i), title=f"Verify build {i} on nightly", owner="bob"),
        lambda i: StatusUpdate(summary=f"Build {i} is being verified by QA."),
        lambda i: SignoffGiven(
            team="QA", release="Firefox 96.0.1", statement="QA signs off on Firefox 96.0.1."
        ),
    ]
    bodies += [codec.render(kinds[i % len(kinds)](i)) for i in range(n - 1)]
    return [
        Comment(id=str(i), author=Account("alice"), created_at=START + timedelta(seconds=i), body=b)
        for i, b in enumerate(bodies)
    ]


_PAYLOAD = re.compile(r"(\{.*\}) c=")


def fold_vs_json(n: int = 100_000) -> list[Row]:
    comments = make_comments(n)
    payloads = [_PAYLOAD.search(c.body.rsplit("\n", 1)[-1]).group(1) for c in comments]  # type: ignore[union-attr]
    base = best_of(lambda: [json.loads(p) for p in payloads], 3)
    codec.clear_caches()
    first = best_of(lambda: fold(comments, kind="local", now=START), 1)
    again = best_of(lambda: fold(comments, kind="local", now=START), 3)
    rows = []
    for what, measured, goal in (("first fold", first, 10), ("again, parsed", again, 6)):
        ratio = measured / base
        rows.append(
            Row(
                f"fold {n:,} events, {what}",
                f"{measured:.2f} s",
                f"json.loads {base:.2f} s",
                f"{ratio:.1f}x",
                f"<= {goal}x",
                ratio <= goal,
            )
        )
    return rows


def show_local(n: int = 10_000) -> Row:
    from sync_incident.application.overview import overview
    from sync_incident.core.policy import Policy
    from sync_incident.core.refs import IncidentRef
    from sync_incident.trackers.local import LocalTracker
    from sync_incident.views import state_text

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        comments = make_comments(n)

        async def fill() -> None:
            tracker = LocalTracker(path, user="alice")
            from sync_incident.trackers.base import NewIncident

            await tracker.create(
                NewIncident(title="bench", body=comments[0].body, marker="bench-open")
            )
            for c in comments[1:]:
                await tracker.post(IncidentRef("local", 1), c.body, marker=f"m{c.id}x")
            await tracker.aclose()

        asyncio.run(fill())

        async def show() -> str:
            tracker = LocalTracker(path, user="alice")
            snap = await tracker.fetch(IncidentRef("local", 1))
            await tracker.aclose()
            state = fold(snap.comments, kind="local")
            return state_text(overview(state, Policy(), None, datetime.now(UTC)))

        measured = best_of(lambda: asyncio.run(show()), 3)
    return Row(
        f"show local incident, {n:,} events",
        f"{measured * 1000:.0f} ms",
        "-",
        "-",
        "interactive (< 1 s)",
        measured < 1.0,
    )


def show_processes(big: int = 10_000, small: int = 10, runs: int = 7) -> Row:
    """``sync-incident show local:1`` as a person runs it (a whole process), on a ``big``-event
    incident against a ``small`` one: medians of ``runs``, interleaved."""
    import os
    import statistics
    import subprocess
    import time

    from sync_incident.core.refs import IncidentRef
    from sync_incident.trackers.base import NewIncident
    from sync_incident.trackers.local import LocalTracker

    exe = str(Path(sys.executable).with_name("sync-incident"))
    with tempfile.TemporaryDirectory() as tmp:
        dbs = {}
        for n in (small, big):
            path = Path(tmp) / f"show-{n}.sqlite3"
            comments = make_comments(n)

            async def fill(path: Path = path, comments: list[Comment] = comments) -> None:
                tracker = LocalTracker(path, user="alice")
                new = NewIncident(title="bench", body=comments[0].body, marker="bench-open")
                await tracker.create(new)
                for c in comments[1:]:
                    await tracker.post(IncidentRef("local", 1), c.body, marker=f"m{c.id}x")
                await tracker.aclose()

            asyncio.run(fill())
            dbs[n] = path
        times: dict[int, list[float]] = {small: [], big: []}
        env = {**os.environ, "SYNC_INCIDENT_CACHE": str(Path(tmp) / "cache.sqlite3")}
        for _ in range(runs):
            for n, path in dbs.items():
                start = time.perf_counter()
                subprocess.run(
                    [exe, "--db", str(path), "show", "local:1"],
                    env=env,
                    check=True,
                    capture_output=True,
                )
                times[n].append(time.perf_counter() - start)
    shown = {n: statistics.median(t) for n, t in times.items()}
    ratio = shown[big] / shown[small]
    return Row(
        f"show local:1 (a process), {big:,} events",
        f"{shown[big] * 1000:.0f} ms",
        f"{small} events {shown[small] * 1000:.0f} ms",
        f"{ratio:.2f}x",
        "<= 2x",
        ratio <= 2,
    )


if __name__ == "__main__":
    from _common import print_table

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print_table([*fold_vs_json(n), show_local(), show_processes()])
