"""The chat bot: what it does with a message, a reaction or a button, whatever the chat.

:class:`Bot` is the use case behind every chat (:mod:`.matrix` and :mod:`.slack` only carry
messages in and out through a :class:`Chat`). For a message in a room:

1. a message seen before (a redelivery) is dropped;
2. a command (``!incident …``, Slack's ``/incident …``) is parsed (:mod:`.commands`) and run:
   changes through :func:`~sync_incident.application.act.act` as the relay for the person who
   spoke (``via``: the chat identity and message id; ``key``: the message id and time, so a
   message handled twice posts once), reads through
   :func:`~sync_incident.application.decide.decide` and
   :func:`~sync_incident.application.overview.overview`. What the gate counts, and answering
   a handoff, is first tried without posting (``dry_run``: refused exactly as a real post
   would be) and then waits for the person's confirmation (Matrix: a ✅ reaction on the
   prompt or ``!incident confirm``; Slack: the button);
3. any other message in a bound room: an explicit sentence gets a one-tap offer to record it,
   a vague decision one reply with the explicit forms, at most once per person and room per
   ``[chat] nag_minutes`` (:mod:`.vague`).

Replies say what happened on the tracker and nothing else: "Recorded on bug 1 (comment …)"
only after the tracker stored it; "Not recorded: … Try again." when the tracker failed; the
rules' refusals and hints as the CLI prints them. Nothing said in a room counts until it is
recorded.

The daemon's reads (:meth:`Bot.on_read`) announce every new event of a bound incident in its
rooms (:mod:`.announce`), once per room: the events the bot recorded from a room were already
said there in its reply.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sync_incident.application.act import Outcome, act
from sync_incident.application.decide import GateRequest, decide
from sync_incident.application.intents import BindRoom, Intent, Unchanged
from sync_incident.application.overview import overview
from sync_incident.chat.announce import Said, announcements, mention
from sync_incident.chat.commands import (
    PREFIX,
    Bind,
    Cancel,
    ChatKind,
    Command,
    Confirm,
    Do,
    Gate,
    Help,
    Show,
    Unbind,
    command_text,
    help_text,
    mention_of,
    parse,
)
from sync_incident.chat.store import Pending, Store
from sync_incident.chat.vague import explicit_form, vague_decision, what_was_vague
from sync_incident.core.errors import (
    RefusedError,
    SyncIncidentError,
    TrackerError,
    UsageError,
)
from sync_incident.core.events import Via, event_id_for
from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref
from sync_incident.core.summaries import CHATS
from sync_incident.core.times import utc

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.core.comments import Comment
    from sync_incident.core.state import IncidentState
    from sync_incident.service import Session

log = logging.getLogger("sync_incident.chat")
YES = frozenset({"✅", "✔", "✔️", "☑️", "👍", "👍️", "+1", "yes"})
SEEN_MESSAGES = 4096  # message ids remembered against redeliveries (memory stays flat)
# a tracker slower than this (retrying a 503, say) gets a "waiting" reply, then the outcome
PATIENCE = 5.0
NAGS = 10_000  # (room, person) pairs remembered for the vague-words interval


class Chat(Protocol):
    """A chat the bot speaks in (:mod:`.matrix`, :mod:`.slack`, or a test's)."""

    @property
    def kind(self) -> Literal["matrix", "slack"]:
        """Which chat it is."""

    @property
    def user(self) -> str:
        """The bot's own chat identity: its messages are never read as commands."""

    async def send(self, room: str, said: Said) -> str:
        """Send ``said`` to ``room``; the chat's id of the message ("" when it has none)."""


@dataclass(frozen=True)
class Incoming:
    """A message someone sent in a room, as the chat server authenticated it."""

    chat: ChatKind
    room: str
    sender: str  # the chat identity (Matrix user id, Slack member id)
    message_id: str  # Matrix event id, Slack message ts or slash command trigger id
    at: datetime  # when the chat server received it
    text: str
    command: str | None = None  # the words after the prefix, when the chat already split them


def utc_now() -> datetime:
    return datetime.now(UTC)


class Bot:
    """See the module docstring. ``watch(ref)`` asks the daemon to read ``ref`` from now on;
    ``poke(ref)`` to read it again at once (after the bot posted on it)."""

    def __init__(
        self,
        settings: Settings,
        session: Session,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        watch: Callable[[IncidentRef], None] | None = None,
        poke: Callable[[IncidentRef], object] | None = None,
        patience: float = PATIENCE,
    ) -> None:
        self.settings, self.session, self.store, self.clock = settings, session, store, clock
        self._watch, self._poke = watch, poke
        self.patience = patience
        self.chats: dict[str, Chat] = {}
        self.configured: dict[tuple[str, str], IncidentRef] = {}
        for chat, rooms in {
            "matrix": settings.matrix.rooms,
            "slack": settings.slack.channels,
        }.items():
            for room, text in rooms.items():
                self.configured[(chat, room)] = parse_ref(text)
        # rooms bound from a room: (chat, room) -> incident, as the incident's record says
        self.dynamic: dict[tuple[str, str], IncidentRef] = {}
        for where, text in store.bound().items():
            chat, _, room = where.partition("|")
            try:
                self.dynamic[(chat, room)] = parse_ref(text)
            except ReferenceError:
                continue
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._nags: OrderedDict[tuple[str, str, str], datetime] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def attach(self, chat: Chat) -> None:
        self.chats[chat.kind] = chat

    def start(self) -> None:
        """Ask the daemon to watch every incident a room follows (their rooms are confirmed,
        or dropped, by what the record says when it is read)."""
        if self._watch is None:
            return
        for ref in {*self.configured.values(), *self.dynamic.values()}:
            self._watch(ref)

    async def drain(self) -> None:
        """Let the announcements and commands in flight finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # --- bindings --------------------------------------------------------------------------

    def bound(self, chat: str, room: str) -> IncidentRef | None:
        """The incident ``room`` follows: the configuration's, else the record's."""
        return self.configured.get((chat, room)) or self.dynamic.get((chat, room))

    def rooms_of(self, ref: IncidentRef) -> list[tuple[str, str]]:
        rooms = {where for where, r in self.configured.items() if r.key == ref.key}
        rooms |= {where for where, r in self.dynamic.items() if r.key == ref.key}
        return sorted(rooms)

    def _learn(self, ref: IncidentRef, state: IncidentState) -> None:
        """The rooms the record binds to ``ref`` (a cache of the tracker, kept for restarts)."""
        named: set[tuple[str, str]] = {(r.chat, r.room) for r in state.rooms}
        changed = False
        for where in named:
            if self.dynamic.get(where) != ref and where not in self.configured:
                self.dynamic[where], changed = ref, True
        # a room the record unbound (a read older than a binding names it not at all)
        unbound = {
            (str(e.data.get("chat")), str(e.data.get("room")))
            for e in state.timeline
            if e.type == "room.bound" and e.accepted
        }
        for gone in [w for w, r in self.dynamic.items() if r.key == ref.key]:
            if gone not in named and gone in unbound:
                del self.dynamic[gone]
                changed = True
        if changed:
            self.store.save_bound({f"{c}|{room}": str(r) for (c, room), r in self.dynamic.items()})

    # --- announcing ------------------------------------------------------------------------

    def on_read(self, ref: IncidentRef, state: IncidentState, comments: Sequence[Comment]) -> None:
        """The daemon read ``ref``: announce what is new in its rooms (in the background)."""
        self.spawn(self.announce(ref, state, comments))

    async def announce(
        self, ref: IncidentRef, state: IncidentState, comments: Sequence[Comment]
    ) -> int:
        """Announce the events of ``state`` not yet said in each room bound to ``ref``."""
        self._learn(ref, state)
        sent = 0
        for chat_kind, room in self.rooms_of(ref):
            chat = self.chats.get(chat_kind)
            if chat is None:
                continue
            async with self._lock(chat_kind, room):
                known = self.store.announced(chat_kind, room, ref.key)
                if known is None:  # a room new to this incident: from now on, not its past
                    ids = [e.event_id for e in state.timeline]
                    self.store.save_announced(chat_kind, room, ref.key, ids)
                    continue
                seen = set(known)
                said = announcements(
                    ref,
                    state,
                    comments,
                    self.settings.policy,
                    self.session.renderer,
                    chat_kind,
                    room,
                    seen,
                )
                for event_id, message in said:
                    try:
                        await chat.send(room, message)
                    except Exception as exc:  # the chat is down: say it at the next read
                        log.warning(
                            "cannot announce",
                            extra={"event": "chat-send", "room": room, "error": str(exc)},
                        )
                        break
                    known.append(event_id)
                    self.store.save_announced(chat_kind, room, ref.key, known)
                    sent += 1
        return sent

    def _expect(self, chat: str, room: str, ref: IncidentRef, ids: Sequence[str]) -> None:
        """Events the bot records from ``room``: its reply says them there, not an announcement."""
        known = self.store.announced(chat, room, ref.key)
        if known is not None:
            self.store.save_announced(chat, room, ref.key, [*known, *ids])

    # --- messages --------------------------------------------------------------------------

    async def message(self, m: Incoming) -> None:
        """Handle one message (see the module docstring)."""
        chat = self.chats.get(m.chat)
        if chat is None or m.sender == chat.user or not self._fresh(m.chat, m.message_id):
            return
        words = m.command if m.command is not None else command_text(m.text, m.chat)
        ref = self.bound(m.chat, m.room)
        if words is None:
            if ref is not None and self.settings.chat.catch_vague:
                await self._listen(m, ref)
            return
        try:
            command = parse(words, m.chat, self._mentions(m.chat))
        except UsageError as exc:
            await self.reply(m, f"Not understood: {exc.message}. {exc.hint}.")
            return
        await self._run(m, command, ref)

    async def reaction(
        self, chat: ChatKind, room: str, sender: str, target: str, key: str, reaction_id: str
    ) -> None:
        """A reaction to a message: ✅ on a confirmation prompt by the person who asked."""
        if key.strip() not in YES or not self._fresh(chat, reaction_id):
            return
        pending = self.store.pending_by(chat, target)
        if pending is None or pending.sender != sender or pending.room != room:
            return  # nobody else confirms for them
        await self._confirmed(pending)

    async def button(self, chat: ChatKind, room: str, sender: str, token: str, yes: bool) -> None:
        """A confirmation button (Slack): confirm or cancel, by the person who asked only."""
        pending = self.store.pending_by(chat, token)
        if pending is None or pending.room != room:
            await self._say(chat, room, Said("Nothing waits for a confirmation here (it lapsed)."))
            return
        if pending.sender != sender:
            await self._say(
                chat,
                room,
                Said(
                    f"{mention(chat, sender)}: only {mention(chat, pending.sender)}, who asked, "
                    "can confirm or cancel this.",
                    (sender,),
                ),
            )
            return
        if yes:
            await self._confirmed(pending)
        else:
            self.store.drop_pending(pending)
            await self._say(chat, room, Said(f"Cancelled: {pending.sentence} (nothing recorded)."))

    async def _run(self, m: Incoming, command: Command, ref: IncidentRef | None) -> None:
        if isinstance(command, Help):
            await self.reply(m, help_text(m.chat))
            return
        if isinstance(command, Bind):
            await self._bind(m, command.ref, ref)
            return
        if isinstance(command, Confirm | Cancel):
            await self._answer(m, yes=isinstance(command, Confirm))
            return
        if ref is None:
            await self.reply(
                m,
                "This room is not bound to an incident. The incident commander binds it: "
                f"`{PREFIX[m.chat]} bind bug 123456`.",
            )
            return
        if isinstance(command, Unbind):
            await self._unbind(m, ref)
        elif isinstance(command, Show):
            await self._show(m, ref)
        elif isinstance(command, Gate):
            await self._gate(m, ref, command.release)
        elif isinstance(command, Do):
            if command.confirm:
                await self._ask(m, ref, words_of(m), command.intent)
            else:
                await self.record(m, ref, command.intent)

    # --- acting ----------------------------------------------------------------------------

    async def record(
        self,
        m: Incoming,
        ref: IncidentRef,
        intent: Intent,
        *,
        then: Callable[[Outcome], str] | None = None,
    ) -> Outcome | None:
        """Post ``intent`` for the person who spoke in ``m``, and say what happened."""
        via = Via(chat=m.chat, user=m.sender, message=m.message_id)
        key = (f"{m.chat}:{m.message_id}", m.at)
        self._expect(m.chat, m.room, ref, [event_id_for(f"{key[0]}:{n}", key[1]) for n in range(4)])
        posting = asyncio.ensure_future(act(self.session, ref, intent, via=via, key=key))
        done, _ = await asyncio.wait({posting}, timeout=self.patience)
        again = ""  # the final word is a second reply when a first one said "waiting"
        if not done:
            await self.reply(
                m,
                f"Waiting for the tracker of {ref}: not recorded yet. I will say here whether "
                "it is; nothing said here counts until then.",
            )
            again = ":final"
        try:
            outcome = await posting
        except Unchanged as exc:
            await self.reply(m, exc.message, again=again)
            return None
        except SyncIncidentError as exc:
            await self.reply(m, refusal(exc), again=again)
            return None
        except Exception:
            log.exception(
                "chat command failed", extra={"event": "chat-error", "incident": str(ref)}
            )
            await self.reply(m, "Not recorded: an internal error (logged). Try again.", again=again)
            return None
        if self._poke is not None:
            self._poke(ref)
        text = recorded(outcome, ref)
        if then is not None:
            text += then(outcome)
        await self.reply(m, text, again=again)
        return outcome

    async def _ask(self, m: Incoming, ref: IncidentRef, words: str, intent: Intent) -> None:
        """Try ``intent`` without posting; if the rules allow it, ask its author to confirm."""
        via = Via(chat=m.chat, user=m.sender, message=m.message_id)
        try:
            trial = await act(self.session, ref, intent, via=via, dry_run=True)
        except Unchanged as exc:
            await self.reply(m, exc.message)
            return
        except SyncIncidentError as exc:
            await self.reply(m, refusal(exc, tried=True))
            return
        await self._prompt(m, ref, words, first_line(trial.body))

    async def _prompt(self, m: Incoming, ref: IncidentRef, words: str, sentence: str) -> None:
        minutes = self.settings.chat.confirm_minutes
        token = secrets.token_hex(8)
        pending = Pending(
            chat=m.chat,
            room=m.room,
            sender=m.sender,
            message_id=m.message_id,
            at=m.at,
            ref=str(ref),
            command=words,
            sentence=sentence,
            expires=self.clock() + timedelta(minutes=minutes),
            token=token,
        )
        how = (
            f"react with ✅ to this message or type `{PREFIX[m.chat]} confirm`"
            if m.chat == "matrix"
            else "press Confirm"
        )
        text = (
            f"{mention(m.chat, m.sender)}: to record on {ref}: “{sentence}” — {how} within "
            f"{minutes} minutes (`{PREFIX[m.chat]} cancel` drops it). Nothing is recorded yet."
        )
        self.store.save_pending(pending)  # before the prompt: a fast ✅ finds it
        prompt = await self._say(
            m.chat,
            m.room,
            Said(text, key=f"prompt:{m.message_id}", reply_to=m.message_id, confirm=token),
        )
        if prompt:
            self.store.save_pending(_with_prompt(pending, prompt))

    async def _answer(self, m: Incoming, *, yes: bool) -> None:
        pending = self.store.pending(m.chat, m.room, m.sender)
        if pending is None or pending.expires < self.clock():
            if pending is not None:
                self.store.drop_pending(pending)
            await self.reply(m, "Nothing waits for your confirmation here.")
            return
        if yes:
            await self._confirmed(pending, by=m)
        else:
            self.store.drop_pending(pending)
            await self.reply(m, f"Cancelled: {pending.sentence} (nothing recorded).")

    async def _confirmed(self, pending: Pending, by: Incoming | None = None) -> None:
        kind: ChatKind = "matrix" if pending.chat == "matrix" else "slack"
        origin = Incoming(kind, pending.room, pending.sender, pending.message_id, pending.at, "")
        if pending.expires < self.clock():
            self.store.drop_pending(pending)
            await self.reply(by or origin, "That confirmation lapsed: nothing recorded. Ask again.")
            return
        self.store.drop_pending(pending)  # one confirmation records once, however often tapped
        try:
            command = parse(pending.command, kind, self._mentions(kind))
            ref = parse_ref(pending.ref)
        except SyncIncidentError as exc:
            await self.reply(origin, refusal(exc))
            return
        if isinstance(command, Do):
            await self.record(origin, ref, command.intent)

    async def _bind(self, m: Incoming, target: IncidentRef, current: IncidentRef | None) -> None:
        if (m.chat, m.room) in self.configured:
            await self.reply(
                m,
                f"This room is bound to {current} in the configuration; change it there "
                f"([{m.chat}] {'rooms' if m.chat == 'matrix' else 'channels'}).",
            )
            return
        if current is not None and current.key != target.key:
            await self.reply(
                m,
                f"This room is bound to {current}. Its incident commander unbinds it first "
                f"(`{PREFIX[m.chat]} unbind`).",
            )
            return
        intent = BindRoom(chat=m.chat, room=m.room)
        outcome = await self.record(m, target, intent, then=lambda _: bound_words(m.chat))
        if outcome is not None and outcome.posted:
            self.dynamic[(m.chat, m.room)] = target
            self.store.save_bound({f"{c}|{r}": str(x) for (c, r), x in self.dynamic.items()})
            # from now on: what is recorded after this reply is announced here
            self.store.save_announced(
                m.chat, m.room, target.key, [e.event_id for e in outcome.state.timeline]
            )
            if self._watch is not None:
                self._watch(target)

    async def _unbind(self, m: Incoming, ref: IncidentRef) -> None:
        if (m.chat, m.room) in self.configured:
            await self.reply(
                m, f"This room is bound to {ref} in the configuration; unbind it there."
            )
            return
        intent = BindRoom(chat=m.chat, room=m.room, unbind=True)
        outcome = await self.record(m, ref, intent)
        if outcome is not None and outcome.posted:
            self.dynamic.pop((m.chat, m.room), None)
            self.store.save_bound({f"{c}|{r}": str(x) for (c, r), x in self.dynamic.items()})

    # --- reading ---------------------------------------------------------------------------

    async def _gate(self, m: Incoming, ref: IncidentRef, release: str | None) -> None:
        try:
            if release is None:
                reading = await self.session.read(ref, fresh=True)
                releases = reading.state.releases
                if not releases:
                    await self.reply(m, f"{ref} names no release yet: nothing to gate.")
                    return
            else:
                releases = [release]
            lines = []
            for name in releases:
                verdict = await decide(self.session, GateRequest.of(ref, name))
                lines.append(verdict.line)
        except SyncIncidentError as exc:
            await self.reply(
                m,
                f"Could not decide: {exc.message}. The release must not ship until the gate "
                f"decides; try again (`{PREFIX[m.chat]} gate`).",
            )
            return
        await self.reply(m, "\n".join(lines))

    async def _show(self, m: Incoming, ref: IncidentRef) -> None:
        try:
            reading = await self.session.read(ref)
        except SyncIncidentError as exc:
            await self.reply(m, f"Cannot read {ref} now: {exc.message}. Try again.")
            return
        seen = overview(reading.state, self.settings.policy, reading.facts, self.clock())
        await self.reply(m, shown(ref, seen.state, [v.line for v in seen.verdicts]))

    # --- listening -------------------------------------------------------------------------

    async def _listen(self, m: Incoming, ref: IncidentRef) -> None:
        """An explicit sentence: offer to record it. A vague decision: say how to be explicit."""
        words = explicit_form(m.text)
        if words is not None:
            try:
                command = parse(words, m.chat)
            except UsageError:
                command = None
            if isinstance(command, Do):
                via = Via(chat=m.chat, user=m.sender, message=m.message_id)
                try:
                    trial = await act(self.session, ref, command.intent, via=via, dry_run=True)
                except (SyncIncidentError, Unchanged):
                    return  # not something this person can record here: say nothing
                await self._prompt(m, ref, words, first_line(trial.body))
            return
        findings = vague_decision(m.text)
        if not findings or not self._may_nag(m):
            return
        state = await self._state(ref)
        await self.reply(
            m,
            f"{mention(m.chat, m.sender)}: {quote(m.text)} is vague ({what_was_vague(findings)}). "
            f"Nothing said here counts until it is recorded on {ref}. If you mean a decision, "
            "say it explicitly: " + explicit_examples(self, m, state) + ".",
            mentions=(m.sender,),
        )

    def _may_nag(self, m: Incoming) -> bool:
        key = (m.chat, m.room, m.sender)
        now = self.clock()
        last = self._nags.get(key)
        if last is not None and now - last < timedelta(minutes=self.settings.chat.nag_minutes):
            return False
        self._nags[key] = now
        self._nags.move_to_end(key)
        while len(self._nags) > NAGS:
            self._nags.popitem(last=False)
        return True

    async def _state(self, ref: IncidentRef) -> IncidentState | None:
        try:
            return (await self.session.read(ref)).state
        except SyncIncidentError:
            return None

    # --- plumbing --------------------------------------------------------------------------

    def _fresh(self, chat: str, message_id: str) -> bool:
        """False for a message already handled (a chat redelivers after a timeout)."""
        key = (chat, message_id)
        if key in self._seen:
            return False
        self._seen[key] = None
        while len(self._seen) > SEEN_MESSAGES:
            self._seen.popitem(last=False)
        return True

    def _mentions(self, chat: ChatKind) -> Callable[[str], str | None]:
        policy = self.settings.policy
        return lambda text: policy.person_for_chat(chat, mention_of(chat, text))

    def _lock(self, chat: str, room: str) -> asyncio.Lock:
        return self._locks.setdefault(f"{chat}|{room}", asyncio.Lock())

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in the background; :meth:`drain` waits for it."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def reply(
        self, m: Incoming, text: str, *, mentions: tuple[str, ...] = (), again: str = ""
    ) -> str:
        """Answer ``m`` in its room (once per message: its key is the message's, and
        ``again`` for a second answer)."""
        said = Said(text, mentions, key=f"reply:{m.message_id}{again}", reply_to=m.message_id)
        return await self._say(m.chat, m.room, said)

    async def _say(self, chat_kind: str, room: str, said: Said) -> str:
        chat = self.chats.get(chat_kind)
        if chat is None:
            return ""
        try:
            async with self._lock(chat_kind, room):
                return await chat.send(room, said)
        except Exception as exc:
            log.warning(
                "cannot reply", extra={"event": "chat-send", "room": room, "error": str(exc)}
            )
            return ""


# --- words -----------------------------------------------------------------------------------


def words_of(m: Incoming) -> str:
    if m.command is not None:
        return m.command
    return command_text(m.text, m.chat) or ""


def first_line(body: str) -> str:
    return body.strip().split("\n", 1)[0]


def quote(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return f"“{flat if len(flat) <= limit else flat[: limit - 1] + '…'}”"


def refusal(exc: SyncIncidentError, *, tried: bool = False) -> str:
    """A refusal or failure as a reply: what happened, what to do, and that nothing counts."""
    hint = exc.hint.rstrip(".")
    if isinstance(exc, RefusedError):
        return f"Refused: {exc.message}. {hint}."
    if isinstance(exc, UsageError):
        return f"Not understood: {exc.message}. {hint}."
    if isinstance(exc, TrackerError):
        return f"Not recorded: {exc.message}. Try again; nothing said here counts until it is recorded."
    return f"Not recorded: {exc.message}. {hint}."


def recorded(outcome: Outcome, ref: IncidentRef) -> str:
    """``Recorded on bug 1 (comment 9): alice holds Firefox 96.0.1 because of …``."""
    # Bugzilla's PUT that posts a comment with the mirrored fields names no comment id
    where = f" (comment {outcome.comment_id})" if outcome.comment_id else ""
    head = "Already recorded" if outcome.duplicate else "Recorded"
    lines = [f"{head} on {ref}{where}: {first_line(outcome.body)}"]
    releases = {str(r) for e in outcome.events for r in [e.__dict__.get("release")] if r}
    for verdict in outcome.overview.verdicts:
        if verdict.release in releases:
            lines.append(verdict.line)
    lines += [f"Note: {n}" for n in outcome.notes]
    if outcome.mirror_error:
        lines.append(
            f"Note: the tracker's mirrored fields were not updated ({outcome.mirror_error})."
        )
    return "\n".join(lines)


def bound_words(chat: str) -> str:
    return (
        f"\nThis {CHATS[chat]} room follows the incident from now on: its events are announced "
        f"here, and `{PREFIX[chat]} help` lists what you can do from here."
    )


def shown(ref: IncidentRef, state: IncidentState, lines: list[str]) -> str:
    """The incident at a glance: who is in charge, what blocks, each release's verdict."""
    head = f"{ref} — {state.title or 'untitled'} ({state.status}"
    head += f", {state.severity})" if state.severity else ")"
    out = [head, f"Incident commander: {state.ic or 'nobody'}"]
    if state.last_status:
        out.append(
            f"Last status ({state.last_status_by}, {utc(state.last_status_at)}): {state.last_status}"
        )
    for hold in state.holds:
        out.append(f"Hold by {hold.by} on {hold.release} since {utc(hold.at)}: {hold.reason}")
    for offer in state.pending_handoffs:
        out.append(f"Pending handoff: {offer.by} → {offer.to} since {utc(offer.at)}")
    out += lines
    if state.url and state.url != str(ref):
        out.append(state.url)
    return "\n".join(out)


def explicit_examples(bot: Bot, m: Incoming, state: IncidentState | None) -> str:
    """The commands this person could mean, with this incident's releases and their teams."""
    policy = bot.settings.policy
    prefix = PREFIX[m.chat]
    release = state.releases[0] if state is not None and state.releases else "Firefox 96.0.1"
    person = policy.person_for_chat(m.chat, m.sender)
    teams = [name for name, team in policy.teams.items() if person and person in team.members]
    forms = [
        f"`{prefix} signoff {team} {release}`" for team in teams[:2] if team != policy.ship_team
    ]
    if not teams:
        forms.append(f"`{prefix} signoff TEAM {release}`")
    forms.append(f"`{prefix} hold {release} because of REASON`")
    if policy.ship_team in teams or not teams:
        forms.append(f"`{prefix} ship {release}`")
    return " · ".join(forms)


def _with_prompt(pending: Pending, prompt: str) -> Pending:
    from dataclasses import replace

    return replace(pending, prompt=prompt)
