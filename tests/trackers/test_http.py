"""The one HTTP chain: building clients, the request log, translating failures, retrying."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from sync_incident.core.errors import ProtocolError, RateLimited, Unavailable
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import FakeBugzilla
from sync_incident.trackers.bugzilla.tracker import build_bugzilla
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.http import (
    REQUEST_LOG_ENV,
    BearerAuth,
    Endpoint,
    RetryPolicy,
    Transient,
    counting,
    make_client,
    parse_retry_after,
    retry,
    send,
)
from tests.trackers.contract import run

KEY = "CANARY-KEY-http-0123456789"
ENDPOINT = Endpoint("Bugzilla", "http://127.0.0.1:9", "--bugzilla-url")


class Sleeps:
    """An injected sleep: records what the chain would wait, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Unresolvable(httpx.AsyncBaseTransport):
    """A resolver that knows no names: what a machine without network or DNS sees."""

    def __init__(self) -> None:
        self.attempts = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        try:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc


def _bugzilla(url: str, sleeps: Sleeps, transport: httpx.AsyncBaseTransport | None = None) -> None:
    cache = Cache(None)
    tracker = build_bugzilla(url, KEY, cache=cache, login="a@example.com", sleep=sleeps)
    if transport is not None:
        tracker = build_bugzilla(
            url, KEY, cache=cache, login="a@example.com", sleep=sleeps, transport=transport
        )

    async def go() -> None:
        try:
            await tracker.fetch(IncidentRef("bugzilla", 123456))
        finally:
            await tracker.aclose()

    try:
        run(go())
    finally:
        cache.close()


# ---------------------------------------------------------------------- failing fast


def test_a_token_pasted_into_the_url_path_is_not_echoed_in_the_hint() -> None:
    port = closed_port()
    pasted = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # not the configured key: unknown to us
    with pytest.raises(Unavailable) as caught:
        _bugzilla(f"http://127.0.0.1:{port}/{pasted}", Sleeps())
    assert pasted not in caught.value.message + caught.value.hint
    assert f"it is http://127.0.0.1:{port}/[REDACTED]" in caught.value.hint


def test_connection_refused_fails_after_one_quick_retry_naming_host_and_setting() -> None:
    port = closed_port()
    sleeps = Sleeps()
    with pytest.raises(Unavailable) as caught:
        _bugzilla(f"http://127.0.0.1:{port}", sleeps)
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "connection refused" in caught.value.message
    assert "--bugzilla-url" in caught.value.hint
    assert "SYNC_INCIDENT_BUGZILLA__URL" in caught.value.hint
    # a cold read sends the comments and the bug side by side: each is retried once, at once
    assert sleeps.waits == [1.0, 1.0]
    assert KEY not in caught.value.message + caught.value.hint


def test_an_unresolvable_name_fails_after_one_quick_retry_naming_host_and_setting() -> None:
    sleeps = Sleeps()
    resolver = Unresolvable()
    with pytest.raises(Unavailable) as caught:
        _bugzilla("https://bugzilla.example.invalid", sleeps, resolver)
    assert "bugzilla.example.invalid" in caught.value.message
    assert "does not resolve" in caught.value.message
    assert "[bugzilla] url" in caught.value.hint
    # the comments and the bug, side by side, each tried twice
    assert resolver.attempts == 4
    assert sleeps.waits == [1.0, 1.0]


def test_without_a_key_the_one_read_fails_fast() -> None:
    sleeps = Sleeps()
    resolver = Unresolvable()
    cache = Cache(None)
    tracker = build_bugzilla(
        "https://bugzilla.example.invalid", None, cache=cache, sleep=sleeps, transport=resolver
    )

    async def go() -> None:
        try:
            await tracker.fetch(IncidentRef("bugzilla", 123456))
        finally:
            await tracker.aclose()

    with pytest.raises(Unavailable, match="does not resolve"):
        run(go())
    cache.close()
    assert resolver.attempts == 2  # the comments alone (no key: the bug is not read), twice
    assert sleeps.waits == [1.0]  # about one second in all


