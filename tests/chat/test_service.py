"""The chat bot inside ``serve``: configured from settings, fed by the daemon, over real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest

from sync_incident.application.act import act
from sync_incident.application.intents import SignOff
from sync_incident.chat.service import chat_of, wanted
from sync_incident.core.errors import ConfigError
from sync_incident.serve.runner import Server, bind
from sync_incident.service import Session
from sync_incident.testing.server import LoopbackServer
from sync_incident.testing.slack import FakeSlack
from tests.chat.world import REL, opened, run, session, settings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C024BE91L"


@pytest.mark.parametrize(
    ("env", "extra", "missing"),
    [
        (
            {"SYNC_INCIDENT_MATRIX_ACCESS_TOKEN": "syt_x"},
            {},
            "[matrix] homeserver, [matrix] user_id",
        ),
        (
            {},
            {"matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:x"}},
            "SYNC_INCIDENT_MATRIX_ACCESS_TOKEN",
        ),
        ({"SYNC_INCIDENT_SLACK_BOT_TOKEN": "xoxb-x"}, {}, "SYNC_INCIDENT_SLACK_SIGNING_SECRET"),
        ({}, {"slack": {"channels": {CHANNEL: "bug 1"}}}, "SYNC_INCIDENT_SLACK_BOT_TOKEN"),
    ],
)
def test_a_half_configured_chat_is_refused_naming_what_is_missing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    extra: dict[str, object],
    missing: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        wanted(settings(tmp_path, "matrix", **extra))
    assert missing in caught.value.message and "README: Chat rooms" in caught.value.hint


def test_without_chat_settings_serve_runs_no_bot(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert wanted(s) == (False, False)
    assert chat_of(s, lambda: Session(s), None) is None  # type: ignore[arg-type]


def test_slack_inside_serve_acts_and_announces_what_the_daemon_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeSlack(SECRET)
    monkeypatch.setenv("SYNC_INCIDENT_SLACK_BOT_TOKEN", fake.token)
    monkeypatch.setenv("SYNC_INCIDENT_SLACK_SIGNING_SECRET", SECRET)
    with LoopbackServer(fake.handler) as slack_api:
        s = settings(tmp_path, "slack", slack={"api_url": f"{slack_api.url}/api/"})
        ref = run(lambda: opened(s))
        s = s.model_copy(update={"incidents": [str(ref)]})
        server = Server(s, lambda: Session(s, as_user="syncbot"))
        sock = bind("127.0.0.1", 0)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        loop = asyncio.new_event_loop()

        def serve() -> None:
            try:
                loop.run_until_complete(server.run(sock))
            finally:
                loop.close()

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            wait_for(lambda: server.daemon.cycles >= 1)
            bind_it = fake.slash("UDANA", CHANNEL, f"bind {ref}")
            answer = httpx.post(url + bind_it.path, content=bind_it.body, headers=bind_it.headers)
            assert answer.status_code == 200
            wait_for(lambda: any("dana binds Slack room" in t for t in fake.texts(CHANNEL)))

            async def quinn_signs() -> None:
                async with session(s, "quinn") as quinn:
                    await act(quinn, ref, SignOff("QA", REL))

            run(quinn_signs)
            loop.call_soon_threadsafe(server.daemon.poke, ref)  # as a tracker's webhook does
            wait_for(lambda: any(t.startswith("QA signs off on") for t in fake.texts(CHANNEL)))
        finally:
            loop.call_soon_threadsafe(server.drain)
            thread.join(timeout=30)
            sock.close()
    texts = fake.texts(CHANNEL)
    assert texts[-1] == "QA signs off on Firefox 96.0.1.\n— quinn on local:1, comment 3"
    assert not thread.is_alive()


def wait_for(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
