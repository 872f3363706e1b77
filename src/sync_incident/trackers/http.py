"""HTTP plumbing shared by the Bugzilla and GitHub backends: one chain for every request.

Every ``httpx.AsyncClient`` is built in :func:`make_client` (base URL, timeouts, User-Agent,
an :class:`httpx.Auth`, the request log); backends receive the client, so tests hand them one
on a fake transport. A request then goes through one chain of small layers::

    retry(...)                 tenacity: only Transient; quick for refused / DNS; its backoff
     └─ attempt (backend)         with jitter; Retry-After / rate-limit resets honoured up to a cap;
         ├─ send(...)             our own error re-raised, never RetryError; sleep injected
         │    httpx exchange (auth flow included); transport failures translated here,
         │    naming the host and the setting that points at it
         └─ check (backend)   status and body → our error tree (Transient when worth retrying)

Failure classes: connection refused, name resolution and unreachable networks are
:class:`Transient` with ``quick=True`` (one quick retry, a few seconds in all: the server is not
there and waiting will not bring it); timeouts, resets and 5xx keep the whole retry budget.

The request log: when ``SYNC_INCIDENT_REQUEST_LOG=/path`` is set, every request the tool makes
(retries and auth probes included) appends ``METHOD /path STATUS`` to that file. Only the path:
never the query string, where API keys travel on Bugzilla 5.x.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type
from tenacity.wait import wait_base, wait_exponential_jitter

from sync_incident import __version__
from sync_incident.core.errors import ProtocolError, TrackerError, Unavailable
from sync_incident.core.secrets import masked_url

log = logging.getLogger(__name__)

USER_AGENT = f"sync-incident/{__version__} (+https://github.com/sync-incident/sync-incident)"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)
REQUEST_LOG_ENV = "SYNC_INCIDENT_REQUEST_LOG"

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# errnos that mean "nothing is listening there" or "no route": waiting will not help
_NO_SERVER = {errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL}


def public_url(url: str | httpx.URL) -> str:
    """A URL as it may be printed, logged or used as a cache key: no ``user:password@``, and
    no token pasted into its path or query (:func:`~sync_incident.core.secrets.masked_url`)."""
    return masked_url(str(url)).rstrip("/")


@dataclass(frozen=True)
class Endpoint:
    """Who a client talks to, so every failure names the server and the setting to change."""

    name: str  # "Bugzilla", "GitHub"
    base_url: str
    setting: str  # where the URL comes from: "--bugzilla-url, [bugzilla] url or ..."

    @property
    def host(self) -> str:
        url = httpx.URL(self.base_url)
        return f"{url.host}:{url.port}" if url.port else url.host

    @property
    def shown_url(self) -> str:
        return public_url(self.base_url)

    def where(self) -> str:
        return f"{self.name} at {self.host}"


class Transient(Exception):
    """A failure worth retrying; ``final`` is raised when the retries are used up.

    ``retry_after``: the server asked us to wait this long (seconds). ``floor``: no Retry-After,
    but the server is limiting us; wait ``floor``, doubled each time. ``quick``: the server is
    not reachable at all; one quick retry, then give up.
    """

    def __init__(
        self,
        final: TrackerError,
        *,
        retry_after: float | None = None,
        floor: float | None = None,
        quick: bool = False,
    ) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after
        self.floor = floor
        self.quick = quick


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base: float = 1.0  # first backoff, doubled each time, plus up to this much again as jitter
    max_wait: float = 60.0  # cap on one backoff wait
    max_retry_after: float = 900.0  # the longest wait a server may ask; longer: give up now
    total: float = 300.0  # cap on all waits of one call
    quick_attempts: int = 2  # refused / DNS / unreachable: one quick retry
    quick_wait: float = 1.0


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


# ---------------------------------------------------------------------- building clients


class RequestLog(httpx.AsyncBaseTransport):
    """Wraps a transport; appends ``METHOD /path STATUS`` per request (``-`` when none came)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: Path) -> None:
        self._inner = inner
        self._path = path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        status = "-"
        try:
            response = await self._inner.handle_async_request(request)
            status = str(response.status_code)
            return response
        finally:
            self._write(f"{request.method} {request.url.path} {status}\n")

    def _write(self, line: str) -> None:
        try:
            with self._path.open("a", encoding="utf-8") as handle:
                handle.write(line)
        except OSError as exc:  # a log we cannot write must not break the command
            log.debug("request log %s not written: %s", self._path, exc.strerror)

    async def aclose(self) -> None:
        await self._inner.aclose()