def test_timeouts_keep_the_whole_retry_budget() -> None:
    calls = 0

    def slow(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("timed out", request=request)

    sleeps = Sleeps()

    async def go() -> None:
        async with make_client("https://bz.test", transport=httpx.MockTransport(slow)) as c:
            await retry(
                lambda: send(c, ENDPOINT, "GET", "/rest/bug/1"), policy=RetryPolicy(), sleep=sleeps
            )

    with pytest.raises(Unavailable, match="timed out"):
        run(go())
    assert calls == 5
    assert len(sleeps.waits) == 4
    assert sleeps.waits == sorted(sleeps.waits)  # exponential, with jitter on top


def test_each_retry_is_waited_and_logged_once_then_the_answer_returned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleeps = Sleeps()
    tries = 0

    async def flaky() -> str:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise Transient(Unavailable(f"down {tries}"))
        return "ok"

    with caplog.at_level(logging.WARNING, logger="sync_incident.trackers.http"):
        assert run(retry(flaky, policy=RetryPolicy(), sleep=sleeps)) == "ok"
    assert (tries, len(sleeps.waits)) == (3, 2)
    assert [r.getMessage().split(";")[0] for r in caplog.records] == ["down 1", "down 2"]


def test_a_failure_not_worth_retrying_is_raised_at_the_first_attempt() -> None:
    sleeps = Sleeps()
    tries = 0

    async def refused() -> None:
        nonlocal tries
        tries += 1
        raise ProtocolError("not JSON")

    with pytest.raises(ProtocolError, match="not JSON"):
        run(retry(refused, policy=RetryPolicy(), sleep=sleeps))
    assert (tries, sleeps.waits) == (1, [])


def test_retry_raises_our_error_never_retry_error() -> None:
    async def always() -> None:
        raise Transient(Unavailable("down"))

    with pytest.raises(Unavailable, match="down"):
        run(retry(always, policy=RetryPolicy(attempts=2), sleep=Sleeps()))


def test_a_server_asking_for_a_longer_wait_than_the_cap_fails_at_once() -> None:
    sleeps = Sleeps()

    async def limited() -> None:
        raise Transient(RateLimited("slow down", retry_after=3600), retry_after=3600)

    with pytest.raises(RateLimited):
        run(retry(limited, policy=RetryPolicy(max_retry_after=900), sleep=sleeps))
    assert sleeps.waits == []


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    sleeps = Sleeps()
    tries = 0

    async def limited() -> str:
        nonlocal tries
        tries += 1
        if tries == 1:
            raise Transient(RateLimited("slow down"), retry_after=42)
        return "ok"

    assert run(retry(limited, policy=RetryPolicy(), sleep=sleeps)) == "ok"
    assert sleeps.waits == [42]


def test_backoff_is_tenacitys_exponential_wait_with_jitter_capped() -> None:
    sleeps = Sleeps()

    async def down() -> None:
        raise Transient(Unavailable("down"))

    policy = RetryPolicy(attempts=6, base=2.0, max_wait=10.0, total=1000.0)
    with pytest.raises(Unavailable):
        run(retry(down, policy=policy, sleep=sleeps))
    assert len(sleeps.waits) == 5
    for n, waited in enumerate(sleeps.waits):
        floor = min(2.0 * 2**n, 10.0)
        assert floor <= waited <= min(floor + 2.0, 10.0)


def test_a_rate_limit_floor_doubles_and_the_total_cap_gives_up() -> None:
    sleeps = Sleeps()

    async def limited() -> None:
        raise Transient(RateLimited("secondary rate limit"), floor=60.0)

    with pytest.raises(RateLimited):
        run(retry(limited, policy=RetryPolicy(attempts=10, total=300.0), sleep=sleeps))
    assert sleeps.waits == [60.0, 120.0]  # the next, 240 s, would pass the 300 s in all


@pytest.mark.parametrize(
    ("value", "expected"),
    [("7", 7.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), (None, None), ("", None), ("soon", None)],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    value = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(value, now=now) == 90.0
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now=now) == 0


# ---------------------------------------------------------------------- the request log


def test_the_request_log_has_method_path_and_status_never_the_query(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "requests.log"
    monkeypatch.setenv(REQUEST_LOG_ENV, str(log))
    fake = FakeBugzilla("5.2")
    fake.add_user("a@example.com", KEY)
    bug = fake.add_bug(creator="a@example.com")
    cache = Cache(None)
    tracker = build_bugzilla(
        "https://bz.test/bugzilla",
        KEY,
        cache=cache,
        login="a@example.com",
        transport=httpx.MockTransport(fake.handler),
    )

    async def go() -> None:
        try:
            await tracker.fetch(IncidentRef("bugzilla", bug))
            await tracker.post(IncidentRef("bugzilla", bug), "hello", marker="log-1")
        finally:
            await tracker.aclose()

    run(go())
    cache.close()
    lines = log.read_text().splitlines()
    # the read does not wait for the version (the key goes both ways); the write asks it
    assert sorted(lines[0:2]) == [
        "GET /bugzilla/rest/bug/1 200",
        "GET /bugzilla/rest/bug/1/comment 200",
    ]
    assert "GET /bugzilla/rest/version 200" in lines[2:]
    assert lines[-1] == "POST /bugzilla/rest/bug/1/comment 201"
    assert len(lines) == len(fake.log)
    assert KEY not in log.read_text()
    assert "?" not in log.read_text()


def test_a_request_that_got_no_answer_is_logged_with_a_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "requests.log"
    monkeypatch.setenv(REQUEST_LOG_ENV, str(log))

    async def go() -> None:
        async with make_client("https://x.test", transport=Unresolvable()) as client:
            await send(client, ENDPOINT, "GET", "/a/b?api_key=secret")

    with pytest.raises(Transient):
        run(go())
    assert log.read_text() == "GET /a/b -\n"


# ---------------------------------------------------------------------- building URLs


@pytest.mark.parametrize(
    "base", ["https://bz.test", "https://bz.test/", "https://bz.test/bugzilla/"]
)
@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/rest/bug/1/comment", {"new_since": "2026-11-27T03:50:12Z"}),
        ("/rest/bug", {"whiteboard": "[incident:active]", "a b": "c&d/é"}),
        ("/rest/version", None),
        ("/rest/bug/1", {}),
        ("https://api.test/repos/o/r/issues?page=2&per_page=30", {"per_page": "100"}),
    ],
)
def test_send_requests_the_url_httpx_would_build(
    base: str, url: str, params: dict[str, str] | None
) -> None:
    seen: list[httpx.URL] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={})

    async def go() -> httpx.URL:
        async with make_client(base, transport=httpx.MockTransport(record)) as client:
            await send(client, ENDPOINT, "GET", url, params=params)
            return client.build_request("GET", url, params=params).url

    expected = run(go())
    assert [str(u) for u in seen] == [str(expected)]


