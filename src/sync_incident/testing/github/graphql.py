"""The one GraphQL question the client asks: when were these comments last edited?"""

from __future__ import annotations

from typing import Any

import httpx

from sync_incident.testing.github.payloads import github_time
from sync_incident.testing.github.responses import Call
from sync_incident.testing.github.state import FakeComment

MAX_NODES = 100  # ids one ``nodes`` field takes


def answer(call: Call) -> httpx.Response:
    """``nodes(ids: [...]) { ... on IssueComment { id lastEditedAt } }`` and nothing else."""
    if call.user is None:  # GraphQL always needs a token
        return call.error(401, "This endpoint requires you to be authenticated.")
    ids = _asked_ids(call.body)
    if ids is None:
        errors = [{"message": "this fake answers only the lastEditedAt question"}]
        return call.answer(200, {"errors": errors})
    by_node = {
        c.node_id: c
        for repo in call.fake.repos.values()
        for issue in repo.issues.values()
        for c in issue.comments.values()
    }
    if len(ids) > MAX_NODES:  # GitHub refuses the whole query (sourcecred/sourcecred#908)
        message = f"You may not provide more than {MAX_NODES} node ids; you provided {len(ids)}."
        return call.answer(200, {"errors": [{"type": "ARGUMENT_LIMIT", "message": message}]})
    nodes = [_node(node, by_node.get(node)) for node in ids]
    return call.answer(200, {"data": {"nodes": nodes}})


def _asked_ids(body: Any) -> list[Any] | None:
    """The node ids of a ``lastEditedAt`` query, or None for any other question."""
    query = body.get("query") if isinstance(body, dict) else None
    variables = body.get("variables") if isinstance(body, dict) else None
    ids = variables.get("ids") if isinstance(variables, dict) else None
    if (
        not isinstance(query, str)
        or "nodes(ids:" not in query.replace(" ", "")
        or "lastEditedAt" not in query
        or not isinstance(ids, list)
    ):
        return None
    return ids


def _node(node: Any, comment: FakeComment | None) -> dict[str, Any] | None:
    if comment is None:
        return None
    edited = comment.last_edited_at
    return {"id": node, "lastEditedAt": github_time(edited) if edited else None}
