"""Logging for the daemon, the server and the trackers: one redaction filter, two formats.

Secrets (API keys, tokens, webhook URLs) never reach a log line: every handler we install
carries a :class:`RedactingFilter`, and :func:`redacting` scrubs httpx's own request lines
(httpx logs full URLs, and a Bugzilla 5.x key travels in the query string).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import quote, urlsplit

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class Redactor:
    """Removes secrets from any text before it reaches output, logs or exceptions."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        found = {s for s in secrets if s and len(s) >= 4}
        for secret in list(found):
            if "://" in secret:  # a webhook URL: its path and query are the secret part
                parts = urlsplit(secret)
                found |= {p for p in (parts.path, parts.query) if len(p) >= 8}
        # the URL-encoded forms too, since a key may travel in a query string
        self._secrets = sorted(found | {quote(s, safe="") for s in found}, key=len, reverse=True)

    def __call__(self, text: object) -> str:
        out = str(text)
        for secret in self._secrets:
            out = out.replace(secret, "[REDACTED]")
        return out


class RedactingFilter(logging.Filter):
    """Redacts the message and every string ``extra`` field of a record."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        for name, value in list(record.__dict__.items()):
            if name in _STANDARD:
                continue
            if isinstance(value, str):
                setattr(record, name, self._redact(value))
            elif isinstance(value, list):
                setattr(record, name, [self._redact(v) for v in value])
        return True


@contextmanager
def redacting(secrets: Iterable[str | None], *names: str) -> Iterator[None]:
    """Scrub ``secrets`` from the named loggers (default: httpx and httpcore) for a while."""
    scrub = RedactingFilter(secrets)
    loggers = [logging.getLogger(n) for n in (names or ("httpx", "httpcore"))]
    for logger in loggers:
        logger.addFilter(scrub)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(scrub)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every ``extra`` field."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(data, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``2026-11-30 10:00:00 INFO    message key=value ...``."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        line = f"{when} {record.levelname:<7} {record.getMessage()}"
        return f"{line} {extras}" if extras else line


def configure_logging(
    fmt: str, secrets: Iterable[str], *, stream: TextIO | None = None
) -> logging.Handler:
    """Structured logs on stderr (``json`` or ``text``) for the package and httpx."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger("sync_incident")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
