"""Cold reads on a real Bugzilla: `sync-incident bug N` vs python-bugzilla vs one raw GET.

    bz_env="$(../shared/bugzilla-server/start.sh)"; set -a; eval "$bz_env"; set +a
    export SYNC_INCIDENT_TEST_BUGZILLA_URL="$BUGZILLA_URL"
    .venv/bin/python bench/coldread.py [--runs 7] [--comments 1000] [--bug N]

It starts nothing: give it a running Bugzilla (the kit in ``../shared/bugzilla-server``
prints the variables) through ``SYNC_INCIDENT_TEST_BUGZILLA_URL`` and
``BUGZILLA_ADMIN_API_KEY``. Unless ``--bug`` names one, it files a bug, opens an incident on it
with the CLI and adds comments until the bug has ``--comments`` of them (8 at a time; about a
minute for 1,000 on the kit's CGI server); it prints the bug's number for the next run.

Then, interleaved (one of each per round, so a busy machine slows all alike), whole processes,
medians of ``--runs``, every read cold (a new cache file, a new HOME) and with the admin's key:

- one raw GET of the bug's comments: ``python -c "import httpx; httpx.get(...)"`` (the same
  interpreter and HTTP library as ours, so it pays their start-up too);
- the raw GETs of the comments and of the bug's fields, side by side (what a reader with a
  key needs: the fields serve the mirror it may bring in line): the floor of a keyed read
  on this server, where each request is a CGI process and two of them share its cores;
- ``sync-incident bug N`` (the goal: at most 1.3x the raw GET, and faster than python-bugzilla);
- python-bugzilla, ``Bugzilla(url, api_key=..., force_rest=True).getbug(N).getcomments()``,
  when it is installed (``pip install python-bugzilla``: it is not a dependency of this
  project, only this bench's peer; without it the column says so);
- ``sync-incident gate bug N --release R`` (the gate's fresh read: the history too);
- ``sync-incident bug N`` without a key (the comments alone).

Last, each command runs once more through a loopback proxy that notes, for every request, how
many answers had begun to come back when it was sent: requests sent before any answer share
one round trip, a request sent after an answer waited for it. The table gives the requests
(``SYNC_INCIDENT_REQUEST_LOG`` for ours, the proxy for the peers) and those round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sync_incident.trackers.bugzilla.mirror import BUG_FIELDS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, print_table  # noqa: E402

RELEASE = "Firefox 96.0.1"
PRODUCT, COMPONENT = "Release Engineering", "General"
READ_GOAL = 1.3  # x one raw GET of the comments


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _exe() -> str:
    script = ROOT / ".venv" / "bin" / "sync-incident"
    return str(script) if script.exists() else "sync-incident"


def _env(home: Path, url: str, key: str | None, log: Path | None = None) -> dict[str, str]:
    """A cold machine: a new HOME and cache, nothing of ours from the caller's environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SYNC_INCIDENT_", "BUGZILLA_")) and k not in ("GITHUB_TOKEN",)
    }
    env |= {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "SYNC_INCIDENT_BUGZILLA__URL": url,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if key:
        env["SYNC_INCIDENT_BUGZILLA_API_KEY"] = key
    if log is not None:
        env["SYNC_INCIDENT_REQUEST_LOG"] = str(log)
    return env


# ------------------------------------------------------------------------------- the bug


def _rest(client: httpx.Client, method: str, path: str, key: str, **kwargs: object) -> object:
    response = client.request(method, f"/rest{path}", params={"Bugzilla_api_key": key}, **kwargs)  # type: ignore[arg-type]
    data = response.json()
    if isinstance(data, dict) and data.get("error"):
        raise SystemExit(f"{method} {path}: {data.get('message')}")
    return data


def make_bug(url: str, key: str, comments: int) -> int:
    """A bug with an incident opened on it and ``comments`` comments in all."""
    with httpx.Client(base_url=url, timeout=120) as client:
        body = {
            "product": PRODUCT,
            "component": COMPONENT,
            "version": "unspecified",
            "op_sys": "All",
            "platform": "All",
            "summary": f"Cold read bench: {comments} comments",
            "description": "A bug for bench/coldread.py.",
        }
        bug = _rest(client, "POST", "/bug", key, json=body)
    number = int(bug["id"])  # type: ignore[index]
    with tempfile.TemporaryDirectory() as tmp:
        opened = subprocess.run(
            [_exe(), "open", f"bug {number}", "--release", RELEASE],
            env=_env(Path(tmp), url, key) | {"SYNC_INCIDENT_BUGZILLA__LOGIN": "admin@example.com"},
            capture_output=True,
            text=True,
        )
    if opened.returncode != 0:
        raise SystemExit(f"sync-incident open failed: {opened.stderr.strip()}")
    asyncio.run(_fill(url, key, number, comments - 2))  # the description and the opening
    return number


async def _fill(url: str, key: str, number: int, count: int) -> None:
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:

        async def one(n: int) -> None:
            async with gate:
                text = f"Status {n}: the crash rate on {RELEASE} is {n % 7} per mille."
                response = await client.post(
                    f"/rest/bug/{number}/comment",
                    params={"Bugzilla_api_key": key},
                    json={"comment": text},
                )
                response.raise_for_status()

        await asyncio.gather(*(one(n) for n in range(count)))


# ------------------------------------------------------------------------------- the proxy


@dataclass
class Rounds:
    """What the proxy saw: per request, how many answers had begun when it was sent."""

    answers: int = 0
    requests: list[tuple[str, int]] = field(default_factory=list)

    def round_trips(self) -> int:
        return len({seen for _, seen in self.requests})


class Proxy:
    """A loopback TCP proxy in a thread of its own, counting requests and round trips."""

    def __init__(self, upstream: str) -> None:
        target = httpx.URL(upstream)
        self.host, self.port = target.host, target.port or 80
        self.path = target.path
        self.rounds = Rounds()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self.listen = 0
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listen}{self.path}"

    def reset(self) -> Rounds:
        seen, self.rounds = self.rounds, Rounds()
        return seen

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0)
        )
        self.listen = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        waiting = [False]  # a request was sent on this connection, no answer begun yet

        async def upward() -> None:
            while data := await reader.read(65536):
                if not waiting[0]:
                    # the method and the path only: keys travel in query strings on 5.x
                    method, _, rest = data.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
                    path = rest.split(" ", 1)[0].split("?", 1)[0]
                    self.rounds.requests.append((f"{method} {path}", self.rounds.answers))
                    waiting[0] = True
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def downward() -> None:
            while data := await up_reader.read(65536):
                if waiting[0]:
                    self.rounds.answers += 1
                    waiting[0] = False
                writer.write(data)
                await writer.drain()
            writer.close()

        with contextlib.suppress(ConnectionError):
            await asyncio.gather(upward(), downward())


