"""Serve any fake's ``handler`` over a real loopback socket, with faults injected in front.

The fakes (``FakeBugzilla``, ``FakeGitHub``) answer ``httpx.Request`` objects in memory. This
module puts one of them behind a real ``ThreadingHTTPServer`` on ``127.0.0.1`` (ephemeral port)
so the code under test runs on httpx's real transport: real sockets, real timeouts, real
connection pooling and real connection errors::

    with LoopbackServer() as server:
        fake = FakeGitHub(server.url)           # the fake must know its own base URL
        server.handler = fake.handler
        server.faults.append(ServerFault(("drop_after", "reset_before"), method="POST",
                                         probability=0.2))
        ...  # point a tracker at server.url
        server.count("POST")                     # requests seen on the socket, faulted or not

What the fault layer can do to one request (``FaultKind``):

==================  ==========================================================================
``drop_after``      the fake handles it (a write is stored), then the socket is closed with no
                    answer at all (the client sees "server disconnected")
``reset_before``    the connection is reset (RST, ``SO_LINGER`` 0) before the fake sees it
``reset_after``     the fake handles it, then the connection is reset
``stall_before``    nothing is answered for ``stall`` seconds (past the client's timeout), then
                    the socket is closed; the fake never sees the request
``stall_after``     the fake handles it, then the answer is withheld the same way
``status_before``   an HTML error page with ``status`` (500/502/503); nothing stored
``status_after``    the fake handles it (a write is stored), then ``status`` is answered
``rate_429``        429 with an HTML page, with ``Retry-After: retry_after`` when set
``html``            an HTML page with ``status`` from a proxy in front (default 502)
``truncated``       the fake handles it; its body is cut in half (a well-formed HTTP answer
                    whose JSON is cut off)
``bugzilla_error``  HTTP 200 with ``{"error": true, "code": 100500, ...}``; nothing stored
==================  ==========================================================================

Faults are chosen per request: the first :class:`ServerFault` whose method and path match and
whose probability draw (a seeded :class:`random.Random`) succeeds fires; a fault with several
kinds picks one with the same generator. ``latency`` adds a delay to every request (for the
benchmarks). Every request is counted in :attr:`LoopbackServer.hits` at the socket layer.

Shutdown is clean (every socket closed, every thread joined), so pytest's
``filterwarnings = error`` sees no ResourceWarning. Nothing is logged: request lines can carry
API keys in their query strings. Kept free of pytest so ``bench/`` can import it.
"""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx

Handler = Callable[[httpx.Request], httpx.Response]
FaultKind = Literal[
    "drop_after",
    "reset_before",
    "reset_after",
    "stall_before",
    "stall_after",
    "status_before",
    "status_after",
    "rate_429",
    "html",
    "truncated",
    "bugzilla_error",
]
# Faults after which the client cannot know whether a write was stored.
AMBIGUOUS: tuple[FaultKind, ...] = (
    "drop_after",
    "reset_before",
    "reset_after",
    "stall_before",
    "stall_after",
    "status_before",
    "status_after",
)
# Faults that strike before the fake sees the request (the others strike after it answered).
_BEFORE: tuple[FaultKind, ...] = (
    "reset_before",
    "stall_before",
    "status_before",
    "html",
    "rate_429",
    "bugzilla_error",
)
_HOP_BY_HOP = {
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "content-encoding",
}


