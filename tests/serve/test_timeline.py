"""The incident page's timeline: newest first, every entry whole, the tool's own posts grouped."""

from __future__ import annotations

from datetime import datetime, timedelta

from sync_incident.core.events import (
    DigestPosted,
    HandoffOffered,
    HoldRaised,
    NextStep,
    Note,
    Opened,
    Reminder,
    SignoffGiven,
    StatusUpdate,
)
from sync_incident.serve.timeline import Row, timeline
from sync_incident.serve.when import Moment, moment
from tests.serve.test_view import T0, state_of
from tests.serve.world import REL

OPEN = ("dana", Opened(title="Crash", releases=[REL], ic="dana"))
LONG = " ".join(["The crash is a null dereference in the GPU process at startup."] * 3)


def stamp(at: datetime, person: str) -> Moment:
    return moment(at, T0 + timedelta(hours=3), [(person, "Europe/Berlin")] if person else [])


def summaries(rows: list[Row]) -> list[str]:
    return [r.summary for r in rows]


def test_the_newest_entry_comes_first() -> None:
    state = state_of(
        OPEN,
        ("quinn", SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")),
        ("dana", StatusUpdate(summary="QA verifies the fix.")),
    )
    rows = timeline(state, stamp).rows
    assert summaries(rows) == [
        "dana posted status: QA verifies the fix.",
        f"quinn signed off for QA on {REL}",
        "dana opened the incident (S2); dana is incident commander",
    ]
    assert rows[0].at.utc == "2026-01-12 09:03 UTC"
    assert rows[0].at.people == "10:03 Europe/Berlin for dana"


def test_decisions_only_keeps_holds_sign_offs_handoffs_and_the_opening() -> None:
    state = state_of(
        OPEN,
        ("dana", StatusUpdate(summary="QA verifies the fix.")),
        ("alice", HoldRaised(release=REL, reason="the crash rate doubled")),
        ("dana", Note(text="Crash stats look better on Windows 10.")),
        ("dana", HandoffOffered(to="alice", done="The hold is tracked.", todo="Watch beta.")),
    )
    found = timeline(state, stamp, decisions=True)
    assert [r.type for r in found.rows] == ["handoff.offered", "hold.raised", "opened"]
    assert (found.events, found.decisions, found.decisions_only) == (5, 3, True)
    assert all(r.decision for r in found.rows)


def test_a_long_line_is_whole_and_opens_on_every_word_of_the_event() -> None:
    state = state_of(OPEN, ("dana", Note(text=LONG)))
    row = timeline(state, stamp).rows[0]
    assert row.summary == f"dana: {LONG}"  # the line is never cut: the whole note
    assert next((d.label, d.text) for d in row.details) == ("Text", LONG)
    assert ("Posted by", "dana (account dana)") in [(d.label, d.text) for d in row.details]


def test_a_handoff_opens_on_done_to_do_and_each_next_step() -> None:
    by = T0 + timedelta(hours=5)
    offer = HandoffOffered(
        to="alice",
        done="Both sign-offs are in.",
        todo="Watch the beta crash rate.",
        next_steps=[NextStep(what="Post the next status", owner="alice", by=by)],
    )
    row = timeline(state_of(OPEN, ("dana", offer)), stamp).rows[0]
    words = {d.label: d.text or d.lines for d in row.details}
    assert words["Done"] == "Both sign-offs are in."
    assert words["To do"] == "Watch the beta crash rate."
    assert words["Role"] == "incident commander"
    assert words["Next"] == ["Post the next status — alice, by 2026-01-12 14:00 UTC"]


def test_a_backfilled_event_is_placed_when_it_happened_and_keeps_when_it_was_recorded() -> None:
    early = T0 - timedelta(hours=2)
    state = state_of(OPEN, ("robin", Note(text="The first reports came in.", occurred_at=early)))
    rows = timeline(state, stamp).rows
    assert summaries(rows)[-1] == "robin: The first reports came in."
    assert rows[-1].at.utc == "2026-01-12 07:00 UTC"
    assert rows[-1].backfilled is not None and rows[-1].backfilled.utc == "2026-01-12 09:02 UTC"


def test_the_tools_own_posts_say_what_they_said_and_a_run_of_them_is_one_row() -> None:
    reminder = Reminder(key="r1", kind="update-overdue", to="dana", text="Reminder: post now.")
    digest = DigestPosted(key="d1", text="# Incident digest\n\nNOT READY Firefox 96.0.1.")
    state = state_of(
        OPEN,
        ("incident-bot", reminder),
        (
            "incident-bot",
            Reminder(key="r2", kind="update-overdue", to="dana", text="Reminder: again."),
        ),
        ("incident-bot", digest),
        ("dana", StatusUpdate(summary="Posted.")),
        (
            "incident-bot",
            Reminder(key="r3", kind="handoff-pending", to="alice", text="Reminder: accept."),
        ),
    )
    rows = timeline(state, stamp).rows
    assert summaries(rows)[:3] == [
        "bot reminded alice: Reminder: accept.",
        "dana posted status: Posted.",
        "bot posted a digest and 2 reminders",
    ]
    group = rows[2]
    assert summaries(group.members) == [
        "bot posted a digest: Incident digest",
        "bot reminded dana: Reminder: again.",
        "bot reminded dana: Reminder: post now.",
    ]
    assert group.members[0].details[0].text == "# Incident digest\n\nNOT READY Firefox 96.0.1."


def test_a_rejected_event_says_why() -> None:
    forged = SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")
    state = state_of(OPEN, ("mallory", forged))  # mallory is not in QA
    row = timeline(state, stamp).rows[0]
    assert row.mark == "rejected"
    assert row.details[0].label == "Rejected" and row.details[0].text
