"""What a secret looks like, for text we echo back without knowing it is one.

A key set where it belongs (``SYNC_INCIDENT_BUGZILLA_API_KEY``) is known and redacted by its
value (:class:`~sync_incident.logs.Redactor`). A key put by mistake somewhere else, in
``SYNC_INCIDENT_BUGZILLA__AUTH`` or pasted into an API URL's path, is not known to be one: the
messages that echo a value we reject, or a URL, mask what has a credential's shape instead.
Bugzilla API keys are 40 letters and digits; GitHub tokens are ``ghp_`` and 36 more, or
``github_pat_`` and 82 more. Nothing a person types for a setting looks like that: names,
logins (``@``), releases (spaces), zones and URLs (``/``) all fall outside the shape.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "[REDACTED]"
# one word of 16 or more letters, digits, _ or -, with both letters and digits in it
_CREDENTIAL = re.compile(r"(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{16,}")


def looks_like_credential(text: str) -> bool:
    """Whether ``text`` (one value) has the shape of an API key or a token."""
    return _CREDENTIAL.fullmatch(text.strip()) is not None


def masked_url(url: str) -> str:
    """A URL as it may be shown: no ``user:password@``, credential-shaped path segments and
    query values masked (a token pasted into the path of an API URL stays out of messages)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    path = "/".join(MASK if looks_like_credential(seg) else seg for seg in parts.path.split("/"))
    query = urlencode(
        [(k, MASK if looks_like_credential(v) else v) for k, v in parse_qsl(parts.query)],
        safe="[]",
    )
    return urlunsplit(SplitResult(parts.scheme, netloc, path, query, parts.fragment))
