"""Issues: list (filtered, sorted, paginated), create, read (conditional), update, events,
assignees."""

from __future__ import annotations

import re
from datetime import datetime

import httpx

from sync_incident.testing.github.payloads import BODY_LIMIT, event_json, issue_json, too_long
from sync_incident.testing.github.responses import Call
from sync_incident.testing.github.state import DEFAULT_LABEL, FakeIssue, FakeRepo, can_write


def list_issues(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    """``GET /issues``: ``state``, ``labels``, ``creator``, ``since``, ``sort``, ``direction``."""
    params = call.params
    issues = [i for i in repo.issues.values() if _listed(i, params)]
    by_updated = params.get("sort", "created") == "updated"

    def order(i: FakeIssue) -> tuple[float, int]:
        return (i.updated_at if by_updated else i.created_at, i.number)

    issues.sort(key=order, reverse=params.get("direction", "desc") == "desc")
    return call.page([issue_json(call.fake, repo, i) for i in issues])


def _listed(issue: FakeIssue, params: dict[str, str]) -> bool:
    """Whether the issue passes the list's ``state``, ``labels``, ``creator`` and ``since``
    (updated at or after, ISO 8601) filters."""
    state = params.get("state", "open")
    wanted = [n for n in params.get("labels", "").split(",") if n]
    creator = params.get("creator")
    since = params.get("since")
    return (
        not issue.deleted
        and (state == "all" or issue.state == state)
        and all(n in issue.labels for n in wanted)
        and (creator is None or issue.user.login.lower() == creator.lower())
        and (since is None or issue.updated_at >= datetime.fromisoformat(since).timestamp())
    )


def create_issue(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    """``POST /issues``; labels from people without push access are dropped."""
    user, body = call.user, call.body
    assert user is not None
    if not isinstance(body, dict) or not body.get("title"):
        return call.invalid("Issue", "missing_field", "title")
    text = body.get("body")
    if isinstance(text, str) and len(text) > BODY_LIMIT:
        return call.answer(422, too_long("Issue"))
    issue = call.fake.add_issue(repo.full_name, str(body["title"]), text, by=user.login)
    if can_write(repo, user):
        for name in body.get("labels") or []:
            repo.labels.setdefault(name, dict(DEFAULT_LABEL))
            if name not in issue.labels:
                issue.labels.append(name)
                call.fake.label_event(issue, "labeled", name, user)
    return call.answer(201, issue_json(call.fake, repo, issue))


def get_issue(call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]) -> httpx.Response:
    return call.conditional(issue_json(call.fake, repo, issue))


def update_issue(
    call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]
) -> httpx.Response:
    """``PATCH /issues/{n}``: body, title, state (push access or the issue's author)."""
    user, body = call.user, call.body
    if not (can_write(repo, user) or (user and user.id == issue.user.id)):
        return call.no_push()
    if not isinstance(body, dict):
        return call.error(400, "Problems parsing JSON")
    if "body" in body:
        if isinstance(body["body"], str) and len(body["body"]) > BODY_LIMIT:
            return call.answer(422, too_long("Issue"))
        issue.body = body["body"]
    if "title" in body:
        issue.title = str(body["title"])
    if body.get("state") in ("open", "closed"):
        issue.state = body["state"]
    issue.updated_at = call.fake.clock()
    return call.answer(200, issue_json(call.fake, repo, issue))


def list_events(
    call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]
) -> httpx.Response:
    """``GET /issues/{n}/events``: who labeled and unlabeled it, and when."""
    events = enumerate(issue.events, 1)
    return call.page([event_json(call.fake, repo, issue, n, e) for n, e in events])


def assignees(call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]) -> httpx.Response:
    """``POST``/``DELETE /issues/{n}/assignees``; people who cannot be assigned are dropped."""
    logins = call.body_field("assignees")
    if not isinstance(logins, list):
        return call.invalid("Issue", "invalid", "assignees")
    if can_write(repo, call.user):
        for login in logins:
            if (
                call.method == "POST"
                and login not in issue.assignees
                and _assignable(call, repo, login)
            ):
                issue.assignees.append(login)  # others are silently dropped
            if call.method == "DELETE" and login in issue.assignees:
                issue.assignees.remove(login)
        issue.updated_at = call.fake.clock()
    status = 201 if call.method == "POST" else 200
    return call.answer(status, issue_json(call.fake, repo, issue))


def _assignable(call: Call, repo: FakeRepo, login: object) -> bool:
    return can_write(repo, call.fake.users.get(str(login).lower()))
