"""Webhooks: signatures (valid, invalid, missing), replays, wrong event types, oversized bodies;
a deletion GitHub reports becomes a witness event, and the gate API and the CLI gate agree.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from sync_incident.cli import app as cli
from sync_incident.cli import options as cli_options
from sync_incident.config import ServeSettings
from sync_incident.core.events import HoldRaised, Note, own_id
from sync_incident.serve.webhooks import ReplayStore
from sync_incident.testing.bugzilla.webhooks import webhook_payload as bmo_payload
from sync_incident.trackers.github.webhooks import change_of
from sync_incident.trackers.github.webhooks import signature as github_signature
from tests.serve.world import BZ_SECRET, GITHUB_IDS, REL, REPO, SECRET, World, start, world

__all__ = ["world"]

KEY_1 = f"github:{REPO}#1"
HOLD = HoldRaised(release=REL, reason="the crash rate doubled on the beta channel")


def deliveries(world: World, result: str) -> float:
    return world.server.meter.deliveries[("github", result)]


# --- signatures -----------------------------------------------------------------------------


def test_a_valid_signature_is_accepted_and_rereads_the_incident_at_once(world: World) -> None:
    before = world.reads(KEY_1)
    world.post(1, "alice", HOLD)
    answer = world.deliver(
        "issue_comment", world.payload("issue_comment", "created", 1, sender="alice")
    )
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"result": "poked", "incident": f"{REPO}#1"}
    world.wait_reads(KEY_1, before + 1)
    assert "held by alice" in world.get("/").text


def test_an_invalid_signature_is_refused_and_reads_nothing(world: World) -> None:
    before = world.reads(KEY_1)
    payload = world.payload("issue_comment", "created", 1, sender="alice")
    answer = world.deliver("issue_comment", payload, secret="not-the-secret")
    assert answer.status_code == 401
    assert deliveries(world, "unauthorized") == 1 and deliveries(world, "poked") == 0
    assert world.reads(KEY_1) == before


def test_a_missing_signature_is_refused(world: World) -> None:
    payload = world.payload("issue_comment", "created", 1, sender="alice")
    assert world.deliver("issue_comment", payload, secret=None).status_code == 401


def test_a_signature_over_other_bytes_is_refused(world: World) -> None:
    payload = world.payload("issue_comment", "created", 1, sender="alice")
    body = json.dumps(payload).encode()
    forged = {"X-Hub-Signature-256": github_signature(SECRET, body + b" ")}
    answer = world.deliver("issue_comment", body, secret=None, headers=forged)
    assert answer.status_code == 401


def test_a_replayed_delivery_does_nothing_twice(world: World) -> None:
    payload = world.payload("issue_comment", "created", 1, sender="alice")
    first = world.deliver("issue_comment", payload, delivery="delivery-1")
    world.wait_reads(KEY_1, 2)
    again = world.deliver("issue_comment", payload, delivery="delivery-1")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["result"] == "replayed"
    assert deliveries(world, "poked") == 1


def test_a_captured_delivery_replayed_under_new_delivery_ids_costs_nothing(
    world: World,
) -> None:
    payload = world.payload("issue_comment", "created", 1, sender="alice")
    first = world.deliver("issue_comment", payload, delivery="delivery-1")
    world.wait_reads(KEY_1, 2)
    requests = world.call(lambda: len(world.github.log))
    replays = [world.deliver("issue_comment", payload, delivery=f"forged-{n}") for n in range(20)]
    assert first.status_code == 202
    assert {(r.status_code, r.json()["result"]) for r in replays} == {(200, "replayed")}
    assert deliveries(world, "poked") == 1
    assert world.call(lambda: len(world.github.log)) == requests  # not one re-read


@pytest.mark.parametrize(
    ("event", "action"),
    [("push", "created"), ("issue_comment", "pinned"), ("issues", "opened"), ("star", "created")],
)
def test_an_event_this_server_does_not_act_on_is_ignored(
    world: World, event: str, action: str
) -> None:
    payload = world.payload("issue_comment", "created", 1, sender="alice")
    payload["action"] = action
    answer = world.deliver(event, payload)
    assert answer.status_code == 204
    assert deliveries(world, "ignored") == 1


def test_ping_answers_pong(world: World) -> None:
    answer = world.deliver("ping", {"zen": "Keep it logically awesome.", "hook_id": 1})
    assert answer.status_code == 200 and answer.json()["result"] == "pong"


def test_an_oversized_body_gets_413_unparsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start(tmp_path, monkeypatch, serve=ServeSettings(max_body_bytes=4096))
    try:
        body = b'{"action": "created", "padding": "' + b"x" * 5000 + b'"}'
        answer = running.deliver("issue_comment", body)
        assert answer.status_code == 413
        assert running.server.meter.deliveries[("github", "too-large")] == 1
        # the declared length alone decides: a lying client is cut off while it streams
        streamed = running.client.post(
            running.url + "/webhooks/github",
            content=iter([b"{" + b" " * 3000, b" " * 3000 + b"}"]),
            headers={"X-GitHub-Event": "issue_comment", "X-Hub-Signature-256": "sha256=00"},
        )
        assert streamed.status_code == 413
    finally:
        running.close()


def _stalled(url: str, declared: int = 1000) -> socket.socket:
    """A raw connection that sends headers and ten bytes of a longer body, then nothing."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
    head = (
        "POST /webhooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: issue_comment\r\n"
        f"X-Hub-Signature-256: sha256=00\r\nContent-Length: {declared}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"action":')
    return sock


def _answer_then_closed(sock: socket.socket, within: float) -> tuple[int, bool]:
    """The status the server answered with, and whether it then closed the connection."""
    sock.settimeout(within)
    data = b""
    closed = False
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                closed = True
                break
            data += chunk
    except TimeoutError:
        pass
    finally:
        sock.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, closed


def test_stalled_bodies_are_cut_off_at_the_deadline_and_bounded_in_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve = ServeSettings(body_seconds=0.5, max_pending_bodies=8)
    running = start(tmp_path, monkeypatch, serve=serve)
    try:
        started = time.monotonic()
        stalled = [_stalled(running.url) for _ in range(40)]
        answers = [_answer_then_closed(sock, within=5.0) for sock in stalled]
        elapsed = time.monotonic() - started
        assert all(closed for _, closed in answers)  # no stalled connection stays open
        statuses = [status for status, _ in answers]
        assert set(statuses) <= {408, 503}
        assert 1 <= statuses.count(408) <= 8  # at most max_pending_bodies read at once
        assert statuses.count(503) >= 32
        assert elapsed < 3.0  # the deadline, not the client, ended them
        meter = running.server.meter.deliveries
        assert meter[("github", "too-slow")] == statuses.count(408)
        assert meter[("github", "busy")] == statuses.count(503)
        # the server still takes a real delivery at once
        answer = running.deliver("ping", {"zen": "Keep it logically awesome."})
        assert answer.status_code == 200
        assert running.server.ctx.bodies.reading == 0
    finally:
        running.close()


def test_a_comment_on_an_issue_nobody_watches_is_acknowledged_and_reads_nothing(
    world: World,
) -> None:
    number = world.new_issue("Not an incident")
    world.call(lambda: world.github.add_comment(REPO, number, "A question.", by="alice"))
    answer = world.deliver(
        "issue_comment", world.payload("issue_comment", "created", number, sender="alice")
    )
    assert answer.status_code == 202 and answer.json()["result"] == "not-watched"


# --- deletions and edits are evidence -------------------------------------------------------------


def gate_cli(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    original = cli_options.session_of

    def session(ctx: object, **kwargs: object) -> object:
        s = original(ctx, **kwargs)  # type: ignore[arg-type]
        s.transports = {"github": httpx.MockTransport(world.github.handler)}
        return s

    monkeypatch.setattr(cli_options, "session_of", session)
    policy = world.tmp / "policy.toml"
    policy.write_text(
        "\n".join(
            [
                'witnesses = ["bot"]',
                *(
                    f'[people.{key}]\ngithub = "{login}"\ngithub_id = {GITHUB_IDS[login]}'
                    for key, login in (
                        ("dana", "dana"),
                        ("quinn", "quinn"),
                        ("robin", "robin"),
                        ("alice", "alice"),
                        ("bot", "incident-bot"),
                    )
                ),
                '[teams.QA]\nmembers = ["quinn"]',
                '[teams.Releng]\nmembers = ["robin"]',
                '[products.Firefox]\nrequired_signoffs = ["QA", "Releng"]',
            ]
        ),
        encoding="utf-8",
    )
    args = ["--policy", str(policy), "--cache", str(world.tmp / "cli-cache.sqlite3")]
    with pytest.raises(SystemExit) as info:
        world.call(lambda: None)  # the server is idle: nothing else touches the fake now
        cli.main([*args, "gate", "issue", f"{REPO}#1", "--release", REL, "--json"])
    out = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.out + out.err


def test_a_deleted_hold_reported_by_github_is_doubt_for_the_gate_api_and_the_cli_gate(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hold_comment = world.post(1, "alice", HOLD)
    gate = f"/api/gate?ref={REPO}%231&release={REL}"
    assert world.get(gate).status_code == 409  # held
    # a writer deletes the hold: the last event, so nothing later points at it
    payload = world.payload(
        "issue_comment", "deleted", 1, sender="mallory", comment_id=hold_comment
    )
    world.call(lambda: world.github.delete_comment(hold_comment))
    assert world.get(gate).status_code == 200  # cold, the record alone cannot tell
    answer = world.deliver("issue_comment", payload)
    assert answer.status_code == 202 and answer.json()["result"] == "witnessed"
    verdict = world.get(gate)
    assert verdict.status_code == 409, verdict.text
    data = verdict.json()
    assert data["verdict"] == "in-doubt" and not data["ready"]
    assert any("which carried an event, was deleted by mallory" in r for r in data["reasons"])
    assert not any(HOLD.id in r for r in data["reasons"])  # words for people, no ids
    code, text = gate_cli(world, monkeypatch, capsys)
    assert code == 1, text
    assert json.loads(text[text.index("{") :])["reasons"] == data["reasons"]
    # the page says so too, once the daemon re-read it after the poke
    world.wait_reads(KEY_1, 2)
    assert "IN DOUBT" in world.get("/").text


def test_the_same_deletion_delivered_twice_or_to_two_replicas_is_witnessed_once(
    world: World,
) -> None:
    hold_comment = world.post(1, "alice", HOLD)
    payload = world.payload(
        "issue_comment", "deleted", 1, sender="mallory", comment_id=hold_comment
    )
    world.call(lambda: world.github.delete_comment(hold_comment))
    first = world.deliver("issue_comment", payload, delivery="a")
    world.server.ctx.replays = ReplayStore(10)  # another replica: it saw no delivery yet
    other = world.deliver("issue_comment", payload, delivery="b")  # its copy
    assert first.json()["result"] == "witnessed"
    assert other.json()["result"] == "witnessed-before"
    bodies = [c.body for c in world.call(lambda: world.github.comments_of(REPO, 1))]
    assert sum("sync-incident:1 witness" in b for b in bodies) == 1


def test_an_id_a_stranger_posted_first_never_makes_the_witness_skip(world: World) -> None:
    hold_comment = world.post(1, "alice", HOLD)
    payload = world.payload(
        "issue_comment", "deleted", 1, sender="mallory", comment_id=hold_comment
    )
    change = change_of("issue_comment", payload)
    assert change is not None and change.witness is not None
    # mallory computes the id the server's account will post and takes it first
    bot = f"github:{GITHUB_IDS['incident-bot']}"
    decoy = Note(id=own_id(change.witness.id, bot), text="Nothing to see here.")
    world.post(1, "mallory", decoy)
    world.call(lambda: world.github.delete_comment(hold_comment))
    answer = world.deliver("issue_comment", payload)
    assert answer.json()["result"] == "witnessed"
    bodies = [c.body for c in world.call(lambda: world.github.comments_of(REPO, 1))]
    assert sum("sync-incident:1 witness" in b for b in bodies) == 1
    verdict = world.get(f"/api/gate?ref={REPO}%231&release={REL}")
    assert verdict.status_code == 409 and verdict.json()["verdict"] == "in-doubt"
    assert any("two different events under one identity" in r for r in verdict.json()["reasons"])


def test_an_edit_that_removes_a_trailer_is_witnessed_with_its_time(world: World) -> None:
    hold_comment = world.post(1, "alice", HOLD)
    old = world.call(lambda: world.github.issue(REPO, 1).comments[hold_comment].body)
    world.call(lambda: world.github.edit_comment(hold_comment, "Never mind."))
    payload = world.payload(
        "issue_comment",
        "edited",
        1,
        sender="alice",
        comment_id=hold_comment,
        changes={"body": {"from": old}},
    )
    assert world.deliver("issue_comment", payload).json()["result"] == "witnessed"
    assert world.get(f"/api/gate?ref={REPO}%231&release={REL}").json()["verdict"] == "in-doubt"


def test_a_deleted_comment_without_events_is_only_a_reread(world: World) -> None:
    chatter = world.call(lambda: world.github.add_comment(REPO, 1, "Any news?", by="alice").id)
    payload = world.payload("issue_comment", "deleted", 1, sender="alice", comment_id=chatter)
    world.call(lambda: world.github.delete_comment(chatter))
    assert world.deliver("issue_comment", payload).json()["result"] == "poked"


def test_without_the_witness_role_the_deletion_is_not_recorded_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start(tmp_path, monkeypatch)
    try:
        running.server.settings.policy.witnesses.clear()  # the bot account is no witness
        hold_comment = running.post(1, "alice", HOLD)
        payload = running.payload(
            "issue_comment", "deleted", 1, sender="mallory", comment_id=hold_comment
        )
        answer = running.deliver("issue_comment", payload)
        assert answer.json()["result"] == "not-a-witness"
        bodies = [c.body for c in running.call(lambda: running.github.comments_of(REPO, 1))]
        assert not any("witness" in b for b in bodies)
    finally:
        running.close()


# --- Bugzilla ---------------------------------------------------------------------------------------


def test_a_bugzilla_webhook_with_the_shared_secret_pokes_the_bug(world: World) -> None:
    answer = world.client.post(
        world.url + "/webhooks/bugzilla",
        json=bmo_payload(world.bug),
        headers={"X-Sync-Incident-Secret": BZ_SECRET},
    )
    assert answer.status_code == 202 and answer.json()["incident"] == f"bug {world.bug}"
    again = world.client.post(
        world.url + "/webhooks/bugzilla",
        json=bmo_payload(world.bug),
        headers={"X-Sync-Incident-Secret": BZ_SECRET},
    )
    assert again.json()["result"] == "replayed"


@pytest.mark.parametrize("secret", [None, "wrong", BZ_SECRET + "x"])
def test_a_bugzilla_webhook_without_the_secret_is_refused(world: World, secret: str | None) -> None:
    headers = {} if secret is None else {"X-Sync-Incident-Secret": secret}
    answer = world.client.post(
        world.url + "/webhooks/bugzilla", json=bmo_payload(world.bug), headers=headers
    )
    assert answer.status_code == 401


def test_a_bugzilla_attachment_event_is_ignored(world: World) -> None:
    answer = world.client.post(
        world.url + "/webhooks/bugzilla",
        json=bmo_payload(world.bug, "attachment"),
        headers={"X-Sync-Incident-Secret": BZ_SECRET},
    )
    assert answer.status_code == 204


# --- the pure parts -----------------------------------------------------------------------------


def test_the_replay_store_forgets_the_oldest_first() -> None:
    store = ReplayStore(2)
    assert store.claim("a") and store.claim("b") and not store.claim("a")
    assert store.claim("c")  # "b" is now the oldest and is forgotten
    assert store.claim("b") and len(store) == 2
    store.release("b")
    assert store.claim("b")
