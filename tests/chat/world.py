"""A release team, a local tracker, and a chat that keeps what the bot says (for tests/chat).

Kept free of pytest: ``bench/chat.py`` builds the same world.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from sync_incident.application.act import open_new
from sync_incident.application.intents import Open
from sync_incident.chat.announce import Said
from sync_incident.chat.bot import Bot, Incoming
from sync_incident.config import LocalSettings, Settings
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.service import Session

T = TypeVar("T")
REL = "Firefox 96.0.1"
ROOM = "!ops:example.org"
T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
PEOPLE = ("dana", "alice", "bob", "beatrice", "quinn", "morgan")


def policy(chat: str = "matrix", server: str = "example.org") -> Policy:
    """Everyone has a chat identity but mallory; syncbot is the relay."""

    def ident(name: str) -> dict[str, str]:
        if chat == "matrix":
            return {"matrix": f"@{name}:{server}"}
        return {"slack": f"U{name.upper()}"}

    people = {name: Person(timezone="Europe/Berlin", **ident(name)) for name in PEOPLE}
    people["syncbot"] = Person()
    return Policy(
        people=people,
        teams={
            "QA": Team(members=["quinn", "alice"]),
            "Releng": Team(members=["beatrice"]),
            "Relman": Team(members=["morgan"]),
        },
        products={"Firefox": ProductPolicy(required_signoffs=["QA"])},
        relays=["syncbot"],
    )


def settings(tmp_path: Path, chat: str = "matrix", **extra: Any) -> Settings:
    return Settings(
        local=LocalSettings(db=tmp_path / "local.sqlite3"),
        cache=tmp_path / "cache.sqlite3",
        policy=policy(chat),
        **extra,
    )


def session(s: Settings, who: str) -> Session:
    return Session(s, as_user=who)


async def opened(s: Settings) -> IncidentRef:
    async with session(s, "dana") as dana:
        filed = await open_new(dana, "local", Open(title="Startup crash", releases=(REL,)))
        return filed.where


class FakeChat:
    """A chat that keeps what the bot sends, each message with an id."""

    def __init__(self, kind: Literal["matrix", "slack"] = "matrix") -> None:
        self.kind: Literal["matrix", "slack"] = kind
        self.user = "@syncbot:example.org" if kind == "matrix" else "UBOT"
        self.sent: list[tuple[str, Said, str]] = []
        self.down = False
        self._ids = itertools.count(1)

    async def send(self, room: str, said: Said) -> str:
        if self.down:
            raise ConnectionError("the homeserver is down")
        message_id = f"$bot{next(self._ids)}"
        self.sent.append((room, said, message_id))
        return message_id

    def texts(self, room: str = ROOM) -> list[str]:
        return [said.text for r, said, _ in self.sent if r == room]

    def last(self) -> Said:
        return self.sent[-1][1]


@dataclass
class Room:
    """People typing in one room: each message gets an id and a later time."""

    bot: Bot
    chat: Literal["matrix", "slack"] = "matrix"
    room: str = ROOM
    clock: datetime = T0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def user(self, name: str) -> str:
        return f"@{name}:example.org" if self.chat == "matrix" else f"U{name.upper()}"

    def message(self, name: str, text: str, *, command: str | None = None) -> Incoming:
        self.clock += timedelta(seconds=5)
        return Incoming(
            self.chat,
            self.room,
            self.user(name),
            f"$m{next(self._ids)}{self.room.split(':')[0].lstrip('!')}",
            self.clock,
            text,
            command,
        )

    async def say(self, name: str, text: str) -> Incoming:
        m = self.message(name, text)
        await self.bot.message(m)
        return m


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())
