"""The real Bugzilla 5.2 the live tests run against, and the people who use it.

The server comes from ``../shared/bugzilla-server`` (``.ci/run`` starts it). Its URL is read from
``SYNC_INCIDENT_TEST_BUGZILLA_URL`` and each person's key from ``BUGZILLA_<PERSON>_API_KEY``
*at import time*: the autouse fixture in ``tests/conftest.py`` clears ``SYNC_INCIDENT_*``
before every test. Without the URL every live test is skipped, saying why.

Keys never reach output: they are only passed to the tool through its environment.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

URL = os.environ.get("SYNC_INCIDENT_TEST_BUGZILLA_URL", "").rstrip("/")
PEOPLE = ("admin", "alice", "bob", "beatrice", "qa", "releng")
KEYS = {p: os.environ.get(f"BUGZILLA_{p.upper()}_API_KEY", "") for p in (*PEOPLE, "revoked")}
PRODUCT, COMPONENT = "Release Engineering", "General"
RELEASE = "Firefox 96.0.1"

live = pytest.mark.skipif(
    not URL or not all(KEYS[p] for p in PEOPLE),
    reason="no live Bugzilla: set SYNC_INCIDENT_TEST_BUGZILLA_URL and BUGZILLA_*_API_KEY "
    "(see ../shared/bugzilla-server/README.md; .ci/run starts it)",
)


def login(person: str) -> str:
    return "qa@example.com" if person == "revoked" else f"{person}@example.com"


def transport() -> httpx.AsyncHTTPTransport:
    """No keep-alive: the tests run each call in its own event loop (asyncio.run)."""
    return httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))


def raw(method: str, path: str, person: str = "admin", **kwargs: Any) -> Any:
    """One request straight to the server (to set up and to look), never through the tool."""
    params = dict(kwargs.pop("params", {}))
    params["Bugzilla_api_key"] = KEYS[person]
    with httpx.Client(base_url=URL, timeout=60) as client:
        response = client.request(method, f"/rest{path}", params=params, **kwargs)
    data = response.json()
    assert not (isinstance(data, dict) and data.get("error")), data.get("message")
    return data


def new_bug(summary: str, *, whiteboard: str = "", by: str = "admin") -> int:
    """A bug of our own: ids are not predictable on a shared server."""
    body = {
        "product": PRODUCT,
        "component": COMPONENT,
        "version": "unspecified",
        "op_sys": "All",
        "platform": "All",
        "summary": summary,
        "description": f"Test bug: {summary}",
        "whiteboard": whiteboard,
    }
    return int(raw("POST", "/bug", by, json=body)["id"])


def whiteboard(bug: int) -> str:
    data = raw("GET", f"/bug/{bug}", params={"include_fields": "whiteboard"})
    return str(data["bugs"][0]["whiteboard"])


POLICY = """\
tracker = "bugzilla"

[bugzilla]
product = "Release Engineering"
component = "General"

[people.admin]
bugzilla = "admin@example.com"
[people.alice]
bugzilla = "alice@example.com"
[people.bob]
bugzilla = "bob@example.com"
[people.beatrice]
bugzilla = "beatrice@example.com"
[people.qa]
bugzilla = "qa@example.com"
[people.releng]
bugzilla = "releng@example.com"

[teams.QA]
members = ["qa"]
[teams.Releng]
members = ["releng"]
[teams.Relman]
members = ["admin"]

[products.Firefox]
required_signoffs = ["QA", "Releng"]
"""


@dataclass
class Command:
    """What one CLI command did: its exit code, output and the requests it sent."""

    code: int
    out: str
    err: str
    requests: list[str]  # "METHOD /path STATUS", from the tool's own request log

    def paths(self) -> list[str]:
        """``METHOD /rest/...`` without the base path and the status."""
        found = []
        for line in self.requests:
            method, path, _ = line.split(" ")
            found.append(f"{method} {path[path.index('/rest/') :]}")
        return found


class People:
    """Runs the real CLI in-process as one person at a time, each with their own cache file."""

    def __init__(
        self, tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.tmp = tmp
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.config = tmp / "config.toml"
        self.config.write_text(POLICY)

    def run(self, person: str, *argv: str) -> Command:
        from sync_incident.cli import main

        log = self.tmp / f"requests-{person}.log"
        log.write_text("")
        env = {
            "SYNC_INCIDENT_BUGZILLA__URL": URL,
            "SYNC_INCIDENT_BUGZILLA_API_KEY": KEYS[person],
            "SYNC_INCIDENT_BUGZILLA__LOGIN": login(person),
            "SYNC_INCIDENT_CONFIG": str(self.config),
            "SYNC_INCIDENT_CACHE": str(self.tmp / f"cache-{person}.sqlite3"),
            "SYNC_INCIDENT_REQUEST_LOG": str(log),
        }
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as ended:
            main(list(argv))
        out = self.capsys.readouterr()
        code = ended.value.code if isinstance(ended.value.code, int) else 0
        requests = log.read_text().splitlines()
        for secret in KEYS.values():
            assert not secret or secret not in out.out + out.err + log.read_text()
        return Command(code, out.out, out.err, requests)

    def daemon(self, person: str, ref: str) -> Command:
        """``person`` runs the daemon once on ``ref``: it reads it and brings its mirror in line
        (reading commands never write the mirror)."""
        self.monkeypatch.setenv("SYNC_INCIDENT_INCIDENTS", f'["{ref}"]')
        try:
            ran = self.run(person, "daemon", "--once")
        finally:
            self.monkeypatch.delenv("SYNC_INCIDENT_INCIDENTS")
        assert ran.code == 0, ran.err
        return ran

    @staticmethod
    def bug_of(command: Command) -> int:
        found = re.search(r"bug (\d+)", command.out)
        assert found, command.out
        return int(found[1])
