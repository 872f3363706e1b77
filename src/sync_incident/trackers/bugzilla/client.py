"""Bugzilla's transport: where the API key goes, and what an answer means.

- :class:`BugzillaAuth` (an :class:`httpx.Auth`) puts the key where this server reads it: the
  ``X-BUGZILLA-API-KEY`` header (BMO, upstream 5.1+/master), the ``Bugzilla_api_key``
  parameter (upstream 5.0/5.2, which silently ignore the header: query string on GET, JSON
  body on writes), ``Authorization: Bearer`` (Red Hat), or both header and parameter when the
  version says nothing. The version comes from a ``/rest/version`` answer (remembered for a
  day; BMO is known by its name): a read never asks it (while it is unknown the key goes both
  ways, which every server reads); a write asks it first. Without a key it asks nothing.
- :class:`BugzillaClient` sends through the one chain of :mod:`sync_incident.trackers.http` and
  turns answers into our errors: ``{"error": true, "code": N}`` even inside a 200 (code
  100500), HTML 429/5xx pages, plain-text 414. Auth errors (300–307, 410) are never retried.

The key travels in URLs on 5.x: a logging filter scrubs it from httpx's own request lines and
every message passes a :class:`~sync_incident.logs.Redactor` before it is raised.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import httpx

from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    CommentTooLong,
    NotFound,
    ProtocolError,
    RateLimited,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.redaction import RedactingFilter, Redactor
from sync_incident.trackers.http import (
    USER_AGENT,
    Endpoint,
    RetryPolicy,
    Sleep,
    Transient,
    once,
    parse_retry_after,
    public_url,
    retry,
    send,
)
from sync_incident.trackers.memory import ServerMemory

log = logging.getLogger(__name__)

T = TypeVar("T")
AuthStyle = Literal["auto", "header", "param", "bearer"]
Resolved = Literal["header", "param", "bearer", "both"]
SETTING = "--bugzilla-url, [bugzilla] url or SYNC_INCIDENT_BUGZILLA__URL"
RATE_LIMIT_FLOOR = 60.0  # BMO sends no Retry-After on 429: wait minutes, not seconds
KEY_HINT = (
    "check SYNC_INCIDENT_BUGZILLA_API_KEY: the key may be mistyped or revoked "
    "(create one under Preferences → API Keys)"
)
AUTH_CODES = {*range(300, 308), 410, 505}  # 505: anonymous callers may not match users
ACCESS_CODES = {102, 106, 113, 115, 120}
FIELD_DENIED = 115  # "only the assignee or reporter ... may change that field"


def auth_style_for(version: str) -> Resolved:
    """How a server of this version reads the API key.

    Upstream 5.0.x and 5.2 only read the parameter and silently ignore the header; BMO
    (``20240101.1``) and upstream 5.1/5.3+/master read the header; anything we cannot parse
    gets both, so we are never silently anonymous.
    """
    v = version.strip()
    if re.fullmatch(r"\d{8}(\.\d+)*", v):
        return "header"
    match = re.match(r"(\d+)\.(\d+)", v)
    if not match:
        return "both"
    major, minor = int(match[1]), int(match[2])
    if major < 5 or (major, minor) in ((5, 0), (5, 2)):
        return "param"
    return "header"


def is_bmo(version: str | None) -> bool:
    return bool(version and re.fullmatch(r"\d{8}(\.\d+)*", version))


# bugzilla.mozilla.org and its staging copies: BMO by their name, before any version is known
BMO_HOSTS = frozenset({"bugzilla.mozilla.org", "bugzilla.allizom.org", "bugzilla-dev.allizom.org"})


def is_bmo_host(base_url: str) -> bool:
    return httpx.URL(base_url).host in BMO_HOSTS


class RouteMissing(NotFound):
    """Code 32614: the server has no such REST resource (e.g. /rest/whoami on 5.0/5.2)."""


class FieldDenied(AccessDenied):
    """Code 115: this account may not change that field of this bug (no editbugs)."""


class BugzillaAuth(httpx.Auth):
    """The API key, put where this server reads it; the server's version asked once."""

    requires_request_body = True

    def __init__(self, key: str, style: AuthStyle, memory: ServerMemory, base_url: str) -> None:
        self._key = key
        self._style = style
        self._memory = memory
        self._base = httpx.URL(base_url.rstrip("/") + "/")
        self.version: str | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"BugzillaAuth(style={self._style!r}, key=[REDACTED])"

    def resolved(self) -> Resolved | None:
        """Where the key goes, if known without asking the server (BMO is known by name)."""
        if self._style != "auto":
            return self._style
        if self.version is None:
            self.version = self._memory.version()
        if self.version is None:
            return "header" if self._base.host in BMO_HOSTS else None
        return auth_style_for(self.version)

    def _guard(self) -> asyncio.Lock:
        # one probe at a time, even when a read sends the comments and the bug concurrently
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if request.url.path.endswith("/rest/version"):
            answer = yield request  # needs no key, and its answer is what the probe would ask
            await answer.aread()
            self._learn_version(answer)
            return
        style = self.resolved()
        if style is None and request.method == "GET":
            # The version is not known: a read does not ask it (a request more, and on a CGI
            # server a process more). It carries the key both ways: 5.0/5.2 read the
            # parameter, every other server the header. A write asks it first (below).
            style = "both"
        if style is None:  # a write: the key exactly where this server reads it
            async with self._guard():
                style = self.resolved()
                if style is None:
                    probe = httpx.Request(
                        "GET",
                        self._base.join("rest/version"),
                        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                    )
                    answer = yield probe
                    await answer.aread()
                    style = auth_style_for(self._learn_version(answer))
        yield self._keyed(request, style)

    def sync_auth_flow(self, request: httpx.Request) -> Any:  # pragma: no cover - async only
        raise RuntimeError("BugzillaAuth works with httpx.AsyncClient only")

    def _learn_version(self, answer: httpx.Response) -> str:
        if answer.status_code >= 500:
            where = f"Bugzilla at {self._base.host}"
            raise Transient(Unavailable(f"{where}: GET /rest/version: HTTP {answer.status_code}"))
        try:
            data = answer.json()
        except ValueError:
            data = None
        version = data.get("version") if isinstance(data, dict) else None
        if not isinstance(version, str) or not version:
            return ""  # unknown: the key goes both ways, and we ask again next time
        self.version = version
        self._memory.remember_version(version)
        return version

    def _keyed(self, request: httpx.Request, style: Resolved) -> httpx.Request:
        if style in ("header", "both"):
            request.headers["X-BUGZILLA-API-KEY"] = self._key
        if style == "bearer":
            request.headers["Authorization"] = f"Bearer {self._key}"
        if style not in ("param", "both"):
            return request
        body = request.content
        if request.method in ("GET", "HEAD", "DELETE") or not body:
            request.url = request.url.copy_merge_params({"Bugzilla_api_key": self._key})
            return request
        # writes: in the JSON body, so the key stays out of the server's access log
        payload = json.loads(body)
        payload["Bugzilla_api_key"] = self._key
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        return httpx.Request(
            request.method,
            request.url,
            headers=headers,
            content=json.dumps(payload).encode(),
            extensions=request.extensions,
        )


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    etag: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def object(self, where: str) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise ProtocolError(f"{where}: expected a JSON object")
        return self.data


