"""A stateful in-memory GitHub REST server for ``httpx.MockTransport(fake.handler)``.

Answers are built from GitHub's published examples (``tests/fixtures/github/``) so their shapes
match; behaviour follows GitHub where it matters to a client: ETags and 304s (free on the rate
limit), ``since`` on ``updated_at``, ``per_page`` pagination with a real ``Link`` header whose
URLs use ``/repositories/{id}/…`` (as github.com does, so a client that builds page URLs
instead of following them fails), labels, assignees, body PATCH, comment edits and deletions by
other users, team memberships, collaborator permission, rate-limit headers with primary and
secondary limits, 401/403/404/410/422 errors in GitHub's shape, and fault injection.

Independent of pytest so bench scripts can ``from sync_incident.testing.github import FakeGitHub``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlencode

import httpx

from sync_incident.testing.clock import FakeClock

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BODY_LIMIT = 65_536
DOCS = "https://docs.github.com/rest"


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


_ISSUE = _sample("issue.json")
_COMMENT = _sample("comment.json")
_LABEL = _sample("label.json")
_USER = _sample("user.json")


FaultKind = Literal["drop", "status", "html", "truncated", "secondary", "primary", "connect"]


@dataclass
class Fault:
    """One injected failure for the next request matching ``method`` and ``path`` (a regex).

    drop       apply the request, then raise ``httpx.ReadTimeout`` (the answer is lost)
    status     answer ``status`` (500/502/503) before applying anything
    html       answer ``status`` with an HTML error page before applying anything
    truncated  apply the request, answer 200/201 with cut-off JSON
    secondary  answer 403 (or ``status``=429) secondary limit, with ``retry_after`` if set
    primary    exhaust the token's budget (reset in ``reset_in`` s) and answer the 403
    connect    raise ``httpx.ConnectError`` before applying anything (connection reset)
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    status: int = 500
    retry_after: int | None = None
    reset_in: int = 600
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class FakeUser:
    login: str
    id: int
    token: str | None
    actions_token: bool = False  # like GITHUB_TOKEN: no org read, 1,000/h


@dataclass
class FakeComment:
    id: int
    user: FakeUser
    body: str
    created_at: float
    updated_at: float
    last_edited_at: float | None = None  # GraphQL's lastEditedAt: set by real edits only

    @property
    def node_id(self) -> str:
        """GitHub's global id, as the REST API and GraphQL both give it."""
        return base64.b64encode(f"012:IssueComment{self.id}".encode()).decode()


@dataclass
class FakeIssue:
    number: int
    id: int
    title: str
    body: str | None
    user: FakeUser
    created_at: float
    updated_at: float
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    state: str = "open"
    comments: dict[int, FakeComment] = field(default_factory=dict)
    deleted: bool = False
    events: list[tuple[str, str, str, float]] = field(default_factory=list)  # event, label, by, at


@dataclass
class FakeRepo:
    owner: str
    name: str
    id: int
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> color/description
    permissions: dict[str, str] = field(default_factory=dict)  # login (lower) -> role
    has_issues: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Logged:
    method: str
    path: str  # without the API base path, e.g. /repos/o/r/issues/1
    params: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int
    url: str
    at: float  # the fake clock when the request arrived


@dataclass
class _Budget:
    limit: int
    remaining: int
    reset: int


