"""A stateful in-memory Bugzilla that answers like a real upstream 5.2 server or like BMO.

Shapes, status codes and error codes follow ``tests/fixtures/bugzilla/`` (copied from real
5.2 responses, see the shared ``rest-observed.md``). Use it behind ``httpx.MockTransport``::

    fake = FakeBugzilla(flavor="5.2")
    client = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(fake.handler))

Flavors:

- ``"5.2"``: the ``X-BUGZILLA-API-KEY`` header is ignored (the request runs anonymous); the key
  works as ``api_key`` / ``Bugzilla_api_key`` query parameter or JSON body field; no
  ``/rest/whoami`` (404, code 32614); no Markdown, no ``raw_text``.
- ``"bmo"``: the header works too; ``/rest/whoami``; ``raw_text``; ``edit_count`` for privileged
  readers; ``needinfo`` flags; comments tagged ``deleted`` are hidden (a gap in ``count``),
  except from privileged readers, who get them with the tag.

Like 5.2, ``If-None-Match`` is honoured on every method: a write is applied and then answered
304 with an empty body (so a client must never send it on writes). ``faults`` holds
:class:`Fault` objects; the first one matching a request is consumed.

Kept free of pytest so benchmarks can import it and serve it over a socket.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qs

import httpx

from sync_incident.testing.clock import FakeClock

DOCS = "https://bugzilla.readthedocs.org/en/5.0/api/"
LIMIT = 65_535
START = datetime(2026, 11, 27, 3, 50, 13, tzinfo=UTC)
Flavor = Literal["5.2", "bmo"]
FaultKind = Literal[
    "drop_after",  # store the write, then the response is lost (ReadTimeout)
    "reset_after",  # store the write, then the connection breaks (RemoteProtocolError)
    "connect_timeout",  # nothing reaches the server
    "status",  # an HTML error page with ``status`` (500, 502, 503), nothing stored
    "html_429",  # BMO's HTML "blocked" page, optional ``retry_after``
    "plain_414",  # plain-text 414 for long URLs
    "truncated",  # the answer is cut in the middle (after storing a write)
    "error_200",  # HTTP 200 with ``"error": true`` and code 100500, nothing stored
]

# HTTP status by Bugzilla error code, as observed on 5.2 (everything else is 400).
_STATUS_404 = {51, 101, 32614}
_STATUS_401 = {102, 106, 109, 110, 113, 115, 120, *range(300, 305), 410, 504, 505}


@dataclass
class Fault:
    kind: FaultKind
    method: str | None = None  # None matches any method
    path: str | None = None  # regex searched in the path; None matches any path
    status: int = 500
    retry_after: str | None = None
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class LoggedRequest:
    method: str
    url: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeUser:
    uid: int
    login: str
    key: str
    real_name: str = ""
    insider: bool = False  # sees private comments
    editbugs: bool = True
    privileged: bool = False  # BMO: sees edit_count


@dataclass
class FakeComment:
    id: int
    bug_id: int
    count: int
    creator: str
    time: datetime
    text: str
    is_private: bool = False
    tags: list[str] = field(default_factory=list)
    edit_count: int = 0
    hidden: bool = False  # removed from every answer (vanished)
    lag_reads: int = 0  # not visible to the next N comment reads (replica lag)


@dataclass
class FakeFlag:
    id: int
    name: str
    status: str
    setter: str
    requestee: str | None = None


@dataclass
class FakeBug:
    id: int
    summary: str
    product: str
    component: str
    creator: str
    assigned_to: str
    creation_time: datetime
    last_change_time: datetime
    whiteboard: str = ""
    status: str = "CONFIRMED"
    resolution: str = ""
    keywords: list[str] = field(default_factory=list)
    flags: list[FakeFlag] = field(default_factory=list)
    comments: list[FakeComment] = field(default_factory=list)
    restricted: bool = False  # only insiders may see it (code 102)


class BugzillaFault(Exception):
    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or (
            404 if code in _STATUS_404 else 401 if code in _STATUS_401 else 400
        )


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag_of(result: Any) -> str:
    """An unquoted base64 MD5 of the JSON result, as 5.2 sends it."""
    digest = hashlib.md5(json.dumps(result, sort_keys=True).encode()).digest()
    return base64.b64encode(digest).decode().rstrip("=")


def normalise(text: str) -> str:
    """What the server stores: CRLF/CR → LF, trailing whitespace stripped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


