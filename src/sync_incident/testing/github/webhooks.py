"""Webhook payloads (``issues``, ``issue_comment``) built from the fake GitHub's state.

The serve tests deliver them to the status server as GitHub would; see
:meth:`~sync_incident.testing.github.FakeGitHub.webhook`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync_incident.testing.github.payloads import (
    comment_json,
    issue_json,
    label_json,
    user_json,
)

if TYPE_CHECKING:
    from sync_incident.testing.github.fake import FakeGitHub


def payload(
    fake: FakeGitHub,
    action: str,
    full_name: str,
    number: int,
    *,
    sender: str,
    comment_id: int | None = None,
    changes: dict[str, Any] | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """What GitHub delivers for ``action`` on issue ``number``, with the optional parts."""
    repo = fake.repos[full_name.lower()]
    issue = repo.issues[number]
    data: dict[str, Any] = {
        "action": action,
        "issue": issue_json(fake, repo, issue),
        "repository": {
            "id": repo.id,
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": user_json(fake, fake.users.get(repo.owner.lower()) or issue.user),
        },
        "sender": user_json(fake, fake.users[sender.lower()]),
    }
    if comment_id is not None:
        data["comment"] = comment_json(fake, repo, issue, issue.comments[comment_id])
    if changes is not None:
        data["changes"] = changes
    if label is not None:
        data["label"] = label_json(fake, repo, label)
    return data
