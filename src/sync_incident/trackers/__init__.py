"""Tracker backends behind one contract (:mod:`.base`), built in one place.

A new backend is one package exposing ``build(settings, context) -> Tracker``,
``in_use(settings) -> bool`` and ``poll_minutes(settings) -> float`` (how often the daemon may
read one incident), ``OVER_HTTP = True`` when it talks to a server (``serve`` counts its
requests), and ``ACTS_AS_ANYONE = True`` when it can simulate several people, like the local
tracker's ``--as``, and ``WEBHOOK`` (a :class:`~.webhooks.WebhookSource`) when its tracker
can call ``serve``; plus one entry in :data:`BACKENDS`. Nothing above this package names a
backend. Backends are imported only
when built, so a command that reads a local incident never imports httpx.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sync_incident.core.errors import NotConfigured, UsageError

if TYPE_CHECKING:
    import httpx

    from sync_incident.config import Settings
    from sync_incident.core.refs import TrackerKind
    from sync_incident.trackers.base import Tracker
    from sync_incident.trackers.cache import Cache
    from sync_incident.trackers.webhooks import WebhookSource

Sleep = Callable[[float], Awaitable[None]]

# kind -> module with ``build(settings, context)`` and ``in_use(settings)``
BACKENDS: dict[str, str] = {
    "local": "sync_incident.trackers.local",
    "bugzilla": "sync_incident.trackers.bugzilla",
    "github": "sync_incident.trackers.github",
}


@dataclass
class BuildContext:
    """What a backend may need besides settings; tests hand in transports and a fake sleep."""

    cache: Cache
    as_user: str | None = None  # local tracker only: act as this person
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    sleep: Sleep | None = None


class _Builder(Protocol):
    def __call__(self, settings: Settings, context: BuildContext) -> Tracker: ...


def build_tracker(kind: TrackerKind, settings: Settings, context: BuildContext) -> Tracker:
    """The tracker for ``kind``, configured from ``settings``."""
    module_name = BACKENDS.get(kind)
    if module_name is None:
        raise NotConfigured(f"no tracker backend named {kind!r}", hint=", ".join(BACKENDS))
    module = importlib.import_module(module_name)
    if context.as_user and not getattr(module, "ACTS_AS_ANYONE", False):
        raise UsageError(
            "--as works only with the local tracker",
            hint="on Bugzilla and GitHub you act as the owner of the API key or token",
        )
    builder: _Builder = module.build
    return builder(settings, context)


def kinds_in_use(settings: Settings) -> list[TrackerKind]:
    """The trackers this configuration uses (where `list` and the daemon look for incidents)."""
    out: list[TrackerKind] = []
    for kind, module_name in BACKENDS.items():
        in_use: Callable[[Settings], bool] = importlib.import_module(module_name).in_use
        if in_use(settings):
            out.append(_KINDS[kind])
    return out


def poll_minutes(settings: Settings) -> dict[str, float]:
    """Per backend, the daemon's interval between two reads of one incident."""
    out: dict[str, float] = {}
    for kind, module_name in BACKENDS.items():
        interval: Callable[[Settings], float] = importlib.import_module(module_name).poll_minutes
        out[kind] = interval(settings)
    return out


def over_http() -> list[str]:
    """The backends that talk to a server over HTTP (their transports can be wrapped)."""
    return [
        kind
        for kind, module_name in BACKENDS.items()
        if getattr(importlib.import_module(module_name), "OVER_HTTP", False)
    ]


def webhooks_by_kind() -> dict[str, WebhookSource]:
    """The backends whose tracker can call ``serve`` (``POST /webhooks/<kind>``), by kind."""
    out: dict[str, WebhookSource] = {}
    for kind, module_name in BACKENDS.items():
        source: WebhookSource | None = getattr(
            importlib.import_module(module_name), "WEBHOOK", None
        )
        if source is not None:
            out[kind] = source
    return out


_KINDS: dict[str, TrackerKind] = {"local": "local", "bugzilla": "bugzilla", "github": "github"}
