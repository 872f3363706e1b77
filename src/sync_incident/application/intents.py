"""What people mean, as values: each intent turns into the events to post on one reading.

An intent is what a person asked for (``SignOff(team="QA", release="Firefox 96.0.1")``),
independent of how they asked: a command line, a chat message, a script. Its
:meth:`Intent.events` reads the folded state and who acts (:class:`Ask`) and returns the events
to post, or raises :class:`~sync_incident.core.errors.UsageError` (malformed: what to type
instead), :class:`~sync_incident.core.errors.RefusedError` (the rules say no) or
:class:`Unchanged` (already on the record). :func:`~sync_incident.application.act.act` then
checks the events against the rules by folding them, renders and posts them once.

The rules people meet before anything is built live here, once: which handoff an ``accept``
answers, which hold a ``release-hold`` releases, whether a step is added or updated, how next
steps and times are read.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from sync_incident.core.errors import RefusedError, UsageError
from sync_incident.core.events import (
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
    Reopened,
    Resolved,
    Retracted,
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
from sync_incident.core.hours import next_day_start
from sync_incident.core.policy import Policy
from sync_incident.core.releases import normalise_release
from sync_incident.core.state import Doubt, Handoff, Hold, IncidentState
from sync_incident.core.times import Typed, for_people, for_person, read_time

M = TypeVar("M", bound=BaseModel)
CLEAR = ("none", "clear", "-")


class Unchanged(Exception):  # not an error: the record already says it
    """What the person asked for is already on the record: nothing to post (exit 0)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Actor:
    """Who acts: their name in the policy, their timezone, the time, and notes for them."""

    name: str
    tz: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: list[str] = field(default_factory=list)

    def typed(
        self, text: str | None, *, what: str = "the time", future: bool = False
    ) -> Typed | None:
        """A typed time with the zone it was typed in (:func:`~sync_incident.core.times.
        read_time`); a past one is noted when ``future``, and so is a day word read in a zone
        whose calendar day is not this person's."""
        if not text:
            return None
        typed = read_time(text, now=self.now, tz=self.tz)
        if typed.note:
            self.notes.append(typed.note)
        if future and typed.at < self.now:
            shown = for_people(typed.at, typed=typed.zone)
            self.notes.append(f"{what} ({shown}) is in the past")
        return typed


@dataclass
class Ask:
    """What an intent may read: the incident as folded, who acts, the policy."""

    state: IncidentState
    me: Actor
    policy: Policy


class Intent(abc.ABC):
    """A request to change the incident; see the module docstring."""

    verb: ClassVar[str] = ""  # the command that asks for it, for messages
    # what may still be said once the incident is resolved (the rest waits for a reopen)
    after_resolve: ClassVar[bool] = False

    @abc.abstractmethod
    def events(self, ask: Ask) -> list[Event]:
        """The events that say it, built on ``ask.state``; raises when they cannot be."""


# --- building blocks ------------------------------------------------------------------------


