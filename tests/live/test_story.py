"""The release-team story through the CLI on a real Bugzilla 5.2, one account per person.

admin (editbugs) opens and runs the incident; alice, bob, beatrice and qa are plain accounts
(no editbugs); releng has editbugs. Each person has their own cache file, like their own
machine. The tool's request log counts what every command costs; the goals are issue 13's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live.server import RELEASE, Command, People, live, whiteboard

pytestmark = live

KEY_CHECKS = ("/rest/user", "/rest/valid_login", "/rest/whoami")
FIRST_TIME = ("/rest/version", *KEY_CHECKS)  # paid once per key (per server) and day


def _steady(command: Command) -> list[str]:
    """What a command cost once its person's version and key check are remembered."""
    assert not [p for p in command.paths() if p.endswith(FIRST_TIME)], command.requests
    return command.paths()


def test_the_release_team_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = People(tmp_path, monkeypatch, capsys)
    R = RELEASE

    opened = people.run("admin", "open", "--bugzilla", "--title", "Startup crash", "-r", R)
    assert opened.code == 0, opened.err
    bug = people.bug_of(opened)
    ref = f"bug {bug}"
    assert whiteboard(bug) == "[incident:active] [ic:admin]"

    held = people.run("alice", "hold", ref, "-r", R, "--reason", "A crash spike on startup")
    assert held.code == 0, held.err
    assert not [p for p in held.paths() if p.startswith("PUT")]  # plain: no PUT bound to fail
    assert "editbugs" in held.err  # ... and it says the whiteboard was left to others

    before = people.run("admin", "gate", ref, "-r", R)
    assert before.code == 1, before.out  # the hold blocks
    assert "[hold]" not in whiteboard(bug)  # the gate reads and never writes
    people.daemon("admin", ref)  # the daemon (admin's key: editbugs) catches the mirror up
    assert whiteboard(bug) == "[incident:active] [ic:admin] [hold]"

    refused = people.run("bob", "release-hold", ref, "-r", R, "--reason", "Looks fine to me")
    assert refused.code == 3, refused.err
    assert not [p for p in refused.paths() if p.endswith(KEY_CHECKS)]  # no key check at all
    assert not [p for p in refused.paths() if not p.startswith("GET")]  # nothing written

    released = people.run("alice", "release-hold", ref, "-r", R, "--reason", "Fixed in build 2")
    assert released.code == 0, released.err
    # the comments and the [hold] history (as the gate reads it), side by side; the comment
    assert sorted(_steady(released)) == [
        f"GET /rest/bug/{bug}/comment",
        f"GET /rest/bug/{bug}/history",
        f"POST /rest/bug/{bug}/comment",
    ]

    for person, team in (("qa", "QA"), ("releng", "Releng")):
        signed = people.run(person, "signoff", ref, "--team", team, "-r", R)
        assert signed.code == 0, signed.err
    assert "[hold]" not in whiteboard(bug)  # releng (editbugs) read it and caught it up

    note = people.run("admin", "note", ref, "--text", "Build 2 is on the release channel.")
    assert note.code == 0, note.err
    assert len(_steady(note)) <= 4  # ≤ 3, plus one read when someone else changed a field

    offered = people.run(
        "admin", "handoff", ref, "--to", "beatrice", "--done", "Build 2 shipped to beta.",
        "--todo", "Watch the crash rate.",
    )  # fmt: skip
    assert offered.code == 0, offered.err
    assert sorted(_steady(offered)) == [
        f"GET /rest/bug/{bug}/comment",
        f"GET /rest/bug/{bug}/history",
        f"POST /rest/bug/{bug}/comment",
    ]

    accepted = people.run("beatrice", "accept", ref)
    assert accepted.code == 0, accepted.err
    assert not [p for p in accepted.paths() if p.startswith("PUT")]
    assert whiteboard(bug) == "[incident:active] [ic:admin]"  # beatrice may not change it

    shown = people.run("releng", "show", ref)
    assert shown.code == 0, shown.err
    assert whiteboard(bug) == "[incident:active] [ic:admin]"  # a read writes nothing
    people.daemon("releng", ref)  # the daemon, with a key that may, catches it up
    assert whiteboard(bug) == "[incident:active] [ic:beatrice]"
    warm = people.run("releng", "show", ref)
    assert warm.paths() == [f"GET /rest/bug/{bug}/comment"]  # warm: one request

    ready = people.run("admin", "gate", ref, "-r", R)
    assert ready.code == 0, ready.out + ready.err
    assert "READY" in ready.out


def test_a_revoked_key_fails_fast_and_is_never_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = People(tmp_path, monkeypatch, capsys)
    from tests.live.server import new_bug

    bug = new_bug("story: a revoked key")
    failed = people.run("revoked", "note", f"bug {bug}", "--text", "Build 2 is on beta.")
    assert failed.code == 77, failed.err
    assert "authentication failed" in failed.err
    refused = [r for r in failed.requests if r.endswith(" 400")]
    # a posting command's cold read sends the comments, the bug and the [hold] history side
    # by side (5.2 does not block an IP for bad keys; on BMO a key never checked goes alone
    # first): each refused once (code 306), never sent again, and nothing after them
    paths = sorted(r.split()[1] for r in refused)
    assert paths == [
        f"/bugzilla/rest/bug/{bug}",
        f"/bugzilla/rest/bug/{bug}/comment",
        f"/bugzilla/rest/bug/{bug}/history",
    ], failed.requests
    assert len(failed.requests) == 3