def make_client(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    auth: httpx.Auth | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The one place an HTTP client is built."""
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    all_headers.update(headers or {})
    log_path = os.environ.get(REQUEST_LOG_ENV, "").strip()
    if log_path:
        transport = RequestLog(transport or httpx.AsyncHTTPTransport(), Path(log_path))
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers=all_headers,
        auth=auth,
        timeout=timeout,
        transport=transport,
        follow_redirects=False,
        event_hooks={"request": [_count_request]},
    )


# Requests counted per operation: a tracker wraps one public call in ``counting()`` and reads
# the box afterwards. A context variable, so concurrent calls (and the tasks a call gathers)
# each count their own requests, auth probes included.
_COUNTERS: ContextVar[tuple[list[int], ...]] = ContextVar("sync_incident_counters", default=())


async def _count_request(request: httpx.Request) -> None:
    for box in _COUNTERS.get():
        box[0] += 1


@contextmanager
def counting() -> Iterator[list[int]]:
    """``with counting() as n:`` ... ``n[0]`` is the number of requests sent meanwhile."""
    box = [0]
    token = _COUNTERS.set((*_COUNTERS.get(), box))
    try:
        yield box
    finally:
        _COUNTERS.reset(token)


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>``; the token never appears in a repr."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "BearerAuth(token=[REDACTED])"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


# ---------------------------------------------------------------------- sending


def _cause(exc: BaseException) -> str | None:
    """``refused``, ``dns`` or ``unreachable`` when the exception chain says so, else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "dns"
        if isinstance(current, ConnectionRefusedError):
            return "refused"
        if isinstance(current, OSError) and current.errno in _NO_SERVER:
            return "unreachable"
        current = current.__cause__ or current.__context__
    return None


def translate(exc: httpx.HTTPError, endpoint: Endpoint, what: str) -> TrackerError | Transient:
    """A transport failure as our error, naming the server; never the URL (keys travel there)."""
    where = endpoint.where()
    check = f"check the {endpoint.name} URL ({endpoint.setting}); it is {endpoint.shown_url}"
    cause = _cause(exc)
    if isinstance(exc, httpx.ConnectError) and cause == "dns":
        message = f"cannot find {endpoint.name}: the name {endpoint.host} does not resolve ({what})"
        return Transient(Unavailable(message, hint=check + ", or the network is down"), quick=True)
    if isinstance(exc, httpx.ConnectError) and cause is not None:
        reason = "connection refused" if cause == "refused" else "network unreachable"
        message = f"cannot connect to {where}: {reason} ({what})"
        return Transient(Unavailable(message, hint="is the server up? " + check), quick=True)
    if isinstance(exc, httpx.TimeoutException):
        name = type(exc).__name__
        return Transient(Unavailable(f"{where}: {what} timed out ({name})", hint=check))
    if isinstance(exc, httpx.TransportError):
        name = type(exc).__name__
        return Transient(Unavailable(f"{where}: {what}: connection failed ({name})", hint=check))
    return ProtocolError(f"{where}: {what}: request failed ({type(exc).__name__})")


def absolute(
    client: httpx.AsyncClient, url: str, params: dict[str, str] | None
) -> tuple[str, dict[str, str] | None]:
    """``url`` on the client's base URL with ``params`` encoded in, as httpx would build it.

    Every change to an ``httpx.URL`` parses it again; joining the base URL and then merging
    the parameters cost two parses per request, a tenth of a poll's CPU. A URL that already
    has a query (a pagination link) keeps httpx's merge, which lets ``params`` override it.
    """
    if "?" in url:
        return url, params
    if params:
        url = f"{url}?{httpx.QueryParams(params)}"
    if url.startswith("/"):
        url = str(client.base_url).rstrip("/") + url  # httpx's join: the base path, then ours
    return url, None


async def send(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    json: object = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """One exchange (the client's auth flow included); transport failures translated."""
    failure: TrackerError | Transient | None = None
    target, query = absolute(client, url, params)
    try:
        return await client.request(method, target, params=query, json=json, headers=headers)
    except httpx.HTTPError as exc:
        failure = translate(exc, endpoint, f"{method} {httpx.URL(url).path or url}")
    # raised outside the except block: no httpx exception (whose text may carry the URL, and
    # with it a key) hangs on as __context__
    raise failure


# ---------------------------------------------------------------------- retrying


async def _real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class wait_server(wait_base):
    """The wait a :class:`Transient` asks for: one quick retry for a server that is not there,
    ``Retry-After`` (or a rate-limit reset) as the server said, a rate-limit floor doubled each
    time; anything else waits ``fallback`` (exponential with jitter)."""

    def __init__(self, fallback: wait_base, *, quick: float) -> None:
        self.fallback, self.quick = fallback, quick

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, Transient):
            if exc.quick:
                return self.quick
            if exc.retry_after is not None:
                return exc.retry_after
            if exc.floor is not None:
                return float(exc.floor * 2 ** (retry_state.attempt_number - 1))
        return float(self.fallback(retry_state))


def waits(policy: RetryPolicy) -> wait_server:
    """The policy's waits: tenacity's exponential backoff with jitter, unless the server asks."""
    backoff = wait_exponential_jitter(
        multiplier=policy.base, max=policy.max_wait, jitter=policy.base
    )
    return wait_server(backoff, quick=policy.quick_wait)


async def retry(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Sleep | None = None,
    describe: Callable[[str], str] = str,
) -> T:
    """Run ``fn``; retry on :class:`Transient`; raise its ``final`` error when giving up.

    ``describe`` turns a log line into what may be printed (redaction). Giving up: the
    attempts are used up (two for a server that is not there), the server asks for a longer
    wait than ``max_retry_after``, or the next wait would take the waits past ``total``.
    """
    wait = waits(policy)
    waited = 0.0

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, Transient):
            return True
        if exc.quick:
            return state.attempt_number >= policy.quick_attempts
        if exc.retry_after is not None and exc.retry_after > policy.max_retry_after:
            return True
        return state.attempt_number >= policy.attempts or waited + wait(state) > policy.total

    async def counted_sleep(seconds: float) -> None:
        nonlocal waited
        waited += seconds
        await (sleep or _real_sleep)(seconds)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(describe(f"{exc}; retrying in {state.upcoming_sleep:.0f} s"))

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Transient),
        wait=wait,
        stop=stop,
        sleep=counted_sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await fn()
    except Transient as exc:
        raise exc.final from None
    raise AssertionError("unreachable")  # pragma: no cover - tenacity returns or raises


async def once(fn: Callable[[], Awaitable[T]]) -> T:
    """Run ``fn`` without retrying; a :class:`Transient` becomes its ``final`` error."""
    try:
        return await fn()
    except Transient as exc:
        raise exc.final from None
