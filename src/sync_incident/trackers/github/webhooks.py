"""GitHub's webhook deliveries: ``X-Hub-Signature-256`` and what an issue event is about.

The signature is HMAC-SHA256 of the body with the secret from
``SYNC_INCIDENT_GITHUB_WEBHOOK_SECRET``. A comment deleted or edited whose old text carried
events becomes a :class:`~sync_incident.core.events.Witnessed` event whose id derives from the
delivery's content, so replicas and replays post the same event.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync_incident.core import codec
from sync_incident.core.events import Witnessed, event_id_for
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.github.mirror import LABEL_ACTIVE
from sync_incident.trackers.webhooks import Change, WebhookSource

if TYPE_CHECKING:
    from pydantic import SecretStr

    from sync_incident.config import Settings

EVENTS = {
    "issue_comment": frozenset({"created", "edited", "deleted"}),
    "issues": frozenset({"edited", "labeled", "unlabeled"}),
}


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC-SHA256 of body>`` (compared in constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header[len("sha256=") :].strip().encode())


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` (for tests and tools)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def change_of(event: str, payload: dict[str, Any]) -> Change | None:
    """The change a GitHub delivery describes; None when this server does not act on it."""
    action = payload.get("action")
    if action not in EVENTS.get(event, ()):
        return None
    repo = (payload.get("repository") or {}).get("full_name")
    number = (payload.get("issue") or {}).get("number")
    if not isinstance(repo, str) or not isinstance(number, int) or "/" not in repo:
        return None
    ref = IncidentRef("github", number, repo=repo)
    if event == "issues":
        label = (payload.get("label") or {}).get("name")
        return Change(ref, discover=action == "labeled" and label == LABEL_ACTIVE)
    if action in ("deleted", "edited"):
        witness = _witness(ref, action, payload)
        if witness is not None:
            return Change(ref, witness[0], witness[1])
    return Change(ref)


def _witness(ref: IncidentRef, what: str, payload: dict[str, Any]) -> tuple[Witnessed, str] | None:
    """The witness event for a deleted or edited comment whose old text carried events."""
    comment = payload.get("comment") or {}
    if what == "deleted":
        old = comment.get("body")
    else:
        old = ((payload.get("changes") or {}).get("body") or {}).get("from")
    if not isinstance(old, str) or comment.get("id") is None:
        return None
    events = [e.id for e in codec.parse(old).events]
    if not events:
        return None
    comment_id = str(comment["id"])
    stamp = _time(comment.get("updated_at")) or _time(comment.get("created_at"))
    if stamp is None:
        return None
    key = f"witness:{ref.repo.lower()}#{ref.number}:{comment_id}:{what}"
    by = (payload.get("sender") or {}).get("login") or ""
    # the content must be the same for every replica that receives this delivery: an id
    # seen twice with different content is doubt. An edit has its time; a deletion has none
    # in the payload (the witness's own comment time records when it was reported).
    return (
        Witnessed(
            id=event_id_for(key, stamp),
            what="deleted" if what == "deleted" else "edited",
            comment=comment_id,
            events=events,
            by=str(by),
            at=stamp if what == "edited" else None,
        ),
        key,
    )


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


class GitHubWebhook:
    """GitHub's deliveries: a signature over the body, ``ping``, and a delivery id header."""

    def secret(self, settings: Settings) -> SecretStr | None:
        return settings.github_webhook_secret

    def credential(self, headers: Mapping[str, str], settings: Settings) -> str | None:
        return headers.get("x-hub-signature-256")

    def admits(self, secret: str, credential: str) -> bool:
        return True  # the signature covers the body: checked once it is read

    def verifies(self, secret: str, credential: str, body: bytes) -> bool:
        return signature_ok(secret, body, credential)

    def ping(self, headers: Mapping[str, str]) -> bool:
        return headers.get("x-github-event", "") == "ping"

    def change(self, headers: Mapping[str, str], payload: dict[str, Any]) -> Change | None:
        return change_of(headers.get("x-github-event", ""), payload)

    def delivery(self, headers: Mapping[str, str], body: bytes) -> str:
        return headers.get("x-github-delivery") or hashlib.sha256(body).hexdigest()


WEBHOOK: WebhookSource = GitHubWebhook()
