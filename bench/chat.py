"""The chat bot's goals, measured against a real Synapse and a fake Bugzilla at 50 ms.

Everything runs on this machine: Synapse on loopback (``scripts/synapse.sh`` installs it;
``tests/chat/synapse.py`` starts it), the fake Bugzilla 5.2 behind a real loopback socket
with 50 ms added to every request (``sync_incident.testing.server``), and ``serve``'s chat
service and daemon (:class:`~sync_incident.chat.service.ChatService`, :class:`Daemon`) on one
event loop, as in ``serve``. People type through Synapse's client-server API from threads.

1. **Command → tracker → confirmation.** ``!incident note …`` (no confirmation) and
   ``!incident signoff …`` confirmed with ✅: the time from the message (or the reaction) to
   the bot's "Recorded" reply, both as the homeserver stamped them (``origin_server_ts``).
   Goal: within 2 s.
2. **Announce.** A note posted on the tracker by someone else, then the daemon poked as a
   tracker's webhook does: the time until the announcement is in the room. Goal: 2 s.
   (Without webhooks, an event is announced after the read that finds it: one poll.)
3. **50 bound rooms, one sync connection, 10,000 messages.** 50 rooms bound in the
   configuration; 10,000 messages (chatter, some vague) typed into them from 5 accounts. The
   process's resident memory as the bot works through them, the syncs it needed (one
   long-polling connection: one loop, one request at a time) and how many it handled.
4. **Faults.** The tracker answering 503 to everything: the bot's reply and the tracker
   unchanged. The homeserver stopped for a while then started again, 5 commands typed
   right after: each recorded once, none lost, and how long the bot took to be back.

    .venv/bin/python bench/chat.py [--messages 10000] [--rooms 50] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from _common import Row, print_table  # noqa: E402

from sync_incident.application.act import act  # noqa: E402
from sync_incident.application.intents import AddNote  # noqa: E402
from sync_incident.chat.service import ChatService  # noqa: E402
from sync_incident.config import BugzillaSettings, ChatSettings, MatrixSettings, Settings  # noqa: E402
from sync_incident.core import codec  # noqa: E402
from sync_incident.core.events import Opened  # noqa: E402
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team  # noqa: E402
from sync_incident.core.refs import IncidentRef  # noqa: E402
from sync_incident.daemon.poller import Daemon  # noqa: E402
from sync_incident.service import Session  # noqa: E402
from sync_incident.testing.bugzilla import FakeBugzilla  # noqa: E402
from sync_incident.testing.server import LoopbackServer, ServerFault  # noqa: E402
from tests.chat.synapse import Account, Synapse, installed_python  # noqa: E402

REL = "Firefox 96.0.1"
PEOPLE = ("dana", "alice", "bob", "quinn", "morgan")
CHATTER = [
    "the respin is building on the try server",
    "crash rate on beta is at the 95.0 baseline",
    "I am looking at the startup crash signature",
    "It seems better",
    "pushed the patch to the release branch",
]


def key(name: str) -> str:
    return f"{name}-key".ljust(40, "0")


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Bench:
    def __init__(self, hs: Synapse, bz: LoopbackServer, fake: FakeBugzilla, rooms: int) -> None:
        self.hs, self.bz, self.fake = hs, bz, fake
        self.bot = hs.register("syncbot")
        self.people: dict[str, Account] = {n: hs.register(n) for n in PEOPLE}
        self.bugs = [
            fake.add_bug(
                f"Incident {n}",
                creator="dana@example.com",
                description=codec.render(Opened(title=f"Incident {n}", releases=[REL], ic="dana")),
            )
            for n in range(rooms)
        ]
        invite = [self.bot.user_id, *(a.user_id for n, a in self.people.items() if n != "dana")]
        self.rooms = [hs.create_room(self.people["dana"], invite) for _ in range(rooms)]
        for room in self.rooms:
            for name, account in self.people.items():
                if name != "dana":
                    hs.join(account, room)
        people = {
            n: Person(bugzilla=[f"{n}@example.com"], matrix=a.user_id)
            for n, a in self.people.items()
        }
        people["syncbot"] = Person(bugzilla=["syncbot@example.com"])
        self.settings = Settings(
            bugzilla=BugzillaSettings(url=bz.url, login="syncbot@example.com"),
            incidents=[f"bug {b}" for b in self.bugs],
            cache=Path(tempfile.mkdtemp()) / "cache.sqlite3",
            matrix=MatrixSettings(
                homeserver=hs.url,
                user_id=self.bot.user_id,
                device_id=self.bot.device_id,
                rooms={room: f"bug {bug}" for room, bug in zip(self.rooms, self.bugs, strict=True)},
                sync_timeout_seconds=5,
            ),
            chat=ChatSettings(nag_minutes=60),
            policy=Policy(
                people=people,
                teams={"QA": Team(members=["quinn"]), "Relman": Team(members=["morgan"])},
                products={"Firefox": ProductPolicy(required_signoffs=["QA"])},
                relays=["syncbot"],
            ),
        )
        self.handled = 0

    def say(self, name: str, room: str, text: str) -> str:
        return self.hs.say(self.people[name], room, text)

    def messages(self, room: str) -> list[dict[str, Any]]:
        return self.hs.messages(self.people["dana"], room, limit=1000)

    async def reply_to(
        self, room: str, event_id: str, pattern: str, timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in await asyncio.to_thread(self.messages, room):
                rel = m["content"].get("m.relates_to", {}).get("m.in_reply_to", {})
                if rel.get("event_id") == event_id and pattern in m["content"]["body"]:
                    return m
            await asyncio.sleep(0.05)
        raise TimeoutError(f"no reply matching {pattern!r} to {event_id}")

    def stamp(self, room: str, event_id: str) -> int:
        """When the homeserver received ``event_id`` (ms)."""
        path = f"/rooms/{room}/context/{event_id}"
        found = self.hs.call(self.people["dana"], "GET", path, params={"limit": 0})
        return int(found["event"]["origin_server_ts"])

    def settings_for(self, name: str) -> Settings:
        """``name``'s own settings (their Bugzilla key, read from the environment)."""
        os.environ["SYNC_INCIDENT_BUGZILLA_API_KEY"] = key(name)
        try:
            return Settings(
                bugzilla=BugzillaSettings(url=self.bz.url, login=f"{name}@example.com"),
                cache=Path(tempfile.mkdtemp()) / "cache.sqlite3",
                policy=self.settings.policy,
            )
        finally:
            os.environ["SYNC_INCIDENT_BUGZILLA_API_KEY"] = key("syncbot")


