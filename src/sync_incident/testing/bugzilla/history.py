"""The bug's history: ``GET /rest/bug/{id}/history`` (``new_since``), and BMO's extra field.

Shaped as recorded on a real 5.2 (``tests/fixtures/bugzilla/history.200.json``): changes made
by one person at one time form one entry, oldest first; ``new_since`` is strictly
greater-than, like the comments'.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync_incident.testing.bugzilla.auth import visible_bug
from sync_incident.testing.bugzilla.comments import parse_since
from sync_incident.testing.bugzilla.payloads import stamp
from sync_incident.testing.bugzilla.state import FakeBug, FakeUser

if TYPE_CHECKING:
    from datetime import datetime

    from sync_incident.testing.bugzilla.fake import FakeBugzilla


def get_history(
    fake: FakeBugzilla,
    user: FakeUser | None,
    params: dict[str, list[str]],
    body: Any,
    bug_id: int,
) -> tuple[int, Any]:
    bug = visible_bug(fake, user, bug_id)
    since = parse_since(params["new_since"][0]) if params.get("new_since") else None
    return 200, {"bugs": [{"id": bug.id, "history": history_json(bug, since), "alias": []}]}


def history_json(bug: FakeBug, since: datetime | None = None) -> list[dict[str, Any]]:
    """The history entries: one per (who, when), each with its changed fields."""
    out: list[dict[str, Any]] = []
    for change in bug.history:
        if since is not None and change.when <= since:
            continue
        item = {"field_name": change.field_name, "removed": change.removed, "added": change.added}
        last = out[-1] if out else None
        if last is not None and (last["who"], last["when"]) == (change.who, stamp(change.when)):
            last["changes"].append(item)
        else:
            out.append({"when": stamp(change.when), "changes": [item], "who": change.who})
    return out
