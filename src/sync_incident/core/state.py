"""The state fold: from the ordered comments of one bug or issue to the incident's state.

``fold`` is pure and deterministic (PRODUCT.md rule 1). It enforces the rules:

- the actor and time of an event are the comment's author and creation time, never payload;
- an event id seen twice counts once;
- an event the policy does not allow is kept in the timeline as rejected, with the reason,
  and changes nothing (rules 3-6 and the trust model);
- a comment the tracker marks as edited, or one that vanished after it was seen, and an
  unreadable trailer by someone who could have made events, are *doubt*: shown, and the
  gate refuses while any exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from sync_incident.core import codec
from sync_incident.core.comments import Comment, Evidence
from sync_incident.core.events import (
    INFORMATIONAL,
    Event,
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Link,
    Note,
    Opened,
    Reopened,
    Resolved,
    RetroNote,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
    StepAdded,
    StepUpdated,
    release_key,
)
from sync_incident.core.policy import Facts, Policy, in_team
from sync_incident.core.refs import TrackerKind

STATE_SCHEMA = 1
_ENVELOPE = frozenset({"id", "type"})


class Entry(BaseModel):
    """One event in the timeline, accepted or not."""

    event_id: str
    type: str
    actor: str  # the person (policy key), or the account when the policy does not know it
    account: str
    at: datetime  # when the tracker stored the comment
    occurred_at: datetime | None = None  # backfilled events: when it really happened
    comment_id: str
    accepted: bool
    reason: str = ""  # why it was rejected
    summary: str
    data: dict[str, Any] = {}


class Hold(BaseModel):
    id: str
    release: str
    by: str
    at: datetime
    reason: str
    released_by: str | None = None
    released_at: datetime | None = None
    release_reason: str = ""


class Signoff(BaseModel):
    team: str
    release: str
    by: str
    at: datetime
    statement: str
    event_id: str
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""


class ShipRecord(BaseModel):
    release: str
    by: str
    at: datetime
    statement: str
    event_id: str


class NextStepView(BaseModel):
    what: str
    owner: str | None = None
    by: datetime | None = None


class Handoff(BaseModel):
    id: str
    by: str
    to: str
    role: Literal["ic", "steps"]
    steps: list[str] = []
    at: datetime
    status: Literal["pending", "accepted", "declined", "superseded"] = "pending"
    answered_at: datetime | None = None
    decline_reason: str = ""
    done: str
    todo: str
    next_steps: list[NextStepView] = []
    notify: list[str] = []
    waited_minutes: int | None = None  # until answered, or until now while pending


class Step(BaseModel):
    step: str
    title: str
    owner: str | None = None
    state: Literal["todo", "doing", "done", "blocked"] = "todo"
    due: datetime | None = None
    updated_at: datetime
    overdue: bool = False


class Tenure(BaseModel):
    """One stretch of a person being incident commander."""

    ic: str
    since: datetime
    until: datetime | None = None


class Doubt(BaseModel):
    kind: Literal["edited", "vanished", "unreadable", "tracker"]
    comment_id: str
    author: str
    detail: str
    event_ids: list[str] = []


class LinkView(BaseModel):
    url: str
    kind: str
    title: str
    by: str
    at: datetime


class RetroItem(BaseModel):
    kind: str
    text: str
    owner: str | None
    by: str
    at: datetime


class IncidentState(BaseModel):
    """The documented ``--json`` schema (``schema`` is bumped on incompatible changes)."""

    schema_version: int = Field(default=STATE_SCHEMA, alias="schema")
    ref: str = ""
    title: str = ""
    url: str = ""
    tracker: str = ""
    policy: Literal["configured", "permissive"] = "permissive"
    opened: bool = False
    opened_at: datetime | None = None
    opened_by: str | None = None
    status: Literal["not-opened", "active", "resolved"] = "not-opened"
    resolved_at: datetime | None = None
    severity: str | None = None
    releases: list[str] = []
    ic: str | None = None
    ic_since: datetime | None = None
    ic_history: list[Tenure] = []
    holds: list[Hold] = []  # open holds
    released_holds: list[Hold] = []
    signoffs: list[Signoff] = []  # in force: one per (release, team)
    revoked_signoffs: list[Signoff] = []
    ship_decisions: list[ShipRecord] = []
    handoffs: list[Handoff] = []
    checklist: list[Step] = []
    links: list[LinkView] = []
    retro: list[RetroItem] = []
    participants: list[str] = []
    last_update: datetime | None = None
    last_status: str | None = None
    next_update_due: datetime | None = None
    update_overdue: bool = False
    doubts: list[Doubt] = []
    timeline: list[Entry] = []
    warnings: list[str] = []

    model_config = {"populate_by_name": True}

    @property
    def pending_handoffs(self) -> list[Handoff]:
        return [h for h in self.handoffs if h.status == "pending"]

    def holds_on(self, release: str) -> list[Hold]:
        key = release_key(release)
        return [h for h in self.holds if release_key(h.release) == key]

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


class _Folder:
    def __init__(self, kind: TrackerKind, policy: Policy, facts: Facts, now: datetime) -> None:
        self.kind = kind
        self.policy = policy
        self.facts = facts
        self.now = now
        self.s = IncidentState(
            tracker=kind, policy="permissive" if policy.permissive else "configured"
        )
        self.seen: dict[str, str] = {}  # event id -> comment id
        self.participants: dict[str, None] = {}
        self.offers: dict[str, Handoff] = {}
        self.signoff_by_key: dict[tuple[str, str], Signoff] = {}
        self.steps: dict[str, Step] = {}

    # --- driving -----------------------------------------------------------------------

    def comment(self, comment: Comment, vanished: bool) -> None:
        parsed = codec.parse(comment.body)
        person = self.policy.person_for(self.kind, comment.author)
        actor = person or comment.author.login
        trusted = self.policy.permissive or person is not None
        for warning in parsed.warnings:
            self.s.warnings.append(f"comment {comment.id} by {actor}: {warning.message}")
            if trusted and warning.code != "misplaced":
                self.s.doubts.append(
                    Doubt(
                        kind="unreadable",
                        comment_id=comment.id,
                        author=actor,
                        detail=warning.message,
                    )
                )
        if not parsed.events:
            return
        ids = [e.id for e in parsed.events]
        if vanished:
            self.s.doubts.append(
                Doubt(
                    kind="vanished",
                    comment_id=comment.id,
                    author=actor,
                    event_ids=ids,
                    detail="a comment carrying events was deleted or hidden after it was read",
                )
            )
        elif comment.edited:
            self.s.doubts.append(
                Doubt(
                    kind="edited",
                    comment_id=comment.id,
                    author=actor,
                    event_ids=ids,
                    detail="a comment carrying events was edited after it was posted",
                )
            )
        for event in parsed.events:
            self.event(event, comment, actor)

    def event(self, event: Event, comment: Comment, actor: str) -> None:
        at = comment.created_at
        # model_construct: every value here is already validated (the event) or ours
        entry = Entry.model_construct(
            event_id=event.id,
            type=event.type,
            actor=actor,
            account=comment.author.login,
            at=at,
            occurred_at=getattr(event, "occurred_at", None),
            comment_id=comment.id,
            accepted=True,
            reason="",
            summary=describe(event, actor),
            data={k: v for k, v in event.__dict__.items() if k not in _ENVELOPE and v},
        )
        if event.id in self.seen:
            entry.accepted = False
            entry.reason = f"duplicate of the same event in comment {self.seen[event.id]}"
        else:
            reason = self.apply(event, comment, actor, at)
            if reason:
                # a rejected event never takes the id of a later valid one
                entry.accepted = False
                entry.reason = reason
            else:
                self.seen[event.id] = comment.id
                if event.type not in INFORMATIONAL:
                    self.participants.setdefault(actor)
                    self.s.last_update = at
        self.s.timeline.append(entry)

    # --- rules -------------------------------------------------------------------------

    def apply(self, event: Event, comment: Comment, actor: str, at: datetime) -> str:
        """Apply one event; return why it was rejected, or an empty string."""
        if not self.policy.permissive and self.policy.person_for(self.kind, comment.author) is None:
            return f"{comment.author.login} is not a person in the policy"
        if event.type in INFORMATIONAL:
            return ""
        if isinstance(event, Opened):
            return self.opened(event, actor, at)
        if not self.s.opened:
            return "the incident has not been opened yet"
        handler = getattr(self, "on_" + event.type.replace(".", "_"))
        result: str = handler(event, comment, actor, at)
        return result

    def opened(self, e: Opened, actor: str, at: datetime) -> str:
        if self.s.opened:
            return "the incident is already open; the incident commander changes only by handoff"
        ic = self.person(e.ic)
        s = self.s
        s.opened, s.opened_at, s.opened_by, s.status = True, at, actor, "active"
        s.severity, s.releases = e.severity, list(e.releases)
        s.title = s.title or e.title
        self.set_ic(ic, at)
        return ""

    def on_note(self, e: Note, c: Comment, actor: str, at: datetime) -> str:
        return ""

    def on_link(self, e: Link, c: Comment, actor: str, at: datetime) -> str:
        self.s.links.append(LinkView(url=e.url, kind=e.kind, title=e.title, by=actor, at=at))
        return ""

    def on_retro(self, e: RetroNote, c: Comment, actor: str, at: datetime) -> str:
        self.s.retro.append(RetroItem(kind=e.kind, text=e.text, owner=e.owner, by=actor, at=at))
        return ""

    def on_step_added(self, e: StepAdded, c: Comment, actor: str, at: datetime) -> str:
        if e.step in self.steps:
            return f"checklist step {e.step} already exists; update it instead"
        owner = self.person(e.owner) if e.owner else None
        step = Step(
            step=e.step, title=e.title, owner=owner, state=e.state, due=e.due, updated_at=at
        )
        self.steps[e.step] = step
        self.s.checklist.append(step)
        return ""

    def on_step_updated(self, e: StepUpdated, c: Comment, actor: str, at: datetime) -> str:
        step = self.steps.get(e.step)
        if step is None:
            return f"there is no checklist step {e.step}"
        if e.title:
            step.title = e.title
        if e.state is not None:
            step.state = e.state
        if e.owner is not None:
            step.owner = self.person(e.owner)
        if e.due is not None:
            step.due = e.due
        step.updated_at = at
        return ""

    def on_status(self, e: StatusUpdate, c: Comment, actor: str, at: datetime) -> str:
        self.s.last_status = e.summary
        self.s.next_update_due = e.next_update_due
        return ""

    def on_handoff_offered(self, e: HandoffOffered, c: Comment, actor: str, at: datetime) -> str:
        to = self.person(e.to)
        if not self.policy.permissive and to not in self.policy.people:
            return f"{e.to} is not a person in the policy"
        if e.role == "ic":
            if actor != self.s.ic:
                return f"only the incident commander ({self.s.ic}) can hand off the IC role"
            if to == self.s.ic:
                return f"{to} is already the incident commander"
        else:
            if not e.steps:
                return "a handoff of steps must name the steps"
            for name in e.steps:
                if name not in self.steps:
                    return f"there is no checklist step {name}"
                if actor not in (self.steps[name].owner, self.s.ic):
                    return (
                        f"only the owner of step {name} or the incident commander can hand it off"
                    )
        for other in self.s.handoffs:
            if (
                other.status == "pending"
                and other.role == e.role
                and other.by == actor
                and (e.role == "ic" or set(other.steps) & set(e.steps))
            ):
                other.status, other.answered_at = "superseded", at
        offer = Handoff(
            id=e.id,
            by=actor,
            to=to,
            role=e.role,
            steps=list(e.steps),
            at=at,
            done=e.done,
            todo=e.todo,
            next_steps=[
                NextStepView(what=s.what, owner=self.person(s.owner) if s.owner else None, by=s.by)
                for s in e.next_steps
            ],
            notify=list(e.notify),
        )
        self.s.handoffs.append(offer)
        self.offers[e.id] = offer
        return ""

    def _answer(self, offer_id: str, actor: str) -> tuple[Handoff | None, str]:
        offer = self.offers.get(offer_id)
        if offer is None:
            return None, f"there is no handoff {offer_id}"
        if offer.status != "pending":
            return None, f"handoff {offer_id} is {offer.status}, not pending"
        if actor != offer.to:
            return None, f"only {offer.to}, the recipient, can answer handoff {offer_id}"
        return offer, ""

    def on_handoff_accepted(self, e: HandoffAccepted, c: Comment, actor: str, at: datetime) -> str:
        offer, reason = self._answer(e.offer, actor)
        if offer is None:
            return reason
        if offer.role == "ic" and self.s.ic != offer.by:
            offer.status, offer.answered_at = "superseded", at
            return f"{offer.by} is no longer the incident commander; the handoff is void"
        offer.status, offer.answered_at = "accepted", at
        if offer.role == "ic":
            self.set_ic(actor, at)
        else:
            for step in self.s.checklist:
                if step.step in offer.steps:
                    step.owner, step.updated_at = actor, at
        return ""

    def on_handoff_declined(self, e: HandoffDeclined, c: Comment, actor: str, at: datetime) -> str:
        offer, reason = self._answer(e.offer, actor)
        if offer is None:
            return reason
        offer.status, offer.answered_at, offer.decline_reason = "declined", at, e.reason
        return ""

    def on_hold_raised(self, e: HoldRaised, c: Comment, actor: str, at: datetime) -> str:
        self.s.holds.append(Hold(id=e.id, release=e.release, by=actor, at=at, reason=e.reason))
        return ""

    def on_hold_released(self, e: HoldReleased, c: Comment, actor: str, at: datetime) -> str:
        hold = next((h for h in self.s.holds if h.id == e.hold), None)
        if hold is None:
            return f"there is no open hold {e.hold}"
        if release_key(hold.release) != release_key(e.release):
            return f"hold {e.hold} is on {hold.release}, not {e.release}"
        if actor not in (hold.by, self.s.ic):
            return (
                f"only {hold.by}, who raised the hold, or the incident commander "
                f"({self.s.ic}) can release it"
            )
        hold.released_by, hold.released_at, hold.release_reason = actor, at, e.reason
        self.s.holds.remove(hold)
        self.s.released_holds.append(hold)
        return ""

    def on_signoff_given(self, e: SignoffGiven, c: Comment, actor: str, at: datetime) -> str:
        person = self.policy.person_for(self.kind, c.author)
        ok, why = in_team(self.policy, e.team, self.kind, c.author, person, self.facts)
        if not ok:
            return why
        team = self.policy.team_name(e.team) or e.team
        key = (release_key(e.release), team.casefold())
        signoff = Signoff(
            team=team, release=e.release, by=actor, at=at, statement=e.statement, event_id=e.id
        )
        old = self.signoff_by_key.get(key)
        if old is not None:
            self.s.signoffs.remove(old)
        self.signoff_by_key[key] = signoff
        self.s.signoffs.append(signoff)
        return ""

    def on_signoff_revoked(self, e: SignoffRevoked, c: Comment, actor: str, at: datetime) -> str:
        person = self.policy.person_for(self.kind, c.author)
        ok, why = in_team(self.policy, e.team, self.kind, c.author, person, self.facts)
        if not ok and actor != self.s.ic:
            return why
        team = self.policy.team_name(e.team) or e.team
        key = (release_key(e.release), team.casefold())
        signoff = self.signoff_by_key.pop(key, None)
        if signoff is None:
            return f"{team} has no sign-off on {e.release} to revoke"
        self.s.signoffs.remove(signoff)
        signoff.revoked_by, signoff.revoked_at, signoff.revoke_reason = actor, at, e.reason
        self.s.revoked_signoffs.append(signoff)
        return ""

    def on_ship(self, e: ShipDecision, c: Comment, actor: str, at: datetime) -> str:
        person = self.policy.person_for(self.kind, c.author)
        ok, why = in_team(
            self.policy, self.policy.ship_team, self.kind, c.author, person, self.facts
        )
        if not ok:
            return f"only {self.policy.ship_team} can decide to ship: {why}"
        self.s.ship_decisions.append(
            ShipRecord(release=e.release, by=actor, at=at, statement=e.statement, event_id=e.id)
        )
        return ""

    def on_resolved(self, e: Resolved, c: Comment, actor: str, at: datetime) -> str:
        if self.s.status == "resolved":
            return "the incident is already resolved"
        if actor != self.s.ic:
            return f"only the incident commander ({self.s.ic}) can resolve the incident"
        self.s.status, self.s.resolved_at = "resolved", at
        return ""

    def on_reopened(self, e: Reopened, c: Comment, actor: str, at: datetime) -> str:
        if self.s.status != "resolved":
            return "the incident is not resolved"
        self.s.status, self.s.resolved_at = "active", None
        return ""

    # --- helpers -----------------------------------------------------------------------

    def person(self, name: str) -> str:
        """What a user typed for a person → the policy key (unchanged when unknown)."""
        return self.policy.resolve_name(name) or name

    def set_ic(self, ic: str, at: datetime) -> None:
        if self.s.ic_history:
            self.s.ic_history[-1].until = at
        self.s.ic, self.s.ic_since = ic, at
        self.s.ic_history.append(Tenure(ic=ic, since=at))
        self.participants.setdefault(ic)

    def finish(self) -> IncidentState:
        s = self.s
        s.participants = list(self.participants)
        for offer in s.handoffs:
            end = offer.answered_at or self.now
            offer.waited_minutes = max(0, int((end - offer.at).total_seconds() // 60))
        for step in s.checklist:
            step.overdue = bool(step.due and step.state != "done" and step.due < self.now)
        s.update_overdue = bool(
            s.status == "active" and s.next_update_due and s.next_update_due < self.now
        )
        return s


def fold(
    comments: Sequence[Comment],
    *,
    kind: TrackerKind,
    policy: Policy | None = None,
    facts: Facts | None = None,
    vanished: Sequence[Comment] = (),
    evidence: Sequence[Evidence] = (),
    now: datetime | None = None,
    ref: str = "",
    title: str = "",
    url: str = "",
) -> IncidentState:
    """Fold the comments (oldest first) and the vanished ones into the incident state."""
    folder = _Folder(kind, policy or Policy(), facts or Facts(), now or datetime.now(UTC))
    folder.s.ref, folder.s.title, folder.s.url = ref, title, url
    tagged = [(c, False) for c in comments] + [(c, True) for c in vanished]
    # the tracker's own order: two comments in the same second keep theirs (stable sort)
    tagged.sort(key=lambda item: item[0].order)
    for comment, gone in tagged:
        folder.comment(comment, gone)
    for proof in evidence:
        folder.s.doubts.append(
            Doubt(kind="tracker", comment_id=proof.where, author="", detail=proof.detail)
        )
    return folder.finish()


def teams_claimed(event: Event, policy: Policy) -> list[str]:
    """The teams whose membership the author of ``event`` must have for it to count."""
    if isinstance(event, SignoffGiven | SignoffRevoked):
        team = policy.team_name(event.team)
        return [team] if team else []
    if isinstance(event, ShipDecision):
        team = policy.team_name(policy.ship_team)
        return [team] if team else []
    return []


def describe(event: Event, actor: str) -> str:
    """One line for the timeline; the full sentence lives in the comment."""
    e: Any = event
    match event.type:
        case "opened":
            return f"{actor} opened the incident ({e.severity}); {e.ic} is incident commander"
        case "note":
            return f"{actor}: {_short(e.text)}"
        case "link":
            return f"{actor} linked {e.kind}: {e.title or e.url}"
        case "step.added":
            return f"{actor} added step {e.step}: {_short(e.title)}"
        case "step.updated":
            return f"{actor} updated step {e.step}" + (f" to {e.state}" if e.state else "")
        case "status":
            return f"{actor} posted status: {_short(e.summary)}"
        case "handoff.offered":
            what = "the IC role" if e.role == "ic" else "steps " + ", ".join(e.steps)
            return f"{actor} offered {what} to {e.to}"
        case "handoff.accepted":
            return f"{actor} accepted handoff {e.offer[-6:]}"
        case "handoff.declined":
            return f"{actor} declined handoff {e.offer[-6:]}"
        case "hold.raised":
            return f"{actor} asked to hold {e.release}: {_short(e.reason)}"
        case "hold.released":
            return f"{actor} released the hold on {e.release}"
        case "signoff.given":
            return f"{actor} signed off for {e.team} on {e.release}"
        case "signoff.revoked":
            return f"{actor} revoked {e.team}'s sign-off on {e.release}"
        case "ship":
            return f"{actor}: {_short(e.statement)}"
        case "resolved":
            return f"{actor} resolved the incident"
        case "reopened":
            return f"{actor} reopened the incident: {_short(e.reason)}"
        case "retro":
            return f"{actor} added a retrospective note ({e.kind})"
        case _:
            return f"{actor} posted a {event.type}"


def _short(text: str, limit: int = 90) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
