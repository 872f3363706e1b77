"""One process: the daemon's cycle and the web application, sharing what the daemon knows.

:class:`Server` builds the daemon (polls, reminders, digests, checkpoints: unchanged), the
board over its watches, the lookup of the incidents it does not watch, the pages and the
Starlette app, and runs uvicorn next to the daemon loop on one asyncio event loop.
:meth:`Server.drain` (SIGTERM, SIGINT) stops both gracefully: ``/readyz`` turns 503 and
event streams end, uvicorn stops accepting connections and lets in-flight requests finish
(a webhook's witness post included), the daemon finishes its in-flight reads and writes,
then the process exits 0.

Every tracker client of the process goes through a :class:`~.metrics.CountingTransport`, so
``/metrics`` counts each request on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import uvicorn

from sync_incident.daemon.poller import Daemon
from sync_incident.serve.app import Context, create_app
from sync_incident.serve.board import Board
from sync_incident.serve.lookup import READ_SECONDS, Lookup, configured
from sync_incident.serve.metrics import Meter
from sync_incident.serve.pages import Pages
from sync_incident.serve.webhooks import BodyGate, ReplayStore

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.core.policy import Facts
    from sync_incident.core.refs import IncidentRef
    from sync_incident.core.state import IncidentState
    from sync_incident.service import Session

log = logging.getLogger("sync_incident.serve")
GRACE_SECONDS = 30.0  # in-flight requests get this long after SIGTERM


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: :class:`Server` drains the whole process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Server:
    """The daemon and the web app; ``await run(sock)`` until :meth:`drain`."""

    def __init__(
        self,
        settings: Settings,
        session_factory: Callable[[], Session],
        **daemon_options: Any,
    ) -> None:
        self.settings = settings
        self.meter = Meter()

        def metered() -> Session:
            session = session_factory()
            session.transports = self.meter.wrap(session.transports)
            return session

        resolved_days = settings.serve.resolved_days
        self.daemon = Daemon(settings, metered, resolved_days=resolved_days, **daemon_options)
        self.board = Board(self.daemon, settings.policy, clock=self.daemon.clock)
        session = metered()

        async def read(ref: IncidentRef) -> tuple[IncidentState, Facts]:
            seconds = min(settings.gate.deadline_seconds, READ_SECONDS)
            reading = await session.read_within(ref, seconds)
            return reading.state, reading.facts

        lookup = Lookup(self.board, read, allowed=configured(settings), keep=self.daemon.interval)
        self.daemon.dropped.append(lambda watch: lookup.forget(watch.ref))
        self.ctx = Context(
            settings=settings,
            daemon=self.daemon,
            session=session,
            board=self.board,
            lookup=lookup,
            pages=Pages(
                self.board, events=settings.serve.timeline_events, resolved_days=resolved_days
            ),
            meter=self.meter,
            replays=ReplayStore(settings.serve.replay_window),
            bodies=BodyGate(settings.serve.max_pending_bodies, settings.serve.body_seconds),
        )
        self.app = create_app(self.ctx)
        # the chat bot (README: Chat rooms), when configured: its libraries load only then
        from sync_incident.chat.service import chat_of

        self.chat = chat_of(settings, metered, self.daemon)
        self._chat_stop = asyncio.Event()
        if self.chat is not None:
            self.app.router.routes.extend(self.chat.routes)
        self._uvicorn: _Uvicorn | None = None

    def drain(self) -> None:
        """Stop taking work, finish what is in flight, then :meth:`run` returns."""
        if not self.ctx.draining.is_set():
            log.info("draining", extra={"event": "drain"})
        self.ctx.draining.set()
        self.daemon.stop()
        self._chat_stop.set()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True

    async def run(self, sock: socket.socket) -> int:
        """Serve on ``sock`` (already bound) and run the daemon; 0 after a drain."""
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            server_header=False,
            timeout_graceful_shutdown=int(GRACE_SECONDS),
        )
        self._uvicorn = _Uvicorn(config)
        daemon = asyncio.ensure_future(self.daemon.run())
        daemon.add_done_callback(lambda _: self.drain())  # the daemon stopping stops the server
        chat = asyncio.ensure_future(self.chat.run(self._chat_stop) if self.chat else _idle())
        chat.add_done_callback(_chat_ended)
        host, port = sock.getsockname()[:2]
        log.info("serving", extra={"event": "serve", "url": f"http://{_host(host)}:{port}"})
        try:
            await self._uvicorn.serve(sockets=[sock])
        finally:
            self.drain()
            code = await daemon
            await asyncio.gather(chat, return_exceptions=True)
            await self.ctx.session.aclose()
        log.info("stopped", extra={"event": "exit"})
        return code


async def _idle() -> None:
    return None


def _chat_ended(task: asyncio.Future[None]) -> None:
    """The chat bot stopped: after a drain, or by a bug (logged; the pages and gate go on)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("the chat bot stopped", exc_info=task.exception(), extra={"event": "chat-error"})


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port`` 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1024)


def run_serve(
    settings: Settings,
    session_factory: Callable[[], Session],
    *,
    host: str | None = None,
    port: int | None = None,
    log_format: str = "text",
) -> int:
    """What ``sync-incident serve`` runs: logging, the socket, signals; the exit code."""
    from sync_incident.core.errors import UsageError
    from sync_incident.lifecycle import check_log_format, run_until_stopped

    check_log_format(log_format)
    where = (host or settings.serve.host, settings.serve.port if port is None else port)
    if not 0 <= where[1] <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {where[1]}")
    try:
        sock = bind(*where)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {where[0]}:{where[1]}: {exc.strerror}",
            hint="choose another --port, or stop what is using it",
        ) from None
    server = Server(settings, session_factory)
    try:
        return run_until_stopped(
            lambda: server.run(sock),
            server.drain,
            secrets=settings.secrets(),
            log_format=log_format,
            loggers=("uvicorn.error",),
        )
    finally:
        sock.close()
