"""The fake GitHub's data (users, repositories, issues, comments, teams) and how tests seed it.

:class:`GitHubState` holds what a GitHub server stores and nothing about HTTP; the seeding API
(``add_user``, ``add_repo``, ``add_issue``, ``add_comment``, ``edit_comment``,
``delete_comment``, ``issue``, ``comments_of``) changes it as GitHub would, with the fake's
clock. :class:`~sync_incident.testing.github.FakeGitHub` serves it over HTTP.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sync_incident.testing.clock import FakeClock

DEFAULT_LABEL = {"color": "ededed", "description": ""}


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


def can_write(repo: FakeRepo, user: FakeUser | None) -> bool:
    """Push access (triage and up): may label, assign, edit others' issues and comments."""
    if user is None:
        return False
    return repo.permissions.get(user.login.lower()) in ("admin", "maintain", "write", "triage")


class GitHubState:
    """What the server stores, and the seeding API tests use to set it up and change it."""

    def __init__(
        self, *, clock: Callable[[], float] | None = None, edit_bumps_issue: bool = True
    ) -> None:
        self.clock: Callable[[], float] = clock or FakeClock()
        # github.com moves an issue's updated_at when one of its comments is edited
        self.edit_bumps_issue = edit_bumps_issue
        self.users: dict[str, FakeUser] = {}
        self.repos: dict[str, FakeRepo] = {}
        self.teams: dict[tuple[str, str], dict[str, str]] = {}  # (org, slug) -> login -> state
        self._next_id = 1000
        self._next_user = 500

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        login: str,
        token: str | None,
        *,
        actions_token: bool = False,
        uid: int | None = None,
    ) -> FakeUser:
        """A new account; ``uid`` fixes its numeric id (default: the next one)."""
        self._next_user = max(self._next_user, uid or 0) + (0 if uid else 1)
        user = FakeUser(login, uid or self._next_user, token, actions_token)
        self.users[login.lower()] = user
        return user

    def rename_user(self, login: str, new: str) -> FakeUser:
        """GitHub's rename: the account (its id, comments, memberships) keeps all but the
        login, and the old login is free for anyone to register."""
        user = self.users.pop(login.lower())
        user.login = new
        self.users[new.lower()] = user
        for members in self.teams.values():
            if login.lower() in members:
                members[new.lower()] = members.pop(login.lower())
        for repo in self.repos.values():
            if login.lower() in repo.permissions:
                repo.permissions[new.lower()] = repo.permissions.pop(login.lower())
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
            repo.labels.setdefault(name, dict(DEFAULT_LABEL))
            issue.labels.append(name)
            self.label_event(issue, "labeled", name, self.users[by.lower()])
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

    def label_event(self, issue: FakeIssue, event: str, name: str, user: FakeUser | None) -> None:
        """GitHub's issue events: who added or removed a label, and when (never rewritten)."""
        issue.events.append((event, name, user.login if user else "ghost", self.clock()))

    # ------------------------------------------------------------------ reading

    def comments_of(self, full_name: str, number: int) -> list[FakeComment]:
        """The comments of an issue as stored, oldest first."""
        return list(self.issue(full_name, number).comments.values())

    def issue(self, full_name: str, number: int) -> FakeIssue:
        return self.repos[full_name.lower()].issues[number]

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _find_comment(self, comment_id: int) -> tuple[FakeIssue, FakeComment]:
        for repo in self.repos.values():
            for issue in repo.issues.values():
                if comment_id in issue.comments:
                    return issue, issue.comments[comment_id]
        raise KeyError(comment_id)
