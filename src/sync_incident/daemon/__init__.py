"""The daemon: poll active incidents cheaply; post digests and reminders, each exactly once.

- :mod:`.reminders`: which reminders are due (pure);
- :mod:`.poller`: the :class:`~.poller.Daemon` loop (discovery, polls, posts, back-off);
- :func:`run_daemon`: what ``sync-incident daemon`` runs (logging, signals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sync_incident.core.hours import end_of_day
from sync_incident.daemon.poller import Daemon
from sync_incident.daemon.reminders import Due, due_reminders

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.service import Session

__all__ = ["Daemon", "Due", "due_reminders", "end_of_day", "run_daemon"]


def run_daemon(
    settings: Settings,
    session_factory: Callable[[], Session],
    *,
    once: bool = False,
    log_format: str = "text",
) -> int:
    """Run the daemon until SIGTERM/SIGINT (or one cycle with ``once``); the exit code."""
    from sync_incident.lifecycle import run_until_stopped

    daemon = Daemon(settings, session_factory)
    return run_until_stopped(
        lambda: daemon.run(once=once),
        daemon.stop,
        secrets=settings.secrets(),
        log_format=log_format,
    )
