"""HTTP plumbing shared by the Bugzilla and GitHub backends.

Every ``httpx.AsyncClient`` is built in :func:`make_client` (base URL, timeouts, User-Agent);
backends receive the client, so tests hand them one on a fake transport. Retries go through
:func:`retry_call` (tenacity): only what a backend marks :class:`Transient`, exponential
backoff with jitter, ``Retry-After`` honoured up to a cap, a total time cap, and our own
error re-raised, never ``RetryError``. The sleep is injected so tests never wait.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from sync_incident import __version__

USER_AGENT = f"sync-incident/{__version__} (+https://github.com/sync-incident/sync-incident)"
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=10.0)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def make_client(
    base_url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The one place an HTTP client is built."""
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    all_headers.update(headers or {})
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        headers=all_headers,
        timeout=timeout,
        transport=transport,
        follow_redirects=False,
    )


class Transient(Exception):
    """Raised inside a retried call for a failure worth retrying (``retry_after`` in seconds)."""

    def __init__(self, final: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base: float = 1.0  # first backoff, doubled each time
    max_wait: float = 60.0  # cap on one wait (Retry-After included)
    total: float = 300.0  # cap on all waits of one call


async def _real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def retry_call(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Sleep | None = None,
    rng: random.Random | None = None,
) -> T:
    """Run ``fn``; retry on :class:`Transient`; raise its ``final`` error when giving up."""
    jitter = rng or random.Random()
    waited = 0.0

    def wait(state: RetryCallState) -> float:
        nonlocal waited
        exc = state.outcome.exception() if state.outcome else None
        backoff = policy.base * (2 ** (state.attempt_number - 1))
        seconds = backoff + jitter.uniform(0, backoff / 2)
        if isinstance(exc, Transient) and exc.retry_after is not None:
            seconds = max(seconds, exc.retry_after)
        seconds = min(seconds, policy.max_wait)
        waited += seconds
        return float(seconds)

    def stop(state: RetryCallState) -> bool:
        return stop_after_attempt(policy.attempts)(state) or waited >= policy.total

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Transient),
        wait=wait,
        stop=stop,
        sleep=sleep or _real_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                return await fn()
    except Transient as exc:
        raise exc.final from None
    raise AssertionError("unreachable")  # pragma: no cover - tenacity always returns or raises
