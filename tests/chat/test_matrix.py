"""The release team's story from real Matrix accounts on a real Synapse, against the local tracker.

Each person types in the room through the homeserver's client-server API; the bot follows the
room with its sync loop (:class:`~sync_incident.chat.matrix.MatrixChat`) and acts on the
tracker. At the end the tracker holds exactly the events the room shows.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sync_incident.application.act import act
from sync_incident.application.intents import SignOff
from sync_incident.chat.bot import Bot
from sync_incident.chat.matrix import MatrixChat
from sync_incident.chat.store import Store
from sync_incident.config import LocalSettings, Settings
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from tests.chat.synapse import Account, Synapse
from tests.chat.world import REL, opened, session

pytestmark = pytest.mark.slow
_RUN = itertools.count(1)
PEOPLE = ("dana", "alice", "bob", "beatrice", "quinn")


@dataclass
class Team_:
    hs: Synapse
    bot: Account
    people: dict[str, Account]
    room: str
    settings: Settings
    ref: IncidentRef

    def say(self, name: str, text: str) -> str:
        return self.hs.say(self.people[name], self.room, text)

    def bot_messages(self) -> list[dict[str, Any]]:
        return [
            m
            for m in self.hs.messages(self.people["dana"], self.room)
            if m["sender"] == self.bot.user_id
        ]

    async def reply(self, pattern: str, *, after: int = 0, timeout: float = 20.0) -> dict[str, Any]:
        """The first bot message from number ``after`` on whose text matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [
                m for m in self.bot_messages()[after:] if re.search(pattern, m["content"]["body"])
            ]
            if found:
                return found[0]
            await asyncio.sleep(0.1)
        bodies = [m["content"]["body"][:120] for m in self.bot_messages()]
        raise AssertionError(f"no bot message matching {pattern!r}; the bot said: {bodies}")

    async def state(self) -> IncidentState:
        async with session(self.settings, "dana") as s:
            return (await s.read(self.ref)).state


def team_policy(people: dict[str, Account]) -> Policy:
    persons = {name: Person(matrix=account.user_id) for name, account in people.items()}
    persons["syncbot"] = Person()
    return Policy(
        people=persons,
        teams={"QA": Team(members=["quinn"]), "Relman": Team(members=["dana"])},
        products={"Firefox": ProductPolicy(required_signoffs=["QA"])},
        relays=["syncbot"],
    )


async def until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def running(team: Team_, store_dir: Path) -> AsyncIterator[tuple[Bot, MatrixChat]]:
    """The bot on its own session and cache, syncing until the block ends."""
    async with session(team.settings, "syncbot") as bot_session:
        bot_session.settings = team.settings
        store = Store(bot_session.cache())
        bot = Bot(team.settings, bot_session, store)
        chat = MatrixChat(
            team.hs.url,
            team.bot.user_id,
            team.bot.token,
            bot,
            store,
            device_id=team.bot.device_id,
            sync_timeout=1.0,
        )
        bot.attach(chat)
        stop = asyncio.Event()
        task = asyncio.ensure_future(chat.run(stop))
        try:
            await until(lambda: chat.syncs >= 1)
            yield bot, chat
        finally:
            stop.set()
            await task
            await bot.drain()
            await chat.aclose()


@asynccontextmanager
async def team_in_a_room(synapse: Synapse, tmp_path: Path) -> AsyncIterator[Team_]:
    n = next(_RUN)
    bot = synapse.register(f"syncbot{n}")
    people = {name: synapse.register(f"{name}{n}") for name in PEOPLE}
    settings = Settings(
        local=LocalSettings(db=tmp_path / "local.sqlite3"),
        cache=tmp_path / "cache.sqlite3",
        policy=team_policy(people),
    )
    ref = await opened(settings)
    invite = [bot.user_id, *(a.user_id for name, a in people.items() if name != "dana")]
    room = synapse.create_room(people["dana"], invite)
    for name, account in people.items():
        if name != "dana":
            synapse.join(account, room)
    yield Team_(synapse, bot, people, room, settings, ref)


