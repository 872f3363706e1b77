"""What the chat bot keeps between runs, in the cache file.

- the Matrix sync token, written after the events of a sync were handled: a restart resumes
  there, so no command is lost, and one handled but not yet acknowledged is handled again,
  which posts nothing twice (its event ids derive from the chat message id);
- per room and incident, the events already announced there (the last :data:`KEEP`);
- confirmations waiting for the person who asked, with the prompt's message id and token;
- rooms bound from a room, so their incidents are read again at once after a restart.

A cache: the tracker is the record. Deleting the file loses no record; the bot then starts from
now (a room is not flooded with the incident's past, and commands typed while it was away from
a homeserver it never synced with are not read).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sync_incident.trackers.cache import Cache

KEEP = 2000  # event ids remembered per room and incident


@dataclass(frozen=True)
class Pending:
    """A command waiting for its author's confirmation."""

    chat: str
    room: str
    sender: str
    message_id: str  # the chat message that asked: the events' ids derive from it
    at: datetime  # that message's time
    ref: str  # the incident, as a reference
    command: str  # the words after the prefix, read again when confirmed
    sentence: str  # what it would record, as the prompt said
    expires: datetime
    token: str  # the confirmation's own id (Slack's button value)
    prompt: str = ""  # the prompt's chat message id (Matrix: what a reaction names)

    def to_json(self) -> str:
        data = asdict(self)
        data["at"], data["expires"] = self.at.isoformat(), self.expires.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Pending:
        data = json.loads(text)
        data["at"] = datetime.fromisoformat(data["at"])
        data["expires"] = datetime.fromisoformat(data["expires"])
        return cls(**data)


class Store:
    """The bot's memory between runs (see the module docstring)."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    # --- sync tokens ---------------------------------------------------------------------

    def sync_token(self, account: str) -> str | None:
        return self.cache.get("chat-sync", account) or None

    def save_sync_token(self, account: str, token: str) -> None:
        self.cache.put("chat-sync", account, token)

    # --- announced events ----------------------------------------------------------------

    def announced(self, chat: str, room: str, ref: str) -> list[str] | None:
        """The events announced in ``room`` for ``ref``; None when the room never followed it."""
        raw = self.cache.get("chat-announced", f"{chat}|{room}|{ref}")
        if raw is None:
            return None
        try:
            ids = json.loads(raw)
        except ValueError:
            return None
        return [str(i) for i in ids] if isinstance(ids, list) else None

    def save_announced(self, chat: str, room: str, ref: str, ids: list[str]) -> None:
        kept = list(dict.fromkeys(ids))[-KEEP:]
        self.cache.put("chat-announced", f"{chat}|{room}|{ref}", json.dumps(kept))

    # --- confirmations -------------------------------------------------------------------

    def pending(self, chat: str, room: str, sender: str) -> Pending | None:
        return self._pending(self.cache.get("chat-pending", f"{chat}|{room}|{sender}"))

    def pending_by(self, chat: str, handle: str) -> Pending | None:
        """The confirmation a prompt's message id or a token names."""
        where = self.cache.get("chat-prompt", f"{chat}|{handle}")
        return self._pending(self.cache.get("chat-pending", where)) if where else None

    def save_pending(self, pending: Pending) -> None:
        where = f"{pending.chat}|{pending.room}|{pending.sender}"
        self.cache.put("chat-pending", where, pending.to_json())
        self.cache.put("chat-prompt", f"{pending.chat}|{pending.token}", where)
        if pending.prompt:
            self.cache.put("chat-prompt", f"{pending.chat}|{pending.prompt}", where)

    def drop_pending(self, pending: Pending) -> None:
        self.cache.put("chat-pending", f"{pending.chat}|{pending.room}|{pending.sender}", "")
        self.cache.put("chat-prompt", f"{pending.chat}|{pending.token}", "")
        if pending.prompt:
            self.cache.put("chat-prompt", f"{pending.chat}|{pending.prompt}", "")

    @staticmethod
    def _pending(raw: str | None) -> Pending | None:
        if not raw:
            return None
        try:
            return Pending.from_json(raw)
        except (ValueError, TypeError, KeyError):
            return None  # a broken cache entry is no confirmation

    # --- rooms bound from a room ---------------------------------------------------------

    def bound(self) -> dict[str, str]:
        """``chat|room`` -> incident reference, as last known."""
        raw = self.cache.get("chat-bound", "rooms")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def save_bound(self, rooms: dict[str, str]) -> None:
        self.cache.put("chat-bound", "rooms", json.dumps(rooms, sort_keys=True))
