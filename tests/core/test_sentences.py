"""Every sentence the tool writes, word for word (a golden test per template).

The sentences name who and what (PRODUCT.md rule 2). Each case renders one event in the
context a posting command has: who posts, on which incident, and the state before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import (
    EVENT_TYPES,
    Checkpoint,
    DigestPosted,
    DoubtChecked,
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
    ReleaseAdded,
    Reminder,
    Reopened,
    Resolved,
    Retracted,
    RetroDraft,
    RetroNote,
    RoomBound,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
    StepAdded,
    StepUpdated,
    TakeOver,
    Witnessed,
)
from sync_incident.core.fold import fold
from sync_incident.core.sentences import Context

T = datetime(2022, 1, 12, 14, 3, tzinfo=UTC)
REL = "Firefox 96.0.1"
OPEN = Opened(title="Startup crash spike", releases=[REL], ic="dana")
HOLD = HoldRaised(release=REL, reason="a crash spike on startup")
OFFER = HandoffOffered(
    to="beatrice",
    done="Steps 1 to 3 are done.",
    todo="Step 4 remains",
    next_steps=[NextStep(what="Verify the fix on nightly", owner="beatrice", by=T)],
    notify=["Relman"],
)
STEP = StepAdded(step="4", title="Verify the fix on nightly", owner="dana")
SIGNOFF = SignoffGiven(team="QA", release=REL, statement=f"QA signs off on {REL}.")


def _state() -> Context:
    events: list[Event] = [OPEN, STEP, HOLD, OFFER, SIGNOFF]
    authors = ["dana", "dana", "alice", "dana", "quinn"]
    comments = [
        Comment(str(n), Account(who), T, codec.render(e), order=n)
        for n, (who, e) in enumerate(zip(authors, events, strict=True), 1)
    ]
    return Context(ref="bug 1750000", state=fold(comments, kind="local", now=T))


BEFORE = _state()


def ctx(actor: str) -> Context:
    return Context(actor=actor, ref=BEFORE.ref, state=BEFORE.state)


CASES: list[tuple[str, Event, str]] = [
    (
        "dana",
        OPEN,
        "Incident opened on bug 1750000: Startup crash spike.\n"
        "Severity S2. Releases concerned: Firefox 96.0.1.\n"
        "dana is the incident commander. Record events and decisions here only, so this stays "
        "the single source of truth.",
    ),
    ("bob", Note(text="The patch for bug 1750001 landed."), "The patch for bug 1750001 landed."),
    (
        "bob",
        Link(url="https://x.test/D1", kind="patch", title="The fix"),
        "bob linked patch: The fix\nhttps://x.test/D1",
    ),
    ("dana", STEP, "Checklist step 4 added: Verify the fix on nightly.\nState: todo. Owner: dana."),
    (
        "dana",
        StepUpdated(step="4", state="done"),
        "Checklist step 4 (Verify the fix on nightly) is now done.",
    ),
    (
        "dana",
        StatusUpdate(summary="QA is verifying the fix", next_update_due=T),
        "Status of bug 1750000 from dana (incident commander): QA is verifying the fix.\n"
        "Next update due by 2022-01-12 14:03 UTC.",
    ),
    (
        "dana",
        OFFER,
        "beatrice, dana asks you to take over as incident commander of bug 1750000.\n"
        "Done: Steps 1 to 3 are done.\nStill to do: Step 4 remains.\nNext steps:\n"
        "- Verify the fix on nightly: beatrice, by 2022-01-12 14:03 UTC.\n"
        "When done, notify Relman.\n"
        "Until beatrice accepts, dana stays in charge. beatrice: run `sync-incident accept "
        "bug 1750000` to accept, or `sync-incident decline bug 1750000 --reason ...` to decline.",
    ),
    (
        "beatrice",
        HandoffAccepted(offer=OFFER.id),
        "beatrice accepts the handoff from dana and is now the incident commander of bug 1750000.",
    ),
    (
        "beatrice",
        HandoffDeclined(offer=OFFER.id, reason="I am on PTO tomorrow."),
        "beatrice declines the handoff from dana: I am on PTO tomorrow. dana stays incident "
        "commander.",
    ),
    (
        "beatrice",
        TakeOver(from_ic="dana", reason="dana is on leave and has not answered since 09:00"),
        "beatrice takes over as incident commander of bug 1750000 from dana: dana is on leave "
        "and has not answered since 09:00.\ndana is no longer in charge; everything dana "
        "handed off and everyone waiting on dana now answers to beatrice.",
    ),
    (
        "beatrice",
        HandoffDeclined(offer=OFFER.id, reason="I am on PTO tomorrow."),
        "beatrice declines the handoff from dana: I am on PTO tomorrow. dana stays incident "
        "commander.",
    ),
    (
        "alice",
        HOLD,
        "alice holds Firefox 96.0.1 because of a crash spike on startup.\n"
        "Firefox 96.0.1 must not ship until alice or the incident commander releases this hold.",
    ),
    (
        "alice",
        HoldReleased(release=REL, hold=HOLD.id, reason="the crash is an antivirus conflict"),
        "alice releases the hold alice raised on Firefox 96.0.1: the crash is an antivirus "
        "conflict.",
    ),
    (
        "dana",
        HoldReleased(release=REL, hold=HOLD.id, reason="Bug 1750001 tracks the antivirus."),
        "dana (incident commander) releases alice's hold on Firefox 96.0.1: Bug 1750001 tracks "
        "the antivirus.",
    ),
    ("quinn", SIGNOFF, "QA signs off on Firefox 96.0.1."),
    (
        "quinn",
        SignoffRevoked(team="QA", release=REL, reason="a new crash signature"),
        "quinn revokes QA's sign-off on Firefox 96.0.1: a new crash signature. Firefox 96.0.1 "
        "needs a new sign-off from QA.",
    ),
    (
        "morgan",
        ShipDecision(release=REL, statement="Please ship Firefox 96.0.1 to users"),
        "Please ship Firefox 96.0.1 to users.",
    ),
    (
        "dana",
        Resolved(summary="Firefox 96.0.1 shipped and the crash rate is at baseline."),
        "dana (incident commander) resolved bug 1750000 (Startup crash spike): Firefox 96.0.1 "
        "shipped and the crash rate is at baseline.",
    ),
    (
        "dana",
        Reopened(reason="the crash spike returned on 96.0.2"),
        "dana reopened bug 1750000 because of the crash spike returned on 96.0.2.",
    ),
    (
        "dana",
        ReleaseAdded(release="Firefox 96.0.2", reason="the respin"),
        "dana added Firefox 96.0.2 to the releases of bug 1750000: the respin.\n"
        "Sign-offs, holds and ship decisions on Firefox 96.0.2 now count here.",
    ),
    (
        "quinn",
        Retracted(event=SIGNOFF.id, reason="posted on the wrong incident"),
        'quinn retracts "quinn signed off for QA on Firefox 96.0.1": posted on the wrong '
        "incident. It no longer counts.",
    ),
    (
        "dana",
        DoubtChecked(where=["comment 17"], finding="the edit fixed a typo"),
        "dana (incident commander) checked comment 17: the edit fixed a typo.",
    ),
    (
        "sync-bot",
        Checkpoint(count=5, digest="abc", last=SIGNOFF.id),
        "Checkpoint by sync-bot: 5 events recorded on bug 1750000 so far. A later deletion or "
        "edit of any of them shows as doubt to every reader.",
    ),
    (
        "sync-bot",
        Witnessed(what="deleted", comment="99", events=[HOLD.id], by="mallory", at=T),
        "sync-bot, as witness, records that comment 99, which carried an event, was deleted by "
        "mallory at 2022-01-12 14:03 UTC. Until it is checked, the record is in doubt.",
    ),
    (
        "dana",
        RetroNote(kind="action_item", text="Add a crash test", owner="quinn"),
        "Action item (retrospective note by dana): Add a crash test. Owner: quinn.",
    ),
    ("sync-bot", DigestPosted(key="k", text="**Digest**"), "**Digest**"),
    (
        "sync-bot",
        Reminder(key="k", kind="handoff", text="Reminder: accept it."),
        "Reminder: accept it.",
    ),
    ("dana", RetroDraft(digest="d", text="# Retro"), "# Retro"),
    (
        "dana",
        RoomBound(chat="matrix", room="!ops:example.org"),
        "dana binds Matrix room !ops:example.org to bug 1750000: its events are announced "
        "there, and people there may act on it (!incident help).",
    ),
]


@pytest.mark.parametrize(("actor", "event", "expected"), CASES, ids=[c[1].type for c in CASES])
def test_each_sentence_word_for_word(actor: str, event: Event, expected: str) -> None:
    assert codec.Renderer().human(event, ctx(actor)) == expected


def test_every_event_type_has_a_golden_sentence() -> None:
    assert {event.type for _, event, _ in CASES} == set(EVENT_TYPES)


def test_the_retract_golden_names_its_event_by_the_timeline_summary() -> None:
    entry = BEFORE.entry(SIGNOFF.id)
    assert entry is not None and entry.summary == "quinn signed off for QA on Firefox 96.0.1"


@pytest.mark.parametrize(
    "event",
    [e for _, e, _ in CASES],
    ids=[c[1].type for c in CASES],
)
def test_without_a_context_every_sentence_still_renders(event: Event) -> None:
    text = codec.Renderer().human(event)
    assert text and "None" not in text


ZONES = {"dana": "America/Toronto", "beatrice": "America/Los_Angeles", "quinn": "UTC"}


def zoned(actor: str) -> Context:
    return Context(actor=actor, ref=BEFORE.ref, state=BEFORE.state, zones=ZONES)


ZONED: list[tuple[str, Event, str]] = [
    (
        "dana",
        HandoffOffered(
            to="beatrice",
            done="Steps 1 to 3 are done.",
            todo="Step 4 remains",
            next_steps=[
                NextStep(
                    what="Verify the fix", owner="beatrice", by=T, by_zone="America/Los_Angeles"
                ),
                NextStep(what="Ship the respin", owner="quinn", by=T, by_zone="Europe/Berlin"),
                NextStep(what="Tell Relman", owner="dana", by=T),
            ],
        ),
        "- Verify the fix: beatrice, by 2022-01-12 14:03 UTC (06:03 America/Los_Angeles for "
        "beatrice).\n- Ship the respin: quinn, by 2022-01-12 14:03 UTC (15:03 Europe/Berlin).\n"
        "- Tell Relman: dana, by 2022-01-12 14:03 UTC (09:03 America/Toronto for dana).",
    ),
    (
        "dana",
        StepAdded(step="5", title="Ship", owner="beatrice", due=T),
        "Due by 2022-01-12 14:03 UTC (06:03 America/Los_Angeles for beatrice).",
    ),
    (
        "dana",
        StepUpdated(step="4", due=T, due_zone="Asia/Kathmandu"),  # step 4 is dana's
        "Due by 2022-01-12 14:03 UTC (19:48 Asia/Kathmandu; 09:03 America/Toronto for dana).",
    ),
    (
        "beatrice",
        StatusUpdate(summary="QA verifies", next_update_due=T + timedelta(hours=12)),
        "Next update due by 2022-01-13 02:03 UTC (2022-01-12 21:03 America/Toronto for dana; "
        "2022-01-12 18:03 America/Los_Angeles for beatrice).",
    ),
    (
        "quinn",
        Note(text="The tree closed.", occurred_at=T, occurred_zone="Europe/Berlin"),
        "(Backfilled: this happened at 2022-01-12 14:03 UTC (15:03 Europe/Berlin).)",
    ),
]


@pytest.mark.parametrize(("actor", "event", "expected"), ZONED, ids=[c[1].type for c in ZONED])
def test_a_time_is_written_in_utc_the_zone_typed_and_on_the_clock_of_whom_it_concerns(
    actor: str, event: Event, expected: str
) -> None:
    assert expected in codec.Renderer().human(event, zoned(actor))


def test_without_the_policys_zones_a_typed_zone_is_still_echoed() -> None:
    step = StepAdded(step="5", title="Ship", owner="beatrice", due=T, due_zone="Asia/Tokyo")
    assert "Due by 2022-01-12 14:03 UTC (23:03 Asia/Tokyo)." in codec.Renderer().human(step)


def test_zones_of_a_policy_are_each_persons_timezone() -> None:
    from sync_incident.core.policy import Person, Policy
    from sync_incident.core.sentences import zones_of

    policy = Policy(people={"dana": Person(timezone="America/Toronto"), "quinn": Person()})
    assert zones_of(policy) == {"dana": "America/Toronto", "quinn": "UTC"}


def test_resolve_lists_each_release_and_its_final_state_word_for_word() -> None:
    from sync_incident.application.act import outcome_of
    from sync_incident.application.overview import overview
    from sync_incident.core.policy import Policy, ProductPolicy

    fixed = "Firefox 96.0.2"
    policy = Policy(products={"Firefox": ProductPolicy(required_signoffs=["QA", "Releng"])})
    resolve = Resolved(summary=f"{fixed} shipped and the crash rate is at baseline")
    events: list[Event] = [
        Opened(title="Startup crash spike", releases=[REL, fixed], ic="dana"),
        HOLD,
        SignoffGiven(team="QA", release=fixed, statement=f"QA signs off on {fixed}."),
        SignoffGiven(team="Releng", release=fixed, statement=f"Releng signs off on {fixed}."),
        resolve,
    ]
    authors = ["dana", "alice", "quinn", "rachel", "dana"]
    comments = [
        Comment(str(n), Account(who), T, codec.render(e), order=n)
        for n, (who, e) in enumerate(zip(authors, events, strict=True), 1)
    ]
    before = fold(comments[:-1], kind="local", policy=policy, now=T)
    after = fold(comments, kind="local", policy=policy, now=T)
    context = Context(
        actor="dana",
        ref="bug 1750000",
        state=before,
        outcome=outcome_of(overview(after, policy, None, T), [resolve]),
    )
    assert codec.Renderer().human(resolve, context) == (
        "dana (incident commander) resolved bug 1750000 (Startup crash spike): Firefox 96.0.2 "
        "shipped and the crash rate is at baseline.\n"
        "Final state of the releases:\n"
        "- Firefox 96.0.1: NOT READY — alice holds Firefox 96.0.1 since 2022-01-12 14:03 UTC: "
        "a crash spike on startup. Firefox 96.0.1 has no sign-off from QA. Firefox 96.0.1 has "
        "no sign-off from Releng.\n"
        "- Firefox 96.0.2: READY — QA and Releng signed off; Relman's ship decision is not "
        "required."
    )
