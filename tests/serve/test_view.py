"""The card view model, pure: verdicts from the one readiness, the matrix, times in zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_incident.application.overview import Overview, overview
from sync_incident.core import codec
from sync_incident.core.comments import Comment
from sync_incident.core.events import (
    Event,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    NextStep,
    Opened,
    ReleaseAdded,
    Reminder,
    Resolved,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
    StepAdded,
    StepUpdated,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Policy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import Doubt, IncidentState
from sync_incident.serve.view import card, commander, doubt_view, href, incident, sign_off_matrix
from tests.serve.world import FOCUS, REL, account, policy

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
REF = IncidentRef("github", 1, repo="acme/releases")


def state_of(
    *posts: tuple[str, Event],
    now: datetime = T0 + timedelta(hours=3),
    rules: Policy | None = None,
) -> IncidentState:
    comments = [
        Comment(str(n), account(who), T0 + timedelta(minutes=n), codec.render(e, "github"), order=n)
        for n, (who, e) in enumerate(posts, 1)
    ]
    return fold(
        comments, kind="github", policy=rules or policy(), now=now, ref=str(REF), title="Crash"
    )


def seen(state: IncidentState, rules: Policy | None = None, now: datetime = T0) -> Overview:
    return overview(state, rules or policy(), None, now)


def shipping() -> Policy:
    """The serve world's policy, where Relman's ship decision is required (robin is Relman)."""
    base = policy()
    teams = {**base.teams, "Relman": Team(members=["robin"])}
    return base.model_copy(update={"teams": teams, "require_ship": True})


NOW = T0 + timedelta(hours=1)
OPEN = ("dana", Opened(title="Crash", releases=[REL, FOCUS], ic="dana"))


def test_the_matrix_shows_signed_stale_revoked_missing_and_not_required() -> None:
    hold = HoldRaised(release=REL, reason="crash")
    state = state_of(
        ("dana", Opened(title="Crash", releases=[REL], ic="dana")),
        ("dana", ReleaseAdded(release=FOCUS, reason="the Focus respin")),
        ("quinn", SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")),
        ("alice", hold),
        ("alice", HoldReleased(release=REL, hold=hold.id, reason="a false alarm")),
        (
            "robin",
            SignoffGiven(team="Releng", release=REL, statement=f"Releng signs off on {REL}."),
        ),
        ("quinn", SignoffGiven(team="QA", release=FOCUS, statement=f"QA signs off on {FOCUS}.")),
        ("quinn", SignoffRevoked(team="QA", release=FOCUS, reason="a new crash signature")),
    )
    teams, rows = sign_off_matrix(seen(state).verdicts)
    assert teams == ["QA", "Releng"]
    assert [[c.status for c in row] for row in rows] == [
        ["stale", "revoked"],
        ["signed", "not required"],
    ]
    assert rows[1][0].detail.startswith("robin, 2026-01-12")


def test_the_card_marks_an_overdue_update_and_keeps_reminders_off_the_latest_events() -> None:
    state = state_of(
        ("dana", Opened(title="Crash", releases=[REL], ic="dana")),
        ("dana", StatusUpdate(summary="QA verifies.", next_update_due=T0 + timedelta(hours=1))),
        ("incident-bot", Reminder(key="k", kind="update-overdue", text="Reminder: please post.")),
    )
    now = T0 + timedelta(hours=2)
    view = card(REF, seen(state), now, events=2)
    assert view.overdue == "OVERDUE by 1 h 00 min"
    assert next(e.summary for e in view.timeline).startswith("dana posted status")  # newest first
    assert view.releases[0].label == "NOT READY"
    assert view.href == "/incidents/github:acme/releases%231" == href(REF)


def test_the_card_says_a_stale_handoff_in_the_words_show_uses() -> None:
    state = state_of(
        ("dana", Opened(title="Crash", releases=[REL], ic="dana")),
        ("dana", HandoffOffered(to="quinn", done="Steps 1-3.", todo="Step 4.")),
    )
    offered = T0 + timedelta(minutes=2)
    for waited, note in (
        (119, ""),
        (4 * 60 + 17, " — STALE, over the 2 h the policy allows"),
    ):
        now = offered + timedelta(minutes=waited)
        view = card(REF, seen(state), now)
        assert [h.stale for h in view.handoffs] == [note]


def test_the_ic_local_time_and_end_of_the_working_day() -> None:
    at_work = commander("dana", policy(), datetime(2026, 1, 12, 13, 0, tzinfo=UTC))
    assert at_work.local == "14:00 Europe/Berlin"
    assert at_work.day == "working day ends 17:00 (in 3 h 00 min)" and not at_work.off
    off = commander("alice", policy(), datetime(2026, 1, 12, 13, 0, tzinfo=UTC))
    assert off.local == "22:00 Asia/Tokyo" and off.off
    assert off.day == "off work; back Tue 09:00 (in 11 h 00 min)"
    assert commander("stranger", policy(), T0).local == ""


def test_an_unread_incident_is_a_card_that_says_so() -> None:
    view = card(REF, None, T0, error="NotFound: no such issue")
    assert view.error == "NotFound: no such issue" and view.releases == []


def test_the_card_links_the_tracker_only_at_a_web_url() -> None:
    state = state_of(("dana", Opened(title="Crash", releases=[REL], ic="dana")))
    for url, shown in (
        ("javascript:alert(1)", ""),
        ("https://github.com/acme/releases/issues/1", "https://github.com/acme/releases/issues/1"),
    ):
        odd = state.model_copy(update={"url": url})
        assert card(REF, seen(odd), T0).url == shown


# --- the incident page ------------------------------------------------------------------------


def test_each_release_says_every_reason_in_order_and_its_ship_decision() -> None:
    rules = shipping()
    hold = HoldRaised(release=REL, reason="the crash rate doubled")
    state = state_of(
        OPEN,
        ("robin", ShipDecision(release=REL, statement=f"Please ship {REL} to users.")),
        ("alice", hold),
        ("robin", ShipDecision(release=FOCUS, statement=f"Please ship {FOCUS} to users.")),
        rules=rules,
    )
    page = incident(REF, seen(state, rules, NOW), NOW)
    first, second = page.card.releases
    assert first.label == "NOT READY"
    assert first.reasons[0].startswith(f"Blocked: alice holds {REL} since 2026-01-12 09:03 UTC")
    assert [r.split(":")[0] for r in first.reasons] == [
        "Blocked",
        "Not ready",
        "Not ready",
        "Not ready",
    ]
    assert first.ship is not None and first.ship.state == "stale"
    assert first.ship.words.startswith("Relman's ship decision is stale: robin's ship decision")
    assert second.ship is not None and second.ship.state == "given"
    assert (second.ship.by, second.ship.statement) == ("robin", f"Please ship {FOCUS} to users.")
    plain = incident(REF, seen(state_of(OPEN)), NOW).card.releases[0].ship
    assert plain is not None and plain.words == "Relman's ship decision: not required, none given"
    wanted = incident(REF, seen(state_of(OPEN, rules=rules), rules), NOW).card.releases[0].ship
    assert wanted is not None and wanted.words == "Relman's ship decision: none yet (required)"


def test_a_hold_says_who_raised_it_and_who_can_release_it() -> None:
    state = state_of(OPEN, ("alice", HoldRaised(release=REL, reason="crash")))
    hold = incident(REF, seen(state), NOW).card.holds[0]
    assert (hold.by, hold.reason, hold.waited) == ("alice", "crash", "58 min")
    assert hold.clears == "alice or the incident commander (dana)"
    assert hold.since.people == "18:02 Asia/Tokyo for alice"
    mine = state_of(OPEN, ("dana", HoldRaised(release=REL, reason="crash")))
    assert incident(REF, seen(mine), NOW).card.holds[0].clears == "dana (the incident commander)"


def test_a_doubt_says_what_it_concerns_and_who_can_check_it() -> None:
    state = state_of(OPEN)
    doubt = Doubt(kind="edited", where="comment 4", author="quinn", detail="edited after posting")
    found = doubt_view(doubt, state)
    assert str(found) == "comment 4 by quinn: edited after posting"
    assert found.clears == "the incident commander (dana)"


def test_the_status_says_what_who_when_and_the_next_update_on_the_ic_clock() -> None:
    due = T0 + timedelta(hours=2)
    update = StatusUpdate(
        summary="QA verifies.", next_update_due=due, next_update_zone="Asia/Tokyo"
    )
    latest = incident(REF, seen(state_of(OPEN, ("dana", update))), NOW).card.latest
    assert (latest.text, latest.by) == ("QA verifies.", "dana")
    assert latest.at is not None and latest.at.relative == "58 min ago"
    assert latest.next_due is not None and latest.next_due.relative == "in 1 h 00 min"
    assert latest.next_due.people == "20:00 Asia/Tokyo; 12:00 Europe/Berlin for dana"
    assert latest.overdue == ""
    late = incident(REF, seen(state_of(OPEN, ("dana", update))), due + timedelta(minutes=12))
    assert late.card.latest.overdue == "OVERDUE by 12 min"


def test_the_checklist_says_its_progress_and_each_owners_clock() -> None:
    due = T0 + timedelta(hours=4)
    state = state_of(
        OPEN,
        ("dana", StepAdded(step="1", title="Land the fix", owner="robin")),
        ("dana", StepAdded(step="2", title="Verify", owner="alice", due=due, due_zone="UTC")),
        ("dana", StepAdded(step="3", title="Ask Relman", owner="dana")),
        ("robin", StepUpdated(step="1", state="done")),
    )
    page = incident(REF, seen(state), NOW)
    assert page.checklist.progress == "1 of 3 done"
    verify = page.checklist.steps[1]
    assert verify.due is not None and verify.due.people == "22:00 Asia/Tokyo for alice"
    assert not verify.overdue
    assert incident(REF, seen(state), due + timedelta(minutes=1)).checklist.steps[1].overdue


def test_a_pending_handoff_has_done_to_do_and_next_steps_on_the_owners_clock() -> None:
    by = T0 + timedelta(hours=2)
    offer = HandoffOffered(
        to="alice",
        done="Both sign-offs are in.",
        todo="Watch the beta crash rate.",
        next_steps=[
            NextStep(what="Post the next status", owner="alice", by=by, by_zone="Europe/Berlin"),
            NextStep(what="Ask Relman"),
        ],
        notify=["Relman"],
    )
    handoff = incident(REF, seen(state_of(OPEN, ("dana", offer))), NOW).card.handoffs[0]
    assert (handoff.done, handoff.todo, handoff.notify) == (
        "Both sign-offs are in.",
        "Watch the beta crash rate.",
        ["Relman"],
    )
    first, second = handoff.next
    assert (first.what, first.owner) == ("Post the next status", "alice")
    assert first.by is not None and first.by.utc == "2026-01-12 11:00 UTC"
    assert first.by.people == "12:00 Europe/Berlin; 20:00 Asia/Tokyo for alice"
    assert (second.what, second.owner, second.by) == ("Ask Relman", "", None)
    assert handoff.recipient is not None and handoff.recipient.local == "19:00 Asia/Tokyo"


def test_a_resolved_incident_links_its_retrospective_and_says_how_it_ended() -> None:
    state = state_of(OPEN, ("dana", Resolved(summary="The fix shipped in 96.0.2.")))
    page = incident(REF, seen(state), NOW, decisions=True)
    assert page.retro == "/retro/github:acme/releases%231" == page.card.retro
    assert page.card.resolution == "The fix shipped in 96.0.2."
    assert page.card.resolved is not None and page.card.resolved.utc == "2026-01-12 09:02 UTC"
    assert page.timeline.decisions_only
    assert incident(REF, seen(state_of(OPEN)), NOW).retro == ""
