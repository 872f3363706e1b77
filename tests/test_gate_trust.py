"""The gate, run as a release workflow runs it, against someone with ordinary tracker access.

Each attack from issue 11 is replayed on the stateful fakes (Bugzilla 5.2, GitHub) and the
local tracker through ``sync-incident gate``: the gate must end NOT READY (1) or COULD NOT
DECIDE (2), never 0, with a cold cache and with a warm one, while the legitimate story
passes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.cli import app as cli
from sync_incident.cli import options as cli_options
from sync_incident.core import codec
from sync_incident.core.events import (
    Event,
    HoldRaised,
    HoldReleased,
    Note,
    Opened,
    SignoffGiven,
    SignoffRevoked,
)
from sync_incident.testing.bugzilla import FakeBugzilla, Fault
from sync_incident.testing.github import FakeClock, FakeGitHub

REL = "Firefox 96.0.1"
REPO = "acme/releases"
BZ = "https://bugzilla.example.org"
GH = "https://api.github.com"
POLICY = """
[people.dana]
bugzilla = "dana@example.com"
github = "dana"
[people.quinn]
bugzilla = "quinn@example.com"
github = "quinn"
[people.alice]
bugzilla = "alice@example.com"
github = "alice"
[teams.QA]
members = ["quinn"]
[products.Firefox]
required_signoffs = ["QA"]
"""


async def _no_sleep(seconds: float) -> None:
    return None


@dataclass
class World:
    bugzilla: FakeBugzilla
    github: FakeGitHub
    policy: Path
    cache: Path
    capsys: pytest.CaptureFixture[str]

    def gate(self, *ref: str, warm: bool = False) -> tuple[int, str]:
        if warm:
            self.run("show", *ref)  # fills the cache; the gate must not trust it
        code, out, err = self.run("gate", *ref, "--release", REL)
        return code, out + err

    def run(self, *args: str) -> tuple[int, str, str]:
        with pytest.raises(SystemExit) as info:
            cli.main(["--policy", str(self.policy), "--cache", str(self.cache), *args])
        captured = self.capsys.readouterr()
        code = info.value.code
        return (code if isinstance(code, int) else 0), captured.out, captured.err


@pytest.fixture
def world(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> Iterator[World]:
    bz = FakeBugzilla(getattr(request, "param", "5.2"))  # indirect: "bmo" for BMO's flavour
    for name in ("dana", "quinn", "alice", "mallory"):
        bz.add_user(f"{name}@example.com", f"{name}-key-00000000000000000000000000")
    gh = FakeGitHub(GH, clock=FakeClock())
    for name in ("dana", "quinn", "alice", "mallory"):
        gh.add_user(name, f"ghp_{name}000000000000000000000000000000000")
    gh.add_repo(REPO, admins=("dana",))
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", BZ)
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA_API_KEY", "dana-key-00000000000000000000000000")
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__LOGIN", "dana@example.com")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_dana000000000000000000000000000000000")
    original = cli_options.session_of

    def session(ctx: Any, **kwargs: Any) -> Any:
        s = original(ctx, **kwargs)
        s.sleep = _no_sleep
        s.transports = {
            "bugzilla": httpx.MockTransport(bz.handler),
            "github": httpx.MockTransport(gh.handler),
        }
        return s

    monkeypatch.setattr(cli_options, "session_of", session)
    yield World(bz, gh, policy, tmp_path / "cache.sqlite3", capsys)


def chained(*events: Event) -> list[Event]:
    out, last = [], None
    for event in events:
        if last is not None:
            event = event.model_copy(update={"follows": last})
        out.append(event)
        last = event.id
    return out


OPEN = Opened(title="Startup crash", releases=[REL], ic="dana")
QA = SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")
HOLD = HoldRaised(release=REL, reason="crash spike on startup")
NOTE = Note(text="Crash reports for Firefox 96.0.1 are attached to bug 1750001.")


def on_bugzilla(world: World, *posts: tuple[str, Event]) -> tuple[int, list[int]]:
    """A bug with one comment per (author, event): returns the bug and the comment ids."""
    (first_author, first), *rest = posts
    bug = world.bugzilla.add_bug(
        creator=f"{first_author}@example.com", description=codec.render(first)
    )
    ids = [world.bugzilla.bugs[bug].comments[0].id]
    for author, event in rest:
        ids.append(world.bugzilla.add_comment(bug, f"{author}@example.com", codec.render(event)))
    return bug, ids


def on_github(world: World, *posts: tuple[str, Event]) -> tuple[int, list[int]]:
    issue = world.github.add_issue(REPO, "Startup crash", "Opened by hand.", by="dana")
    ids = []
    for author, event in posts:
        clock = world.github.clock
        assert isinstance(clock, FakeClock)
        clock.now += 1
        comment = world.github.add_comment(
            REPO, issue.number, codec.render(event, "github"), by=author
        )
        ids.append(comment.id)
    return issue.number, ids


def test_the_legitimate_story_is_ready_on_both_trackers(world: World) -> None:
    story = list(zip(["dana", "quinn"], chained(OPEN, QA), strict=True))
    bug, _ = on_bugzilla(world, *story)
    number, _ = on_github(world, *story)
    assert world.gate("bug", str(bug))[0] == 0
    assert world.gate("issue", f"{REPO}#{number}")[0] == 0


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_deleted_github_hold_followed_by_a_later_event_is_not_ready(
    world: World, warm: bool
) -> None:
    events = chained(OPEN, QA, HOLD, NOTE)
    number, ids = on_github(world, *zip(["dana", "quinn", "alice", "dana"], events, strict=True))
    if warm:
        world.run("show", "issue", f"{REPO}#{number}")
    world.github.delete_comment(ids[2])
    code, text = world.gate("issue", f"{REPO}#{number}")
    assert code == 1, text
    assert "IN DOUBT" in text and HOLD.id in text


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_deleting_the_last_github_hold_is_caught_by_the_hold_labels_history(
    world: World, warm: bool
) -> None:
    events = chained(OPEN, QA, HOLD)
    number, ids = on_github(world, *zip(["dana", "quinn", "alice"], events, strict=True))
    # dana (push access) reads the incident: the mirror catches up and sets the hold label
    assert world.gate("issue", f"{REPO}#{number}")[0] == 1
    assert "hold" in world.github.issue(REPO, number).labels
    if warm:
        world.run("show", "issue", f"{REPO}#{number}")
    clock = world.github.clock
    assert isinstance(clock, FakeClock)
    clock.now += 60
    world.github.delete_comment(ids[2])  # nothing follows the hold: no event can point at it
    code, text = world.gate("issue", f"{REPO}#{number}")
    assert code == 1, text
    assert "IN DOUBT" in text and "hold flag set by dana" in text
    # the catch-up then removes the label, but the history keeps the doubt for every reader
    assert "hold" not in world.github.issue(REPO, number).labels
    assert world.gate("issue", f"{REPO}#{number}")[0] == 1


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_hidden_bugzilla_hold_leaves_a_gap_every_reader_sees(world: World, warm: bool) -> None:
    events = chained(OPEN, QA, HOLD)
    bug, ids = on_bugzilla(world, *zip(["dana", "quinn", "alice"], events, strict=True))
    world.bugzilla.add_comment(bug, "dana@example.com", "Unrelated chatter.")
    if warm:
        world.run("show", "bug", str(bug))
    world.bugzilla.hide_comment(ids[2])
    code, text = world.gate("bug", str(bug), warm=False)
    assert code == 1, text
    assert "comment #2 is not visible" in text


HIDE = {
    "hidden": FakeBugzilla.hide_comment,
    "private": FakeBugzilla.make_private,
    "deleted": FakeBugzilla.delete_comment,  # BMO's tag; upstream has no such tag
}


def history_reads(bugzilla: FakeBugzilla, start: int = 0) -> int:
    """Reads of the bug's history: its own route, or (BMO) with the bug."""
    return sum(
        r.path.endswith("/history") or "history" in ",".join(r.params.get("include_fields", []))
        for r in bugzilla.log[start:]
    )