# ---------------------------------------------------------------------- counting and auth


def test_requests_are_counted_per_operation_even_when_concurrent() -> None:
    def ok(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    async def go() -> tuple[int, int, int]:
        async with make_client("https://x.test", transport=httpx.MockTransport(ok)) as client:

            async def op(n: int) -> int:
                with counting() as sent:
                    await asyncio.gather(*(client.get("/") for _ in range(n)))
                return sent[0]

            with counting() as outer:
                a, b = await asyncio.gather(op(2), op(3))
            return a, b, outer[0]

    assert run(go()) == (2, 3, 5)


def test_bearer_auth_sets_the_header_and_hides_the_token() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200)

    async def go() -> None:
        auth = BearerAuth(KEY)
        assert KEY not in repr(auth)
        transport = httpx.MockTransport(record)
        async with make_client("https://x.test", auth=auth, transport=transport) as client:
            await client.get("/")

    run(go())
    assert seen == [f"Bearer {KEY}"]


def test_a_failure_never_prints_credentials_in_the_url() -> None:
    sleeps = Sleeps()
    with pytest.raises(Unavailable) as caught:
        _bugzilla(f"http://user:{KEY}@127.0.0.1:{closed_port()}", sleeps)
    assert KEY not in caught.value.message + caught.value.hint
    assert "http://127.0.0.1:" in caught.value.hint