def build(cls: type[M], **fields: Any) -> M:
    """Construct an event (or part of one), turning validation errors into one-line errors."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        from sync_incident.core.validation import plain

        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        said = plain(error)
        message = said.message
        if message == "must not be empty":
            message = "must not be empty or only spaces"
        raise UsageError(
            f"--{where.replace('_', '-')}: {message}" if where else message,
            hint=said.hint or "see the command's --help for what each option takes",
        ) from None


def release(text: str) -> str:
    """A release as typed, normalised; UsageError when it names no exact version."""
    try:
        return normalise_release(text)
    except ValueError as exc:
        raise UsageError(str(exc), hint="name the product and the exact version") from None


def of_incident(state: IncidentState, text: str) -> str:
    """A release of this incident, as the incident spells it; refused otherwise."""
    wanted = release(text)
    ours = state.concerns(wanted)
    if ours is None and state.opened:
        known = ", ".join(state.releases) or "none yet"
        raise RefusedError(
            f"{wanted} is not a release of {state.ref or 'this incident'} (its releases: {known})",
            hint=f"a typo? If not, add it first: sync-incident add-release {state.ref or 'REF'} "
            f"--release '{wanted}'",
        )
    return ours or wanted


def severity(policy: Policy, text: str) -> str:
    levels = policy.severities
    match = next((s for s in levels if s.casefold() == text.strip().casefold()), None)
    if match is None:
        raise UsageError(
            f"{text!r} is not a severity", hint=f"use one of {', '.join(levels)} (worst first)"
        )
    return match


def reason(text: str, what: str, policy: Policy | None = None) -> str:
    """``text`` when it is a real reason; refused when it is none ("ok", "fixed", "x")."""
    from sync_incident.core.lint import MIN_REASON_WORDS, weak_reason

    if not text.strip():
        raise UsageError(f"{what} needs a reason", hint="pass --reason with a real sentence")
    weak = weak_reason(text, policy.min_reason_words if policy else MIN_REASON_WORDS)
    if weak:
        raise RefusedError(
            f"{what} needs a real reason: {weak}",
            hint="say what changed or why, e.g. 'the crash rate is back at the 95.0 baseline' "
            "(nothing was posted)",
        )
    return text


def person(ask: Ask, name: str, what: str) -> str:
    """The policy's key for a person someone named; refused (with a suggestion) when unknown.

    Without a policy, names cannot be checked: the name stands as typed, and the person acting
    is told so once.
    """
    policy = ask.policy
    if policy.permissive:
        note = "no policy is configured, so names are not checked against it"
        if note not in ask.me.notes:
            ask.me.notes.append(note)
        return name.strip().lstrip("@")
    found = policy.resolve_name(name.strip())
    if found is not None:
        return found
    guess = policy.suggest(name)
    raise UsageError(
        f"{what} {name!r} is not a person in the policy"
        + (f": did you mean {guess!r}?" if guess else ""),
        hint=f"people in the policy: {', '.join(policy.people)}",
    )


def team(ask: Ask, name: str, what: str = "--team") -> str:
    """The policy's spelling of a team ("qa" → "QA"); refused when the policy has none."""
    policy = ask.policy
    if policy.permissive:
        return " ".join(name.split())
    found = policy.team_name(name.strip())
    if found is not None:
        return found
    guess = policy.suggest(name, list(policy.teams))
    raise UsageError(
        f"{what} {name!r} is not a team in the policy"
        + (f": did you mean {guess!r}?" if guess else ""),
        hint=f"teams in the policy: {', '.join(policy.teams)}",
    )


def team_or_person(ask: Ask, name: str, what: str) -> str:
    """Whom to notify: a team or a person of the policy."""
    policy = ask.policy
    if policy.permissive or policy.resolve_name(name.strip()) is not None:
        return person(ask, name, what)
    if policy.team_name(name.strip()) is not None:
        return team(ask, name, what)
    guess = policy.suggest(name, [*policy.teams, *policy.people])
    raise UsageError(
        f"{what} {name!r} is neither a team nor a person in the policy"
        + (f": did you mean {guess!r}?" if guess else ""),
        hint=f"teams: {', '.join(policy.teams)}; people: {', '.join(policy.people)}",
    )


def pending_handoff(state: IncidentState, me: str, handoff_id: str | None) -> Handoff:
    """The pending handoff ``me`` answers: the one named, else the only one waiting for ``me``."""
    pending = state.pending_handoffs
    listing = ", ".join(f"{h.id[-6:]} ({h.by} → {h.to})" for h in pending) or "none"
    if handoff_id:
        wanted = handoff_id.upper()
        match = [h for h in pending if h.id == wanted or h.id.endswith(wanted)]
        if not match:
            raise RefusedError(
                f"no pending handoff {handoff_id} on {state.ref or 'this incident'}",
                hint=f"pending: {listing}",
            )
        return match[0]
    mine = [h for h in pending if h.to == me]
    if not mine:
        raise RefusedError(f"no handoff is waiting for {me}", hint=f"pending: {listing}")
    if len(mine) > 1:
        raise UsageError("several handoffs wait for you: pass --handoff ID", hint=listing)
    return mine[0]