@pytest.mark.parametrize(
    ("world", "how"),
    [
        ("5.2", "hidden"),
        ("5.2", "private"),
        ("bmo", "hidden"),
        ("bmo", "private"),
        ("bmo", "deleted"),
    ],
    indirect=["world"],
)
def test_hiding_the_last_bugzilla_hold_is_caught_by_the_whiteboard_history(
    world: World, how: str
) -> None:
    events = chained(OPEN, QA, HOLD)
    bug, ids = on_bugzilla(world, *zip(["dana", "quinn", "alice"], events, strict=True))
    # dana (editbugs) reads the incident: the mirror catches up and writes [hold]
    assert world.gate("bug", str(bug))[0] == 1
    assert "[hold]" in world.bugzilla.bugs[bug].whiteboard
    world.bugzilla.clock.advance(600)
    HIDE[how](world.bugzilla, ids[2])  # nothing follows the hold: no gap, no event points at it
    code, text = world.gate("bug", str(bug))  # cold: the gate never reads a cache
    assert code == 1, text
    assert "IN DOUBT" in text and "hold flag set by dana@example.com" in text
    # the catch-up then removes the tag, but the history keeps the doubt for every reader
    assert "[hold]" not in world.bugzilla.bugs[bug].whiteboard
    assert world.gate("bug", str(bug))[0] == 1


