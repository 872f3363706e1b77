"""What the pages show of one incident: pure view models over its overview.

Built from the :class:`~sync_incident.application.overview.Overview` of the daemon's last read
(the state and the gate's verdict on each release, with that read's membership facts), so a
page never says READY where ``gate`` would not and never judges a release itself: the words of
a verdict are the overview's (:attr:`~sync_incident.core.readiness.Verdict.said`, every reason
in the order to act on them, none cut). Only ``now`` moves: ages, "overdue" and the people's
working days are computed for the moment of rendering.

:func:`card` is an incident on the status page; :func:`incident` the incident page, which
answers "may it ship, who is in charge, what do I do next" from its first screen: the
verdicts, the incident commander and the current status, then what blocks (holds, doubts,
the pending handoff), the sign-offs, the checklist and the timeline. Times are
:class:`~sync_incident.serve.when.Moment` values: UTC for the page to show in the reader's
zone, and the clocks of the people they concern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sync_incident.application.overview import Overview
from sync_incident.core.hours import end_of_day, next_day_start
from sync_incident.core.policy import Policy
from sync_incident.core.readiness import Verdict
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import Doubt, Handoff, Hold, IncidentState, Step
from sync_incident.core.times import age, minutes_between, utc
from sync_incident.serve.timeline import Row, Timeline, newest, timeline
from sync_incident.serve.when import Moment, moment
from sync_incident.views import stale_note, web_url

# status -> (symbol, words); the symbol is decoration, the words carry the meaning
CELLS = {
    "signed": ("✓", "signed"),
    "stale": ("↺", "stale"),
    "revoked": ("✗", "revoked"),
    "missing": ("–", "missing"),
    "unknown team": ("?", "unknown team"),
    "unchecked": ("?", "cannot check"),
    "not required": ("", "not required"),
}
VERDICTS = {"ready": "READY", "not-ready": "NOT READY", "in-doubt": "IN DOUBT"}


def slug(key: str) -> str:
    """An HTML id from a reference key: ``github-o-r-1``."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-")


def href(ref: IncidentRef | str, prefix: str = "/incidents/") -> str:
    """The page of an incident: its reference key, ``#`` escaped (``/incidents/github:o/r%231``)."""
    key = ref.key if isinstance(ref, IncidentRef) else ref
    return prefix + quote(key, safe=":/")


@dataclass(frozen=True)
class Person:
    """A person as the page shows them: their local time, where they are in their working day."""

    name: str
    zone: str = ""
    local: str = ""  # "14:03 Europe/Berlin"
    day: str = ""  # "working day ends 17:00 (in 2 h 57 min)" / "off work until 09:00 ..."
    off: bool = False


@dataclass(frozen=True)
class Cell:
    status: str
    symbol: str
    words: str
    detail: str = ""  # who and when, for the title attribute and the incident page


@dataclass(frozen=True)
class TeamCell:
    """One required team on one release, as the incident page lists it under the release."""

    team: str
    cell: Cell


@dataclass(frozen=True)
class Ship:
    """The ship decision of a release: ``given``, ``stale``, ``missing`` (required, not given)
    or ``not required``."""

    state: str
    words: str  # the whole line, in words
    by: str = ""
    at: Moment | None = None
    statement: str = ""


@dataclass(frozen=True)
class ReleaseView:
    release: str
    verdict: str  # ready / not-ready / in-doubt
    label: str
    reason: str  # every reason in one line, in the order to act on them (never cut)
    reasons: list[str]
    ship: Ship | None = None
    teams: list[TeamCell] = field(default_factory=list)


@dataclass(frozen=True)
class HoldView:
    release: str
    by: str
    since: Moment
    reason: str
    clears: str  # who may release it: "alice or the incident commander (dana)"

    @property
    def waited(self) -> str:
        return self.since.age


@dataclass(frozen=True)
class NextView:
    what: str
    owner: str = ""
    by: Moment | None = None


@dataclass(frozen=True)
class HandoffView:
    by: str
    to: str
    what: str
    since: Moment
    waited: str
    stale: str  # " — STALE, over the 2 h the policy allows", as `show` says it; "" when not
    done: str = ""
    todo: str = ""
    next: list[NextView] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    recipient: Person | None = None