def test_the_story_from_the_room(synapse: Synapse, tmp_path: Path) -> None:
    async def story() -> tuple[list[str], IncidentState]:
        async with team_in_a_room(synapse, tmp_path) as team, running(team, tmp_path) as (bot, _):
            # the bot accepts dana's invitation (she is a person of the policy)
            await until(
                lambda: (
                    team.bot.user_id
                    in synapse.call(
                        team.people["dana"], "GET", f"/rooms/{team.room}/joined_members"
                    )["joined"]
                )
            )
            team.say("dana", f"!incident bind {team.ref}")
            await team.reply(r"^Recorded on local:1 \(comment 2\): dana binds Matrix room")

            # alice holds from the room, and confirms with a reaction
            team.say("alice", "!incident hold Firefox 96.0.1 because of a crash spike on startup")
            prompt = await team.reply(r"to record on local:1: “alice holds Firefox 96.0.1")
            synapse.react(team.people["alice"], team.room, prompt["event_id"])
            await team.reply(r"^Recorded on local:1 \(comment 3\): alice holds Firefox 96.0.1")

            # bob may not release alice's hold: refused in the room, nothing recorded
            count = len(team.bot_messages())
            team.say("bob", "!incident release-hold Firefox 96.0.1 the crash is fixed now")
            await team.reply(r"^Refused: .*only alice, who raised the hold", after=count)

            # dana hands off to beatrice, who accepts by reaction
            beatrice = team.people["beatrice"].user_id
            team.say("dana", f"!incident handoff {beatrice} --done 'steps 1-4' --todo 'step 5'")
            await team.reply(r"^Recorded on local:1 \(comment 4\): beatrice, dana asks you")
            team.say("beatrice", "!incident accept")
            prompt = await team.reply(r"to record on local:1: “beatrice accepts")
            synapse.react(team.people["beatrice"], team.room, prompt["event_id"], "👍")
            await team.reply(r"^Recorded on local:1 \(comment 5\): beatrice accepts")

            # the gate, asked in the room
            team.say("quinn", "!incident gate")
            await team.reply(r"^NOT READY Firefox 96.0.1 — alice holds Firefox 96.0\.1")

            # quinn signs off from the CLI: the room hears of it (as after the daemon's read)
            async with session(team.settings, "quinn") as quinn:
                await act(quinn, team.ref, SignOff("QA", REL))
            reading = await bot.session.read(team.ref)
            await bot.announce(team.ref, reading.state, reading.snapshot.comments)
            await team.reply(r"^QA signs off on Firefox 96.0.1.\n— quinn on local:1, comment 6")
            return [m["content"]["body"] for m in team.bot_messages()], await team.state()

    said, state = asyncio.run(story())
    assert state.ic == "beatrice" and [h.by for h in state.holds] == ["alice"]
    relayed = [e for e in state.timeline if e.via == "matrix"]
    assert [(e.type, e.actor) for e in relayed] == [
        ("room.bound", "dana"),
        ("hold.raised", "alice"),
        ("handoff.offered", "dana"),
        ("handoff.accepted", "beatrice"),
    ]
    # the tracker holds exactly the events the room shows: one message per comment since the
    # binding, naming it, and no message claims a comment the tracker does not have
    shown = [
        int(c)
        for body in said
        for c in re.findall(r"^Recorded on local:1 \(comment (\d+)\)|, comment (\d+)$", body, re.M)
        for c in c
        if c
    ]
    on_tracker = [int(e.comment_id) for e in state.timeline if e.type != "opened"]
    assert shown == on_tracker == [2, 3, 4, 5, 6]
    assert all(e.accepted for e in state.timeline)


def test_a_command_typed_while_the_bot_is_away_is_run_once_after_it_restarts(
    synapse: Synapse, tmp_path: Path
) -> None:
    async def story() -> tuple[int, int, IncidentState]:
        async with team_in_a_room(synapse, tmp_path) as team:
            async with running(team, tmp_path) as _:
                await until(
                    lambda: (
                        team.bot.user_id
                        in synapse.call(
                            team.people["dana"], "GET", f"/rooms/{team.room}/joined_members"
                        )["joined"]
                    )
                )
                team.say("dana", f"!incident bind {team.ref}")
                await team.reply(r"^Recorded on local:1 \(comment 2\)")
            # the bot is away: dana posts a status
            team.say("dana", "!incident status the respin is building")
            async with running(team, tmp_path) as _:
                await team.reply(r"^Recorded on local:1 \(comment 3\): ")
            async with running(team, tmp_path) as (_, chat):  # and once more: nothing again
                await until(lambda: chat.syncs >= 2)
            replies = len(team.bot_messages())
            return (
                replies,
                len([m for m in team.bot_messages() if "comment 3" in m["content"]["body"]]),
                await team.state(),
            )

    replies, about_status, state = asyncio.run(story())
    assert [e.type for e in state.timeline].count("status") == 1
    assert replies == 2 and about_status == 1
