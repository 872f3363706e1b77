"""Issue comments: list (``since``, paginated), create, and read, edit or delete one by id."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import httpx

from sync_incident.testing.github.payloads import BODY_LIMIT, comment_json, invalid, too_long
from sync_incident.testing.github.responses import Call, json_response
from sync_incident.testing.github.state import FakeComment, FakeIssue, FakeRepo, can_write


def list_comments(
    call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]
) -> httpx.Response:
    since = _since(call.params.get("since"))
    if since is False:
        # built on the anonymous budget, as always (the transport then sets the caller's headers)
        return json_response(call.fake, 422, invalid("IssueComment", "invalid", "since"))
    # GitHub compares at one-second precision, "updated at or after"
    items = [
        comment_json(call.fake, repo, issue, c)
        for c in sorted(issue.comments.values(), key=lambda c: c.id)
        if since is None or int(c.updated_at) >= since
    ]
    return call.page(items)


def create_comment(
    call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]
) -> httpx.Response:
    user = call.user
    assert user is not None
    text = call.body_field("body")
    if not isinstance(text, str) or not text:
        return call.invalid("IssueComment", "missing_field", "body")
    if len(text) > BODY_LIMIT:
        return call.answer(422, too_long("IssueComment"))
    comment = call.fake.add_comment(repo.full_name, issue.number, text, by=user.login)
    return call.answer(201, comment_json(call.fake, repo, issue, comment))


def one_comment(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    """``/issues/comments/{id}``: GET; PATCH and DELETE by its author or with push access."""
    comment_id = int(match[1])
    found = next(
        ((i, i.comments[comment_id]) for i in repo.issues.values() if comment_id in i.comments),
        None,
    )
    if found is None:
        return call.not_found()
    issue, comment = found
    if call.method == "GET":
        return call.answer(200, comment_json(call.fake, repo, issue, comment), etag=True)
    user = call.user
    if not (can_write(repo, user) or (user and user.id == comment.user.id)):
        return call.no_push()
    if call.method == "PATCH":
        return _edit(call, repo, issue, comment)
    if call.method == "DELETE":
        call.fake.delete_comment(comment_id)
        return httpx.Response(204)
    return call.not_found()


def _edit(call: Call, repo: FakeRepo, issue: FakeIssue, comment: FakeComment) -> httpx.Response:
    text = call.body_field("body")
    if not isinstance(text, str) or not text:
        # built on the anonymous budget, as always (the transport then sets the caller's headers)
        return json_response(call.fake, 422, invalid("IssueComment", "missing_field", "body"))
    call.fake.edit_comment(comment.id, text)
    return call.answer(200, comment_json(call.fake, repo, issue, comment))


def _since(value: str | None) -> float | Literal[False] | None:
    """An ISO 8601 ``since`` as epoch seconds; False when it is not one."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return False
