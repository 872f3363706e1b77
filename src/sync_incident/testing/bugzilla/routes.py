"""Request dispatch for the fake Bugzilla: which handler answers a method and REST path.

A handler takes the fake, the user (or None), the query parameters and the JSON body, then the
numeric ids in the path, and returns the status and the JSON result; it raises
:class:`~sync_incident.testing.bugzilla.BugzillaFault` for Bugzilla's errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sync_incident.testing.bugzilla import bugs, comments, history, users
from sync_incident.testing.bugzilla.errors import BugzillaFault
from sync_incident.testing.bugzilla.state import FakeUser

if TYPE_CHECKING:
    from sync_incident.testing.bugzilla.fake import FakeBugzilla

Handler = Callable[..., tuple[int, Any]]
Bound = Callable[[FakeUser | None, dict[str, list[str]], dict[str, Any]], tuple[int, Any]]


def version(fake: FakeBugzilla, user: FakeUser | None, params: Any, body: Any) -> tuple[int, Any]:
    return 200, {"version": fake.version}


_ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", r"/rest/version", version),
    ("GET", r"/rest/valid_login", users.valid_login),
    ("GET", r"/rest/user", users.get_users),
    ("GET", r"/rest/bug", bugs.search),
    ("POST", r"/rest/bug", bugs.create),
    ("GET", r"/rest/bug/(\d+)", bugs.get_bug),
    ("PUT", r"/rest/bug/(\d+)", bugs.update),
    ("GET", r"/rest/bug/(\d+)/comment", comments.get_comments),
    ("POST", r"/rest/bug/(\d+)/comment", comments.add_comment),
    ("GET", r"/rest/bug/(\d+)/history", history.get_history),
]
_BMO_ROUTES: list[tuple[str, str, Handler]] = [("GET", r"/rest/whoami", users.whoami)]


def route(fake: FakeBugzilla, method: str, path: str) -> Bound:
    """The handler for ``method`` on ``path``, its path ids bound; error 32614 when none."""
    routes = _ROUTES + (_BMO_ROUTES if fake.flavor == "bmo" else [])
    for verb, pattern, fn in routes:
        match = re.fullmatch(pattern, path)
        if fn is history.get_history and not fake.history_route:
            continue
        if verb == method and match:
            args = [int(g) for g in match.groups()]
            return lambda user, params, body: fn(fake, user, params, body, *args)
    raise BugzillaFault(32614, f"A REST API resource was not found for '{method} {path[5:]}'.")
