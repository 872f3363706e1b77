"""Labels: the repository's (list, read, create) and an issue's (list, add, set, remove)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx

from sync_incident.testing.github.payloads import label_json, labels_json
from sync_incident.testing.github.responses import Call
from sync_incident.testing.github.state import DEFAULT_LABEL, FakeIssue, FakeRepo, can_write

# ---------------------------------------------------------------------- the repository's labels


def list_labels(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    return call.page(labels_json(call.fake, repo, list(repo.labels)))


def create_label(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    if not can_write(repo, call.user):
        return call.no_push()
    name = call.body_field("name")
    if not isinstance(name, str) or not name:
        return call.invalid("Label", "missing_field", "name")
    if name in repo.labels:
        return call.invalid("Label", "already_exists", "name")
    repo.labels[name] = {
        "color": str(call.body.get("color") or "ededed"),
        "description": str(call.body.get("description") or ""),
    }
    return call.answer(201, label_json(call.fake, repo, name))


def get_label(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    name = unquote(match[1])
    if name not in repo.labels:
        return call.not_found()
    return call.answer(200, label_json(call.fake, repo, name), etag=True)


# ---------------------------------------------------------------------- an issue's labels


def issue_labels(
    call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]
) -> httpx.Response:
    """``/issues/{n}/labels``: GET lists; POST adds, PUT replaces, DELETE clears (push access)."""
    if call.method == "GET":
        return call.answer(200, labels_json(call.fake, repo, issue.labels))
    if not can_write(repo, call.user):
        return call.no_push()
    names = call.body.get("labels") if isinstance(call.body, dict) else call.body
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return call.invalid("Label", "invalid", "labels")
    if call.method == "PUT":
        _clear(call, issue)
    if call.method in ("POST", "PUT"):
        _add(call, repo, issue, names)
        issue.updated_at = call.fake.clock()
        return call.answer(200, labels_json(call.fake, repo, issue.labels))
    if call.method == "DELETE":
        _clear(call, issue)
        issue.updated_at = call.fake.clock()
        return httpx.Response(204)
    return call.not_found()


def remove_label(
    call: Call, repo: FakeRepo, issue: FakeIssue, match: re.Match[str]
) -> httpx.Response:
    """``DELETE /issues/{n}/labels/{name}``."""
    if not can_write(repo, call.user):
        return call.no_push()
    name = unquote(match[1])
    if name not in issue.labels:
        return call.error(404, "Label does not exist")
    issue.labels.remove(name)
    issue.updated_at = call.fake.clock()
    call.fake.label_event(issue, "unlabeled", name, call.user)
    return call.answer(200, labels_json(call.fake, repo, issue.labels))


def _clear(call: Call, issue: FakeIssue) -> None:
    for name in issue.labels:
        call.fake.label_event(issue, "unlabeled", name, call.user)
    issue.labels = []


def _add(call: Call, repo: FakeRepo, issue: FakeIssue, names: list[str]) -> None:
    for name in names:
        # GitHub creates unknown labels when they are added to an issue
        repo.labels.setdefault(name, dict(DEFAULT_LABEL))
        if name not in issue.labels:
            issue.labels.append(name)
            call.fake.label_event(issue, "labeled", name, call.user)
