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
    Opened,
    ReleaseAdded,
    Reminder,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
)
from sync_incident.core.fold import fold
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.serve.view import card, commander, href, sign_off_matrix
from tests.serve.world import FOCUS, REL, account, policy

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
REF = IncidentRef("github", 1, repo="acme/releases")


def state_of(*posts: tuple[str, Event], now: datetime = T0 + timedelta(hours=3)) -> IncidentState:
    comments = [
        Comment(str(n), account(who), T0 + timedelta(minutes=n), codec.render(e, "github"), order=n)
        for n, (who, e) in enumerate(posts, 1)
    ]
    return fold(comments, kind="github", policy=policy(), now=now, ref=str(REF), title="Crash")


def seen(state: IncidentState) -> Overview:
    return overview(state, policy(), None, T0)


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
    assert [e.summary for e in view.timeline][-1].startswith("dana posted status")
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
