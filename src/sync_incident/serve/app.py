"""The routes of ``sync-incident serve`` (Starlette) and what they share (:class:`Context`).

==========================  ====================================================  ============
route                       what                                                  access
==========================  ====================================================  ============
``GET /``                   status page: active incidents, those resolved lately   token
``GET /incidents/{ref}``    one incident: may it ship, who is in charge, timeline  token
``GET /retro/{ref}``        retrospective draft of a resolved incident             token
``GET /events``             server-sent events: the board's version on change      token
``GET /api/incidents``      every watched incident, summarised                     token
``GET /api/incidents/{r}``  exactly ``show --json``                                token
``GET /api/gate``           exactly ``gate --json``, read fresh; 200/409/503       token
``GET /metrics``            Prometheus text                                        token
``POST /webhooks/{kind}``   a tracker's webhook (GitHub signature, BMO secret)     signed
``GET /healthz``            the process is up                                      open
``GET /readyz``             a tracker reachable, last daemon cycle recent          open
==========================  ====================================================  ============

``/incidents/{ref}``, ``/retro/{ref}`` and ``/api/incidents/{ref}`` also answer for an
incident the daemon does not watch (resolved, mostly), read on demand within bounds
(:mod:`.lookup`): 404 when there is no such incident this server may show, 503 when its
tracker cannot answer now.

"token": when ``SYNC_INCIDENT_SERVE_TOKEN`` is set, ``Authorization: Bearer TOKEN`` or basic
auth with it as the password (user ``[serve] user`` when set, any otherwise); open when unset.
Nothing here posts on behalf of a visitor: the only writes are witness events a signed
webhook reports.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.registry import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from starlette.routing import Route

from sync_incident.serve import api, metrics, webhooks
from sync_incident.serve.board import Board
from sync_incident.serve.lookup import RETRY_AFTER, Lookup, Unreadable
from sync_incident.serve.metrics import Meter
from sync_incident.serve.pages import HEADERS, Pages
from sync_incident.serve.webhooks import BodyGate, ReplayStore
from sync_incident.trackers import webhooks_by_kind

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.daemon.poller import Daemon
    from sync_incident.service import Session

Endpoint = Callable[[Request], Awaitable[Response] | Response]
SSE_KEEPALIVE = 15.0  # seconds between comments on an idle stream (proxies close idle ones)
READY_CYCLE_SECONDS = 180.0  # the daemon cycles at least once a minute; three missed: not ready


@dataclass
class Context:
    """Everything a request may use. ``session`` is the server's own (the daemon has another)."""

    settings: Settings
    daemon: Daemon
    session: Session
    board: Board
    lookup: Lookup
    pages: Pages
    meter: Meter
    replays: ReplayStore
    bodies: BodyGate
    draining: asyncio.Event = field(default_factory=asyncio.Event)
    metrics: CollectorRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = metrics.registry(self.board, self.meter)