def next_steps(specs: Sequence[str], ask: Ask) -> list[NextStep]:
    """``'what | owner | by'`` specs (as ``--next`` takes them): each needs all three."""
    me = ask.me
    out = []
    for spec in specs:
        parts = [p.strip() for p in spec.split("|")]
        if len(parts) != 3 or not all(parts):
            raise UsageError(
                f"--next {spec!r} needs what, who and by when: 'what | owner | by'",
                hint="for example --next 'Finish step 5 | beatrice | 18:00 Europe/Berlin'",
            )
        by = me.typed(parts[2], what=f"next step {parts[0]!r}", future=True)
        zone = by.kept_zone if by else None
        owner = person(ask, parts[1], f"the owner of next step {parts[0]!r},")
        out.append(
            build(NextStep, what=parts[0], owner=owner, by=by.at if by else None, by_zone=zone)
        )
    return out


def recipient(state: IncidentState, policy: Policy, me: Actor) -> tuple[str, str]:
    """Whom to hand off to: the person whose working day starts next (and why, in words)."""
    best: tuple[datetime, str] | None = None
    for key, person in policy.people.items():
        if key in (me.name, state.ic) or not person.working_hours:
            continue
        start = next_day_start(person.timezone, person.working_hours, me.now)
        if best is None or start < best[0]:
            best = (start, key)
    if best is None:
        raise UsageError(
            "pass --to: nobody in the policy has working hours to pick the next person from",
            hint="set timezone and working_hours for people in the policy, or name --to",
        )
    start, key = best
    zone = policy.people[key].timezone
    if start <= me.now:
        return key, f"{key}, who is at work now (it is {for_person(me.now, zone, key)})"
    return key, f"{key}, whose working day starts next, at {for_person(start, zone, key)}"


def open_hold(state: IncidentState, me: str, target: str, hold_id: str | None) -> Hold:
    """The open hold on ``target`` to release: the one named, else ``me``'s, else the only one."""
    holds = state.holds_on(target)
    if hold_id:
        wanted = hold_id.upper()
        holds = [h for h in holds if h.id == wanted or h.id.endswith(wanted)]
    if not holds:
        raise RefusedError(
            f"there is no open hold on {target}", hint="`sync-incident show` lists them"
        )
    mine = [h for h in holds if h.by == me]
    chosen = mine or holds
    if len(chosen) > 1:
        raise UsageError(
            f"{len(chosen)} holds are open on {target}: pass --hold ID",
            hint=", ".join(f"{h.id[-6:]} by {h.by}" for h in chosen),
        )
    return chosen[0]


# --- the intents ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Open(Intent):
    """Open the incident on an existing bug or issue (or, see ``act.open_new``, a new one)."""

    verb: ClassVar[str] = "open"
    title: str | None = None
    severity: str = "S2"
    releases: tuple[str, ...] = ()
    ic: str | None = None

    def opened(self, ask: Ask, fallback_title: str) -> Opened:
        level = severity(ask.policy, self.severity)
        wanted = list(dict.fromkeys(release(r) for r in self.releases))
        title = self.title or fallback_title
        ic = person(ask, self.ic, "--ic") if self.ic else ask.me.name
        return build(Opened, title=title, severity=level, releases=wanted, ic=ic)

    def events(self, ask: Ask) -> list[Event]:
        title = ask.state.title or ask.state.ref
        return [self.opened(ask, title)]


@dataclass(frozen=True)
class AddNote(Intent):
    verb: ClassVar[str] = "note"
    after_resolve: ClassVar[bool] = True
    text: str
    occurred_at: str | None = None
    links: tuple[str, ...] = ()

    def events(self, ask: Ask) -> list[Event]:
        at = ask.me.typed(self.occurred_at)
        return [
            build(
                Note,
                text=self.text,
                occurred_at=at.at if at else None,
                occurred_zone=at.kept_zone if at else None,
                links=list(self.links),
            )
        ]


