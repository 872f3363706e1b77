"""The fake GitHub server: its HTTP surface (``handler``) over :class:`GitHubState`."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

import httpx

from sync_incident.testing.github import faults, ratelimit, routes, webhooks
from sync_incident.testing.github.payloads import err
from sync_incident.testing.github.responses import Call, json_response
from sync_incident.testing.github.state import FakeRepo, FakeUser, GitHubState, Logged


class FakeGitHub(GitHubState):
    """The fake server. ``base_url`` may carry a path (``https://ghe.example/api/v3``)."""

    def __init__(
        self,
        base_url: str = "https://api.github.com",
        *,
        clock: Callable[[], float] | None = None,
        rate_limit: int = 5000,
        edit_bumps_issue: bool = True,
    ) -> None:
        super().__init__(clock=clock, edit_bumps_issue=edit_bumps_issue)
        self.base_url = base_url.rstrip("/")
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self.html_base = "https://github.com"
        self.rate_limit = rate_limit
        self.faults: list[faults.Fault] = []
        self.log: list[Logged] = []
        self._budgets: dict[str, ratelimit.Budget] = {}

    # ------------------------------------------------------------------ for tests

    def remaining(self, token: str | None) -> int:
        return ratelimit.budget(self, token).remaining

    def requests(self, method: str | None = None, path: str | None = None) -> list[Logged]:
        """Logged requests, filtered by method and a path regex."""
        return [
            r
            for r in self.log
            if (method is None or r.method == method) and (path is None or re.search(path, r.path))
        ]

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
        return webhooks.payload(
            self,
            action,
            full_name,
            number,
            sender=sender,
            comment_id=comment_id,
            changes=changes,
            label=label,
        )

    # ------------------------------------------------------------------ paths

    def strip_base(self, path: str) -> str:
        """The path without the API's base path (``/api/v3`` on GitHub Enterprise)."""
        if self._base_path and path.startswith(self._base_path):
            return path[len(self._base_path) :]
        return path

    def repo_at(self, path: str) -> tuple[FakeRepo | None, str]:
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

    # ------------------------------------------------------------------ transport

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (for ``httpx.MockTransport`` or a loopback server); logged."""
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                body = request.content.decode("utf-8", "replace")
        entry = Logged(
            request.method,
            self.strip_base(request.url.path),
            dict(request.url.params),
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

    def _caller(self, request: httpx.Request) -> tuple[str | None, FakeUser | None]:
        """The request's bearer token and whose it is."""
        auth = request.headers.get("authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        user = next((u for u in self.users.values() if token and u.token == token), None)
        return token, user

    def _handle(self, request: httpx.Request, entry: Logged) -> httpx.Response:
        fault = faults.take(self.faults, entry.method, entry.path)
        token, user = self._caller(request)
        if token and user is None:
            return json_response(self, 401, err("Bad credentials"), token=None)
        budget = ratelimit.budget(self, token)
        faults.exhaust(self, fault, budget)
        if budget.remaining <= 0 and self.clock() < budget.reset:
            msg = f"API rate limit exceeded for user ID {user.id if user else 0}."
            return json_response(self, 403, err(msg), token=token)
        if fault is not None:
            early = faults.before(self, fault, token)
            if early is not None:
                return early
        call = Call(self, request, entry.method, entry.params, entry.body, user)
        response = routes.route(call, entry.path)
        if response.status_code != 304:
            budget.remaining = max(budget.remaining - 1, 0)
        ratelimit.rate_headers(self, response, token)
        return faults.after(fault, response, request)