@dataclass(frozen=True)
class DoubtView:
    where: str
    author: str
    detail: str
    clears: str  # who may check it, in words

    def __str__(self) -> str:
        by = f" by {self.author}" if self.author else ""
        return f"{self.where}{by}: {self.detail}"


@dataclass(frozen=True)
class StatusView:
    """The last status update and the next one promised."""

    text: str = ""
    by: str = ""
    at: Moment | None = None
    next_due: Moment | None = None
    overdue: str = ""  # "OVERDUE by 12 min" or ""


@dataclass(frozen=True)
class StepView:
    step: str
    title: str
    owner: str
    state: str
    due: Moment | None
    overdue: bool


@dataclass(frozen=True)
class Checklist:
    steps: list[StepView]

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.state == "done")

    @property
    def progress(self) -> str:
        """``3 of 7 done``."""
        return f"{self.done} of {len(self.steps)} done"


@dataclass(frozen=True)
class Card:
    """One incident card; ``error`` set (and little else) when it could not be read."""

    ref: str
    key: str
    href: str
    title: str
    url: str
    slug: str = ""
    status: str = "unknown"
    severity: str = ""
    error: str = ""
    ic: Person | None = None
    ic_since: Moment | None = None
    releases: list[ReleaseView] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    matrix: list[list[Cell]] = field(default_factory=list)  # one row per team, per release
    holds: list[HoldView] = field(default_factory=list)
    handoffs: list[HandoffView] = field(default_factory=list)
    latest: StatusView = StatusView()
    doubts: list[DoubtView] = field(default_factory=list)
    timeline: list[Row] = field(default_factory=list)
    resolved: Moment | None = None
    resolution: str = ""

    @property
    def overdue(self) -> str:
        return self.latest.overdue

    @property
    def retro(self) -> str:
        """The retrospective draft's page (served for a resolved incident)."""
        return href(self.key, "/retro/")


@dataclass(frozen=True)
class LinkView:
    kind: str
    url: str
    title: str
    by: str


@dataclass(frozen=True)
class IncidentPage:
    """The incident page: the card's facts in full, the checklist, the links, the timeline."""

    card: Card
    opened: Moment | None
    opened_by: str
    checklist: Checklist
    links: list[LinkView]
    timeline: Timeline
    retro: str  # the retrospective's page, once resolved


def card(
    ref: IncidentRef,
    seen: Overview | None,
    now: datetime,
    *,
    events: int = 5,
    error: str = "",
) -> Card:
    """The card of one watched incident as of ``now`` (``events``: timeline entries shown)."""
    if seen is None:
        why = error or "not read yet: the first poll is on its way"
        return Card(str(ref), ref.key, href(ref), str(ref), "", slug(ref.key), error=why)
    state, found, policy = seen.state, seen.verdicts, seen.policy
    teams, matrix = sign_off_matrix(found)
    ic = state.ic
    return Card(
        ref=state.ref or str(ref),
        key=ref.key,
        href=href(ref),
        title=state.title or "(no title)",
        url=state.url if state.url != state.ref and web_url(state.url) else "",
        slug=slug(ref.key),
        status=state.status,
        severity=state.severity or "",
        error=error,
        ic=commander(ic, policy, now) if ic else None,
        ic_since=_at(seen, state.ic_since, now, ic),
        releases=[release_view(v, seen, now) for v in found],
        teams=teams,
        matrix=matrix,
        holds=[hold_view(h, seen, now) for h in state.holds],
        handoffs=[handoff_view(h, policy, now) for h in state.pending_handoffs],
        latest=status_view(seen, now),
        doubts=[doubt_view(d, state) for d in state.doubts],
        timeline=latest(seen, now, events),
        resolved=_at(seen, state.resolved_at, now) if state.status == "resolved" else None,
        resolution=state.resolution if state.status == "resolved" else "",
    )


