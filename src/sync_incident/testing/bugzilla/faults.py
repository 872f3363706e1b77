"""Fault injection for the in-memory fake Bugzilla: lost answers, error pages, odd statuses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import httpx

from sync_incident.testing.bugzilla.errors import CRASH, BugzillaFault, error_response
from sync_incident.testing.bugzilla.payloads import HTML_HEADERS, JSON_HEADERS, TEXT_HEADERS

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


def take(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first fault matching the request, used up once (removed after its last time)."""
    for fault in faults:
        if fault.matches(method, path):
            fault.times -= 1
            if fault.times <= 0:
                faults.remove(fault)
            return fault
    return None


def before(fault: Fault | None, request: httpx.Request) -> httpx.Response | None:
    """The answer of a fault that strikes before the server does anything, if it is one."""
    if fault is None:
        return None
    if fault.kind == "connect_timeout":
        raise httpx.ConnectTimeout("timed out connecting", request=request)
    if fault.kind == "html_429":
        headers = dict(HTML_HEADERS)
        if fault.retry_after is not None:
            headers["Retry-After"] = fault.retry_after
        page = "<html><body><h1>Too Many Requests</h1>Your IP is blocked.</body></html>"
        return httpx.Response(429, text=page, headers=headers)
    if fault.kind == "status":
        page = f"<html><head><title>{fault.status} Error</title></head><body>Server error</body></html>"
        return httpx.Response(fault.status, text=page, headers=HTML_HEADERS)
    if fault.kind == "plain_414":
        return httpx.Response(414, text="Request-URI Too Long\n", headers=TEXT_HEADERS)
    if fault.kind == "error_200":
        return error_response(BugzillaFault(100500, CRASH, 200))
    return None


def after(fault: Fault | None, response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """What reaches the client once the server has answered (and stored any write)."""
    if fault is not None and fault.kind == "drop_after":
        raise httpx.ReadTimeout("timed out reading the response", request=request)
    if fault is not None and fault.kind == "reset_after":
        raise httpx.RemoteProtocolError("peer closed connection", request=request)
    if fault is not None and fault.kind == "truncated":
        body = response.content
        return httpx.Response(200, content=body[: max(len(body) // 2, 1)], headers=JSON_HEADERS)
    return response
