"""The JSON API: what the daemon knows, and the release gate over HTTP.

- ``GET /api/incidents``: every watched incident, summarised (schema in the README);
- ``GET /api/incidents/{ref}``: exactly ``show --json`` (:func:`~sync_incident.views.incident_json`)
  from the daemon's last read (an incident it does not watch: read on demand, :mod:`.lookup`);
- ``GET /api/gate?ref=&release=&require=&require_ship=``: exactly ``gate --json``: the same
  use case (:func:`~sync_incident.application.decide.decide`), a FRESH read, never the board.
  200: ready; 409: not ready (the verdict says why); 404: not an incident this server reads
  (only its trackers, GitHub: its ``[github] repos``); 503: could not decide: any error at
  all, the release must not ship. Reads are bounded as page reads are (:mod:`.lookup`).
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

    from sync_incident.application.decide import GateRequest
    from sync_incident.core.readiness import Verdict
    from sync_incident.serve.app import Context

log = logging.getLogger("sync_incident.serve")
LIST_SCHEMA = 2


def summary(known: Known, now: datetime) -> dict[str, Any]:
    """One incident in ``/api/incidents``: its summary, as ``list --json`` and the digest show
    it, plus where to read it whole (``href``)."""
    base: dict[str, Any] = {
        "ref": str(known.ref),
        "key": known.ref.key,
        "href": href(known.ref, "/api/incidents/"),
        "error": known.error or None,
    }
    if known.overview is None:
        return {**base, "status": "unknown"}
    return {**base, **known.overview.summary(now).model_dump(mode="json")}


def incidents(request: Request) -> Response:
    from starlette.responses import Response

    ctx: Context = request.app.state.ctx

    def make(now: datetime) -> str:
        data = {
            "schema_version": LIST_SCHEMA,
            "generated_at": now.isoformat(),
            "incidents": [summary(k, now) for k in ctx.board.known()],
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
    if known is None or known.overview is None:
        why = "not an incident this server can show" if known is None else "not read yet"
        return JSONResponse({"error": f"{text}: {why}"}, status_code=404)
    body = incident_json(known.overview)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def gate(request: Request) -> Response:
    """The gate's verdict (:func:`~sync_incident.application.decide.decide`); fails closed."""
    from starlette.responses import JSONResponse, Response

    from sync_incident.core.readiness import undecided

    ctx: Context = request.app.state.ctx
    try:
        gate_request = _request(request)
        if not ctx.lookup.allows(gate_request.ref):
            body = undecided(
                f"could not decide (not here): {gate_request.ref} is not on a tracker this "
                "server reads",
                "ask the server that watches it, or add its repository to [github] repos",
            )
            return JSONResponse(body, status_code=404, headers={"Cache-Control": "no-store"})
        async with ctx.lookup.reading(gate_request.ref):
            verdict = await _decide(ctx, gate_request)
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


def _request(request: Request) -> GateRequest:
    """The gate request in the query string: ``ref``, ``release``, ``require``, ``require_ship``."""
    from sync_incident.application.decide import GateRequest
    from sync_incident.core.errors import UsageError
    from sync_incident.core.refs import ReferenceError, parse_ref

    params = request.query_params
    ref_text, release_text = params.get("ref", ""), params.get("release", "")
    if not ref_text or not release_text:
        raise UsageError("ref and release are required", hint="/api/gate?ref=REF&release=RELEASE")
    try:
        ref = parse_ref(ref_text)
    except ReferenceError as exc:
        raise UsageError(str(exc)) from None
    ship = params.get("require_ship", "false").strip().lower()
    if ship not in ("true", "false", "1", "0", "yes", "no", ""):
        raise UsageError(f"require_ship must be true or false, not {ship!r}")
    require = params.getlist("require")
    return GateRequest.of(ref, release_text, require, require_ship=ship in ("true", "1", "yes"))


async def _decide(ctx: Context, request: GateRequest) -> Verdict:
    from sync_incident.application.decide import decide

    return await decide(ctx.session, request)
