"""What the issue mirrors: labels, the assignee and the body block, written only when different."""

from __future__ import annotations

import pytest

from sync_incident.trackers.base import Mirror
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.mirror import (
    STATUS_END,
    STATUS_START,
    replace_status_block,
    strip_status_block,
)
from tests.trackers.contract import run
from tests.trackers.github.world import (
    API,
    ME,
    OTHER,
    REPO,
    WRITES,
    World,
    calls,
    hold_mirror,
    since,
)


def test_labels_added_and_removed_one_by_one_never_put_others_kept(world: World) -> None:
    world.fake.issue(REPO, world.ref.number).labels = ["p1", "incident", "incident:active"]
    tracker = world.tracker()
    run(tracker.post(world.ref, "hold", marker="l-1", mirror=hold_mirror()))
    assert world.fake.issue(REPO, world.ref.number).labels == [
        "p1",
        "incident",
        "incident:active",
        "hold",
    ]
    resolved = Mirror(False, "alice", OTHER, False, "Resolved", status_block="**Resolved**")
    run(tracker.post(world.ref, "resolved", marker="l-2", mirror=resolved))
    assert world.fake.issue(REPO, world.ref.number).labels == [
        "p1",
        "incident",
        "incident:resolved",
    ]
    assert not world.fake.requests("PUT")
    removed = [e.path.rsplit("/", 1)[1] for e in world.fake.requests("DELETE", r"/labels/")]
    assert sorted(removed) == ["hold", "incident:active"]
    added = [e.body for e in world.fake.requests("POST", r"/issues/\d+/labels$")]
    assert added == [{"labels": ["hold"]}, {"labels": ["incident:resolved"]}]


def test_missing_labels_are_created_on_first_use_only(world: World) -> None:
    tracker = world.tracker()
    run(tracker.post(world.ref, "one", marker="c-1", mirror=hold_mirror()))
    created = [e.body["name"] for e in world.fake.requests("POST", r"/repos/[^/]+/[^/]+/labels$")]
    assert sorted(created) == ["hold", "incident", "incident:active"]
    world.fake.issue(REPO, world.ref.number).labels = []  # someone removed them all
    run(tracker.post(world.ref, "two", marker="c-2", mirror=hold_mirror()))
    assert len(world.fake.requests("POST", r"/repos/[^/]+/[^/]+/labels$")) == 3
    assert world.fake.issue(REPO, world.ref.number).labels == [
        "hold",
        "incident",
        "incident:active",
    ]


def test_existing_label_is_fine_when_creating_it(world: World) -> None:
    world.fake.repos[REPO].labels["hold"] = {"color": "000000", "description": "theirs"}
    run(world.tracker().post(world.ref, "x", marker="x-1", mirror=hold_mirror()))
    assert "hold" in world.fake.issue(REPO, world.ref.number).labels
    assert world.fake.repos[REPO].labels["hold"]["description"] == "theirs"


def test_status_block_is_replaced_in_place_rest_of_body_byte_identical(world: World) -> None:
    before = "Intro with trailing spaces  \r\n\r\n"
    after = "\r\nFooter written by a human.\n"
    old_block = f"{STATUS_START}\nold status\n{STATUS_END}"
    world.fake.issue(REPO, world.ref.number).body = before + old_block + after
    tracker = world.tracker()
    run(tracker.post(world.ref, "e", marker="b-1", mirror=hold_mirror("**new** status")))
    body = world.fake.issue(REPO, world.ref.number).body
    assert body == before + f"{STATUS_START}\n\n**new** status\n\n{STATUS_END}" + after
    snap = run(tracker.fetch(world.ref))
    assert not snap.comments[0].edited  # our own block is not an edit of the description


def test_status_block_is_appended_when_absent(world: World) -> None:
    run(world.tracker().post(world.ref, "e", marker="b-2", mirror=hold_mirror("status")))
    body = world.fake.issue(REPO, world.ref.number).body
    assert body == f"Opened by hand.\n\n{STATUS_START}\n\nstatus\n\n{STATUS_END}"
    assert strip_status_block(body).rstrip() == "Opened by hand."


def test_replace_status_block_is_idempotent() -> None:
    once = replace_status_block("text", "block")
    assert replace_status_block(once, "block") == once


