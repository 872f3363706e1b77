"""Redaction: secrets (API keys, tokens, webhook URLs) never reach output, logs or exceptions.

:class:`Redactor` removes known secrets from any text, URL-encoded forms included (a Bugzilla
5.x key travels in the query string). Our log lines pass it as one structlog processor
(:mod:`sync_incident.logs`); :func:`redacting` and :class:`RedactingFilter` scrub the records
of httpx's own loggers (httpx logs full URLs) before any handler sees them, ours or not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

MASK = "[REDACTED]"


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

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __call__(self, text: object) -> str:
        out = str(text)
        for secret in self._secrets:
            out = out.replace(secret, MASK)
        return out


class RedactingFilter(logging.Filter):
    """Redacts a record's message and arguments (for loggers whose handlers are not ours)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._redact = Redactor(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
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
