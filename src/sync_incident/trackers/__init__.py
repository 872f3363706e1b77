"""Tracker backends behind one contract (:mod:`.base`), described by a typed value, built in one place.

A backend is one package that exposes ``BACKEND``, a :class:`Backend`: its kind, how to build
its tracker, whether the settings use it, how often the daemon may read one incident, whether
it talks to a server over HTTP (``serve`` counts its requests), whether it can act as several
people (the local tracker's ``--as``), and its webhook source when its tracker can call
``serve``. :data:`BACKENDS` names the package of each kind (the kinds are
:data:`~sync_incident.core.refs.TrackerKind`'s); nothing above this package names a backend.
Backends are imported only when used, so a command that reads a local incident never imports
httpx.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sync_incident.core.errors import NotConfigured, UsageError

if TYPE_CHECKING:
    import httpx

    from sync_incident.config import Settings
    from sync_incident.core.refs import TrackerKind
    from sync_incident.trackers.base import Tracker
    from sync_incident.trackers.cache import Cache
    from sync_incident.trackers.webhooks import WebhookSource

Sleep = Callable[[float], Awaitable[None]]

# kind -> the package whose ``BACKEND`` describes it
BACKENDS: dict[TrackerKind, str] = {
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


@dataclass(frozen=True)
class Backend:
    """One tracker backend: what the rest of the tool may know about it (see the docstring)."""

    kind: TrackerKind
    build: Callable[[Settings, BuildContext], Tracker]
    in_use: Callable[[Settings], bool]  # whether these settings use it (list, daemon)
    poll_minutes: Callable[[Settings], float]  # the daemon's interval for one incident
    over_http: bool = False
    acts_as_anyone: bool = False  # ``--as NAME`` may act as any person (local only)
    webhook: WebhookSource | None = None  # answers ``POST /webhooks/<kind>`` in ``serve``


def backend(kind: TrackerKind) -> Backend:
    """The backend of ``kind`` (its package imported now)."""
    module_name = BACKENDS.get(kind)
    if module_name is None:
        raise NotConfigured(f"no tracker backend named {kind!r}", hint=", ".join(BACKENDS))
    found = importlib.import_module(module_name).BACKEND
    if not isinstance(found, Backend) or found.kind != kind:
        raise TypeError(f"{module_name}.BACKEND does not describe the {kind} backend")
    return found


def backends() -> list[Backend]:
    return [backend(kind) for kind in BACKENDS]


def build_tracker(kind: TrackerKind, settings: Settings, context: BuildContext) -> Tracker:
    """The tracker for ``kind``, configured from ``settings``."""
    found = backend(kind)
    if context.as_user and not found.acts_as_anyone:
        raise UsageError(
            "--as works only with the local tracker",
            hint="on Bugzilla and GitHub you act as the owner of the API key or token",
        )
    return found.build(settings, context)


def kinds_in_use(settings: Settings) -> list[TrackerKind]:
    """The trackers this configuration uses (where `list` and the daemon look for incidents)."""
    return [b.kind for b in backends() if b.in_use(settings)]


def poll_minutes(settings: Settings) -> dict[str, float]:
    """Per backend, the daemon's interval between two reads of one incident."""
    return {b.kind: b.poll_minutes(settings) for b in backends()}


def over_http() -> list[str]:
    """The backends that talk to a server over HTTP (their transports can be wrapped)."""
    return [b.kind for b in backends() if b.over_http]


def webhooks_by_kind() -> dict[str, WebhookSource]:
    """The backends whose tracker can call ``serve`` (``POST /webhooks/<kind>``), by kind."""
    return {b.kind: b.webhook for b in backends() if b.webhook is not None}