# ------------------------------------------------------------------------------- measuring


@dataclass
class Command:
    name: str
    argv: list[str]
    key: str | None
    codes: tuple[int, ...] = (0,)  # the exit codes that mean it ran (the gate: 1, not ready)
    times: list[float] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    round_trips: int = 0


@contextlib.contextmanager
def _home() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="coldread-") as tmp:
        yield Path(tmp)


def _run(command: Command, url: str, *, log: bool = False) -> float:
    with _home() as home:
        path = home / "requests.log" if log else None
        env = _env(home, url, command.key, path)
        argv = [a.replace("{URL}", url) for a in command.argv]
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode not in command.codes:
            raise SystemExit(f"{command.name} failed ({done.returncode}): {done.stderr[-600:]}")
        if path is not None and path.exists():
            command.requests = path.read_text().splitlines()
    return elapsed


def commands(bug: int, key: str) -> list[Command]:
    python, exe = _python(), _exe()
    raw = (
        "import httpx, os; r = httpx.get('{URL}/rest/bug/@N@/comment', timeout=300, "
        "params={'Bugzilla_api_key': os.environ['SYNC_INCIDENT_BUGZILLA_API_KEY']}); "
        "r.raise_for_status(); assert len(r.json()['bugs']['@N@']['comments']) > 0"
    ).replace("@N@", str(bug))
    peer = (
        "import bugzilla, os; bz = bugzilla.Bugzilla('{URL}/rest/', force_rest=True, "
        "api_key=os.environ['SYNC_INCIDENT_BUGZILLA_API_KEY']); "
        "b = bz.getbug(@N@); assert len(b.getcomments()) > 0"
    ).replace("@N@", str(bug))
    pair = (
        (
            "import asyncio, httpx, os\n"
            "async def go():\n"
            "    key = {'Bugzilla_api_key': os.environ['SYNC_INCIDENT_BUGZILLA_API_KEY']}\n"
            "    async with httpx.AsyncClient(timeout=300) as c:\n"
            "        a, b = await asyncio.gather(c.get('{URL}/rest/bug/@N@/comment', params=key),\n"
            "            c.get('{URL}/rest/bug/@N@', params={**key, 'include_fields': '@F@'}))\n"
            "        a.raise_for_status(); b.raise_for_status()\n"
            "asyncio.run(go())\n"
        )
        .replace("@N@", str(bug))
        .replace("@F@", BUG_FIELDS)
    )
    found = [
        Command("one raw GET of the comments", [python, "-c", raw], key),
        Command("raw GETs of the comments and the bug, side by side", [python, "-c", pair], key),
        Command(f"sync-incident bug {bug}, cold", [exe, "bug", str(bug)], key),
    ]
    if importlib.util.find_spec("bugzilla") is not None:
        found.append(Command("python-bugzilla getbug + getcomments", [python, "-c", peer], key))
    found += [
        Command(
            f"sync-incident gate bug {bug}, cold",
            [exe, "gate", f"bug {bug}", "--release", RELEASE, "--require", "QA"],
            key,
            codes=(1,),  # not ready: QA has not signed off
        ),
        Command(f"sync-incident bug {bug}, cold, no key", [exe, "bug", str(bug)], None),
    ]
    return found