def incident(
    ref: IncidentRef,
    seen: Overview,
    now: datetime,
    *,
    decisions: bool = False,
    error: str = "",
) -> IncidentPage:
    """The incident page as of ``now``; ``decisions``: the timeline keeps only what decides."""
    state = seen.state
    return IncidentPage(
        card=card(ref, seen, now, events=0, error=error),
        opened=_at(seen, state.opened_at, now, state.opened_by),
        opened_by=state.opened_by or "",
        checklist=Checklist([step_view(s, seen, now) for s in state.checklist]),
        links=[LinkView(x.kind, x.url, x.title, x.by) for x in state.links],
        timeline=timeline(state, _stamp(seen, now), decisions=decisions),
        retro=href(ref, "/retro/") if state.status == "resolved" else "",
    )


def _stamp(seen: Overview, now: datetime) -> Callable[[datetime, str], Moment]:
    def stamp(at: datetime, person: str) -> Moment:
        return moment(at, now, [(person, seen.timezone_of(person))] if person else [])

    return stamp


def _at(
    seen: Overview, at: datetime | None, now: datetime, person: str | None = None
) -> Moment | None:
    if at is None:
        return None
    return moment(at, now, [(person, seen.timezone_of(person))] if person else [])


def status_view(seen: Overview, now: datetime) -> StatusView:
    """The last status (what, who, when) and the next update due, with the IC's clock."""
    state = seen.state
    due = state.next_update_due
    next_due = None
    if due is not None:
        people = [(state.ic, seen.timezone_of(state.ic))] if state.ic else []
        next_due = moment(due, now, people, typed=state.next_update_zone)
    return StatusView(
        text=state.last_status or "",
        by=state.last_status_by or "",
        at=_at(seen, state.last_status_at, now, state.last_status_by),
        next_due=next_due,
        overdue=overdue_note(state, now),
    )


def overdue_note(state: IncidentState, now: datetime) -> str:
    """``OVERDUE by 12 min`` when the promised update of an active incident is late, else ""."""
    due = state.next_update_due
    if state.status != "active" or due is None or due >= now:
        return ""
    return f"OVERDUE by {age(minutes_between(due, now))}"


def hold_view(h: Hold, seen: Overview, now: datetime) -> HoldView:
    """An open hold: who, since when (on their clock), why, and who may release it."""
    return HoldView(h.release, h.by, _moment(seen, h.at, now, h.by), h.reason, hold_clears(h, seen))


def _moment(seen: Overview, at: datetime, now: datetime, person: str) -> Moment:
    return moment(at, now, [(person, seen.timezone_of(person))])


def hold_clears(h: Hold, seen: Overview) -> str:
    """Who may release a hold (rule 5): the person who raised it, or the incident commander."""
    ic = seen.state.ic
    if not ic:
        return h.by
    if ic == h.by:
        return f"{h.by} (the incident commander)"
    return f"{h.by} or the incident commander ({ic})"


def doubt_view(d: Doubt, state: IncidentState) -> DoubtView:
    """A doubt in words, with who may check it: the one place pages say so."""
    clears = f"the incident commander ({state.ic})" if state.ic else "the incident commander"
    return DoubtView(d.where, d.author, d.detail, clears)


def handoff_view(h: Handoff, policy: Policy, now: datetime) -> HandoffView:
    """A pending handoff: who to whom, what is done, what remains, the next steps by when."""
    waited = minutes_between(h.at, now)

    def zone(person: str | None) -> str | None:
        found = policy.people.get(person) if person else None
        return found.timezone if found else None

    steps = []
    for step in h.next_steps:
        owner = step.owner or h.to
        by = None
        if step.by is not None:
            by = moment(step.by, now, [(owner, zone(owner))], typed=step.by_zone)
        steps.append(NextView(step.what, step.owner or "", by))
    return HandoffView(
        by=h.by,
        to=h.to,
        what="incident commander" if h.role == "ic" else "steps " + ", ".join(h.steps),
        since=moment(h.at, now, [(h.by, zone(h.by))]),
        waited=age(waited),
        stale=stale_note(waited, policy.stale_handoff_minutes),
        done=h.done,
        todo=h.todo,
        next=steps,
        notify=list(h.notify),
        recipient=commander(h.to, policy, now),
    )


