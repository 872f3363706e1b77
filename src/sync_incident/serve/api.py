"""The JSON API: what the daemon knows, and the release gate over HTTP.

- ``GET /api/incidents``: every watched incident, summarised (schema in the README);
- ``GET /api/incidents/{ref}``: exactly ``show --json`` (:func:`~sync_incident.views.incident_json`)
  from the daemon's last read (an incident it does not watch: read on demand, :mod:`.lookup`);
- ``GET /api/gate?ref=&release=&require=&require_ship=``: exactly ``gate --json``. It reads the
  incident FRESH, as ``sync-incident gate`` does (:meth:`~sync_incident.service.Session.read_within`
  with ``[gate] deadline_seconds``), never from the board. 200: ready; 409: not ready (the
  verdict says why); 503: could not decide: any error at all, the release must not ship.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync_incident.serve.board import Known
from sync_incident.serve.view import href

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from sync_incident.serve.app import Context

log = logging.getLogger("sync_incident.serve")
LIST_SCHEMA = 1


def summary(known: Known) -> dict[str, Any]:
    """One incident in ``/api/incidents``: enough for a dashboard; the rest at ``href``."""
    s = known.state
    base: dict[str, Any] = {
        "ref": str(known.ref),
        "key": known.ref.key,
        "href": href(known.ref, "/api/incidents/"),
        "error": known.error or None,
    }
    if s is None:
        return {**base, "status": "unknown"}
    return {
        **base,
        "ref": s.ref or str(known.ref),
        "title": s.title,
        "url": s.url,
        "status": s.status,
        "severity": s.severity,
        "ic": s.ic,
        "ic_since": s.ic_since.isoformat() if s.ic_since else None,
        "last_update": s.last_update.isoformat() if s.last_update else None,
        "next_update_due": s.next_update_due.isoformat() if s.next_update_due else None,
        "update_overdue": s.update_overdue,
        "holds": [h.model_dump(mode="json") for h in s.holds],
        "pending_handoffs": [h.model_dump(mode="json") for h in s.pending_handoffs],
        "doubts": len(s.doubts),
        "releases": [v.model_dump(mode="json") for v in known.verdicts],
    }


def incidents(request: Request) -> Response:
    from starlette.responses import Response

    ctx: Context = request.app.state.ctx

    def make(now: datetime) -> str:
        data = {
            "schema_version": LIST_SCHEMA,
            "generated_at": now.isoformat(),
            "incidents": [summary(k) for k in ctx.board.known()],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    body = ctx.pages.cached(("api-incidents",), make).html  # once per daemon read and minute
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def incident(request: Request) -> Response:
    from starlette.responses import JSONResponse, Response

    from sync_incident.serve.lookup import RETRY_AFTER, Unreadable
    from sync_incident.views import incident_json

    ctx: Context = request.app.state.ctx
    text = request.path_params["ref"]
    try:
        known = await ctx.lookup.find(text)
    except Unreadable as exc:
        error = {"error": f"{text}: could not read it just now ({exc.message})"}
        return JSONResponse(error, status_code=503, headers={"Retry-After": RETRY_AFTER})
    if known is None or known.state is None:
        why = "not an incident this server can show" if known is None else "not read yet"
        return JSONResponse({"error": f"{text}: {why}"}, status_code=404)
    body = incident_json(known.state, known.verdicts, policy=ctx.board.policy, facts=known.facts)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def gate(request: Request) -> Response:
    """The gate's verdict, read fresh; fails closed (503) on any error whatsoever."""
    from starlette.responses import JSONResponse, Response

    from sync_incident.core.readiness import undecided

    ctx: Context = request.app.state.ctx
    try:
        verdict = await _verdict(ctx, request)
    except Exception as exc:  # fail closed: a bug must not pass a release either
        label = getattr(exc, "label", type(exc).__name__)
        message = getattr(exc, "message", "") or "internal error"
        hint = getattr(exc, "hint", "")
        ctx.meter.gate["could-not-decide"] += 1
        log.warning(
            "gate could not decide", extra={"event": "gate", "error": f"{label}: {message}"}
        )
        body = undecided(f"could not decide ({label}): {message}", hint)  # as `gate --json`
        return JSONResponse(body, status_code=503, headers={"Cache-Control": "no-store"})
    ctx.meter.gate[verdict.verdict] += 1
    status = 200 if verdict.ready else 409
    return Response(
        verdict.model_dump_json(indent=2),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def _verdict(ctx: Context, request: Request) -> Any:
    from sync_incident import intents
    from sync_incident.core.errors import UsageError
    from sync_incident.core.readiness import readiness
    from sync_incident.core.refs import ReferenceError, parse_ref

    params = request.query_params
    ref_text, release_text = params.get("ref", ""), params.get("release", "")
    if not ref_text or not release_text:
        raise UsageError("ref and release are required", hint="/api/gate?ref=REF&release=RELEASE")
    try:
        ref = parse_ref(ref_text)
    except ReferenceError as exc:
        raise UsageError(str(exc)) from None
    wanted = intents.release(release_text)
    require = [t.strip() for v in params.getlist("require") for t in v.split(",") if t.strip()]
    ship = params.get("require_ship", "false").strip().lower()
    if ship not in ("true", "false", "1", "0", "yes", "no", ""):
        raise UsageError(f"require_ship must be true or false, not {ship!r}")
    session = ctx.session
    reading = await session.read_within(ref, ctx.settings.gate.deadline_seconds)
    return readiness(
        reading.state,
        wanted,
        required=require or None,
        policy=session.policy,
        facts=reading.facts,
        require_ship=ship in ("true", "1", "yes"),
    )
