"""The JSON the fake GitHub answers with, built from GitHub's published examples.

Each shape starts from a sample in ``testing/fixtures/`` (see its README) so every field a real
answer has is there; the fake's state fills in what the client reads. Error bodies follow
GitHub's shapes too (``message`` + ``documentation_url``; 422s with ``errors``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync_incident.testing.github.state import (
    DEFAULT_LABEL,
    FakeComment,
    FakeIssue,
    FakeRepo,
    FakeUser,
)

if TYPE_CHECKING:
    from sync_incident.testing.github.fake import FakeGitHub

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BODY_LIMIT = 65_536
DOCS = "https://docs.github.com/rest"
SAMPLE_API = "https://api.github.com"


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


_ISSUE = _sample("issue.json")
_COMMENT = _sample("comment.json")
_LABEL = _sample("label.json")
_USER = _sample("user.json")


def github_time(moment: float) -> str:
    return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_json(fake: FakeGitHub, user: FakeUser) -> dict[str, Any]:
    data = copy.deepcopy(_USER)
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = value.replace("octocat", user.login).replace(SAMPLE_API, fake.base_url)
    data["login"] = user.login
    data["id"] = user.id
    return data


def _rewrite(fake: FakeGitHub, data: dict[str, Any], repo: FakeRepo) -> None:
    """The sample's URLs, pointed at this server and repository."""
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = value.replace(SAMPLE_API, fake.base_url).replace(
                "octocat/Hello-World", repo.full_name
            )


def label_json(fake: FakeGitHub, repo: FakeRepo, name: str) -> dict[str, Any]:
    data = copy.deepcopy(_LABEL)
    _rewrite(fake, data, repo)
    meta = repo.labels.get(name, DEFAULT_LABEL)
    data.update(
        id=int(hashlib.sha256(f"{repo.id}:{name}".encode()).hexdigest()[:8], 16),
        url=f"{fake.base_url}/repos/{repo.full_name}/labels/{name}",
        name=name,
        color=meta["color"],
        description=meta["description"] or None,
        default=False,
    )
    return data


def labels_json(fake: FakeGitHub, repo: FakeRepo, names: list[str]) -> list[dict[str, Any]]:
    return [label_json(fake, repo, name) for name in names]


def _association(user: FakeUser, repo: FakeRepo) -> str:
    return "OWNER" if user.login == repo.owner else "CONTRIBUTOR"


def issue_json(fake: FakeGitHub, repo: FakeRepo, issue: FakeIssue) -> dict[str, Any]:
    data = copy.deepcopy(_ISSUE)
    _rewrite(fake, data, repo)
    api = f"{fake.base_url}/repos/{repo.full_name}/issues/{issue.number}"
    assignees = [user_json(fake, fake.users[a.lower()]) for a in issue.assignees]
    data.update(
        id=issue.id,
        url=api,
        labels_url=api + "/labels{/name}",
        comments_url=api + "/comments",
        events_url=api + "/events",
        html_url=f"{fake.html_base}/{repo.full_name}/issues/{issue.number}",
        number=issue.number,
        state=issue.state,
        title=issue.title,
        body=issue.body,
        user=user_json(fake, issue.user),
        labels=labels_json(fake, repo, issue.labels),
        assignee=assignees[0] if assignees else None,
        assignees=assignees,
        comments=len(issue.comments),
        created_at=github_time(issue.created_at),
        updated_at=github_time(issue.updated_at),
        author_association=_association(issue.user, repo),
    )
    return data


def comment_json(
    fake: FakeGitHub, repo: FakeRepo, issue: FakeIssue, comment: FakeComment
) -> dict[str, Any]:
    data = copy.deepcopy(_COMMENT)
    _rewrite(fake, data, repo)
    data.update(
        id=comment.id,
        node_id=comment.node_id,
        url=f"{fake.base_url}/repos/{repo.full_name}/issues/comments/{comment.id}",
        html_url=f"{fake.html_base}/{repo.full_name}/issues/{issue.number}"
        f"#issuecomment-{comment.id}",
        body=comment.body,
        user=user_json(fake, comment.user),
        created_at=github_time(comment.created_at),
        updated_at=github_time(comment.updated_at),
        issue_url=f"{fake.base_url}/repos/{repo.full_name}/issues/{issue.number}",
        author_association=_association(comment.user, repo),
    )
    return data


def event_json(
    fake: FakeGitHub,
    repo: FakeRepo,
    issue: FakeIssue,
    number: int,
    item: tuple[str, str, str, float],
) -> dict[str, Any]:
    """One entry of an issue's events (only label events are recorded)."""
    event, name, login, at = item
    actor = fake.users.get(login.lower())
    return {
        "id": issue.id * 1000 + number,
        "event": event,
        "actor": user_json(fake, actor) if actor else None,
        "label": {"name": name, "color": repo.labels.get(name, {}).get("color", "ededed")},
        "created_at": github_time(at),
    }


# ---------------------------------------------------------------------- error bodies


def err(message: str, doc: str = DOCS) -> dict[str, Any]:
    return {"message": message, "documentation_url": doc}


def invalid(resource: str, code: str, field_name: str, message: str = "") -> dict[str, Any]:
    """A 422 "Validation Failed" body naming the resource and field."""
    error: dict[str, str] = {"resource": resource, "code": code, "field": field_name}
    if message:
        error["message"] = message
    return {
        "message": "Validation Failed",
        "errors": [error],
        "documentation_url": DOCS,
        "status": "422",
    }


def too_long(resource: str) -> dict[str, Any]:
    return invalid(
        resource, "custom", "body", f"body is too long (maximum is {BODY_LIMIT} characters)"
    )