def test_assignee_of_a_former_ic_we_set_is_removed_others_kept(world: World) -> None:
    world.fake.issue(REPO, world.ref.number).assignees = ["carol"]
    world.fake.repos[REPO].permissions["carol"] = "write"
    tracker = world.tracker()
    run(tracker.post(world.ref, "ic alice", marker="a-1", mirror=hold_mirror()))
    assert world.fake.issue(REPO, world.ref.number).assignees == ["carol", OTHER]
    me_ic = Mirror(True, "bot", ME, True, "Active", status_block="**Active** · IC alice · hold")
    run(tracker.post(world.ref, "ic me", marker="a-2", mirror=me_ic))
    assert world.fake.issue(REPO, world.ref.number).assignees == ["carol", ME]


# ---------------------------------------------------------------------- the block cannot break out


@pytest.mark.parametrize(
    "reason",
    [
        STATUS_END,
        f"{STATUS_END}\n\n<!-- sync-incident:1 signoff.given 01FAKE {{}} -->",
        f"{STATUS_START} nested",
        "<!-- an unclosed comment",
    ],
)
def test_text_in_the_block_cannot_end_or_open_our_markers(world: World, reason: str) -> None:
    block = f"- **Hold** on Firefox 96.0.1 by alice: {reason}"
    body = replace_status_block("Intro.", block)
    assert body.count(STATUS_START) == 1 and body.count(STATUS_END) == 1
    assert body.startswith("Intro.") and body.endswith(STATUS_END)
    assert replace_status_block(body, block) == body  # stable: no "in doubt forever"
    assert strip_status_block(body).strip() == "Intro."
    tracker = world.tracker()
    run(tracker.post(world.ref, "hold", marker="esc-1", mirror=hold_mirror(block)))
    written = world.fake.issue(REPO, world.ref.number).body or ""
    assert written.count(STATUS_END) == 1
    start = len(world.fake.log)
    run(tracker.post(world.ref, "again", marker="esc-2", mirror=hold_mirror(block)))
    assert [e for e in since(world, start) if e.method == "PATCH"] == []


# ---------------------------------------------------------------------- sync_mirror


def test_sync_mirror_writes_only_what_differs_and_then_costs_nothing(world: World) -> None:
    tracker = world.tracker()
    run(tracker.fetch(world.ref))
    assert run(tracker.sync_mirror(world.ref, hold_mirror())) is True
    assert "hold" in world.fake.issue(REPO, world.ref.number).labels
    start = len(world.fake.log)
    assert run(tracker.sync_mirror(world.ref, hold_mirror())) is False
    assert since(world, start) == []  # the issue as last read agrees: no request at all


def test_sync_mirror_without_push_access_returns_false_and_is_not_tried_again(
    world: World,
) -> None:
    world.fake.repos[REPO].permissions.clear()
    cache = Cache()
    carol = "ghp_carol00000000000000000000000000000000"
    tracker = world.tracker(carol, cache=cache)
    run(tracker.fetch(world.ref))
    assert run(tracker.sync_mirror(world.ref, hold_mirror())) is False
    assert [e.status for e in world.fake.log].count(403) == 1
    start = len(world.fake.log)
    later = world.tracker(carol, cache=cache)  # the next command on the same machine
    run(later.fetch(world.ref))
    assert run(later.sync_mirror(world.ref, hold_mirror())) is False
    assert [e.method for e in since(world, start) if e.method in WRITES] == []


def test_sync_mirror_without_a_token_does_nothing(world: World) -> None:
    assert run(world.tracker(None).sync_mirror(world.ref, hold_mirror())) is False
    assert world.fake.log == []


def test_sync_mirror_after_a_fresh_read_writes_without_reading_again_or_asking_who(
    world: World,
) -> None:
    cache = Cache()
    tracker = world.tracker(cache=cache)
    run(tracker.fetch(world.ref, fresh=True))  # the gate
    start = len(world.fake.log)
    assert run(tracker.sync_mirror(world.ref, hold_mirror())) is True
    sent = calls(since(world, start))
    assert ("GET", f"/repos/{REPO}/issues/{world.ref.number}") not in sent
    assert ("GET", "/user") not in sent
    assert cache.get("incident", f"{API}#{REPO}#{world.ref.number}") is None  # still fresh
