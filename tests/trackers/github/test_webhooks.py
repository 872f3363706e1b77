"""GitHub's webhook deliveries: the signature, and what a payload is about (pure)."""

from __future__ import annotations

from sync_incident.core import codec
from sync_incident.core.events import HoldRaised, Note, Witnessed
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.github import FakeGitHub
from sync_incident.trackers.github.mirror import LABEL_ACTIVE
from sync_incident.trackers.github.webhooks import WEBHOOK, change_of, signature, signature_ok

REPO = "acme/releases"
HOLD = HoldRaised(release="Firefox 96.0.1", reason="the crash rate doubled on the beta channel")


def _fake() -> FakeGitHub:
    fake = FakeGitHub()
    fake.add_user("alice", "t1")
    fake.add_user("mallory", "t2")
    fake.add_repo(REPO)
    fake.add_issue(REPO, "Crash", None, by="alice")
    return fake


def test_signature_check_is_exact() -> None:
    body = b'{"action":"created"}'
    good = signature("s3cret", body)
    assert signature_ok("s3cret", body, good)
    assert not signature_ok("s3cret", body, good.upper())
    assert not signature_ok("s3cret", body, good.replace("sha256=", "sha1="))
    assert not signature_ok("s3cret", body, None)


def test_a_deletion_payload_becomes_a_deterministic_witness_event() -> None:
    fake = _fake()
    comment = fake.add_comment(REPO, 1, codec.render(HOLD, "github"), by="alice")
    payload = fake.webhook(
        "issue_comment", "deleted", REPO, 1, sender="mallory", comment_id=comment.id
    )
    one, two = change_of("issue_comment", payload), change_of("issue_comment", payload)
    assert one is not None and one == two
    assert one.ref == IncidentRef("github", 1, repo=REPO)
    witness = one.witness
    assert isinstance(witness, Witnessed)
    assert (witness.what, witness.comment, witness.events, witness.by) == (
        "deleted",
        str(comment.id),
        [HOLD.id],
        "mallory",
    )
    assert one.key == f"witness:{REPO}#1:{comment.id}:deleted"


def test_an_edit_that_leaves_no_events_behind_is_only_a_reread() -> None:
    fake = _fake()
    note = fake.add_comment(REPO, 1, codec.render(Note(text="Chatter."), "github"), by="alice")
    edited = fake.webhook(
        "issue_comment",
        "edited",
        REPO,
        1,
        sender="alice",
        comment_id=note.id,
        changes={"body": {"from": "no trailer here"}},
    )
    change = change_of("issue_comment", edited)
    assert change is not None and change == change_of("issue_comment", edited)
    assert change.witness is None


def test_the_active_label_asks_the_daemon_to_discover_the_issue() -> None:
    payload = _fake().webhook("issues", "labeled", REPO, 1, sender="alice", label=LABEL_ACTIVE)
    change = change_of("issues", payload)
    assert change is not None and change.discover


def test_the_source_reads_github_headers() -> None:
    body = b"{}"
    headers = {"x-github-event": "ping", "x-hub-signature-256": signature("s", body)}
    assert WEBHOOK.ping(headers)
    assert WEBHOOK.verifies("s", headers["x-hub-signature-256"], body)
    assert WEBHOOK.delivery({"x-github-delivery": "d-1"}, body) == "d-1"
    assert WEBHOOK.delivery({}, body) == WEBHOOK.delivery({}, body) != "d-1"
