"""The local cache: cursors, ETags, comment bodies and hashes per incident.

It is only a cache (PRODUCT.md "Trust"): delete the file and the next read fetches everything
again. It makes an unchanged incident cost one cheap request (a 304, or an empty incremental
read) and lets trackers notice comments that were edited or vanished since they were first seen.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sync_incident.core.comments import Account, Comment, normalise_body


def body_hash(body: str) -> str:
    """Hash of the normalised body, so tracker whitespace rewriting is not an edit."""
    return hashlib.sha256(normalise_body(body).encode("utf-8", "surrogatepass")).hexdigest()[:32]


@dataclass
class CachedComment:
    id: str
    login: str
    uid: str | None
    created_at: str  # ISO 8601 UTC
    body: str
    first_hash: str  # hash when first seen; a later different hash means it was edited
    edited: bool = False
    private: bool = False
    order: int = 0
    seq: int | None = None

    def fields(self) -> tuple[Any, ...]:
        """Everything :meth:`to_comment` reads, as a value (the object itself can change)."""
        return (
            self.id,
            self.login,
            self.uid,
            self.created_at,
            self.body,
            self.first_hash,
            self.edited,
            self.private,
            self.order,
            self.seq,
        )

    def to_comment(self) -> Comment:
        return Comment(
            id=self.id,
            author=Account(self.login, self.uid),
            created_at=datetime.fromisoformat(self.created_at),
            body=self.body,
            edited=self.edited or body_hash(self.body) != self.first_hash,
            private=self.private,
            order=self.order,
            seq=self.seq,
        )

    @classmethod
    def from_comment(cls, comment: Comment, first_hash: str | None = None) -> CachedComment:
        return cls(
            id=comment.id,
            login=comment.author.login,
            uid=comment.author.uid,
            created_at=comment.created_at.isoformat(),
            body=comment.body,
            first_hash=first_hash or body_hash(comment.body),
            edited=comment.edited,
            private=comment.private,
            order=comment.order,
            seq=comment.seq,
        )


# The comments a tracker made from cached ones, by comment id: (what they were made from, the
# comment). An unchanged comment is not made again (its body hashed again) at every read, and a
# reader comparing two reads compares the same objects.
Made = dict[str, tuple[tuple[Any, ...], Comment]]


def _comment(cached: CachedComment, made: Made | None) -> Comment:
    if made is None:
        return cached.to_comment()
    fields = cached.fields()
    known = made.get(cached.id)
    if known is not None and known[0] == fields:
        return known[1]
    comment = cached.to_comment()
    made[cached.id] = (fields, comment)
    return comment


@dataclass
class CachedIncident:
    title: str = ""
    url: str = ""
    comments: dict[str, CachedComment] = field(default_factory=dict)  # insertion = tracker order
    vanished: dict[str, CachedComment] = field(default_factory=dict)
    cursor: str | None = None
    etags: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)

    def merge(self, comment: Comment) -> None:
        """Add or update one comment, keeping the hash from when it was first seen."""
        known = self.comments.get(comment.id)
        first = known.first_hash if known else None
        edited = comment.edited or (known.edited if known else False)
        cached = CachedComment.from_comment(comment, first)
        cached.edited = edited
        self.comments[comment.id] = cached

    def mark_vanished(self, comment_id: str) -> None:
        gone = self.comments.pop(comment_id, None)
        if gone is not None:
            self.vanished[comment_id] = gone

    def comment_list(self, made: Made | None = None) -> list[Comment]:
        return [_comment(c, made) for c in self.comments.values()]

    def vanished_list(self, made: Made | None = None) -> list[Comment]:
        return [_comment(c, made) for c in self.vanished.values()]

    def to_json(self) -> str:
        # flat records, no deep copy (dataclasses.asdict took most of a 1,000-comment save)
        data = {
            "title": self.title,
            "url": self.url,
            "comments": [vars(c) for c in self.comments.values()],
            "vanished": [vars(c) for c in self.vanished.values()],
            "cursor": self.cursor,
            "etags": self.etags,
            "fields": self.fields,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CachedIncident:
        data = json.loads(text)
        return cls(
            title=data.get("title", ""),
            url=data.get("url", ""),
            comments={c["id"]: CachedComment(**c) for c in data.get("comments", [])},
            vanished={c["id"]: CachedComment(**c) for c in data.get("vanished", [])},
            cursor=data.get("cursor"),
            etags=dict(data.get("etags", {})),
            fields=dict(data.get("fields", {})),
        )


class Cache:
    """A SQLite file (WAL, one JSON document per incident and namespace); ``None`` = in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    @property
    def _db(self) -> sqlite3.Connection:
        """The database, opened at first use: a command that never asks (a local read) never
        opens it, nor creates its directory."""
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        path = self.path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path) if path else ":memory:", timeout=30, check_same_thread=False)
        with db:
            if path is not None:
                db.execute("PRAGMA journal_mode=WAL")
                # A cache need not reach the disk at every commit: with WAL, NORMAL survives a
                # crash of the process and at worst loses the last writes to a power cut (the
                # next read fetches them again). FULL synced the disk at every save, stalling
                # the daemon's event loop about a millisecond per incident polled.
                db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries ("
                " ns TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,"
                " PRIMARY KEY (ns, key))"
            )
        return db

    @classmethod
    def open(cls, path: Path) -> Cache:
        """The cache at ``path``; an in-memory one when that file cannot be used as a cache.

        A cache is only a cache: a file that is not a SQLite database (or cannot be opened)
        must not make a command fail. The next good file is used again.
        """
        try:
            return cls(path)
        except (sqlite3.Error, OSError) as exc:
            import logging

            logging.getLogger("sync_incident.cache").warning(
                "the cache %s cannot be used (%s); reading without it", path, exc
            )
            return cls(None)

    def load(self, key: str) -> CachedIncident:
        """The cached incident for ``key`` (an empty one when nothing or garbage is cached)."""
        raw = self.get("incident", key)
        if raw is None:
            return CachedIncident()
        try:
            return CachedIncident.from_json(raw)
        except (ValueError, TypeError, KeyError):
            return CachedIncident()  # a broken cache is an empty cache, never an error

    def save(self, key: str, incident: CachedIncident) -> None:
        self.put("incident", key, incident.to_json())

    def get(self, ns: str, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM entries WHERE ns = ? AND key = ?", (ns, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def put(self, ns: str, key: str, data: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO entries (ns, key, data) VALUES (?, ?, ?)"
                " ON CONFLICT (ns, key) DO UPDATE SET data = excluded.data",
                (ns, key, data),
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
