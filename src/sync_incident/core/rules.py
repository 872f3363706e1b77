"""The rules each event must pass to change the incident (PRODUCT.md rules 3-6).

:class:`Rules` holds one handler per event type, ``on_<type>``. A handler returns why the
event is rejected, or an empty string when it applies it to the state. Who and when come from
the tracker comment, never from the event. The driver that calls these is
:mod:`sync_incident.core.fold`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sync_incident.core.events import (
    Event,
    HandoffAccepted,
    HandoffDeclined,
    HandoffOffered,
    HoldRaised,
    HoldReleased,
    Link,
    Note,
    Opened,
    ReleaseAdded,
    Reopened,
    Resolved,
    RetroNote,
    RoomBound,
    ShipDecision,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
    StepAdded,
    StepUpdated,
    TakeOver,
)
from sync_incident.core.lint import weak_reason
from sync_incident.core.policy import Facts, Policy, in_team
from sync_incident.core.releases import release_key
from sync_incident.core.state import (
    Handoff,
    Hold,
    IncidentState,
    LinkView,
    NextStepView,
    RetroItem,
    Room,
    ShipRecord,
    Signoff,
    Step,
    Tenure,
)
from sync_incident.core.summaries import CHATS

if TYPE_CHECKING:
    from sync_incident.core.comments import Comment
    from sync_incident.core.refs import TrackerKind

# what anyone who can comment may do, unless the policy restricts it (public trackers):
# blocking is open (a hold, a revocation), unblocking is restricted by the rules
OPEN_TO_ANYONE = frozenset(
    {"hold.raised", "hold.released", "signoff.revoked", "note", "link", "retract"}
)


def teams_claimed(event: Event, policy: Policy) -> list[str]:
    """The teams whose membership the author of ``event`` must have for it to count."""
    if isinstance(event, SignoffGiven | SignoffRevoked):
        team = policy.team_name(event.team)
        return [team] if team else []
    if isinstance(event, ShipDecision):
        team = policy.team_name(policy.ship_team)
        return [team] if team else []
    return []


class Act:
    """Who acts, where and when: what a handler knows besides the event."""

    __slots__ = ("actor", "at", "comment", "person", "pos", "relayed")

    def __init__(
        self,
        comment: Comment,
        actor: str,
        person: str | None,
        at: datetime,
        pos: int,
        *,
        relayed: bool = False,
    ) -> None:
        self.comment, self.actor, self.person, self.at, self.pos = comment, actor, person, at, pos
        self.relayed = relayed  # a relay posted it for ``person``: not the comment author's


class Rules:
    kind: TrackerKind
    policy: Policy
    facts: Facts
    s: IncidentState
    offers: dict[str, Handoff]
    signoff_by_key: dict[tuple[str, str], Signoff]
    steps: dict[str, Step]
    participants: dict[str, None]
    # every event that made the current incident commander (the opening, each accepted IC
    # handoff): a doubt on one of them is not the IC's alone to clear
    ic_lineage: tuple[str, ...] = ()
    ic_before: dict[str, str]  # an event of the lineage -> the incident commander before it
    notes: dict[str, str]  # event id -> what the timeline adds to its line

    # --- helpers -------------------------------------------------------------------------

    def person(self, name: str) -> str:
        """What a user typed for a person → the policy key (unchanged when unknown)."""
        return self.policy.resolve_name(name) or name

    def set_ic(self, ic: str, at: datetime, because: Sequence[str]) -> None:
        """``because``: the events that put ``ic`` in charge (kept, see :attr:`ic_lineage`)."""
        self.ic_lineage = (*self.ic_lineage, *because)
        for event_id in because:
            self.ic_before[event_id] = self.s.ic or ""
        if self.s.ic_history:
            self.s.ic_history[-1].until = at
        self.s.ic, self.s.ic_since = ic, at
        self.s.ic_history.append(Tenure(ic=ic, since=at))
        self.participants.setdefault(ic)

    def _release(self, release: str) -> str:
        """The incident's spelling of ``release`` (as given when it names none of them).

        Holds, sign-offs, revocations and ship decisions belong to the incident and the
        release *name*, not to the event that declared the release: retracting or adding
        a release again never opens, closes or re-attributes one of them. Which releases
        the incident concerns matters to the gate (a release it does not name is not
        ready) and to posting (a typo is refused before anything is posted).
        """
        return self.s.concerns(release) or release

    def _member(self, team: str, act: Act) -> tuple[bool, str]:
        account = None if act.relayed else act.comment.author
        return in_team(self.policy, team, self.kind, account, act.person, self.facts)

    # --- opening and releases ------------------------------------------------------------

    def on_opened(self, e: Opened, act: Act) -> str:
        if self.s.opened:
            return "the incident is already open; the incident commander changes only by handoff"
        ic = self.person(e.ic)
        if not self.policy.permissive and ic not in self.policy.people:
            return (
                f"{e.ic} is not a person in the policy: nobody could act as the incident commander"
            )
        s = self.s
        s.opened, s.opened_at, s.opened_by, s.status = True, act.at, act.actor, "active"
        s.severity = e.severity
        s.releases = []
        for release in e.releases:
            if s.concerns(release) is None:
                s.releases.append(release)
        s.title = s.title or e.title
        self.set_ic(self.person(e.ic), act.at, [e.id])
        return ""

    def on_release_added(self, e: ReleaseAdded, act: Act) -> str:
        if self.s.concerns(e.release) is not None:
            return f"{e.release} is already a release of this incident"
        self.s.releases.append(e.release)
        return ""

    # --- timeline ------------------------------------------------------------------------

    def on_note(self, e: Note, act: Act) -> str:
        return ""

    def on_link(self, e: Link, act: Act) -> str:
        view = LinkView(url=e.url, kind=e.kind, title=e.title, by=act.actor, at=act.at)
        self.s.links.append(view)
        return ""

    def on_retro(self, e: RetroNote, act: Act) -> str:
        item = RetroItem(kind=e.kind, text=e.text, owner=e.owner, by=act.actor, at=act.at)
        self.s.retro.append(item)
        return ""

    def on_status(self, e: StatusUpdate, act: Act) -> str:
        self.s.last_status, self.s.last_status_by, self.s.last_status_at = (
            e.summary,
            act.actor,
            act.at,
        )
        if self.s.status == "resolved":  # a word after the end promises no further update
            return ""
        if e.next_update_due is not None or e.clear_next_update:
            self.s.next_update_due = e.next_update_due
            self.s.next_update_zone = e.next_update_zone
        return ""

    # --- checklist -----------------------------------------------------------------------

    def on_step_added(self, e: StepAdded, act: Act) -> str:
        if e.step in self.steps:
            return f"checklist step {e.step} already exists; update it instead"
        owner = self.person(e.owner) if e.owner else None
        step = Step(
            step=e.step,
            title=e.title,
            owner=owner,
            state=e.state,
            due=e.due,
            due_zone=e.due_zone,
            updated_at=act.at,
        )
        self.steps[e.step] = step
        self.s.checklist.append(step)
        return ""

    def on_step_updated(self, e: StepUpdated, act: Act) -> str:
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
            step.due, step.due_zone = e.due, e.due_zone
        step.updated_at = act.at
        return ""

    # --- handoffs ------------------------------------------------------------------------

    def on_handoff_offered(self, e: HandoffOffered, act: Act) -> str:
        to = self.person(e.to)
        if not self.policy.permissive and to not in self.policy.people:
            return f"{e.to} is not a person in the policy"
        problem = self._may_offer(e, act.actor, to)
        if problem:
            return problem
        for other in self.s.handoffs:
            mine = other.status == "pending" and other.role == e.role and other.by == act.actor
            if mine and (e.role == "ic" or set(other.steps) & set(e.steps)):
                other.status, other.answered_at = "superseded", act.at
        offer = Handoff(
            id=e.id,
            by=act.actor,
            to=to,
            role=e.role,
            steps=list(e.steps),
            at=act.at,
            done=e.done,
            todo=e.todo,
            next_steps=[
                NextStepView(
                    what=s.what,
                    owner=self.person(s.owner) if s.owner else None,
                    by=s.by,
                    by_zone=s.by_zone,
                )
                for s in e.next_steps
            ],
            notify=list(e.notify),
        )
        self.s.handoffs.append(offer)
        self.offers[e.id] = offer
        return ""

    def _may_offer(self, e: HandoffOffered, actor: str, to: str) -> str:
        if e.role == "ic":
            if actor != self.s.ic:
                return f"only the incident commander ({self.s.ic}) can hand off the IC role"
            if to == self.s.ic:
                return f"{to} is already the incident commander"
            return ""
        if not e.steps:
            return "a handoff of steps must name the steps"
        for name in e.steps:
            if name not in self.steps:
                return f"there is no checklist step {name}"
            if actor not in (self.steps[name].owner, self.s.ic):
                return f"only the owner of step {name} or the incident commander can hand it off"
        return ""

    def _answer(self, offer_id: str, actor: str) -> tuple[Handoff | None, str]:
        offer = self.offers.get(offer_id)
        if offer is None:
            return None, f"there is no handoff {offer_id}"
        if offer.status != "pending":
            return None, f"the handoff from {offer.by} to {offer.to} is {offer.status}, not pending"
        if actor != offer.to:
            return None, f"only {offer.to}, the recipient, can answer the handoff from {offer.by}"
        return offer, ""

    def on_ic_taken(self, e: TakeOver, act: Act) -> str:
        """A lead takes over: who may (the policy's ``incident_leads``; without any, a person of
        the policy when the IC is none), with a real reason, from the IC of the moment."""
        ic, policy = self.s.ic, self.policy
        if weak_reason(e.reason, 1):
            return "taking over needs a real reason: say why the incident commander cannot act"
        if act.actor == ic:
            return f"{act.actor} is already the incident commander"
        if self.person(e.from_ic) != ic:
            return (
                f"{e.from_ic} is no longer the incident commander ({ic} is): nothing to take over"
            )
        if not policy.permissive:
            leads = policy.incident_leads
            person = policy.people.get(ic) if ic else None
            # an IC the policy does not know, or who has left it, cannot act
            dead = person is None or not person.active_at(act.at)
            if act.actor not in leads and not (dead and not leads and act.person is not None):
                who = ", ".join(leads) or "none"
                return f"only an incident lead of the policy may take over (incident_leads: {who})"
        for other in self.s.handoffs:
            if other.status == "pending" and other.role == "ic":
                other.status, other.answered_at = "superseded", act.at
        self.set_ic(act.actor, act.at, [e.id])
        return ""

    def on_handoff_accepted(self, e: HandoffAccepted, act: Act) -> str:
        offer, reason = self._answer(e.offer, act.actor)
        if offer is None:
            return reason
        if offer.role == "ic" and self.s.ic != offer.by:
            offer.status, offer.answered_at = "superseded", act.at
            return f"{offer.by} is no longer the incident commander; the handoff is void"
        offer.status, offer.answered_at = "accepted", act.at
        if offer.role == "ic":
            self.set_ic(act.actor, act.at, [offer.id, e.id])
        else:
            for step in self.s.checklist:
                if step.step in offer.steps:
                    step.owner, step.updated_at = act.actor, act.at
        return ""

    def on_handoff_declined(self, e: HandoffDeclined, act: Act) -> str:
        if not e.reason.strip():
            return "declining a handoff needs a reason (everybody sees it)"
        offer, reason = self._answer(e.offer, act.actor)
        if offer is None:
            return reason
        offer.status, offer.answered_at, offer.decline_reason = "declined", act.at, e.reason
        return ""

    # --- holds, sign-offs, ship ----------------------------------------------------------

    def on_hold_raised(self, e: HoldRaised, act: Act) -> str:
        release = self._release(e.release)
        hold = Hold(id=e.id, release=release, by=act.actor, at=act.at, pos=act.pos, reason=e.reason)
        self.s.holds.append(hold)
        return ""

    def on_hold_released(self, e: HoldReleased, act: Act) -> str:
        if weak_reason(e.reason, 1):
            return "releasing a hold needs a real reason: say why the concern is addressed"
        hold = next((h for h in self.s.holds if h.id == e.hold), None)
        if hold is None:
            return f"there is no open hold {e.hold}"
        if release_key(hold.release) != release_key(e.release):
            return f"hold {e.hold} is on {hold.release}, not {e.release}"
        if act.actor not in (hold.by, self.s.ic):
            return (
                f"only {hold.by}, who raised the hold, or the incident commander "
                f"({self.s.ic}) can release it"
            )
        self.close_hold(hold, act, e.reason)
        return ""

    def close_hold(self, hold: Hold, act: Act, reason: str) -> None:
        hold.released_by, hold.released_at, hold.release_reason = act.actor, act.at, reason
        hold.released_pos = act.pos
        self.s.holds.remove(hold)
        self.s.released_holds.append(hold)

    def on_signoff_given(self, e: SignoffGiven, act: Act) -> str:
        release = self._release(e.release)
        ok, why = self._member(e.team, act)
        if not ok:
            return why
        team = self.policy.team_name(e.team) or e.team
        key = (release_key(release), team.casefold())
        signoff = Signoff(
            team=team,
            release=release,
            by=act.actor,
            at=act.at,
            pos=act.pos,
            statement=e.statement,
            event_id=e.id,
        )
        old = self.signoff_by_key.get(key)
        if old is not None:
            self.s.signoffs.remove(old)
            self.s.replaced_signoffs.append(old)
        self.signoff_by_key[key] = signoff
        self.s.signoffs.append(signoff)
        return ""

    def on_signoff_revoked(self, e: SignoffRevoked, act: Act) -> str:
        """Blocking is open, unblocking restricted: whoever may hold a release may revoke a
        sign-off on it (it counts as given again only when the team signs again), so a
        revocation stays one when its author later leaves the team or the policy. Who is not
        (or no longer) in the team is said in the timeline."""
        if not e.reason.strip():
            return "revoking a sign-off needs a reason"
        team = self.policy.team_name(e.team) or e.team
        signoff = self.signoff_by_key.pop((release_key(e.release), team.casefold()), None)
        if signoff is None:
            return f"{team} has no sign-off on {e.release} to revoke"
        self.s.signoffs.remove(signoff)
        signoff.revoked_by, signoff.revoked_at, signoff.revoke_reason = act.actor, act.at, e.reason
        self.s.revoked_signoffs.append(signoff)
        member, _ = self._member(e.team, act)
        if not member and not self.policy.permissive:
            self.notes[e.id] = f"{act.actor} is not in {team}"
        return ""

    def on_ship(self, e: ShipDecision, act: Act) -> str:
        release = self._release(e.release)
        ok, why = self._member(self.policy.ship_team, act)
        if not ok:
            return f"only {self.policy.ship_team} can decide to ship: {why}"
        holds = self.s.holds_on(release)
        if holds:
            who = ", ".join(sorted({h.by for h in holds}))
            return (
                f"{release} is on hold ({who}): a ship decision waits until every hold is released"
            )
        record = ShipRecord(
            release=release,
            by=act.actor,
            at=act.at,
            pos=act.pos,
            statement=e.statement,
            event_id=e.id,
        )
        self.s.ship_decisions.append(record)
        return ""

    # --- chat rooms ----------------------------------------------------------------------

    def on_room_bound(self, e: RoomBound, act: Act) -> str:
        """Only the incident commander binds a room (the room then speaks for the incident:
        announcements go there and people act from it), or unbinds one."""
        if act.actor != self.s.ic:
            verb = "unbind" if e.unbound else "bind"
            return f"only the incident commander ({self.s.ic}) can {verb} a chat room"
        bound = [r for r in self.s.rooms if (r.chat, r.room) == (e.chat, e.room)]
        if e.unbound:
            if not bound:
                return f"{CHATS[e.chat]} room {e.room} is not bound to this incident"
            self.s.rooms.remove(bound[0])
            return ""
        if bound:
            return f"{CHATS[e.chat]} room {e.room} is already bound to this incident"
        room = Room(chat=e.chat, room=e.room, by=act.actor, at=act.at, event_id=e.id)
        self.s.rooms.append(room)
        return ""

    # --- the end -------------------------------------------------------------------------

    def on_resolved(self, e: Resolved, act: Act) -> str:
        if self.s.status == "resolved":
            return "the incident is already resolved"
        if act.actor != self.s.ic:
            return f"only the incident commander ({self.s.ic}) can resolve the incident"
        if not e.summary.strip():
            return "resolving needs a summary: how did it end?"
        self.s.status, self.s.resolved_at, self.s.resolution = "resolved", act.at, e.summary
        self.s.next_update_due = self.s.next_update_zone = None  # resolved: no update is due
        return ""

    def on_reopened(self, e: Reopened, act: Act) -> str:
        if self.s.status != "resolved":
            return "the incident is not resolved"
        self.s.status, self.s.resolved_at, self.s.resolution = "active", None, ""
        return ""

    def handler(self, event: Event) -> str:
        return "on_" + event.type.replace(".", "_")
