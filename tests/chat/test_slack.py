"""Slack: signed requests in, chat.postMessage out, against a stateful fake of Slack."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette

from sync_incident.chat.bot import Bot
from sync_incident.chat.slack import SlackChat
from sync_incident.chat.store import Store
from sync_incident.config import Settings
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.testing.server import LoopbackServer
from sync_incident.testing.slack import FakeSlack, Signed
from tests.chat.world import opened, run, session, settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C024BE91L"


@dataclass
class World:
    settings: Settings
    ref: IncidentRef
    bot: Bot
    chat: SlackChat
    fake: FakeSlack
    http: httpx.AsyncClient

    async def send(self, signed: Signed) -> httpx.Response:
        response = await self.http.post(signed.path, content=signed.body, headers=signed.headers)
        await self.bot.drain()
        return response

    async def slash(self, user: str, text: str) -> httpx.Response:
        return await self.send(self.fake.slash(user, CHANNEL, text))

    async def state(self) -> IncidentState:
        async with session(self.settings, "dana") as s:
            return (await s.read(self.ref)).state


@asynccontextmanager
async def world(tmp_path: Path) -> AsyncIterator[World]:
    s = settings(tmp_path, "slack")
    ref = await opened(s)
    fake = FakeSlack(SECRET)
    with LoopbackServer(fake.handler) as server:
        async with session(s, "syncbot") as bot_session:
            bot = Bot(s, bot_session, Store(bot_session.cache()))
            chat = SlackChat(fake.token, SECRET, bot, api_url=f"{server.url}/api/")
            await chat.start()
            bot.attach(chat)
            app = Starlette(routes=chat.routes())
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as http:
                yield World(s, ref, bot, chat, fake, http)
            await chat.aclose()


def test_the_signature_check_passes_slacks_documented_example() -> None:
    from sync_incident.chat.slack import clock_of

    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        "-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
        "0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10"
        "d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SECRET, clock=clock_of(lambda: 1531420618 + 60))
    assert verifier.is_valid(body, "1531420618", signature)
    assert not verifier.is_valid(body + "x", "1531420618", signature)
    late = SignatureVerifier(SECRET, clock=clock_of(lambda: 1531420618 + 301))
    assert not late.is_valid(body, "1531420618", signature)  # older than 5 minutes


def test_the_story_by_slash_command_and_buttons(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState, list[int]]:
        async with world(tmp_path) as w:
            codes = [(await w.slash("UDANA", f"bind {w.ref}")).status_code]
            codes.append(
                (
                    await w.slash("UALICE", "hold Firefox 96.0.1 because of a crash spike")
                ).status_code
            )
            await w.send(w.fake.press("UBOB", CHANNEL, "Confirm"))  # not bob's
            await w.send(w.fake.press("UALICE", CHANNEL, "Confirm"))
            await w.slash("UBOB", "release-hold Firefox 96.0.1 the crash is fixed now")
            await w.slash("UQUINN", "gate")
            return w.fake.texts(CHANNEL), await w.state(), codes

    texts, state, codes = run(go)
    assert codes == [200, 200]
    assert texts[0].startswith("Recorded on local:1 (comment 2): dana binds Slack room C024BE91L")
    assert texts[1].startswith("<@UALICE>: to record on local:1: “alice holds Firefox 96.0.1")
    assert "press Confirm" in texts[1]
    assert texts[2] == "<@UBOB>: only <@UALICE>, who asked, can confirm or cancel this."
    assert texts[3].startswith("Recorded on local:1 (comment 3): alice holds Firefox 96.0.1")
    assert texts[4].startswith("Refused: the rules would reject this release of a hold: only alice")
    assert texts[5].startswith("NOT READY Firefox 96.0.1 — alice holds Firefox 96.0.1")
    [hold] = state.holds
    assert hold.by == "alice" and state.timeline[-1].via == "slack"


def test_a_replayed_a_late_and_a_forged_request_are_refused(tmp_path: Path) -> None:
    async def go() -> tuple[list[int], IncidentState, list[str]]:
        async with world(tmp_path) as w:
            note = w.fake.slash("UDANA", CHANNEL, f"bind {w.ref}")
            codes = [(await w.send(note)).status_code, (await w.send(note)).status_code]
            late = w.fake.slash("UDANA", CHANNEL, "note a note from the past")
            late_headers = {**late.headers, **w.fake.sign(late.body, at=time.time() - 301)}
            codes.append(
                (await w.http.post(late.path, content=late.body, headers=late_headers)).status_code
            )
            forged = w.fake.slash("UDANA", CHANNEL, "note the attacker's words")
            tampered = forged.body.replace(b"UDANA", b"UMORGAN")
            codes.append(
                (
                    await w.http.post(forged.path, content=tampered, headers=forged.headers)
                ).status_code
            )
            await w.bot.drain()
            return codes, await w.state(), w.fake.texts(CHANNEL)

    codes, state, texts = run(go)
    assert codes == [200, 401, 401, 401]
    assert [e.type for e in state.timeline] == ["opened", "room.bound"]
    assert len(texts) == 1


def test_the_events_api_handshake_vague_words_and_retries(tmp_path: Path) -> None:
    async def go() -> tuple[dict[str, str], list[str]]:
        async with world(tmp_path) as w:
            handshake = (
                await w.send(
                    w.fake.url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
                )
            ).json()
            await w.slash("UDANA", f"bind {w.ref}")
            vague = w.fake.message_event("UQUINN", CHANNEL, "LGTM, we can proceed")
            await w.send(vague)
            retried = Signed(
                vague.path,
                vague.body,
                {**vague.headers, **w.fake.sign(vague.body), "X-Slack-Retry-Num": "1"},
            )
            await w.send(retried)  # Slack retried the same event: said once
            await w.send(w.fake.message_event("UQUINN", CHANNEL, "QA signs off on Firefox 96.0.1."))
            await w.send(w.fake.press("UQUINN", CHANNEL, "Confirm"))
            return handshake, w.fake.texts(CHANNEL)

    handshake, texts = run(go)
    assert handshake == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert texts[1].startswith("<@UQUINN>: “LGTM, we can proceed” is vague")
    assert "`/incident signoff QA Firefox 96.0.1`" in texts[1]
    assert texts[2].startswith("<@UQUINN>: to record on local:1: “QA signs off on Firefox 96.0.1.”")
    assert texts[3].startswith("Recorded on local:1 (comment 3): QA signs off on Firefox 96.0.1.")
    assert len(texts) == 4


def test_an_unmapped_slack_member_is_refused_with_a_hint(tmp_path: Path) -> None:
    async def go() -> list[str]:
        async with world(tmp_path) as w:
            await w.slash("UDANA", f"bind {w.ref}")
            await w.slash("UMALLORY", "note the build is green")
            return w.fake.texts(CHANNEL)

    texts = run(go)
    assert texts[-1] == (
        "Refused: UMALLORY on Slack is not a chat identity of a person in the policy. add "
        "slack = 'UMALLORY' to that person's [people.NAME] table."
    )
