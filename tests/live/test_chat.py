"""The chat bot against a real Bugzilla 5.2 and a real Synapse: the story's core from a room.

The bot relays under the ``admin`` account (the policy's relay); alice holds from the room and
confirms with a reaction, bob's release of her hold is refused, the gate is asked in the room,
and the bug's comments are exactly what the room says was recorded, each carrying its relay
envelope.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from pathlib import Path
from typing import Any

import pytest

from sync_incident.application.act import act
from sync_incident.application.intents import Open
from sync_incident.chat.bot import Bot
from sync_incident.chat.matrix import MatrixChat
from sync_incident.chat.store import Store
from sync_incident.config import BugzillaSettings, Settings
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.service import Session
from tests.chat.synapse import Account, Synapse
from tests.live.server import KEYS, RELEASE, URL, live, login, new_bug, raw

pytestmark = [live, pytest.mark.slow]
_RUN = itertools.count(1)
NAMES = ("alice", "bob", "beatrice", "qa")


def settings_for(
    person: str, policy: Policy, tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", KEYS[person])
    try:
        return Settings(
            bugzilla=BugzillaSettings(url=URL, login=login(person)),
            cache=tmp / f"cache-{person}.sqlite3",
            policy=policy,
        )
    finally:
        monkeypatch.delenv("SYNC_INCIDENT_BUGZILLA_API_KEY")


def test_the_story_from_a_room_on_a_real_bugzilla(
    synapse: Synapse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = next(_RUN)
    bot_account = synapse.register(f"relaybot{n}")
    people: dict[str, Account] = {name: synapse.register(f"{name}live{n}") for name in NAMES}
    persons = {name: Person(bugzilla=[login(name)], matrix=people[name].user_id) for name in NAMES}
    persons["admin"] = Person(bugzilla=[login("admin")])
    policy = Policy(
        people=persons,
        teams={"QA": Team(members=["qa"]), "Relman": Team(members=["admin"])},
        products={"Firefox": ProductPolicy(required_signoffs=["QA"])},
        relays=["admin"],
    )
    bug = new_bug("Chat story: startup crash")
    ref = IncidentRef("bugzilla", bug)
    room = synapse.create_room(
        people["beatrice"], [bot_account.user_id, people["alice"].user_id, people["bob"].user_id]
    )
    for name in ("alice", "bob"):
        synapse.join(people[name], room)
    beatrice = settings_for("beatrice", policy, tmp_path, monkeypatch)
    bot_settings = settings_for("admin", policy, tmp_path, monkeypatch)

    def bot_said() -> list[dict[str, Any]]:
        return [
            m
            for m in synapse.messages(people["beatrice"], room)
            if m["sender"] == bot_account.user_id
        ]

    async def reply(pattern: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in bot_said() if re.search(pattern, m["content"]["body"])]
            if found:
                return found[-1]
            await asyncio.sleep(0.2)
        raise AssertionError(
            f"no {pattern!r}; the bot said {[m['content']['body'][:100] for m in bot_said()]}"
        )

    async def story() -> None:
        async with Session(beatrice) as s:
            await act(s, ref, Open(releases=(RELEASE,)))
        async with Session(bot_settings) as bot_session:
            store = Store(bot_session.cache())
            bot = Bot(bot_settings, bot_session, store, patience=30.0)
            chat = MatrixChat(
                synapse.url,
                bot_account.user_id,
                bot_account.token,
                bot,
                store,
                device_id=bot_account.device_id,
                sync_timeout=1.0,
            )
            bot.attach(chat)
            stop = asyncio.Event()
            task = asyncio.ensure_future(chat.run(stop))
            try:
                while (
                    chat.syncs < 1
                    or bot_account.user_id
                    not in synapse.call(people["beatrice"], "GET", f"/rooms/{room}/joined_members")[
                        "joined"
                    ]
                ):
                    await asyncio.sleep(0.1)
                synapse.say(people["beatrice"], room, f"!incident bind bug {bug}")
                await reply(r"^Recorded on bug \d+( \(comment \d+\))?: beatrice binds Matrix room")
                synapse.say(
                    people["alice"],
                    room,
                    "!incident hold Firefox 96.0.1 because of a crash spike on startup",
                )
                prompt = await reply(r"to record on bug \d+: “alice holds Firefox 96.0.1")
                synapse.react(people["alice"], room, prompt["event_id"])
                await reply(r"^Recorded on bug \d+( \(comment \d+\))?: alice holds Firefox 96.0.1")
                synapse.say(
                    people["bob"],
                    room,
                    "!incident release-hold Firefox 96.0.1 the crash is fixed now",
                )
                await reply(r"^Refused: .*only alice, who raised the hold")
                synapse.say(people["bob"], room, "!incident gate")
                await reply(r"^NOT READY Firefox 96.0.1 — alice holds Firefox 96.0.1")
            finally:
                stop.set()
                await task
                await bot.drain()
                await chat.aclose()

    asyncio.run(story())
    comments = raw("GET", f"/bug/{bug}/comment")["bugs"][str(bug)]["comments"]
    relayed = [c for c in comments if '"via"' in c["text"]]
    assert [c["creator"] for c in relayed] == [login("admin")] * 2
    assert "beatrice binds Matrix room" in relayed[0]["text"]
    assert relayed[1]["text"].startswith("alice holds Firefox 96.0.1 because of a crash spike")
    # the room said "Recorded" for exactly what the bug holds
    said = [m["content"]["body"] for m in bot_said() if m["content"]["body"].startswith("Recorded")]
    assert [text.split(": ", 1)[1].split("\n")[0] for text in said] == [
        c["text"].split("\n")[0] for c in relayed
    ]
