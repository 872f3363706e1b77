"""GitHub's transport: the REST API 2022-11-28 (and GraphQL for edit history), answers as errors.

Requests go through the one chain of :mod:`sync_incident.trackers.http`. Here, what GitHub's
answers mean:

- rate limits come as 403 or 429: ``retry-after`` is honoured; else, with
  ``x-ratelimit-remaining: 0``, we wait until ``x-ratelimit-reset`` (by the server's clock);
  else (a secondary limit) at least a minute, doubled each time. All of it is one retry loop,
  with the longest wait capped: beyond it the command fails at once, saying when to try again;
- 5xx and unreadable answers are retried; 401 is an auth error, 403 access denied, 404/410 not
  found, 422 a rejection with GitHub's own words — none of them retried;
- writes are serialised with at least ``min_write_interval`` between them (secondary limits);
- a ``Link: rel="next"`` to another host is refused: the token never travels elsewhere.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    NotFound,
    ProtocolError,
    RateLimited,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.redaction import Redactor
from sync_incident.trackers.http import (
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

T = TypeVar("T")
DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
SETTING = "--github-api-url, [github] api_url or SYNC_INCIDENT_GITHUB__API_URL"
SECONDARY_MIN_WAIT = 60.0
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}


def next_link(response: httpx.Response) -> str | None:
    """The ``rel="next"`` URL of the response's Link header (httpx parses it), as sent."""
    return response.links.get("next", {}).get("url")


def graphql_url(api_url: str) -> str:
    """``https://api.github.com/graphql``; Enterprise Server: ``https://HOST/api/graphql``."""
    base = api_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


