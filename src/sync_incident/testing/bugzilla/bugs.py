"""Bugs: read one, search, create, update (whiteboard, assignee, BMO needinfo flags, comment).

An update records each changed field in the bug's history (:mod:`.history` serves it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync_incident.testing.bugzilla.auth import login_required, visible_bug
from sync_incident.testing.bugzilla.comments import checked_comment
from sync_incident.testing.bugzilla.errors import CRASH, BugzillaFault
from sync_incident.testing.bugzilla.history import history_json
from sync_incident.testing.bugzilla.payloads import bug_json, fields, stamp
from sync_incident.testing.bugzilla.state import LIMIT, FakeBug, FakeFlag, FakeUser, normalise

if TYPE_CHECKING:
    from sync_incident.testing.bugzilla.fake import FakeBugzilla

_REQUIRED = (
    ("op_sys", "You must select/enter a OS."),
    ("platform", "You must select/enter a platform."),
    ("summary", "You must enter a summary for this bug."),
    ("version", "You must select/enter a version."),
)


def get_bug(
    fake: FakeBugzilla,
    user: FakeUser | None,
    params: dict[str, list[str]],
    body: Any,
    bug_id: int,
) -> tuple[int, Any]:
    """``GET /rest/bug/{id}``; BMO adds the ``history`` extra field when it is asked for."""
    bug = visible_bug(fake, user, bug_id)
    wanted = fields(params)
    item = bug_json(bug, wanted)
    if fake.flavor == "bmo" and wanted and ("history" in wanted or "_extra" in wanted):
        item["history"] = history_json(bug)
    return 200, {"bugs": [item], "faults": []}


def search(
    fake: FakeBugzilla, user: FakeUser | None, params: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    """``GET /rest/bug``: ``whiteboard`` and ``summary`` substrings, ``creator``,
    ``last_change_time`` (changed at or after)."""
    found = [
        bug_json(bug, fields(params))
        for bug in fake.bugs.values()
        if _searchable(bug, user) and _matches(bug, params)
    ]
    return 200, {"bugs": found}


def _searchable(bug: FakeBug, user: FakeUser | None) -> bool:
    return not bug.restricted or bool(user and user.insider)


def _matches(bug: FakeBug, params: dict[str, list[str]]) -> bool:
    return (
        all(w in bug.whiteboard for w in params.get("whiteboard", []))
        and all(s in bug.summary for s in params.get("summary", []))
        and all(c == bug.creator for c in params.get("creator", []))
        and all(bug.last_change_time >= _instant(t) for t in params.get("last_change_time", []))
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def create(
    fake: FakeBugzilla, user: FakeUser | None, params: Any, body: dict[str, Any]
) -> tuple[int, Any]:
    """``POST /rest/bug``; 5.2 accepts a whiteboard on creation."""
    user = login_required(user)
    for name, message in _REQUIRED:
        if not body.get(name):
            raise BugzillaFault(50, message)
    product = body.get("product")
    if product not in fake.products:
        raise BugzillaFault(
            106,
            f"Sorry, either the product {product} does not exist or you aren't authorized to enter a bug into it.",
        )
    if body.get("component") not in fake.products[product]:
        raise BugzillaFault(
            51,
            f"There is no component named '{body.get('component')}' in the '{product}' product.",
        )
    description = str(body.get("description") or "")
    if len(normalise(description)) > LIMIT:
        raise BugzillaFault(114, f"Comments cannot be longer than {LIMIT} characters.")
    bug_id = fake.add_bug(
        str(body["summary"]),
        creator=user.login,
        description=description,
        product=product,
        component=str(body["component"]),
        whiteboard=str(body.get("whiteboard") or ""),
    )
    return 200, {"id": bug_id}


def update(
    fake: FakeBugzilla, user: FakeUser | None, params: Any, body: dict[str, Any], bug_id: int
) -> tuple[int, Any]:
    """``PUT /rest/bug/{id}``: everything is checked before anything changes (except that a
    comment in the update is stored once the fields and flags pass)."""
    user = login_required(user)
    bug = visible_bug(fake, user, bug_id)
    if "keywords" in body and not isinstance(body["keywords"], dict):
        raise BugzillaFault(100500, CRASH, 200)
    changes = _field_changes(fake, bug, user, body)
    apply_flags = _flag_changes(fake, bug, user, body.get("flags"))
    comment = body.get("comment")
    stored = None
    if isinstance(comment, dict):
        stored = checked_comment(
            fake, bug, user, comment.get("body"), bool(comment.get("is_private"))
        )
    # one transaction: the fields change at the time of the comment that came with them
    when = stored.time if stored is not None else fake.clock.moment().replace(microsecond=0)
    for name, change in changes.items():
        fake.record_change(bug, user.login, when, name, change["removed"], change["added"])
    if "whiteboard" in changes:
        bug.whiteboard = body["whiteboard"]
    if "assigned_to" in changes:
        bug.assigned_to = body["assigned_to"]
    apply_flags()
    if changes:
        bug.last_change_time = when
    result = {
        "id": bug.id,
        "alias": [],
        "last_change_time": stamp(bug.last_change_time),
        "changes": changes,
    }
    return 200, {"bugs": [result]}


def _field_changes(
    fake: FakeBugzilla, bug: FakeBug, user: FakeUser, body: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """The whiteboard and assignee changes asked for, once allowed; nothing applied."""
    may_edit = user.editbugs or user.login in (bug.creator, bug.assigned_to)
    changes: dict[str, dict[str, str]] = {}
    if "whiteboard" in body and body["whiteboard"] != bug.whiteboard:
        if not may_edit:
            raise BugzillaFault(
                115,
                f"You tried to change the Whiteboard field from {bug.whiteboard} to {body['whiteboard']}, but only the assignee or reporter of the bug, or a user with the required permissions may change that field.",
            )
        changes["whiteboard"] = {"added": body["whiteboard"], "removed": bug.whiteboard}
    if "assigned_to" in body and body["assigned_to"] != bug.assigned_to:
        if body["assigned_to"] not in fake.users:
            raise BugzillaFault(51, f"There is no user named '{body['assigned_to']}'.")
        changes["assigned_to"] = {"added": body["assigned_to"], "removed": bug.assigned_to}
    return changes


def _flag_changes(
    fake: FakeBugzilla, bug: FakeBug, user: FakeUser, flags: Any
) -> Callable[[], None]:
    """Check BMO ``needinfo`` flag changes; the function returned applies them."""
    if flags is None:
        return lambda: None
    if fake.flavor != "bmo":
        raise BugzillaFault(51, "There is no flag type named 'needinfo'.")
    ops: list[tuple[str, FakeFlag | None, Any]] = []
    for item in flags:
        if "id" in item:
            existing = [f for f in bug.flags if f.id == item["id"]]
            if not existing:
                raise BugzillaFault(51, f"There is no flag with the id '{item['id']}'.")
            ops.append(("clear", existing[0], item))
        else:
            if item.get("name") != "needinfo":
                raise BugzillaFault(51, f"There is no flag type named '{item.get('name')}'.")
            ops.append(("add", None, item))

    def apply() -> None:
        for action, flag, item in ops:
            if action == "clear" and flag is not None and item.get("status") == "X":
                bug.flags.remove(flag)
            elif action == "add":
                bug.flags.append(
                    FakeFlag(
                        fake.next_flag,
                        "needinfo",
                        item.get("status", "?"),
                        user.login,
                        item.get("requestee"),
                    )
                )
                fake.next_flag += 1

    return apply