def release_view(
    v: Verdict, seen: Overview | None = None, now: datetime | None = None
) -> ReleaseView:
    """A release's verdict in the overview's words; with ``seen``, its ship decision and teams."""
    words = v.said.partition(" — ")[2]
    ship = None
    cells: list[TeamCell] = []
    if seen is not None and now is not None:
        ship = ship_view(v, seen, now)
        cells = [TeamCell(t.team, _cell(t.status, t.why, t.by, t.at)) for t in v.teams]
    return ReleaseView(
        release=v.release,
        verdict=v.verdict,
        label=VERDICTS[v.verdict],
        reason=words,
        reasons=list(v.reasons) or [v.summary],
        ship=ship,
        teams=cells,
    )


def ship_view(v: Verdict, seen: Overview, now: datetime) -> Ship:
    """The ship decision, in words: given (by whom, when, what they said), stale, or none."""
    team = seen.policy.ship_team
    decision = v.ship_decision
    if decision is None:
        if v.ship_required:
            return Ship("missing", f"{team}'s ship decision: none yet (required)")
        return Ship("not required", f"{team}'s ship decision: not required, none given")
    at = _moment(seen, decision.at, now, decision.by)
    if decision.stale:
        return Ship("stale", f"{team}'s ship decision is stale: {decision.why}", decision.by, at)
    return Ship("given", f"{team}'s ship decision: given", decision.by, at, decision.statement)


def _cell(status: str, why: str | None, by: str | None, at: datetime | None) -> Cell:
    detail = why or ""
    if by and at and not detail:
        detail = f"{by}, {utc(at)}"
    return Cell(status, *CELLS[status], detail=detail)


def sign_off_matrix(found: list[Verdict]) -> tuple[list[str], list[list[Cell]]]:
    """Teams (rows) × releases (columns): each required team's sign-off status per release."""
    teams: list[str] = []
    for v in found:
        for name in v.required:
            if name.casefold() not in (t.casefold() for t in teams):
                teams.append(name)
    rows: list[list[Cell]] = []
    for team in teams:
        row = []
        for v in found:
            status = next((t for t in v.teams if t.team.casefold() == team.casefold()), None)
            if status is None:
                row.append(Cell("not required", *CELLS["not required"]))
                continue
            row.append(_cell(status.status, status.why, status.by, status.at))
        rows.append(row)
    return teams, rows


def step_view(step: Step, seen: Overview, now: datetime) -> StepView:
    """A checklist step; its due time with the owner's clock and the zone it was typed in."""
    due = None
    if step.due is not None:
        people = [(step.owner, seen.timezone_of(step.owner))] if step.owner else []
        due = moment(step.due, now, people, typed=step.due_zone)
    overdue = bool(step.due is not None and step.state != "done" and step.due < now)
    return StepView(step.step, step.title, step.owner or "", step.state, due, overdue)


def commander(name: str, policy: Policy, now: datetime) -> Person:
    """A person's local time and where they are in their working day (the IC, a recipient)."""
    person = policy.people.get(name)
    shown = policy.display(name)
    if person is None:
        return Person(shown)
    zone = person.timezone
    local = now.astimezone(ZoneInfo(zone))
    clock = f"{local:%H:%M} {zone}"
    if not person.working_hours:
        return Person(shown, zone, clock, "no working hours in the policy")
    start = next_day_start(zone, person.working_hours, now)
    if start > now:
        back = start.astimezone(ZoneInfo(zone))
        day = f"off work; back {back:%a %H:%M} (in {age(minutes_between(now, start))})"
        return Person(shown, zone, clock, day, off=True)
    found = end_of_day(zone, person.working_hours, now, timedelta(hours=24))
    if found is None:  # pragma: no cover - at work means the day ends within 24 hours
        return Person(shown, zone, clock)
    end = found[1]
    ends = end.astimezone(ZoneInfo(zone))
    return Person(
        shown, zone, clock, f"working day ends {ends:%H:%M} (in {age(minutes_between(now, end))})"
    )


def latest(seen: Overview, now: datetime, count: int) -> list[Row]:
    """The newest ``count`` events for a card, newest first, the tool's own posts aside."""
    return newest(seen.state, _stamp(seen, now), count)
