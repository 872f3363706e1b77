"""Release readiness: a decision table over incidents built from real rendered comments."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import (
    Event,
    HoldRaised,
    HoldReleased,
    Opened,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Facts, Person, Policy, ProductPolicy, Team
from sync_incident.core.readiness import Verdict, readiness

T0 = datetime(2022, 1, 12, 14, 0, tzinfo=UTC)
FF = "Firefox 96.0.1"
PROD = "Product 2.0.3"

POLICY = Policy(
    people={p: Person() for p in ("dana", "alice", "bob", "quinn", "rachel", "morgan")},
    teams={
        "QA": Team(members=["quinn", "alice"]),
        "Releng": Team(members=["rachel", "bob"]),
        "Relman": Team(members=["morgan"]),
    },
    products={
        "Firefox": ProductPolicy(required_signoffs=["QA", "Releng"]),
        "Product": ProductPolicy(required_signoffs=["QA", "Releng"]),
    },
)
NO_RENEW = POLICY.model_copy(update={"renew_signoffs_after_hold": False})


@dataclass
class Incident:
    """Comments on one incident, posted one minute apart by default."""

    comments: list[Comment] = field(default_factory=list)
    vanished: list[Comment] = field(default_factory=list)
    minute: int = 0
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def post(
        self, who: str, event: Event, *, edited: bool = False, body: str | None = None
    ) -> Comment:
        self.minute += 1
        comment = Comment(
            id=str(next(self.ids)),
            author=Account(who),
            created_at=T0 + timedelta(minutes=self.minute),
            body=codec.render(event) if body is None else body,
            edited=edited,
        )
        self.comments.append(comment)
        return comment


def opened(release: str = FF) -> Incident:
    inc = Incident()
    inc.post("dana", Opened(title="Startup crash", releases=[release], ic="dana"))
    return inc


def so(team: str, release: str = FF) -> SignoffGiven:
    return SignoffGiven(team=team, release=release, statement=f"{team} signs off on {release}.")


def both(inc: Incident, release: str = FF) -> Incident:
    inc.post("quinn", so("QA", release))
    inc.post("rachel", so("Releng", release))
    return inc


def hold_and_release(inc: Incident, raiser: str, releaser: str, release: str = FF) -> Incident:
    hold = HoldRaised(release=release, reason="crash spike on startup")
    inc.post(raiser, hold)
    inc.post(releaser, HoldReleased(release=release, hold=hold.id, reason="fixed in build 2"))
    return inc


# --- the scenarios ----------------------------------------------------------------------------


def s_ready() -> Incident:
    return both(opened())


def s_missing_releng() -> Incident:
    inc = opened()
    inc.post("quinn", so("QA"))
    return inc


def s_nothing() -> Incident:
    return opened()


def s_not_opened() -> Incident:
    inc = Incident()
    inc.post("quinn", so("QA"))
    inc.post("rachel", so("Releng"))
    return inc


def s_seed_bob_proceeds() -> Incident:
    """Alice holds; Bob, believing he has full context, tries to release her hold."""
    inc = opened(PROD)
    inc.post("alice", HoldRaised(release=PROD, reason="unexplained startup crashes on Windows 7"))
    hold_id = codec.parse(inc.comments[-1].body).events[0].id
    inc.post("bob", HoldReleased(release=PROD, hold=hold_id, reason="we can proceed"))
    return both(inc, PROD)


def s_seed_alice_releases() -> Incident:
    inc = opened(PROD)
    hold_and_release(inc, "alice", "alice", PROD)
    return both(inc, PROD)


def s_hold_released_by_ic() -> Incident:
    return both(hold_and_release(opened(), "alice", "dana"))


def s_hold_released_by_third_person() -> Incident:
    return both(hold_and_release(opened(), "alice", "bob"))


def s_hold_on_another_release() -> Incident:
    inc = both(opened())
    inc.post("alice", HoldRaised(release="Firefox 97.0", reason="crash spike"))
    return inc


def s_forged_by_stranger() -> Incident:
    inc = opened()
    inc.post("quinn", so("QA"))
    inc.post("mallory", so("Releng"))
    return inc


def s_wrong_team() -> Incident:
    inc = opened()
    inc.post("quinn", so("QA"))
    inc.post("quinn", so("Releng"))
    return inc


def s_quoted_signoff() -> Incident:
    inc = opened()
    inc.post("quinn", so("QA"))
    quoted = "\n".join("> " + line for line in codec.render(so("Releng")).split("\n"))
    inc.post("rachel", so("Releng"), body=f"(In reply to Rachel)\n{quoted}\n\nThanks.")
    return inc


def s_revoked() -> Incident:
    inc = both(opened())
    inc.post("quinn", SignoffRevoked(team="QA", release=FF, reason="a regression in 96.0.1"))
    return inc


def s_revoked_then_renewed() -> Incident:
    inc = s_revoked()
    inc.post("alice", so("QA"))
    return inc


def s_stale_signoff() -> Incident:
    """Both teams signed off, then a hold was raised and released: sign-offs must be renewed."""
    return hold_and_release(both(opened()), "alice", "alice")


def s_stale_signoff_renewed() -> Incident:
    return both(s_stale_signoff())


def s_stale_signoff_hold_open() -> Incident:
    inc = both(opened())
    inc.post("alice", HoldRaised(release=FF, reason="crash spike"))
    return inc


def s_vanished_hold() -> Incident:
    inc = both(opened())
    gone = inc.post("alice", HoldRaised(release="Firefox 97.0", reason="crash spike"))
    inc.comments.remove(gone)
    inc.vanished.append(gone)
    return inc


def s_edited_signoff() -> Incident:
    inc = opened()
    inc.post("quinn", so("QA"), edited=True)
    inc.post("rachel", so("Releng"))
    return inc


def s_unreadable_by_member() -> Incident:
    inc = both(opened())
    broken = codec.render(so("QA")).replace('"QA"', '"QB"')
    inc.post("quinn", so("QA"), body=broken)
    return inc


def s_unreadable_by_stranger() -> Incident:
    inc = both(opened())
    broken = codec.render(so("QA")).replace('"QA"', '"QB"')
    inc.post("mallory", so("QA"), body=broken)
    return inc


def s_shipped() -> Incident:
    inc = both(opened())
    inc.post("morgan", ShipDecision(release=FF, statement=f"Please ship {FF} to users."))
    return inc


def s_ship_by_non_relman() -> Incident:
    inc = both(opened())
    inc.post("rachel", ShipDecision(release=FF, statement=f"Please ship {FF} to users."))
    return inc


def s_ship_other_release() -> Incident:
    inc = both(opened())
    inc.post("morgan", ShipDecision(release="Firefox 96.0", statement="Please ship it."))
    return inc


def s_lowercase_signoffs() -> Incident:
    return both(opened(), "firefox 96.0.1")


def s_only_qa_on_focus() -> Incident:
    inc = opened("Focus 97.0")
    inc.post("quinn", so("QA", "Focus 97.0"))
    return inc


@dataclass(frozen=True)
class Case:
    scenario: Callable[[], Incident]
    release: str = FF
    ready: bool = False
    reasons: tuple[str, ...] = ()  # each must appear in one reason
    problems: dict[str, str | None] = field(default_factory=dict)  # team -> problem
    require: tuple[str, ...] = ()
    require_ship: bool = False
    policy: Policy = POLICY
    facts: Facts = field(default_factory=Facts)


CASES: dict[str, Case] = {
    "ready-with-both-signoffs": Case(s_ready, ready=True, problems={"QA": None, "Releng": None}),
    "missing-team": Case(
        s_missing_releng,
        reasons=("Not ready: Firefox 96.0.1 has no sign-off from Releng.",),
        problems={"QA": None, "Releng": "missing"},
    ),
    "no-signoffs-at-all": Case(
        s_nothing,
        reasons=(
            "Not ready: Firefox 96.0.1 has no sign-off from QA.",
            "Not ready: Firefox 96.0.1 has no sign-off from Releng.",
        ),
    ),
    "incident-not-opened": Case(s_not_opened, reasons=("holds no open incident record",)),
    "seed-bob-cannot-release-alices-hold": Case(
        s_seed_bob_proceeds,
        release=PROD,
        reasons=(
            "Blocked: alice holds Product 2.0.3 since 2022-01-12 14:02 UTC: "
            "unexplained startup crashes on Windows 7",
        ),
    ),
    "seed-alice-releases-her-hold": Case(s_seed_alice_releases, release=PROD, ready=True),
    "hold-released-by-the-ic": Case(s_hold_released_by_ic, ready=True),
    "hold-released-by-a-third-person-stays-open": Case(
        s_hold_released_by_third_person, reasons=("Blocked: alice holds Firefox 96.0.1",)
    ),
    "hold-on-another-release-does-not-block": Case(s_hold_on_another_release, ready=True),
    "forged-signoff-by-a-stranger": Case(
        s_forged_by_stranger,
        reasons=("has no sign-off from Releng",),
        problems={"Releng": "missing"},
    ),
    "signoff-by-the-wrong-team": Case(
        s_wrong_team, reasons=("has no sign-off from Releng",), problems={"Releng": "missing"}
    ),
    "quoted-signoff-does-not-count": Case(
        s_quoted_signoff, reasons=("has no sign-off from Releng",), problems={"Releng": "missing"}
    ),
    "revoked-signoff": Case(
        s_revoked,
        reasons=(
            "Not ready: QA's sign-off on Firefox 96.0.1 was revoked by quinn at "
            "2022-01-12 14:04 UTC: a regression in 96.0.1",
        ),
        problems={"QA": "revoked"},
    ),
    "revoked-signoff-renewed": Case(s_revoked_then_renewed, ready=True),
    "stale-signoff-from-before-a-hold": Case(
        s_stale_signoff,
        reasons=(
            "Not ready: QA's sign-off on Firefox 96.0.1 (quinn, 2022-01-12 14:02 UTC) predates "
            "the hold alice raised at 2022-01-12 14:04 UTC; QA must sign off again after the "
            "hold is released.",
            "Releng's sign-off on Firefox 96.0.1 (rachel",
        ),
        problems={"QA": "stale", "Releng": "stale"},
    ),
    "stale-signoff-renewed-after-release": Case(s_stale_signoff_renewed, ready=True),
    "stale-signoff-allowed-by-policy": Case(s_stale_signoff, ready=True, policy=NO_RENEW),
    "open-hold-after-signoffs": Case(
        s_stale_signoff_hold_open, reasons=("Blocked: alice holds", "predates the hold")
    ),
    "open-hold-blocks-even-without-renewal-rule": Case(
        s_stale_signoff_hold_open, reasons=("Blocked: alice holds",), policy=NO_RENEW
    ),
    "vanished-hold-comment-is-doubt": Case(
        s_vanished_hold,
        reasons=(
            'In doubt: comment 4 by alice (it carries "alice asked to hold Firefox 97.0: crash '
            'spike"): a comment carrying events was deleted',
        ),
    ),
    "edited-signoff-comment-is-doubt": Case(
        s_edited_signoff,
        reasons=(
            'In doubt: comment 2 by quinn (it carries "quinn signed off for QA on Firefox '
            '96.0.1"): a comment carrying events was edited',
        ),
    ),
    "unreadable-trailer-by-a-member-is-doubt": Case(
        s_unreadable_by_member, reasons=("In doubt: comment 4 by quinn",)
    ),
    # anyone may hold a release, so an unreadable trailer by anyone could be a hold
    "unreadable-trailer-by-a-stranger-is-doubt": Case(
        s_unreadable_by_stranger, reasons=("In doubt: comment 4 by mallory",)
    ),
    "unreadable-trailer-by-a-stranger-is-ignored-when-only-people-may-hold": Case(
        s_unreadable_by_stranger,
        ready=True,
        policy=POLICY.model_copy(update={"restrict_to_people": True}),
    ),
    "require-ship-without-ship-decision": Case(
        s_ready,
        require_ship=True,
        reasons=('Not ready: Relman has not said "Please ship Firefox 96.0.1 to users".',),
    ),
    "require-ship-with-relman-ship-decision": Case(s_shipped, require_ship=True, ready=True),
    "require-ship-by-a-non-relman-does-not-count": Case(
        s_ship_by_non_relman, require_ship=True, reasons=("Relman has not said",)
    ),
    "ship-decision-for-another-release-does-not-count": Case(
        s_ship_other_release, require_ship=True, reasons=("Relman has not said",)
    ),
    "ship-decision-not-required-by-default": Case(s_ready, ready=True),
    "product-compares-without-case": Case(s_ready, release="FIREFOX 96.0.1", ready=True),
    "signoffs-typed-in-lowercase-count": Case(s_lowercase_signoffs, ready=True),
    "version-compares-exactly": Case(
        s_ready,
        release="Firefox 96.0.10",
        reasons=(
            "Not ready: Firefox 96.0.10 has no sign-off from QA.",
            "Not ready: Firefox 96.0.10 has no sign-off from Releng.",
        ),
    ),
    "no-required-teams-is-not-ready": Case(
        s_only_qa_on_focus,
        release="Focus 97.0",
        reasons=("Not ready: no required sign-offs are configured for Focus 97.0",),
    ),
    "require-flag-names-the-teams": Case(
        s_only_qa_on_focus, release="Focus 97.0", require=("qa",), ready=True
    ),
    # a request adds teams to the policy's, never drops one: Releng is still required
    "require-flag-cannot-drop-a-team-the-policy-requires": Case(
        s_missing_releng,
        require=("QA",),
        reasons=("has no sign-off from Releng",),
        problems={"QA": None, "Releng": "missing"},
    ),
    "require-an-unknown-team": Case(
        s_ready, require=("QA", "Security"), reasons=("the policy has no team 'Security'",)
    ),
    "permissive-policy-needs-required-teams": Case(
        s_ready, policy=Policy(), reasons=("no required sign-offs are configured",)
    ),
    "permissive-policy-with-required-teams": Case(
        s_ready, policy=Policy(), require=("QA", "Releng"), ready=True
    ),
    "unverifiable-team-membership": Case(
        s_ready,
        facts=Facts(unknown={"Releng": "the token cannot read org teams"}),
        reasons=("membership of Releng cannot be checked (the token cannot read org teams)",),
    ),
}


def verdict_for(case: Case) -> Verdict:
    inc = case.scenario()
    state = fold(
        inc.comments,
        kind="local",
        policy=case.policy,
        vanished=inc.vanished,
        now=T0 + timedelta(days=1),
        ref="local:1",
    )
    return readiness(
        state,
        case.release,
        required=list(case.require) or None,
        policy=case.policy,
        facts=case.facts,
        require_ship=case.require_ship,
    )


@pytest.mark.parametrize("name", list(CASES))
def test_decision_table(name: str) -> None:
    case = CASES[name]
    verdict = verdict_for(case)
    assert verdict.ready is case.ready, verdict.reasons
    assert (verdict.reasons == []) is case.ready
    for expected in case.reasons:
        assert any(expected in reason for reason in verdict.reasons), (expected, verdict.reasons)
    problems = {t.team: t.problem for t in verdict.teams}
    for team, problem in case.problems.items():
        assert problems[team] == problem


def test_every_reason_is_a_complete_sentence() -> None:
    for case in CASES.values():
        for reason in verdict_for(case).reasons:
            assert reason.split(":")[0] in ("Not ready", "Blocked", "In doubt"), reason
            assert reason[0].isupper()
            assert reason.endswith((".", "!", "?")), reason


def test_reasons_from_free_text_end_with_one_stop() -> None:
    inc = both(opened())
    inc.post("alice", HoldRaised(release=FF, reason="a crash spike on startup"))
    inc.post("quinn", SignoffRevoked(team="QA", release=FF, reason="a new crash signature."))
    state = fold(inc.comments, kind="local", policy=POLICY, now=T0 + timedelta(days=1))
    reasons = readiness(state, FF, policy=POLICY).reasons
    assert any(r.endswith(": a crash spike on startup.") for r in reasons), reasons
    assert any(r.endswith(": a new crash signature.") for r in reasons), reasons
    assert not any(r.endswith("..") for r in reasons), reasons


def test_verdict_names_who_signed_and_when() -> None:
    verdict = verdict_for(CASES["ready-with-both-signoffs"])
    assert [(t.team, t.by, t.at) for t in verdict.teams] == [
        ("QA", "quinn", T0 + timedelta(minutes=2)),
        ("Releng", "rachel", T0 + timedelta(minutes=3)),
    ]


def test_verdict_lists_open_holds_on_the_release() -> None:
    verdict = verdict_for(CASES["hold-released-by-a-third-person-stays-open"])
    assert [(h.by, h.reason) for h in verdict.holds] == [("alice", "crash spike on startup")]


def test_verdict_reports_the_ship_decision() -> None:
    verdict = verdict_for(CASES["require-ship-with-relman-ship-decision"])
    ship = verdict.ship_decision
    assert ship is not None
    assert (ship.by, ship.at, ship.statement, ship.stale) == (
        "morgan",
        T0 + timedelta(minutes=4),
        "Please ship Firefox 96.0.1 to users.",
        False,
    )


def test_missing_lists_teams_without_a_valid_signoff() -> None:
    assert verdict_for(CASES["stale-signoff-from-before-a-hold"]).missing == ["QA", "Releng"]


def test_verdict_json_schema_is_stable() -> None:
    """The documented ``gate --json`` schema: these keys, at these levels."""
    data = json.loads(verdict_for(CASES["open-hold-after-signoffs"]).model_dump_json())
    assert set(data) == {
        "schema_version",
        "ready",
        "release",
        "incident",
        "required",
        "teams",
        "holds",
        "ship_required",
        "ship_decision",
        "reasons",
        "summary",
        "policy",
        "verdict",
    }
    assert set(data["teams"][0]) == {
        "team",
        "status",
        "signed",
        "by",
        "at",
        "statement",
        "why",
        "revoked_by",
        "revoked_at",
        "problem",
    }
    assert set(data["holds"][0]) == {"by", "since", "reason", "id"}
    assert (data["schema_version"], data["incident"], data["policy"]) == (
        3,
        "local:1",
        "configured",
    )


def test_release_without_a_version_is_refused() -> None:
    state = fold([], kind="local", policy=POLICY)
    with pytest.raises(ValueError, match="not a release"):
        readiness(state, "Firefox", policy=POLICY)


def test_release_is_normalised_in_the_verdict() -> None:
    verdict = verdict_for(Case(s_ready, release="  Firefox   96.0.1 "))
    assert verdict.release == "Firefox 96.0.1" and verdict.ready


def test_headline_says_the_verdict_once_then_the_first_reason() -> None:
    assert verdict_for(CASES["ready-with-both-signoffs"]).headline == (
        "READY — QA and Releng signed off; Relman's ship decision is not required."
    )
    assert verdict_for(CASES["missing-team"]).headline == (
        "NOT READY — Firefox 96.0.1 has no sign-off from Releng."
    )
    doubt = verdict_for(CASES["vanished-hold-comment-is-doubt"]).headline
    assert doubt.startswith("IN DOUBT — comment 4 by alice (it carries"), doubt
    assert doubt.endswith("nothing counts until the incident commander (dana) checks it."), doubt


def test_ready_names_the_ship_decision_when_it_is_given() -> None:
    verdict = verdict_for(CASES["require-ship-with-relman-ship-decision"])
    assert verdict.ready
    assert verdict.summary == (
        "QA and Releng signed off; Relman's ship decision is given (morgan, 2022-01-12 14:04 UTC)."
    )


def test_a_product_can_require_the_ship_decision() -> None:
    policy = POLICY.model_copy(
        update={
            "products": {
                "Firefox": ProductPolicy(required_signoffs=["QA", "Releng"], require_ship=True)
            }
        }
    )
    verdict = verdict_for(Case(s_ready, policy=policy))
    assert not verdict.ready and verdict.ship_required
    assert verdict.reasons == [
        'Not ready: Relman has not said "Please ship Firefox 96.0.1 to users".'
    ]


def test_a_request_cannot_waive_a_ship_decision_the_policy_requires() -> None:
    policy = POLICY.model_copy(update={"require_ship": True})
    state = verdict_for(Case(s_ready, policy=policy))
    assert not state.ready
    inc = s_ready()
    folded = fold(inc.comments, kind="local", policy=policy, now=T0 + timedelta(days=1))
    assert not readiness(folded, FF, policy=policy, require_ship=False).ready


def test_reasons_come_in_the_order_to_act_on_them_holds_first() -> None:
    """A doubt never hides a hold: holds, then sign-offs, then doubts, then the ship decision."""
    inc = s_stale_signoff_hold_open()
    inc.vanished.append(inc.comments.pop(1))  # a comment with an event vanished: doubt
    state = fold(
        inc.comments,
        kind="local",
        policy=POLICY,
        vanished=inc.vanished,
        now=T0 + timedelta(days=1),
        ref="local:1",
    )
    verdict = readiness(state, FF, policy=POLICY, require_ship=True)
    kinds = [r.split(":")[0] for r in verdict.reasons]
    assert verdict.verdict == "in-doubt"
    assert kinds[0] == "Blocked", verdict.reasons
    assert kinds.index("In doubt") > max(i for i, k in enumerate(kinds) if k == "Blocked")
    assert "Relman has not said" in verdict.reasons[-1]
    assert verdict.line.startswith("IN DOUBT Firefox 96.0.1 — alice holds Firefox 96.0.1")
    assert all(r.split(": ", 1)[1][:20] in verdict.line for r in verdict.reasons)
