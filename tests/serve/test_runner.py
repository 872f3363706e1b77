"""``sync-incident serve`` as a process: started as the README says, it serves, and SIGTERM
drains it (event streams end, the daemon stops) and it exits 0. Other commands never import
the web stack.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sync_incident.cli.app import app
from sync_incident.core.events import HoldRaised, Opened
from tests.test_daemon import post_as

REL = "Firefox 96.0.1"


@pytest.mark.slow  # starts another process
def test_sigterm_drains_open_streams_and_exits_zero(tmp_path: Path) -> None:
    db = tmp_path / "local.sqlite3"
    now = datetime.now(UTC)
    ref = post_as(db, now, "dana", None, Opened(title="Startup crash", releases=[REL], ic="dana"))
    post_as(db, now, "alice", ref, HoldRaised(release=REL, reason="a crash spike"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SYNC_INCIDENT_")},
        "SYNC_INCIDENT_INCIDENTS": '["local:1"]',
        "SYNC_INCIDENT_CACHE": str(tmp_path / "cache.sqlite3"),
    }
    command = [sys.executable, "-c", "from sync_incident.cli import main; main()"]
    args = ["--db", str(db), "serve", "--port", "0", "--log-format", "json"]
    process = subprocess.Popen(
        [*command, *args], env=env, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        assert process.stderr is not None
        url = ""
        deadline = time.monotonic() + 20
        while not url and time.monotonic() < deadline:
            line = process.stderr.readline()
            if line.startswith("{") and json.loads(line).get("event") == "serve":
                url = json.loads(line)["url"]
        assert url.startswith("http://127.0.0.1:"), "the server did not say where it listens"
        with httpx.Client(timeout=10) as client:
            while client.get(url + "/readyz").status_code != 200:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            gate = client.get(
                url + "/api/gate", params={"ref": "local:1", "release": REL, "require": "QA"}
            )
            assert gate.status_code == 409 and "Blocked: alice holds" in gate.json()["reasons"][0]
            with client.stream("GET", url + "/events") as stream:
                lines = stream.iter_lines()
                while not next(lines).startswith("data:"):
                    pass
                process.send_signal(signal.SIGTERM)
                rest = list(lines)  # the stream ends: the server closes it while draining
        assert process.wait(timeout=20) == 0
        assert all(not line.startswith("data:") or line for line in rest)
        log = [json.loads(x) for x in process.stderr.read().splitlines() if x.startswith("{")]
        events = [entry.get("event") for entry in log]
        assert "drain" in events and events[-1] == "exit"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_serve_help_and_a_bad_log_format() -> None:
    runner = CliRunner()
    assert "status page" in runner.invoke(app, ["serve", "--help"]).stdout
    result = runner.invoke(app, ["serve", "--log-format", "xml"])
    assert result.exit_code != 0


@pytest.mark.slow  # starts another process
def test_other_commands_do_not_import_the_web_stack() -> None:
    code = (
        "import sys; from sync_incident.cli.app import app; "
        "print(any(m.split('.')[0] in ('starlette', 'uvicorn', 'prometheus_client', 'sse_starlette', 'structlog', 'nio', 'slack_sdk', 'aiohttp', 'sync_incident.chat') for m in sys.modules) or any(m.startswith('sync_incident.chat') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("port", ["-1", "70000"])
def test_a_port_out_of_range_is_refused(port: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--port", port])
    assert result.exit_code != 0