class GitHubClient:
    """Requests to one GitHub API through the shared chain, with GitHub's meaning of answers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str | None,
        sleep: Sleep,
        clock: Callable[[], float] = time.monotonic,
        policy: RetryPolicy = RetryPolicy(base=2.0, max_wait=120.0, total=1200.0),
        min_write_interval: float = 1.0,
    ) -> None:
        self.http = http
        self.base = public_url(http.base_url)
        self.endpoint = Endpoint("GitHub", self.base, SETTING)
        self.redact = Redactor([token])
        self.has_token = bool(token)
        self._sleep = sleep
        self._clock = clock
        self._policy = policy
        self._min_write_interval = min_write_interval
        self._last_write: float | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.requests = 0  # every exchange, retries included (for benchmarks and tests)
        self.rate_remaining: int | None = None
        self.rate_reset: int | None = None
        http.event_hooks["request"].append(self._count)

    async def _count(self, request: httpx.Request) -> None:
        self.requests += 1

    async def aclose(self) -> None:
        await self.http.aclose()

    # ------------------------------------------------------------------ the chain

    async def retrying(self, fn: Callable[[], Awaitable[T]]) -> T:
        return await retry(fn, policy=self._policy, sleep=self._sleep, describe=self.redact)

    async def attempt(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        body: object = None,
        etag: str | None = None,
    ) -> tuple[httpx.Response, Any]:
        """One exchange: (the response, its JSON or None); Transient when worth retrying."""
        headers = {"If-None-Match": etag} if etag else None
        response = await send(
            self.http, self.endpoint, method, url, params=params, json=body, headers=headers
        )
        self._note_rate(response)
        path = httpx.URL(url).path or url
        if response.status_code == 304:
            return response, None
        if not response.is_success:
            raise self._error(response, method, path)
        if not response.content:
            return response, None
        try:
            return response, response.json()
        except ValueError:
            # an HTML error page or a truncated answer: worth another try
            what = f"{self.endpoint.where()} sent an unreadable answer to {method} {path}"
            raise Transient(ProtocolError(self.redact(what))) from None

    async def get(
        self, url: str, *, params: dict[str, str] | None = None, etag: str | None = None
    ) -> tuple[httpx.Response, Any]:
        """A read, retried on network errors, timeouts, 5xx, rate limits, unreadable answers."""
        return await self.retrying(lambda: self.attempt("GET", url, params=params, etag=etag))

    async def get_json(self, url: str, *, params: dict[str, str] | None = None) -> Any:
        return (await self.get(url, params=params))[1]

    async def paginate(
        self, path: str, *, params: dict[str, str] | None = None, etag: str | None = None
    ) -> tuple[httpx.Response, AsyncIterator[Any]]:
        """The first page's response, and every page's body, following ``Link: rel="next"``.

        The caller looks at the first response (a 304, its ETag) before it reads on; later
        pages are fetched as the bodies are iterated, from our own host only.
        """
        response, page = await self.get(path, params=params, etag=etag)
        return response, self._follow(response, page)

    async def _follow(self, response: httpx.Response, page: Any) -> AsyncIterator[Any]:
        while True:
            yield page
            url = next_link(response)
            if url is None:
                return
            response, page = await self.get(self.same_host(url))

    async def pages(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paginated list, following ``Link: rel="next"`` exactly."""
        _, bodies = await self.paginate(path, params=params)
        async for page in bodies:
            for item in page if isinstance(page, list) else []:
                if isinstance(item, dict):
                    yield item

    def same_host(self, url: str) -> str:
        """``url`` when it is on our API; the token must never travel to another host."""
        if not url.startswith(self.base + "/"):
            host = httpx.URL(url).host or url
            raise ProtocolError(
                self.redact(
                    f"{self.endpoint.where()} sent a next-page link to another host: {host}"
                ),
                hint="a proxy or server in between rewrote GitHub's Link header; the request "
                f"was not sent (the token stays on {self.endpoint.host})",
            )
        return url

    async def write(self, method: str, path: str, body: object) -> Any:
        """One write attempt, spaced from the last; Transient means it may have been stored."""
        async with self._guard():
            if self._last_write is not None:
                wait = self._last_write + self._min_write_interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            try:
                return (await self.attempt(method, path, body=body))[1]
            finally:
                self._last_write = self._clock()

    async def write_once(self, method: str, path: str, body: object) -> Any:
        """A write that must not be repeated blindly: Transient becomes its error."""
        return await once(lambda: self.write(method, path, body))

    async def write_idempotent(self, method: str, path: str, body: object) -> Any:
        """A mirror write (label, assignee, body): repeating it is harmless, so retry it."""
        return await self.retrying(lambda: self.write(method, path, body))

    def _guard(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    # ------------------------------------------------------------------ what answers mean

    def _note_rate(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is not None and remaining.isdigit():
            self.rate_remaining = int(remaining)
        if reset is not None and reset.isdigit():
            self.rate_reset = int(reset)

    def _error(self, response: httpx.Response, method: str, path: str) -> TrackerError | Transient:
        status = response.status_code
        message = _message(response)
        where = f"{method} {path}"
        if status in (403, 429):
            limited = self._rate_limited(response, message)
            if limited is not None:
                return limited
        if status >= 500:
            text = f"{self.endpoint.where()} answered {status} to {where}"
            return Transient(Unavailable(self.redact(text)))
        if status == 401:
            return AuthError(
                self.redact(f"GitHub rejected the token ({status} {message or 'unauthorized'})"),
                hint="check SYNC_INCIDENT_GITHUB_TOKEN / GITHUB_TOKEN / GH_TOKEN",
            )
        if status == 403:
            return AccessDenied(self.redact(f"GitHub refused {where}: {message or 'forbidden'}"))
        if status in (404, 410):
            return NotFound(self.redact(f"GitHub has no {path} ({status} {message})".rstrip()))
        detail = message or response.reason_phrase
        errors = _validation_errors(response)
        if errors:
            detail = f"{detail}: {errors}"
        return Rejected(self.redact(f"GitHub rejected {where} ({status}): {detail}"))

    def _rate_limited(self, response: httpx.Response, message: str) -> Transient | None:
        """A rate-limit refusal as a Transient carrying how long to wait; None otherwise."""
        hint = "wait and try again; a workflow's GITHUB_TOKEN has 1,000 requests per hour"
        now = _server_now(response)
        wait = parse_retry_after(
            response.headers.get("retry-after"), now=datetime.fromtimestamp(now, UTC)
        )
        if wait is not None:
            text = f"GitHub's secondary rate limit asks us to wait {wait:.0f} s"
            return Transient(RateLimited(text, retry_after=wait, hint=hint), retry_after=wait)
        reset = response.headers.get("x-ratelimit-reset", "")
        if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
            wait = max(int(reset) - now, 0.0) + 1.0
            when = datetime.fromtimestamp(now + wait, UTC)
            text = (
                f"GitHub's API rate limit for this token is used up; it resets at "
                f"{when:%H:%M:%S} UTC (in {wait / 60:.0f} min)"
            )
            return Transient(RateLimited(text, retry_after=wait, hint=hint), retry_after=wait)
        if response.status_code == 429 or "secondary rate limit" in message.lower():
            text = "GitHub's secondary rate limit asks us to slow down"
            return Transient(RateLimited(text, hint=hint), floor=SECONDARY_MIN_WAIT)
        return None


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def _validation_errors(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return ""
    parts = []
    for err in data["errors"]:
        if isinstance(err, dict):
            keys = ("resource", "field", "code", "message")
            parts.append("/".join(str(err.get(k)) for k in keys if err.get(k)))
        else:
            parts.append(str(err))
    return "; ".join(parts)


def _server_now(response: httpx.Response) -> float:
    """The server's Date: keeps the reset computation immune to our clock skew."""
    date = response.headers.get("date")
    if date:
        try:
            return parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()
