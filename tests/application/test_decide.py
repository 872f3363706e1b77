"""The gate's decision, once: the CLI, ``/api/gate`` and the Action say the same, byte for byte."""

from __future__ import annotations

import asyncio
import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import httpx
import pytest

from sync_incident.application.decide import GateRequest, decide
from sync_incident.cli import app as cli
from sync_incident.config import LocalSettings, load_settings
from sync_incident.core import codec
from sync_incident.core.events import Event, Opened, SignoffGiven
from sync_incident.core.refs import IncidentRef
from sync_incident.serve.runner import Server
from sync_incident.service import Session
from sync_incident.trackers.base import NewIncident
from sync_incident.trackers.local import LocalTracker

REL = "Product 2.0.3"
REF = IncidentRef("local", 1)
POLICY = """
require_ship = true

[people.dana]
[people.quinn]
[people.robin]

[teams.QA]
members = ["quinn"]
[teams.Releng]
members = ["robin"]
[teams.Relman]
members = ["dana"]

[products.Product]
required_signoffs = ["QA", "Releng"]
"""


@pytest.fixture
def incident(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """QA and Releng signed off on Product 2.0.3; the policy requires the ship decision."""
    db = tmp_path / "local.sqlite3"
    monkeypatch.setenv("SYNC_INCIDENT_LOCAL__DB", str(db))
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    record: list[tuple[str, Event]] = [
        ("dana", Opened(title="Crash", releases=[REL], ic="dana")),
        ("quinn", SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")),
        (
            "robin",
            SignoffGiven(team="Releng", release=REL, statement=f"Releng signs off on {REL}."),
        ),
    ]

    async def write() -> None:
        (who, first), *rest = record
        opener = LocalTracker(db, user=who)
        await opener.create(NewIncident(title="Crash", body=codec.render(first), marker=first.id))
        await opener.aclose()
        for who, event in rest:
            tracker = LocalTracker(db, user=who)
            await tracker.post(REF, codec.render(event), marker=event.id)
            await tracker.aclose()

    asyncio.run(write())
    return policy


def cli_gate(policy: Path, *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit) as info:
        cli.main(["--policy", str(policy), "gate", str(REF), "--release", REL, "--json", *extra])
    code = info.value.code
    return (code if isinstance(code, int) else 0), out.getvalue()


def served_gate(policy: Path, params: dict[str, str]) -> httpx.Response:
    settings = load_settings(None, policy_file=policy)
    server = Server(settings, lambda: Session(settings))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            return await client.get("/api/gate", params=params)

    return asyncio.run(go())


def test_the_served_gate_honours_the_policys_ship_decision_as_the_cli_does(
    incident: Path,
) -> None:
    """The defect of issue 19: /api/gate said 200 READY where the CLI said NOT READY."""
    code, printed = cli_gate(incident)
    answer = served_gate(incident, {"ref": str(REF), "release": REL})
    assert code == 1 and answer.status_code == 409
    assert answer.text + "\n" == printed  # byte for byte
    data = answer.json()
    assert (data["ready"], data["ship_required"]) == (False, True)
    assert data["reasons"] == [f'Not ready: Relman has not said "Please ship {REL} to users".']


def test_a_request_cannot_waive_what_the_policy_requires(incident: Path) -> None:
    answer = served_gate(incident, {"ref": str(REF), "release": REL, "require_ship": "false"})
    assert answer.status_code == 409 and answer.json()["ship_required"] is True


def test_decide_resolves_the_request_once(incident: Path) -> None:
    settings = load_settings(None, policy_file=incident)
    settings = settings.model_copy(update={"local": LocalSettings(db=settings.local.db)})

    async def go() -> tuple[bool, list[str]]:
        async with Session(settings, ephemeral=True) as session:
            verdict = await decide(session, GateRequest.of(REF, " product  2.0.3 ", ["qa,Relman"]))
            return verdict.ready, verdict.required

    ready, required = asyncio.run(go())
    assert not ready
    assert required == ["QA", "Releng", "Relman"]  # the policy's, then the request's, once each


def test_the_gate_never_opens_a_cache_file(incident: Path, tmp_path: Path) -> None:
    """A cache file that is garbage cannot fail the gate: the gate has none."""
    garbage = tmp_path / "cache.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    code, printed = cli_gate(incident, "--cache", str(garbage))
    assert code == 1, printed
    assert json.loads(printed)["verdict"] == "not-ready"
    assert garbage.read_bytes() == b"this is not a database" * 100