@dataclass(frozen=True)
class AddLink(Intent):
    verb: ClassVar[str] = "link"
    after_resolve: ClassVar[bool] = True
    url: str
    kind: str = "other"
    title: str = ""

    def events(self, ask: Ask) -> list[Event]:
        return [build(Link, url=self.url, kind=self.kind, title=self.title)]


@dataclass(frozen=True)
class ChangeStep(Intent):
    """Add a checklist step (needs a title) or update one (title, state, owner, due, note).

    A title equal to the step's current one is no change: it is neither recorded nor said
    again, and when nothing else changes, :class:`Unchanged` says so and nothing is posted.
    """

    verb: ClassVar[str] = "step"
    step: str
    title: str | None = None
    owner: str | None = None
    state: str | None = None
    due: str | None = None
    note: str = ""

    def events(self, ask: Ask) -> list[Event]:
        typed = ask.me.typed(self.due, what=f"step {self.step}'s due time", future=True)
        due = typed.at if typed else None
        zone = typed.kept_zone if typed else None
        owner = person(ask, self.owner, "--owner") if self.owner else None
        current = next((s for s in ask.state.checklist if s.step == self.step), None)
        if current is None:
            if not self.title:
                raise UsageError(
                    f"there is no step {self.step} yet",
                    hint="pass --title to add it to the checklist",
                )
            added = {
                "owner": owner,
                "state": self.state or "todo",
                "due": due,
                "due_zone": zone,
            }
            return [build(StepAdded, step=self.step, title=self.title, **added)]
        title = self.title
        if title is not None and " ".join(title.split()) == " ".join(current.title.split()):
            title = None
            if self.state is None and owner is None and due is None and not self.note:
                raise Unchanged(
                    f"Step {self.step} is already titled {current.title!r}: nothing changed, "
                    "nothing posted."
                )
        changes = {
            "state": self.state,
            "owner": owner,
            "due": due,
            "due_zone": zone if due is not None else None,
            "note": self.note,
        }
        return [build(StepUpdated, step=self.step, title=title, **changes)]


@dataclass(frozen=True)
class PostStatus(Intent):
    """A status update; ``next_update`` "none" clears the promise, None keeps it."""

    verb: ClassVar[str] = "status"
    summary: str
    next_update: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        if self.next_update is not None and self.next_update.strip().lower() in CLEAR:
            return [build(StatusUpdate, summary=self.summary, clear_next_update=True)]
        due = ask.me.typed(self.next_update, what="the next update", future=True)
        return [
            build(
                StatusUpdate,
                summary=self.summary,
                next_update_due=due.at if due else None,
                next_update_zone=due.kept_zone if due else None,
            )
        ]


@dataclass(frozen=True)
class OfferHandoff(Intent):
    """Offer the IC role (or named steps): done, to do, next steps, whom to notify."""

    verb: ClassVar[str] = "handoff"
    done: str
    todo: str
    to: str | None = None
    next: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()

    def events(self, ask: Ask) -> list[Event]:
        upcoming = next_steps(self.next, ask)
        if self.to is None:
            to, why = recipient(ask.state, ask.policy, ask.me)
            ask.me.notes.append(f"handing off to {why}; pass --to to choose someone else")
        else:
            to = person(ask, self.to, "--to")
        notify = [team_or_person(ask, n, "--notify") for n in self.notify]
        fields = {"done": self.done, "todo": self.todo, "next_steps": upcoming}
        role = "steps" if self.steps else "ic"
        offered = build(
            HandoffOffered,
            to=to,
            role=role,
            steps=list(self.steps),
            notify=notify,
            **fields,
        )
        return [offered]


@dataclass(frozen=True)
class TakeOverAsIC(Intent):
    """An incident lead takes over from an IC who cannot act, saying why (no dead ends)."""

    verb: ClassVar[str] = "take-over"
    reason: str

    def events(self, ask: Ask) -> list[Event]:
        ic = ask.state.ic
        if not ic:
            raise RefusedError("the incident has no incident commander to take over from")
        if ic == ask.me.name:
            raise Unchanged(f"{ic} is already the incident commander: nothing posted.")
        why = reason(self.reason, "taking over", ask.policy)
        return [build(TakeOver, from_ic=ic, reason=why)]


