"""The state fold: every rule of PRODUCT.md, each in its own test, plus fold properties."""

from __future__ import annotations

import itertools
import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import (
    Event,
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Link,
    NextStep,
    Note,
    Opened,
    Reminder,
    Reopened,
    Resolved,
    RetroNote,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
    StepAdded,
    StepUpdated,
    TakeOver,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Person, Policy, Team
from sync_incident.core.state import IncidentState

T0 = datetime(2022, 1, 12, 14, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=6)
REL = "Firefox 96.0.1"

POLICY = Policy(
    people={
        name: Person(bugzilla=[f"{name}@example.com"])
        for name in ("dana", "alice", "bob", "beatrice", "quinn", "rachel", "morgan")
    },
    teams={
        "QA": Team(members=["quinn", "alice"]),
        "Releng": Team(members=["rachel", "bob"]),
        "Relman": Team(members=["morgan"]),
    },
)

_ids = itertools.count(1)


def c(
    author: str,
    events: Event | Sequence[Event],
    minute: float = 0,
    *,
    edited: bool = False,
    body: str | None = None,
    flavor: codec.Flavor = "plain",
) -> Comment:
    """A comment by ``author`` (a local login) ``minute`` minutes after T0."""
    number = next(_ids)
    return Comment(
        id=str(number),
        author=Account(author),
        created_at=T0 + timedelta(minutes=minute),
        body=body if body is not None else codec.render(events, flavor),
        edited=edited,
        order=int(minute * 60_000) * 1_000_000 + number,  # ids grow with time
    )


def run(*comments: Comment, policy: Policy | None = POLICY, **kw: Any) -> IncidentState:
    return fold(list(comments), kind="local", policy=policy, now=NOW, **kw)


OPEN = Opened(title="Startup crash", releases=[REL], ic="dana")


def opened(*comments: Comment, **kw: Any) -> IncidentState:
    return run(c("dana", OPEN, 0), *comments, **kw)


def entry(state: IncidentState, event: Event) -> Any:
    (found,) = [e for e in state.timeline if e.event_id == event.id]
    return found


def signoff(team: str = "QA", release: str = REL) -> SignoffGiven:
    return SignoffGiven(team=team, release=release, statement=f"{team} signs off on {release}.")


def offer(to: str = "beatrice", **kw: Any) -> HandoffOffered:
    return HandoffOffered(to=to, done="Steps 1 to 3.", todo="Step 4.", **kw)


# --- opening ----------------------------------------------------------------------------------


def test_opening_names_the_first_ic() -> None:
    state = opened()
    assert (state.ic, state.status, state.opened_by) == ("dana", "active", "dana")
    assert state.releases == [REL]


def test_opener_may_name_someone_else_as_first_ic() -> None:
    state = run(c("alice", Opened(title="Crash", ic="bob")))
    assert state.ic == "bob" and state.opened_by == "alice"


def test_events_before_opening_are_rejected() -> None:
    hold = HoldRaised(release=REL, reason="crash")
    state = run(c("alice", hold))
    assert not entry(state, hold).accepted
    assert "not been opened" in entry(state, hold).reason
    assert state.holds == []


def test_second_opening_cannot_change_the_ic() -> None:
    again = Opened(title="Again", ic="bob")
    state = opened(c("bob", again, 1))
    assert state.ic == "dana"
    assert "changes only by handoff" in entry(state, again).reason


# --- trust: actor and time --------------------------------------------------------------------


def test_actor_and_time_come_from_the_comment() -> None:
    hold = HoldRaised(release=REL, reason="crash spike")
    state = opened(c("bob", hold, 30))
    assert state.holds[0].by == "bob"
    assert state.holds[0].at == T0 + timedelta(minutes=30)
    assert entry(state, hold).account == "bob"


def test_actor_and_time_in_the_payload_are_ignored() -> None:
    hold_id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    data = '{"by":"morgan","at":"2000-01-01T00:00:00Z","release":"Firefox 96.0.1","reason":"x"}'
    signed = f"hold.raised {hold_id} {data}"
    trailer = f"[sync-incident:1 {signed} c={zlib.crc32(signed.encode()):08x}]"
    state = opened(c("bob", [], 30, body=f"Hold.\n\n{trailer}"))
    assert [(h.id, h.by, h.at) for h in state.holds] == [
        (hold_id, "bob", T0 + timedelta(minutes=30))
    ]


def test_actor_is_the_policy_person_behind_a_bugzilla_account() -> None:
    hold = HoldRaised(release=REL, reason="crash spike")
    comments = [
        Comment("1", Account("dana@example.com"), T0, codec.render(OPEN)),
        Comment("2", Account("ALICE@example.com"), T0, codec.render(hold)),
    ]
    state = fold(comments, kind="bugzilla", policy=POLICY, now=NOW)
    assert state.holds[0].by == "alice"


def test_comments_are_folded_in_the_trackers_order_not_by_timestamps() -> None:
    opening = c("dana", OPEN, 0)
    hold = HoldRaised(release=REL, reason="crash")
    held = c("alice", hold, 0)
    signoff = SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")
    # the sign-off comes after the hold in the tracker, in the same second
    signed = c("quinn", signoff, 0)
    state = run(signed, held, opening)
    assert entry(state, hold).accepted
    assert [e.event_id for e in state.timeline] == [OPEN.id, hold.id, signoff.id]


# --- duplicates, forgeries, quotes ------------------------------------------------------------


def test_duplicate_event_id_counts_once() -> None:
    hold = HoldRaised(release=REL, reason="crash")
    first, second = c("alice", hold, 1), c("alice", hold, 2)
    state = opened(first, second)
    assert len(state.holds) == 1
    entries = [e for e in state.timeline if e.event_id == hold.id]
    assert [e.accepted for e in entries] == [True, False]
    assert entries[1].reason == f"duplicate of the same event in comment {first.id}"


def test_duplicate_by_another_account_is_still_rejected() -> None:
    hold = HoldRaised(release=REL, reason="crash")
    state = opened(c("alice", hold, 1), c("bob", hold, 2))
    assert state.holds[0].by == "alice"
    assert [e.accepted for e in state.timeline if e.event_id == hold.id] == [True, False]


def test_forged_trailer_from_a_stranger_is_rejected_with_the_reason() -> None:
    forged = signoff("QA")
    state = opened(c("mallory", forged, 1))
    assert state.signoffs == []
    assert entry(state, forged).reason == "mallory#local is not a person in the policy"
    assert entry(state, forged).accepted is False


def test_signoff_by_a_member_of_another_team_is_rejected() -> None:
    forged = signoff("Releng")
    state = opened(c("quinn", forged, 1))
    assert state.signoffs == []
    assert entry(state, forged).reason == "quinn is not a member of Releng"


def test_signoff_by_a_team_member_is_accepted() -> None:
    state = opened(c("quinn", signoff("qa"), 1))
    assert [(s.team, s.by) for s in state.signoffs] == [("QA", "quinn")]


def test_signoff_for_an_unknown_team_is_rejected() -> None:
    forged = signoff("Marketing")
    state = opened(c("quinn", forged, 1))
    assert "no team 'Marketing'" in entry(state, forged).reason


def test_quoted_trailer_is_ignored() -> None:
    quoted = "\n".join("> " + line for line in codec.render(signoff()).split("\n"))
    state = opened(c("quinn", [], 1, body=f"Replying:\n{quoted}\n\nThanks."))
    assert state.signoffs == []
    assert len(state.timeline) == 1


def test_later_signoff_by_the_same_team_replaces_the_earlier() -> None:
    state = opened(c("quinn", signoff(), 1), c("alice", signoff(), 2))
    assert [s.by for s in state.signoffs] == ["alice"]


# --- handoffs ---------------------------------------------------------------------------------


def test_offer_keeps_the_old_ic_until_accepted() -> None:
    state = opened(c("dana", offer(), 10))
    assert state.ic == "dana"
    assert [h.status for h in state.handoffs] == ["pending"]


def test_accepted_handoff_changes_the_ic() -> None:
    o = offer()
    state = opened(c("dana", o, 10), c("beatrice", HandoffAccepted(offer=o.id), 20))
    assert state.ic == "beatrice"
    assert state.ic_since == T0 + timedelta(minutes=20)
    assert [(t.ic, t.until) for t in state.ic_history] == [
        ("dana", T0 + timedelta(minutes=20)),
        ("beatrice", None),
    ]


def test_declined_handoff_keeps_the_ic() -> None:
    o = offer()
    decline = HandoffDeclined(offer=o.id, reason="I am off tomorrow.")
    state = opened(c("dana", o, 10), c("beatrice", decline, 20))
    assert state.ic == "dana"
    assert state.handoffs[0].status == "declined"
    assert state.handoffs[0].decline_reason == "I am off tomorrow."


def test_only_the_recipient_can_accept() -> None:
    o = offer()
    accept = HandoffAccepted(offer=o.id)
    state = opened(c("dana", o, 10), c("bob", accept, 20))
    assert state.ic == "dana"
    assert entry(state, accept).reason == (
        "only beatrice, the recipient, can answer the handoff from dana"
    )


def test_only_the_recipient_can_decline() -> None:
    o = offer()
    decline = HandoffDeclined(offer=o.id)
    state = opened(c("dana", o, 10), c("bob", decline, 20))
    assert state.handoffs[0].status == "pending"
    assert not entry(state, decline).accepted


def test_offer_by_a_non_ic_is_rejected() -> None:
    o = offer()
    state = opened(c("bob", o, 10))
    assert state.handoffs == []
    assert entry(state, o).reason == "only the incident commander (dana) can hand off the IC role"


def test_offer_to_the_current_ic_is_rejected() -> None:
    o = offer(to="dana")
    state = opened(c("dana", o, 10))
    assert "already the incident commander" in entry(state, o).reason


def test_offer_to_someone_outside_the_policy_is_rejected() -> None:
    o = offer(to="zed")
    state = opened(c("dana", o, 10))
    assert entry(state, o).reason == "zed is not a person in the policy"


def test_new_offer_supersedes_the_pending_one() -> None:
    first, second = offer("beatrice"), offer("bob")
    state = opened(c("dana", first, 10), c("dana", second, 11))
    assert [(h.to, h.status) for h in state.handoffs] == [
        ("beatrice", "superseded"),
        ("bob", "pending"),
    ]


def test_superseded_offer_cannot_be_accepted() -> None:
    first, second = offer("beatrice"), offer("bob")
    accept = HandoffAccepted(offer=first.id)
    state = opened(c("dana", first, 10), c("dana", second, 11), c("beatrice", accept, 12))
    assert state.ic == "dana"
    assert "superseded, not pending" in entry(state, accept).reason


def test_accepting_an_unknown_handoff_is_rejected() -> None:
    accept = HandoffAccepted(offer="01ARZ3NDEKTSV4RRFFQ69G5FAV")
    state = opened(c("beatrice", accept, 12))
    assert "there is no handoff" in entry(state, accept).reason


def test_accepting_twice_is_rejected() -> None:
    o = offer()
    again = HandoffAccepted(offer=o.id)
    state = opened(
        c("dana", o, 10), c("beatrice", HandoffAccepted(offer=o.id), 11), c("beatrice", again, 12)
    )
    assert "accepted, not pending" in entry(state, again).reason


def test_handoff_of_steps_moves_the_steps_not_the_ic() -> None:
    o = offer(role="steps", steps=["4"])
    state = opened(
        c("dana", StepAdded(step="4", title="Verify", owner="dana"), 1),
        c("dana", o, 2),
        c("beatrice", HandoffAccepted(offer=o.id), 3),
    )
    assert state.ic == "dana"
    assert state.checklist[0].owner == "beatrice"


def test_handoff_of_an_unknown_step_is_rejected() -> None:
    o = offer(role="steps", steps=["9"])
    state = opened(c("dana", o, 2))
    assert entry(state, o).reason == "there is no checklist step 9"


def test_pending_handoff_waits_until_now() -> None:
    state = opened(c("dana", offer(), 60))
    assert state.handoffs[0].waited_minutes == 5 * 60  # NOW is T0 + 6 h


def test_answered_handoff_waited_until_the_answer() -> None:
    o = offer()
    state = opened(c("dana", o, 60), c("beatrice", HandoffAccepted(offer=o.id), 105))
    assert state.handoffs[0].waited_minutes == 45


def test_handoff_keeps_next_steps_and_whom_to_notify() -> None:
    o = offer(next_steps=[NextStep(what="Step 5", owner="Bob", by=NOW)], notify=["Relman"])
    state = opened(c("dana", o, 1))
    assert state.handoffs[0].next_steps[0].owner == "bob"  # resolved to the policy key
    assert state.handoffs[0].notify == ["Relman"]


# --- holds ------------------------------------------------------------------------------------

HOLD = HoldRaised(release=REL, reason="crash spike on startup")


def release_of(hold: HoldRaised = HOLD, release: str = REL) -> HoldReleased:
    return HoldReleased(release=release, hold=hold.id, reason="fixed in build 2")


def test_hold_is_open_until_released() -> None:
    state = opened(c("alice", HOLD, 1))
    assert [(h.by, h.release) for h in state.holds] == [("alice", REL)]


def test_hold_release_by_a_third_person_is_rejected() -> None:
    rel = release_of()
    state = opened(c("alice", HOLD, 1), c("bob", rel, 2))
    assert [h.id for h in state.holds] == [HOLD.id]
    assert entry(state, rel).reason == (
        "only alice, who raised the hold, or the incident commander (dana) can release it"
    )


def test_hold_release_by_the_raiser_is_accepted() -> None:
    state = opened(c("alice", HOLD, 1), c("alice", release_of(), 2))
    assert state.holds == []
    assert state.released_holds[0].released_by == "alice"


def test_hold_release_by_the_ic_is_accepted() -> None:
    state = opened(c("alice", HOLD, 1), c("dana", release_of(), 2))
    assert state.holds == []
    assert state.released_holds[0].released_by == "dana"


def test_hold_release_naming_another_release_is_rejected() -> None:
    rel = release_of(release="Firefox 96.0.2")
    state = opened(c("alice", HOLD, 1), c("alice", rel, 2))
    assert state.holds != []
    assert "not Firefox 96.0.2" in entry(state, rel).reason


def test_releasing_a_released_hold_is_rejected() -> None:
    again = release_of()
    state = opened(c("alice", HOLD, 1), c("alice", release_of(), 2), c("alice", again, 3))
    assert "no open hold" in entry(state, again).reason


def test_hold_release_by_a_former_ic_after_handoff_is_rejected() -> None:
    o = offer()
    rel = release_of()
    state = opened(
        c("alice", HOLD, 1),
        c("dana", o, 2),
        c("beatrice", HandoffAccepted(offer=o.id), 3),
        c("dana", rel, 4),
    )
    assert not entry(state, rel).accepted


# --- sign-offs, revokes, ship -----------------------------------------------------------------


def test_signoff_by_a_non_member_is_rejected() -> None:
    s = signoff("QA")
    state = opened(c("morgan", s, 1))
    assert state.signoffs == []
    assert entry(state, s).reason == "morgan is not a member of QA"


def test_revoke_moves_the_signoff_to_revoked() -> None:
    revoke = SignoffRevoked(team="QA", release=REL, reason="regression in 96.0.1")
    state = opened(c("quinn", signoff(), 1), c("alice", revoke, 2))
    assert state.signoffs == []
    assert [(s.by, s.revoked_by, s.revoke_reason) for s in state.revoked_signoffs] == [
        ("quinn", "alice", "regression in 96.0.1")
    ]


def test_revoke_by_the_ic_is_accepted() -> None:
    revoke = SignoffRevoked(team="QA", release=REL, reason="regression")
    state = opened(c("quinn", signoff(), 1), c("dana", revoke, 2))
    assert entry(state, revoke).accepted


def test_revoke_by_someone_outside_the_team_counts_and_the_timeline_says_so() -> None:
    # blocking is open: whoever may hold the release may revoke a sign-off on it
    revoke = SignoffRevoked(team="QA", release=REL, reason="regression")
    state = opened(c("quinn", signoff(), 1), c("morgan", revoke, 2))
    assert state.signoffs == [] and [s.revoked_by for s in state.revoked_signoffs] == ["morgan"]
    assert entry(state, revoke).accepted
    assert entry(state, revoke).summary.endswith("(morgan is not in QA)")


def test_revoke_by_a_stranger_is_rejected_where_the_policy_restricts_holds() -> None:
    revoke = SignoffRevoked(team="QA", release=REL, reason="regression")
    strict = POLICY.model_copy(update={"restrict_to_people": True})
    state = fold(
        [c("dana", OPEN, 0), c("quinn", signoff(), 1), c("mallory", revoke, 2)],
        kind="local",
        policy=strict,
        now=NOW,
    )
    assert len(state.signoffs) == 1
    assert entry(state, revoke).reason == "mallory#local is not a person in the policy"


def test_revoke_without_a_signoff_is_rejected() -> None:
    revoke = SignoffRevoked(team="QA", release=REL, reason="regression")
    state = opened(c("quinn", revoke, 2))
    assert entry(state, revoke).reason == f"QA has no sign-off on {REL} to revoke"


def test_ship_by_relman_is_recorded() -> None:
    ship = ShipDecision(release=REL, statement=f"Please ship {REL} to users.")
    state = opened(c("morgan", ship, 1))
    assert [(s.by, s.release) for s in state.ship_decisions] == [("morgan", REL)]


def test_ship_by_a_non_relman_is_rejected() -> None:
    ship = ShipDecision(release=REL, statement=f"Please ship {REL} to users.")
    state = opened(c("dana", ship, 1))
    assert state.ship_decisions == []
    assert (
        entry(state, ship).reason
        == "only Relman can decide to ship: dana is not a member of Relman"
    )


# --- doubt ------------------------------------------------------------------------------------


def test_edited_comment_with_events_is_doubt() -> None:
    state = opened(c("quinn", signoff(), 1, edited=True))
    assert [(d.kind, d.author) for d in state.doubts] == [("edited", "quinn")]


def test_edited_comment_without_events_is_no_doubt() -> None:
    state = opened(c("quinn", [], 1, edited=True, body="Typo fixed."))
    assert state.doubts == []


def test_vanished_comment_is_doubt() -> None:
    gone = c("alice", HOLD, 1)
    state = opened(vanished=[gone])
    assert [(d.kind, d.comment_id, d.event_ids) for d in state.doubts] == [
        ("vanished", gone.id, [HOLD.id])
    ]


def test_unreadable_trailer_by_a_trusted_account_is_doubt() -> None:
    body = codec.render(signoff()).replace('"QA"', '"QB"')
    state = opened(c("quinn", [], 1, body=body))
    assert [d.kind for d in state.doubts] == ["unreadable"]


def test_unreadable_trailer_by_a_stranger_is_doubt_since_anyone_may_hold() -> None:
    body = codec.render(signoff()).replace('"QA"', '"QB"')
    state = opened(c("mallory", [], 1, body=body))
    assert [d.author for d in state.doubts] == ["mallory#local"]


def test_unreadable_trailer_by_a_stranger_is_a_warning_when_only_people_may_hold() -> None:
    body = codec.render(signoff()).replace('"QA"', '"QB"')
    strict = POLICY.model_copy(update={"restrict_to_people": True})
    state = opened(c("mallory", [], 1, body=body), policy=strict)
    assert state.doubts == []
    assert len(state.warnings) == 1 and "mallory" in state.warnings[0]


def test_misplaced_trailer_is_a_warning_not_doubt() -> None:
    body = f"Copied:\n\n{codec.trailer(signoff())}\n\nEnd."
    state = opened(c("quinn", [], 1, body=body))
    assert state.doubts == [] and len(state.warnings) == 1


def test_newer_format_trailer_is_doubt() -> None:
    body = codec.render(signoff()).replace("sync-incident:1 ", "sync-incident:7 ")
    state = opened(c("quinn", [], 1, body=body))
    assert [d.kind for d in state.doubts] == ["unreadable"]


# --- checklist and status ---------------------------------------------------------------------


def test_step_is_added_with_owner_and_due_time() -> None:
    add = StepAdded(step="4", title="Verify on nightly", owner="Bob", due=T0 + timedelta(hours=1))
    state = opened(c("dana", add, 1))
    (step,) = state.checklist
    assert (step.step, step.owner, step.state, step.due) == (
        "4",
        "bob",
        "todo",
        T0 + timedelta(hours=1),
    )


def test_step_update_changes_state_and_owner() -> None:
    state = opened(
        c("dana", StepAdded(step="4", title="Verify"), 1),
        c("dana", StepUpdated(step="4", state="doing", owner="alice"), 2),
    )
    assert (state.checklist[0].state, state.checklist[0].owner) == ("doing", "alice")
    assert state.checklist[0].updated_at == T0 + timedelta(minutes=2)


def test_step_added_twice_is_rejected() -> None:
    again = StepAdded(step="4", title="Verify again")
    state = opened(c("dana", StepAdded(step="4", title="Verify"), 1), c("dana", again, 2))
    assert "already exists" in entry(state, again).reason


def test_update_of_an_unknown_step_is_rejected() -> None:
    update = StepUpdated(step="9", state="done")
    state = opened(c("dana", update, 1))
    assert entry(state, update).reason == "there is no checklist step 9"


def test_step_past_due_is_overdue() -> None:
    state = opened(
        c("dana", StepAdded(step="4", title="Verify", due=NOW - timedelta(minutes=1)), 1)
    )
    assert state.checklist[0].overdue


def test_done_step_is_never_overdue() -> None:
    state = opened(
        c("dana", StepAdded(step="4", title="Verify", due=NOW - timedelta(hours=1)), 1),
        c("dana", StepUpdated(step="4", state="done"), 2),
    )
    assert not state.checklist[0].overdue


def test_step_due_later_is_not_overdue() -> None:
    state = opened(
        c("dana", StepAdded(step="4", title="Verify", due=NOW + timedelta(minutes=1)), 1)
    )
    assert not state.checklist[0].overdue


def test_status_update_sets_next_update_due() -> None:
    due = NOW + timedelta(hours=1)
    state = opened(c("dana", StatusUpdate(summary="Builds are green.", next_update_due=due), 1))
    assert (state.last_status, state.next_update_due, state.update_overdue) == (
        "Builds are green.",
        due,
        False,
    )


def test_missed_next_update_is_overdue() -> None:
    due = NOW - timedelta(minutes=1)
    state = opened(c("dana", StatusUpdate(summary="Builds are green.", next_update_due=due), 1))
    assert state.update_overdue


def test_resolved_incident_has_no_overdue_update() -> None:
    due = NOW - timedelta(minutes=1)
    state = opened(
        c("dana", StatusUpdate(summary="Green.", next_update_due=due), 1),
        c("dana", Resolved(summary="Shipped."), 2),
    )
    assert not state.update_overdue


def test_once_resolved_no_next_update_is_due() -> None:
    due = NOW + timedelta(hours=1)
    state = opened(
        c("dana", StatusUpdate(summary="Green.", next_update_due=due), 1),
        c("dana", Resolved(summary="Shipped."), 2),
    )
    assert (state.next_update_due, state.update_overdue) == (None, False)


def test_a_status_after_resolving_waits_for_a_reopen() -> None:
    """Resolved means resolved: a status update no longer applies (notes and links do)."""
    due = NOW + timedelta(hours=1)
    late = StatusUpdate(summary="The retrospective is on Monday.", next_update_due=due)
    state = opened(c("dana", Resolved(summary="Shipped."), 1), c("dana", late, 2))
    assert entry(state, late).reason == "the incident is resolved: reopen it first"
    assert state.last_status is None and state.next_update_due is None


# --- resolve and reopen -----------------------------------------------------------------------


def test_ic_resolves_the_incident() -> None:
    state = opened(c("dana", Resolved(summary="Firefox 96.0.1 shipped."), 5))
    assert (state.status, state.resolved_at) == ("resolved", T0 + timedelta(minutes=5))


def test_resolve_by_a_non_ic_is_rejected() -> None:
    resolve = Resolved(summary="Firefox 96.0.1 shipped.")
    state = opened(c("bob", resolve, 5))
    assert state.status == "active"
    assert "only the incident commander (dana)" in entry(state, resolve).reason


def test_resolving_twice_is_rejected() -> None:
    again = Resolved(summary="Firefox 96.0.1 shipped.")
    state = opened(c("dana", Resolved(summary="Firefox 96.0.1 shipped."), 5), c("dana", again, 6))
    assert entry(state, again).reason == "the incident is resolved: reopen it first"


def test_reopen_makes_the_incident_active() -> None:
    state = opened(
        c("dana", Resolved(summary="Firefox 96.0.1 shipped."), 5),
        c("bob", Reopened(reason="The crash is back."), 6),
    )
    assert (state.status, state.resolved_at) == ("active", None)


def test_reopening_an_active_incident_is_rejected() -> None:
    reopen = Reopened(reason="The crash is back.")
    state = opened(c("bob", reopen, 6))
    assert entry(state, reopen).reason == "the incident is not resolved"


# --- notes, links, retro, informational -------------------------------------------------------


def test_backfilled_note_keeps_when_it_happened() -> None:
    happened = T0 - timedelta(days=1)
    note = Note(text="The tree closed.", occurred_at=happened)
    state = opened(c("bob", note, 30))
    assert entry(state, note).occurred_at == happened
    assert entry(state, note).at == T0 + timedelta(minutes=30)


def test_link_is_listed() -> None:
    state = opened(c("bob", Link(url="https://x.test/p", kind="patch", title="Fix"), 1))
    assert [(lk.url, lk.kind, lk.by) for lk in state.links] == [
        ("https://x.test/p", "patch", "bob")
    ]


def test_retro_note_is_listed() -> None:
    state = opened(c("bob", RetroNote(kind="action_item", text="Add a test.", owner="bob"), 1))
    assert [(r.kind, r.owner) for r in state.retro] == [("action_item", "bob")]


def test_informational_events_do_not_count_as_updates() -> None:
    state = opened(c("rachel", Reminder(key="k", kind="handoff", text="Reminder."), 30))
    assert state.last_update == T0
    assert state.timeline[-1].accepted


def test_informational_events_by_strangers_are_rejected() -> None:
    state = opened(c("mallory", Reminder(key="k", kind="handoff", text="Reminder."), 30))
    assert not state.timeline[-1].accepted


def test_participants_are_everyone_with_an_accepted_event() -> None:
    state = opened(c("alice", HOLD, 1), c("mallory", signoff(), 2), c("quinn", signoff(), 3))
    assert state.participants == ["dana", "alice", "quinn"]


def test_last_update_is_the_last_accepted_event() -> None:
    state = opened(c("alice", HOLD, 10), c("mallory", signoff(), 20))
    assert state.last_update == T0 + timedelta(minutes=10)


# --- permissive mode --------------------------------------------------------------------------


def test_without_a_policy_the_fold_is_permissive() -> None:
    state = run(c("dana", OPEN, 0), policy=None)
    assert state.policy == "permissive"


def test_permissive_mode_accepts_anyones_signoff_for_any_team() -> None:
    state = run(c("dana", OPEN, 0), c("mallory", signoff("Releng"), 1), policy=None)
    assert [(s.team, s.by) for s in state.signoffs] == [("Releng", "mallory")]


def test_permissive_mode_still_enforces_the_hold_rule() -> None:
    rel = release_of()
    state = run(c("dana", OPEN, 0), c("alice", HOLD, 1), c("bob", rel, 2), policy=None)
    assert not entry(state, rel).accepted and len(state.holds) == 1


def test_permissive_mode_still_enforces_the_handoff_rule() -> None:
    o = offer()
    accept = HandoffAccepted(offer=o.id)
    state = run(c("dana", OPEN, 0), c("dana", o, 1), c("bob", accept, 2), policy=None)
    assert state.ic == "dana"


def test_unreadable_trailer_by_anyone_is_doubt_in_permissive_mode() -> None:
    body = codec.render(signoff()).replace('"QA"', '"QB"')
    state = run(c("dana", OPEN, 0), c("mallory", [], 1, body=body), policy=None)
    assert [d.kind for d in state.doubts] == ["unreadable"]


def test_state_json_names_its_schema() -> None:
    data = json.loads(opened().to_json())
    assert data["schema_version"] == 2 and data["ic"] == "dana"


# --- properties -------------------------------------------------------------------------------

PEOPLE = ["dana", "alice", "bob", "beatrice", "quinn", "morgan", "mallory"]
RELEASES = ["Firefox 96.0.1", "firefox 96.0.1", "Firefox 96.0.10"]


@st.composite
def incidents(draw: Any) -> list[Comment]:
    """A random but plausible incident: events that refer to earlier holds and offers."""
    holds: list[str] = []
    offers: list[str] = []
    comments: list[Comment] = []
    minute = 0
    first = draw(st.booleans())
    for i in range(draw(st.integers(1, 14))):
        kind = draw(
            st.sampled_from(
                [
                    "hold",
                    "release",
                    "signoff",
                    "revoke",
                    "offer",
                    "accept",
                    "decline",
                    "ship",
                    "resolve",
                    "reopen",
                    "step",
                    "status",
                ]
            )
        )
        rel = draw(st.sampled_from(RELEASES))
        team = draw(st.sampled_from(["QA", "Releng", "Relman"]))
        ref = draw(st.sampled_from(holds + offers + ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]))
        events: list[Event] = []
        if i == 0 and first:
            events.append(OPEN)
        for _ in range(draw(st.integers(1, 2))):
            event: Event
            if kind == "hold":
                event = HoldRaised(release=rel, reason="crash")
                holds.append(event.id)
            elif kind == "release":
                event = HoldReleased(release=rel, hold=ref, reason="fixed")
            elif kind == "signoff":
                event = signoff(team, rel)
            elif kind == "revoke":
                event = SignoffRevoked(team=team, release=rel, reason="regression")
            elif kind == "offer":
                event = offer(draw(st.sampled_from(PEOPLE)))
                offers.append(event.id)
            elif kind == "accept":
                event = HandoffAccepted(offer=ref)
            elif kind == "decline":
                event = HandoffDeclined(offer=ref)
            elif kind == "ship":
                event = ShipDecision(release=rel, statement=f"Please ship {rel} to users.")
            elif kind == "resolve":
                event = Resolved(summary="Firefox 96.0.1 shipped.")
            elif kind == "reopen":
                event = Reopened(reason="back")
            elif kind == "step":
                event = StepAdded(step=str(draw(st.integers(1, 3))), title="Verify")
            else:
                event = StatusUpdate(summary="Green.", next_update_due=NOW)
            events.append(event)
        minute += draw(st.integers(0, 90))
        comments.append(c(draw(st.sampled_from(PEOPLE)), events, minute))
    return comments


