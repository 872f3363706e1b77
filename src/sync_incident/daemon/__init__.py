"""The daemon: poll active incidents cheaply; post digests and reminders, each exactly once.

- :mod:`.reminders`: which reminders are due (pure);
- :mod:`.poller`: the :class:`~.poller.Daemon` loop (discovery, polls, posts, back-off);
- :func:`run_daemon`: what ``sync-incident daemon`` runs (logging, signals).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sync_incident.core.hours import end_of_day
from sync_incident.daemon.poller import Daemon
from sync_incident.daemon.reminders import Due, due_reminders
from sync_incident.logs import configure_logging

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
    from sync_incident.core.errors import UsageError

    if log_format not in ("json", "text"):
        raise UsageError(f"--log-format must be json or text, not {log_format!r}")
    package_log = logging.getLogger("sync_incident")
    level = package_log.level
    handler = configure_logging(log_format, settings.secrets())
    daemon = Daemon(settings, session_factory)

    async def go() -> int:
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # not available on every platform, nor outside the main thread
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, daemon.stop)
        try:
            return await daemon.run(once=once)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    try:
        return asyncio.run(go())
    finally:
        package_log.removeHandler(handler)
        package_log.setLevel(level)
