"""What people mean, turned into events: the rules the CLI, the daemon and the Action share.

Each function takes the folded state, who acts (:class:`Actor`) and what the person typed,
and returns the events to post, or raises :class:`~sync_incident.core.errors.UsageError`
(malformed input: what to type instead) or :class:`~sync_incident.core.errors.RefusedError`
(the rules say no). Whether the fold accepts the events is checked again by
:meth:`~sync_incident.service.Session.post` before anything is posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from sync_incident.core.errors import RefusedError, UsageError
from sync_incident.core.events import (
    DoubtChecked,
    Event,
    HandoffAccepted,
    HandoffDeclined,
    HoldReleased,
    NextStep,
    ReleaseAdded,
    Retracted,
    StatusUpdate,
    StepAdded,
    StepUpdated,
)
from sync_incident.core.hours import next_day_start
from sync_incident.core.policy import Policy
from sync_incident.core.releases import normalise_release
from sync_incident.core.state import Doubt, Handoff, Hold, IncidentState
from sync_incident.core.times import parse_time, utc

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

    def time(
        self, text: str | None, *, what: str = "the time", future: bool = False
    ) -> datetime | None:
        """A typed time in this person's zone; a past one is noted when ``future``."""
        if not text:
            return None
        moment = parse_time(text, now=self.now, tz=self.tz)
        if future and moment < self.now:
            self.notes.append(f"{what} ({utc(moment)}) is in the past")
        return moment


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


def reason(text: str, what: str) -> str:
    if not text.strip():
        raise UsageError(f"{what} needs a reason", hint="pass --reason with a real sentence")
    return text


# --- handoffs -----------------------------------------------------------------------------


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


def accept(state: IncidentState, me: Actor, handoff_id: str | None = None) -> list[Event]:
    offer = pending_handoff(state, me.name, handoff_id)
    return [HandoffAccepted(offer=offer.id)]


def decline(
    state: IncidentState, me: Actor, text: str, handoff_id: str | None = None
) -> list[Event]:
    offer = pending_handoff(state, me.name, handoff_id)
    return [build(HandoffDeclined, offer=offer.id, reason=reason(text, "declining a handoff"))]


def next_steps(specs: Sequence[str], me: Actor) -> list[NextStep]:
    """``'what | owner | by'`` specs (as ``--next`` takes them): each needs all three."""
    out = []
    for spec in specs:
        parts = [p.strip() for p in spec.split("|")]
        if len(parts) != 3 or not all(parts):
            raise UsageError(
                f"--next {spec!r} needs what, who and by when: 'what | owner | by'",
                hint="for example --next 'Finish step 5 | beatrice | 18:00 Europe/Berlin'",
            )
        by = me.time(parts[2], what=f"next step {parts[0]!r}", future=True)
        out.append(build(NextStep, what=parts[0], owner=parts[1], by=by))
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
    local = start.astimezone(ZoneInfo(zone))
    if start <= me.now:
        return key, f"{key}, who is at work now ({local:%H:%M} in {zone})"
    return key, f"{key}, whose working day starts next ({local:%a %H:%M} {zone}, {start:%H:%M} UTC)"


# --- holds, releases, corrections -----------------------------------------------------------


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


def release_hold(
    state: IncidentState, me: Actor, target: str, text: str, hold_id: str | None = None
) -> list[Event]:
    # a hold belongs to the release name: it can be released even once the incident no
    # longer names that release
    named = release(target)
    ours = (
        named
        if state.holds_on(named) and state.concerns(named) is None
        else of_incident(state, target)
    )
    hold = open_hold(state, me.name, ours, hold_id)
    why = reason(text, "releasing a hold")
    return [build(HoldReleased, release=ours, hold=hold.id, reason=why)]


def add_release(state: IncidentState, target: str, text: str = "") -> list[Event]:
    wanted = release(target)
    if state.concerns(wanted) is not None:
        raise RefusedError(f"{wanted} is already a release of {state.ref or 'this incident'}")
    return [build(ReleaseAdded, release=wanted, reason=text)]


