"""Accounts: ``/rest/whoami`` (BMO), ``/rest/valid_login``, ``/rest/user``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sync_incident.testing.bugzilla.auth import login_required
from sync_incident.testing.bugzilla.errors import BugzillaFault
from sync_incident.testing.bugzilla.payloads import fields
from sync_incident.testing.bugzilla.state import FakeUser

if TYPE_CHECKING:
    from sync_incident.testing.bugzilla.fake import FakeBugzilla

NO_MATCH_WHEN_LOGGED_OUT = (
    "Logged-out users cannot use the 'match' argument to this function to access any user "
    "information."
)


def whoami(fake: FakeBugzilla, user: FakeUser | None, params: Any, body: Any) -> tuple[int, Any]:
    user = login_required(user)
    return 200, {
        "id": user.uid,
        "name": user.login,
        "real_name": user.real_name,
        "nick": user.login.split("@")[0],
    }


def valid_login(
    fake: FakeBugzilla, user: FakeUser | None, params: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    login = (params.get("login") or [""])[0]
    return 200, {"result": user is not None and user.login == login}


def get_users(
    fake: FakeBugzilla, user: FakeUser | None, params: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    """``names`` and ``match`` (a substring here); ``match`` needs a login."""
    if "match" in params and user is None:
        raise BugzillaFault(505, NO_MATCH_WHEN_LOGGED_OUT)
    wanted = set(params.get("names", [])) | set(params.get("match", []))
    found = [u for u in fake.users.values() if any(w in u.login for w in wanted)]
    return 200, {"users": [_user_json(u, user, params) for u in found]}


def _user_json(
    account: FakeUser, reader: FakeUser | None, params: dict[str, list[str]]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": account.uid,
        "name": account.login,
        "real_name": account.real_name,
    }
    # as 5.2: groups show to the account itself (others get []), saved searches only
    # to the account itself (an admin does not get them either)
    mine = reader is not None and reader.login == account.login
    data["groups"] = [{"id": 8, "name": "editbugs"}] if mine and account.editbugs else []
    if mine:
        data["saved_searches"] = []
    wanted = fields(params)
    return {k: v for k, v in data.items() if not wanted or k in wanted}