@dataclass
class ServerFault:
    """One fault rule; ``kind`` may be a tuple of kinds (one is drawn when the rule fires)."""

    kind: FaultKind | tuple[FaultKind, ...]
    method: str | None = None  # None matches any method
    path: str | None = None  # regex searched in the path (without the query); None = any
    probability: float = 1.0
    times: int | None = None  # how many times it may fire; None = unlimited
    status: int | None = None  # status_*: 500/502/503 drawn when None; html: 502
    retry_after: str | None = None  # rate_429 only
    stall: float = 2.0  # seconds a stall withholds the answer (cut short by shutdown)
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class Hit:
    """One request as seen on the socket."""

    method: str
    path: str
    query: str
    fault: FaultKind | None
    status: int | None  # None when no answer was sent
    at: float = field(default_factory=time.monotonic)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # joined on close: no thread outlives the server
    request_queue_size = 512  # the default backlog of 5 drops SYNs under a concurrent poll
    block_on_close = True
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (timeout) or a reset we caused: expected, and never printed
        self.owner.errors += 1


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    server: _Server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every answer
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a request line can carry an API key in its query string."""

    def do_GET(self) -> None:
        self.server.owner._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET


class LoopbackServer:
    """A fake's handler on ``http://127.0.0.1:PORT`` with a fault-injecting layer in front."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        seed: int = 0,
        latency: float = 0.0,
    ) -> None:
        self.handler = handler
        self.faults: list[ServerFault] = []
        self.latency = latency
        self.rng = random.Random(seed)
        self.hits: list[Hit] = []
        self.errors = 0
        self._lock = threading.Lock()  # the fakes are not thread-safe
        self._stats = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop serving, unblock every connection thread, close every socket, join threads."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._httpd.shutdown()
        with self._stats:
            conns = list(self._conns)
        for conn in conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the connection threads (block_on_close)
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ counters

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Requests seen on the socket, filtered by method and a path regex."""
        with self._stats:
            hits = list(self.hits)
        return sum(
            1
            for h in hits
            if (method is None or h.method == method)
            and (path is None or re.search(path, h.path) is not None)
        )

    def fault_counts(self) -> dict[str, int]:
        with self._stats:
            hits = list(self.hits)
        out: dict[str, int] = {}
        for hit in hits:
            if hit.fault is not None:
                out[hit.fault] = out.get(hit.fault, 0) + 1
        return out

    def reset_counts(self) -> None:
        with self._stats:
            self.hits.clear()

    # ------------------------------------------------------------------ serving

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._stats:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _choose(self, method: str, path: str) -> tuple[ServerFault | None, FaultKind | None]:
        with self._stats:
            for fault in self.faults:
                if not fault.matches(method, path):
                    continue
                if fault.probability < 1.0 and self.rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                kinds = fault.kind if isinstance(fault.kind, tuple) else (fault.kind,)
                return fault, kinds[0] if len(kinds) == 1 else self.rng.choice(kinds)
        return None, None

    def _status(self, fault: ServerFault, default: int | None = None) -> int:
        if fault.status is not None:
            return fault.status
        if default is not None:
            return default
        with self._stats:
            return self.rng.choice((500, 502, 503))

    def _serve(self, rh: _RequestHandler) -> None:
        length = int(rh.headers.get("Content-Length") or 0)
        body = rh.rfile.read(length) if length else b""
        method = rh.command
        path, _, query = rh.path.partition("?")
        hit = Hit(method, path, query, None, None)
        with self._stats:
            self.hits.append(hit)
        if self.latency:
            time.sleep(self.latency)
        fault, kind = self._choose(method, path)
        hit.fault = kind
        if fault is None or kind is None:
            self._answer(rh, hit, self._call(rh, method, body))
        elif kind in _BEFORE:
            self._fault_before(rh, hit, fault, kind)
        else:  # the fake handles it (a write is stored), then the fault strikes
            self._fault_after(rh, hit, fault, kind, self._call(rh, method, body))

    def _fault_before(
        self, rh: _RequestHandler, hit: Hit, fault: ServerFault, kind: FaultKind
    ) -> None:
        """A fault that strikes before the fake sees the request."""
        if kind == "reset_before":
            self._reset(rh)
        elif kind == "stall_before":
            self._stall(rh, fault)
        elif kind in ("status_before", "html"):
            status = self._status(fault, 502 if kind == "html" else None)
            self._answer(rh, hit, _html(status, f"{status} Error"))
        elif kind == "rate_429":
            response = _html(429, "Too Many Requests")
            if fault.retry_after is not None:
                response.headers["Retry-After"] = fault.retry_after
            self._answer(rh, hit, response)
        elif kind == "bugzilla_error":
            self._answer(rh, hit, _bugzilla_crash())

    def _fault_after(
        self,
        rh: _RequestHandler,
        hit: Hit,
        fault: ServerFault,
        kind: FaultKind,
        response: httpx.Response,
    ) -> None:
        """A fault that strikes once the fake has handled the request."""
        if kind == "drop_after":
            rh.close_connection = True  # FIN without an answer
        elif kind == "reset_after":
            self._reset(rh)
        elif kind == "stall_after":
            self._stall(rh, fault)
        elif kind == "status_after":
            self._answer(rh, hit, _html(self._status(fault), "Server Error"))
        elif kind == "truncated":
            cut = response.content[: max(len(response.content) // 2, 1)]
            self._answer(rh, hit, httpx.Response(200, content=cut, headers=response.headers))

    def _call(self, rh: _RequestHandler, method: str, body: bytes) -> httpx.Response:
        if self.handler is None:
            return httpx.Response(503, text="no handler installed")
        request = httpx.Request(
            method,
            self.url + rh.path,
            headers=[(k, v) for k, v in rh.headers.items() if k.lower() != "content-length"],
            content=body,
        )
        with self._lock:
            try:
                response = self.handler(request)
            except httpx.TransportError:
                # the in-memory fakes simulate network faults by raising; on a socket that is
                # a connection closed without an answer
                response = httpx.Response(599)
        response.read()
        return response

    def _answer(self, rh: _RequestHandler, hit: Hit, response: httpx.Response) -> None:
        if response.status_code == 599:
            rh.close_connection = True
            return
        content = b"" if response.status_code in (204, 304) else response.content
        rh.send_response_only(response.status_code)
        for name, value in response.headers.multi_items():
            if name.lower() not in _HOP_BY_HOP:
                rh.send_header(name, value)
        if response.status_code not in (204, 304):
            rh.send_header("Content-Length", str(len(content)))
        rh.end_headers()
        if content and rh.command != "HEAD":
            rh.wfile.write(content)
        hit.status = response.status_code

    def _reset(self, rh: _RequestHandler) -> None:
        """Abortive close: SO_LINGER 0 makes the kernel send RST instead of FIN."""
        rh.close_connection = True
        conn = rh.connection
        with suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rh.rfile.close()  # drop the makefile reference so close() really closes (and resets)
        conn.close()

    def _stall(self, rh: _RequestHandler, fault: ServerFault) -> None:
        self._stop.wait(fault.stall)  # cut short by close(): shutdown never waits on a stall
        rh.close_connection = True


def _html(status: int, title: str) -> httpx.Response:
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return httpx.Response(status, text=page, headers={"Content-Type": "text/html; charset=UTF-8"})


def _bugzilla_crash() -> httpx.Response:
    data = {
        "error": True,
        "code": 100500,
        "message": "Not a HASH reference at Bugzilla/Bug.pm line 2492.\n",
        "documentation": "https://bugzilla.readthedocs.org/en/5.0/api/",
    }
    return httpx.Response(
        200, content=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )


class TimeoutTransport(httpx.AsyncBaseTransport):
    """httpx's real transport with every request's timeouts forced to ``seconds``.

    For code that builds its own client with the default (long) timeouts, e.g. the CLI: pass
    this as the tracker's transport and a stall costs ``seconds``, not 20 s.
    """

    def __init__(self, seconds: float) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._timeout = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions = {**request.extensions, "timeout": dict(self._timeout)}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextmanager
def serve(
    handler: Handler | None = None, *, seed: int = 0, latency: float = 0.0
) -> Iterator[LoopbackServer]:
    """``with serve(fake.handler) as server:`` — a started server, closed on exit."""
    server = LoopbackServer(handler, seed=seed, latency=latency)
    try:
        yield server
    finally:
        server.close()
