"""What people mean, turned into events: the rules the CLI, the daemon and the Action share.

Each function takes the folded state (and who is acting) and what the person typed, and
returns the events to post, or raises :class:`~sync_incident.core.errors.UsageError` with
what to type instead. Whether the rules accept the events is the fold's business (checked
by :meth:`~sync_incident.service.Session.post` before anything is posted).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sync_incident.core.errors import UsageError
from sync_incident.core.events import (
    Event,
    HandoffAccepted,
    HandoffDeclined,
    HoldReleased,
    NextStep,
    StepAdded,
    StepUpdated,
    normalise_release,
)
from sync_incident.core.state import Handoff, Hold, IncidentState
from sync_incident.core.times import parse_time

M = TypeVar("M", bound=BaseModel)


def build(cls: type[M], **fields: Any) -> M:
    """Construct an event (or part of one), turning validation errors into one-line errors."""
    try:
        return cls(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise UsageError(f"{where}: {message}" if where else message) from None


def release(text: str) -> str:
    """A release as typed, normalised; UsageError when it names no exact version."""
    try:
        return normalise_release(text)
    except ValueError as exc:
        raise UsageError(str(exc), hint="name the product and the exact version") from None


def time(text: str | None, *, now: datetime | None = None) -> datetime | None:
    return parse_time(text, now=now) if text else None


def pending_handoff(state: IncidentState, me: str, handoff_id: str | None) -> Handoff:
    """The pending handoff ``me`` answers: the one named, else the only one waiting for ``me``."""
    pending = state.pending_handoffs
    if handoff_id:
        wanted = handoff_id.upper()
        match = [h for h in pending if h.id == wanted or h.id.endswith(wanted)]
        if not match:
            raise UsageError(
                f"no pending handoff {handoff_id} on {state.ref or 'this incident'}",
                hint="pending: " + (", ".join(f"{h.id} (to {h.to})" for h in pending) or "none"),
            )
        return match[0]
    mine = [h for h in pending if h.to == me]
    if not mine:
        names = ", ".join(f"{h.id} (to {h.to})" for h in pending) or "none"
        raise UsageError(f"no handoff is waiting for {me}", hint=f"pending: {names}")
    if len(mine) > 1:
        raise UsageError(
            "several handoffs wait for you: pass --handoff ID", hint=", ".join(h.id for h in mine)
        )
    return mine[0]


def accept(state: IncidentState, me: str, handoff_id: str | None = None) -> list[Event]:
    offer = pending_handoff(state, me, handoff_id)
    return [HandoffAccepted(offer=offer.id)]


def decline(
    state: IncidentState, me: str, reason: str, handoff_id: str | None = None
) -> list[Event]:
    offer = pending_handoff(state, me, handoff_id)
    return [build(HandoffDeclined, offer=offer.id, reason=reason)]


def open_hold(state: IncidentState, me: str, target: str, hold_id: str | None) -> Hold:
    """The open hold on ``target`` to release: the one named, else ``me``'s, else the only one."""
    holds = state.holds_on(target)
    if hold_id:
        wanted = hold_id.upper()
        holds = [h for h in holds if h.id == wanted or h.id.endswith(wanted)]
    if not holds:
        raise UsageError(f"there is no open hold on {target}")
    mine = [h for h in holds if h.by == me]
    chosen = mine or holds
    if len(chosen) > 1:
        raise UsageError(
            f"{len(chosen)} holds are open on {target}: pass --hold ID",
            hint=", ".join(f"{h.id} by {h.by}" for h in chosen),
        )
    return chosen[0]


def release_hold(
    state: IncidentState, me: str, target: str, reason: str, hold_id: str | None = None
) -> list[Event]:
    target = release(target)
    hold = open_hold(state, me, target, hold_id)
    return [build(HoldReleased, release=target, hold=hold.id, reason=reason)]


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
    """Add the step when it does not exist yet (needs a title), else update it."""
    exists = any(s.step == step_id for s in state.checklist)
    if not exists:
        if not title:
            raise UsageError(
                f"there is no step {step_id} yet", hint="pass --title to add it to the checklist"
            )
        fields = {"owner": owner, "state": step_state or "todo", "due": due}
        return [build(StepAdded, step=step_id, title=title, **fields)]
    fields = {"state": step_state, "owner": owner, "due": due, "note": note}
    return [build(StepUpdated, step=step_id, title=title, **fields)]


def next_steps(specs: Sequence[str], *, now: datetime | None = None) -> list[NextStep]:
    """``'what | owner | by'`` specs (as ``--next`` takes them) to next steps."""
    out = []
    for spec in specs:
        parts = [p.strip() for p in spec.split("|")]
        if len(parts) > 3 or not parts[0]:
            raise UsageError(
                f"--next {spec!r} is not 'what | owner | by'",
                hint="for example --next 'Finish step 5 | beatrice | +1h'",
            )
        what = parts[0]
        owner = parts[1] if len(parts) > 1 and parts[1] else None
        by = time(parts[2], now=now) if len(parts) > 2 and parts[2] else None
        out.append(build(NextStep, what=what, owner=owner, by=by))
    return out
