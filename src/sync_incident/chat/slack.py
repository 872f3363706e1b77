"""Slack: the bot's HTTP endpoints in ``serve`` and its Web API client (slack-sdk).

=================================  =============================================================
``POST /chat/slack/commands``      the ``/incident`` slash command
``POST /chat/slack/interactivity`` a button on a confirmation prompt (Confirm, Cancel)
``POST /chat/slack/events``        the Events API: messages in bound channels (vague words,
                                   explicit sentences), and the ``url_verification`` handshake
=================================  =============================================================

Every request is checked before anything else is read into the bot, in this order:

1. the body is read within ``[serve] max_body_bytes`` (413 above);
2. Slack's ``v0`` signature (HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret,
   compared in constant time) and a timestamp within 5 minutes of now, by slack-sdk's
   :class:`~slack_sdk.signature.SignatureVerifier`: 401 otherwise;
3. a signature seen before (a captured request replayed within those 5 minutes): 401, nothing
   done; an Events API delivery whose ``event_id`` was handled (Slack retries): 200, nothing
   done again.

Then the request is acknowledged at once (Slack gives an app 3 seconds) and the bot's work
runs in the background; what it says goes to the channel with ``chat.postMessage``. Who spoke
is the ``user_id`` Slack signed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sync_incident.chat.announce import Said
from sync_incident.chat.bot import Bot, Incoming
from sync_incident.serve.webhooks import BodyTooLarge, ReplayStore, read_body

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("sync_incident.chat.slack")
CONFIRM, CANCEL = "sync_incident_confirm", "sync_incident_cancel"


def clock_of(now: Callable[[], float]) -> Any:
    """slack-sdk's clock, reading ``now`` (ours in tests)."""
    from slack_sdk.signature import Clock

    class _Now(Clock):
        def now(self) -> float:
            return now()

    return _Now()


class SlackChat:
    """The bot's Slack side: the endpoints (:meth:`routes`) and sending (:meth:`send`)."""

    kind: Literal["slack"] = "slack"

    def __init__(
        self,
        token: str,
        signing_secret: str,
        bot: Bot,
        *,
        api_url: str = "https://slack.com/api/",
        max_body_bytes: int = 1_048_576,
        replay_window: int = 10_000,
        clock: Callable[[], float] | None = None,
        user: str = "",
    ) -> None:
        import time

        from slack_sdk.signature import SignatureVerifier
        from slack_sdk.web.async_client import AsyncWebClient

        self.client: AsyncWebClient = AsyncWebClient(token=token, base_url=api_url)
        self.verifier = SignatureVerifier(signing_secret, clock=clock_of(clock or time.time))
        self.bot = bot
        self.user = user  # the bot's member id (auth.test, at start)
        self.max_body_bytes = max_body_bytes
        self.signatures = ReplayStore(replay_window)
        self.events = ReplayStore(replay_window)

    async def start(self) -> None:
        """Learn the bot's own member id, so its messages are never read as someone's."""
        answer = await self.client.auth_test()
        self.user = str(answer.get("user_id") or self.user)

    async def aclose(self) -> None:
        session = getattr(self.client, "session", None)
        if session is not None:
            await session.close()

    # --- sending ---------------------------------------------------------------------------

    async def send(self, room: str, said: Said) -> str:
        """``chat.postMessage``; a confirmation carries its Confirm and Cancel buttons."""
        blocks: list[dict[str, Any]] | None = None
        if said.confirm:
            blocks = [
                {"type": "section", "text": {"type": "mrkdwn", "text": said.text}},
                {
                    "type": "actions",
                    "block_id": "confirm",
                    "elements": [
                        _button("Confirm", CONFIRM, said.confirm, style="primary"),
                        _button("Cancel", CANCEL, said.confirm),
                    ],
                },
            ]
        answer = await self.client.chat_postMessage(channel=room, text=said.text, blocks=blocks)
        return str(answer.get("ts") or "")

    # --- receiving -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [
            Route("/chat/slack/commands", self.commands, methods=["POST"]),
            Route("/chat/slack/interactivity", self.interactivity, methods=["POST"]),
            Route("/chat/slack/events", self.events_api, methods=["POST"]),
        ]

    async def _verified(self, request: Request) -> bytes | Response:
        """The body of a request Slack signed and nobody replayed; else the answer to give."""
        try:
            body = await read_body(request, self.max_body_bytes)
        except BodyTooLarge:
            return PlainTextResponse("Request body too large.\n", status_code=413)
        stamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        if not self.verifier.is_valid(body, stamp, signature):
            log.warning("Slack request refused: bad signature", extra={"event": "slack-401"})
            return PlainTextResponse(
                "Bad or missing Slack signature, or a timestamp older than 5 minutes.\n",
                status_code=401,
            )
        if not self.signatures.claim(str(signature)):
            log.warning("Slack request refused: replayed", extra={"event": "slack-replay"})
            return PlainTextResponse("This request was seen before: refused.\n", status_code=401)
        return body

    async def commands(self, request: Request) -> Response:
        """``/incident …``: acknowledged at once; the bot answers in the channel."""
        body = await self._verified(request)
        if isinstance(body, Response):
            return body
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        stamp = request.headers["x-slack-request-timestamp"]
        message = Incoming(
            "slack",
            form.get("channel_id", ""),
            form.get("user_id", ""),
            f"cmd:{form.get('trigger_id', stamp)}",
            datetime.fromtimestamp(int(stamp), UTC),
            f"/incident {form.get('text', '')}",
            command=form.get("text", ""),
        )
        self.bot.spawn(self.bot.message(message))
        return Response(status_code=200)

    async def interactivity(self, request: Request) -> Response:
        """A Confirm or Cancel button, pressed by whoever Slack says pressed it."""
        body = await self._verified(request)
        if isinstance(body, Response):
            return body
        form = dict(parse_qsl(body.decode("utf-8", "replace")))
        try:
            payload = json.loads(form.get("payload", ""))
            action = payload["actions"][0]
            user, channel = payload["user"]["id"], payload["channel"]["id"]
        except (ValueError, KeyError, IndexError, TypeError):
            return PlainTextResponse("Not an interaction this app sent.\n", status_code=400)
        if action.get("action_id") in (CONFIRM, CANCEL):
            yes = action["action_id"] == CONFIRM
            self.bot.spawn(self.bot.button("slack", channel, user, str(action.get("value")), yes))
        return Response(status_code=200)

    async def events_api(self, request: Request) -> Response:
        """The Events API: the handshake, and messages said in channels."""
        body = await self._verified(request)
        if isinstance(body, Response):
            return body
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("Not JSON.\n", status_code=400)
        if payload.get("type") == "url_verification":
            return JSONResponse({"challenge": payload.get("challenge", "")})
        event = payload.get("event") or {}
        if payload.get("type") != "event_callback" or event.get("type") != "message":
            return Response(status_code=200)
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return Response(status_code=200)  # edits, joins, bots (ourselves too)
        if not self.events.claim(str(payload.get("event_id", ""))):
            return Response(status_code=200)  # Slack retried a delivery we have
        ts = str(event.get("ts", "0"))
        message = Incoming(
            "slack",
            str(event.get("channel", "")),
            str(event["user"]),
            f"msg:{event.get('channel', '')}:{ts}",
            datetime.fromtimestamp(float(ts), UTC),
            str(event.get("text", "")),
        )
        self.bot.spawn(self.bot.message(message))
        return Response(status_code=200)


def _button(text: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button
