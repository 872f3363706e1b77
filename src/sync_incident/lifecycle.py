"""Running a long-lived command (``daemon``, ``serve``): logs on stderr and a clean stop on signal."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable

from sync_incident.core.errors import UsageError
from sync_incident.logs import configure_logging

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def check_log_format(log_format: str) -> None:
    """Refuse a ``--log-format`` other than json or text before anything starts."""
    if log_format not in ("json", "text"):
        raise UsageError(f"--log-format must be json or text, not {log_format!r}")


def run_until_stopped(
    main: Callable[[], Awaitable[int]],
    stop: Callable[[], None],
    *,
    secrets: Iterable[str],
    log_format: str,
    loggers: Iterable[str] = (),
) -> int:
    """Run ``main`` with redacted logs (the package's and ``loggers``); SIGTERM/SIGINT call ``stop``.

    Logging and signal handlers are put back as they were when it returns, so tests and embedders
    can run it more than once in one process.
    """
    check_log_format(log_format)
    # the command line turns the cyclic collector off for one-shot commands; a process that
    # runs for days needs it (cycles in asyncio's tasks and httpx's connections pile up)
    gc.enable()
    package_log = logging.getLogger("sync_incident")
    level = package_log.level
    handler = configure_logging(log_format, secrets)
    others = [logging.getLogger(name) for name in loggers]
    for log in others:
        log.addHandler(handler)

    async def go() -> int:
        loop = asyncio.get_running_loop()
        for sig in _SIGNALS:
            # not available on every platform, nor outside the main thread
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop)
        try:
            return await main()
        finally:
            for sig in _SIGNALS:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)

    try:
        return asyncio.run(go())
    finally:
        for log in others:
            log.removeHandler(handler)
        package_log.removeHandler(handler)
        package_log.setLevel(level)