def retract(state: IncidentState, event_id: str, text: str) -> list[Event]:
    wanted = event_id.upper()
    found = [e for e in state.timeline if e.event_id == wanted or e.event_id.endswith(wanted)]
    if not found:
        raise UsageError(
            f"there is no event {event_id} on {state.ref or 'this incident'}",
            hint="`sync-incident show --full` lists the events",
        )
    return [build(Retracted, event=found[0].event_id, reason=reason(text, "retracting an event"))]


def check(
    state: IncidentState,
    where: Sequence[str],
    finding: str,
    me: str = "",
    *,
    seen_hidden: bool = False,
) -> list[Event]:
    """Check doubts by where they are ("comment 17"); all ``me`` may clear when none is named.

    Refused (nothing is posted) when ``me`` may not clear a doubt named, saying who can: a
    check that changes nothing would leave the gate in doubt while looking done.
    """
    doubts = state.doubts
    names = list(where) or [d.where for d in doubts if may_clear(d, me, state, seen_hidden)]
    unknown = [w for w in where if w not in {d.where for d in doubts}]
    if not doubts or unknown:
        listing = ", ".join(d.where for d in doubts) or "nothing is in doubt"
        raise UsageError(
            f"nothing in doubt is called {', '.join(unknown)}"
            if unknown
            else "nothing is in doubt",
            hint=f"in doubt: {listing}",
        )
    named = [d for d in doubts if d.where in names]
    barred = [d for d in (named or doubts) if not may_clear(d, me, state, seen_hidden)]
    if barred or not named:
        raise RefusedError(
            f"{me or 'you'} may not check "
            + "; ".join(
                f"{d.where}: {d.clear_hint or 'the incident commander checks it'}" for d in barred
            ),
            hint="nothing was posted; ask them to run `sync-incident check` (see `show` for the doubt)",
        )
    hashes = {d.where: d.body_hash for d in named if d.body_hash}
    text = reason(finding, "checking a doubt")
    return [build(DoubtChecked, where=names, finding=text, hashes=hashes, seen_hidden=seen_hidden)]


def may_clear(doubt: Doubt, me: str, state: IncidentState, seen_hidden: bool) -> bool:
    """Whether ``me`` may clear ``doubt`` (the fold decides again when the check is read)."""
    if me not in doubt.clearable_by:
        return False
    if doubt.kind == "history" and me != doubt.author:  # the IC: only having seen it
        return seen_hidden
    return True


# --- checklist and status -------------------------------------------------------------------


def step(
    state: IncidentState,
    step_id: str,
    *,
    title: str | None = None,
    owner: str | None = None,
    step_state: str | None = None,
    due: datetime | None = None,
    note: str = "",
) -> list[Event]:
    """Add the step when it does not exist yet (needs a title), else update it (title too).

    A title equal to the step's current one is no change: it is neither recorded nor said
    again, and when nothing else changes, :class:`Unchanged` says so and nothing is posted.
    """
    current = next((s for s in state.checklist if s.step == step_id), None)
    if current is None:
        if not title:
            raise UsageError(
                f"there is no step {step_id} yet", hint="pass --title to add it to the checklist"
            )
        fields = {"owner": owner, "state": step_state or "todo", "due": due}
        return [build(StepAdded, step=step_id, title=title, **fields)]
    if title is not None and " ".join(title.split()) == " ".join(current.title.split()):
        title = None
        if step_state is None and owner is None and due is None and not note:
            raise Unchanged(
                f"Step {step_id} is already titled {current.title!r}: nothing changed, "
                "nothing posted."
            )
    fields = {"state": step_state, "owner": owner, "due": due, "note": note}
    return [build(StepUpdated, step=step_id, title=title, **fields)]


def status(summary: str, next_update: str | None, me: Actor) -> list[Event]:
    """A status update; ``--next-update none`` clears the promise, no option keeps it."""
    if next_update is not None and next_update.strip().lower() in CLEAR:
        return [build(StatusUpdate, summary=summary, clear_next_update=True)]
    due = me.time(next_update, what="the next update", future=True)
    return [build(StatusUpdate, summary=summary, next_update_due=due)]
