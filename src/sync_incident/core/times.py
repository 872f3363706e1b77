"""Times typed on the command line: ISO 8601, ``2022-01-12 14:03 UTC``, or relative ``+90m``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sync_incident.core.errors import UsageError

_RELATIVE = re.compile(r"^\+\s*(\d+(?:\.\d+)?)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """An aware UTC datetime. Times without a zone are UTC (said in every option's help)."""
    raw = text.strip()
    base = now or datetime.now(UTC)
    relative = _RELATIVE.match(raw)
    if relative:
        amount, unit = float(relative[1]), _UNITS[relative[2]]
        return base + timedelta(**{unit: amount})
    cleaned = raw.removesuffix("UTC").removesuffix("utc").strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        raise UsageError(
            f"{text!r} is not a time",
            hint="use '2022-01-12 14:03' (UTC), '2022-01-12T14:03+01:00' or '+90m' / '+2h' / '+1d'",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
