"""Webhook payloads as bugzilla.mozilla.org posts them (``extensions/Push/lib/Connector/Webhook.pm``).

The serve tests deliver them to the status server as BMO would.
"""

from __future__ import annotations


def webhook_payload(bug: int, target: str = "comment") -> dict[str, object]:
    """The shape BMO's webhook connector posts for a change to ``target`` on ``bug``."""
    return {
        "webhook_name": "sync-incident",
        "webhook_id": 7,
        "event": {
            "target": target,
            "action": "create",
            "routing_key": f"{target}.create",
            "time": "2026-01-12T14:03:00",
            "user": {"login": "alice@example.com", "real_name": "Alice"},
        },
        "bug": {"id": bug, "product": "Release Engineering", "component": "General"},
    }
