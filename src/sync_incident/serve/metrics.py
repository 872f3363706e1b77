"""``/metrics``: the Prometheus text format, written by ``prometheus_client``.

A custom collector (:class:`BoardCollector`) reads the board and the :class:`Meter` when
scraped, into a registry of the app's own (not the process-global one, which would outlive an
app in tests and mix two servers' series); ``prometheus_client`` writes the format (escaping,
``_total`` suffixes, HELP/TYPE lines), so we do not. Tracker requests and errors are counted
on the wire by :class:`CountingTransport`, which wraps every tracker client's transport (the
daemon's polls, the gate API's fresh reads and witness posts alike).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

import httpx
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from sync_incident.trackers import over_http

if TYPE_CHECKING:
    from sync_incident.serve.board import Board

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


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


class BoardCollector(Collector):
    """Every series ``/metrics`` shows, read from the board and the meter when scraped."""

    def __init__(self, board: Board, meter: Meter, clock: Callable[[], datetime]) -> None:
        self._board, self._meter, self._clock = board, meter, clock

    def collect(self) -> Iterator[Metric]:
        board, meter, now = self._board, self._meter, self._clock()
        known = [k for k in board.known() if k.active and k.state is not None]
        handoffs = [(str(k.ref), h) for k in known if k.state for h in k.state.pending_handoffs]
        verdicts = Counter(v.verdict for k in known for v in k.verdicts)
        yield _gauge("active_incidents", "Active incidents watched.", len(known))
        holds = sum(len(k.state.holds) for k in known if k.state)
        yield _gauge("open_holds", "Open holds.", holds)
        releases = GaugeMetricFamily(
            "sync_incident_releases", "Releases of active incidents by verdict.", labels=["verdict"]
        )
        for verdict in ("ready", "not-ready", "in-doubt"):
            releases.add_metric([verdict], verdicts.get(verdict, 0))
        yield releases
        yield _gauge("pending_handoffs", "Pending handoffs.", len(handoffs))
        ages = GaugeMetricFamily(
            "sync_incident_pending_handoff_age_seconds",
            "How long each pending handoff has waited.",
            labels=["incident", "handoff", "to"],
        )
        for ref, handoff in handoffs:
            ages.add_metric([ref, handoff.id, handoff.to], (now - handoff.at).total_seconds())
        yield ages
        yield from self._trackers()
        daemon, age = board.daemon, board.cycle_age()
        cycles = CounterMetricFamily("sync_incident_cycles", "Daemon cycles run.")
        cycles.add_metric([], daemon.cycles)
        yield cycles
        yield _gauge(
            "cycle_duration_seconds",
            "Duration of the last daemon cycle.",
            daemon.last_cycle_seconds,
        )
        yield _gauge(
            "last_cycle_age_seconds",
            "Seconds since the last daemon cycle started (-1 before the first).",
            -1 if age is None else age,
        )
        deliveries = CounterMetricFamily(
            "sync_incident_webhook_deliveries",
            "Webhook deliveries by source and result.",
            labels=["source", "result"],
        )
        for (source, result), n in sorted(meter.deliveries.items()):
            deliveries.add_metric([source, result], n)
        yield deliveries
        gate = CounterMetricFamily(
            "sync_incident_gate_requests", "Gate API answers by verdict.", labels=["verdict"]
        )
        for verdict, n in sorted(meter.gate.items()):
            gate.add_metric([verdict], n)
        yield gate

    def _trackers(self) -> Iterator[Metric]:
        meter, board = self._meter, self._board
        kinds = sorted(set(meter.requests) | set(meter.errors) | set(board.daemon.health))
        down = board.trackers_down()
        requests = CounterMetricFamily(
            "sync_incident_tracker_requests",
            "HTTP requests sent to each tracker.",
            labels=["tracker"],
        )
        errors = CounterMetricFamily(
            "sync_incident_tracker_errors",
            "Tracker requests that failed (network error or HTTP status >= 400).",
            labels=["tracker"],
        )
        up = GaugeMetricFamily(
            "sync_incident_tracker_up",
            "1 unless the daemon is backing off the tracker.",
            labels=["tracker"],
        )
        for kind in kinds:
            requests.add_metric([kind], meter.requests.get(kind, 0))
            errors.add_metric([kind], meter.errors.get(kind, 0))
            up.add_metric([kind], 0 if kind in down else 1)
        yield from (requests, errors, up)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"sync_incident_{name}", help_text, value=value)


def registry(board: Board, meter: Meter) -> CollectorRegistry:
    """A registry of the app's own holding the board's collector."""
    own = CollectorRegistry(auto_describe=False)
    own.register(BoardCollector(board, meter, board.clock))
    return own


def render(metrics: CollectorRegistry) -> bytes:
    """The exposition text of everything the server knows, as scraped now."""
    return generate_latest(metrics)
