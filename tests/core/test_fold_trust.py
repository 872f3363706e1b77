"""The fold against someone who can comment, edit and delete: every attack ends in doubt or
"not ready", and the rules are the ones release teams work by (issue 11).

Each test builds the record as a tracker would return it (comments in tracker order, authors
and times from the tracker) and checks the gate's verdict through :func:`readiness`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment, Mark
from sync_incident.core.events import (
    Checkpoint,
    DoubtChecked,
    Event,
    HandoffAccepted,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Note,
    Opened,
    ReleaseAdded,
    Resolved,
    Retracted,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    Via,
    Witnessed,
)
from sync_incident.core.fold import body_hash, checkpoint_of, fold
from sync_incident.core.policy import Person, Policy, Team
from sync_incident.core.readiness import Verdict, readiness
from sync_incident.core.state import IncidentState
from tests.core.test_state import NOW, POLICY, REL, T0

_next = iter(range(1, 10_000))


def post(author: str, *events: Event, minute: float = 0, **kw: object) -> Comment:
    """A comment as the tracker stores it; ids (and so the order) grow with every call."""
    number = next(_next)
    body = kw.pop("body", None) or codec.render(list(events))
    return Comment(
        id=str(number),
        author=Account(author),
        created_at=T0 + timedelta(minutes=minute),
        body=str(body),
        order=number,
        **kw,  # type: ignore[arg-type]
    )


def chain(*pairs: tuple[str, Event]) -> list[Comment]:
    """Comments written by the tool: each event names the one before it (``follows``)."""
    out, last = [], None
    for minute, (author, event) in enumerate(pairs):
        if last is not None:
            event = event.model_copy(update={"follows": last})
        out.append(post(author, event, minute=minute))
        last = event.id
    return out


def state_of(comments: list[Comment], **kw: object) -> IncidentState:
    return fold(comments, kind="bugzilla", policy=POLICY, now=NOW, **kw)  # type: ignore[arg-type]


def gate(state: IncidentState, release: str = REL, **kw: object) -> Verdict:
    return readiness(state, release, policy=POLICY, required=["QA", "Releng"], **kw)  # type: ignore[arg-type]


OPEN = Opened(title="Startup crash", releases=[REL], ic="dana")
QA = SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")
RELENG = SignoffGiven(team="Releng", release=REL, statement=f"Releng signs off on {REL}.")
HOLD = HoldRaised(release=REL, reason="crash spike on startup")


def ready_story() -> list[Comment]:
    return chain(
        ("dana@example.com", OPEN),
        ("quinn@example.com", QA),
        ("rachel@example.com", RELENG),
    )


def test_the_legitimate_story_is_ready() -> None:
    verdict = gate(state_of(ready_story()))
    assert (verdict.ready, verdict.verdict, verdict.reasons) == (True, "ready", [])


# --- deletion and hiding, seen by a reader with no cache ------------------------------------


def test_a_deleted_hold_followed_by_a_later_event_is_doubt_without_any_cache() -> None:
    comments = chain(
        ("dana@example.com", OPEN),
        ("quinn@example.com", QA),
        ("rachel@example.com", RELENG),
        ("alice@example.com", HOLD),
        ("bob@example.com", Note(text="Crash reports for 96.0.1 are attached to bug 1750001.")),
    )
    del comments[3]  # the writer deletes the hold comment
    verdict = gate(state_of(comments))
    assert verdict.verdict == "in-doubt" and not verdict.ready
    (doubt,) = [r for r in verdict.reasons if r.startswith("In doubt")]
    assert "follows an event this reader cannot see" in doubt and HOLD.id not in doubt


def test_a_doubt_names_the_event_in_words_not_by_its_wire_type() -> None:
    comments = chain(
        ("dana@example.com", OPEN),
        ("alice@example.com", HOLD),
        ("quinn@example.com", QA),
    )
    del comments[1]  # the hold is gone; quinn's sign-off still names it
    reasons = gate(state_of(comments)).reasons
    (reason,) = [r for r in reasons if r.startswith("In doubt")]
    assert "quinn's sign-off on Firefox 96.0.1 follows an event this reader cannot" in reason
    assert "signoff.given" not in reason


def test_a_gap_in_the_trackers_numbering_is_doubt_for_every_reader() -> None:
    comments = [
        Comment(c.id, c.author, c.created_at, c.body, order=c.order, seq=n)
        for n, c in enumerate(ready_story())
    ]
    hidden = comments[:1] + comments[2:]  # comment #1 (QA's) private or hidden for this reader
    verdict = gate(state_of(hidden))
    assert verdict.verdict == "in-doubt"
    assert any(
        r.startswith("In doubt: comment #1: comment #1 is not visible") for r in verdict.reasons
    )


def test_a_private_comment_carrying_events_is_doubt_even_for_an_insider() -> None:
    comments = ready_story()
    comments.append(post("alice@example.com", HOLD, minute=5, private=True))
    verdict = gate(state_of(comments))
    assert verdict.verdict == "in-doubt"
    assert any("private comment carries events" in r for r in verdict.reasons)


def test_a_hold_flag_in_the_trackers_history_without_a_hold_is_doubt() -> None:
    comments = ready_story()  # the hold comment was deleted; GitHub's label history remains
    mark = Mark(flag="hold", on=True, by="alice", at=T0 + timedelta(minutes=10))
    verdict = gate(state_of(comments, marks=[mark]))
    assert verdict.verdict == "in-doubt"
    assert "hold flag set by alice" in verdict.reasons[0]


def test_a_hold_flag_set_while_a_hold_was_open_is_fine() -> None:
    comments = chain(
        ("dana@example.com", OPEN),
        ("alice@example.com", HOLD),
    )
    mark = Mark(flag="hold", on=True, by="alice", at=T0 + timedelta(minutes=1, seconds=5))
    assert state_of(comments, marks=[mark]).doubts == []


def test_a_witness_checkpoint_catches_a_later_deletion_of_the_last_event() -> None:
    policy = POLICY.model_copy(update={"witnesses": ["morgan"]})
    story = chain(
        ("dana@example.com", OPEN),
        ("quinn@example.com", QA),
        ("rachel@example.com", RELENG),
        ("alice@example.com", HOLD),
    )
    witness = checkpoint_of(story)
    assert witness is not None
    signed = post("morgan@example.com", witness, minute=9)
    intact = fold([*story, signed], kind="bugzilla", policy=policy, now=NOW)
    assert intact.doubts == []
    tampered = fold([*story[:3], signed], kind="bugzilla", policy=policy, now=NOW)
    assert [d.kind for d in tampered.doubts] == ["witness"]


def test_a_deletion_reported_by_a_witness_is_doubt_for_every_later_reader() -> None:
    policy = POLICY.model_copy(update={"witnesses": ["morgan"]})
    story = ready_story()  # alice's hold comment 99 is gone; GitHub told the witness
    seen = Witnessed(what="deleted", comment="99", events=[HOLD.id], by="mallory", at=NOW)
    state = fold(
        [*story, post("morgan@example.com", seen, minute=9)],
        kind="bugzilla",
        policy=policy,
        now=NOW,
    )
    verdict = readiness(state, REL, policy=policy, required=["QA", "Releng"])
    assert verdict.verdict == "in-doubt"
    assert (
        "comment 99, which carried an event" in verdict.reasons[0]
        and "deleted by mallory" in verdict.reasons[0]
    )
    forged = fold(
        [*story, post("mallory", seen, minute=9)], kind="bugzilla", policy=policy, now=NOW
    )
    assert forged.doubts == []  # only a witness's report counts


def test_a_checkpoint_by_someone_who_is_not_a_witness_counts_for_nothing() -> None:
    story = ready_story()
    forged = Checkpoint(count=0, digest="0" * 20, last=None)
    state = state_of([*story, post("mallory", forged, minute=9)])
    assert state.timeline[-1].accepted is False and state.doubts == []


# --- ids, edits and forgeries -------------------------------------------------------------------


def test_a_rejected_event_never_takes_the_id_of_a_later_valid_one() -> None:
    story = ready_story()
    squatter = Note(id=HOLD.id, text="Placeholder.")
    comments = [
        *story,
        post("mallory", squatter, minute=4),
        post("alice@example.com", HOLD, minute=5),
    ]
    strict = POLICY.model_copy(update={"restrict_to_people": True})
    state = fold(comments, kind="bugzilla", policy=strict, now=NOW)
    assert [h.id for h in state.holds] == [HOLD.id]
    assert not gate(state).ready


def test_an_old_comment_edited_to_reuse_a_later_events_id_is_doubt() -> None:
    story = ready_story()
    # quinn (trusted) edits an early comment into a note carrying the id of alice's later hold,
    # on a tracker that does not show this reader the edit
    forged = post("quinn@example.com", Note(id=HOLD.id, text="See bug 1750001."), minute=0.5)
    comments = [story[0], forged, *story[1:], post("alice@example.com", HOLD, minute=5)]
    comments.sort(key=lambda c: c.order)
    verdict = gate(state_of(sorted(comments, key=lambda c: int(c.id))))
    assert verdict.verdict == "in-doubt"
    assert any("two different events under one identity" in r for r in verdict.reasons)


def test_the_same_event_posted_twice_counts_once_without_doubt() -> None:
    story = ready_story()
    again = post("alice@example.com", HOLD, minute=6)
    state = state_of([*story, post("alice@example.com", HOLD, minute=5), again])
    assert len(state.holds) == 1 and state.doubts == []


# --- release teams' rules -------------------------------------------------------------------------


def test_a_ship_decision_before_a_later_hold_is_stale_after_the_release() -> None:
    ship = ShipDecision(release=REL, statement=f"Please ship {REL} to users.")
    release = HoldReleased(release=REL, hold=HOLD.id, reason="The crash is a driver bug.")
    comments = chain(
        ("dana@example.com", OPEN),
        ("quinn@example.com", QA),
        ("rachel@example.com", RELENG),
        ("morgan@example.com", ship),
        ("alice@example.com", HOLD),
        ("alice@example.com", release),
    )
    verdict = gate(state_of(comments), require_ship=True)
    assert not verdict.ready and verdict.ship_decision is not None and verdict.ship_decision.stale
    assert any("must say to ship Firefox 96.0.1 again" in r for r in verdict.reasons)


def test_a_ship_decision_while_a_hold_is_open_is_rejected() -> None:
    ship = ShipDecision(release=REL, statement=f"Please ship {REL} to users.")
    state = state_of(
        chain(("dana@example.com", OPEN), ("alice@example.com", HOLD), ("morgan@example.com", ship))
    )
    assert state.timeline[-1].accepted is False
    assert "on hold (alice)" in state.timeline[-1].reason


def test_anyone_who_can_comment_may_hold_a_release() -> None:
    state = state_of(chain(("dana@example.com", OPEN), ("stranger@example.net", HOLD)))
    assert [h.by for h in state.holds] == ["stranger@example.net"]


def test_a_policy_for_public_trackers_restricts_holds_to_its_people() -> None:
    strict = POLICY.model_copy(update={"restrict_to_people": True})
    comments = chain(("dana@example.com", OPEN), ("stranger@example.net", HOLD))
    state = fold(comments, kind="bugzilla", policy=strict, now=NOW)
    assert state.holds == [] and "not a person in the policy" in state.timeline[-1].reason


def test_releasing_a_hold_needs_a_real_reason() -> None:
    release = HoldReleased(release=REL, hold=HOLD.id, reason="   ")
    state = state_of(
        chain(
            ("dana@example.com", OPEN), ("alice@example.com", HOLD), ("alice@example.com", release)
        )
    )
    assert len(state.holds) == 1 and "needs a real reason" in state.timeline[-1].reason


def test_resolving_needs_a_summary() -> None:
    state = state_of(chain(("dana@example.com", OPEN), ("dana@example.com", Resolved(summary=""))))
    assert state.status == "active" and "needs a summary" in state.timeline[-1].reason


def test_a_signoff_on_a_release_the_incident_does_not_name_never_makes_it_ready() -> None:
    # posting refuses it as a typo; a hand-made trailer is kept by name, and the gate still
    # says the release is not one of the incident's until it is added
    other = SignoffGiven(
        team="QA", release="Firefox 96.0", statement="QA signs off on Firefox 96.0."
    )
    state = state_of(chain(("dana@example.com", OPEN), ("quinn@example.com", other)))
    verdict = gate(state, "Firefox 96.0")
    assert not verdict.ready
    assert "Not ready: Firefox 96.0 is not a release of this incident" in verdict.reasons[0]
    added = ReleaseAdded(release="Firefox 96.0")
    state = state_of(
        chain(("dana@example.com", OPEN), ("dana@example.com", added), ("quinn@example.com", other))
    )
    assert [s.release for s in state.signoffs] == ["Firefox 96.0"]


def test_a_retracted_signoff_stops_counting_and_stays_in_the_timeline() -> None:
    retract = Retracted(event=QA.id, reason="Posted on the wrong incident.")
    posts: list[tuple[str, Event]] = [
        ("dana@example.com", OPEN),
        ("quinn@example.com", QA),
        ("rachel@example.com", RELENG),
        ("quinn@example.com", retract),
    ]
    comments = chain(*[(c, e) for c, e in posts])
    state = state_of(comments)
    entry = next(e for e in state.timeline if e.event_id == QA.id)
    assert entry.retracted and not entry.accepted
    assert gate(state).teams[0].status == "missing"


def test_only_the_author_or_the_ic_may_retract() -> None:
    retract = Retracted(event=QA.id, reason="I do not like it.")
    comments = chain(
        ("dana@example.com", OPEN), ("quinn@example.com", QA), ("bob@example.com", retract)
    )
    state = state_of(comments)
    assert [s.by for s in state.signoffs] == ["quinn"]
    assert "only quinn, who posted it, or the incident commander" in state.timeline[-1].reason


def test_a_hold_retracted_by_its_raiser_counts_as_released() -> None:
    retract = Retracted(event=HOLD.id, reason="Raised on the wrong release by mistake.")
    comments = chain(
        ("dana@example.com", OPEN), ("alice@example.com", HOLD), ("alice@example.com", retract)
    )
    state = state_of(comments)
    assert state.holds == []
    [released] = state.released_holds
    assert (released.id, released.released_by) == (HOLD.id, "alice")
    assert released.release_reason == "retracted: Raised on the wrong release by mistake."


def test_signoffs_before_a_retracted_hold_must_be_renewed_as_after_a_release() -> None:
    retract = Retracted(event=HOLD.id, reason="Raised on the wrong release by mistake.")
    comments = [*ready_story(), post("alice@example.com", HOLD, minute=5)]
    comments.append(post("alice@example.com", retract, minute=6))
    verdict = gate(state_of(comments))
    assert not verdict.ready
    assert [t.status for t in verdict.teams] == ["stale", "stale"]


def test_a_retracted_decoy_hold_does_not_explain_a_later_hold_flag() -> None:
    decoy = HoldRaised(release=REL, reason="decoy raised to be retracted at once")
    comments = [
        post("dana@example.com", OPEN, minute=0),
        post("bob@example.com", decoy, minute=1),
        post("bob@example.com", Retracted(event=decoy.id, reason="Wrong bug, sorry."), minute=2),
        *ready_story()[1:],
    ]
    # alice's hold at minute 10 set the flag; its comment was deleted afterwards
    mark = Mark(flag="hold", on=True, by="alice", at=T0 + timedelta(minutes=10))
    verdict = gate(state_of(comments, marks=[mark]))
    assert verdict.verdict == "in-doubt"
    assert "hold flag set by alice" in verdict.reasons[0]


def test_the_ic_checking_a_doubt_clears_exactly_the_text_checked() -> None:
    story = ready_story()
    edited = Comment(
        story[1].id,
        story[1].author,
        story[1].created_at,
        story[1].body,
        order=story[1].order,
        edited=True,
    )
    comments = [story[0], edited, story[2]]
    where = f"comment {edited.id}"
    check = DoubtChecked(
        where=[where], finding="The edit fixed a typo.", hashes={where: body_hash(edited.body)}
    )
    checked = state_of([*comments, post("dana@example.com", check, minute=9)])
    assert checked.doubts == [] and checked.checked_doubts[0].checked_by == "dana"
    assert gate(checked).ready
    # the comment is edited again after the check: the check no longer covers it
    changed = Comment(
        edited.id,
        edited.author,
        edited.created_at,
        edited.body + "\nMore.",
        order=edited.order,
        edited=True,
    )
    assert state_of([story[0], changed, story[2], post("dana@example.com", check, minute=9)]).doubts


def test_an_edit_that_makes_someone_ic_cannot_be_cleared_by_that_ic() -> None:
    # bob, a writer, edits dana's opening to name himself IC, checks the doubt the edit
    # raised, and releases alice's hold as the incident commander
    story = [*ready_story(), post("alice@example.com", HOLD, minute=4)]
    forged = OPEN.model_copy(update={"ic": "bob"})
    first = story[0]
    edited = Comment(
        first.id,
        first.author,
        first.created_at,
        codec.render([forged]),
        order=first.order,
        edited=True,
    )
    where = f"comment {edited.id}"
    check = DoubtChecked(
        where=[where], finding="Checked: fine.", hashes={where: body_hash(edited.body)}
    )
    release = HoldReleased(hold=HOLD.id, release=REL, reason="The crash is fixed in the build.")
    comments = [edited, *story[1:], post("bob@example.com", check, minute=5)]
    comments.append(post("bob@example.com", release, minute=6))
    state = state_of(comments)
    assert state.ic == "bob" and state.holds == []
    verdict = gate(state)
    assert verdict.verdict == "in-doubt" and not verdict.ready
    assert [d.where for d in state.doubts] == [where] and state.checked_doubts == []


def test_the_ic_may_clear_a_doubt_on_their_own_edited_opening() -> None:
    story = ready_story()
    first = story[0]
    edited = Comment(
        first.id,
        first.author,
        first.created_at,
        "Typo fixed. " + first.body,
        order=first.order,
        edited=True,
    )
    where = f"comment {edited.id}"
    check = DoubtChecked(
        where=[where], finding="I fixed a typo.", hashes={where: body_hash(edited.body)}
    )
    state = state_of([edited, *story[1:], post("dana@example.com", check, minute=5)])
    assert state.doubts == [] and state.checked_doubts[0].checked_by == "dana"
    assert gate(state).ready


def test_only_the_ic_may_check_a_doubt() -> None:
    check = DoubtChecked(where=["comment 1"], finding="Looks fine to me.")
    state = state_of([*ready_story(), post("bob@example.com", check, minute=9)])
    assert "only the incident commander" in state.timeline[-1].reason


def test_a_trailer_inside_a_code_block_is_never_an_event() -> None:
    trailer = codec.trailer(QA)
    for body in (f"Example:\n\n    {trailer}", f"Example:\n\n```\n{trailer}"):
        state = state_of([ready_story()[0], post("quinn@example.com", body=body, minute=3)])
        assert state.signoffs == [], body


def test_lone_surrogates_never_crash_the_state_or_its_json() -> None:
    text = "crash in \ud800 module"
    state = state_of([*ready_story(), post("alice@example.com", Note(text=text), minute=4)])
    dumped = state.to_json()
    dumped.encode("utf-8")  # would raise on a lone surrogate
    assert "\ufffd" in state.timeline[-1].summary


# --- issue 24: READY must survive strangers ------------------------------------------------------

GH_POLICY = Policy(
    people={
        "ivan": Person(github="ivan", github_id=100),
        "alice": Person(github="alice", github_id=200),
        "quinn": Person(github="quinn", github_id=300),
        "rachel": Person(github="rachel", github_id=400),
    },
    teams={"QA": Team(members=["quinn"]), "Releng": Team(members=["rachel"])},
)
GH_OPEN = Opened(title="Startup crash", releases=[REL], ic="ivan")


def gh(login: str, uid: int, *events: Event, minute: float = 0, **kw: object) -> Comment:
    """A GitHub comment by account ``uid`` (whatever its login is now)."""
    number = next(_next)
    body = kw.pop("body", None) or codec.render(list(events), "github")
    return Comment(
        str(number),
        Account(login, uid=str(uid)),
        T0 + timedelta(minutes=minute),
        str(body),
        order=number,
        **kw,  # type: ignore[arg-type]
    )


def gh_state(comments: list[Comment], policy: Policy = GH_POLICY, **kw: object) -> IncidentState:
    return fold(comments, kind="github", policy=policy, now=NOW, **kw)  # type: ignore[arg-type]


def gh_gate(state: IncidentState, policy: Policy = GH_POLICY) -> Verdict:
    return readiness(state, REL, policy=policy, required=["QA", "Releng"])


def held_and_signed() -> list[Comment]:
    return [
        gh("ivan", 100, GH_OPEN, minute=0),
        gh("alice", 200, HOLD, minute=1),
        gh("quinn", 300, QA, minute=2),
        gh("rachel", 400, RELENG, minute=3),
    ]


def test_a_stranger_whose_login_is_a_policy_key_cannot_release_a_hold() -> None:
    # an account that registered the login "ivan" is not ivan (account 100), the IC
    release = HoldReleased(release=REL, hold=HOLD.id, reason="The crash is fixed in build 2.")
    state = gh_state([*held_and_signed(), gh("ivan", 9999, release, minute=4)])
    assert [h.id for h in state.holds] == [HOLD.id]
    entry = state.timeline[-1]
    assert (entry.actor, entry.accepted) == ("ivan#9999", False)
    assert entry.reason.startswith("only alice, who raised the hold, or the incident commander")
    assert not gh_gate(state).ready


def test_a_stranger_named_like_the_raiser_cannot_retract_a_hold_or_a_revocation() -> None:
    retract = Retracted(event=HOLD.id, reason="Raised on the wrong release by mistake.")
    state = gh_state([*held_and_signed(), gh("alice", 31337, retract, minute=4)])
    assert [h.by for h in state.holds] == ["alice"]
    assert "only alice, who posted it, or the incident commander" in state.timeline[-1].reason


def test_an_account_that_takes_a_renamed_ics_old_login_is_a_stranger() -> None:
    # ivan renamed his account (id 100) to ivan-renamed; someone registered "ivan"
    release = HoldReleased(release=REL, hold=HOLD.id, reason="The crash is fixed in build 2.")
    state = gh_state([*held_and_signed(), gh("ivan", 4242, release, minute=4)])
    assert state.holds != [] and state.timeline[-1].actor == "ivan#4242"
    # the renamed account is still ivan, and may release the hold as the IC
    state = gh_state([*held_and_signed(), gh("ivan-renamed", 100, release, minute=4)])
    assert state.holds == [] and state.released_holds[0].released_by == "ivan"
    assert gh_gate(state).ready  # the sign-offs came after the hold


def test_a_person_without_a_pinned_github_id_cannot_act_and_the_reason_says_how_to_pin() -> None:
    people = {**GH_POLICY.people, "quinn": Person(github="quinn")}
    policy = GH_POLICY.model_copy(update={"people": people})
    state = gh_state([*held_and_signed()[:1], gh("quinn", 300, QA, minute=2)], policy)
    assert state.signoffs == []
    assert state.timeline[-1].reason == (
        "quinn#300 is not a person in the policy: quinn's github_id is not pinned, and a login "
        "binds nobody (sync-incident config pin-github-ids pins it)"
    )


def test_retracting_and_adding_a_release_again_never_closes_its_hold() -> None:
    # bob, in the policy but in no team, adds a release, retracts it and adds it again
    other = "Firefox 96.0.2"
    added = ReleaseAdded(release=other, reason="the respin")
    again = ReleaseAdded(release=other, reason="the respin, again")
    hold = HoldRaised(release=other, reason="the respin crashes on startup")
    comments = [
        post("dana@example.com", OPEN, minute=0),
        post("bob@example.com", added, minute=1),
        post("alice@example.com", hold, minute=2),
        post("bob@example.com", Retracted(event=added.id, reason="Added by mistake."), minute=3),
        post("bob@example.com", again, minute=4),
        post("quinn@example.com", QA.model_copy(update={"release": other}), minute=5),
        post("rachel@example.com", RELENG.model_copy(update={"release": other}), minute=6),
    ]
    state = state_of(comments)
    assert [(h.by, h.release) for h in state.holds] == [("alice", other)]
    verdict = gate(state, other)
    assert not verdict.ready
    assert verdict.reasons[0].startswith(f"Blocked: alice holds {other}")


def test_a_hold_on_a_release_retracted_from_the_incident_still_counts_once_it_is_back() -> None:
    other = "Firefox 96.0.2"
    added = ReleaseAdded(release=other)
    hold = HoldRaised(release=other, reason="the respin crashes on startup")
    comments = [
        post("dana@example.com", OPEN, minute=0),
        post("dana@example.com", added, minute=1),
        post("alice@example.com", hold, minute=2),
        post("dana@example.com", Retracted(event=added.id, reason="Not this one."), minute=3),
    ]
    state = state_of(comments)
    assert [h.id for h in state.holds] == [hold.id]  # kept: it belongs to the release name
    assert "not a release of this incident" in gate(state, other).reasons[0]


def test_a_revocation_stays_one_when_its_author_leaves_the_team() -> None:
    revoke = SignoffRevoked(team="QA", release=REL, reason="A new crash signature in 96.0.1.")
    comments = [*ready_story(), post("alice@example.com", revoke, minute=4)]
    assert not gate(state_of(comments)).ready
    teams = {**POLICY.teams, "QA": Team(members=["quinn"])}  # alice left QA
    later = POLICY.model_copy(update={"teams": teams})
    state = fold(comments, kind="bugzilla", policy=later, now=NOW)
    verdict = readiness(state, REL, policy=later, required=["QA", "Releng"])
    assert not verdict.ready and verdict.teams[0].status == "revoked"
    assert state.timeline[-1].summary.endswith("(alice is not in QA)")


def test_a_revocation_stays_one_when_its_author_leaves_a_restricted_policy() -> None:
    revoke = SignoffRevoked(team="QA", release=REL, reason="A new crash signature in 96.0.1.")
    comments = [*ready_story(), post("alice@example.com", revoke, minute=4)]
    people = dict(POLICY.people)
    people["alice"] = Person(bugzilla=["alice@example.com"], left=T0 + timedelta(hours=1))
    teams = {**POLICY.teams, "QA": Team(members=["quinn"])}
    left = POLICY.model_copy(update={"people": people, "teams": teams, "restrict_to_people": True})
    state = fold(comments, kind="bugzilla", policy=left, now=NOW)
    assert not readiness(state, REL, policy=left, required=["QA", "Releng"]).ready
    # after she left, her events are a stranger's
    late = post("alice@example.com", HOLD, minute=90)
    state = fold([*comments, late], kind="bugzilla", policy=left, now=NOW)
    assert state.holds == []
    assert state.timeline[-1].reason == (
        "alice@example.com is not a person in the policy: alice left on 2022-01-12 15:00 UTC"
    )


def _released_then_hidden() -> tuple[list[Comment], list[Mark]]:
    """Alice's hold raised and released within a minute; mallory's hold right after, hidden."""
    release = HoldReleased(release=REL, hold=HOLD.id, reason="A false alarm: a test machine.")
    comments = [
        post("dana@example.com", OPEN, minute=0),
        post("alice@example.com", HOLD, minute=10),
        post("alice@example.com", release, minute=10.5),
        # mallory's hold at minute 11 is hidden: only the history keeps its flag
        post("quinn@example.com", QA, minute=12),
        post("rachel@example.com", RELENG, minute=13),
    ]
    at = T0 + timedelta(minutes=10)
    marks = [
        Mark(flag="hold", on=True, by="alice@example.com", at=at),
        Mark(flag="hold", on=False, by="alice@example.com", at=at + timedelta(seconds=30)),
        Mark(flag="hold", on=True, by="mallory@example.com", at=at + timedelta(minutes=1)),
    ]
    return comments, marks


def test_a_hold_flag_set_after_an_earlier_hold_was_released_is_not_explained_by_it() -> None:
    comments, marks = _released_then_hidden()
    state = state_of(comments, marks=marks)
    verdict = gate(state)
    assert verdict.verdict == "in-doubt"
    [doubt] = state.doubts
    assert doubt.kind == "history" and doubt.author == "mallory@example.com"
    assert doubt.clearable_by == ["dana"]  # mallory is no person of the policy
    assert "after seeing the comments this reader cannot" in doubt.clear_hint


def test_the_ic_clears_a_possibly_hidden_hold_only_after_seeing_the_hidden_comments() -> None:
    comments, marks = _released_then_hidden()
    where = state_of(comments, marks=marks).doubts[0].where
    blind = DoubtChecked(where=[where], finding="The bug shows no hold to me.")
    state = state_of([*comments, post("dana@example.com", blind, minute=20)], marks=marks)
    assert [d.where for d in state.doubts] == [where]
    assert state.timeline[-1].accepted is False
    assert "after seeing the comments this reader cannot" in state.timeline[-1].reason
    seen = DoubtChecked(
        where=[where],
        finding="As an insider I read the hidden comment 4: a test post, no hold.",
        seen_hidden=True,
    )
    state = state_of([*comments, post("dana@example.com", seen, minute=20)], marks=marks)
    assert state.doubts == [] and state.checked_doubts[0].checked_by == "dana"


def test_the_person_who_set_the_hold_flag_may_clear_the_doubt_about_it() -> None:
    comments, marks = _released_then_hidden()
    marks[-1] = Mark(flag="hold", on=True, by="bob@example.com", at=marks[-1].at)
    where = state_of(comments, marks=marks).doubts[0].where
    check = DoubtChecked(where=[where], finding="I set the tag by mistake; I hold nothing.")
    state = state_of([*comments, post("bob@example.com", check, minute=20)], marks=marks)
    assert state.doubts == [] and state.checked_doubts[0].checked_by == "bob"


def test_a_hold_flag_cleared_by_hand_and_set_again_while_the_hold_is_open_is_fine() -> None:
    comments = chain(("dana@example.com", OPEN), ("alice@example.com", HOLD))
    at = T0 + timedelta(minutes=1)
    marks = [
        Mark(flag="hold", on=True, by="alice@example.com", at=at),
        Mark(flag="hold", on=False, by="mallory@example.com", at=at + timedelta(minutes=5)),
        Mark(flag="hold", on=True, by="dana@example.com", at=at + timedelta(minutes=6)),
    ]
    assert state_of(comments, marks=marks).doubts == []


def _handoff_then_edited() -> tuple[list[Comment], str]:
    offer = HandoffOffered(to="beatrice", done="Steps 1-3 are done.", todo="Step 4 remains.")
    comments = chain(
        ("dana@example.com", OPEN),
        ("dana@example.com", offer),
        ("beatrice@example.com", HandoffAccepted(offer=offer.id)),
    )
    edited = comments[1]
    comments[1] = Comment(
        edited.id, edited.author, edited.created_at, edited.body, order=edited.order, edited=True
    )
    return comments, f"comment {edited.id}"


def test_a_doubt_on_the_handoff_that_made_the_ic_names_who_can_clear_it() -> None:
    comments, where = _handoff_then_edited()
    state = state_of(comments)
    assert state.ic == "beatrice"
    [doubt] = state.doubts
    assert doubt.where == where and doubt.clearable_by == ["dana"]
    assert doubt.clear_hint == "dana checks it"
    # beatrice's check is no dead end: it is refused, saying who can
    check = DoubtChecked(
        where=[where], finding="The edit fixed a typo.", hashes={where: doubt.body_hash}
    )
    state = state_of([*comments, post("beatrice@example.com", check, minute=9)])
    assert state.doubts and state.timeline[-1].accepted is False
    assert state.timeline[-1].reason == f"{where}: only dana can check it"
    state = state_of([*comments, post("dana@example.com", check, minute=9)])
    assert state.doubts == [] and state.checked_doubts[0].checked_by == "dana"


def test_every_doubt_names_someone_who_can_clear_it() -> None:
    comments, _ = _handoff_then_edited()
    gap = [
        Comment(c.id, c.author, c.created_at, c.body, order=c.order, seq=n * 2)
        for n, c in enumerate(comments)
    ]
    mark = Mark(flag="hold", on=True, by="nobody@example.net", at=T0)
    state = state_of(gap, marks=[mark])
    assert len(state.doubts) >= 3
    assert all(d.clearable_by and d.clear_hint.endswith("checks it") for d in state.doubts)


# --- chat relays -----------------------------------------------------------------------------

RELAY_POLICY = POLICY.model_copy(
    update={
        "people": {
            **POLICY.people,
            "alice": Person(bugzilla=["alice@example.com"], matrix="@alice:example.org"),
            "syncbot": Person(bugzilla=["syncbot@example.com"]),
        },
        "relays": ["syncbot"],
    }
)


def relayed(event: Event, user: str = "@alice:example.org") -> Event:
    via = Via(chat="matrix", user=user, message="$evt-1:example.org")
    return event.model_copy(update={"via": via})


def test_a_hold_relayed_from_matrix_is_the_persons_hold() -> None:
    comments = [*ready_story(), post("syncbot@example.com", relayed(HOLD), minute=4)]
    state = fold(comments, kind="bugzilla", policy=RELAY_POLICY, now=NOW)
    assert [h.by for h in state.holds] == ["alice"]
    entry = state.timeline[-1]
    assert (entry.actor, entry.account, entry.via) == ("alice", "syncbot@example.com", "matrix")
    assert entry.summary.startswith("alice (via Matrix) asked to hold Firefox 96.0.1")
    # alice may release her relayed hold herself, as its raiser
    release = HoldReleased(release=REL, hold=HOLD.id, reason="A false alarm: a test machine.")
    state = fold(
        [*comments, post("alice@example.com", release, minute=5)],
        kind="bugzilla",
        policy=RELAY_POLICY,
        now=NOW,
    )
    assert state.holds == [] and state.released_holds[0].released_by == "alice"


def test_a_relay_field_from_an_account_that_is_no_relay_is_rejected_like_a_forgery() -> None:
    release = HoldReleased(release=REL, hold=HOLD.id, reason="A false alarm: a test machine.")
    comments = [
        *ready_story(),
        post("alice@example.com", HOLD, minute=4),
        post("bob@example.com", relayed(release), minute=5),  # bob is no relay
    ]
    state = fold(comments, kind="bugzilla", policy=RELAY_POLICY, now=NOW)
    assert [h.by for h in state.holds] == ["alice"]
    assert state.timeline[-1].accepted is False
    assert "counts only from a relay account the policy lists" in state.timeline[-1].reason


def test_a_relay_speaking_for_an_unmapped_chat_identity_is_rejected() -> None:
    release = HoldReleased(release=REL, hold=HOLD.id, reason="A false alarm: a test machine.")
    comments = [
        *ready_story(),
        post("alice@example.com", HOLD, minute=4),
        post("syncbot@example.com", relayed(release, "@mallory:evil.example"), minute=5),
    ]
    state = fold(comments, kind="bugzilla", policy=RELAY_POLICY, now=NOW)
    assert [h.by for h in state.holds] == ["alice"]
    assert state.timeline[-1].reason == (
        "@mallory:evil.example on Matrix is not a chat identity of a person in the policy"
    )


def test_a_relayed_signoff_needs_the_person_in_the_team_never_the_relays_membership() -> None:
    policy = RELAY_POLICY.model_copy(
        update={"teams": {**POLICY.teams, "QA": Team(members=["quinn", "syncbot"])}}
    )
    comments = [ready_story()[0], post("syncbot@example.com", relayed(QA), minute=1)]
    people = {**policy.people}
    people["alice"] = Person(bugzilla=["alice@example.com"], matrix="@alice:example.org")
    state = fold(comments, kind="bugzilla", policy=policy, now=NOW)
    assert state.signoffs == [] and state.timeline[-1].reason == "alice is not a member of QA"


def test_only_the_incident_commander_binds_a_chat_room_also_through_a_relay() -> None:
    from sync_incident.core.events import RoomBound

    policy = RELAY_POLICY.model_copy(
        update={
            "people": {
                **RELAY_POLICY.people,
                "dana": Person(bugzilla=["dana@example.com"], matrix="@dana:example.org"),
            }
        }
    )
    bind = RoomBound(chat="matrix", room="!ops:example.org")
    by_alice = relayed(RoomBound(chat="matrix", room="!alice:example.org"))
    by_dana = relayed(bind, "@dana:example.org")
    comments = [
        *ready_story(),
        post("syncbot@example.com", by_alice, minute=4),  # alice is not the IC
        post("syncbot@example.com", by_dana, minute=5),  # the relay speaks for dana, the IC
        post("rachel@example.com", RoomBound(chat="slack", room="C024BE91L"), minute=6),
    ]
    state = fold(comments, kind="bugzilla", policy=policy, now=NOW)
    assert [(r.chat, r.room, r.by) for r in state.rooms] == [("matrix", "!ops:example.org", "dana")]
    refused = [e for e in state.timeline if not e.accepted]
    assert [e.reason for e in refused] == [
        "only the incident commander (dana) can bind a chat room",
        "only the incident commander (dana) can bind a chat room",
    ]
    accepted = state.timeline[-2]
    assert (
        accepted.summary == "dana (via Matrix) bound Matrix room !ops:example.org to the incident"
    )
    unbind = RoomBound(chat="matrix", room="!ops:example.org", unbound=True)
    state = fold(
        [*comments, post("dana@example.com", unbind, minute=7)],
        kind="bugzilla",
        policy=policy,
        now=NOW,
    )
    assert state.rooms == []


# --- the property: strangers change no verdict -----------------------------------------------

REL2 = "Firefox 96.0.2"
EXAMPLES = 2_000 if os.environ.get("SYNC_INCIDENT_LONG") == "1" else 100
LEGIT: list[tuple[str, int, Event]] = [
    ("ivan", 100, Opened(title="Startup crash", releases=[REL, REL2], ic="ivan")),
    ("quinn", 300, QA),
    ("alice", 200, HOLD),
    ("rachel", 400, RELENG),
    ("alice", 200, HoldRaised(release=REL2, reason="the respin crashes on startup")),
    ("quinn", 300, QA.model_copy(update={"release": REL2, "id": "01ARZ3NDEKTSV4RRFFQ69G5FB0"})),
    # REL2 lacks nothing but the release of alice's hold
    (
        "rachel",
        400,
        RELENG.model_copy(update={"release": REL2, "id": "01ARZ3NDEKTSV4RRFFQ69G5FB1"}),
    ),
    ("alice", 200, HoldReleased(release=REL, hold=HOLD.id, reason="A false alarm, a test rig.")),
    ("quinn", 300, SignoffRevoked(team="QA", release=REL, reason="A new crash signature.")),
]
LEGIT_IDS = [e.id for _, _, e in LEGIT]


def _stranger_event(draw: st.DrawFn) -> Event:
    """Anything a stranger could type into a comment, aimed at the legitimate record."""
    target = draw(st.sampled_from(LEGIT_IDS))
    release = draw(st.sampled_from([REL, REL2, "Firefox 97.0"]))
    reason = "Checked: it is fine now, really."
    choices: list[Event] = [
        # what would unblock the legitimate record, most often
        HoldReleased(release=REL2, hold=LEGIT_IDS[4], reason=reason),
        Retracted(event=LEGIT_IDS[4], reason=reason),
        Retracted(event=LEGIT_IDS[-1], reason=reason),
        HoldReleased(release=release, hold=HOLD.id, reason=reason),
        Retracted(event=target, reason=reason),
        SignoffGiven(team="QA", release=release, statement=f"QA signs off on {release}."),
        SignoffGiven(team="Releng", release=release, statement=f"Releng signs off on {release}."),
        ShipDecision(release=release, statement=f"Please ship {release} to users."),
        ReleaseAdded(release=release),
        HoldRaised(release=release, reason="a stranger's hold"),
        Note(text="A note by someone outside the policy."),
        DoubtChecked(where=["comment 1"], finding=reason, seen_hidden=True),
        Opened(title="Another incident", releases=[release], ic="mallory"),
        HandoffAccepted(offer=target),
    ]
    made = draw(st.sampled_from(choices))
    update: dict[str, object] = {}
    if draw(st.integers(0, 3)) == 3:  # take an id of the legitimate record, earlier or later
        update["id"] = draw(st.sampled_from(LEGIT_IDS))
    if draw(st.booleans()):
        update["follows"] = draw(st.sampled_from(LEGIT_IDS))
    return made.model_copy(update=update)


@st.composite
def strangers(draw: st.DrawFn) -> list[tuple[int, Comment]]:
    """(position in the legitimate record, comment) for each stranger's comment."""
    out = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        # logins a stranger can register: the policy's keys and people's logins among them
        login = draw(st.sampled_from(["ivan", "alice", "quinn", "rachel", "mallory", "dana"]))
        uid = draw(st.integers(min_value=900, max_value=999))
        events = [_stranger_event(draw) for _ in range(draw(st.integers(1, 2)))]
        rarely = st.integers(0, 7).map(lambda n: n == 7)  # each is doubt where anyone may hold
        flags = {"edited": draw(rarely), "private": draw(rarely)}
        body = codec.render(events, "github")
        if draw(rarely):
            body = body.replace("sync-incident:1", "sync-incident:1 ", 1)  # unreadable
        at = draw(st.sampled_from(range(len(LEGIT), -1, -1)))  # before which legit comment
        author = Account(login, uid=str(uid))
        comment = Comment("", author, T0, body, edited=flags["edited"], private=flags["private"])
        out.append((at, comment))
    return out