@pytest.mark.parametrize("world", ["5.2", "bmo"], indirect=True)
def test_a_released_bugzilla_hold_in_the_whiteboard_history_is_no_doubt(world: World) -> None:
    events = chained(OPEN, HOLD)
    bug, _ = on_bugzilla(world, *zip(["dana", "alice"], events, strict=True))
    assert world.gate("bug", str(bug))[0] == 1  # dana's catch-up writes [hold]
    world.bugzilla.clock.advance(600)
    release = HoldReleased(release=REL, hold=HOLD.id, reason="fixed in build 2", follows=HOLD.id)
    world.bugzilla.add_comment(bug, "alice@example.com", codec.render(release))
    signoff = QA.model_copy(update={"follows": release.id})  # after the hold: not stale
    world.bugzilla.add_comment(bug, "quinn@example.com", codec.render(signoff))
    start = len(world.bugzilla.log)
    code, text = world.gate("bug", str(bug))
    assert code == 0, text
    assert history_reads(world.bugzilla, start) == 1  # the history was read, and agrees
    first = world.bugzilla.bugs[bug].history[0]
    assert (first.added, first.who) == ("[incident:active] [ic:dana] [hold]", "dana@example.com")


def test_only_the_gate_reads_the_bugzilla_history(world: World) -> None:
    events = chained(OPEN, QA, HOLD)
    bug, _ = on_bugzilla(world, *zip(["dana", "quinn", "alice"], events, strict=True))
    for _ in range(3):
        world.run("show", "bug", str(bug))  # cached reads, and the mirror's catch-up
    assert history_reads(world.bugzilla) == 0
    start = len(world.bugzilla.log)
    assert world.gate("bug", str(bug))[0] == 1
    assert history_reads(world.bugzilla, start) == 1
    assert len(world.bugzilla.log) - start == 3  # the comments, the bug, the history


def test_the_gate_cannot_decide_when_the_bugzilla_history_cannot_be_read(world: World) -> None:
    ready = chained(OPEN, QA)
    bug, _ = on_bugzilla(world, *zip(["dana", "quinn"], ready, strict=True))
    assert world.gate("bug", str(bug))[0] == 0
    world.bugzilla.faults.append(Fault("status", "GET", r"/history$", status=503, times=20))
    code, text = world.gate("bug", str(bug))
    assert code == 2, text
    assert "/history" in text and "503" in text


def test_a_trailer_in_the_github_issue_body_is_never_an_event(world: World) -> None:
    number, _ = on_github(world, ("dana", OPEN))
    issue = world.github.issue(REPO, number)
    issue.body = f"Opened by hand.\n\n{codec.trailer(QA, 'github')}"  # quinn's sign-off, forged
    code, text = world.gate("issue", f"{REPO}#{number}")
    assert code == 1 and "has no sign-off from QA" in text


def test_a_poisoned_cache_cannot_make_the_gate_ready(world: World) -> None:
    events = chained(OPEN, HOLD)
    bug, _ = on_bugzilla(world, *zip(["dana", "alice"], events, strict=True))
    assert world.gate("bug", str(bug), warm=True)[0] == 1
    # the cache now holds the bug: drop the hold and forge a QA sign-off in it
    with sqlite3.connect(world.cache) as db:
        rows = db.execute("SELECT key, data FROM entries WHERE ns = 'incident'").fetchall()
        for key, data in rows:
            entry = json.loads(data)
            for comment in entry["comments"]:
                if HOLD.id in comment["body"]:
                    comment["body"] = codec.render(QA)
                    comment["login"] = "quinn@example.com"
                    comment["first_hash"] = ""
            db.execute(
                "UPDATE entries SET data = ? WHERE ns = 'incident' AND key = ?",
                (json.dumps(entry), key),
            )
    code, text = world.gate("bug", str(bug))
    assert code == 1 and "Blocked: alice holds Firefox 96.0.1" in text


