"""Incidents as a release manager meets them on the pages, told at moments of their own.

:data:`SHORT`: issue #1, Firefox 96.0.1 on a Tuesday morning, read at 09:40 UTC: QA and
Releng signed off, then Alice (Tokyo) held it because the crash rate doubled on beta; Focus
97.0 is READY; Dana (Berlin) is the incident commander, promised the next update for 10:30
UTC and offers the IC role to Alice with next steps; the checklist is one of three done; a
backfilled note, a long note, a reminder and a digest of the daemon's are on the record.
Issue #2 was resolved the day before (it is listed with its retrospective); issue #3 ten
days before (it is not).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sync_incident.config import load_settings
from sync_incident.core.events import (
    DigestPosted,
    Event,
    HandoffOffered,
    HoldRaised,
    NextStep,
    Note,
    Opened,
    Reminder,
    Resolved,
    SignoffGiven,
    StatusUpdate,
    StepAdded,
    StepUpdated,
)
from sync_incident.core.policy import Policy
from sync_incident.trackers.github.mirror import LABEL_ACTIVE, LABEL_RESOLVED
from tests.serve.world import FOCUS, REL, Scene, World

T0 = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # a Tuesday
NOW = T0 + timedelta(hours=1, minutes=40)
NEXT_UPDATE = T0 + timedelta(hours=2, minutes=30)  # 10:30 UTC, 11:30 in Berlin, 19:30 in Tokyo
TITLE = "Firefox 96.0.1: startup crash on Windows"
HOLD_REASON = "the crash rate doubled on beta after the 96.0.1 build; a fix is in review"
LONG_NOTE = (
    "Crash stats: the signature is a null dereference in the GPU process at startup; 80% of "
    "the crashes are on Windows 11 with one driver family, the rest on Windows 10. The fix "
    "from bug 1750001 removes the early call; Releng has a build with it on the try server, "
    "and QA will verify on beta once it lands."
)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def say(world: World, number: int, author: str, event: Event, when: datetime) -> None:
    """Post ``event`` on issue ``number`` as ``author`` at ``when``."""
    world.github.clock.now = when.timestamp() - 1  # type: ignore[attr-defined]
    world.post(number, author, event)  # moves the clock one second on


def _short(world: World) -> None:
    posts: list[tuple[int, str, Event]] = [
        (0, "dana", Opened(title=TITLE, severity="S1", releases=[REL, FOCUS], ic="dana")),
        (
            5,
            "robin",
            Note(
                text="The first crash reports arrived from the nightly crash stats.",
                occurred_at=at(-50),
            ),
        ),
        (20, "quinn", SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")),
        (
            30,
            "robin",
            SignoffGiven(team="Releng", release=REL, statement=f"Releng signs off on {REL}."),
        ),
        (45, "alice", HoldRaised(release=REL, reason=HOLD_REASON)),
        (
            50,
            "quinn",
            SignoffGiven(team="QA", release=FOCUS, statement=f"QA signs off on {FOCUS}."),
        ),
        (
            55,
            "dana",
            StepAdded(
                step="1",
                title="Land the fix for the startup crash",
                owner="robin",
                due=at(4 * 60),
                due_zone="Europe/Berlin",
            ),
        ),
        (
            56,
            "dana",
            StepAdded(step="2", title="Verify the fix on beta", owner="quinn", due=at(6 * 60)),
        ),
        (57, "dana", StepAdded(step="3", title="Ask Relman for the ship decision", owner="dana")),
        (58, "robin", StepUpdated(step="1", state="done")),
        (
            70,
            "incident-bot",
            Reminder(
                key="reminder:update:1",
                kind="update-overdue",
                to="dana",
                text="Reminder: dana, the status update of this incident was due at 09:00 UTC.",
            ),
        ),
        (
            75,
            "dana",
            StatusUpdate(
                summary="The fix is in review; QA verifies it on beta once it lands.",
                next_update_due=NEXT_UPDATE,
                next_update_zone="Europe/Berlin",
            ),
        ),
        (
            80,
            "incident-bot",
            DigestPosted(
                key="digest:1",
                text=f"# Incident digest\n\nNOT READY {REL}: held by alice.\nREADY {FOCUS}.",
            ),
        ),
        (85, "dana", Note(text=LONG_NOTE)),
        (
            90,
            "dana",
            HandoffOffered(
                to="alice",
                done="Both sign-offs are in; the hold and the fix are tracked in the checklist.",
                todo="Watch the beta crash rate; release the hold once QA verifies the fix.",
                next_steps=[
                    NextStep(
                        what="Post the next status update",
                        owner="alice",
                        by=NEXT_UPDATE,
                        by_zone="Asia/Tokyo",
                    ),
                    NextStep(what="Ask Relman for the ship decision", owner="alice"),
                ],
                notify=["Relman"],
            ),
        ),
    ]
    yesterday = T0 - timedelta(days=1)
    old = T0 - timedelta(days=10)
    for number, start in ((2, yesterday), (3, old)):
        release = "Focus 96.2" if number == 2 else "Firefox 95.0.2"
        opened = Opened(title=f"{release} crash", releases=[release], ic="alice")
        say(world, number, "alice", opened, start)
        say(
            world,
            number,
            "alice",
            Resolved(summary=f"{release} shipped with the fix; the crash is gone."),
            start + timedelta(hours=3),
        )
    for minutes, author, event in posts:
        say(world, 1, author, event, at(minutes))


SHORT = Scene(
    tell=_short,
    start=T0,
    now=NOW,
    titles={1: TITLE, 2: "Focus 96.2 crash", 3: "Firefox 95.0.2 crash"},
    labels={1: LABEL_ACTIVE, 2: LABEL_RESOLVED, 3: LABEL_RESOLVED},
)


# --- the long incident: 150 events, three days, 15 people in 15 timezones ---------------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "retro"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_long_incident", FIXTURES / "make_long_incident.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LONG_STORY = _generator()
LONG_CUT = LONG_STORY.at(2, "14:00")  # Sunday afternoon: Dana is IC again, two releases held


def _long(cut: datetime | None) -> Callable[[World], None]:
    def tell(world: World) -> None:
        comments = [c for c in LONG_STORY.comments() if cut is None or c["created_at"] < cut]
        state = "active" if cut is not None else "resolved"
        fake = world.bugzilla
        first = comments[0]
        fake.clock.now = first["created_at"].timestamp()
        fake.next_comment = int(first["id"])  # the ids the story's check names
        number = fake.add_bug(
            LONG_STORY.TITLE,
            creator=first["author"],
            description=first["body"],
            whiteboard=f"[incident:{state}]",
        )
        for c in comments[1:]:
            fake.next_comment = int(c["id"])
            fake.store_comment(
                fake.bugs[number], c["author"], c["body"], private=False, at=c["created_at"]
            )

    return tell


def _long_policy() -> Policy:
    return load_settings(None, policy_file=FIXTURES / "long-policy.toml").policy


LONG = Scene(
    tell=_long(LONG_CUT),
    start=LONG_STORY.DAY0,
    now=LONG_CUT + timedelta(minutes=5),
    policy=_long_policy(),
)
LONG_DONE = Scene(
    tell=_long(None),
    start=LONG_STORY.DAY0,
    now=LONG_STORY.at(3, "18:00"),
    policy=_long_policy(),
)
