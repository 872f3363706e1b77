"""Comments: ``GET /rest/bug/{id}/comment`` (``new_since``, visibility) and adding one."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sync_incident.testing.bugzilla.auth import login_required, visible_bug
from sync_incident.testing.bugzilla.errors import BugzillaFault
from sync_incident.testing.bugzilla.payloads import comment_json, fields
from sync_incident.testing.bugzilla.state import LIMIT, FakeBug, FakeComment, FakeUser, normalise

if TYPE_CHECKING:
    from sync_incident.testing.bugzilla.fake import FakeBugzilla

NOT_YOURS_TO_MARK = "Sorry, but you are not allowed to (un)mark comments or attachments as private."


def get_comments(
    fake: FakeBugzilla,
    user: FakeUser | None,
    params: dict[str, list[str]],
    body: Any,
    bug_id: int,
) -> tuple[int, Any]:
    bug = visible_bug(fake, user, bug_id)
    since = parse_since(params["new_since"][0]) if params.get("new_since") else None
    out = [
        comment_json(fake, comment, user)
        for comment in bug.comments
        if _readable(fake, comment, user, since)
    ]
    wanted = fields(params)
    if wanted:
        out = [{k: v for k, v in c.items() if k in wanted} for c in out]
    return 200, {"bugs": {str(bug.id): {"comments": out}}, "comments": {}}


def _readable(
    fake: FakeBugzilla, comment: FakeComment, user: FakeUser | None, since: datetime | None
) -> bool:
    """Whether this read returns the comment (a lagging one uses up one read of its lag)."""
    if comment.lag_reads > 0:  # still on its way to the replica
        comment.lag_reads -= 1
        return False
    if comment.hidden:
        return False
    if fake.is_deleted(comment) and not (user and user.privileged):
        return False  # BMO hides deleted comments, except from admins (who see the tag)
    if comment.is_private and not (user and user.insider):
        return False
    return since is None or comment.time > since  # strictly greater-than


def add_comment(
    fake: FakeBugzilla, user: FakeUser | None, params: Any, body: dict[str, Any], bug_id: int
) -> tuple[int, Any]:
    user = login_required(user)
    bug = visible_bug(fake, user, bug_id)
    text = body.get("comment")
    private = bool(body.get("is_private", False))
    comment = checked_comment(fake, bug, user, text, private)
    return 201, {"id": comment.id}


def checked_comment(
    fake: FakeBugzilla, bug: FakeBug, user: FakeUser, text: Any, private: bool
) -> FakeComment:
    """Store the comment once 5.2's checks pass (set, not too long, private for insiders)."""
    if not isinstance(text, str) or not normalise(text).strip():
        raise BugzillaFault(
            50, "The function requires a comment argument, and that argument was not set."
        )
    if len(normalise(text)) > LIMIT:
        raise BugzillaFault(114, f"Comments cannot be longer than {LIMIT} characters.")
    if private and not user.insider:
        raise BugzillaFault(113, NOT_YOURS_TO_MARK)
    return fake.store_comment(bug, user.login, text, private=private)


def parse_since(value: str) -> datetime:
    """5.2 accepts several forms; a value without a zone is read in the server's zone (UTC)."""
    text = value.strip().replace(" ", "T")
    try:
        if re.fullmatch(r"\d{8}T\d\d:\d\d:\d\d", text):
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BugzillaFault(56, f"'{value}' is not a legal date.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