async def measure(args: argparse.Namespace, b: Bench, rows: list[Row]) -> None:
    os.environ["SYNC_INCIDENT_MATRIX_ACCESS_TOKEN"] = b.bot.token
    os.environ["SYNC_INCIDENT_BUGZILLA_API_KEY"] = key("syncbot")
    settings = Settings(**{})  # secrets from the environment, as serve reads them
    s = b.settings.model_copy(
        update={
            "matrix_access_token": settings.matrix_access_token,
            "bugzilla_api_key": settings.bugzilla_api_key,
        }
    )

    def factory() -> Session:
        return Session(s)

    daemon = Daemon(s, factory, poll_minutes={"bugzilla": 600.0})
    service = ChatService(s, factory(), daemon)
    assert service.matrix is not None
    matrix = service.matrix
    real = service.bot.message

    async def counted(m: Any) -> None:
        b.handled += 1
        await real(m)

    service.bot.message = counted  # type: ignore[method-assign]
    stop = asyncio.Event()
    daemon_task = asyncio.ensure_future(daemon.run())
    chat_task = asyncio.ensure_future(service.run(stop))
    while matrix.syncs < 1 or daemon.cycles < 1:
        await asyncio.sleep(0.05)
    room, bug = b.rooms[0], b.bugs[0]
    try:
        # --- 1. command -> tracker -> confirmation ---------------------------------------
        plain: list[float] = []
        for n in range(args.commands):
            said = await asyncio.to_thread(
                b.say, "dana", room, f"!incident note measurement {n} of the startup crash"
            )
            reply = await b.reply_to(room, said, "Recorded on bug")
            plain.append(
                (reply["origin_server_ts"] - await asyncio.to_thread(b.stamp, room, said)) / 1000
            )
        confirmed: list[float] = []
        for _ in range(max(1, args.commands // 2)):
            said = await asyncio.to_thread(b.say, "quinn", room, f"!incident signoff QA {REL}")
            prompt = await b.reply_to(room, said, "to record on bug")
            reaction = await asyncio.to_thread(
                b.hs.react, b.people["quinn"], room, prompt["event_id"]
            )
            reply = await b.reply_to(room, said, "Recorded on bug")
            confirmed.append(
                (reply["origin_server_ts"] - await asyncio.to_thread(b.stamp, room, reaction))
                / 1000
            )
        worst = max(plain + confirmed)
        rows.append(
            Row(
                "command -> recorded reply, p50 (note)",
                f"{statistics.median(plain):.2f} s",
                "-",
                "-",
                "<= 2 s",
                statistics.median(plain) <= 2,
            )
        )
        rows.append(
            Row(
                "command -> recorded reply, max (note)",
                f"{max(plain):.2f} s",
                "-",
                "-",
                "<= 2 s",
                max(plain) <= 2,
            )
        )
        rows.append(
            Row(
                "confirm (reaction) -> recorded, p50 (sign-off)",
                f"{statistics.median(confirmed):.2f} s",
                "-",
                "-",
                "<= 2 s",
                statistics.median(confirmed) <= 2,
            )
        )
        rows.append(
            Row(
                "confirm (reaction) -> recorded, max",
                f"{max(confirmed):.2f} s",
                "-",
                "-",
                "<= 2 s",
                worst <= 2,
            )
        )

        # --- 2. announce with a webhook ---------------------------------------------------
        announced: list[float] = []
        ref = IncidentRef("bugzilla", bug)
        for n in range(max(1, args.commands // 2)):
            before = len(await asyncio.to_thread(b.messages, room))
            async with Session(b.settings_for("alice")) as alice:
                await act(
                    alice, ref, AddNote(f"alice's tracker note {n} about the crash signature")
                )
            posted = time.time()
            daemon.poke(ref)
            while True:
                after = await asyncio.to_thread(b.messages, room)
                new = [m for m in after[before:] if "alice's tracker note" in m["content"]["body"]]
                if new:
                    announced.append(new[0]["origin_server_ts"] / 1000 - posted)
                    break
                await asyncio.sleep(0.05)
        rows.append(
            Row(
                "tracker post -> announced (webhook poke), p50",
                f"{statistics.median(announced):.2f} s",
                "-",
                "-",
                "<= 2 s",
                statistics.median(announced) <= 2,
            )
        )
        rows.append(
            Row(
                "tracker post -> announced, max",
                f"{max(announced):.2f} s",
                "-",
                "-",
                "<= 2 s",
                max(announced) <= 2,
            )
        )

        # --- 3. 50 rooms, 10,000 messages -------------------------------------------------
        import gc

        gc.collect()
        if args.trace:
            import tracemalloc

            tracemalloc.start()
        start_handled, syncs0 = b.handled, matrix.syncs
        samples: list[tuple[int, float]] = [(0, rss_mib())]
        snapshots: list[Any] = []
        total = args.messages
        names = [n for n in PEOPLE]

        def send(worker: int, workers: int) -> None:
            for i in range(worker, total, workers):
                b.hs.say(
                    b.people[names[i % len(names)]],
                    b.rooms[i % len(b.rooms)],
                    f"{CHATTER[i % len(CHATTER)]} ({i})",
                )

        threads = [threading.Thread(target=send, args=(w, 4)) for w in range(4)]
        started = time.monotonic()
        for t in threads:
            t.start()
        step = max(1, total // 5)
        nxt = step
        while b.handled - start_handled < total:
            await asyncio.sleep(0.2)
            if b.handled - start_handled >= nxt:
                gc.collect()
                samples.append((b.handled - start_handled, rss_mib()))
                if args.trace:
                    snapshots.append(tracemalloc.take_snapshot())
                nxt += step
            if time.monotonic() - started > 900:
                break
        for t in threads:
            await asyncio.to_thread(t.join)
        took = time.monotonic() - started
        handled = b.handled - start_handled
        gc.collect()
        samples.append((handled, rss_mib()))
        growth = samples[-1][1] - samples[1][1] if len(samples) > 2 else float("nan")
        if len(snapshots) >= 2:  # where Python memory grew between the first and last sample
            for stat in snapshots[-1].compare_to(snapshots[0], "traceback")[:6]:
                print("grew:", stat, "\n   ", "\n    ".join(stat.traceback.format()[-4:]))
        print("memory while handling:", ", ".join(f"{n}: {m:.1f} MiB" for n, m in samples))
        rows.append(
            Row(
                "rooms followed on one sync loop",
                f"{len(b.rooms)}",
                "-",
                "-",
                "50",
                len(b.rooms) >= 50,
            )
        )
        rows.append(
            Row(
                f"messages handled of {total}",
                f"{handled}",
                "-",
                "-",
                "all, none lost",
                handled == total,
            )
        )
        rows.append(
            Row(
                "syncs (one long poll at a time) for them",
                f"{matrix.syncs - syncs0}",
                "-",
                "-",
                "-",
                None,
            )
        )
        rows.append(
            Row("messages per second through the bot", f"{handled / took:.0f}", "-", "-", "-", None)
        )
        rows.append(
            Row(
                f"RSS after the first {samples[1][0]} -> after {handled}",
                f"{samples[1][1]:.1f} -> {samples[-1][1]:.1f} MiB",
                "-",
                f"+{growth:.1f} MiB",
                "flat",
                growth < 20,
            )
        )

        # --- 4a. the tracker down ---------------------------------------------------------
        before_comments = len(b.fake.bugs[bug].comments)
        fault = ServerFault("status_before", status=503)
        b.bz.faults.append(fault)
        t0 = time.monotonic()
        said = await asyncio.to_thread(
            b.say, "dana", room, "!incident note the tracker is down now"
        )
        await b.reply_to(room, said, "Waiting for the tracker", timeout=60)
        waiting = time.monotonic() - t0
        reply = await b.reply_to(room, said, "Not recorded", timeout=120)
        down_took = time.monotonic() - t0
        b.bz.faults.remove(fault)
        unchanged = len(b.fake.bugs[bug].comments) == before_comments
        print("tracker down, the bot said:", reply["content"]["body"])
        rows.append(
            Row(
                "tracker down: 'Waiting for the tracker', after",
                f"{waiting:.1f} s",
                "-",
                "-",
                "-",
                None,
            )
        )
        rows.append(
            Row(
                "tracker down: 'Not recorded … Try again', after",
                f"{down_took:.1f} s",
                "-",
                "-",
                "never a false 'Recorded'",
                unchanged and reply["content"]["body"].startswith("Not recorded"),
            )
        )

        # --- 4b. the homeserver down ------------------------------------------------------
        notes_before = len(b.fake.bugs[bug].comments)
        await asyncio.to_thread(b.hs.stop)
        await asyncio.sleep(args.down)
        failures = matrix.failures
        await asyncio.to_thread(b.hs.start)
        back = time.monotonic()
        ids = [
            await asyncio.to_thread(b.say, "dana", room, f"!incident note after the outage {n}")
            for n in range(5)
        ]
        first = None
        for said in ids:
            await b.reply_to(room, said, "Recorded on bug", timeout=180)
            first = first or time.monotonic() - back
        # the notes only: the daemon may post a reminder of its own meanwhile
        new = b.fake.bugs[bug].comments[notes_before:]
        recorded = sum(1 for c in new if c.text.startswith("after the outage"))
        if recorded != 5:  # say what is on the tracker, so a miss can be looked into
            for comment in new:
                print("on the tracker after the outage:", comment.text.splitlines()[0][:200])
        rows.append(
            Row(
                f"homeserver down {args.down:.0f} s: failed syncs (backing off)",
                f"{failures}",
                "-",
                "-",
                "back off",
                failures >= 1,
            )
        )
        rows.append(
            Row("homeserver back -> first command recorded", f"{first:.1f} s", "-", "-", "-", None)
        )
        rows.append(
            Row(
                "commands typed after the outage: recorded",
                f"{recorded} of 5",
                "-",
                "-",
                "5: no loss, no duplicate",
                recorded == 5,
            )
        )
    finally:
        stop.set()
        daemon.stop()
        await asyncio.gather(daemon_task, chat_task, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--commands", type=int, default=10)
    parser.add_argument("--down", type=float, default=8.0, help="seconds the homeserver is down")
    parser.add_argument("--quick", action="store_true", help="1,000 messages, 5 commands")
    parser.add_argument("--trace", action="store_true", help="say where Python memory grew")
    args = parser.parse_args()
    if args.quick:
        args.messages, args.commands, args.down = 1000, 4, 4.0
    for name in list(os.environ):
        if name.startswith("SYNC_INCIDENT_"):
            del os.environ[name]
    fake = FakeBugzilla("5.2")
    for name in (*PEOPLE, "syncbot"):
        fake.add_user(f"{name}@example.com", key(name))
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        LoopbackServer(fake.handler, latency=0.05) as bz,
        Synapse(installed_python(), Path(tmp) / "synapse") as hs,
    ):
        bench = Bench(hs, bz, fake, args.rooms)
        asyncio.run(measure(args, bench, rows))
    print(
        f"\nchat bot: Synapse on loopback, fake Bugzilla 5.2 at 50 ms per request, {args.rooms} rooms\n"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
