"""bugzilla.mozilla.org's webhook deliveries: a shared secret in a header, and the bug named.

The secret comes from ``SYNC_INCIDENT_BUGZILLA_WEBHOOK_SECRET``, in the header named by
``[serve] bugzilla_secret_header`` (BMO's "API key header"); it is checked before the body is
read.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.webhooks import Change, WebhookSource

if TYPE_CHECKING:
    from pydantic import SecretStr

    from sync_incident.config import Settings


def shared_secret_ok(secret: str, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(secret.encode(), header.strip().encode())


def change_of(payload: dict[str, Any]) -> Change | None:
    """The change a BMO webhook describes (``bug.id``, ``event.target``); None to ignore."""
    event = payload.get("event") or {}
    bug = payload.get("bug") or {}
    target = event.get("target") if isinstance(event, dict) else None
    number = bug.get("id") if isinstance(bug, dict) else None
    if target not in ("bug", "comment") or not isinstance(number, int) or number <= 0:
        return None
    return Change(IncidentRef("bugzilla", number))


class BugzillaWebhook:
    """BMO's deliveries: a shared secret checked before the body is read; no delivery id."""

    def secret(self, settings: Settings) -> SecretStr | None:
        return settings.bugzilla_webhook_secret

    def credential(self, headers: Mapping[str, str], settings: Settings) -> str | None:
        return headers.get(settings.serve.bugzilla_secret_header)

    def admits(self, secret: str, credential: str) -> bool:
        return shared_secret_ok(secret, credential)

    def verifies(self, secret: str, credential: str, body: bytes) -> bool:
        return True  # the shared secret was checked before the body was read

    def ping(self, headers: Mapping[str, str]) -> bool:
        return False

    def change(self, headers: Mapping[str, str], payload: dict[str, Any]) -> Change | None:
        return change_of(payload)

    def delivery(self, headers: Mapping[str, str], body: bytes) -> str:
        # BMO sends no delivery id; a retried delivery is the same bytes
        return hashlib.sha256(body).hexdigest()


WEBHOOK: WebhookSource = BugzillaWebhook()
