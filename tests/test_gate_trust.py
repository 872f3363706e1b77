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
    HandoffAccepted,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Note,
    Opened,
    ReleaseAdded,
    Retracted,
    SignoffGiven,
    SignoffRevoked,
)
from sync_incident.testing.bugzilla import FakeBugzilla, Fault
from sync_incident.testing.github import FakeClock, FakeGitHub

REL = "Firefox 96.0.1"
REPO = "acme/releases"
BZ = "https://bugzilla.example.org"
GH = "https://api.github.com"
GITHUB_IDS = {"dana": 501, "quinn": 502, "alice": 503, "mallory": 504}
POLICY = """
[people.dana]
bugzilla = "dana@example.com"
github = "dana"
github_id = 501
[people.quinn]
bugzilla = "quinn@example.com"
github = "quinn"
github_id = 502
[people.alice]
bugzilla = "alice@example.com"
github = "alice"
github_id = 503
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

    def daemon_reads(self, *ref: str, elsewhere: bool = False) -> None:
        """The daemon reads the incident once and brings its mirror in line (reads never do).

        ``elsewhere``: a daemon on another machine, which never saw what this cache saw.
        """
        import json
        import os

        os.environ["SYNC_INCIDENT_INCIDENTS"] = json.dumps([" ".join(ref)])
        cache = self.cache.with_suffix(".elsewhere") if elsewhere else self.cache
        try:
            code, out, err = self.run("--cache", str(cache), "daemon", "--once")
        finally:
            del os.environ["SYNC_INCIDENT_INCIDENTS"]
        assert code == 0, out + err

    def run(self, *args: str) -> tuple[int, str, str]:
        cache = [] if "--cache" in args else ["--cache", str(self.cache)]
        with pytest.raises(SystemExit) as info:
            cli.main(["--policy", str(self.policy), *cache, *args])
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
    for name, uid in GITHUB_IDS.items():
        gh.add_user(name, f"ghp_{name}000000000000000000000000000000000", uid=uid)
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
    assert "IN DOUBT" in text and "follows an event this reader cannot see" in text
    assert HOLD.id not in text  # words for people, no ids


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_deleting_the_last_github_hold_is_caught_by_the_hold_labels_history(
    world: World, warm: bool
) -> None:
    events = chained(OPEN, QA, HOLD)
    number, ids = on_github(world, *zip(["dana", "quinn", "alice"], events, strict=True))
    # the daemon (dana's token: push access) reads the incident and sets the hold label
    world.daemon_reads("issue", f"{REPO}#{number}")
    assert "hold" in world.github.issue(REPO, number).labels
    if warm:
        world.run("show", "issue", f"{REPO}#{number}")
    clock = world.github.clock
    assert isinstance(clock, FakeClock)
    clock.now += 60
    world.github.delete_comment(ids[2])  # nothing follows the hold: no event can point at it
    code, text = world.gate("issue", f"{REPO}#{number}")
    assert code == 1, text
    assert "IN DOUBT" in text and "hold flag set by dana at" in text
    assert "hold" in world.github.issue(REPO, number).labels  # the gate wrote nothing
    # a daemon that never saw the hold removes the label; the history keeps the doubt
    world.daemon_reads("issue", f"{REPO}#{number}", elsewhere=True)
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
    # the daemon (dana's key: editbugs) reads the incident and writes [hold]
    world.daemon_reads("bug", str(bug))
    assert "[hold]" in world.bugzilla.bugs[bug].whiteboard
    world.bugzilla.clock.advance(600)
    HIDE[how](world.bugzilla, ids[2])  # nothing follows the hold: no gap, no event points at it
    code, text = world.gate("bug", str(bug))  # cold: the gate never reads a cache
    assert code == 1, text
    assert "IN DOUBT" in text and "hold flag set by dana at" in text
    assert "[hold]" in world.bugzilla.bugs[bug].whiteboard  # the gate wrote nothing
    # a daemon that never saw the hold removes the tag; the history keeps the doubt
    world.daemon_reads("bug", str(bug), elsewhere=True)
    assert "[hold]" not in world.bugzilla.bugs[bug].whiteboard
    assert world.gate("bug", str(bug))[0] == 1


@pytest.mark.parametrize("world", ["5.2", "bmo"], indirect=True)
def test_a_released_bugzilla_hold_in_the_whiteboard_history_is_no_doubt(world: World) -> None:
    events = chained(OPEN, HOLD)
    bug, _ = on_bugzilla(world, *zip(["dana", "alice"], events, strict=True))
    world.daemon_reads("bug", str(bug))  # the daemon (dana's key) writes [hold]
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
        world.run("show", "bug", str(bug))  # cached reads; a read writes nothing
    assert history_reads(world.bugzilla) == 0
    start = len(world.bugzilla.log)
    assert world.gate("bug", str(bug))[0] == 1
    assert history_reads(world.bugzilla, start) == 1
    # no cache for the gate: the comments, the bug and the history, side by side (the
    # server's version is not asked before a read)
    assert len(world.bugzilla.log) - start == 3


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


# --- issue 24: READY must survive strangers ----------------------------------------------------


def as_github(monkeypatch: pytest.MonkeyPatch, login: str) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", f"ghp_{login}000000000000000000000000000000000")


def test_an_account_that_took_the_ics_old_login_cannot_release_a_hold(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = chained(OPEN, HOLD, QA)
    number, _ = on_github(world, *zip(["dana", "alice", "quinn"], events, strict=True))
    ref = ("issue", f"{REPO}#{number}")
    # dana renames her account; a stranger registers "dana" and releases alice's hold
    world.github.rename_user("dana", "dana-renamed")
    world.github.add_user("dana", "ghp_impostor00000000000000000000000000000", uid=9001)
    release = HoldReleased(release=REL, hold=HOLD.id, reason="The crash is fixed in build 2.")
    world.github.add_comment(REPO, number, codec.render(release, "github"), by="dana")
    as_github(monkeypatch, "quinn")
    code, text = world.gate(*ref)
    assert code == 1 and "Blocked: alice holds Firefox 96.0.1" in text, text
    code, out, _ = world.run("show", *ref, "--json")
    last = json.loads(out)["timeline"][-1]
    assert (last["actor"], last["accepted"]) == ("dana#9001", False)
    # the renamed account is still dana, the incident commander
    world.github.add_comment(REPO, number, codec.render(release, "github"), by="dana-renamed")
    assert world.gate(*ref)[0] == 0


def test_a_person_without_a_pinned_github_id_cannot_sign_off_and_config_check_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.policy.write_text(POLICY.replace("github_id = 502\n", ""), encoding="utf-8")
    number, _ = on_github(world, *zip(["dana", "quinn"], chained(OPEN, QA), strict=True))
    code, text = world.gate("issue", f"{REPO}#{number}")
    assert code == 1 and "has no sign-off from QA" in text
    code, out, _ = world.run("config", "check")
    assert code == 0
    assert "no pinned github_id (they cannot act on GitHub): quinn;" in out


def test_retracting_and_adding_a_release_again_never_clears_its_hold(world: World) -> None:
    other = "Firefox 96.0.2"
    added = ReleaseAdded(release=other, reason="the respin")
    hold = HoldRaised(release=other, reason="the respin crashes on startup")
    retract = Retracted(event=added.id, reason="Added by mistake, sorry.")
    again = ReleaseAdded(release=other, reason="the respin, again")
    signed = SignoffGiven(team="QA", release=other, statement=f"QA signs off on {other}.")
    events = chained(OPEN, added, hold, retract, again, signed)
    bug, _ = on_bugzilla(
        world, *zip(["dana", "alice", "dana", "alice", "alice", "quinn"], events, strict=True)
    )
    code, out, err = world.run("gate", "bug", str(bug), "--release", other)
    assert code == 1 and f"Blocked: dana holds {other}" in out, out + err


def test_an_anonymous_github_gate_cannot_decide_without_the_edit_check(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    number, _ = on_github(world, *zip(["dana", "quinn"], chained(OPEN, QA), strict=True))
    ref = ("issue", f"{REPO}#{number}")
    assert world.gate(*ref)[0] == 0  # with a token: asked, and nothing was edited
    monkeypatch.delenv("GITHUB_TOKEN")
    code, out, err = world.run("gate", *ref, "--release", REL, "--json")
    assert code == 2, out + err
    assert json.loads(out)["verdict"] == "could-not-decide"
    assert "GraphQL" in err and "GITHUB_TOKEN" in err and "github-edits" in err
    # a policy that accepts the weaker check, and says so
    world.policy.write_text('accept_weaker_checks = ["github-edits"]\n' + POLICY, encoding="utf-8")
    assert world.gate(*ref)[0] == 0


def test_a_bugzilla_without_a_history_route_makes_the_gate_undecided(world: World) -> None:
    bug, _ = on_bugzilla(world, *zip(["dana", "quinn"], chained(OPEN, QA), strict=True))
    world.bugzilla.history_route = False
    code, text = world.gate("bug", str(bug))
    assert code == 2 and "has no bug history route" in text, text
    world.policy.write_text(
        'accept_weaker_checks = ["bugzilla-history"]\n' + POLICY, encoding="utf-8"
    )
    assert world.gate("bug", str(bug))[0] == 0


def test_a_hold_tag_typed_into_the_whiteboard_is_doubt_that_check_can_clear(world: World) -> None:
    bug, _ = on_bugzilla(world, *zip(["dana", "quinn"], chained(OPEN, QA), strict=True))
    assert world.gate("bug", str(bug))[0] == 0
    world.bugzilla.clock.advance(600)
    board = world.bugzilla.bugs[bug].whiteboard
    world.bugzilla.set_whiteboard(bug, "mallory@example.com", f"{board} [hold]")
    code, text = world.gate("bug", str(bug))
    assert code == 1 and "hold flag set by mallory@example.com" in text, text
    # the IC's check sees the same doubt as the gate; clearing it needs the hidden comments
    finding = "As an insider I read every comment: no hold is hidden; mallory typed the tag."
    code, out, err = world.run("check", "bug", str(bug), "--finding", finding)
    assert code == 3, out + err
    assert "after seeing the comments this reader cannot" in err and "--seen-hidden" in err
    code, out, err = world.run("check", "bug", str(bug), "--finding", finding, "--seen-hidden")
    assert code == 0, out + err
    assert world.gate("bug", str(bug))[0] == 0


def test_a_check_the_caller_may_not_make_is_refused_and_names_who_can(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    offer = HandoffOffered(to="alice", done="Steps 1-3 are done.", todo="Step 4 remains.")
    events = chained(OPEN, offer, HandoffAccepted(offer=offer.id), QA)
    number, ids = on_github(world, *zip(["dana", "dana", "alice", "quinn"], events, strict=True))
    ref = ("issue", f"{REPO}#{number}")
    clock = world.github.clock
    assert isinstance(clock, FakeClock)
    clock.now += 60
    world.github.edit_comment(
        ids[1], "Typo fixed. " + world.github.comments_of(REPO, number)[1].body
    )
    assert world.gate(*ref)[0] == 1
    as_github(monkeypatch, "alice")  # alice, now IC, cannot vouch for the handoff to her
    before = len(world.github.comments_of(REPO, number))
    code, out, err = world.run("check", *ref, "--finding", "The edit only fixed a typo.")
    assert code == 3, out + err
    assert f"comment {ids[1]}: dana checks it" in err
    assert len(world.github.comments_of(REPO, number)) == before  # nothing posted
    as_github(monkeypatch, "dana")
    code, out, err = world.run("check", *ref, "--finding", "I fixed the typo myself.")
    assert code == 0, out + err
    assert world.gate(*ref)[0] == 0


def test_a_hold_on_a_release_the_incident_no_longer_names_can_still_be_released(
    world: World,
) -> None:
    other = "Firefox 96.0.2"
    added = ReleaseAdded(release=other, reason="the respin")
    hold = HoldRaised(release=other, reason="the respin crashes on startup")
    retract = Retracted(event=added.id, reason="Added by mistake, sorry.")
    bug, _ = on_bugzilla(
        world,
        *zip(["dana", "alice", "dana", "alice"], chained(OPEN, added, hold, retract), strict=True),
    )
    code, out, err = world.run(
        "release-hold", "bug", str(bug), "--release", other, "--reason", "A false alarm on 96.0.2."
    )
    assert code == 0, out + err
    code, out, _ = world.run("show", "bug", str(bug), "--json")
    assert json.loads(out)["holds"] == []
