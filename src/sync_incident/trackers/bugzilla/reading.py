"""Comments as Bugzilla returns them, merged into the cached incident.

``new_since`` is strictly greater-than at one-second precision and a time without a zone is
read in the server's zone: we always send ``Z`` and overlap by a second, deduping by comment id.
A comment has ``count`` (0 = the description): a gap means a comment this reader cannot see, so
every comment carries it as ``seq`` and the fold turns a gap into doubt for every reader. BMO
tags removed comments ``deleted``: they come back as :class:`~sync_incident.core.comments.Evidence`
of kind ``hidden``, never silently dropped, so a reader without a cache sees the doubt too.
A comment seen before and missing from a full read is reported as vanished.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sync_incident.core.comments import Account, Comment, Evidence
from sync_incident.core.errors import ProtocolError
from sync_incident.trackers.bugzilla.client import Reply
from sync_incident.trackers.cache import CachedIncident

FULL_EVERY = 12  # a full read every 12 reads: about once an hour at BMO's 5-minute poll floor
PENDING_EXPIRY = timedelta(minutes=10)
HIDING_TAGS = ("deleted",)


def parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("creation_time is not a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # Bugzilla always sends Z; refuse to guess a zone
        raise ValueError("creation_time has no zone")
    return parsed.astimezone(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def since(cursor: str) -> str:
    """``new_since`` is strictly greater-than at one-second precision: overlap by a second."""
    return stamp(parse_time(cursor) - timedelta(seconds=1))


def to_comment(raw: dict[str, Any]) -> Comment:
    text = raw.get("raw_text")  # BMO: the text as typed; ``text`` may be rendered differently
    if not isinstance(text, str):
        text = raw.get("text")
    if not isinstance(text, str):
        raise ValueError("comment has no text")
    return Comment(
        id=str(int(raw["id"])),
        author=Account(str(raw["creator"])),
        created_at=parse_time(raw["creation_time"]),
        body=text,
        edited=int(raw.get("edit_count") or 0) > 0,
        private=bool(raw.get("is_private", False)),
        order=int(raw["id"]),
        seq=raw["count"] if isinstance(raw.get("count"), int) else None,
    )


def comments_of(reply: Reply, number: int) -> list[dict[str, Any]]:
    try:
        raw = reply.data["bugs"][str(number)]["comments"]
        if not isinstance(raw, list):
            raise TypeError("comments is not a list")
        return raw
    except (KeyError, TypeError) as exc:
        where = f"GET /rest/bug/{number}/comment"
        raise ProtocolError(f"{where}: unexpected answer ({type(exc).__name__})") from None


def etag_key(path: str, params: dict[str, str]) -> str:
    """The exact URL an ETag belongs to (without the key, which auth adds)."""
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{path}?{query}" if query else path


def needs_full(entry: CachedIncident) -> bool:
    """A full read (the only way to notice a vanished comment): cold, forced, or periodic."""
    return (
        entry.cursor is None
        or bool(entry.fields.get("force_full"))
        or int(entry.fields.get("reads_since_full", 0)) >= FULL_EVERY - 1
    )


def hidden_evidence(entry: CachedIncident) -> list[Evidence]:
    hidden: dict[str, str] = entry.fields.get("hidden", {})
    return [Evidence("hidden", f"comment {cid}", detail) for cid, detail in hidden.items()]


class Merger:
    """Merges one answer's comments into ``entry``; ``ours(login)`` says who we are."""

    def __init__(self, entry: CachedIncident, ours: Callable[[str], bool]) -> None:
        self.entry = entry
        self.ours = ours

    def merge(self, raws: list[dict[str, Any]], *, full: bool) -> bool:
        """Merge; True when the visible comments (or what hides them) changed."""
        entry = self.entry
        changed = False
        seen: set[str] = set()
        expected = int(entry.fields.get("max_count", -1)) + 1
        cursor = entry.cursor
        for raw in sorted(raws, key=lambda r: int(r.get("id", 0) or 0)):
            try:
                comment = to_comment(raw)
            except (KeyError, TypeError, ValueError) as exc:
                raise ProtocolError(
                    f"a comment has an unexpected shape ({type(exc).__name__})"
                ) from None
            if isinstance(comment.seq, int):
                if comment.id not in entry.comments and not full and comment.seq > expected:
                    entry.fields["force_full"] = True  # something we cannot see appeared
                expected = max(expected, comment.seq + 1)
            stamp_ = stamp(comment.created_at)
            cursor = stamp_ if cursor is None or stamp_ > cursor else cursor
            if self._hidden(raw, comment):
                changed = True
                continue
            seen.add(comment.id)
            changed |= self._merge_one(comment)
        entry.fields["max_count"] = expected - 1
        if full:
            changed |= self._mark_missing(seen)
        entry.comments = dict(sorted(entry.comments.items(), key=lambda kv: int(kv[0])))
        if not entry.fields.get("pending") or entry.cursor is None:
            # While one of our posts is not visible yet (replica lag) the cursor stays put, so
            # the comment cannot fall behind it and be skipped by later incremental reads.
            entry.cursor = cursor
        return changed

    def _hidden(self, raw: dict[str, Any], comment: Comment) -> bool:
        """A comment the tracker marks as removed: evidence, not a comment."""
        tags = [str(t).lower() for t in raw.get("tags") or []]
        hidden: dict[str, str] = self.entry.fields.setdefault("hidden", {})
        tag = next((t for t in HIDING_TAGS if t in tags), None)
        if tag is None:
            hidden.pop(comment.id, None)  # shown again: an ordinary comment
            return False
        where = f"#{comment.seq}" if comment.seq is not None else comment.id
        hidden[comment.id] = (
            f"comment {where} by {comment.author.login} is tagged {tag!r}: "
            "its event (if any) cannot be trusted or ignored"
        )
        self.entry.mark_vanished(comment.id)
        return True

    def _merge_one(self, comment: Comment) -> bool:
        entry = self.entry
        back = entry.vanished.pop(comment.id, None)
        if back is not None:  # it is visible again: keep the hash from when it was first seen
            entry.comments[comment.id] = back
        known = entry.comments.get(comment.id)
        changed = (
            known is None
            or back is not None
            or known.body != comment.body
            or comment.edited != known.edited
        )
        entry.merge(comment)
        self._settle_pending(comment)
        return changed

    def _mark_missing(self, seen: set[str]) -> bool:
        entry = self.entry
        gone = [cid for cid in entry.comments if cid not in seen]
        for cid in gone:
            entry.mark_vanished(cid)
        pending: dict[str, dict[str, str]] = entry.fields.get("pending", {})
        now = datetime.now(UTC)
        for marker, info in list(pending.items()):
            if now - datetime.fromisoformat(info["at"]) > PENDING_EXPIRY:
                del pending[marker]  # never showed up on a full read: stop waiting for it
        return bool(gone)

    def _settle_pending(self, comment: Comment) -> None:
        pending: dict[str, dict[str, str]] = self.entry.fields.get("pending", {})
        for marker, info in list(pending.items()):
            mine = bool(marker) and marker in comment.body and self.ours(comment.author.login)
            if mine or info.get("id") == comment.id:
                del pending[marker]


def find_marker(entry: CachedIncident, marker: str, ours: Callable[[str], bool]) -> str | None:
    """Our comment carrying ``marker`` (or one we posted that the replica does not show yet)."""
    for comment in entry.comments.values():
        if marker in comment.body and ours(comment.login):
            return comment.id
    pending = entry.fields.get("pending", {}).get(marker)
    return str(pending.get("id") or "") if pending else None


def remember_pending(entry: CachedIncident, marker: str, comment_id: str) -> None:
    """Trust the id a write returned (or the marker alone) while the replica does not show it."""
    if comment_id and comment_id in entry.comments:
        return
    pending = entry.fields.setdefault("pending", {})
    pending[marker] = {"id": comment_id, "at": datetime.now(UTC).isoformat()}