def _comparable(state: IncidentState) -> Any:
    """The state without comment ids (which change when comments are split or copied)."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("comment_id", "reason")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(state.model_dump(mode="json"))


def _accepted(state: IncidentState) -> Any:
    data = _comparable(state)
    data["timeline"] = [e for e in data["timeline"] if e["accepted"]]
    return data


PROPERTY = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(comments=incidents())
def test_fold_is_deterministic(comments: list[Comment]) -> None:
    assert run(*comments).to_json() == run(*comments).to_json()


@PROPERTY
@given(comments=incidents())
def test_fold_is_independent_of_how_events_are_split_into_comments(
    comments: list[Comment],
) -> None:
    split = [
        Comment(
            id=f"{comment.id}.{i}",
            author=comment.author,
            created_at=comment.created_at,
            body=codec.render(event),
            order=comment.order * 100 + i,
        )
        for comment in comments
        for i, event in enumerate(codec.parse(comment.body).events)
    ]
    assert _comparable(run(*split)) == _comparable(run(*comments))


@pytest.mark.slow  # folds each example several times: about 3 s
@PROPERTY
@given(comments=incidents(), data=st.data())
def test_a_duplicate_of_an_accepted_comment_changes_no_accepted_state(
    comments: list[Comment], data: st.DataObject
) -> None:
    before = run(*comments)
    accepted = {e.comment_id for e in before.timeline if e.accepted}
    rejected = {e.comment_id for e in before.timeline if not e.accepted}
    # a rejected event takes no id: only copies of wholly accepted comments are duplicates
    candidates = [c for c in comments if c.id in accepted and c.id not in rejected]
    assume(candidates)
    original = data.draw(st.sampled_from(candidates))
    later = data.draw(st.integers(0, 600))
    copy = Comment(
        id="copy",
        author=Account(data.draw(st.sampled_from(PEOPLE))),
        created_at=original.created_at + timedelta(minutes=later),
        body=original.body,
        order=max(c.order for c in comments) + 1,  # posted after everything else
    )
    after = run(*comments, copy)
    after_data, before_data = _accepted(after), _accepted(before)
    assert after_data == before_data
    assert sum(not e.accepted for e in after.timeline) == sum(
        not e.accepted for e in before.timeline
    ) + len(codec.parse(original.body).events)


# --- no dead ends: an incident commander who cannot act is taken over from -------------------

LEADS = POLICY.model_copy(update={"incident_leads": ["beatrice"]})


def test_an_incident_lead_takes_over_from_an_ic_who_cannot_act() -> None:
    take = TakeOver(from_ic="dana", reason="dana is on leave and has not answered since 09:00")
    state = opened(c("dana", offer("alice"), 1), c("beatrice", take, 2), policy=LEADS)
    assert entry(state, take).accepted
    assert (state.ic, [t.ic for t in state.ic_history]) == ("beatrice", ["dana", "beatrice"])
    assert [h.status for h in state.handoffs] == ["superseded"]  # dana's pending offer is void


def test_only_an_incident_lead_may_take_over() -> None:
    take = TakeOver(from_ic="dana", reason="dana is on leave and has not answered since 09:00")
    state = opened(c("bob", take, 2), policy=LEADS)
    assert "only an incident lead of the policy may take over" in entry(state, take).reason
    assert state.ic == "dana"


def test_a_take_over_needs_a_real_reason() -> None:
    take = TakeOver(from_ic="dana", reason="ok")
    state = opened(c("beatrice", take, 2), policy=LEADS)
    assert "needs a real reason" in entry(state, take).reason and state.ic == "dana"


def test_without_leads_a_person_may_take_over_only_from_an_ic_who_left_the_policy() -> None:
    """An IC who left cannot act: any person of the policy may take over, saying why."""
    take = TakeOver(from_ic="dana", reason="dana left the company on Friday")
    assert "only an incident lead" in entry(opened(c("bob", take, 10)), take).reason
    left = POLICY.people["dana"].model_copy(update={"left": T0 + timedelta(minutes=5)})
    gone = POLICY.model_copy(update={"people": {**POLICY.people, "dana": left}})
    state = opened(c("bob", take, 10), policy=gone)
    assert entry(state, take).accepted and state.ic == "bob"


def test_an_incident_cannot_be_opened_with_an_ic_who_is_not_a_person_of_the_policy() -> None:
    nobody = Opened(title="Crash", releases=[REL], ic="nobody")
    state = run(c("dana", nobody, 0))
    assert "nobody is not a person in the policy" in entry(state, nobody).reason
    assert not state.opened


def test_after_resolving_a_hold_still_blocks_but_a_sign_off_waits_for_a_reopen() -> None:
    hold = HoldRaised(release=REL, reason="a late crash report on startup")
    late = signoff()
    state = opened(
        c("dana", Resolved(summary="Firefox 96.0.1 shipped."), 1),
        c("alice", hold, 2),
        c("quinn", late, 3),
    )
    assert entry(state, hold).accepted and state.holds  # blocking is open, even now
    assert entry(state, late).reason == "the incident is resolved: reopen it first"
