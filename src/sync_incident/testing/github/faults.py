"""Fault injection for the in-memory fake GitHub: lost answers, 5xx, HTML pages, rate limits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import httpx

from sync_incident.testing.github.payloads import err
from sync_incident.testing.github.ratelimit import Budget, rate_headers
from sync_incident.testing.github.responses import json_response

if TYPE_CHECKING:
    from sync_incident.testing.github.fake import FakeGitHub

FaultKind = Literal["drop", "status", "html", "truncated", "secondary", "primary", "connect"]
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."


@dataclass
class Fault:
    """One injected failure for the next request matching ``method`` and ``path`` (a regex).

    drop       apply the request, then raise ``httpx.ReadTimeout`` (the answer is lost)
    status     answer ``status`` (500/502/503) before applying anything
    html       answer ``status`` with an HTML error page before applying anything
    truncated  apply the request, answer 200/201 with cut-off JSON
    secondary  answer 403 (or ``status``=429) secondary limit, with ``retry_after`` if set
    primary    exhaust the token's budget (reset in ``reset_in`` s) and answer the 403
    connect    raise ``httpx.ConnectError`` before applying anything (connection reset)
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    status: int = 500
    retry_after: int | None = None
    reset_in: int = 600
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method:
            return False
        return not self.path or re.search(self.path, path) is not None


def take(faults: list[Fault], method: str, path: str) -> Fault | None:
    """The first fault matching the request, used up once (removed after its last time)."""
    fault = next((f for f in faults if f.matches(method, path)), None)
    if fault is not None:
        fault.times -= 1
        if fault.times <= 0:
            faults.remove(fault)
    return fault


def exhaust(fake: FakeGitHub, fault: Fault | None, budget: Budget) -> None:
    """A ``primary`` fault spends the token's whole budget until ``reset_in`` s from now."""
    if fault is not None and fault.kind == "primary":
        budget.remaining = 0
        budget.reset = int(fake.clock()) + fault.reset_in


def before(fake: FakeGitHub, fault: Fault, token: str | None) -> httpx.Response | None:
    """The answer of a fault that strikes before the request is applied, if it is one."""
    if fault.kind == "connect":
        raise httpx.ConnectError("connection reset by peer")
    if fault.kind == "status":
        return json_response(fake, fault.status, {"message": "Server Error"}, token=token)
    if fault.kind == "html":
        page = b"<!DOCTYPE html><html><body><h1>Unicorn!</h1></body></html>"
        response = httpx.Response(fault.status, content=page, headers={"content-type": "text/html"})
        rate_headers(fake, response, token)
        return response
    if fault.kind == "secondary":
        status = fault.status if fault.status in (403, 429) else 403
        response = json_response(fake, status, err(SECONDARY), token=token)
        if fault.retry_after is not None:
            response.headers["retry-after"] = str(fault.retry_after)
        return response
    return None


def after(fault: Fault | None, response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """What reaches the client of an applied request: lost, cut off, or the answer itself."""
    if fault is not None and fault.kind == "drop":
        raise httpx.ReadTimeout("the answer was lost", request=request)
    if fault is not None and fault.kind == "truncated":
        cut = response.content[: max(len(response.content) // 2, 1)]
        return httpx.Response(response.status_code, content=cut, headers=response.headers)
    return response