@dataclass(frozen=True)
class AcceptHandoff(Intent):
    verb: ClassVar[str] = "accept"
    handoff: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        offer = pending_handoff(ask.state, ask.me.name, self.handoff)
        return [HandoffAccepted(offer=offer.id)]


@dataclass(frozen=True)
class DeclineHandoff(Intent):
    verb: ClassVar[str] = "decline"
    reason: str
    handoff: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        offer = pending_handoff(ask.state, ask.me.name, self.handoff)
        why = reason(self.reason, "declining a handoff", ask.policy)
        return [build(HandoffDeclined, offer=offer.id, reason=why)]


@dataclass(frozen=True)
class RaiseHold(Intent):
    verb: ClassVar[str] = "hold"
    release: str
    reason: str

    def events(self, ask: Ask) -> list[Event]:
        target = of_incident(ask.state, self.release)
        why = reason(self.reason, "holding a release", ask.policy)
        return [build(HoldRaised, release=target, reason=why)]


@dataclass(frozen=True)
class ReleaseHold(Intent):
    verb: ClassVar[str] = "release-hold"
    release: str
    reason: str
    hold: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        # a hold belongs to the release name: it can be released even once the incident no
        # longer names that release
        named = release(self.release)
        state = ask.state
        ours = (
            named
            if state.holds_on(named) and state.concerns(named) is None
            else of_incident(state, self.release)
        )
        found = open_hold(state, ask.me.name, ours, self.hold)
        why = reason(self.reason, "releasing a hold", ask.policy)
        return [build(HoldReleased, release=ours, hold=found.id, reason=why)]


@dataclass(frozen=True)
class SignOff(Intent):
    verb: ClassVar[str] = "signoff"
    team: str
    release: str
    statement: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        target = of_incident(ask.state, self.release)
        name = team(ask, self.team)
        text = self.statement or f"{name} signs off on {target}."
        return [build(SignoffGiven, team=name, release=target, statement=text)]


@dataclass(frozen=True)
class Revoke(Intent):
    verb: ClassVar[str] = "revoke"
    team: str
    release: str
    reason: str

    def events(self, ask: Ask) -> list[Event]:
        target = of_incident(ask.state, self.release)
        why = reason(self.reason, "revoking a sign-off", ask.policy)
        return [build(SignoffRevoked, team=team(ask, self.team), release=target, reason=why)]


@dataclass(frozen=True)
class Ship(Intent):
    verb: ClassVar[str] = "ship"
    release: str
    statement: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        target = of_incident(ask.state, self.release)
        text = self.statement or f"Please ship {target} to users."
        return [build(ShipDecision, release=target, statement=text)]


@dataclass(frozen=True)
class Resolve(Intent):
    verb: ClassVar[str] = "resolve"
    summary: str

    def events(self, ask: Ask) -> list[Event]:
        return [build(Resolved, summary=reason(self.summary, "resolving", ask.policy))]


@dataclass(frozen=True)
class Reopen(Intent):
    verb: ClassVar[str] = "reopen"
    after_resolve: ClassVar[bool] = True
    reason: str

    def events(self, ask: Ask) -> list[Event]:
        return [build(Reopened, reason=reason(self.reason, "reopening", ask.policy))]


@dataclass(frozen=True)
class AddRelease(Intent):
    verb: ClassVar[str] = "add-release"
    release: str
    reason: str = ""

    def events(self, ask: Ask) -> list[Event]:
        wanted = release(self.release)
        if ask.state.concerns(wanted) is not None:
            raise RefusedError(
                f"{wanted} is already a release of {ask.state.ref or 'this incident'}"
            )
        return [build(ReleaseAdded, release=wanted, reason=self.reason)]