def test_one_cache_for_two_bugzilla_servers_never_mixes_their_bugs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = chained(OPEN, QA)
    bug, _ = on_bugzilla(world, *zip(["dana", "quinn"], ready, strict=True))
    assert world.gate("bug", str(bug), warm=True)[0] == 0
    other = FakeBugzilla("5.2")
    other.add_user("dana@example.com", "dana-key-00000000000000000000000000")
    held = chained(Opened(title="Other", releases=[REL], ic="dana"), HOLD)
    other.add_bug(creator="dana@example.com", description=codec.render(held[0]))
    other.add_comment(bug, "dana@example.com", codec.render(held[1]))
    monkeypatch.setenv("SYNC_INCIDENT_BUGZILLA__URL", "https://other.example.org")
    original = cli_options.session_of

    def session(ctx: Any, **kwargs: Any) -> Any:
        s = original(ctx, **kwargs)
        s.transports = {"bugzilla": httpx.MockTransport(other.handler)}
        return s

    monkeypatch.setattr(cli_options, "session_of", session)
    code, out, _ = world.run("show", "bug", str(bug), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["signoffs"] == [] and [h["by"] for h in data["holds"]] == ["dana"]


def test_a_team_member_on_github_can_revoke_the_teams_signoff(world: World, tmp_path: Path) -> None:
    world.policy.write_text(
        POLICY.replace('[teams.QA]\nmembers = ["quinn"]', '[teams.QA]\ngithub_teams = ["acme/qa"]'),
        encoding="utf-8",
    )
    world.github.teams[("acme", "qa")] = {"quinn": "active", "alice": "active"}
    revoke = SignoffRevoked(team="QA", release=REL, reason="A new crash signature in 96.0.1.")
    number, _ = on_github(
        world, *zip(["dana", "quinn", "alice"], chained(OPEN, QA, revoke), strict=True)
    )
    code, text = world.gate("issue", f"{REPO}#{number}")
    assert code == 1 and "was revoked by alice" in text


@pytest.mark.parametrize(
    ("typed", "what"),
    [
        ("Firefox\u200b 96.0.1", "invisible characters (U+200B)"),
        ("Fir\u0435fox 96.0.1", "mixes cyrillic and latin letters"),
    ],
)
def test_a_deceptive_release_name_is_refused_with_a_clear_error(
    world: World, typed: str, what: str
) -> None:
    bug, _ = on_bugzilla(world, ("dana", OPEN))
    code, _, err = world.run("gate", "bug", str(bug), "--release", typed)
    assert code == 2 and what in err and err.count("\n") <= 2


def test_a_ligature_is_the_plain_release(world: World) -> None:
    bug, _ = on_bugzilla(world, *zip(["dana", "quinn"], chained(OPEN, QA), strict=True))
    assert world.run("gate", "bug", str(bug), "--release", "ﬁrefox 96.0.1")[0] == 0


def test_the_gate_gives_up_at_its_deadline_and_says_why(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(500)

    original = cli_options.session_of

    def session(ctx: Any, **kwargs: Any) -> Any:
        s = original(ctx, **kwargs)
        s.transports = {"bugzilla": httpx.MockTransport(slow)}
        return s

    monkeypatch.setattr(cli_options, "session_of", session)
    monkeypatch.setenv("SYNC_INCIDENT_GATE__DEADLINE_SECONDS", "0.3")
    code, _, err = world.run("gate", "bug", "1", "--release", REL)
    assert code == 2
    assert "no answer from https://bugzilla.example.org about bug 1 within 0 s" in err


def test_lone_surrogates_in_comments_never_crash_show_json_or_retro(world: World) -> None:
    bad = Note(text="Crash in the \ud800 module.")
    bug, _ = on_bugzilla(world, *zip(["dana", "alice"], chained(OPEN, bad), strict=True))
    for args in (
        ("show", "bug", str(bug)),
        ("show", "bug", str(bug), "--json"),
        ("retro", "bug", str(bug)),
    ):
        code, out, err = world.run(*args)
        assert code == 0, err
        out.encode("utf-8")
