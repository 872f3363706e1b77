"""Logging for the daemon and the server: structlog's processors over the standard library.

The package logs with :mod:`logging` (``log.info("webhook", extra={"event": ..., ...})``);
:func:`configure_logging` puts one handler on stderr whose formatter is structlog's
:class:`~structlog.stdlib.ProcessorFormatter`: the message and every ``extra`` field become
keys, then the time, the level and the logger, then our one processor of our own,
:class:`Redact` (secrets never reach a log line), then structlog's JSON or console renderer.
structlog is imported by ``daemon`` and ``serve`` only: other commands never load it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

from sync_incident.redaction import Redactor

EventDict = MutableMapping[str, Any]


class Redact:
    """The redaction processor: every string value (and list of strings) passes the redactor."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self._redact = Redactor(secrets)

    def __call__(self, logger: Any, method: str, event: EventDict) -> EventDict:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self._redact(value)
            elif isinstance(value, list | tuple):
                event[key] = [self._redact(v) if isinstance(v, str) else v for v in value]
        return event


def _error_line(logger: Any, method: str, event: EventDict) -> EventDict:
    """An exception becomes ``error``: its last line (type and message), never a traceback."""
    info = event.pop("exc_info", None)
    if isinstance(info, tuple) and info[1] is not None:
        event["error"] = f"{type(info[1]).__name__}: {info[1]}"
    return event


def _drop_internals(logger: Any, method: str, event: EventDict) -> EventDict:
    for key in [k for k in event if k.startswith("_")]:
        del event[key]
    return event


_FIRST = ("time", "level", "logger", "message")


def _first_keys(logger: Any, method: str, event: EventDict) -> EventDict:
    """``time``, ``level``, ``logger`` and ``message`` first, as people scan a line."""
    return {**{k: event[k] for k in _FIRST if k in event}, **event}


def processors(fmt: str, secrets: Iterable[str]) -> list[Any]:
    """The chain a record goes through, ending with the renderer of ``fmt``."""
    json = fmt == "json"
    chain: list[Any] = [
        # the message under "message": "event" is one of our own fields (``extra``)
        structlog.processors.EventRenamer("message"),
        structlog.stdlib.ExtraAdder(),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(
            fmt="iso" if json else "%Y-%m-%d %H:%M:%S", utc=True, key="time"
        ),
        _error_line,
        _drop_internals,
        Redact(secrets),
        _first_keys,
    ]
    if json:
        chain.append(structlog.processors.JSONRenderer(ensure_ascii=False, default=str))
    else:
        chain.append(
            structlog.dev.ConsoleRenderer(
                colors=False, event_key="message", timestamp_key="time", pad_event_to=0
            )
        )
    return chain


def configure_logging(
    fmt: str, secrets: Iterable[str], *, stream: TextIO | None = None
) -> logging.Handler:
    """Structured logs on stderr (``json`` or ``text``) for the package (and what the caller
    adds the handler to)."""
    chain = processors(fmt, list(secrets))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=chain[:-1], processors=chain[-1:])
    )
    root = logging.getLogger("sync_incident")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
