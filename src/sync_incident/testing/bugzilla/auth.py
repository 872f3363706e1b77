"""Who a request runs as, and what they may see.

The API key comes from the query string, the JSON body or (BMO only) a header: 5.2 ignores
``X-BUGZILLA-API-KEY``, so such a request runs anonymous, silently. A key that matches nobody
is error 306. A restricted bug is error 102 to all but insiders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from sync_incident.testing.bugzilla.errors import BugzillaFault
from sync_incident.testing.bugzilla.state import FakeBug, FakeUser

if TYPE_CHECKING:
    from sync_incident.testing.bugzilla.fake import FakeBugzilla

KEY_NAMES = ("api_key", "Bugzilla_api_key")


def authenticate(
    fake: FakeBugzilla,
    params: dict[str, list[str]],
    body: dict[str, Any],
    headers: httpx.Headers,
    method: str,
) -> FakeUser | None:
    key = _key(fake, params, body, headers, method)
    if key is None:
        return None
    for user in fake.users.values():
        if user.key == key:
            return user
    raise BugzillaFault(
        306, "The API key you specified is invalid. Please check that you typed it correctly."
    )


def _key(
    fake: FakeBugzilla,
    params: dict[str, list[str]],
    body: dict[str, Any],
    headers: httpx.Headers,
    method: str,
) -> str | None:
    key: str | None = None
    for name in KEY_NAMES:
        if method != "GET" and isinstance(body.get(name), str):
            key = body[name]
    for name in KEY_NAMES:  # the query string wins over the body
        if params.get(name):
            key = params[name][0]
    if key is None and fake.flavor == "bmo":
        key = headers.get("x-bugzilla-api-key")
    return key


def login_required(user: FakeUser | None) -> FakeUser:
    if user is None:
        raise BugzillaFault(410, "You must log in before using this part of Bugzilla.")
    return user


def visible_bug(fake: FakeBugzilla, user: FakeUser | None, bug_id: int) -> FakeBug:
    bug = fake.bugs.get(bug_id)
    if bug is None:
        raise BugzillaFault(101, f"Bug #{bug_id} does not exist.")
    if bug.restricted and not (user and user.insider):
        raise BugzillaFault(102, f"You are not authorized to access bug #{bug_id}.")
    return bug
