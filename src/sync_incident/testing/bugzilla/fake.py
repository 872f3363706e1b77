"""The fake Bugzilla server: its HTTP surface (``handler``) over :class:`BugzillaState`."""

from __future__ import annotations

import copy
import json
import re
from typing import Any
from urllib.parse import parse_qs

import httpx

from sync_incident.testing.bugzilla import faults, routes
from sync_incident.testing.bugzilla.auth import authenticate
from sync_incident.testing.bugzilla.errors import ArrayBody, BugzillaFault, error_response
from sync_incident.testing.bugzilla.payloads import JSON_HEADERS, etag_of
from sync_incident.testing.bugzilla.state import BugzillaState, Flavor, LoggedRequest
from sync_incident.testing.clock import FakeClock

ARRAY_BODY_PAGE = (
    "<h1>Software error:</h1>\n<pre>Not a HASH reference at "
    "Bugzilla/WebService/Server/REST.pm line 397.\n</pre>\n"
)


class FakeBugzilla(BugzillaState):
    """The fake server; ``handler`` is its whole HTTP surface."""

    def __init__(
        self,
        flavor: Flavor = "5.2",
        *,
        version: str | None = None,
        clock: FakeClock | None = None,
        products: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(flavor, version=version, clock=clock, products=products)
        self.faults: list[faults.Fault] = []
        self.log: list[LoggedRequest] = []

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
        """Answer one request (for ``httpx.MockTransport`` or a loopback server); logged."""
        path = _rest_path(request.url.path)
        method = request.method
        params = parse_qs(request.url.query.decode(), keep_blank_values=True)
        self.log.append(
            LoggedRequest(
                method=method,
                url=str(request.url),
                path=path,
                params=params,
                headers={k.lower(): v for k, v in request.headers.items()},
                json=_loads_or_none(request.content),
            )
        )
        fault = faults.take(self.faults, method, path)
        early = faults.before(fault, request)
        if early is not None:
            return early
        response = self._answer(method, path, params, request)
        return faults.after(fault, response, request)

    def _answer(
        self, method: str, path: str, params: dict[str, list[str]], request: httpx.Request
    ) -> httpx.Response:
        try:
            body = _body(method, request.content)
        except ArrayBody:
            return httpx.Response(500, text=ARRAY_BODY_PAGE, headers={"Content-Type": "text/html"})
        except BugzillaFault as fault:
            return error_response(fault)
        try:
            route = routes.route(self, method, path)
            user = authenticate(self, params, body, request.headers, method)
            status, result = route(user, params, body)
        except BugzillaFault as fault:
            return error_response(fault)
        tag = etag_of(result)
        wanted = request.headers.get("if-none-match")
        if wanted is not None and wanted.strip('"') in (tag, "*"):
            return httpx.Response(304, headers={"ETag": tag})  # after applying, like 5.2
        return httpx.Response(status, json=result, headers={"ETag": tag, **JSON_HEADERS})


def _rest_path(path: str) -> str:
    """``/rest/…`` whatever base path the server is under (e.g. ``/bugzilla/rest.cgi/…``)."""
    for root in ("/rest/", "/rest.cgi/"):
        at = path.find(root)
        if at >= 0:
            return "/rest/" + path[at + len(root) :]
    return path


def _body(method: str, raw: bytes) -> dict[str, Any]:
    """The JSON body (a GET's is ignored); not JSON is error 32000 (400), an array dies (HTML 500)."""
    if method == "GET" or not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BugzillaFault(32000, "Could not parse the 'params' argument as valid JSON.") from exc
    if isinstance(data, list):
        raise ArrayBody
    return data if isinstance(data, dict) else {}


def _loads_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
