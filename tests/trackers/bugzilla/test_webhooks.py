"""bugzilla.mozilla.org's webhook deliveries: the shared secret, and the bug named (pure)."""

from __future__ import annotations

from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla.webhooks import webhook_payload
from sync_incident.trackers.bugzilla.webhooks import WEBHOOK, change_of, shared_secret_ok


def test_a_bugzilla_payload_names_its_bug() -> None:
    change = change_of(webhook_payload(7))
    assert change is not None and change.ref == IncidentRef("bugzilla", 7)


def test_a_payload_without_a_numeric_bug_or_about_an_attachment_is_ignored() -> None:
    assert change_of({"bug": {"id": "7"}, "event": {"target": "bug"}}) is None
    assert change_of(webhook_payload(7, "attachment")) is None
    assert change_of({}) is None


def test_the_shared_secret_is_compared_whole() -> None:
    assert shared_secret_ok("s3cret", " s3cret ")
    assert not shared_secret_ok("s3cret", "s3cret-and-more")
    assert not shared_secret_ok("s3cret", None)


def test_a_retried_delivery_has_the_same_id() -> None:
    assert WEBHOOK.delivery({}, b"{}") == WEBHOOK.delivery({}, b"{}")
    assert WEBHOOK.delivery({}, b"{}") != WEBHOOK.delivery({}, b"[]")
    assert not WEBHOOK.ping({})
