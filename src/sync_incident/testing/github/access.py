"""Who is asking and what they may do: ``/user``, team memberships, collaborator permission."""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx

from sync_incident.testing.github.payloads import user_json
from sync_incident.testing.github.responses import Call
from sync_incident.testing.github.state import FakeRepo


def current_user(call: Call) -> httpx.Response:
    """``GET /user``: the token's account."""
    if call.user is None:
        return call.error(401, "Requires authentication")
    return call.answer(200, user_json(call.fake, call.user))


def user(call: Call, login: str) -> httpx.Response:
    """``GET /users/{login}``: the account that has this login now (anonymous reads work)."""
    target = call.fake.users.get(login.lower())
    if target is None:
        return call.not_found()
    return call.answer(200, user_json(call.fake, target), etag=True)


def membership(call: Call, org: str, slug: str, login: str) -> httpx.Response:
    """``GET /orgs/{org}/teams/{slug}/memberships/{login}`` (no org read for Actions tokens)."""
    user = call.user
    if user is None:
        return call.error(401, "Requires authentication")
    if user.actions_token:
        return call.error(403, "Resource not accessible by integration")
    members = call.fake.teams.get((org.lower(), slug.lower()))
    if members is None or login.lower() not in members:
        return call.not_found()
    data = {
        "url": f"{call.fake.base_url}/orgs/{org}/teams/{slug}/memberships/{login}",
        "role": "member",
        "state": members[login.lower()],
    }
    return call.answer(200, data, etag=True)


def permission(call: Call, repo: FakeRepo, match: re.Match[str]) -> httpx.Response:
    """``GET /repos/{o}/{r}/collaborators/{login}/permission``: role and legacy permission."""
    login = unquote(match[1])
    target = call.fake.users.get(login.lower())
    if target is None:
        return call.not_found()
    role = repo.permissions.get(login.lower(), "read")
    legacy = {"maintain": "write", "triage": "read"}.get(role, role)
    data = {"permission": legacy, "role_name": role, "user": user_json(call.fake, target)}
    return call.answer(200, data, etag=True)
