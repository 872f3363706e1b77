"""The server's routes over a real socket: pages, the JSON API, the gate API, access, health,
metrics; and that a page view never reads the tracker.
"""

from __future__ import annotations

import base64
import json
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sync_incident.config import ServeSettings
from sync_incident.core.events import Link, Note, Resolved
from sync_incident.core.refs import IncidentRef
from sync_incident.serve.pages import CSP
from sync_incident.trackers.github.mirror import LABEL_ACTIVE, LABEL_RESOLVED
from sync_incident.views import incident_json
from tests.serve.scenes import SHORT, say
from tests.serve.world import FOCUS, REL, REPO, World, start, world

__all__ = ["world"]


class Landmarks(HTMLParser):
    """Collects tags, ids and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.scripts = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if tag == "script":
            self.scripts += 1
            if found.get("src"):
                self.external.append(found["src"] or "")
        if tag == "link" and found.get("rel") == "stylesheet":
            self.external.append(found.get("href") or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Landmarks:
    page = Landmarks()
    page.feed(html)
    return page


def test_the_status_page_shows_a_card_per_incident_with_verdicts_holds_and_handoffs(
    world: World,
) -> None:
    answer = world.get("/")
    assert answer.status_code == 200
    page = parse(answer.text)
    text = " ".join(" ".join(page.text).split())
    assert {"header", "main", "footer", "article", "h1", "h2"} <= set(page.tags)
    assert page.tags.count("article") == 3  # two issues and the bug
    assert "READY Firefox 96.0.1" in text
    assert "NOT READY Focus 97.0" in text
    assert "Focus 97.0 held by alice" in text and "crash in the new-tab page" in text
    assert "alice → dana: incident commander" in text and "waiting" in text
    assert "Incident commander dana · their time" in text and "Europe/Berlin" in text
    assert page.external == [] and page.scripts == 1  # self-contained
    assert answer.headers["content-security-policy"] == CSP


def test_the_page_script_is_package_data_allowed_by_its_hash(world: World) -> None:
    import base64
    import hashlib
    from importlib.resources import files

    script = (files("sync_incident") / "templates" / "serve" / "live.js").read_text("utf-8")
    assert "new EventSource" in script
    assert f"<script>{script}</script>" in world.get("/").text
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in CSP


def test_the_sign_off_matrix_says_each_status_in_words(world: World) -> None:
    text = world.get("/").text
    assert "Sign-offs: required teams × releases" in text
    assert '<td class="c-signed"' in text and "✓</span> signed" in text
    assert '<td class="c-missing"><span aria-hidden="true">–</span> missing' in text


def test_the_board_fragment_carries_its_version(world: World) -> None:
    answer = world.get("/?fragment=board")
    version = answer.headers["x-board-version"]
    assert len(version) == 16 and f'data-version="{version}"' in world.get("/").text
    assert "<html" not in answer.text


def test_a_page_view_never_reads_the_tracker(world: World) -> None:
    before = len(world.github.log)
    for path in ("/", "/?fragment=board", f"/incidents/github:{REPO}%231", "/api/incidents"):
        assert world.get(path).status_code == 200
    assert len(world.github.log) == before


def text_of(html: str) -> str:
    return " ".join(" ".join(parse(html).text).split())


def test_the_incident_page_answers_may_it_ship_who_is_in_charge_and_what_next(
    world: World,
) -> None:
    answer = world.get(f"/incidents/{REPO}%232")
    assert answer.status_code == 200
    assert "show --full" not in answer.text and "<pre" not in answer.text  # no text dump
    text = text_of(answer.text)
    assert "May it ship? NOT READY Focus 97.0 Blocked: alice holds Focus 97.0 since" in text
    assert "Not ready: Focus 97.0 has no sign-off from QA." in text
    assert "Relman's ship decision: not required, none given" in text
    assert "Who is in charge Incident commander alice · their time" in text
    assert "Who can release it: alice (the incident commander)." in text
    assert "Handoff waiting: alice → dana (incident commander)" in text
    assert "Done The crash is reproduced. To do Land the fix and verify it on nightly." in text
    assert "Timeline, newest first All 3 events Decisions only (3)" in text
    page = parse(answer.text)
    assert {"header", "main", "footer", "nav", "section", "details", "summary"} <= set(page.tags)


def test_the_timeline_filter_works_without_script(world: World) -> None:
    world.post(2, "alice", Note(text="Crash stats look better on Windows 10."))
    before = world.reads(f"github:{REPO}#2")
    world.deliver("issue_comment", world.payload("issue_comment", "created", 2, sender="alice"))
    world.wait_reads(f"github:{REPO}#2", before + 1)
    every = world.get(f"/incidents/{REPO}%232")
    decisions = world.get(f"/incidents/{REPO}%232?timeline=decisions")
    assert "Crash stats look better" in every.text
    assert "Crash stats look better" not in decisions.text
    assert '?timeline=decisions#timeline" aria-current="page">Decisions only (3)' in decisions.text
    assert '#timeline" aria-current="page">All ' in every.text
    # live updates fetch the same filter; one version for both, so one event stream serves both
    fragment = world.get(f"/incidents/{REPO}%232?fragment=board&timeline=decisions")
    assert "Crash stats look better" not in fragment.text
    version = world.get(f"/incidents/{REPO}%232?fragment=board").headers["x-board-version"]
    assert fragment.headers["x-board-version"] == version
    assert (
        'data-fragment="/incidents/github:acme/releases%232?fragment=board&amp;timeline=decisions"'
        in decisions.text
    )


def test_links_on_the_incident_page_are_live_only_for_http_and_https(world: World) -> None:
    world.post(1, "dana", Link(url="javascript:alert(1)", kind="doc", title="the runbook"))
    world.post(1, "dana", Link(url="https://example.org/patch/7", kind="patch", title="the fix"))
    before = world.reads(f"github:{REPO}#1")
    world.deliver("issue_comment", world.payload("issue_comment", "created", 1, sender="dana"))
    world.wait_reads(f"github:{REPO}#1", before + 1)
    text = world.get(f"/incidents/{REPO}%231").text
    assert 'href="javascript:' not in text.lower()
    assert "doc: the runbook (javascript:alert(1))" in text  # shown, as text
    assert '<a href="https://example.org/patch/7">the fix</a>' in text


def test_the_incident_api_is_exactly_show_json(world: World) -> None:
    answer = world.get(f"/api/incidents/github:{REPO}%232")
    known = world.server.board.find(f"{REPO}#2")
    assert known is not None and known.overview is not None
    assert answer.text == incident_json(known.overview)
    assert answer.json()["releases"][0]["verdict"] == "not-ready"


def test_the_incidents_api_summarises_every_watched_incident(world: World) -> None:
    data = world.get("/api/incidents").json()
    assert data["schema_version"] == 2
    by_ref = {i["ref"]: i for i in data["incidents"]}
    assert by_ref[f"{REPO}#1"]["releases"][0]["ready"] is True
    assert by_ref[f"{REPO}#2"]["holds"][0]["by"] == "alice"
    assert by_ref[f"{REPO}#2"]["pending_handoffs"][0]["to"] == "dana"
    assert by_ref[f"{REPO}#2"]["href"] == f"/api/incidents/github:{REPO}%232"


# --- the gate over HTTP ------------------------------------------------------------------------


def test_the_gate_api_is_200_when_ready_and_reads_fresh(world: World) -> None:
    before = len(world.github.log)
    answer = world.get("/api/gate", params={"ref": f"{REPO}#1", "release": REL})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["ready"] is True and data["required"] == ["QA", "Releng"]
    assert len(world.github.log) > before  # a fresh read, not the board


def test_the_gate_api_is_409_when_not_ready(world: World) -> None:
    answer = world.get("/api/gate", params={"ref": f"{REPO}#2", "release": FOCUS})
    assert answer.status_code == 409
    assert answer.json()["reasons"][0].startswith("Blocked: alice holds Focus 97.0")


def test_the_gate_api_is_409_for_a_release_the_incident_does_not_name(world: World) -> None:
    answer = world.get("/api/gate", params={"ref": f"{REPO}#1", "release": "Firefox 99.0"})
    assert answer.status_code == 409  # not ready, as `gate` exits 1: not "could not decide"
    assert "is not a release of" in answer.json()["reasons"][0]


def test_the_readme_gives_the_gate_apis_status_for_each_case_as_the_code_does() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line
        for line in readme.splitlines()
        if line.startswith(("| 409 |", "| 503 |"))
    }
    assert "a release the incident does not name" in rows["409"]
    assert "missing release" not in rows["503"] and "bad reference" in rows["503"]


def test_the_gate_api_takes_require_and_require_ship_like_the_cli(world: World) -> None:
    params = {"ref": f"{REPO}#1", "release": REL, "require": "Security", "require_ship": "true"}
    data = world.get("/api/gate", params=params).json()
    # a request adds to the policy's teams (QA, Releng), never drops one
    assert data["required"] == ["QA", "Releng", "Security"]
    assert data["ship_required"] is True and not data["ready"]


@pytest.mark.parametrize(
    "ref",
    ["other/repo#1", "https://github.com/someone/private/issues/3"],
    ids=["repo-not-watched", "url-of-a-repo-not-watched"],
)
def test_the_gate_api_reads_nothing_outside_what_the_server_watches(world: World, ref: str) -> None:
    """Whoever holds the page token cannot make the server read any repository or bug."""
    before = len(world.github.log)
    answer = world.get("/api/gate", params={"ref": ref, "release": REL})
    assert answer.status_code == 404, answer.text
    data = answer.json()
    assert (data["ready"], data["verdict"]) == (False, "could-not-decide")
    assert "not on a tracker this server reads" in data["error"]
    assert len(world.github.log) == before


@pytest.mark.parametrize(
    "params",
    [
        {"ref": f"{REPO}#1"},  # no release
        {"ref": "not a reference", "release": REL},
        {"ref": f"{REPO}#1", "release": "Firefox"},  # no version
        {"ref": f"{REPO}#1", "release": REL, "require_ship": "maybe"},
        {"ref": f"{REPO}#77", "release": REL},  # no such issue
    ],
    ids=["no-release", "bad-ref", "no-version", "bad-flag", "missing-issue"],
)
def test_the_gate_api_fails_closed_with_503(world: World, params: dict[str, str]) -> None:
    answer = world.get("/api/gate", params=params)
    assert answer.status_code == 503, answer.text
    data = answer.json()
    assert data["ready"] is False and data["verdict"] == "could-not-decide"
    assert set(data) == {"schema_version", "ready", "verdict", "error", "hint"}  # as gate --json


def test_the_gate_api_fails_closed_when_the_tracker_is_down(world: World) -> None:
    from sync_incident.testing.github import Fault

    world.call(lambda: world.github.faults.extend(Fault("status", status=502) for _ in range(9)))
    answer = world.get("/api/gate", params={"ref": f"{REPO}#1", "release": REL})
    assert answer.status_code == 503 and "could not decide" in answer.json()["error"]


# --- access -----------------------------------------------------------------------------------


def test_with_a_token_pages_and_api_need_it_but_webhooks_and_probes_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = start(tmp_path, monkeypatch, token_env=True)
    try:
        for path in ("/", "/api/incidents", "/metrics", "/events", f"/api/gate?ref={REPO}%231"):
            answer = running.get(path)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"].startswith("Basic")
        bearer = {"Authorization": "Bearer page-token-0123456789"}
        assert running.get("/api/incidents", headers=bearer).status_code == 200
        basic = base64.b64encode(b"anyone:page-token-0123456789").decode()
        assert running.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200
        wrong = {"Authorization": "Bearer page-token-012345678"}
        assert running.get("/", headers=wrong).status_code == 401
        assert running.get("/healthz").status_code == 200
        assert running.get("/readyz").status_code == 200
        ping = running.deliver("ping", {"zen": "Design for failure."})
        assert ping.status_code == 200
    finally:
        running.close()


# --- operations ---------------------------------------------------------------------------------


def test_healthz_and_readyz(world: World) -> None:
    assert world.get("/healthz").text == "ok\n"
    ready = world.get("/readyz")
    assert ready.status_code == 200, ready.text
    data = ready.json()
    assert data["trackers_down"] == [] and data["last_cycle_age_seconds"] >= 0
    assert data["trackers"] == {"bugzilla": {"up": True}, "github": {"up": True}}


def back_off(world: World, *kinds: str) -> None:
    from datetime import timedelta

    def down() -> None:
        for kind in kinds:
            health = world.server.daemon._health(kind)
            health.failures = 2
            health.down_until = world.server.daemon.clock() + timedelta(minutes=5)

    world.call(down)


def test_readyz_stays_ready_while_one_tracker_of_two_is_backed_off(world: World) -> None:
    back_off(world, "bugzilla")
    answer = world.get("/readyz")
    assert answer.status_code == 200, answer.text  # GitHub's incidents and gate still work
    data = answer.json()
    assert data["ready"] is True and data["trackers_down"] == ["bugzilla"]
    assert data["trackers"]["github"] == {"up": True}
    down = data["trackers"]["bugzilla"]
    assert down["up"] is False and down["failures"] == 2 and 0 < down["retry_in_seconds"] <= 300
    assert data["problems"] == []
    assert data["degraded"] == ["tracker bugzilla is unreachable (backing off)"]


def test_readyz_is_503_when_every_tracker_is_backed_off(world: World) -> None:
    back_off(world, "github", "bugzilla")
    answer = world.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["problems"] == ["no tracker is reachable: bugzilla, github (backing off)"]


def test_metrics_in_prometheus_text_format(world: World) -> None:
    world.deliver("ping", {"zen": "Approachable is better than simple."})
    answer = world.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    lines = answer.text.splitlines()
    # prometheus_client writes values as floats and labels in name order
    assert "sync_incident_active_incidents 3.0" in lines
    assert "sync_incident_open_holds 1.0" in lines
    assert "sync_incident_pending_handoffs 1.0" in lines
    assert 'sync_incident_releases{verdict="ready"} 1.0' in lines
    assert any(
        line.startswith('sync_incident_pending_handoff_age_seconds{handoff="')
        and 'incident="acme/releases#2"' in line
        for line in lines
    )
    assert any(
        line.startswith('sync_incident_tracker_requests_total{tracker="github"} ') for line in lines
    )
    assert 'sync_incident_webhook_deliveries_total{result="pong",source="github"} 1.0' in lines
    assert "sync_incident_cycles_total 1.0" in lines
    for line in lines:  # every sample line is NAME{labels} VALUE
        if not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            assert name and float(value) == float(value), line


def test_metrics_name_every_documented_series_with_help_and_type(world: World) -> None:
    lines = world.get("/metrics").text.splitlines()
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    documented = {
        "sync_incident_active_incidents": "gauge",
        "sync_incident_open_holds": "gauge",
        "sync_incident_releases": "gauge",
        "sync_incident_pending_handoffs": "gauge",
        "sync_incident_pending_handoff_age_seconds": "gauge",
        "sync_incident_tracker_requests_total": "counter",
        "sync_incident_tracker_errors_total": "counter",
        "sync_incident_tracker_up": "gauge",
        "sync_incident_cycles_total": "counter",
        "sync_incident_cycle_duration_seconds": "gauge",
        "sync_incident_last_cycle_age_seconds": "gauge",
        "sync_incident_webhook_deliveries_total": "counter",
        "sync_incident_gate_requests_total": "counter",
    }
    types = {line.split()[2]: line.split()[3] for line in lines if line.startswith("# TYPE ")}
    assert types == documented
    assert all(f"`{name}" in readme for name in documented)
    assert all(any(line.startswith(f"# HELP {name} ") for line in lines) for name in documented)


def test_the_events_stream_sends_the_board_version(world: World) -> None:
    version = world.get("/?fragment=board").headers["x-board-version"]
    with world.client.stream("GET", world.url + "/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        seen = ""
        for line in stream.iter_lines():
            seen += line + "\n"
            if line.startswith("data:"):
                break
    assert f"event: version\ndata: {version}" in seen


def test_an_idle_event_stream_gets_keep_alive_comments(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync_incident.serve import app as serve_app

    monkeypatch.setattr(serve_app, "SSE_KEEPALIVE", 0.2)
    seen: list[str] = []
    with world.client.stream("GET", world.url + "/events", timeout=5.0) as stream:
        for line in stream.iter_lines():
            seen.append(line)
            if line.startswith(":"):
                break
    assert seen[0] == "retry: 2000"
    assert seen[-1] == ": keep-alive"
    assert any(line.startswith("event: version") for line in seen)


def test_json_schema_of_the_list_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for key in json.loads('["href", "pending_handoffs", "update_overdue", "releases"]'):
        assert f"`{key}`" in readme


def test_the_status_page_lists_the_incidents_the_trackers_say_were_resolved_lately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a server started after #2 (yesterday) and #3 (ten days ago) were resolved: what it lists
    # comes from the tracker, not from anything a server remembered before a restart
    running = start(tmp_path, monkeypatch, issues=3, discover=True, scene=SHORT)
    try:
        board = running.get("/").text
        listed = board.split('id="resolved-h"')[1]
        assert "Resolved in the last 7 days" in board
        assert '<a href="/incidents/github:acme/releases%232">Focus 96.2 crash</a>' in listed
        assert (
            '<a href="/retro/github:acme/releases%232">Retrospective of acme/releases#2' in listed
        )
        assert "Focus 96.2 shipped with the fix; the crash is gone." in listed
        assert "releases%233" not in board  # resolved ten days ago
        before = len(running.github.log)
        assert running.get("/retro/github:acme/releases%232").status_code == 200
        assert len(running.github.log) == before  # read at discovery, not on demand

        # resolved while serving: the card goes, the incident joins the list
        say(running, 1, "dana", Resolved(summary="The fix shipped in 96.0.2."), SHORT.now)
        payload = running.payload("issue_comment", "created", 1, sender="dana")
        assert running.deliver("issue_comment", payload).status_code == 202
        running.wait_reads(f"github:{REPO}#1", 2)
        labels = running.call(lambda: running.github.repos[REPO].issues[1].labels)
        running.call(lambda: labels.__setitem__(labels.index(LABEL_ACTIVE), LABEL_RESOLVED))
        daemon = running.server.daemon
        running.call(lambda: daemon.poke(IncidentRef("github", 77, repo=REPO), discover=True))
        deadline = time.monotonic() + 5
        while not any(w.ref.number == 1 and w.reads for w in list(daemon.recent.values())):
            assert time.monotonic() < deadline, "discovery did not read the resolved incident"
            time.sleep(0.01)
        board = running.get("/").text
        assert "card-github-acme-releases-1" not in board
        listed = board.split('id="resolved-h"')[1]
        assert listed.index("releases%231") < listed.index("releases%232")  # newest first
        assert "The fix shipped in 96.0.2." in listed
    finally:
        running.close()


def test_resolved_days_zero_lists_no_resolved_incident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve = ServeSettings(resolved_days=0)
    running = start(tmp_path, monkeypatch, issues=3, discover=True, scene=SHORT, serve=serve)
    try:
        board = running.get("/").text
        assert "resolved-h" not in board and "releases%232" not in board
        assert running.server.daemon.recent == {}
    finally:
        running.close()
