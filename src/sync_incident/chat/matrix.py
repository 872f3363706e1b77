"""Matrix: the bot follows its rooms on one sync connection (matrix-nio's ``AsyncClient``).

Why matrix-nio rather than mautrix: the bot needs a client-server API client, a sync loop,
typed room events (messages, reactions, invites) and sends with transaction ids, nothing
more. nio is exactly that, on aiohttp, with a sans-I/O core whose responses are plain typed
values; mautrix is a framework for bridges and application services (its own event loop
helpers, state stores and appservice plumbing) of which a bot would use a corner. Neither
speaks end-to-end encryption here without libolm: the bot's rooms are unencrypted.

The loop (:meth:`MatrixChat.run`):

- one long-polling ``/sync`` for every room the bot is in (50 rooms or 500: one connection);
- the events of a sync are handled, then its token is saved (:class:`~.store.Store`): a
  restart resumes there, so no command is lost, and a command handled again after a crash
  posts nothing twice (its event ids derive from the Matrix event id) and sends no second
  reply (each reply's transaction id derives from what it answers, and the homeserver keeps
  one event per transaction id);
- a timeline the homeserver cut short (``limited``: many messages while the bot was away) is
  filled in with ``/messages`` back to the saved token, so nothing typed in between is lost;
- the very first sync (no saved token) only takes the token: a bot new to a room does not
  run the commands of its past;
- the homeserver down, slow or refusing: back off exponentially (1 s doubling to
  :data:`BACKOFF_MAX`, with jitter), then resume from the saved token;
- an invitation is accepted when it comes from a person of the policy; rooms bound in the
  configuration are joined at start.

Only events the homeserver's authenticated sync delivers are read; the sender is the one the
homeserver names.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from sync_incident.chat.announce import Said
from sync_incident.chat.bot import Bot, Incoming
from sync_incident.chat.store import Store

log = logging.getLogger("sync_incident.chat.matrix")
BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
BACKFILL_PAGES = 20  # pages of /messages read to fill one cut-short timeline
# what a sync asks for: room messages and reactions, not presence or account data
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"not_types": ["*"]},
    "room": {
        "timeline": {"limit": 100, "types": ["m.room.message", "m.reaction"]},
        "state": {"lazy_load_members": True, "types": ["m.room.member"]},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
}
FIRST_FILTER: dict[str, Any] = {
    **SYNC_FILTER,
    "room": {**SYNC_FILTER["room"], "timeline": {"limit": 0}},
}

Sleep = Callable[[float], Awaitable[None]]


class ChatError(Exception):
    """The homeserver did not take a message (the bot says it again at the next chance)."""


class MatrixChat:
    """The bot's Matrix side: sends for the :class:`~.bot.Bot`, and feeds it from ``/sync``."""

    kind: Literal["matrix"] = "matrix"

    def __init__(
        self,
        homeserver: str,
        user: str,
        token: str,
        bot: Bot,
        store: Store,
        *,
        device_id: str = "",
        sync_timeout: float = 30.0,
        sleep: Sleep = asyncio.sleep,
        rooms: tuple[str, ...] = (),
    ) -> None:
        from nio import AsyncClient, AsyncClientConfig

        config = AsyncClientConfig(
            store_sync_tokens=False,
            encryption_enabled=False,
            max_timeouts=1,  # our own backoff decides, and a drain is not held up
            max_limit_exceeded=3,
            request_timeout=sync_timeout + 30,
        )
        self.client = AsyncClient(homeserver, user, device_id=device_id or None, config=config)
        self.client.restore_login(user, device_id, token)
        self.user = user
        self.bot, self.store = bot, store
        self.sync_timeout = sync_timeout
        self._sleep = sleep
        self._rooms = rooms
        self.syncs = 0  # syncs handled (for the benchmark and /metrics-minded tests)
        self.failures = 0  # consecutive failed syncs

    async def aclose(self) -> None:
        await self.client.close()

    # --- sending ---------------------------------------------------------------------------

    async def send(self, room: str, said: Said) -> str:
        """Send ``said``; its key becomes the transaction id, so it is sent once."""
        from nio import RoomSendResponse

        content: dict[str, Any] = {
            # a mention must notify, and the push rules mute notices: mentions go as text
            "msgtype": "m.text" if said.mentions else "m.notice",
            "body": said.text,
            "m.mentions": {"user_ids": list(said.mentions)},
        }
        if said.reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": said.reply_to}}
        txn = hashlib.sha256(said.key.encode()).hexdigest()[:32] if said.key else None
        response = await self.client.room_send(room, "m.room.message", content, tx_id=txn)
        if not isinstance(response, RoomSendResponse):
            raise ChatError(f"{room}: {getattr(response, 'message', response)}")
        return str(response.event_id)

    # --- the sync loop ---------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop`` is set (see the module docstring)."""
        await self._join_configured()
        since = self.store.sync_token(self.user)
        while not stop.is_set():
            response = await self._sync(since, stop)
            if response is None:
                if stop.is_set():
                    break
                await self._back_off(stop)
                continue
            self.failures = 0
            if since is not None:
                await self.handle(response, since)
            await self._invited(response)
            since = str(response.next_batch)
            self.store.save_sync_token(self.user, since)  # only once its events were handled
            self.syncs += 1

    async def _sync(self, since: str | None, stop: asyncio.Event) -> Any:
        """One ``/sync``; None when it failed (or ``stop`` was set meanwhile)."""
        from nio import SyncResponse

        wanted = SYNC_FILTER if since is not None else FIRST_FILTER
        timeout = 0 if since is None else int(self.sync_timeout * 1000)
        request = asyncio.ensure_future(
            self.client.sync(timeout=timeout, sync_filter=wanted, since=since)
        )
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({request, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not request.done():
            request.cancel()
            await asyncio.gather(request, return_exceptions=True)
            return None
        try:
            response = request.result()
        except Exception as exc:  # aiohttp's and the socket's errors: the homeserver is away
            self._failed(f"{type(exc).__name__}: {exc}")
            return None
        if not isinstance(response, SyncResponse):
            self._failed(
                f"{getattr(response, 'status_code', '')} {getattr(response, 'message', response)}"
            )
            return None
        return response

    def _failed(self, why: str) -> None:
        self.failures += 1
        log.warning(
            "Matrix sync failed; backing off",
            extra={"event": "matrix-backoff", "error": why, "failures": self.failures},
        )

    async def _back_off(self, stop: asyncio.Event) -> None:
        delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** (self.failures - 1))
        delay *= random.uniform(0.5, 1.0)
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(stop.wait())
        _, pending = await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def handle(self, response: Any, since: str) -> None:
        """Every room's new events, rooms side by side, each room's in order."""
        jobs = []
        for room_id, info in response.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = [*await self._backfill(room_id, info.timeline.prev_batch, since), *events]
            jobs.append(self._room(room_id, events))
        await asyncio.gather(*jobs)

    async def _backfill(self, room_id: str, start: str, since: str) -> list[Any]:
        """The events between ``since`` and ``start`` (the sync cut them), oldest first."""
        from nio import RoomMessagesResponse
        from nio.api import MessageDirection

        found: list[Any] = []
        token: str | None = start
        for _ in range(BACKFILL_PAGES):
            page = await self.client.room_messages(
                room_id, start=token, end=since, direction=MessageDirection.back, limit=100
            )
            if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                break
            found.extend(page.chunk)
            if not page.end or page.end == token:
                break
            token = page.end
        found.reverse()
        return found

    async def _room(self, room_id: str, events: list[Any]) -> None:
        from nio import ReactionEvent, RoomMessageText

        seen: set[str] = set()
        for event in events:
            event_id = getattr(event, "event_id", "")
            if event_id in seen or getattr(event, "sender", "") == self.user:
                continue
            seen.add(event_id)
            at = datetime.fromtimestamp(event.server_timestamp / 1000, UTC)
            try:
                if isinstance(event, RoomMessageText):
                    await self.bot.message(
                        Incoming("matrix", room_id, event.sender, event_id, at, event.body)
                    )
                elif isinstance(event, ReactionEvent):
                    await self.bot.reaction(
                        "matrix", room_id, event.sender, event.reacts_to, event.key, event_id
                    )
            except Exception:  # one message must not stop the room
                log.exception("chat message failed", extra={"event": "chat-error", "room": room_id})

    async def _invited(self, response: Any) -> None:
        """Join a room a person of the policy invited the bot to."""
        for room_id, info in response.rooms.invite.items():
            inviter = next(
                (
                    e.sender
                    for e in info.invite_state
                    if getattr(e, "state_key", None) == self.user
                    and getattr(e, "membership", None) == "invite"
                ),
                None,
            )
            person = self.bot.settings.policy.person_for_chat("matrix", inviter or "")
            if person is None:
                log.info("invitation ignored", extra={"event": "matrix-invite", "room": room_id})
                continue
            await self.client.join(room_id)

    async def _join_configured(self) -> None:
        for room_id in self._rooms:
            try:
                response = await self.client.join(room_id)
            except Exception as exc:  # the homeserver is away: the sync loop backs off
                response = exc
            if getattr(response, "room_id", None) != room_id:
                log.warning(
                    "cannot join a configured room",
                    extra={"event": "matrix-join", "room": room_id, "error": str(response)},
                )
