"""The JSON the fake Bugzilla answers with (as recorded from 5.2 and BMO), and its ETags."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync_incident.testing.bugzilla.state import FakeBug, FakeComment, FakeFlag, FakeUser

if TYPE_CHECKING:
    from sync_incident.testing.bugzilla.fake import FakeBugzilla

JSON_HEADERS = {"Content-Type": "application/json; charset=UTF-8"}
HTML_HEADERS = {"Content-Type": "text/html; charset=UTF-8"}
TEXT_HEADERS = {"Content-Type": "text/plain"}


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag_of(result: Any) -> str:
    """An unquoted base64 MD5 of the JSON result, as 5.2 sends it."""
    digest = hashlib.md5(json.dumps(result, sort_keys=True).encode()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def fields(params: dict[str, list[str]]) -> list[str] | None:
    """The ``include_fields`` asked for (comma-separated or repeated), or None for all."""
    values = [f for v in params.get("include_fields", []) for f in v.split(",") if f]
    return values or None


def bug_json(bug: FakeBug, wanted: list[str] | None) -> dict[str, Any]:
    full: dict[str, Any] = {
        "id": bug.id,
        "summary": bug.summary,
        "product": bug.product,
        "component": bug.component,
        "creator": bug.creator,
        "assigned_to": bug.assigned_to,
        "whiteboard": bug.whiteboard,
        "status": bug.status,
        "resolution": bug.resolution,
        "keywords": list(bug.keywords),
        "creation_time": stamp(bug.creation_time),
        "last_change_time": stamp(bug.last_change_time),
        "flags": [flag_json(f) for f in bug.flags],
        "alias": [],
        "is_open": bug.status not in ("RESOLVED", "VERIFIED", "CLOSED"),
    }
    if not wanted or "_default" in wanted or "_all" in wanted:
        return full
    return {k: v for k, v in full.items() if k in wanted}


def flag_json(flag: FakeFlag) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": flag.id,
        "name": flag.name,
        "status": flag.status,
        "setter": flag.setter,
        "type_id": 800,
    }
    if flag.requestee:
        out["requestee"] = flag.requestee
    return out


def comment_json(fake: FakeBugzilla, comment: FakeComment, user: FakeUser | None) -> dict[str, Any]:
    """A comment as ``user`` reads it; BMO adds ``raw_text``, and ``edit_count`` for admins."""
    out: dict[str, Any] = {
        "id": comment.id,
        "bug_id": comment.bug_id,
        "count": comment.count,
        "text": comment.text,
        "creator": comment.creator,
        "time": stamp(comment.time),
        "creation_time": stamp(comment.time),
        "is_private": comment.is_private,
        "attachment_id": None,
        "tags": list(comment.tags),
    }
    if fake.flavor == "bmo":
        out["raw_text"] = comment.text
        out["reactions"] = {}
        if user is not None and user.privileged:
            out["edit_count"] = comment.edit_count
    return out
