"""Webhooks: a tracker says an incident changed; read it at once, and record deletions and edits.

``POST /webhooks/github`` (GitHub's ``X-Hub-Signature-256``: HMAC-SHA256 of the body with the
secret from ``SYNC_INCIDENT_GITHUB_WEBHOOK_SECRET``) and ``POST /webhooks/bugzilla``
(bugzilla.mozilla.org's webhooks: the shared secret from ``SYNC_INCIDENT_BUGZILLA_WEBHOOK_SECRET``
in the header named by ``[serve] bugzilla_secret_header``). In this order, each step before
anything else is read:

1. no secret configured, or no signature header: 401;
2. a declared or actual body over ``[serve] max_body_bytes``: 413, the rest unread;
3. a signature that does not match (constant-time compare): 401;
4. an event this server does not act on: 204; ``ping``: 200;
5. a delivery id seen before (bounded LRU): 200 ``replayed``, nothing done twice;
6. otherwise: for a GitHub comment deleted or edited whose old text carried events, a
   :class:`~sync_incident.core.events.Witnessed` event is posted on the incident (once: its id
   derives from the delivery's content, so replicas and replays post the same event), then
   the daemon re-reads the incident at once (:meth:`~sync_incident.daemon.Daemon.poke`) and
   what was read of it on demand is forgotten (:meth:`~.lookup.Lookup.forget`): 202.

A failure while recording a witness answers 503 and forgets the delivery id, so a redelivery
(GitHub's "Redeliver" button) tries again. The server never posts anything else here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync_incident.core import codec
from sync_incident.core.events import Witnessed, event_id_for
from sync_incident.core.refs import IncidentRef

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from sync_incident.serve.app import Context

log = logging.getLogger("sync_incident.serve")

GITHUB_EVENTS = {
    "issue_comment": frozenset({"created", "edited", "deleted"}),
    "issues": frozenset({"edited", "labeled", "unlabeled"}),
}
ACTIVE_LABEL = "incident:active"


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

    def release(self, key: str) -> None:
        """Handling failed: a redelivery of ``key`` may try again."""
        self._seen.pop(key, None)

    def __len__(self) -> int:
        return len(self._seen)


def github_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body>`` (compared in constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[len("sha256=") :].strip().encode())


def github_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` (for tests and tools)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def shared_secret_ok(secret: str, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(secret.encode(), header.strip().encode())


@dataclass(frozen=True)
class Change:
    """What a delivery asks of the server: re-read ``ref``, and maybe record a witness first."""

    ref: IncidentRef
    witness: Witnessed | None = None
    key: str = ""  # the witness's idempotency key
    discover: bool = False  # ``ref`` may be a new incident: let the daemon look for it


def github_change(event: str, payload: dict[str, Any]) -> Change | None:
    """The change a GitHub delivery describes; None when this server does not act on it."""
    action = payload.get("action")
    if action not in GITHUB_EVENTS.get(event, ()):
        return None
    repo = (payload.get("repository") or {}).get("full_name")
    number = (payload.get("issue") or {}).get("number")
    if not isinstance(repo, str) or not isinstance(number, int) or "/" not in repo:
        return None
    ref = IncidentRef("github", number, repo=repo)
    if event == "issues":
        label = (payload.get("label") or {}).get("name")
        return Change(ref, discover=action == "labeled" and label == ACTIVE_LABEL)
    if action in ("deleted", "edited"):
        witness = _witness(ref, action, payload)
        if witness is not None:
            return Change(ref, witness[0], witness[1])
    return Change(ref)


def _witness(ref: IncidentRef, what: str, payload: dict[str, Any]) -> tuple[Witnessed, str] | None:
    """The witness event for a deleted or edited comment whose old text carried events."""
    comment = payload.get("comment") or {}
    if what == "deleted":
        old = comment.get("body")
    else:
        old = ((payload.get("changes") or {}).get("body") or {}).get("from")
    if not isinstance(old, str) or comment.get("id") is None:
        return None
    events = [e.id for e in codec.parse(old).events]
    if not events:
        return None
    comment_id = str(comment["id"])
    stamp = _time(comment.get("updated_at")) or _time(comment.get("created_at"))
    if stamp is None:
        return None
    key = f"witness:{ref.repo.lower()}#{ref.number}:{comment_id}:{what}"
    by = (payload.get("sender") or {}).get("login") or ""
    # the content must be the same for every replica that receives this delivery: an id
    # seen twice with different content is doubt. An edit has its time; a deletion has none
    # in the payload (the witness's own comment time records when it was reported).
    return (
        Witnessed(
            id=event_id_for(key, stamp),
            what="deleted" if what == "deleted" else "edited",
            comment=comment_id,
            events=events,
            by=str(by),
            at=stamp if what == "edited" else None,
        ),
        key,
    )


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def bugzilla_change(payload: dict[str, Any]) -> Change | None:
    """The change a BMO webhook describes (``bug.id``, ``event.target``); None to ignore."""
    event = payload.get("event") or {}
    bug = payload.get("bug") or {}
    target = event.get("target") if isinstance(event, dict) else None
    number = bug.get("id") if isinstance(bug, dict) else None
    if target not in ("bug", "comment") or not isinstance(number, int) or number <= 0:
        return None
    return Change(IncidentRef("bugzilla", number))


# --- the endpoints ------------------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is (or says it will be) longer than ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(ctx: Context, source: str, result: str, status: int, **extra: str) -> Response:
    from starlette.responses import JSONResponse, Response

    ctx.meter.delivery(source, result)
    log.info("webhook", extra={"event": "webhook", "source": source, "result": result, **extra})
    if status == 204:
        return Response(status_code=204)
    return JSONResponse({"result": result, **extra}, status_code=status)


async def github_hook(request: Request) -> Response:
    """``POST /webhooks/github``: see the module docstring."""
    ctx: Context = request.app.state.ctx
    secret = ctx.settings.github_webhook_secret
    signature = request.headers.get("x-hub-signature-256")
    if secret is None or not signature:
        return _answer(ctx, "github", "unauthorized", 401)
    body = await read_body(request, ctx.settings.serve.max_body_bytes)
    if body is None:
        return _answer(ctx, "github", "too-large", 413)
    if not github_signature_ok(secret.get_secret_value(), body, signature):
        return _answer(ctx, "github", "unauthorized", 401)
    event = request.headers.get("x-github-event", "")
    if event == "ping":
        return _answer(ctx, "github", "pong", 200)
    payload = _json(body)
    if payload is None:
        return _answer(ctx, "github", "bad-request", 400)
    change = github_change(event, payload)
    if change is None:
        return _answer(ctx, "github", "ignored", 204)
    delivery = request.headers.get("x-github-delivery") or hashlib.sha256(body).hexdigest()
    return await _dispatch(ctx, "github", "github:" + delivery, change)


async def bugzilla_hook(request: Request) -> Response:
    """``POST /webhooks/bugzilla``: a BMO webhook; the shared secret in a header."""
    ctx: Context = request.app.state.ctx
    secret = ctx.settings.bugzilla_webhook_secret
    given = request.headers.get(ctx.settings.serve.bugzilla_secret_header)
    if secret is None or not given:
        return _answer(ctx, "bugzilla", "unauthorized", 401)
    if not shared_secret_ok(secret.get_secret_value(), given):
        return _answer(ctx, "bugzilla", "unauthorized", 401)
    body = await read_body(request, ctx.settings.serve.max_body_bytes)
    if body is None:
        return _answer(ctx, "bugzilla", "too-large", 413)
    payload = _json(body)
    if payload is None:
        return _answer(ctx, "bugzilla", "bad-request", 400)
    change = bugzilla_change(payload)
    if change is None:
        return _answer(ctx, "bugzilla", "ignored", 204)
    # BMO sends no delivery id; a retried delivery is the same bytes
    delivery = "bugzilla:" + hashlib.sha256(body).hexdigest()
    return await _dispatch(ctx, "bugzilla", delivery, change)


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def _dispatch(ctx: Context, source: str, delivery: str, change: Change) -> Response:
    from sync_incident.core.errors import SyncIncidentError

    incident = str(change.ref)
    if not ctx.replays.claim(delivery):
        return _answer(ctx, source, "replayed", 200, incident=incident)
    watched = ctx.board.find(change.ref.key) is not None
    result = "poked"
    if change.witness is not None and watched:
        try:
            result = await record_witness(ctx, change)
        except (SyncIncidentError, TimeoutError) as exc:
            ctx.replays.release(delivery)  # a redelivery may try again
            error = getattr(exc, "message", "") or "no answer in time"
            return _answer(ctx, source, "error", 503, incident=incident, error=error)
    ctx.lookup.forget(change.ref)  # a page read on demand reads it again at the next view
    if not ctx.daemon.poke(change.ref, discover=change.discover):
        result = "not-watched"
    return _answer(ctx, source, result, 202, incident=incident)


async def record_witness(ctx: Context, change: Change) -> str:
    """Post the change's witness event once; the result for the delivery log."""
    from sync_incident.digest.run import post_once

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
