"""Webhooks: a tracker says an incident changed; read it at once, and record deletions and edits.

``POST /webhooks/<kind>`` for every backend with a webhook source
(:func:`~sync_incident.trackers.webhooks_by_kind`; today GitHub's ``X-Hub-Signature-256`` and
bugzilla.mozilla.org's shared secret header, see their ``webhooks`` modules). In this order,
each step before anything else is read:

1. no secret configured, or no signature or secret header: 401; a shared secret that does
   not match (constant-time compare): 401;
2. a declared or actual body over ``[serve] max_body_bytes``: 413, the rest unread; a body
   not all there within ``[serve] body_seconds``: 408 and the connection closed; more than
   ``[serve] max_pending_bodies`` bodies being read at once: 503 at once, nothing read (a
   few hundred stalled senders hold neither connections nor memory for long);
3. a signature over the body that does not match (constant-time compare): 401;
4. ``ping``: 200; an event this server does not act on: 204;
5. a delivery id seen before, or the very same body under another delivery id (a captured
   delivery replayed: the signature covers the body, not the id header), both remembered
   in one bounded LRU: 200 ``replayed``, nothing done twice, nothing read;
6. otherwise: when the delivery reports a comment deleted or edited whose old text carried
   events, a :class:`~sync_incident.core.events.Witnessed` event is posted on the incident
   (once: its id derives from the delivery's content, so replicas and replays post the same
   event), then the daemon re-reads the incident at once
   (:meth:`~sync_incident.daemon.Daemon.poke`) and what was read of it on demand is
   forgotten (:meth:`~.lookup.Lookup.forget`): 202.

A failure while recording a witness answers 503 and forgets the delivery id, so a redelivery
(GitHub's "Redeliver" button) tries again. The server never posts anything else here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from sync_incident.serve.app import Context
    from sync_incident.trackers.webhooks import Change, WebhookSource

log = logging.getLogger("sync_incident.serve")


class ReplayStore:
    """Delivery ids already handled, the oldest forgotten first (bounded memory)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._seen: OrderedDict[str, None] = OrderedDict()

    def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed (it is remembered from now on)."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        while len(self._seen) > self.capacity:
            self._seen.popitem(last=False)
        return True

    def claim_all(self, keys: tuple[str, ...]) -> bool:
        """True when none of ``keys`` was claimed before (all are remembered from now on)."""
        fresh = [self.claim(key) for key in keys]
        return all(fresh)

    def release(self, key: str) -> None:
        """Handling failed: a redelivery of ``key`` may try again."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


# --- the endpoints ------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """The body is (or says it will be) longer than the limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body; :class:`BodyTooLarge` as soon as it is, or says it will be, over ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class BodyGate:
    """At most ``capacity`` bodies read at once, each within ``seconds``."""

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity, self.seconds = capacity, seconds
        self.reading = 0

    async def read(self, request: Request, limit: int) -> bytes | str:
        """The body, or why not: ``too-large``, ``too-slow`` or ``busy``."""
        if self.reading >= self.capacity:
            return "busy"
        self.reading += 1
        try:
            async with asyncio.timeout(self.seconds):
                return await read_body(request, limit)
        except BodyTooLarge:
            return "too-large"
        except TimeoutError:
            return "too-slow"
        finally:
            self.reading -= 1


def _answer(ctx: Context, source: str, result: str, status: int, **extra: str) -> Response:
    from starlette.responses import JSONResponse, Response

    ctx.meter.delivery(source, result)
    log.info("webhook", extra={"event": "webhook", "source": source, "result": result, **extra})
    if status == 204:
        return Response(status_code=204)
    return JSONResponse({"result": result, **extra}, status_code=status)


def _refused_body(ctx: Context, kind: str, why: str) -> Response:
    """413, 408 or 503 for a body we did not read, closing the connection where it is unread."""
    response = _answer(ctx, kind, why, {"too-large": 413, "too-slow": 408, "busy": 503}[why])
    response.headers["Connection"] = "close"  # what is left of the body is never read
    if why == "busy":
        response.headers["Retry-After"] = "5"
    return response


def endpoint(kind: str, source: WebhookSource) -> Callable[[Request], Awaitable[Response]]:
    """``POST /webhooks/<kind>``: the steps in the module docstring, asking ``source``."""

    async def hook(request: Request) -> Response:
        return await receive(request, kind, source)

    return hook


async def receive(request: Request, kind: str, source: WebhookSource) -> Response:
    """One delivery from the tracker ``kind``: see the module docstring."""
    ctx: Context = request.app.state.ctx
    secret = source.secret(ctx.settings)
    credential = source.credential(request.headers, ctx.settings)
    if secret is None or not credential:
        return _answer(ctx, kind, "unauthorized", 401)
    if not source.admits(secret.get_secret_value(), credential):
        return _answer(ctx, kind, "unauthorized", 401)
    body = await ctx.bodies.read(request, ctx.settings.serve.max_body_bytes)
    if isinstance(body, str):
        return _refused_body(ctx, kind, body)
    if not source.verifies(secret.get_secret_value(), credential, body):
        return _answer(ctx, kind, "unauthorized", 401)
    if source.ping(request.headers):
        return _answer(ctx, kind, "pong", 200)
    payload = _json(body)
    if payload is None:
        return _answer(ctx, kind, "bad-request", 400)
    change = source.change(request.headers, payload)
    if change is None:
        return _answer(ctx, kind, "ignored", 204)
    keys = (
        f"{kind}:{source.delivery(request.headers, body)}",
        f"{kind}:body:{hashlib.sha256(body).hexdigest()}",
    )
    return await _dispatch(ctx, kind, keys, change)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _dispatch(ctx: Context, source: str, keys: tuple[str, str], change: Change) -> Response:
    """``keys``: the delivery id and the body's identity; either seen before is a replay."""
    from sync_incident.core.errors import SyncIncidentError

    incident = str(change.ref)
    if not ctx.replays.claim_all(keys):
        return _answer(ctx, source, "replayed", 200, incident=incident)
    watched = ctx.board.find(change.ref.key) is not None
    result = "poked"
    if change.witness is not None and watched:
        try:
            result = await record_witness(ctx, change)
        except (SyncIncidentError, TimeoutError) as exc:
            for key in keys:  # a redelivery may try again
                ctx.replays.release(key)
            error = getattr(exc, "message", "") or "no answer in time"
            return _answer(ctx, source, "error", 503, incident=incident, error=error)
    ctx.lookup.forget(change.ref)  # a page read on demand reads it again at the next view
    if not ctx.daemon.poke(change.ref, discover=change.discover):
        result = "not-watched"
    return _answer(ctx, source, result, 202, incident=incident)


async def record_witness(ctx: Context, change: Change) -> str:
    """Post the change's witness event once; the result for the delivery log."""
    from sync_incident.application.once import post_once

    assert change.witness is not None
    session, policy = ctx.session, ctx.settings.policy
    kind = change.ref.kind
    async with asyncio.timeout(ctx.settings.serve.webhook_seconds):
        me = await session.whoami(kind)
        if not policy.permissive and policy.person_for(kind, me) not in policy.witnesses:
            log.warning(
                "not a witness: the deletion or edit is not recorded",
                extra={
                    "event": "not-a-witness",
                    "incident": str(change.ref),
                    "account": me.login,
                    "hint": "add this account to [people] and to witnesses in the policy",
                },
            )
            return "not-a-witness"
        posted = await post_once(session, change.ref, change.witness, change.key)
    return "witnessed" if posted else "witnessed-before"