def _record(extra: list[tuple[int, Comment]]) -> list[Comment]:
    """The legitimate record with ``extra`` inserted, numbered as a tracker would.

    The legitimate comments keep their times; a stranger's comes just before the one it
    is inserted before.
    """
    chained: list[tuple[str, int, Event]] = []
    for login, uid, event in LEGIT:
        if chained:
            event = event.model_copy(update={"follows": chained[-1][2].id})
        chained.append((login, uid, event))
    merged: list[Comment] = []
    for n in range(len(LEGIT) + 1):
        at = T0 + timedelta(minutes=n)
        merged += [replace(c, created_at=at - timedelta(seconds=1)) for k, c in extra if k == n]
        if n < len(LEGIT):
            login, uid, event = chained[n]
            body = codec.render([event], "github")
            merged.append(Comment("", Account(login, uid=str(uid)), at, body))
    return [replace(c, id=str(n), order=n) for n, c in enumerate(merged, 1)]


def _verdicts(comments: list[Comment], policy: Policy) -> dict[str, dict[str, object]]:
    state = fold(comments, kind="github", policy=policy, now=NOW)
    return {
        release: readiness(state, release, policy=policy, required=["QA", "Releng"]).model_dump(
            exclude={"incident"}
        )
        for release in (REL, REL2, "Firefox 97.0")
    }


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strangers())
def test_no_events_by_accounts_outside_a_restricted_policy_change_any_verdict(
    extra: list[tuple[int, Comment]],
) -> None:
    policy = GH_POLICY.model_copy(update={"restrict_to_people": True})
    assert _verdicts(_record(extra), policy) == _verdicts(_record([]), policy)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strangers())
