"""Chat webhooks: the digest as Slack- or Matrix-compatible JSON to URLs from the environment.

The URLs are secrets: they never reach output, logs or errors (problems name the variable).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from sync_incident.redaction import Redactor, redacting
from sync_incident.trackers.http import make_client

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("sync_incident.digest")


def webhook_payload(text: str, flavor: Literal["slack", "matrix"]) -> dict[str, str]:
    """Incoming-webhook JSON: Slack's ``{"text"}`` or Matrix's ``m.text`` message."""
    if flavor == "matrix":
        return {"msgtype": "m.text", "body": text}
    return {"text": text}


def webhook_flavor(env_name: str, url: str) -> Literal["slack", "matrix"]:
    lowered = (env_name + " " + url).lower()
    return "matrix" if "matrix" in lowered or "/_matrix/" in lowered else "slack"


async def send_webhooks(
    text: str,
    urls: Mapping[str, SecretStr],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[str]:
    """POST the digest to every webhook URL (keyed by the variable it comes from).

    Returns the problems (already redacted: they name the variable, never the URL).
    """
    if not urls:
        return []
    plain = {name: url.get_secret_value() for name, url in urls.items()}
    problems: list[str] = []
    with redacting(plain.values()):
        async with make_client("", transport=transport, timeout=15.0) as client:
            for name, url in plain.items():
                problems.extend(await _send_one(client, name, url, text))
    return problems


async def _send_one(client: httpx.AsyncClient, name: str, url: str, text: str) -> list[str]:
    import httpx

    if not url:
        return [f"webhook variable {name} is not set"]
    redact = Redactor([url])
    payload = webhook_payload(text, webhook_flavor(name, url))
    try:
        response = await client.post(url, json=payload)
    except httpx.HTTPError as exc:
        return [redact(f"webhook {name}: {type(exc).__name__}: {exc}")]
    if response.status_code >= 300:
        return [f"webhook {name}: HTTP {response.status_code}"]
    log.info("webhook sent", extra={"event": "webhook", "webhook": name})
    return []
