"""The overview every view renders: a long incident with four releases, holds and a doubt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_incident.application.overview import overview
from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import (
    Event,
    HoldRaised,
    Note,
    Opened,
    ShipDecision,
    SignoffGiven,
    new_event_id,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.digest.model import build_digest, render_markdown
from sync_incident.mirror import status_block
from sync_incident.serve.view import card
from sync_incident.views import listing, listing_text, state_text

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
RELEASES = ["Firefox 121.0.1", "Firefox 120.0.2", "Firefox ESR 115.6.1", "Focus 121.1"]
POLICY = Policy(
    people={p: Person() for p in ("emily", "quinn", "robin", "morgan", "zoe")},
    teams={
        "QA": Team(members=["quinn"]),
        "Releng": Team(members=["robin"]),
        "Relman": Team(members=["morgan"]),
    },
    products={
        "Firefox": ProductPolicy(required_signoffs=["QA", "Releng"]),
        "Firefox ESR": ProductPolicy(required_signoffs=["QA"]),
        "Focus": ProductPolicy(required_signoffs=["QA"], require_ship=True),
    },
)


def state_of(*posts: tuple[str, Event], doubt: bool = False) -> IncidentState:
    events = list(posts)
    if doubt:  # a note that follows an event nobody can see: the record is in doubt
        events.append(("quinn", Note(text="Crash rates are flat.", follows=new_event_id())))
    comments = [
        Comment(str(n), Account(who), T0 + timedelta(minutes=n), codec.render(e), order=n)
        for n, (who, e) in enumerate(events, 1)
    ]
    return fold(comments, kind="local", policy=POLICY, now=T0 + timedelta(hours=5), ref="local:1")


def long_incident(doubt: bool = True) -> IncidentState:
    def so(team: str, release: str) -> SignoffGiven:
        return SignoffGiven(team=team, release=release, statement=f"{team} signs off on {release}.")

    return state_of(
        ("emily", Opened(title="Crash spike", releases=RELEASES, ic="emily")),
        ("quinn", so("QA", "Firefox 121.0.1")),
        ("robin", so("Releng", "Firefox 121.0.1")),
        ("zoe", HoldRaised(release="Firefox 120.0.2", reason="a regression in the updater")),
        ("quinn", so("QA", "Firefox ESR 115.6.1")),
        ("quinn", so("QA", "Focus 121.1")),
        (
            "morgan",
            ShipDecision(release="Focus 121.1", statement="Please ship Focus 121.1 to users."),
        ),
        doubt=doubt,
    )


def test_every_view_has_every_release_and_zoes_hold_even_when_the_record_is_in_doubt() -> None:
    now = T0 + timedelta(hours=5)
    seen = overview(long_incident(), POLICY, None, now)
    assert [v.release for v in seen.verdicts] == RELEASES
    assert {v.verdict for v in seen.verdicts} == {"in-doubt"}
    held = seen.verdict("Firefox 120.0.2")
    assert held is not None
    # the doubt never hides the real blocker: the hold comes first
    assert held.reasons[0].startswith("Blocked: zoe holds Firefox 120.0.2 since ")
    hold_words = (
        "zoe holds Firefox 120.0.2 since 2026-12-07 08:04 UTC: a regression in the updater."
    )
    digest = render_markdown(build_digest([seen], POLICY, now))
    listed = listing_text(listing([seen]))
    shown = state_text(seen)
    block = status_block(seen)
    view = card(IncidentRef("local", 1), seen, now)
    for name, text in (("digest", digest), ("list", listed), ("show", shown), ("mirror", block)):
        for release in RELEASES:
            assert release in text, (name, release)
        assert hold_words in text, name
        assert "…" not in text, name  # nothing is cut
    assert [r.release for r in view.releases] == RELEASES
    [held_view] = [r for r in view.releases if r.release == "Firefox 120.0.2"]
    assert hold_words in held_view.reason and "cannot see" in held_view.reason


def test_list_digest_and_card_say_every_reason_not_only_the_first() -> None:
    now = T0 + timedelta(hours=5)
    seen = overview(long_incident(doubt=False), POLICY, None, now)
    held = seen.verdict("Firefox 120.0.2")
    assert held is not None and len(held.reasons) == 3  # the hold, QA, Releng
    [line] = [x for x in listing_text(listing([seen])).splitlines() if "Firefox 120.0.2" in x]
    assert line.strip() == held.line
    for reason in held.reasons:
        assert reason.split(": ", 1)[1] in line
    digest = render_markdown(build_digest([seen], POLICY, now))
    assert f"  - {held.line}" in digest.splitlines()
    view = card(IncidentRef("local", 1), seen, now)
    [shown] = [r for r in view.releases if r.release == "Firefox 120.0.2"]
    assert shown.reasons == held.reasons


def test_ready_says_the_ship_decision_everywhere() -> None:
    now = T0 + timedelta(hours=5)
    seen = overview(long_incident(doubt=False), POLICY, None, now)
    focus = seen.verdict("Focus 121.1")
    esr = seen.verdict("Firefox ESR 115.6.1")
    assert focus is not None and focus.ready and esr is not None and esr.ready
    assert focus.line == (
        "READY Focus 121.1 — QA signed off; Relman's ship decision is given "
        "(morgan, 2026-12-07 08:07 UTC)."
    )
    assert esr.line == (
        "READY Firefox ESR 115.6.1 — QA signed off; Relman's ship decision is not required."
    )
    for text in (
        render_markdown(build_digest([seen], POLICY, now)),
        listing_text(listing([seen])),
        state_text(seen),
    ):
        assert focus.line in text and esr.line in text


def test_a_required_ship_decision_missing_is_not_ready_in_every_view() -> None:
    now = T0 + timedelta(hours=5)
    state = state_of(
        ("emily", Opened(title="Crash spike", releases=["Focus 121.1"], ic="emily")),
        ("quinn", SignoffGiven(team="QA", release="Focus 121.1", statement="QA signs off.")),
    )
    seen = overview(state, POLICY, None, now)
    [focus] = seen.verdicts
    assert not focus.ready
    assert focus.reasons == ['Not ready: Relman has not said "Please ship Focus 121.1 to users".']
    assert seen.summary().releases[0].verdict == "not-ready"
    view = card(IncidentRef("local", 1), seen, now)
    assert view.releases[0].label == "NOT READY"


def test_a_hold_on_a_release_the_incident_does_not_name_is_still_shown() -> None:
    """Holds belong to the release they name: a view that listed only the incident's
    releases would hide one whose release was never added (or was retracted)."""
    state = state_of(
        ("emily", Opened(title="Crash spike", releases=["Firefox 121.0.1"], ic="emily")),
        ("zoe", HoldRaised(release="Firefox 121.0.1", reason="a crash on startup")),
    )
    seen = overview(state, POLICY, None, T0)
    assert [v.release for v in seen.verdicts] == ["Firefox 121.0.1"]
    assert seen.verdicts[0].holds[0].by == "zoe"


def test_a_resolved_incident_with_a_hold_still_open_stays_in_the_lists() -> None:
    """A hold posted after the resolution (by hand: the tool refuses) still blocks, so list,
    the digest and the status page keep showing the incident until someone looks."""
    from sync_incident.core.events import Resolved

    state = state_of(
        ("emily", Opened(title="Crash spike", releases=["Firefox 121.0.1"], ic="emily")),
        ("emily", Resolved(summary="Firefox 121.0.1 shipped at the baseline crash rate.")),
        ("zoe", HoldRaised(release="Firefox 121.0.1", reason="a late crash report on startup")),
    )
    seen = overview(state, POLICY, None, T0)
    assert state.status == "resolved" and seen.open
    assert [v.verdict for v in seen.verdicts] == ["not-ready"]
    assert "zoe holds Firefox 121.0.1" in listing_text(listing([seen]))