@dataclass(frozen=True)
class Retract(Intent):
    verb: ClassVar[str] = "retract"
    event: str
    reason: str

    def events(self, ask: Ask) -> list[Event]:
        wanted = self.event.upper()
        timeline = ask.state.timeline
        found = [e for e in timeline if e.event_id == wanted or e.event_id.endswith(wanted)]
        if not found:
            raise UsageError(
                f"there is no event {self.event} on {ask.state.ref or 'this incident'}",
                hint="`sync-incident show --full` lists the events",
            )
        why = reason(self.reason, "retracting an event", ask.policy)
        return [build(Retracted, event=found[0].event_id, reason=why)]


@dataclass(frozen=True)
class Check(Intent):
    """Check doubts by where they are ("comment 17"); all the caller may clear when none is named.

    Refused (nothing is posted) when the caller may not clear a doubt named, saying who can:
    a check that changes nothing would leave the gate in doubt while looking done.
    """

    verb: ClassVar[str] = "check"
    finding: str
    where: tuple[str, ...] = ()
    seen_hidden: bool = False  # the caller looked at what readers cannot see (hidden holds)

    def events(self, ask: Ask) -> list[Event]:
        state, me = ask.state, ask.me.name
        doubts = state.doubts
        names = list(self.where) or [d.where for d in doubts if self.may_clear(d, me)]
        unknown = [w for w in self.where if w not in {d.where for d in doubts}]
        if not doubts or unknown:
            listing = ", ".join(d.where for d in doubts) or "nothing is in doubt"
            raise UsageError(
                f"nothing in doubt is called {', '.join(unknown)}"
                if unknown
                else "nothing is in doubt",
                hint=f"in doubt: {listing}",
            )
        named = [d for d in doubts if d.where in names]
        barred = [d for d in (named or doubts) if not self.may_clear(d, me)]
        if barred or not named:
            raise RefusedError(
                f"{me} may not check "
                + "; ".join(
                    f"{d.where}: {d.clear_hint or 'the incident commander checks it'}"
                    for d in barred
                ),
                hint="nothing was posted; ask them to run `sync-incident check` "
                "(`show` says who may clear each doubt)",
            )
        hashes = {d.where: d.body_hash for d in named if d.body_hash}
        text = reason(self.finding, "checking a doubt", ask.policy)
        return [
            build(
                DoubtChecked,
                where=names,
                finding=text,
                hashes=hashes,
                seen_hidden=self.seen_hidden,
            )
        ]

    def may_clear(self, doubt: Doubt, me: str) -> bool:
        """Whether ``me`` may clear ``doubt`` (the fold decides again when the check is read)."""
        if me not in doubt.clearable_by:
            return False
        if doubt.kind == "history" and me != doubt.author:  # the IC: only having seen it
            return self.seen_hidden
        return True


@dataclass(frozen=True)
class AddRetroNote(Intent):
    verb: ClassVar[str] = "retro-note"
    after_resolve: ClassVar[bool] = True
    kind: str
    text: str
    owner: str | None = None

    def events(self, ask: Ask) -> list[Event]:
        owner = person(ask, self.owner, "--owner") if self.owner else None
        return [build(RetroNote, kind=self.kind, text=self.text, owner=owner)]


@dataclass(frozen=True)
class BindRoom(Intent):
    """Bind a chat room to the incident (or unbind it): the incident commander only."""

    verb: ClassVar[str] = "bind"
    chat: Literal["matrix", "slack"]
    room: str
    unbind: bool = False

    def events(self, ask: Ask) -> list[Event]:
        state, me = ask.state, ask.me.name
        verb = "unbind" if self.unbind else "bind"
        if state.ic is not None and me != state.ic:
            raise RefusedError(
                f"only the incident commander ({state.ic}) can {verb} a chat room; "
                f"{me} is not the incident commander",
                hint=f"ask {state.ic} to {verb} it (nothing was posted)",
            )
        bound = any((r.chat, r.room) == (self.chat, self.room) for r in state.rooms)
        where = state.ref or "this incident"
        if bound and not self.unbind:
            raise Unchanged(f"This room is already bound to {where}: nothing posted.")
        if not bound and self.unbind:
            raise Unchanged(f"This room is not bound to {where}: nothing posted.")
        return [build(RoomBound, chat=self.chat, room=self.room, unbound=self.unbind)]
