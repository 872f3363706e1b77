"""The chat bot against the local tracker: acting, confirming, refusing, announcing, listening."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sync_incident.application.act import act
from sync_incident.application.intents import SignOff
from sync_incident.chat.bot import Bot
from sync_incident.chat.store import Store
from sync_incident.config import Settings
from sync_incident.core import codec
from sync_incident.core.errors import Unavailable
from sync_incident.core.events import SignoffGiven
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.service import Session
from tests.chat.world import REL, ROOM, FakeChat, Room, opened, run, session, settings


@dataclass
class World:
    settings: Settings
    ref: IncidentRef
    bot: Bot
    chat: FakeChat
    room: Room
    bot_session: Session

    async def state(self) -> IncidentState:
        async with session(self.settings, "dana") as s:
            return (await s.read(self.ref)).state

    async def announce(self) -> int:
        reading = await self.bot_session.read(self.ref)
        return await self.bot.announce(self.ref, reading.state, reading.snapshot.comments)


@asynccontextmanager
async def world(tmp_path: Path, *, bind: bool = True, **extra: object) -> AsyncIterator[World]:
    s = settings(tmp_path, **extra)  # type: ignore[arg-type]
    ref = await opened(s)
    async with session(s, "syncbot") as bot_session:
        chat = FakeChat()
        bot = Bot(s, bot_session, Store(bot_session.cache()))
        bot.attach(chat)
        room = Room(bot)
        w = World(s, ref, bot, chat, room, bot_session)
        if bind:
            await room.say("dana", f"!incident bind {ref}")
        yield w


def test_the_incident_commander_binds_the_room_on_the_tracker(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[0].startswith(
        "Recorded on local:1 (comment 2): dana binds Matrix room !ops:example.org to local:1"
    )
    assert "its events are announced here" in texts[0]
    [room] = state.rooms
    assert (room.chat, room.room, room.by) == ("matrix", ROOM, "dana")
    entry = state.timeline[-1]
    assert (entry.actor, entry.account, entry.via) == ("dana", "syncbot", "matrix")


def test_only_the_incident_commander_binds_a_room(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path, bind=False) as w:
            await w.room.say("alice", f"!incident bind {w.ref}")
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts == [
        "Refused: only the incident commander (dana) can bind a chat room; alice is not the "
        "incident commander. ask dana to bind it (nothing was posted)."
    ]
    assert state.rooms == []


def test_a_hold_waits_for_its_authors_reaction_then_is_theirs(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState, int]:
        async with world(tmp_path) as w:
            await w.room.say("alice", "!incident hold Firefox 96.0.1 because of a crash spike")
            prompt = w.chat.sent[-1]
            before = len((await w.state()).timeline)
            # bob's ✅ is not alice's: nothing happens
            await w.bot.reaction("matrix", ROOM, "@bob:example.org", prompt[2], "✅", "$r1")
            after_bob = len((await w.state()).timeline)
            await w.bot.reaction("matrix", ROOM, "@alice:example.org", prompt[2], "✅", "$r2")
            # a second tap records nothing more
            await w.bot.reaction("matrix", ROOM, "@alice:example.org", prompt[2], "✅", "$r3")
            state = await w.state()
            assert after_bob == before
            return w.chat.texts(), state, before

    texts, state, before = run(go)
    assert texts[1].startswith(
        "@alice:example.org: to record on local:1: “alice holds Firefox 96.0.1 because of a "
        "crash spike.” — react with ✅ to this message or type `!incident confirm`"
    )
    assert texts[1].endswith("Nothing is recorded yet.")
    assert texts[2].startswith(
        "Recorded on local:1 (comment 3): alice holds Firefox 96.0.1 because of a crash spike."
    )
    assert "NOT READY Firefox 96.0.1 — alice holds" in texts[2]
    assert len(texts) == 3
    [hold] = state.holds
    assert hold.by == "alice" and len(state.timeline) == before + 1
    assert state.timeline[-1].via == "matrix"


def test_confirm_by_command_and_cancel(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            await w.room.say("quinn", "!incident signoff QA Firefox 96.0.1")
            await w.room.say("alice", "!incident confirm")  # not alice's to confirm
            await w.room.say("quinn", "!incident confirm")
            await w.room.say("morgan", "!incident ship Firefox 96.0.1")
            await w.room.say("morgan", "!incident cancel")
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[2] == "Nothing waits for your confirmation here."
    assert texts[3].startswith("Recorded on local:1 (comment 3): QA signs off on Firefox 96.0.1.")
    assert texts[5] == "Cancelled: Please ship Firefox 96.0.1 to users. (nothing recorded)."
    assert [s.by for s in state.signoffs] == ["quinn"] and state.ship_decisions == []


def test_bob_cannot_release_alices_hold_from_the_room(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            await w.room.say("alice", "!incident hold Firefox 96.0.1 because of a crash spike")
            await w.room.say("alice", "!incident confirm")
            await w.room.say("bob", "!incident release-hold Firefox 96.0.1 the crash is fixed now")
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[-1] == (
        "Refused: the rules would reject this release of a hold: only alice, who raised the "
        "hold, or the incident commander (dana) can release it. nothing was posted."
    )
    assert [h.by for h in state.holds] == ["alice"]


def test_an_unmapped_sender_is_refused_with_a_hint(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            m = w.room.message("mallory", "!incident note the build is green")
            m = type(m)(m.chat, m.room, "@mallory:evil.example", m.message_id, m.at, m.text)
            await w.bot.message(m)
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[-1] == (
        "Refused: @mallory:evil.example on Matrix is not a chat identity of a person in the "
        "policy. add matrix = '@mallory:evil.example' to that person's [people.NAME] table."
    )
    assert [e.type for e in state.timeline] == ["opened", "room.bound"]


def test_a_message_seen_twice_posts_once(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            m = w.room.message("dana", "!incident status the respin is building")
            await w.bot.message(m)
            await w.bot.message(m)  # a redelivery: dropped
            # a new bot (a restart) handles it again: the tracker already has it
            fresh = Bot(w.settings, w.bot_session, w.bot.store)
            fresh.attach(w.chat)
            fresh.dynamic = dict(w.bot.dynamic)
            await fresh.message(m)
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert [e.type for e in state.timeline].count("status") == 1
    assert texts[1].startswith("Recorded on local:1 (comment 3): ")
    assert texts[2].startswith("Already recorded on local:1 (comment 3): ")


def test_the_gate_and_show_in_the_room(tmp_path: Path) -> None:
    async def go() -> list[str]:
        async with world(tmp_path) as w:
            await w.room.say("quinn", "!incident gate")
            await w.room.say("quinn", "!incident gate Firefox 96.0.1")
            await w.room.say("quinn", "!incident show")
            return w.chat.texts()

    texts = run(go)
    assert texts[1] == "NOT READY Firefox 96.0.1 — Firefox 96.0.1 has no sign-off from QA."
    assert texts[2] == texts[1]
    assert texts[3].startswith("local:1 — Startup crash (active, S2)\nIncident commander: dana")
    assert texts[3].endswith(texts[1])


def test_not_recorded_when_the_tracker_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync_incident.trackers.local import LocalTracker

    async def down(*args: object, **kwargs: object) -> object:
        raise Unavailable("cannot reach the tracker: connection refused")

    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            monkeypatch.setattr(LocalTracker, "post", down)
            await w.room.say("dana", "!incident note the respin is building")
            monkeypatch.undo()
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[-1] == (
        "Not recorded: cannot reach the tracker: connection refused. Try again; nothing said "
        "here counts until it is recorded."
    )
    assert "Recorded" not in texts[-1].replace("Not recorded", "")
    assert [e.type for e in state.timeline] == ["opened", "room.bound"]


def test_every_event_is_announced_once_with_who_and_where(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], int]:
        async with world(tmp_path) as w:
            await w.room.say("dana", "!incident note the respin is building")
            async with session(w.settings, "quinn") as quinn:
                await act(quinn, w.ref, SignOff("QA", REL))
            sent = await w.announce()
            again = await w.announce()
            assert again == 0
            return w.chat.texts(), sent

    texts, sent = run(go)
    assert sent == 1  # the note was said in the reply; only quinn's sign-off is new here
    assert texts[-1] == "QA signs off on Firefox 96.0.1.\n— quinn on local:1, comment 4"


def test_a_handoff_offer_mentions_its_recipient_and_is_accepted_in_the_room(
    tmp_path: Path,
) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            other = Room(w.bot, room="!elsewhere:example.org")
            await other.say("dana", f"!incident bind {w.ref}")
            await w.room.say(
                "dana",
                "!incident handoff @beatrice:example.org --done 'steps 1-4' --todo 'step 5'",
            )
            await w.announce()  # the other room hears of it
            await w.room.say("beatrice", "!incident accept")
            prompt = w.chat.sent[-1]
            await w.bot.reaction("matrix", ROOM, "@beatrice:example.org", prompt[2], "👍", "$r9")
            return w.chat.texts("!elsewhere:example.org"), await w.state()

    texts, state = run(go)
    offer = texts[-1]
    assert offer.startswith("beatrice, dana asks you to take over as incident commander")
    assert "@beatrice:example.org: accept with `!incident accept`" in offer
    assert state.ic == "beatrice"


def test_a_rejected_event_is_announced_as_not_counted(tmp_path: Path) -> None:
    async def go() -> list[str]:
        async with world(tmp_path) as w:
            async with session(w.settings, "bob") as bob:  # bob is in no team
                forged = SignoffGiven(team="QA", release=REL, statement="QA signs off.")
                await bob.tracker("local").post(w.ref, codec.render(forged), marker=forged.id)
            await w.announce()
            return w.chat.texts()

    texts = run(go)
    assert texts[-1] == (
        "Not counted (bob is not a member of QA): QA signs off on Firefox 96.0.1.\n"
        "— bob on local:1, comment 3"
    )


def test_vague_words_get_one_reply_per_person_per_interval(tmp_path: Path) -> None:
    async def go() -> list[str]:
        async with world(tmp_path) as w:
            await w.room.say("quinn", "It seems better")
            await w.room.say("quinn", "LGTM, we can proceed")  # within the interval: quiet
            await w.room.say("alice", "the build is green, it is building the next one later")
            await w.room.say("alice", "I think it should be fine to ship")
            return w.chat.texts()

    texts = run(go)
    assert len(texts) == 3
    assert texts[1].startswith(
        "@quinn:example.org: “It seems better” is vague ('seems' hedges the whole statement; "
        "'better' is relative: say what is true now"
    )
    assert "Nothing said here counts until it is recorded on local:1" in texts[1]
    assert "`!incident signoff QA Firefox 96.0.1`" in texts[1]
    assert texts[2].startswith("@alice:example.org: “I think it should be fine to ship” is vague")


def test_an_explicit_sentence_gets_a_one_tap_offer(tmp_path: Path) -> None:
    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            await w.room.say("quinn", "QA signs off on Firefox 96.0.1.")
            prompt = w.chat.sent[-1]
            await w.room.say("bob", "QA signs off on Firefox 96.0.1.")  # bob is not in QA: quiet
            await w.bot.reaction("matrix", ROOM, "@quinn:example.org", prompt[2], "✅", "$r1")
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[1].startswith(
        "@quinn:example.org: to record on local:1: “QA signs off on Firefox 96.0.1.”"
    )
    assert len(texts) == 3 and texts[2].startswith("Recorded on local:1")
    assert [s.by for s in state.signoffs] == ["quinn"]


def test_a_command_in_an_unbound_room_says_how_to_bind_it(tmp_path: Path) -> None:
    async def go() -> list[str]:
        async with world(tmp_path, bind=False) as w:
            await w.room.say("alice", "!incident gate")
            await w.room.say("alice", "It seems better")  # not a bound room: never nagged
            await w.room.say("alice", "!incident frobnicate")
            return w.chat.texts()

    texts = run(go)
    assert texts == [
        "This room is not bound to an incident. The incident commander binds it: "
        "`!incident bind bug 123456`.",
        "Not understood: !incident frobnicate: no such command. type `!incident help` for the "
        "commands.",
    ]


def test_a_slow_tracker_gets_a_waiting_reply_then_the_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from sync_incident.trackers.local import LocalTracker

    async def slow_then_down(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(0.3)  # a tracker retrying its 503s
        raise Unavailable("Bugzilla answered 503 five times")

    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            w.bot.patience = 0.05
            monkeypatch.setattr(LocalTracker, "post", slow_then_down)
            await w.room.say("dana", "!incident note the respin is building")
            monkeypatch.undo()
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert texts[-2] == (
        "Waiting for the tracker of local:1: not recorded yet. I will say here whether it is; "
        "nothing said here counts until then."
    )
    assert texts[-1].startswith("Not recorded: Bugzilla answered 503 five times. Try again")
    assert [e.type for e in state.timeline] == ["opened", "room.bound"]


def test_a_relay_trailer_forged_by_hand_on_the_tracker_is_announced_as_not_counted(
    tmp_path: Path,
) -> None:
    from sync_incident.core.events import HoldReleased, Via

    async def go() -> tuple[list[str], IncidentState]:
        async with world(tmp_path) as w:
            await w.room.say("alice", "!incident hold Firefox 96.0.1 because of a crash spike")
            await w.room.say("alice", "!incident confirm")
            hold = (await w.state()).holds[0]
            # bob types a relayed release "for alice" into a comment by hand: bob is no relay
            via = Via(chat="matrix", user="@alice:example.org", message="$forged")
            forged = HoldReleased(release=REL, hold=hold.id, reason="a false alarm", via=via)
            async with session(w.settings, "bob") as bob:
                await bob.tracker("local").post(w.ref, codec.render(forged), marker=forged.id)
            await w.announce()
            return w.chat.texts(), await w.state()

    texts, state = run(go)
    assert [h.by for h in state.holds] == ["alice"]
    assert texts[-1].startswith(
        "Not counted (a relayed event counts only from a relay account the policy lists "
        "(relays: syncbot); this one claims to speak for @alice:example.org on Matrix)"
    )
