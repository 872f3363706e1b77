"""Acting on an incident: an intent, one read, the rules, one post. The only way to post.

:func:`act` is what every adapter calls to change an incident (the CLI's posting commands, chat):
it reads the incident once, asks the tracker once who acts, builds the intent's events on that
reading (:mod:`.intents`), checks them against the rules by folding them on top of the
reading's fold (no second fold of the record), renders the comment once and posts it once,
with the mirrored fields computed from the :mod:`overview <.overview>` of the state after it.

:func:`post_events` does the same for events already built (the daemon's reminders and
digests through :mod:`.once`, the retrospective's draft); :func:`open_new` files a new bug or
issue whose first comment opens the incident.

``dry_run`` runs every step but the post, so it refuses exactly what a real post refuses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sync_incident.application.intents import Actor, Ask, Intent, Open
from sync_incident.application.overview import Overview, overview
from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.errors import RefusedError, UsageError
from sync_incident.core.events import Event, Opened, Via, event_id_for
from sync_incident.core.fold import Folding
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.core.sentences import Context, zones_of
from sync_incident.core.state import IncidentState
from sync_incident.core.summaries import noun
from sync_incident.mirror import mirror_for
from sync_incident.trackers.base import IncidentSnapshot, NewIncident

if TYPE_CHECKING:
    from sync_incident.core.lint import Finding
    from sync_incident.service import Reading, Session

PENDING_ID = "(this comment)"


@dataclass
class Outcome:
    """What posting did (or, with ``dry_run``, would do)."""

    ref: IncidentRef
    body: str
    events: list[Event]
    findings: list[Finding]
    overview: Overview  # the incident after the events
    posted: bool = False
    duplicate: bool = False
    comment_id: str | None = None
    mirror_error: str = ""  # posted, but the mirrored fields could not be updated
    notes: list[str] = field(default_factory=list)  # warnings for the person who acts

    @property
    def state(self) -> IncidentState:
        return self.overview.state


def actor(session: Session, kind: TrackerKind, account: Account, via: Via | None = None) -> Actor:
    """Who acts with ``account``, as the policy names them, on their clock.

    ``via``: a chat relay speaks for the person whose chat identity ``via`` names; refused
    unless ``account`` is one of the policy's relays and that identity maps to a person (the
    fold would not count it otherwise). Their clock is then their policy timezone.
    """
    policy = session.policy
    name = policy.actor_for(kind, account, session.clock())
    typed = session.as_user
    if typed and not policy.permissive and policy.person_for(kind, account) is None:
        guess = policy.suggest(typed)
        if guess is not None:  # a near miss of a person: a typo, not a stranger on purpose
            raise UsageError(
                f"--as {typed!r} is not a person in the policy: did you mean {guess!r}?",
                hint=f"people in the policy: {', '.join(policy.people)}",
            )
    if via is not None:
        chat = via.chat.capitalize()
        if name not in policy.relays:
            raise RefusedError(
                f"{account.login} is not a relay account of the policy: it cannot post for "
                f"people who speak on {chat}",
                hint="list its person in the policy's relays = [...]",
            )
        speaker = policy.person_for_chat(via.chat, via.user)
        if speaker is None:
            raise RefusedError(
                f"{via.user} on {chat} is not a chat identity of a person in the policy",
                hint=f"add {via.chat} = {via.user!r} to that person's [people.NAME] table",
            )
        name = speaker
    person = policy.people.get(name)
    own = person.timezone if person else None
    tz = own if via is not None else session.settings.timezone or own
    return Actor(name=name, tz=tz, now=session.clock())


async def act(
    session: Session,
    ref: IncidentRef,
    intent: Intent,
    *,
    dry_run: bool = False,
    strict: bool = False,
    via: Via | None = None,
    key: tuple[str, datetime] | None = None,
) -> Outcome:
    """Read ``ref`` once, build ``intent``'s events on it, check the rules, post once.

    ``via``: posted by a chat relay for the person who spoke (see :func:`actor`); the events
    carry it. ``key``: a stable name of the request and its time (a chat message's id and
    timestamp): the events' ids derive from it, so a request seen twice posts once.

    Raises :class:`~.intents.Unchanged` when the record already says it (nothing posted),
    and the usual errors (usage, refused, tracker) otherwise; nothing is posted then either.
    """
    # the read judges doubt as the gate does (the hold flag's history): `check` must see
    # what the gate sees, and a post must not follow a doubt it cannot see
    reading = await session.read(ref, history=True)
    state = reading.state
    if state.status == "resolved" and not intent.after_resolve:
        raise RefusedError(
            f"{state.ref or ref} is resolved: a {intent.verb} no longer applies to it",
            hint=f"reopen it first (sync-incident reopen {ref} --reason '...'); notes, links "
            "and retrospective notes may still be added",
        )
    account = await session.whoami(ref.kind)
    me = actor(session, ref.kind, account, via)
    events = intent.events(Ask(state, me, session.policy))
    if via is not None or key is not None:
        events = [
            e.model_copy(
                update={"via": via, "id": event_id_for(f"{key[0]}:{n}", key[1]) if key else e.id}
            )
            for n, e in enumerate(events)
        ]
    return await publish(session, ref, reading, account, me, events, dry_run=dry_run, strict=strict)


async def post_events(
    session: Session,
    ref: IncidentRef,
    events: Sequence[Event],
    *,
    reading: Reading | None = None,
    dry_run: bool = False,
    strict: bool = False,
    lint: bool = True,
    mirror: bool = True,
    collide: bool = False,
) -> Outcome:
    """Post events already built: read once (unless given ``reading``, which is consumed),
    check the rules, post once. ``collide``: see :func:`publish`."""
    reading = reading if reading is not None else await session.read(ref)
    account = await session.whoami(ref.kind)
    me = actor(session, ref.kind, account)
    return await publish(
        session,
        ref,
        reading,
        account,
        me,
        events,
        dry_run=dry_run,
        strict=strict,
        lint=lint,
        mirror=mirror,
        collide=collide,
    )


async def publish(
    session: Session,
    ref: IncidentRef,
    reading: Reading,
    account: Account,
    me: Actor,
    events: Sequence[Event],
    *,
    dry_run: bool = False,
    strict: bool = False,
    lint: bool = True,
    mirror: bool = True,
    collide: bool = False,
) -> Outcome:
    """Post ``events`` as one comment on ``reading`` (consumed: its state moves on), or say why not.

    ``mirror=False`` leaves the tracker's mirrored fields alone (a digest on a bug that is not
    an incident must not be tagged as one). ``collide``: an id someone else took first is no
    reason to refuse (a derived id: the collision is doubt, never a skip).
    """
    if not events:
        raise UsageError("nothing to post")
    # here: reading commands never lint
    from sync_incident.core.lint import GATE_COUNTED, explicit_form, lint_event

    findings = [f for e in events for f in lint_event(e)] if lint else []
    if strict and findings:
        raise RefusedError(
            "vague wording: " + "; ".join(str(f) for f in findings),
            hint="say what is true, naming the team, product and version (or drop --strict)",
        )
    tracker = session.tracker(ref.kind)
    snap = reading.snapshot
    events = chained(events, reading.state.last_event_id)
    order = max((c.order for c in snap.comments), default=0) + 1
    trailers = "\n".join(codec.trailer(e, tracker.flavor) for e in events)
    pending = Comment(PENDING_ID, account, session.clock(), trailers, order=order)
    known = next(
        (e for e in reading.state.timeline if e.event_id == events[0].id and e.accepted), None
    )
    if known is not None and known.account == account.login:
        # a request seen twice (the same key): it is on the record already, posted once
        seen = overview(reading.state, session.policy, reading.facts, session.clock())
        body = snap_body(snap, known.comment_id)
        found = Outcome(ref, body, list(events), [], seen, posted=True, duplicate=True)
        found.comment_id = known.comment_id
        return found
    before = _before(reading.state)  # what the sentences name: the incident before the event
    facts = await session.facts_with(ref, reading, [pending])
    after = reading.folding.extend(pending, facts=facts)
    refuse_if_rejected(after, events, collide=collide)  # first who may, then how it is said
    for event in events if lint else []:
        vague = lint_event(event) if event.type in GATE_COUNTED else []
        if vague:
            raise RefusedError(
                f"vague words on a {noun(event.type)}, which the release gate counts: "
                + "; ".join(str(f) for f in vague),
                hint=explicit_form(event) + " (nothing was posted)",
            )
    seen = overview(after, session.policy, facts, session.clock())
    ctx = Context(
        actor=me.name,
        ref=str(ref),
        state=before,
        outcome=outcome_of(seen, events),
        zones=zones_of(session.policy),
    )
    body = session.renderer.render(events, tracker.flavor, ctx)
    outcome = Outcome(ref, body, list(events), findings, seen, notes=me.notes)
    if dry_run:
        return outcome
    fields = mirror_for(seen, ref.kind) if mirror else None
    posted = await tracker.post(ref, body, marker=events[0].id, mirror=fields)
    outcome.posted, outcome.duplicate = True, posted.duplicate
    outcome.comment_id, outcome.mirror_error = posted.comment_id, posted.mirror_error
    return outcome


@dataclass(frozen=True)
class Filed:
    """A new incident bug / issue: where (None on a dry run), its first comment and event."""

    ref: IncidentRef | None
    body: str
    event: Opened

    @property
    def where(self) -> IncidentRef:
        """The new incident (a filed one: not a dry run)."""
        if self.ref is None:
            raise UsageError("nothing was filed: this was a dry run")
        return self.ref


async def open_new(
    session: Session,
    kind: TrackerKind,
    intent: Open,
    *,
    location: str = "",
    dry_run: bool = False,
) -> Filed:
    """File a new incident bug / issue whose first comment opens it."""
    tracker = session.tracker(kind)
    account = await tracker.whoami()
    me = actor(session, kind, account)
    if not intent.title:
        raise UsageError("a new incident needs --title", hint="or name an existing bug to adopt")
    event = intent.opened(Ask(IncidentState(), me, session.policy), intent.title)
    ctx = Context(actor=me.name, zones=zones_of(session.policy))
    body = session.renderer.render([event], tracker.flavor, ctx)
    pending = Comment(PENDING_ID, account, session.clock(), body, order=1)
    folding = Folding([pending], kind=kind, policy=session.policy, now=session.clock())
    refuse_if_rejected(folding.state, [event])
    if dry_run:
        return Filed(None, body, event)
    seen = overview(folding.state, session.policy, None, session.clock())
    fields = mirror_for(seen, kind)
    new = NewIncident(
        title=intent.title, body=body, marker=event.id, location=location, mirror=fields
    )
    ref = await tracker.create(new)
    # finds the opened comment (never posts it twice) and sets what create could not
    await tracker.post(ref, body, marker=event.id, mirror=fields)
    return Filed(ref, body, event)


def snap_body(snap: IncidentSnapshot, comment_id: str) -> str:
    """The text of a comment the tracker returned (empty when it is not there)."""
    return next((c.body for c in snap.comments if c.id == comment_id), "")


def _before(state: IncidentState) -> IncidentState:
    """A copy of what the sentences read of the state before an event (the fold moves on)."""
    return state.model_copy(
        update={
            "holds": list(state.holds),
            "handoffs": [h.model_copy() for h in state.handoffs],
            "timeline": list(state.timeline),
        }
    )


def chained(events: Sequence[Event], last: str | None) -> list[Event]:
    """``events`` each naming the event it follows: the last one the writer saw, then each other.

    A later event pointing at one a reader cannot see proves a deletion to every reader.
    """
    out: list[Event] = []
    for event in events:
        if event.follows is None and last is not None:
            event = event.model_copy(update={"follows": last})
        out.append(event)
        last = event.id
    return out


def outcome_of(seen: Overview, events: Sequence[Event]) -> list[str]:
    """For a resolve: each release's final verdict with every reason (what the sentence lists)."""
    if not any(e.type == "resolved" for e in events):
        return []
    return [f"{v.release}: {v.said}" for v in seen.verdicts]


def refuse_if_rejected(
    state: IncidentState, events: Sequence[Event], *, collide: bool = False
) -> None:
    """Raise :class:`RefusedError` when the fold rejected one of ``events`` (not yet posted);
    with ``collide``, not for an id an earlier event took (see :func:`publish`)."""
    ids = {e.id for e in events}
    for entry in state.timeline:
        if collide and entry.reason.startswith("duplicate of"):
            continue
        if entry.comment_id == PENDING_ID and entry.event_id in ids and not entry.accepted:
            raise RefusedError(
                f"the rules would reject this {noun(entry.type)}: {entry.reason}",
                hint="nothing was posted",
            )