class BugzillaClient:
    """Requests to one Bugzilla server through the shared chain; answers as :class:`Reply`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        key: str | None,
        sleep: Sleep | None = None,
        policy: RetryPolicy = RetryPolicy(base=2.0, max_wait=300.0, total=900.0),
    ) -> None:
        self.http = http
        self.server = public_url(http.base_url)
        self.endpoint = Endpoint("Bugzilla", self.server, SETTING)
        self.redact = Redactor([key])
        self._sleep = sleep
        self._policy = policy
        self._filter = RedactingFilter([key])
        self._filtering = bool(key)
        if key:
            for name in ("httpx", "httpcore"):
                logging.getLogger(name).addFilter(self._filter)

    async def aclose(self) -> None:
        if self._filtering:
            for name in ("httpx", "httpcore"):
                logging.getLogger(name).removeFilter(self._filter)
            self._filtering = False
        await self.http.aclose()

    async def retrying(self, fn: Callable[[], Awaitable[T]]) -> T:
        """``fn`` (one attempt that may raise :class:`Transient`) under the retry policy."""
        return await retry(fn, policy=self._policy, sleep=self._sleep, describe=self.redact)

    async def get(
        self, path: str, params: dict[str, str] | None = None, *, etag: str | None = None
    ) -> Reply:
        """A read, retried; ``etag`` makes it conditional (a 304 comes back as such)."""
        return await self.retrying(lambda: self.attempt("GET", path, params=params, etag=etag))

    async def write(self, method: str, path: str, body: dict[str, Any]) -> Reply:
        """One write, not retried (no idempotency key exists): Transient becomes its error."""
        return await once(lambda: self.attempt(method, path, body=body))

    async def attempt(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        etag: str | None = None,
    ) -> Reply:
        """One request; failures worth retrying come out as :class:`Transient`."""
        headers = {}
        if etag and method == "GET":  # 5.2 applies a write and then answers 304: never on writes
            headers["If-None-Match"] = etag
        response = await send(
            self.http,
            self.endpoint,
            method,
            path,
            params=params,
            json=body,
            headers=headers,
        )
        return self._check(f"{method} {path}", response)

    def _check(self, what: str, response: httpx.Response) -> Reply:
        status = response.status_code
        etag = response.headers.get("etag")
        if status == 304:
            return Reply(304, None, etag)
        where = f"{self.endpoint.where()}: {what}"
        try:
            data = response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            data = None
        if isinstance(data, dict) and data.get("error"):
            raise self._error(where, status, data)  # also inside a 200 (code 100500)
        if status == 429:
            limited = RateLimited(f"{where}: rate limited (HTTP 429)", hint="poll less often")
            wait = parse_retry_after(response.headers.get("retry-after"))
            raise Transient(limited, retry_after=wait, floor=RATE_LIMIT_FLOOR)
        if status >= 500:
            kind = "an HTML error page" if data is None else "an error"
            raise Transient(Unavailable(f"{where}: server error HTTP {status} ({kind})"))
        if status == 414:
            raise Rejected(f"{where}: the server refused the request URL as too long (HTTP 414)")
        if data is None:
            message = f"{where}: HTTP {status} with a body that is not valid JSON"
            if status >= 400:
                raise ProtocolError(message)
            raise Transient(ProtocolError(message))  # truncated or replaced by a proxy
        if status >= 400:
            raise ProtocolError(f"{where}: HTTP {status} without a Bugzilla error code")
        return Reply(status, data, etag)

    def _error(self, where: str, status: int, data: dict[str, Any]) -> TrackerError | Transient:
        code = data.get("code")
        text = self.redact(str(data.get("message", "")).strip())
        message = f"{where}: Bugzilla error {code}: {text}"
        if code == 101:
            return NotFound(message)
        if code == 32614:
            return RouteMissing(message)
        if code in AUTH_CODES:
            hint = KEY_HINT if code == 306 else "the request ran as anonymous; check the API key"
            return AuthError(message, hint=hint)
        if code == FIELD_DENIED:
            return FieldDenied(message, hint="changing other people's bugs needs editbugs")
        if code in ACCESS_CODES:
            return AccessDenied(message, hint="the account needs access to this bug (editbugs)")
        if code == 114:
            return CommentTooLong(message)
        if code == 100500 or status >= 500:
            return Transient(Unavailable(message))
        return Rejected(message)