def measure(url: str, key: str, bug: int, runs: int) -> list[Command]:
    measured = commands(bug, key)
    for command in measured:  # warm the OS file cache, the .pyc files and the server
        _run(command, url)
    for _ in range(runs):
        for command in measured:
            command.times.append(_run(command, url, log=True))
    proxy = Proxy(url)
    for command in measured:
        proxy.reset()
        _run(command, proxy.url)
        seen = proxy.reset()
        command.round_trips = seen.round_trips()
        if not command.requests or not command.name.startswith("sync-incident"):
            command.requests = [line for line, _ in seen.requests]
    return measured


def rows(measured: list[Command], runs: int) -> list[Row]:
    raw = statistics.median(measured[0].times)
    pair = statistics.median(measured[1].times)
    peer = next((c for c in measured if c.name.startswith("python-bugzilla")), None)
    peer_median = statistics.median(peer.times) if peer else None
    out = []
    for command in measured:
        median = statistics.median(command.times)
        ratio = median / raw
        ours = command.name.startswith("sync-incident bug") and "no key" not in command.name
        versus = f"; python-bugzilla {peer_median:.2f} s" if ours and peer_median else ""
        if ours:
            versus += f"; raw side by side {pair:.2f} s ({median / pair:.2f}x)"
        met: bool | None = None
        goal = "-"
        if ours:
            goal = f"<= {READ_GOAL}x, < python-bugzilla, 1 round trip"
            faster = peer_median is None or median < peer_median
            met = ratio <= READ_GOAL and faster and command.round_trips <= 1
        elif command.name.startswith("sync-incident gate"):
            goal = "<= 2 round trips"
            met = command.round_trips <= 2
        out.append(
            Row(
                command.name,
                f"{median:.2f} s; {len(command.requests)} requests, "
                f"{command.round_trips} round trip{'s' if command.round_trips != 1 else ''}",
                f"raw GET {raw:.2f} s{versus} (medians of {runs})",
                f"{ratio:.2f}x",
                goal,
                met,
            )
        )
    if peer is None:
        out.append(
            Row("python-bugzilla", "not installed", "pip install python-bugzilla", "-", "-", None)
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=7, help="rounds of every command (>= 3)")
    parser.add_argument("--comments", type=int, default=1000, help="comments on a new bug")
    parser.add_argument("--bug", type=int, help="an existing bug made by an earlier run")
    args = parser.parse_args(argv)
    url = os.environ.get("SYNC_INCIDENT_TEST_BUGZILLA_URL", "").rstrip("/")
    key = os.environ.get("BUGZILLA_ADMIN_API_KEY", "")
    if not url or not key:
        print(
            "skipped: set SYNC_INCIDENT_TEST_BUGZILLA_URL and BUGZILLA_ADMIN_API_KEY "
            "(../shared/bugzilla-server/start.sh prints them)",
            file=sys.stderr,
        )
        return 0
    if args.runs < 3:
        parser.error("--runs must be at least 3: the figures are medians")
    bug = args.bug or make_bug(url, key, args.comments)
    print(f"bug {bug} ({'given' if args.bug else f'made with {args.comments} comments'})")
    measured = measure(url, key, bug, args.runs)
    print_table(rows(measured, args.runs))
    for command in measured:
        print(f"\n{command.name}:")
        for line in command.requests:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