class FakeGitHub:
    """The fake server. ``base_url`` may carry a path (``https://ghe.example/api/v3``)."""

    def __init__(
        self,
        base_url: str = "https://api.github.com",
        *,
        clock: Callable[[], float] | None = None,
        rate_limit: int = 5000,
        edit_bumps_issue: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.html_base = "https://github.com"
        self.clock: Callable[[], float] = clock or FakeClock()
        self.rate_limit = rate_limit
        # github.com moves an issue's updated_at when one of its comments is edited
        self.edit_bumps_issue = edit_bumps_issue
        self.users: dict[str, FakeUser] = {}
        self.repos: dict[str, FakeRepo] = {}
        self.teams: dict[tuple[str, str], dict[str, str]] = {}  # (org, slug) -> login -> state
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self._budgets: dict[str, _Budget] = {}
        self._next_id = 1000
        self._next_user = 500

    # ------------------------------------------------------------------ setup helpers

    def add_user(self, login: str, token: str | None, *, actions_token: bool = False) -> FakeUser:
        self._next_user += 1
        user = FakeUser(login, self._next_user, token, actions_token)
        self.users[login.lower()] = user
        return user

    def add_repo(self, full_name: str, *, admins: tuple[str, ...] = ()) -> FakeRepo:
        owner, name = full_name.split("/")
        repo = FakeRepo(owner, name, self._new_id())
        for login in admins:
            repo.permissions[login.lower()] = "admin"
        self.repos[full_name.lower()] = repo
        return repo

    def add_issue(
        self, full_name: str, title: str, body: str | None, *, by: str, labels: tuple[str, ...] = ()
    ) -> FakeIssue:
        repo = self.repos[full_name.lower()]
        number = max(repo.issues, default=0) + 1
        now = self.clock()
        issue = FakeIssue(number, self._new_id(), title, body, self.users[by.lower()], now, now)
        for name in labels:
            repo.labels.setdefault(name, {"color": "ededed", "description": ""})
            issue.labels.append(name)
            self._label_event(issue, "labeled", name, self.users[by.lower()])
        repo.issues[number] = issue
        return issue

    def add_comment(self, full_name: str, number: int, body: str, *, by: str) -> FakeComment:
        issue = self.repos[full_name.lower()].issues[number]
        now = self.clock()
        comment = FakeComment(self._new_id(), self.users[by.lower()], body, now, now)
        issue.comments[comment.id] = comment
        issue.updated_at = now
        return comment

    def edit_comment(self, comment_id: int, body: str) -> None:
        issue, comment = self._find_comment(comment_id)
        comment.body = body
        comment.updated_at = self.clock()
        comment.last_edited_at = comment.updated_at
        if self.edit_bumps_issue:
            issue.updated_at = comment.updated_at

    def delete_comment(self, comment_id: int) -> None:
        issue, comment = self._find_comment(comment_id)
        del issue.comments[comment.id]
        issue.updated_at = self.clock()

    def comments_of(self, full_name: str, number: int) -> list[FakeComment]:
        """The comments of an issue as stored, oldest first."""
        return list(self.issue(full_name, number).comments.values())

    def issue(self, full_name: str, number: int) -> FakeIssue:
        return self.repos[full_name.lower()].issues[number]

    def remaining(self, token: str | None) -> int:
        return self._budget(token).remaining

    def requests(self, method: str | None = None, path: str | None = None) -> list[Logged]:
        """Logged requests, filtered by method and a path regex."""
        return [
            r
            for r in self.log
            if (method is None or r.method == method) and (path is None or re.search(path, r.path))
        ]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _find_comment(self, comment_id: int) -> tuple[FakeIssue, FakeComment]:
        for repo in self.repos.values():
            for issue in repo.issues.values():
                if comment_id in issue.comments:
                    return issue, issue.comments[comment_id]
        raise KeyError(comment_id)

    # ------------------------------------------------------------------ webhooks

    def webhook(
        self,
        event: Literal["issue_comment", "issues"],
        action: str,
        full_name: str,
        number: int,
        *,
        sender: str,
        comment_id: int | None = None,
        changes: dict[str, Any] | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """The payload GitHub delivers for ``event``/``action`` on an issue, from the fake's state.

        Build it before a deletion (GitHub's ``deleted`` payload carries the comment as it was)
        and after an edit with ``changes={"body": {"from": OLD}}``.
        """
        repo = self.repos[full_name.lower()]
        issue = repo.issues[number]
        payload: dict[str, Any] = {
            "action": action,
            "issue": self._issue_json(repo, issue),
            "repository": {
                "id": repo.id,
                "name": repo.name,
                "full_name": repo.full_name,
                "owner": self._user_json(self.users.get(repo.owner.lower()) or issue.user),
            },
            "sender": self._user_json(self.users[sender.lower()]),
        }
        if comment_id is not None:
            payload["comment"] = self._comment_json(repo, issue, issue.comments[comment_id])
        if changes is not None:
            payload["changes"] = changes
        if label is not None:
            payload["label"] = self._label_json(repo, label)
        return payload

    # ------------------------------------------------------------------ JSON shapes

    def _time(self, moment: float) -> str:
        return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _user_json(self, user: FakeUser) -> dict[str, Any]:
        data = copy.deepcopy(_USER)
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = value.replace("octocat", user.login).replace(
                    "https://api.github.com", self.base_url
                )
        data["login"] = user.login
        data["id"] = user.id
        return data

    def _rewrite(self, data: dict[str, Any], repo: FakeRepo) -> None:
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = value.replace("https://api.github.com", self.base_url).replace(
                    "octocat/Hello-World", repo.full_name
                )

    def _label_json(self, repo: FakeRepo, name: str) -> dict[str, Any]:
        data = copy.deepcopy(_LABEL)
        self._rewrite(data, repo)
        meta = repo.labels.get(name, {"color": "ededed", "description": ""})
        data.update(
            id=int(hashlib.sha256(f"{repo.id}:{name}".encode()).hexdigest()[:8], 16),
            url=f"{self.base_url}/repos/{repo.full_name}/labels/{name}",
            name=name,
            color=meta["color"],
            description=meta["description"] or None,
            default=False,
        )
        return data

    def _issue_json(self, repo: FakeRepo, issue: FakeIssue) -> dict[str, Any]:
        data = copy.deepcopy(_ISSUE)
        self._rewrite(data, repo)
        api = f"{self.base_url}/repos/{repo.full_name}/issues/{issue.number}"
        assignees = [self._user_json(self.users[a.lower()]) for a in issue.assignees]
        data.update(
            id=issue.id,
            url=api,
            labels_url=api + "/labels{/name}",
            comments_url=api + "/comments",
            events_url=api + "/events",
            html_url=f"{self.html_base}/{repo.full_name}/issues/{issue.number}",
            number=issue.number,
            state=issue.state,
            title=issue.title,
            body=issue.body,
            user=self._user_json(issue.user),
            labels=[self._label_json(repo, name) for name in issue.labels],
            assignee=assignees[0] if assignees else None,
            assignees=assignees,
            comments=len(issue.comments),
            created_at=self._time(issue.created_at),
            updated_at=self._time(issue.updated_at),
            author_association="OWNER" if issue.user.login == repo.owner else "CONTRIBUTOR",
        )
        return data

    def _comment_json(
        self, repo: FakeRepo, issue: FakeIssue, comment: FakeComment
    ) -> dict[str, Any]:
        data = copy.deepcopy(_COMMENT)
        self._rewrite(data, repo)
        data.update(
            id=comment.id,
            node_id=comment.node_id,
            url=f"{self.base_url}/repos/{repo.full_name}/issues/comments/{comment.id}",
            html_url=f"{self.html_base}/{repo.full_name}/issues/{issue.number}"
            f"#issuecomment-{comment.id}",
            body=comment.body,
            user=self._user_json(comment.user),
            created_at=self._time(comment.created_at),
            updated_at=self._time(comment.updated_at),
            issue_url=f"{self.base_url}/repos/{repo.full_name}/issues/{issue.number}",
            author_association="OWNER" if comment.user.login == repo.owner else "CONTRIBUTOR",
        )
        return data

    # ------------------------------------------------------------------ transport

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :]
        params = dict(request.url.params)
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = request.content.decode("utf-8", "replace")
        entry = Logged(
            request.method,
            path,
            params,
            body,
            dict(request.headers),
            0,
            str(request.url),
            self.clock(),
        )
        self.log.append(entry)
        response = self._handle(request, entry)
        entry.status = response.status_code
        return response

    def _handle(self, request: httpx.Request, entry: Logged) -> httpx.Response:
        method, path = entry.method, entry.path
        fault = next((f for f in self.faults if f.matches(method, path)), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self.faults.remove(fault)
        auth = request.headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        user = next((u for u in self.users.values() if token and u.token == token), None)
        if token and user is None:
            return self._json(401, self._err("Bad credentials"), token=None)
        budget = self._budget(token)
        if fault is not None and fault.kind == "primary":
            budget.remaining = 0
            budget.reset = int(self.clock()) + fault.reset_in
        if budget.remaining <= 0 and self.clock() < budget.reset:
            msg = f"API rate limit exceeded for user ID {user.id if user else 0}."
            return self._json(403, self._err(msg), token=token)
        if fault is not None:
            early = self._early_fault(fault, token)
            if early is not None:
                return early
        response = self._route(method, path, entry.params, entry.body, user, request)
        if response.status_code != 304:
            budget.remaining = max(budget.remaining - 1, 0)
        self._rate_headers(response, token)
        if fault is not None and fault.kind == "drop":
            raise httpx.ReadTimeout("the answer was lost", request=request)
        if fault is not None and fault.kind == "truncated":
            cut = response.content[: max(len(response.content) // 2, 1)]
            return httpx.Response(response.status_code, content=cut, headers=response.headers)
        return response

    def _early_fault(self, fault: Fault, token: str | None) -> httpx.Response | None:
        if fault.kind == "connect":
            raise httpx.ConnectError("connection reset by peer")
        if fault.kind == "status":
            return self._json(fault.status, {"message": "Server Error"}, token=token)
        if fault.kind == "html":
            page = b"<!DOCTYPE html><html><body><h1>Unicorn!</h1></body></html>"
            response = httpx.Response(
                fault.status, content=page, headers={"content-type": "text/html"}
            )
            self._rate_headers(response, token)
            return response
        if fault.kind == "secondary":
            status = fault.status if fault.status in (403, 429) else 403
            response = self._json(
                status,
                self._err("You have exceeded a secondary rate limit. Please wait a few minutes."),
                token=token,
            )
            if fault.retry_after is not None:
                response.headers["retry-after"] = str(fault.retry_after)
            return response
        return None

    def _budget(self, token: str | None) -> _Budget:
        key = token or ""
        if key not in self._budgets:
            user = next((u for u in self.users.values() if token and u.token == token), None)
            limit = 60 if user is None else 1000 if user.actions_token else self.rate_limit
            self._budgets[key] = _Budget(limit, limit, int(self.clock()) + 3600)
        budget = self._budgets[key]
        if self.clock() >= budget.reset:
            budget.remaining = budget.limit
            budget.reset = int(self.clock()) + 3600
        return budget

    def _rate_headers(self, response: httpx.Response, token: str | None) -> None:
        budget = self._budget(token)
        response.headers["x-ratelimit-limit"] = str(budget.limit)
        response.headers["x-ratelimit-remaining"] = str(budget.remaining)
        response.headers["x-ratelimit-used"] = str(budget.limit - budget.remaining)
        response.headers["x-ratelimit-reset"] = str(budget.reset)
        response.headers["x-ratelimit-resource"] = "core"
        response.headers["date"] = format_datetime(
            datetime.fromtimestamp(int(self.clock()), UTC), usegmt=True
        )

    def _json(
        self, status: int, data: Any, *, token: str | None = None, etag: bool = False
    ) -> httpx.Response:
        content = json.dumps(data).encode()
        headers = {"content-type": "application/json; charset=utf-8"}
        if etag:
            headers["etag"] = f'W/"{hashlib.sha256(content).hexdigest()[:40]}"'
        response = httpx.Response(status, content=content, headers=headers)
        self._rate_headers(response, token)
        return response

    @staticmethod
    def _err(message: str, doc: str = DOCS) -> dict[str, Any]:
        return {"message": message, "documentation_url": doc}

    @staticmethod
    def _invalid(resource: str, code: str, field_name: str, message: str = "") -> dict[str, Any]:
        error: dict[str, str] = {"resource": resource, "code": code, "field": field_name}
        if message:
            error["message"] = message
        return {
            "message": "Validation Failed",
            "errors": [error],
            "documentation_url": DOCS,
            "status": "422",
        }

    # ------------------------------------------------------------------ routing

    def _repo(self, path: str) -> tuple[FakeRepo | None, str]:
        """The repository a path names (``/repos/o/r`` or ``/repositories/id``) and the rest."""
        match = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
        if match:
            repo = self.repos.get(f"{match[1]}/{match[2]}".lower())
            return repo, match[3] or ""
        match = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if match:
            repo = next((r for r in self.repos.values() if r.id == int(match[1])), None)
            return repo, match[2] or ""
        return None, path

    def _route(
        self,
        method: str,
        path: str,
        params: dict[str, str],
        body: Any,
        user: FakeUser | None,
        request: httpx.Request,
    ) -> httpx.Response:
        token = user.token if user else None
        if method == "GET" and path == "/user":
            if user is None:
                return self._json(401, self._err("Requires authentication"))
            return self._json(200, self._user_json(user), token=token)
        match = re.match(r"^/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)$", path)
        if match and method == "GET":
            return self._membership(match[1], match[2], unquote(match[3]), user)
        if method == "POST" and path.endswith("/graphql"):
            return self._graphql(body, user)
        if not (path.startswith("/repos/") or path.startswith("/repositories/")):
            return self._json(404, self._err("Not Found"), token=token)
        repo, rest = self._repo(path)
        if repo is None:
            return self._json(404, self._err("Not Found"), token=token)
        if method != "GET" and user is None:
            return self._json(401, self._err("Requires authentication"), token=token)
        if rest.startswith("/issues") and not repo.has_issues:
            return self._json(410, self._err("Issues are disabled for this repo"), token=token)
        return self._repo_route(method, rest, params, body, user, repo, request)

    def _repo_route(
        self,
        method: str,
        rest: str,
        params: dict[str, str],
        body: Any,
        user: FakeUser | None,
        repo: FakeRepo,
        request: httpx.Request,
    ) -> httpx.Response:
        token = user.token if user else None
        not_found = self._json(404, self._err("Not Found"), token=token)
        if match := re.match(r"^/collaborators/([^/]+)/permission$", rest):
            return self._permission(repo, unquote(match[1]), token)
        if rest == "/labels":
            if method == "GET":
                items = [self._label_json(repo, n) for n in repo.labels]
                return self._page(items, params, request, token)
            if method == "POST":
                return self._create_label(repo, body, user, token)
        if (match := re.match(r"^/labels/([^/]+)$", rest)) and method == "GET":
            name = unquote(match[1])
            if name not in repo.labels:
                return not_found
            return self._json(200, self._label_json(repo, name), token=token, etag=True)
        if rest == "/issues":
            if method == "GET":
                return self._list_issues(repo, params, request, token)
            if method == "POST":
                return self._create_issue(repo, body, user, token)
        if match := re.match(r"^/issues/comments/(\d+)$", rest):
            return self._comment_route(method, repo, int(match[1]), body, user, token)
        match = re.match(r"^/issues/(\d+)(/.*)?$", rest)
        if not match:
            return not_found
        issue = repo.issues.get(int(match[1]))
        if issue is None:
            return not_found
        if issue.deleted:
            return self._json(410, self._err("This issue was deleted"), token=token)
        sub = match[2] or ""
        return self._issue_route(method, sub, params, body, user, repo, issue, request)

    def _issue_route(
        self,
        method: str,
        sub: str,
        params: dict[str, str],
        body: Any,
        user: FakeUser | None,
        repo: FakeRepo,
        issue: FakeIssue,
        request: httpx.Request,
    ) -> httpx.Response:
        token = user.token if user else None
        if sub == "" and method == "GET":
            return self._conditional(self._issue_json(repo, issue), request, token)
        if sub == "" and method == "PATCH":
            return self._update_issue(repo, issue, body, user, token)
        if sub == "/comments" and method == "GET":
            since = self._since(params.get("since"))
            if since is False:
                return self._json(422, self._invalid("IssueComment", "invalid", "since"))
            # GitHub compares at one-second precision, "updated at or after"
            items = [
                self._comment_json(repo, issue, c)
                for c in sorted(issue.comments.values(), key=lambda c: c.id)
                if since is None or int(c.updated_at) >= since
            ]
            return self._page(items, params, request, token)
        if sub == "/comments" and method == "POST":
            return self._create_comment(repo, issue, body, user, token)
        if sub == "/events" and method == "GET":
            items = [self._event_json(repo, issue, n, e) for n, e in enumerate(issue.events, 1)]
            return self._page(items, params, request, token)
        if sub == "/labels":
            return self._issue_labels(method, repo, issue, body, user, token)
        if (match := re.match(r"^/labels/(.+)$", sub)) and method == "DELETE":
            if not self._can_write(repo, user):
                return self._json(403, self._err("Must have push access"), token=token)
            name = unquote(match[1])
            if name not in issue.labels:
                return self._json(404, self._err("Label does not exist"), token=token)
            issue.labels.remove(name)
            issue.updated_at = self.clock()
            self._label_event(issue, "unlabeled", name, user)
            return self._json(200, [self._label_json(repo, n) for n in issue.labels], token=token)
        if sub == "/assignees" and method in ("POST", "DELETE"):
            logins = body.get("assignees") if isinstance(body, dict) else None
            if not isinstance(logins, list):
                return self._json(422, self._invalid("Issue", "invalid", "assignees"), token=token)
            if self._can_write(repo, user):
                for login in logins:
                    if (
                        method == "POST"
                        and login not in issue.assignees
                        and self._can_write(repo, self.users.get(str(login).lower()))
                    ):
                        issue.assignees.append(login)  # others are silently dropped
                    if method == "DELETE" and login in issue.assignees:
                        issue.assignees.remove(login)
                issue.updated_at = self.clock()
            status = 201 if method == "POST" else 200
            return self._json(status, self._issue_json(repo, issue), token=token)
        return self._json(404, self._err("Not Found"), token=token)

    @staticmethod
    def _since(value: str | None) -> float | Literal[False] | None:
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return False

    def _conditional(self, data: Any, request: httpx.Request, token: str | None) -> httpx.Response:
        response = self._json(200, data, token=token, etag=True)
        etag = response.headers["etag"]
        sent = request.headers.get("if-none-match")
        if sent is not None and sent.removeprefix("W/") == etag.removeprefix("W/"):
            not_modified = httpx.Response(304, headers={"etag": etag})
            return not_modified
        return response

    def _page(
        self, items: list[Any], params: dict[str, str], request: httpx.Request, token: str | None
    ) -> httpx.Response:
        per_page = min(max(int(params.get("per_page", "30")), 1), 100)
        page = max(int(params.get("page", "1")), 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        response = self._conditional(chunk, request, token)
        last = max((len(items) + per_page - 1) // per_page, 1)
        if last > 1:
            repo, rest = self._repo(self._strip_base(request.url.path))
            # like github.com, page links address the repository by id, not by name
            prefix = f"{self.base_url}/repositories/{repo.id}{rest}" if repo else str(request.url)
            links = []
            for rel, number in (
                ("prev", page - 1),
                ("next", page + 1),
                ("first", 1),
                ("last", last),
            ):
                if 1 <= number <= last and not (rel in ("first", "prev") and page == 1):
                    query = urlencode({**params, "page": str(number)})
                    links.append(f'<{prefix}?{query}>; rel="{rel}"')
            response.headers["link"] = ", ".join(links)
        return response

    def _strip_base(self, path: str) -> str:
        if self._base_path and path.startswith(self._base_path):
            return path[len(self._base_path) :]
        return path

    @staticmethod
    def _can_write(repo: FakeRepo, user: FakeUser | None) -> bool:
        if user is None:
            return False
        return repo.permissions.get(user.login.lower()) in ("admin", "maintain", "write", "triage")

    # ------------------------------------------------------------------ endpoints

    def _membership(self, org: str, slug: str, login: str, user: FakeUser | None) -> httpx.Response:
        token = user.token if user else None
        if user is None:
            return self._json(401, self._err("Requires authentication"))
        if user.actions_token:
            return self._json(403, self._err("Resource not accessible by integration"), token=token)
        members = self.teams.get((org.lower(), slug.lower()))
        if members is None or login.lower() not in members:
            return self._json(404, self._err("Not Found"), token=token)
        data = {
            "url": f"{self.base_url}/orgs/{org}/teams/{slug}/memberships/{login}",
            "role": "member",
            "state": members[login.lower()],
        }
        return self._json(200, data, token=token, etag=True)

    def _graphql(self, body: Any, user: FakeUser | None) -> httpx.Response:
        """``nodes(ids: [...]) { ... on IssueComment { id lastEditedAt } }`` and nothing else."""
        if user is None:  # GraphQL always needs a token
            return self._json(401, self._err("This endpoint requires you to be authenticated."))
        token = user.token
        query = body.get("query") if isinstance(body, dict) else None
        variables = body.get("variables") if isinstance(body, dict) else None
        ids = variables.get("ids") if isinstance(variables, dict) else None
        if (
            not isinstance(query, str)
            or "nodes(ids:" not in query.replace(" ", "")
            or "lastEditedAt" not in query
            or not isinstance(ids, list)
        ):
            errors = [{"message": "this fake answers only the lastEditedAt question"}]
            return self._json(200, {"errors": errors}, token=token)
        by_node = {
            c.node_id: c
            for repo in self.repos.values()
            for issue in repo.issues.values()
            for c in issue.comments.values()
        }
        nodes: list[Any] = []
        for node in ids:
            comment = by_node.get(node)
            edited = comment.last_edited_at if comment else None
            nodes.append(
                None
                if comment is None
                else {"id": node, "lastEditedAt": self._time(edited) if edited else None}
            )
        return self._json(200, {"data": {"nodes": nodes}}, token=token)

    def _permission(self, repo: FakeRepo, login: str, token: str | None) -> httpx.Response:
        target = self.users.get(login.lower())
        if target is None:
            return self._json(404, self._err("Not Found"), token=token)
        role = repo.permissions.get(login.lower(), "read")
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        data = {"permission": legacy, "role_name": role, "user": self._user_json(target)}
        return self._json(200, data, token=token, etag=True)

    def _create_label(
        self, repo: FakeRepo, body: Any, user: FakeUser | None, token: str | None
    ) -> httpx.Response:
        if not self._can_write(repo, user):
            return self._json(403, self._err("Must have push access"), token=token)
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name:
            return self._json(422, self._invalid("Label", "missing_field", "name"), token=token)
        if name in repo.labels:
            return self._json(422, self._invalid("Label", "already_exists", "name"), token=token)
        repo.labels[name] = {
            "color": str(body.get("color") or "ededed"),
            "description": str(body.get("description") or ""),
        }
        return self._json(201, self._label_json(repo, name), token=token)

    def _list_issues(
        self, repo: FakeRepo, params: dict[str, str], request: httpx.Request, token: str | None
    ) -> httpx.Response:
        state = params.get("state", "open")
        wanted = [n for n in params.get("labels", "").split(",") if n]
        creator = params.get("creator")
        issues = [
            i
            for i in repo.issues.values()
            if not i.deleted
            and (state == "all" or i.state == state)
            and all(n in i.labels for n in wanted)
            and (creator is None or i.user.login.lower() == creator.lower())
        ]
        by_updated = params.get("sort", "created") == "updated"

        def order(i: FakeIssue) -> tuple[float, int]:
            return (i.updated_at if by_updated else i.created_at, i.number)

        issues.sort(key=order, reverse=params.get("direction", "desc") == "desc")
        items = [self._issue_json(repo, i) for i in issues]
        return self._page(items, params, request, token)

    def _create_issue(
        self, repo: FakeRepo, body: Any, user: FakeUser | None, token: str | None
    ) -> httpx.Response:
        assert user is not None
        if not isinstance(body, dict) or not body.get("title"):
            return self._json(422, self._invalid("Issue", "missing_field", "title"), token=token)
        text = body.get("body")
        if isinstance(text, str) and len(text) > BODY_LIMIT:
            return self._json(422, self._too_long("Issue"), token=token)
        issue = self.add_issue(repo.full_name, str(body["title"]), text, by=user.login)
        if self._can_write(repo, user):  # labels from people without push access are dropped
            for name in body.get("labels") or []:
                repo.labels.setdefault(name, {"color": "ededed", "description": ""})
                if name not in issue.labels:
                    issue.labels.append(name)
                    self._label_event(issue, "labeled", name, user)
        return self._json(201, self._issue_json(repo, issue), token=token)

    def _update_issue(
        self, repo: FakeRepo, issue: FakeIssue, body: Any, user: FakeUser | None, token: str | None
    ) -> httpx.Response:
        if not (self._can_write(repo, user) or (user and user.id == issue.user.id)):
            return self._json(403, self._err("Must have push access"), token=token)
        if not isinstance(body, dict):
            return self._json(400, self._err("Problems parsing JSON"), token=token)
        if "body" in body:
            if isinstance(body["body"], str) and len(body["body"]) > BODY_LIMIT:
                return self._json(422, self._too_long("Issue"), token=token)
            issue.body = body["body"]
        if "title" in body:
            issue.title = str(body["title"])
        if body.get("state") in ("open", "closed"):
            issue.state = body["state"]
        issue.updated_at = self.clock()
        return self._json(200, self._issue_json(repo, issue), token=token)

    def _too_long(self, resource: str) -> dict[str, Any]:
        return self._invalid(
            resource, "custom", "body", f"body is too long (maximum is {BODY_LIMIT} characters)"
        )

    def _create_comment(
        self, repo: FakeRepo, issue: FakeIssue, body: Any, user: FakeUser | None, token: str | None
    ) -> httpx.Response:
        assert user is not None
        text = body.get("body") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text:
            return self._json(
                422, self._invalid("IssueComment", "missing_field", "body"), token=token
            )
        if len(text) > BODY_LIMIT:
            return self._json(422, self._too_long("IssueComment"), token=token)
        comment = self.add_comment(repo.full_name, issue.number, text, by=user.login)
        return self._json(201, self._comment_json(repo, issue, comment), token=token)

    def _comment_route(
        self,
        method: str,
        repo: FakeRepo,
        comment_id: int,
        body: Any,
        user: FakeUser | None,
        token: str | None,
    ) -> httpx.Response:
        found = next(
            ((i, i.comments[comment_id]) for i in repo.issues.values() if comment_id in i.comments),
            None,
        )
        if found is None:
            return self._json(404, self._err("Not Found"), token=token)
        issue, comment = found
        if method == "GET":
            return self._json(200, self._comment_json(repo, issue, comment), token=token, etag=True)
        if not (self._can_write(repo, user) or (user and user.id == comment.user.id)):
            return self._json(403, self._err("Must have push access"), token=token)
        if method == "PATCH":
            text = body.get("body") if isinstance(body, dict) else None
            if not isinstance(text, str) or not text:
                return self._json(422, self._invalid("IssueComment", "missing_field", "body"))
            self.edit_comment(comment_id, text)
            return self._json(200, self._comment_json(repo, issue, comment), token=token)
        if method == "DELETE":
            self.delete_comment(comment_id)
            return httpx.Response(204)
        return self._json(404, self._err("Not Found"), token=token)

    def _label_event(self, issue: FakeIssue, event: str, name: str, user: FakeUser | None) -> None:
        """GitHub's issue events: who added or removed a label, and when (never rewritten)."""
        issue.events.append((event, name, user.login if user else "ghost", self.clock()))

    def _event_json(
        self, repo: FakeRepo, issue: FakeIssue, number: int, item: tuple[str, str, str, float]
    ) -> dict[str, Any]:
        event, name, login, at = item
        actor = self.users.get(login.lower())
        return {
            "id": issue.id * 1000 + number,
            "event": event,
            "actor": self._user_json(actor) if actor else None,
            "label": {"name": name, "color": repo.labels.get(name, {}).get("color", "ededed")},
            "created_at": self._time(at),
        }

    def _issue_labels(
        self,
        method: str,
        repo: FakeRepo,
        issue: FakeIssue,
        body: Any,
        user: FakeUser | None,
        token: str | None,
    ) -> httpx.Response:
        if method == "GET":
            return self._json(200, [self._label_json(repo, n) for n in issue.labels], token=token)
        if not self._can_write(repo, user):
            return self._json(403, self._err("Must have push access"), token=token)
        names = body.get("labels") if isinstance(body, dict) else body
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return self._json(422, self._invalid("Label", "invalid", "labels"), token=token)
        if method == "PUT":
            for name in issue.labels:
                self._label_event(issue, "unlabeled", name, user)
            issue.labels = []
        if method in ("POST", "PUT"):
            for name in names:
                # GitHub creates unknown labels when they are added to an issue
                repo.labels.setdefault(name, {"color": "ededed", "description": ""})
                if name not in issue.labels:
                    issue.labels.append(name)
                    self._label_event(issue, "labeled", name, user)
            issue.updated_at = self.clock()
            return self._json(200, [self._label_json(repo, n) for n in issue.labels], token=token)
        if method == "DELETE":
            for name in issue.labels:
                self._label_event(issue, "unlabeled", name, user)
            issue.labels = []
            issue.updated_at = self.clock()
            return httpx.Response(204)
        return self._json(404, self._err("Not Found"), token=token)