class FakeBugzilla:
    """The fake server; ``handler`` is its whole HTTP surface."""

    def __init__(
        self,
        flavor: Flavor = "5.2",
        *,
        version: str | None = None,
        clock: FakeClock | None = None,
        products: dict[str, list[str]] | None = None,
    ) -> None:
        self.flavor: Flavor = flavor
        self.version = version or ("20240101.1" if flavor == "bmo" else "5.2+")
        self.clock = clock or FakeClock(START)
        self.products = products or {"Release Engineering": ["General"], "Firefox": ["General"]}
        self.users: dict[str, FakeUser] = {}
        self.bugs: dict[int, FakeBug] = {}
        self.next_comment = 1
        self.next_flag = 1
        self.lag_reads = 0  # new comments stay invisible to this many comment reads
        self.faults: list[Fault] = []
        self.log: list[LoggedRequest] = []

    # ------------------------------------------------------------------ set-up helpers

    def add_user(self, login: str, key: str, **kwargs: Any) -> FakeUser:
        user = FakeUser(uid=len(self.users) + 1, login=login, key=key, **kwargs)
        self.users[login] = user
        return user

    def add_bug(
        self,
        summary: str = "Firefox 96.0.1 release incident",
        *,
        creator: str,
        description: str = "Initial description (comment 0).",
        product: str = "Release Engineering",
        component: str = "General",
        whiteboard: str = "",
    ) -> int:
        now = self.clock.tick()
        bug = FakeBug(
            id=len(self.bugs) + 1,
            summary=summary,
            product=product,
            component=component,
            creator=creator,
            assigned_to=creator,
            creation_time=now,
            last_change_time=now,
            whiteboard=whiteboard,
        )
        self.bugs[bug.id] = bug
        self._store_comment(bug, creator, description, private=False, at=now)
        return bug.id

    def add_comment(self, bug_id: int, creator: str, text: str, *, private: bool = False) -> int:
        return self._store_comment(self.bugs[bug_id], creator, text, private=private).id

    def comment(self, comment_id: int) -> FakeComment:
        for bug in self.bugs.values():
            for comment in bug.comments:
                if comment.id == comment_id:
                    return comment
        raise KeyError(comment_id)

    def hide_comment(self, comment_id: int) -> None:
        """The comment disappears from every answer (an admin removed it)."""
        self.comment(comment_id).hidden = True

    def delete_comment(self, comment_id: int) -> None:
        """BMO: tag the comment ``deleted`` (it is then hidden from answers)."""
        self.comment(comment_id).tags.append("deleted")

    def edit_comment(self, comment_id: int, text: str) -> None:
        """BMO's EditComments: new text, same creation time, ``edit_count`` + 1."""
        comment = self.comment(comment_id)
        comment.text = normalise(text)
        comment.edit_count += 1

    def restarted(self) -> FakeBugzilla:
        """A new server process over the same database: no faults, no lag, an empty log."""
        clone = FakeBugzilla(self.flavor, version=self.version, clock=self.clock)
        clone.products = copy.deepcopy(self.products)
        clone.users = copy.deepcopy(self.users)
        clone.bugs = copy.deepcopy(self.bugs)
        for bug in clone.bugs.values():
            for comment in bug.comments:
                comment.lag_reads = 0
        clone.next_comment = self.next_comment
        clone.next_flag = self.next_flag
        return clone

    def requests_to(self, method: str, path_pattern: str = "") -> list[LoggedRequest]:
        return [r for r in self.log if r.method == method and re.search(path_pattern, r.path)]

    # ------------------------------------------------------------------ HTTP surface

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for root in ("/rest/", "/rest.cgi/"):  # served under a base path, e.g. /bugzilla/rest/
            at = path.find(root)
            if at >= 0:
                path = "/rest/" + path[at + len(root) :]
                break
        method = request.method
        params = parse_qs(request.url.query.decode(), keep_blank_values=True)
        raw_body = request.content
        self.log.append(
            LoggedRequest(
                method=method,
                url=str(request.url),
                path=path,
                params=params,
                headers={k.lower(): v for k, v in request.headers.items()},
                json=_loads_or_none(raw_body),
            )
        )
        fault = self._take_fault(method, path)
        if fault is not None and fault.kind in ("connect_timeout", "status", "html_429"):
            return self._fault_before(fault, request)
        if fault is not None and fault.kind == "plain_414":
            return httpx.Response(414, text="Request-URI Too Long\n", headers=_TEXT)
        if fault is not None and fault.kind == "error_200":
            return self._error(
                BugzillaFault(100500, "Not a HASH reference at Bugzilla/Bug.pm line 2492.\n", 200)
            )
        response = self._answer(method, path, params, raw_body, request)
        if fault is not None and fault.kind == "drop_after":
            raise httpx.ReadTimeout("timed out reading the response", request=request)
        if fault is not None and fault.kind == "reset_after":
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        if fault is not None and fault.kind == "truncated":
            body = response.content
            return httpx.Response(200, content=body[: max(len(body) // 2, 1)], headers=_JSON)
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, path):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_before(self, fault: Fault, request: httpx.Request) -> httpx.Response:
        if fault.kind == "connect_timeout":
            raise httpx.ConnectTimeout("timed out connecting", request=request)
        if fault.kind == "html_429":
            headers = dict(_HTML)
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            page = "<html><body><h1>Too Many Requests</h1>Your IP is blocked.</body></html>"
            return httpx.Response(429, text=page, headers=headers)
        page = f"<html><head><title>{fault.status} Error</title></head><body>Server error</body></html>"
        return httpx.Response(fault.status, text=page, headers=_HTML)

    def _answer(
        self,
        method: str,
        path: str,
        params: dict[str, list[str]],
        raw_body: bytes,
        request: httpx.Request,
    ) -> httpx.Response:
        try:
            body = self._body(method, raw_body)
        except _ArrayBody:
            page = "<h1>Software error:</h1>\n<pre>Not a HASH reference at Bugzilla/WebService/Server/REST.pm line 397.\n</pre>\n"
            return httpx.Response(500, text=page, headers={"Content-Type": "text/html"})
        try:
            route = self._route(method, path)
            user = self._authenticate(params, body, request.headers, method)
            status, result = route(user, params, body)
        except BugzillaFault as fault:
            return self._error(fault)
        tag = etag_of(result)
        wanted = request.headers.get("if-none-match")
        if wanted is not None and wanted.strip('"') in (tag, "*"):
            return httpx.Response(304, headers={"ETag": tag})  # after applying, like 5.2
        return httpx.Response(status, json=result, headers={"ETag": tag, **_JSON})

    @staticmethod
    def _body(method: str, raw: bytes) -> dict[str, Any]:
        if method == "GET" or not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BugzillaFault(
                32000, "Could not parse the 'params' argument as valid JSON."
            ) from exc
        if isinstance(data, list):
            raise _ArrayBody
        return data if isinstance(data, dict) else {}

    def _error(self, fault: BugzillaFault) -> httpx.Response:
        result = {
            "error": True,
            "code": fault.code,
            "message": fault.message,
            "documentation": DOCS,
        }
        return httpx.Response(fault.status, json=result, headers={"ETag": etag_of(result), **_JSON})

    def _authenticate(
        self,
        params: dict[str, list[str]],
        body: dict[str, Any],
        headers: httpx.Headers,
        method: str,
    ) -> FakeUser | None:
        key = None
        for name in ("api_key", "Bugzilla_api_key"):
            if method != "GET" and isinstance(body.get(name), str):
                key = body[name]
        for name in ("api_key", "Bugzilla_api_key"):  # the query string wins over the body
            if params.get(name):
                key = params[name][0]
        if key is None and self.flavor == "bmo":
            key = headers.get("x-bugzilla-api-key")
        if key is None:
            return None  # 5.2 ignores the header: anonymous, silently
        for user in self.users.values():
            if user.key == key:
                return user
        raise BugzillaFault(
            306, "The API key you specified is invalid. Please check that you typed it correctly."
        )

    # ------------------------------------------------------------------ routes

    def _route(self, method: str, path: str) -> Any:
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"/rest/version", self._version),
            ("GET", r"/rest/valid_login", self._valid_login),
            ("GET", r"/rest/user", self._user),
            ("GET", r"/rest/bug", self._search),
            ("POST", r"/rest/bug", self._create),
            ("GET", r"/rest/bug/(\d+)", self._get_bug),
            ("PUT", r"/rest/bug/(\d+)", self._update),
            ("GET", r"/rest/bug/(\d+)/comment", self._comments),
            ("POST", r"/rest/bug/(\d+)/comment", self._add_comment),
        ]
        if self.flavor == "bmo":
            routes.append(("GET", r"/rest/whoami", self._whoami))
        for verb, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                args = [int(g) for g in match.groups()]
                return lambda user, params, body: fn(user, params, body, *args)
        raise BugzillaFault(32614, f"A REST API resource was not found for '{method} {path[5:]}'.")

    def _version(self, user: FakeUser | None, params: Any, body: Any) -> tuple[int, Any]:
        return 200, {"version": self.version}

    def _whoami(self, user: FakeUser | None, params: Any, body: Any) -> tuple[int, Any]:
        user = _login_required(user)
        return 200, {
            "id": user.uid,
            "name": user.login,
            "real_name": user.real_name,
            "nick": user.login.split("@")[0],
        }

    def _valid_login(
        self, user: FakeUser | None, params: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        login = (params.get("login") or [""])[0]
        return 200, {"result": user is not None and user.login == login}

    def _user(
        self, user: FakeUser | None, params: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if "match" in params and user is None:
            raise BugzillaFault(
                505,
                "Logged-out users cannot use the 'match' argument to this function to access any user information.",
            )
        wanted = set(params.get("names", [])) | set(params.get("match", []))
        found = [u for u in self.users.values() if any(w in u.login for w in wanted)]
        users = []
        for u in found:
            data: dict[str, Any] = {"id": u.uid, "name": u.login, "real_name": u.real_name}
            # as 5.2: groups show to the account itself (others get []), saved searches only
            # to the account itself (an admin does not get them either)
            mine = user is not None and user.login == u.login
            data["groups"] = [{"id": 8, "name": "editbugs"}] if mine and u.editbugs else []
            if mine:
                data["saved_searches"] = []
            fields = _fields(params)
            users.append({k: v for k, v in data.items() if not fields or k in fields})
        return 200, {"users": users}

    def _visible_bug(self, user: FakeUser | None, bug_id: int) -> FakeBug:
        bug = self.bugs.get(bug_id)
        if bug is None:
            raise BugzillaFault(101, f"Bug #{bug_id} does not exist.")
        if bug.restricted and not (user and user.insider):
            raise BugzillaFault(102, f"You are not authorized to access bug #{bug_id}.")
        return bug

    def _bug_json(self, bug: FakeBug, fields: list[str] | None) -> dict[str, Any]:
        full: dict[str, Any] = {
            "id": bug.id,
            "summary": bug.summary,
            "product": bug.product,
            "component": bug.component,
            "creator": bug.creator,
            "assigned_to": bug.assigned_to,
            "whiteboard": bug.whiteboard,
            "status": bug.status,
            "resolution": bug.resolution,
            "keywords": list(bug.keywords),
            "creation_time": stamp(bug.creation_time),
            "last_change_time": stamp(bug.last_change_time),
            "flags": [self._flag_json(f) for f in bug.flags],
            "alias": [],
            "is_open": bug.status not in ("RESOLVED", "VERIFIED", "CLOSED"),
        }
        if not fields or "_default" in fields or "_all" in fields:
            return full
        return {k: v for k, v in full.items() if k in fields}

    def _flag_json(self, flag: FakeFlag) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": flag.id,
            "name": flag.name,
            "status": flag.status,
            "setter": flag.setter,
            "type_id": 800,
        }
        if flag.requestee:
            out["requestee"] = flag.requestee
        return out

    def _get_bug(
        self, user: FakeUser | None, params: dict[str, list[str]], body: Any, bug_id: int
    ) -> tuple[int, Any]:
        bug = self._visible_bug(user, bug_id)
        return 200, {"bugs": [self._bug_json(bug, _fields(params))], "faults": []}

    def _search(
        self, user: FakeUser | None, params: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        found = []
        for bug in self.bugs.values():
            if bug.restricted and not (user and user.insider):
                continue
            if any(w not in bug.whiteboard for w in params.get("whiteboard", [])):
                continue
            if any(s not in bug.summary for s in params.get("summary", [])):
                continue
            if any(c != bug.creator for c in params.get("creator", [])):
                continue
            found.append(self._bug_json(bug, _fields(params)))
        return 200, {"bugs": found}

    def _comments(
        self, user: FakeUser | None, params: dict[str, list[str]], body: Any, bug_id: int
    ) -> tuple[int, Any]:
        bug = self._visible_bug(user, bug_id)
        since = _parse_since(params["new_since"][0]) if params.get("new_since") else None
        out = []
        for comment in bug.comments:
            if comment.lag_reads > 0:  # still on its way to the replica
                comment.lag_reads -= 1
                continue
            if comment.hidden:
                continue
            if self._deleted(comment) and not (user and user.privileged):
                continue  # BMO hides deleted comments, except from admins (who see the tag)
            if comment.is_private and not (user and user.insider):
                continue
            if since is not None and comment.time <= since:  # strictly greater-than
                continue
            out.append(self._comment_json(comment, user))
        fields = _fields(params)
        if fields:
            out = [{k: v for k, v in c.items() if k in fields} for c in out]
        return 200, {"bugs": {str(bug.id): {"comments": out}}, "comments": {}}

    def _deleted(self, comment: FakeComment) -> bool:
        return self.flavor == "bmo" and "deleted" in comment.tags

    def _comment_json(self, comment: FakeComment, user: FakeUser | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": comment.id,
            "bug_id": comment.bug_id,
            "count": comment.count,
            "text": comment.text,
            "creator": comment.creator,
            "time": stamp(comment.time),
            "creation_time": stamp(comment.time),
            "is_private": comment.is_private,
            "attachment_id": None,
            "tags": list(comment.tags),
        }
        if self.flavor == "bmo":
            out["raw_text"] = comment.text
            out["reactions"] = {}
            if user is not None and user.privileged:
                out["edit_count"] = comment.edit_count
        return out

    def _add_comment(
        self, user: FakeUser | None, params: Any, body: dict[str, Any], bug_id: int
    ) -> tuple[int, Any]:
        user = _login_required(user)
        bug = self._visible_bug(user, bug_id)
        text = body.get("comment")
        private = bool(body.get("is_private", False))
        comment = self._checked_comment(bug, user, text, private)
        return 201, {"id": comment.id}

    def _checked_comment(
        self, bug: FakeBug, user: FakeUser, text: Any, private: bool
    ) -> FakeComment:
        if not isinstance(text, str) or not normalise(text).strip():
            raise BugzillaFault(
                50, "The function requires a comment argument, and that argument was not set."
            )
        if len(normalise(text)) > LIMIT:
            raise BugzillaFault(114, f"Comments cannot be longer than {LIMIT} characters.")
        if private and not user.insider:
            raise BugzillaFault(
                113,
                "Sorry, but you are not allowed to (un)mark comments or attachments as private.",
            )
        return self._store_comment(bug, user.login, text, private=private)

    def _store_comment(
        self, bug: FakeBug, creator: str, text: str, *, private: bool, at: datetime | None = None
    ) -> FakeComment:
        when = at or self.clock.tick()
        comment = FakeComment(
            id=self.next_comment,
            bug_id=bug.id,
            count=len(bug.comments),
            creator=creator,
            time=when,
            text=normalise(text),
            is_private=private,
            lag_reads=self.lag_reads,
        )
        self.next_comment += 1
        bug.comments.append(comment)
        bug.last_change_time = when
        return comment

    def _update(
        self, user: FakeUser | None, params: Any, body: dict[str, Any], bug_id: int
    ) -> tuple[int, Any]:
        user = _login_required(user)
        bug = self._visible_bug(user, bug_id)
        if "keywords" in body and not isinstance(body["keywords"], dict):
            raise BugzillaFault(100500, "Not a HASH reference at Bugzilla/Bug.pm line 2492.\n", 200)
        may_edit = user.editbugs or user.login in (bug.creator, bug.assigned_to)
        changes: dict[str, dict[str, str]] = {}
        if "whiteboard" in body and body["whiteboard"] != bug.whiteboard:
            if not may_edit:
                raise BugzillaFault(
                    115,
                    f"You tried to change the Whiteboard field from {bug.whiteboard} to {body['whiteboard']}, but only the assignee or reporter of the bug, or a user with the required permissions may change that field.",
                )
            changes["whiteboard"] = {"added": body["whiteboard"], "removed": bug.whiteboard}
        if "assigned_to" in body and body["assigned_to"] != bug.assigned_to:
            if body["assigned_to"] not in self.users:
                raise BugzillaFault(51, f"There is no user named '{body['assigned_to']}'.")
            changes["assigned_to"] = {"added": body["assigned_to"], "removed": bug.assigned_to}
        flag_changes = self._flag_changes(bug, user, body.get("flags"))
        comment = body.get("comment")
        if isinstance(comment, dict):  # validated before anything is stored: one transaction
            self._checked_comment(bug, user, comment.get("body"), bool(comment.get("is_private")))
        if "whiteboard" in changes:
            bug.whiteboard = body["whiteboard"]
        if "assigned_to" in changes:
            bug.assigned_to = body["assigned_to"]
        flag_changes()
        if changes:
            bug.last_change_time = self.clock.moment().replace(microsecond=0)
        result = {
            "id": bug.id,
            "alias": [],
            "last_change_time": stamp(bug.last_change_time),
            "changes": changes,
        }
        return 200, {"bugs": [result]}

    def _flag_changes(self, bug: FakeBug, user: FakeUser, flags: Any) -> Any:
        if flags is None:
            return lambda: None
        if self.flavor != "bmo":
            raise BugzillaFault(51, "There is no flag type named 'needinfo'.")
        ops: list[tuple[str, FakeFlag | None, Any]] = []
        for item in flags:
            if "id" in item:
                existing = [f for f in bug.flags if f.id == item["id"]]
                if not existing:
                    raise BugzillaFault(51, f"There is no flag with the id '{item['id']}'.")
                ops.append(("clear", existing[0], item))
            else:
                if item.get("name") != "needinfo":
                    raise BugzillaFault(51, f"There is no flag type named '{item.get('name')}'.")
                ops.append(("add", None, item))

        def apply() -> None:
            for action, flag, item in ops:
                if action == "clear" and flag is not None and item.get("status") == "X":
                    bug.flags.remove(flag)
                elif action == "add":
                    bug.flags.append(
                        FakeFlag(
                            self.next_flag,
                            "needinfo",
                            item.get("status", "?"),
                            user.login,
                            item.get("requestee"),
                        )
                    )
                    self.next_flag += 1

        return apply

    def _create(self, user: FakeUser | None, params: Any, body: dict[str, Any]) -> tuple[int, Any]:
        user = _login_required(user)
        for name, message in (
            ("op_sys", "You must select/enter a OS."),
            ("platform", "You must select/enter a platform."),
            ("summary", "You must enter a summary for this bug."),
            ("version", "You must select/enter a version."),
        ):
            if not body.get(name):
                raise BugzillaFault(50, message)
        product = body.get("product")
        if product not in self.products:
            raise BugzillaFault(
                106,
                f"Sorry, either the product {product} does not exist or you aren't authorized to enter a bug into it.",
            )
        if body.get("component") not in self.products[product]:
            raise BugzillaFault(
                51,
                f"There is no component named '{body.get('component')}' in the '{product}' product.",
            )
        description = str(body.get("description") or "")
        if len(normalise(description)) > LIMIT:
            raise BugzillaFault(114, f"Comments cannot be longer than {LIMIT} characters.")
        bug_id = self.add_bug(
            str(body["summary"]),
            creator=user.login,
            description=description,
            product=product,
            component=str(body["component"]),
            whiteboard=str(body.get("whiteboard") or ""),  # 5.2 accepts it on creation
        )
        return 200, {"id": bug_id}


class _ArrayBody(Exception):
    """A JSON array as the request body: 5.2 dies with an HTML 500 page."""


_JSON = {"Content-Type": "application/json; charset=UTF-8"}
_HTML = {"Content-Type": "text/html; charset=UTF-8"}
_TEXT = {"Content-Type": "text/plain"}


def _login_required(user: FakeUser | None) -> FakeUser:
    if user is None:
        raise BugzillaFault(410, "You must log in before using this part of Bugzilla.")
    return user


def _fields(params: dict[str, list[str]]) -> list[str] | None:
    values = [f for v in params.get("include_fields", []) for f in v.split(",") if f]
    return values or None


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _parse_since(value: str) -> datetime:
    """5.2 accepts several forms; a value without a zone is read in the server's zone (UTC)."""
    text = value.strip().replace(" ", "T")
    try:
        if re.fullmatch(r"\d{8}T\d\d:\d\d:\d\d", text):
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BugzillaFault(56, f"'{value}' is not a legal date.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
