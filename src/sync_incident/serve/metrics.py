"""``/metrics``: the Prometheus text exposition format (version 0.0.4), written by hand.

A dozen gauges and counters do not need ``prometheus-client``: its process-global registry
would outlive one app in tests, and the format is a few lines of text. Tracker requests and
errors are counted on the wire by :class:`CountingTransport`, which wraps every tracker
client's transport (the daemon's polls, the gate API's fresh reads and witness posts alike).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import httpx

from sync_incident.trackers import over_http

if TYPE_CHECKING:
    from sync_incident.serve.board import Board

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Meter:
    """Counters the server keeps (gauges are read from the board when scraped)."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # tracker kind -> requests sent
        self.errors: Counter[str] = Counter()  # tracker kind -> failed (network or status >= 400)
        self.deliveries: Counter[tuple[str, str]] = Counter()  # (source, result)
        self.gate: Counter[str] = Counter()  # verdict or "could-not-decide"

    def delivery(self, source: str, result: str) -> None:
        self.deliveries[(source, result)] += 1

    def wrap(
        self, transports: Mapping[str, httpx.AsyncBaseTransport]
    ) -> dict[str, httpx.AsyncBaseTransport]:
        """Counting transports for the network trackers (the given ones inside, else httpx's)."""
        return {kind: CountingTransport(self, kind, transports.get(kind)) for kind in over_http()}


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the requests of one tracker and those that failed, then passes them on."""

    def __init__(self, meter: Meter, kind: str, inner: httpx.AsyncBaseTransport | None) -> None:
        self._meter, self._kind = meter, kind
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._meter.requests[self._kind] += 1
        try:
            response = await self._inner.handle_async_request(request)
        except Exception:
            self._meter.errors[self._kind] += 1
            raise
        if response.status_code >= 400:
            self._meter.errors[self._kind] += 1
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(
    name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], float]]
) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        out.append(f"{name}{{{inner}}} {value:g}" if inner else f"{name} {value:g}")
    return out


def render(board: Board, meter: Meter, now: datetime) -> str:
    """The exposition text of everything the server knows."""
    known = [k for k in board.known() if k.active and k.state is not None]
    holds = sum(len(k.state.holds) for k in known if k.state)
    handoffs = [(str(k.ref), h) for k in known if k.state for h in k.state.pending_handoffs]
    verdicts = Counter(v.verdict for k in known for v in k.verdicts)
    daemon = board.daemon
    age = board.cycle_age()
    lines: list[str] = []
    lines += _family(
        "sync_incident_active_incidents", "gauge", "Active incidents watched.", [({}, len(known))]
    )
    lines += _family("sync_incident_open_holds", "gauge", "Open holds.", [({}, holds)])
    lines += _family(
        "sync_incident_releases",
        "gauge",
        "Releases of active incidents by verdict.",
        [({"verdict": v}, verdicts.get(v, 0)) for v in ("ready", "not-ready", "in-doubt")],
    )
    lines += _family(
        "sync_incident_pending_handoffs", "gauge", "Pending handoffs.", [({}, len(handoffs))]
    )
    lines += _family(
        "sync_incident_pending_handoff_age_seconds",
        "gauge",
        "How long each pending handoff has waited.",
        [
            ({"incident": ref, "handoff": h.id, "to": h.to}, (now - h.at).total_seconds())
            for ref, h in handoffs
        ],
    )
    kinds = sorted(set(meter.requests) | set(meter.errors) | set(daemon.health))
    lines += _family(
        "sync_incident_tracker_requests_total",
        "counter",
        "HTTP requests sent to each tracker.",
        [({"tracker": k}, meter.requests.get(k, 0)) for k in kinds],
    )
    lines += _family(
        "sync_incident_tracker_errors_total",
        "counter",
        "Tracker requests that failed (network error or HTTP status >= 400).",
        [({"tracker": k}, meter.errors.get(k, 0)) for k in kinds],
    )
    lines += _family(
        "sync_incident_tracker_up",
        "gauge",
        "1 unless the daemon is backing off the tracker.",
        [({"tracker": k}, 0 if k in board.trackers_down() else 1) for k in kinds],
    )
    lines += _family(
        "sync_incident_cycles_total", "counter", "Daemon cycles run.", [({}, daemon.cycles)]
    )
    lines += _family(
        "sync_incident_cycle_duration_seconds",
        "gauge",
        "Duration of the last daemon cycle.",
        [({}, daemon.last_cycle_seconds)],
    )
    lines += _family(
        "sync_incident_last_cycle_age_seconds",
        "gauge",
        "Seconds since the last daemon cycle started (-1 before the first).",
        [({}, -1 if age is None else age)],
    )
    lines += _family(
        "sync_incident_webhook_deliveries_total",
        "counter",
        "Webhook deliveries by source and result.",
        [({"source": s, "result": r}, n) for (s, r), n in sorted(meter.deliveries.items())],
    )
    lines += _family(
        "sync_incident_gate_requests_total",
        "counter",
        "Gate API answers by verdict.",
        [({"verdict": v}, n) for v, n in sorted(meter.gate.items())],
    )
    return "\n".join(lines) + "\n"