def create_app(ctx: Context) -> Starlette:
    """The ASGI application over ``ctx``."""
    guarded = [
        Route("/", _guard(ctx, status_page)),
        Route("/events", _guard(ctx, events)),
        Route("/incidents/{ref:path}", _guard(ctx, incident_page)),
        Route("/retro/{ref:path}", _guard(ctx, retro_page)),
        Route("/api/incidents", _guard(ctx, api.incidents)),
        Route("/api/incidents/{ref:path}", _guard(ctx, api.incident)),
        Route("/api/gate", _guard(ctx, api.gate)),
        Route("/metrics", _guard(ctx, metrics_text)),
    ]
    open_routes = [
        *(
            Route(f"/webhooks/{kind}", webhooks.endpoint(kind, source), methods=["POST"])
            for kind, source in webhooks_by_kind().items()
        ),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    app = Starlette(routes=guarded + open_routes)
    app.state.ctx = ctx
    return app


# --- access -----------------------------------------------------------------------------------


def authorized(ctx: Context, header: str | None) -> bool:
    """Whether the ``Authorization`` header carries the token (always, when none is set)."""
    token = ctx.settings.serve_token
    if token is None:
        return True
    secret = token.get_secret_value().encode()
    if not header:
        return False
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return hmac.compare_digest(value.strip().encode(), secret)
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        wanted = ctx.settings.serve.user
        user_ok = not wanted or hmac.compare_digest(user.encode(), wanted.encode())
        return hmac.compare_digest(password.encode(), secret) and user_ok
    return False


def _guard(ctx: Context, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        if not authorized(ctx, request.headers.get("authorization")):
            return PlainTextResponse(
                "Authentication required: a bearer token or basic auth.\n",
                status_code=401,
                headers={"WWW-Authenticate": 'Basic realm="sync-incident", charset="UTF-8"'},
            )
        result = endpoint(request)
        return await result if isinstance(result, Awaitable) else result

    return guarded


# --- pages ------------------------------------------------------------------------------------


def status_page(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    if request.query_params.get("fragment") == "board":
        part = ctx.pages.board_fragment()
        return HTMLResponse(part.html, headers={**HEADERS, "X-Board-Version": part.version})
    return HTMLResponse(ctx.pages.status_page(), headers=HEADERS)


async def incident_page(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    text = request.path_params["ref"]
    try:
        known = await ctx.lookup.find(text)
    except Unreadable as exc:
        page = ctx.pages.unreadable(text, exc.message)
        return HTMLResponse(page, status_code=503, headers={**HEADERS, "Retry-After": RETRY_AFTER})
    if known is None:
        return HTMLResponse(ctx.pages.not_found(text), status_code=404, headers=HEADERS)
    decisions = request.query_params.get("timeline") == "decisions"  # the filter, no script
    if request.query_params.get("fragment") == "board":
        part = ctx.pages.incident_fragment(known, decisions=decisions)
        return HTMLResponse(part.html, headers={**HEADERS, "X-Board-Version": part.version})
    return HTMLResponse(ctx.pages.incident_page(known, decisions=decisions), headers=HEADERS)


async def retro_page(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    text = request.path_params["ref"]
    try:
        known = await ctx.lookup.find(text)
    except Unreadable as exc:
        message = f"{text}: could not read it just now ({exc.message}); try again later\n"
        return PlainTextResponse(message, status_code=503, headers={"Retry-After": RETRY_AFTER})
    if known is None or known.state is None or known.state.status != "resolved":
        message = f"{text}: no retrospective draft here (no such incident, or not resolved)\n"
        return PlainTextResponse(message, status_code=404)
    return HTMLResponse(ctx.pages.retro_page(known), headers=HEADERS)


async def events(request: Request) -> Response:
    """Server-sent events: ``event: version`` with the board's (or an incident's) version.

    sse-starlette writes the stream (the event format, a ``: keep-alive`` comment every
    :data:`SSE_KEEPALIVE` seconds so proxies keep an idle stream open, the end of the stream
    when the client goes away); we say what to send and when.
    """
    from sse_starlette import EventSourceResponse, ServerSentEvent

    ctx: Context = request.app.state.ctx
    target = request.query_params.get("incident", "")

    def version() -> str:
        known = ctx.lookup.cached(target) if target else None
        if known is not None:
            return ctx.pages.incident_fragment(known).version
        return ctx.pages.board_fragment().version

    async def stream() -> AsyncIterator[ServerSentEvent]:
        sent = ""
        yield ServerSentEvent(retry=2000)
        while not ctx.draining.is_set():
            generation = ctx.board.generation
            current = version()
            if current != sent:
                sent = current
                yield ServerSentEvent(current, event="version")
            # the version also moves with the clock (ages, local times): look again now and then
            await _wait(ctx, generation, SSE_KEEPALIVE)

    return EventSourceResponse(
        stream(),
        ping=SSE_KEEPALIVE,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
        sep="\n",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _wait(ctx: Context, generation: int, timeout: float) -> bool:
    """A board change (True), a drain, or ``timeout`` (False)."""
    change = asyncio.ensure_future(ctx.board.wait(generation, timeout))
    drain = asyncio.ensure_future(ctx.draining.wait())
    try:
        await asyncio.wait({change, drain}, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when the stream is cancelled (the client went away)
        for task in (change, drain):
            task.cancel()
        await asyncio.gather(change, drain, return_exceptions=True)
    return not change.cancelled() and change.exception() is None and bool(change.result())


# --- operations ---------------------------------------------------------------------------------


def healthz(request: Request) -> Response:
    return PlainTextResponse("ok\n")


def readyz(request: Request) -> Response:
    """503 while draining, before the first daemon cycle, when the daemon has not cycled for
    three minutes, or when it backs off every tracker it reads; 200 otherwise.

    One tracker down of several is not a reason: every replica shares the outage, and
    taking them all out of the load balancer would cut off the pages, the gate API and the
    webhooks of the trackers that work. It is listed under ``degraded``, and ``trackers``
    says how each one is.
    """
    ctx: Context = request.app.state.ctx
    age = ctx.board.cycle_age()
    trackers = ctx.board.trackers()
    down = [kind for kind, t in trackers.items() if not t["up"]]
    problems: list[str] = []
    degraded: list[str] = []
    if ctx.draining.is_set():
        problems.append("draining: shutting down")
    if age is None:
        problems.append("the first daemon cycle has not finished")
    elif age > READY_CYCLE_SECONDS:
        problems.append(f"the last daemon cycle started {age:.0f} s ago")
    if down and len(down) == len(trackers):
        problems.append(f"no tracker is reachable: {', '.join(down)} (backing off)")
    else:
        degraded += [f"tracker {kind} is unreachable (backing off)" for kind in down]
    body: dict[str, Any] = {
        "ready": not problems,
        "problems": problems,
        "degraded": degraded,
        "last_cycle_age_seconds": age,
        "trackers_down": down,
        "trackers": trackers,
    }
    return JSONResponse(body, status_code=503 if problems else 200)


def metrics_text(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    return Response(metrics.render(ctx.metrics), media_type=metrics.CONTENT_TYPE)
