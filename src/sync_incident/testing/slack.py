"""A stateful fake of Slack, built from Slack's documented payloads.

Both directions:

- the Web API methods the bot calls, as :meth:`FakeSlack.handler` (an ``httpx`` handler,
  served over real HTTP by :class:`~sync_incident.testing.server.LoopbackServer`, since
  slack-sdk's async client speaks aiohttp): ``auth.test`` and ``chat.postMessage``, with a bot
  token checked as Slack does (``{"ok": false, "error": "invalid_auth"}``), each message kept
  per channel with its ``ts``;
- the requests Slack sends to an app, signed with the app's signing secret (``v0``, HMAC-SHA256
  over ``v0:{timestamp}:{body}``): a slash command (form-encoded, the fields Slack documents),
  a button press (``payload`` of type ``block_actions``), an Events API message callback, and
  the ``url_verification`` handshake.

Kept free of pytest so benchmarks can use it.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx

TEAM = "T0001"


@dataclass(frozen=True)
class Signed:
    """A request Slack sends: its body and headers (signature and timestamp included)."""

    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeSlack:
    """Slack's side of a workspace with one bot."""

    signing_secret: str
    token: str = "xoxb-fake-token"
    bot_user: str = "UBOT"
    clock: Callable[[], float] = time.time
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the Web API ---------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        with self._lock:
            self.calls.append(method)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(200, json={"ok": False, "error": "invalid_auth"})
        args = self._args(request)
        if method == "auth.test":
            return httpx.Response(
                200, json={"ok": True, "user_id": self.bot_user, "team_id": TEAM, "user": "bot"}
            )
        if method == "chat.postMessage":
            return httpx.Response(200, json=self._post(args))
        return httpx.Response(200, json={"ok": False, "error": "unknown_method"})

    @staticmethod
    def _args(request: httpx.Request) -> dict[str, Any]:
        kind = request.headers.get("content-type", "")
        if "json" in kind:
            data = json.loads(request.content or b"{}")
            return data if isinstance(data, dict) else {}
        return dict(parse_qsl(request.content.decode()))

    def _post(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        with self._lock:
            ts = f"{int(self.clock())}.{next(self._ts):06d}"
            message = {
                "type": "message",
                "user": self.bot_user,
                "text": args.get("text", ""),
                "ts": ts,
                "blocks": args.get("blocks") or [],
            }
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self.messages.setdefault(channel, []).append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def texts(self, channel: str) -> list[str]:
        return [str(m["text"]) for m in self.messages.get(channel, [])]

    # --- what Slack sends to the app -----------------------------------------------------

    def sign(self, body: bytes, at: float | None = None) -> dict[str, str]:
        stamp = str(int(self.clock() if at is None else at))
        base = b"v0:" + stamp.encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

    def slash(self, user: str, channel: str, text: str, command: str = "/incident") -> Signed:
        """A slash command, with the fields Slack documents."""
        n = next(self._ids)
        fields = {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",  # the deprecated verification token: unused
            "team_id": TEAM,
            "team_domain": "releng",
            "channel_id": channel,
            "channel_name": "incident",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0001",
            "response_url": f"https://hooks.slack.com/commands/{TEAM}/{n}/x",
            "trigger_id": f"{n}.{n}.trigger{n:04d}",
        }
        body = urlencode(fields).encode()
        return Signed("/chat/slack/commands", body, self._form(body))

    def click(
        self, user: str, channel: str, value: str, action_id: str = "confirm", message_ts: str = ""
    ) -> Signed:
        """A button pressed on one of the bot's messages (``block_actions``)."""
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "releng"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0001",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
            "trigger_id": f"t{next(self._ids)}",
            "channel": {"id": channel, "name": "incident"},
            "message": {"type": "message", "ts": message_ts, "user": self.bot_user},
            "response_url": f"https://hooks.slack.com/actions/{TEAM}/1/x",
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "confirm",
                    "value": value,
                    "action_ts": f"{self.clock():.6f}",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return Signed("/chat/slack/interactivity", body, self._form(body))

    def press(self, user: str, channel: str, label: str) -> Signed:
        """``user`` presses the button labelled ``label`` on the bot's latest message that has one."""
        for message in reversed(self.messages.get(channel, [])):
            for block in message.get("blocks") or []:
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("text", {}).get("text") == label:
                        return self.click(
                            user, channel, element["value"], element["action_id"], message["ts"]
                        )
        raise LookupError(f"no button {label!r} in {channel}")

    def message_event(self, user: str, channel: str, text: str) -> Signed:
        """An Events API ``message`` callback: someone said ``text`` in ``channel``."""
        n = next(self._ids)
        ts = f"{int(self.clock())}.{n:06d}"
        payload = {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": TEAM,
            "api_app_id": "A0001",
            "event": {
                "type": "message",
                "channel": channel,
                "user": user,
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "channel_type": "channel",
            },
            "type": "event_callback",
            "event_id": f"Ev{n:08d}",
            "event_time": int(self.clock()),
        }
        body = json.dumps(payload).encode()
        return Signed("/chat/slack/events", body, self._json(body))

    def url_verification(self, challenge: str) -> Signed:
        body = json.dumps(
            {
                "token": "gIkuvaNzQIHg97ATvDxqgjtO",
                "challenge": challenge,
                "type": "url_verification",
            }
        ).encode()
        return Signed("/chat/slack/events", body, self._json(body))

    def _form(self, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body)}

    def _json(self, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", **self.sign(body)}