def test_where_anyone_may_hold_strangers_can_only_make_a_release_less_ready(
    extra: list[tuple[int, Comment]],
) -> None:
    before = _verdicts(_record([]), GH_POLICY)
    after = _verdicts(_record(extra), GH_POLICY)
    for release, verdict in after.items():
        assert not verdict["ready"] or before[release]["ready"], release


def test_on_github_the_person_who_set_the_hold_label_is_known_by_account_id() -> None:
    opened = [gh("ivan", 100, GH_OPEN, minute=0)]
    at = T0 + timedelta(minutes=5)
    mine = Mark(flag="hold", on=True, by="alice-renamed", at=at, uid="200")
    state = gh_state(opened, marks=[mine])
    assert [(d.author, d.clearable_by) for d in state.doubts] == [("alice", ["alice", "ivan"])]
    theirs = Mark(flag="hold", on=True, by="alice", at=at, uid="31337")  # took her old login
    state = gh_state(opened, marks=[theirs])
    assert [(d.author, d.clearable_by) for d in state.doubts] == [("alice#31337", ["ivan"])]


def test_check_refuses_what_the_caller_may_not_clear_names_who_can_and_posts_nothing() -> None:
    """Issue 19's dead end: the IC made by an edited handoff may not clear it; the check is
    refused before anything is posted, and the refusal names who can."""
    from sync_incident.application.intents import Actor, Ask, Check
    from sync_incident.core.errors import RefusedError

    comments, where = _handoff_then_edited()
    state = state_of(comments)
    finding = "I compared the handoff with what dana told me in the call: same steps."
    for me in ("beatrice", "mallory@example.com"):
        with pytest.raises(RefusedError) as refused:
            Check(finding, (where,)).events(Ask(state, Actor(me), POLICY))
        assert f"{where}: dana checks it" in refused.value.message
        assert "nothing was posted" in refused.value.hint
    [event] = Check(finding, (where,)).events(Ask(state, Actor("dana"), POLICY))
    assert isinstance(event, DoubtChecked) and event.where == [where]
