"""Webhooks: how a backend reads its tracker's deliveries (what changed, and is it genuine).

A backend whose tracker can call us exposes ``WEBHOOK``, a :class:`WebhookSource`; ``serve``
answers ``POST /webhooks/<kind>`` for each (:func:`sync_incident.trackers.webhooks_by_kind`)
and runs the steps in its module docstring, asking the source at each one. The source is pure:
headers, body and payload in, answers out; the server does the reading, replay and posting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sync_incident.core.events import Witnessed
from sync_incident.core.refs import IncidentRef

if TYPE_CHECKING:
    from pydantic import SecretStr

    from sync_incident.config import Settings


@dataclass(frozen=True)
class Change:
    """What a delivery asks of the server: re-read ``ref``, and maybe record a witness first."""

    ref: IncidentRef
    witness: Witnessed | None = None
    key: str = ""  # the witness's idempotency key
    discover: bool = False  # ``ref`` may be a new incident: let the daemon look for it


class WebhookSource(Protocol):
    """One tracker's deliveries: the secret, its checks, and what a payload is about."""

    def secret(self, settings: Settings) -> SecretStr | None:
        """The configured secret; None: this server accepts no deliveries from the tracker."""
        ...

    def credential(self, headers: Mapping[str, str], settings: Settings) -> str | None:
        """The header value that proves the sender knows the secret (None: there is none)."""
        ...

    def admits(self, secret: str, credential: str) -> bool:
        """The check made before the body is read (a shared secret); True when there is none."""
        ...

    def verifies(self, secret: str, credential: str, body: bytes) -> bool:
        """The check made once the body is read (a signature over it); True when there is none."""
        ...

    def ping(self, headers: Mapping[str, str]) -> bool:
        """Whether the delivery only tests the connection (answered, nothing done)."""
        ...

    def change(self, headers: Mapping[str, str], payload: dict[str, Any]) -> Change | None:
        """The change the delivery describes; None when this server does not act on it."""
        ...

    def delivery(self, headers: Mapping[str, str], body: bytes) -> str:
        """The delivery's id, the same for a redelivery (replays are answered, not redone)."""
        ...
