"""Request dispatch for the fake GitHub: which handler answers a method and path.

Three levels:

- the API root, a few checks: ``/user``, ``/users/{login}``, team memberships, ``/graphql``, then
  ``/repos/{o}/{r}/…`` and ``/repositories/{id}/…`` (authentication for writes, 410 when
  issues are disabled);
- a repository, a table: collaborators, labels, issues, comments by id; then one issue;
- one issue (404 when missing, 410 when deleted), a table: itself, comments, events, labels,
  assignees.

In a table of (methods, path pattern, handler) the first row whose method and pattern match
answers; nothing matching is a 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

import httpx

from sync_incident.testing.github import access, comments, graphql, issues, labels
from sync_incident.testing.github.responses import Call
from sync_incident.testing.github.state import FakeIssue, FakeRepo

RepoHandler = Callable[[Call, FakeRepo, re.Match[str]], httpx.Response]
IssueHandler = Callable[[Call, FakeRepo, FakeIssue, re.Match[str]], httpx.Response]
Methods = tuple[str, ...] | None  # None: any method

_MEMBERSHIP = re.compile(r"^/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)$")
_USER = re.compile(r"^/users/([^/]+)$")
_ONE_ISSUE = re.compile(r"^/issues/(\d+)(/.*)?$")

_REPO_ROUTES: list[tuple[Methods, re.Pattern[str], RepoHandler]] = [
    (None, re.compile(r"^/collaborators/([^/]+)/permission$"), access.permission),
    (("GET",), re.compile(r"/labels\Z"), labels.list_labels),
    (("POST",), re.compile(r"/labels\Z"), labels.create_label),
    (("GET",), re.compile(r"^/labels/([^/]+)$"), labels.get_label),
    (("GET",), re.compile(r"/issues\Z"), issues.list_issues),
    (("POST",), re.compile(r"/issues\Z"), issues.create_issue),
    (None, re.compile(r"^/issues/comments/(\d+)$"), comments.one_comment),
]

_ISSUE_ROUTES: list[tuple[Methods, re.Pattern[str], IssueHandler]] = [
    (("GET",), re.compile(r"\Z"), issues.get_issue),
    (("PATCH",), re.compile(r"\Z"), issues.update_issue),
    (("GET",), re.compile(r"/comments\Z"), comments.list_comments),
    (("POST",), re.compile(r"/comments\Z"), comments.create_comment),
    (("GET",), re.compile(r"/events\Z"), issues.list_events),
    (None, re.compile(r"/labels\Z"), labels.issue_labels),
    (("DELETE",), re.compile(r"^/labels/(.+)$"), labels.remove_label),
    (("POST", "DELETE"), re.compile(r"/assignees\Z"), issues.assignees),
]


def route(call: Call, path: str) -> httpx.Response:
    """The answer to ``call`` on ``path`` (the path without the API's base path)."""
    method = call.method
    if method == "GET" and path == "/user":
        return access.current_user(call)
    match = _MEMBERSHIP.match(path)
    if match and method == "GET":
        return access.membership(call, match[1], match[2], unquote(match[3]))
    match = _USER.match(path)
    if match and method == "GET":
        return access.user(call, unquote(match[1]))
    if method == "POST" and path.endswith("/graphql"):
        return graphql.answer(call)
    if not (path.startswith("/repos/") or path.startswith("/repositories/")):
        return call.not_found()
    return _repos_route(call, path)


def _repos_route(call: Call, path: str) -> httpx.Response:
    """``/repos/{o}/{r}/…`` or ``/repositories/{id}/…``: writes need a login; issues may be off."""
    repo, rest = call.fake.repo_at(path)
    if repo is None:
        return call.not_found()
    if call.method != "GET" and call.user is None:
        return call.error(401, "Requires authentication")
    if rest.startswith("/issues") and not repo.has_issues:
        return call.error(410, "Issues are disabled for this repo")
    return _repo_route(call, repo, rest)


def _repo_route(call: Call, repo: FakeRepo, rest: str) -> httpx.Response:
    for methods, pattern, handler in _REPO_ROUTES:
        match = pattern.match(rest)
        if match and (methods is None or call.method in methods):
            return handler(call, repo, match)
    match = _ONE_ISSUE.match(rest)
    if not match:
        return call.not_found()
    issue = repo.issues.get(int(match[1]))
    if issue is None:
        return call.not_found()
    if issue.deleted:
        return call.error(410, "This issue was deleted")
    return _issue_route(call, repo, issue, match[2] or "")


def _issue_route(call: Call, repo: FakeRepo, issue: FakeIssue, sub: str) -> httpx.Response:
    for methods, pattern, handler in _ISSUE_ROUTES:
        match = pattern.match(sub)
        if match and (methods is None or call.method in methods):
            return handler(call, repo, issue, match)
    return call.not_found()
