"""The chat bot inside ``serve``: built from the settings, fed by the daemon, run beside it.

:func:`chat_of` returns None when no chat is configured (nothing of the chat libraries is
then imported). Otherwise :class:`ChatService` holds the bot (:class:`~.bot.Bot`) on its own
tracker session and cache, the Matrix sync loop when ``[matrix] homeserver`` and
``SYNC_INCIDENT_MATRIX_ACCESS_TOKEN`` are set, and the Slack endpoints when
``SYNC_INCIDENT_SLACK_BOT_TOKEN`` and ``SYNC_INCIDENT_SLACK_SIGNING_SECRET`` are. The daemon's
reads announce (:meth:`~.bot.Bot.on_read`); a post from a room pokes the daemon, so the other
rooms and the pages hear of it at once.

A half-configured chat is refused at start, naming what is missing: a bot that silently does
not listen is worse than none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sync_incident.core.errors import ConfigError

if TYPE_CHECKING:
    from starlette.routing import Route

    from sync_incident.chat.bot import Bot
    from sync_incident.chat.matrix import MatrixChat
    from sync_incident.chat.slack import SlackChat
    from sync_incident.config import Settings
    from sync_incident.daemon.poller import Daemon, Watch
    from sync_incident.service import Session

log = logging.getLogger("sync_incident.chat")


def wanted(settings: Settings) -> tuple[bool, bool]:
    """Whether Matrix and Slack are configured; ConfigError when one is half configured."""
    m, token = settings.matrix, settings.matrix_access_token
    matrix = bool(m.homeserver or m.user_id or m.rooms or token)
    if matrix:
        missing = [
            name
            for name, value in (
                ("[matrix] homeserver", m.homeserver),
                ("[matrix] user_id", m.user_id),
                ("SYNC_INCIDENT_MATRIX_ACCESS_TOKEN", token),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "the Matrix bot is half configured: " + ", ".join(missing) + " not set",
                hint="set them all (README: Chat rooms), or none to run without Matrix",
            )
    s = settings.slack
    slack = bool(s.channels or settings.slack_bot_token or settings.slack_signing_secret)
    if slack:
        missing = [
            name
            for name, value in (
                ("SYNC_INCIDENT_SLACK_BOT_TOKEN", settings.slack_bot_token),
                ("SYNC_INCIDENT_SLACK_SIGNING_SECRET", settings.slack_signing_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "the Slack bot is half configured: " + ", ".join(missing) + " not set",
                hint="set both (README: Chat rooms), or neither to run without Slack",
            )
    return matrix, slack


class ChatService:
    """The bot, its chats and its session; see the module docstring."""

    def __init__(self, settings: Settings, session: Session, daemon: Daemon) -> None:
        from sync_incident.chat.bot import Bot
        from sync_incident.chat.store import Store

        matrix, slack = wanted(settings)
        self.settings, self.session = settings, session
        self.store = Store(session.cache())
        self.bot: Bot = Bot(
            settings, session, self.store, clock=daemon.clock, watch=daemon.watch, poke=daemon.poke
        )
        daemon.listeners.append(self._read)
        self.matrix: MatrixChat | None = None
        self.slack: SlackChat | None = None
        if matrix:
            from sync_incident.chat.matrix import MatrixChat

            token = settings.matrix_access_token
            assert token is not None  # wanted() said so
            self.matrix = MatrixChat(
                settings.matrix.homeserver,
                settings.matrix.user_id,
                token.get_secret_value(),
                self.bot,
                self.store,
                device_id=settings.matrix.device_id,
                sync_timeout=settings.matrix.sync_timeout_seconds,
                rooms=tuple(settings.matrix.rooms),
            )
            self.bot.attach(self.matrix)
        if slack:
            from sync_incident.chat.slack import SlackChat

            bot_token, secret = settings.slack_bot_token, settings.slack_signing_secret
            assert bot_token is not None and secret is not None
            self.slack = SlackChat(
                bot_token.get_secret_value(),
                secret.get_secret_value(),
                self.bot,
                api_url=settings.slack.api_url,
                max_body_bytes=settings.serve.max_body_bytes,
                replay_window=settings.serve.replay_window,
            )
            self.bot.attach(self.slack)

    @property
    def routes(self) -> list[Route]:
        return self.slack.routes() if self.slack is not None else []

    def _read(self, watch: Watch) -> None:
        if watch.state is not None:
            self.bot.on_read(watch.ref, watch.state, watch.comments)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the chats until ``stop``; then let what is in flight finish."""
        self.bot.start()
        try:
            if self.slack is not None:
                try:
                    await self.slack.start()
                except Exception as exc:  # Slack unreachable at start: its id is learnt later
                    log.warning(
                        "Slack auth.test failed", extra={"event": "slack-start", "error": str(exc)}
                    )
            if self.matrix is not None:
                await self.matrix.run(stop)
            else:
                await stop.wait()
        finally:
            await self.bot.drain()
            for chat in (self.matrix, self.slack):
                if chat is not None:
                    await chat.aclose()
            await self.session.aclose()


def chat_of(
    settings: Settings, session_factory: Callable[[], Session], daemon: Daemon
) -> ChatService | None:
    """The chat service ``serve`` runs, or None when no chat is configured."""
    if not any(wanted(settings)):
        return None
    return ChatService(settings, session_factory(), daemon)
