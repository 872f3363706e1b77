"""A draft retrospective from the incident record: Markdown, a self-contained HTML page, a post.

``build_retro`` is pure: it reads the folded :class:`~sync_incident.core.state.IncidentState` and
the policy (for names, teams and timezones) and returns a :class:`Retro`. The renderers turn
it into Markdown (for the tracker) or one HTML file with an SVG timeline (for reading and
printing). ``post_retro`` posts the Markdown once per distinct content.

Definitions the draft relies on:

- *opened*: the accepted ``opened`` event (the comment's creation time).
- *mitigated*: the first ship decision (Relman asked to ship a release to users); when there
  is none, the first status update posted at or after the release of the last hold (when
  every hold was released); otherwise it is not recorded and the draft says so.
- *resolved*: the accepted ``resolved`` event, when the incident is resolved.
- Durations run to the resolution, or, for an active incident, to the last recorded event:
  the draft is a function of the record alone, so posting it twice without new events posts
  nothing (``now`` is used only when the record has no events at all).

Module-level imports stay light (stdlib only).
jinja2, pydantic and the state model are imported inside functions.
"""

from __future__ import annotations

import enum
import hashlib
import html
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

    from sync_incident.core.policy import Policy
    from sync_incident.core.refs import IncidentRef
    from sync_incident.core.state import Entry, Handoff, IncidentState
    from sync_incident.service import Reading, Session

# Posted by the tool itself; never part of the retrospective (a posted draft must not change
# the next draft, or reposting would never be idempotent).
_MACHINE_EVENTS = frozenset({"digest", "reminder", "retro.draft"})

SECTIONS: tuple[tuple[str, str, str], ...] = (
    (
        "root_cause",
        "Root causes",
        "No root cause recorded yet. What made this happen, and why was it not caught earlier?",
    ),
    (
        "went_well",
        "What went well",
        "Nothing recorded yet. Which practices, tools or decisions helped?",
    ),
    (
        "could_be_better",
        "What could have gone better",
        "Nothing recorded yet. Where did we lose time, context or certainty?",
    ),
    (
        "action_item",
        "Action items",
        "No action items yet. What will make the next incident at least incrementally better, "
        "who owns it, and by when?",
    ),
)

TIMELINE_HEADING = "## Timeline"
TRUNCATION_NOTE = (
    "_Timeline truncated: {shown} of {total} events are shown, so that this comment fits the "
    "tracker's limit of 65,535 characters. Run `sync-incident retro {ref}` for the full "
    "timeline._"
)


class Format(enum.StrEnum):
    md = "md"
    html = "html"


# --- the model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    """A timeline column: one timezone and the participants who live in it."""

    name: str
    people: list[str]


@dataclass(frozen=True)
class TimelineRow:
    at: datetime  # when it happened: occurred_at for backfilled events, else the comment time
    recorded_at: datetime  # when the tracker stored the comment
    backfilled: bool
    actor: str
    type: str
    summary: str
    event_id: str
    local: list[str]  # ``at`` in each of :attr:`Retro.zones`, same order


@dataclass(frozen=True)
class Window:
    opened_at: datetime | None
    opened_by: str | None
    first_sign_at: datetime | None  # earliest backfilled event, when before the opening
    first_sign_minutes: int | None  # how long before the opening
    mitigated_at: datetime | None
    mitigated_how: str  # which definition applied, in words
    resolved_at: datetime | None
    as_of: datetime  # where durations of open intervals end
    to_mitigated_minutes: int | None
    to_resolved_minutes: int | None
    mitigated_to_resolved_minutes: int | None


@dataclass(frozen=True)
class Participant:
    person: str
    name: str
    timezone: str | None
    teams: list[str]
    events: int
    steps_done: list[str]
    holds_raised: int
    holds_released: int
    signoffs: list[str]
    ship_decisions: list[str]
    decisions: list[str]  # sign-offs (revoked ones marked) and ship decisions, in words
    was_ic: bool
    ic_minutes: int
    handoffs_offered: int
    handoffs_accepted: int
    handoffs_declined: int


@dataclass(frozen=True)
class TenureRow:
    ic: str
    since: datetime
    until: datetime | None  # None: still IC at the end of the record
    minutes: int


@dataclass(frozen=True)
class HandoffRow:
    id: str
    by: str
    to: str
    role: str
    steps: list[str]
    offered_at: datetime
    status: str
    answered_at: datetime | None
    waited_minutes: int | None  # None while pending
    decline_reason: str
    done: str
    todo: str


@dataclass(frozen=True)
class HoldRow:
    id: str
    release: str
    by: str
    at: datetime
    reason: str
    released_by: str | None
    released_at: datetime | None
    held_minutes: int  # until released, or until the end of the record
    release_reason: str


@dataclass(frozen=True)
class SignoffRow:
    team: str
    by: str
    at: datetime
    statement: str
    revoked_by: str | None = None
    revoked_at: datetime | None = None
    revoke_reason: str = ""


@dataclass(frozen=True)
class ShipRow:
    by: str
    at: datetime
    statement: str


@dataclass(frozen=True)
class ReleaseRow:
    release: str
    required: list[str]
    missing: list[str]  # required teams without a sign-off in force
    signoffs: list[SignoffRow]
    ships: list[ShipRow]


@dataclass(frozen=True)
class LinkRow:
    kind: str
    title: str
    url: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Problem:
    kind: str  # "rejected", "edited", "vanished", "unreadable", "warning"
    at: datetime | None
    who: str
    what: str
    why: str


@dataclass(frozen=True)
class NoteRow:
    text: str
    owner: str | None
    by: str
    at: datetime


@dataclass(frozen=True)
class Section:
    kind: str
    heading: str
    prompt: str
    items: list[NoteRow]


@dataclass(frozen=True)
class Retro:
    """Everything the draft says; both renderers read only this."""

    ref: str
    url: str
    title: str
    tracker: str
    policy: str  # "configured" or "permissive"
    status: str
    severity: str | None
    releases: list[str]
    products: list[str]
    ic: str | None
    window: Window
    zones: list[Zone]
    timeline: list[TimelineRow]
    participants: list[Participant]
    tenures: list[TenureRow]
    handoffs: list[HandoffRow]
    holds: list[HoldRow]
    release_rows: list[ReleaseRow]
    links: list[LinkRow]
    problems: list[Problem]
    sections: list[Section]
    names: dict[str, str] = field(default_factory=dict)  # person key -> display name

    def name(self, person: str | None) -> str:
        if person is None:
            return "nobody"
        return self.names.get(person, person)


# --- building ----------------------------------------------------------------------------------


def _minutes(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))


def _zone_known(policy: Policy, person: str) -> str | None:
    found = policy.people.get(person)
    if found is None or "timezone" not in found.model_fields_set:
        return None
    return found.timezone


def local_time(moment: datetime, zone: str) -> str:
    """``Wed 12 Jan 09:03 EST``: a time as a person in ``zone`` reads it."""
    from zoneinfo import ZoneInfo

    there = moment.astimezone(ZoneInfo(zone))
    return there.strftime("%a %d %b %H:%M ") + (there.tzname() or zone)


def build_retro(state: IncidentState, policy: Policy, *, now: datetime) -> Retro:
    """The draft retrospective of ``state``; pure (see the module docstring for definitions)."""
    entries = [e for e in state.timeline if e.accepted and e.type not in _MACHINE_EVENTS]
    recorded = [e.at for e in entries]
    if state.status == "resolved" and state.resolved_at is not None:
        as_of = state.resolved_at
    elif recorded:
        as_of = max(recorded)
    else:
        as_of = now

    names = {p: policy.display(p) for p in [*policy.people, *_people(state)]}
    zones = _zones(state, policy)
    timeline = _timeline(entries, zones, {h.id: h for h in state.handoffs})
    window = _window(state, policy, entries, as_of)
    tenures = [
        TenureRow(
            ic=t.ic,
            since=t.since,
            until=t.until,
            minutes=_minutes(t.since, t.until or as_of),
        )
        for t in state.ic_history
    ]
    handoffs = [
        HandoffRow(
            id=h.id,
            by=h.by,
            to=h.to,
            role=h.role,
            steps=list(h.steps),
            offered_at=h.at,
            status=h.status,
            answered_at=h.answered_at,
            waited_minutes=_minutes(h.at, h.answered_at) if h.answered_at else None,
            decline_reason=h.decline_reason,
            done=h.done,
            todo=h.todo,
        )
        for h in state.handoffs
    ]
    release_rows = _releases(state, policy)
    products = list(dict.fromkeys(r.release.rpartition(" ")[0] for r in release_rows))
    holds = sorted(
        (
            HoldRow(
                id=h.id,
                release=h.release,
                by=h.by,
                at=h.at,
                reason=h.reason,
                released_by=h.released_by,
                released_at=h.released_at,
                held_minutes=_minutes(h.at, h.released_at or as_of),
                release_reason=h.release_reason,
            )
            for h in [*state.released_holds, *state.holds]
        ),
        key=lambda h: h.at,
    )
    return Retro(
        ref=state.ref,
        url=state.url,
        title=state.title or "(no title)",
        tracker=state.tracker,
        policy=state.policy,
        status=state.status,
        severity=state.severity,
        releases=list(state.releases),
        products=products,
        ic=state.ic,
        window=window,
        zones=zones,
        timeline=timeline,
        participants=_participants(state, policy, entries, tenures),
        tenures=tenures,
        handoffs=handoffs,
        holds=holds,
        release_rows=release_rows,
        links=_links(state, entries),
        problems=_problems(state),
        sections=_sections(state),
        names=names,
    )


def _people(state: IncidentState) -> list[str]:
    """Participants in order of first appearance, then ICs and handoff recipients."""
    seen: dict[str, None] = dict.fromkeys(state.participants)
    for tenure in state.ic_history:
        seen.setdefault(tenure.ic)
    for offer in state.handoffs:
        seen.setdefault(offer.to)
    return list(seen)


def _zones(state: IncidentState, policy: Policy) -> list[Zone]:
    by_zone: dict[str, list[str]] = {}
    for person in _people(state):
        zone = _zone_known(policy, person)
        if zone is not None and zone not in ("UTC", "Etc/UTC"):
            by_zone.setdefault(zone, []).append(person)
    # west to east, by the offset at the opening, so columns read like a map
    from zoneinfo import ZoneInfo

    ref = state.opened_at or datetime(2000, 1, 1, tzinfo=UTC)

    def offset(zone: str) -> float:
        delta = ref.astimezone(ZoneInfo(zone)).utcoffset()
        return delta.total_seconds() if delta is not None else 0.0

    return [Zone(z, people) for z, people in sorted(by_zone.items(), key=lambda i: offset(i[0]))]


def _summary(entry: Entry, offers: dict[str, Handoff]) -> str:
    """The fold's one-line summary, with handoff answers told in full."""
    offer = offers.get(str(entry.data.get("offer", "")))
    if offer is None or entry.type not in ("handoff.accepted", "handoff.declined"):
        return entry.summary
    what = "the IC role" if offer.role == "ic" else "steps " + ", ".join(offer.steps)
    waited = duration(_minutes(offer.at, entry.at))
    if entry.type == "handoff.accepted":
        return f"{entry.actor} accepted {what} from {offer.by} (offered {waited} earlier)"
    reason = str(entry.data.get("reason", "")) or "no reason given"
    return f"{entry.actor} declined {what} from {offer.by} after {waited}: {reason}"


def _timeline(
    entries: list[Entry], zones: list[Zone], offers: dict[str, Handoff]
) -> list[TimelineRow]:
    rows = []
    for index, entry in enumerate(entries):
        at = entry.occurred_at or entry.at
        rows.append(
            (
                at,
                index,
                TimelineRow(
                    at=at,
                    recorded_at=entry.at,
                    backfilled=entry.occurred_at is not None,
                    actor=entry.actor,
                    type=entry.type,
                    summary=_summary(entry, offers),
                    event_id=entry.event_id,
                    local=[local_time(at, z.name) for z in zones],
                ),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def _window(state: IncidentState, policy: Policy, entries: list[Entry], as_of: datetime) -> Window:
    opened_at = state.opened_at
    backfilled = [e.occurred_at for e in entries if e.occurred_at is not None]
    first_sign = min(backfilled) if backfilled else None
    if first_sign is not None and opened_at is not None and first_sign >= opened_at:
        first_sign = None
    mitigated_at: datetime | None = None
    how = "not recorded (no ship decision, and no status update after every hold was released)"
    if state.ship_decisions:
        ship = state.ship_decisions[0]
        mitigated_at = ship.at
        how = f'the first ship decision, by {policy.display(ship.by)} ("{ship.statement}")'
    elif state.released_holds and not state.holds:
        last_release = max(h.released_at for h in state.released_holds if h.released_at)
        status = next(
            (e for e in entries if e.type == "status" and e.at >= last_release),
            None,
        )
        if status is not None:
            mitigated_at = status.at
            how = (
                "the first status update after the last hold was released, "
                f"by {policy.display(status.actor)}"
            )

    def span(a: datetime | None, b: datetime | None) -> int | None:
        return _minutes(a, b) if a is not None and b is not None else None

    resolved_at = state.resolved_at if state.status == "resolved" else None
    return Window(
        opened_at=opened_at,
        opened_by=state.opened_by,
        first_sign_at=first_sign,
        first_sign_minutes=span(first_sign, opened_at),
        mitigated_at=mitigated_at,
        mitigated_how=how,
        resolved_at=resolved_at,
        as_of=as_of,
        to_mitigated_minutes=span(opened_at, mitigated_at),
        to_resolved_minutes=span(opened_at, resolved_at),
        mitigated_to_resolved_minutes=span(mitigated_at, resolved_at),
    )


def _participants(
    state: IncidentState, policy: Policy, entries: list[Entry], tenures: list[TenureRow]
) -> list[Participant]:
    out = []
    for person in _people(state):
        mine = [e for e in entries if e.actor == person]
        steps_done = [
            f"step {e.data.get('step')}"
            for e in mine
            if e.type in ("step.updated", "step.added") and e.data.get("state") == "done"
        ]
        signoffs = [
            f"{s.team} on {s.release}" + (" (revoked)" if s.revoked_at else "")
            for s in sorted([*state.signoffs, *state.revoked_signoffs], key=lambda s: s.at)
            if s.by == person
        ]
        ships = [s.release for s in state.ship_decisions if s.by == person]
        out.append(
            Participant(
                person=person,
                name=policy.display(person),
                timezone=_zone_known(policy, person),
                teams=[t for t, team in policy.teams.items() if person in team.members],
                events=len(mine),
                steps_done=steps_done,
                holds_raised=sum(e.type == "hold.raised" for e in mine),
                holds_released=sum(e.type == "hold.released" for e in mine),
                signoffs=signoffs,
                ship_decisions=ships,
                decisions=[*signoffs, *(f"ship decision on {r}" for r in ships)],
                was_ic=any(t.ic == person for t in tenures),
                ic_minutes=sum(t.minutes for t in tenures if t.ic == person),
                handoffs_offered=sum(e.type == "handoff.offered" for e in mine),
                handoffs_accepted=sum(e.type == "handoff.accepted" for e in mine),
                handoffs_declined=sum(e.type == "handoff.declined" for e in mine),
            )
        )
    return out


def _releases(state: IncidentState, policy: Policy) -> list[ReleaseRow]:
    from sync_incident.core.releases import release_key

    order: dict[str, str] = {}
    for release in [
        *state.releases,
        *(h.release for h in [*state.released_holds, *state.holds]),
        *(s.release for s in [*state.signoffs, *state.revoked_signoffs]),
        *(s.release for s in state.ship_decisions),
    ]:
        order.setdefault(release_key(release), release)
    rows = []
    for key, release in order.items():
        signoffs = sorted(
            (
                SignoffRow(
                    team=s.team,
                    by=s.by,
                    at=s.at,
                    statement=s.statement,
                    revoked_by=s.revoked_by,
                    revoked_at=s.revoked_at,
                    revoke_reason=s.revoke_reason,
                )
                for s in [*state.signoffs, *state.revoked_signoffs]
                if release_key(s.release) == key
            ),
            key=lambda s: s.at,
        )
        in_force = {s.team.casefold() for s in signoffs if s.revoked_at is None}
        required = policy.required_for(release)
        rows.append(
            ReleaseRow(
                release=release,
                required=required,
                missing=[t for t in required if t.casefold() not in in_force],
                signoffs=signoffs,
                ships=[
                    ShipRow(by=s.by, at=s.at, statement=s.statement)
                    for s in state.ship_decisions
                    if release_key(s.release) == key
                ],
            )
        )
    return rows


def _links(state: IncidentState, entries: list[Entry]) -> list[LinkRow]:
    rows = [LinkRow(kind=x.kind, title=x.title, url=x.url, by=x.by, at=x.at) for x in state.links]
    for entry in entries:
        if entry.type == "note":
            for url in entry.data.get("links", []):
                rows.append(
                    LinkRow(kind="note", title="", url=str(url), by=entry.actor, at=entry.at)
                )
    return sorted(rows, key=lambda r: r.at)


def _problems(state: IncidentState) -> list[Problem]:
    out = [
        Problem(kind="rejected", at=e.at, who=e.actor, what=e.summary, why=e.reason)
        for e in state.timeline
        if not e.accepted
    ]
    times = {e.comment_id: e.at for e in state.timeline}
    out += [
        Problem(
            kind=d.kind,
            at=times.get(d.comment_id),
            who=d.author,
            what=f"comment {d.comment_id}",
            why=d.detail,
        )
        for d in state.doubts
    ]
    doubted = {f"comment {d.comment_id} by" for d in state.doubts if d.kind == "unreadable"}
    out += [
        Problem(kind="warning", at=None, who="", what="", why=w)
        for w in state.warnings
        if not any(w.startswith(prefix) for prefix in doubted)
    ]
    return out


def _sections(state: IncidentState) -> list[Section]:
    return [
        Section(
            kind=kind,
            heading=heading,
            prompt=prompt,
            items=[
                NoteRow(text=r.text, owner=r.owner, by=r.by, at=r.at)
                for r in state.retro
                if r.kind == kind
            ],
        )
        for kind, heading, prompt in SECTIONS
    ]


# --- formatting helpers (Jinja filters) --------------------------------------------------------


def duration(minutes: int | None) -> str:
    """``2 d 3 h 05 min``, ``3 h 05 min``, ``45 min``; ``—`` when unknown."""
    if minutes is None:
        return "—"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h {mins:02d} min"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"


def utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _env(autoescape: bool) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sync_incident", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        duration=duration, utc=utc, cell=md_cell, name_of=lambda person, r: r.name(person)
    )
    return env


def render_markdown(retro: Retro) -> str:
    """The draft as Markdown (what ``--post`` puts on the tracker)."""
    text = _env(False).get_template("retro.md.j2").render(r=retro)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip() + "\n"


def render_html(retro: Retro) -> str:
    """One self-contained HTML page (inline CSS, inline SVG, no scripts, no network)."""
    from markupsafe import Markup

    svg = Markup(timeline_svg(retro))  # every value inside is escaped by _el
    return _env(True).get_template("retro.html.j2").render(r=retro, svg=svg, legend=LEGEND)


# --- the timeline picture ----------------------------------------------------------------------

LANE_H = 46
LABEL_W = 190
PLOT_W = 960
RIGHT = 30
TOP = 74  # room for the axis and the impact band
WIDTH = LABEL_W + PLOT_W + RIGHT

# marker kind -> (legend text, colour)
LEGEND: dict[str, tuple[str, str]] = {
    "ic-tenure": ("incident commander (bar)", "#9cc3e6"),
    "hold-raised": ("hold raised", "#c62828"),
    "hold-released": ("hold released", "#2e7d32"),
    "signoff": ("sign-off", "#1565c0"),
    "signoff-revoked": ("sign-off revoked", "#ef6c00"),
    "handoff-offered": ("handoff offered", "#6d4c41"),
    "handoff-accepted": ("handoff accepted", "#6d4c41"),
    "handoff-declined": ("handoff declined", "#b71c1c"),
    "ship": ("ship decision", "#6a1b9a"),
    "event": ("other event (hollow: backfilled)", "#757575"),
}
_MARKER_OF = {
    "hold.raised": "hold-raised",
    "hold.released": "hold-released",
    "signoff.given": "signoff",
    "signoff.revoked": "signoff-revoked",
    "handoff.offered": "handoff-offered",
    "handoff.accepted": "handoff-accepted",
    "handoff.declined": "handoff-declined",
    "ship": "ship",
}


def _el(tag: str, attrs: dict[str, object], children: str = "", text: str = "") -> str:
    parts = [tag]
    for key, value in attrs.items():
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f'{key}="{html.escape(str(value), quote=True)}"')
    inner = html.escape(text, quote=False) + children
    return f"<{' '.join(parts)}>{inner}</{tag}>"


def _title(text: str) -> str:
    return _el("title", {}, text=text)


def _shape(kind: str, x: float, y: float, backfilled: bool = False) -> str:
    """The glyph of a marker kind centred on (x, y)."""
    colour = LEGEND[kind][1]
    stroke = {"stroke": "#ffffff", "stroke-width": 1.2}
    if kind == "hold-raised":
        pts = f"{x - 7:.1f},{y - 6:.1f} {x + 7:.1f},{y - 6:.1f} {x:.1f},{y + 7:.1f}"
        return _el("polygon", {"points": pts, "fill": colour, **stroke})
    if kind == "hold-released":
        pts = f"{x - 7:.1f},{y + 6:.1f} {x + 7:.1f},{y + 6:.1f} {x:.1f},{y - 7:.1f}"
        return _el("polygon", {"points": pts, "fill": colour, **stroke})
    if kind == "signoff":
        return _el("circle", {"cx": x, "cy": y, "r": 6.5, "fill": colour, **stroke}) + _el(
            "path",
            {
                "d": f"M{x - 3:.1f},{y:.1f} l2.2,2.4 l4,-5",
                "fill": "none",
                "stroke": "#ffffff",
                "stroke-width": 1.8,
            },
        )
    if kind == "signoff-revoked":
        return _el("circle", {"cx": x, "cy": y, "r": 6.5, "fill": colour, **stroke}) + _el(
            "path",
            {
                "d": f"M{x - 3:.1f},{y - 3:.1f} l6,6 M{x + 3:.1f},{y - 3:.1f} l-6,6",
                "stroke": "#ffffff",
                "stroke-width": 1.8,
            },
        )
    if kind.startswith("handoff-"):
        pts = f"{x:.1f},{y - 8:.1f} {x + 8:.1f},{y:.1f} {x:.1f},{y + 8:.1f} {x - 8:.1f},{y:.1f}"
        fill = "#ffffff" if kind == "handoff-offered" else colour
        out = _el("polygon", {"points": pts, "fill": fill, "stroke": colour, "stroke-width": 2})
        if kind == "handoff-declined":
            out += _el(
                "path",
                {
                    "d": f"M{x - 3:.1f},{y - 3:.1f} l6,6 M{x + 3:.1f},{y - 3:.1f} l-6,6",
                    "stroke": "#ffffff",
                    "stroke-width": 1.8,
                },
            )
        return out
    if kind == "ship":
        pts = " ".join(
            f"{x + r * math.sin(a * math.pi / 5):.1f},{y - r * math.cos(a * math.pi / 5):.1f}"
            for a, r in ((i, 9.0 if i % 2 == 0 else 4.0) for i in range(10))
        )
        return _el("polygon", {"points": pts, "fill": colour, **stroke})
    if kind == "ic-tenure":
        return _el(
            "rect",
            {"x": x - 10, "y": y - 6, "width": 20, "height": 12, "rx": 3, "fill": colour},
        )
    return _el(
        "circle",
        {
            "cx": x,
            "cy": y,
            "r": 3.5,
            "fill": "#ffffff" if backfilled else colour,
            "stroke": colour,
            "stroke-width": 1.5,
        },
    )


def _ticks(start: datetime, end: datetime) -> tuple[timedelta, list[datetime]]:
    span = end - start
    steps = [timedelta(minutes=m) for m in (15, 30, 60, 120, 180, 360, 720)]
    steps += [timedelta(days=d) for d in (1, 2, 7)]
    step = next((s for s in steps if span / s <= 12), steps[-1])
    base = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tick = base
    out = []
    while tick <= end:
        if tick >= start:
            out.append(tick)
        tick += step
    return step, out


def timeline_svg(retro: Retro) -> str:
    """The picture: a lane per participant, IC bars, markers, handoff links, the impact band.

    Every lane is ``<g class="lane" data-lane=PERSON>``; every marker is
    ``<g class="marker marker-KIND" data-marker=KIND data-event=ID data-person=PERSON>``;
    IC bars are ``<rect class="ic-tenure" data-person=PERSON>``; each has a ``<title>``.
    """
    w = retro.window
    lanes = [p.person for p in retro.participants]
    times = [r.at for r in retro.timeline]
    start = min([*times, *([w.opened_at] if w.opened_at else []), w.as_of])
    end = max([*times, w.as_of])
    if end - start < timedelta(hours=1):
        end = start + timedelta(hours=1)
    pad = (end - start) * 0.03
    t0, t1 = start - pad, end + pad

    def xof(moment: datetime) -> float:
        return LABEL_W + PLOT_W * ((moment - t0) / (t1 - t0))

    lane_y: dict[str, float] = {p: float(TOP + i * LANE_H) for i, p in enumerate(lanes)}
    bottom = TOP + max(1, len(lanes)) * LANE_H
    legend_rows = math.ceil(len(LEGEND) / 4) + 1
    height = bottom + 44 + legend_rows * 22
    out: list[str] = []

    # axis: a vertical grid line per tick, labels on top and bottom (UTC)
    step, ticks = _ticks(t0, t1)
    grid = []
    for tick in ticks:
        x = xof(tick)
        midnight = tick.hour == 0 and tick.minute == 0
        label = tick.strftime("%a %d %b") if midnight or step >= timedelta(days=1) else ""
        label = label or tick.strftime("%H:%M")
        cls = "tick day" if midnight else "tick"
        line = _el(
            "line",
            {
                "x1": x,
                "x2": x,
                "y1": 26,
                "y2": bottom,
                "class": cls,
                "stroke": "#9e9e9e" if midnight else "#e0e0e0",
                "stroke-width": 1.2 if midnight else 1,
            },
        )
        top_label = _el(
            "text",
            {"x": x, "y": 20, "text-anchor": "middle", "class": "tick-label"},
            text=label,
        )
        bottom_label = _el(
            "text",
            {"x": x, "y": bottom + 16, "text-anchor": "middle", "class": "tick-label"},
            text=label,
        )
        grid.append(
            _el(
                "g",
                {"class": "axis-tick", "data-utc": tick.strftime("%Y-%m-%dT%H:%MZ")},
                line + top_label + bottom_label,
            )
        )
    out.append(
        _el(
            "text",
            {"x": LABEL_W - 8, "y": 20, "text-anchor": "end", "class": "axis-title"},
            # without a midnight tick the labels carry no date: name the day here
            text="UTC"
            if any(t.hour == 0 and t.minute == 0 for t in ticks)
            else f"UTC, {t0:%a %d %b %Y}",
        )
    )

    # lanes
    lane_parts = []
    for i, person in enumerate(lanes):
        y = lane_y[person]
        p = retro.participants[i]
        where = p.timezone or "timezone not configured"
        teams = ", ".join(p.teams) or "no team"
        tip = f"{p.name} ({person}) · {teams} · {where} · IC for {duration(p.ic_minutes)}"
        body = _title(tip)
        body += _el(
            "rect",
            {
                "x": 0,
                "y": y,
                "width": WIDTH,
                "height": LANE_H,
                "fill": "#f7f9fb" if i % 2 == 0 else "#ffffff",
                "class": "lane-bg",
            },
        )
        body += _el("text", {"x": 8, "y": y + 19, "class": "lane-name"}, text=f"{p.name} · {teams}")
        body += _el(
            "text",
            {"x": 8, "y": y + 35, "class": "lane-zone"},
            text=p.timezone or "timezone not configured",
        )
        lane_parts.append(
            _el(
                "g",
                {"class": "lane", "id": f"lane-{person}", "data-lane": person},
                body,
            )
        )
    out.extend(lane_parts)
    out.extend(grid)

    # impact band and milestone lines
    band_y = 30
    band: list[str] = []
    if w.opened_at is not None:
        mitigated_or_end = w.mitigated_at or w.resolved_at or w.as_of
        band.append(
            _el(
                "rect",
                {
                    "x": xof(w.opened_at),
                    "y": band_y,
                    "width": max(1.0, xof(mitigated_or_end) - xof(w.opened_at)),
                    "height": 16,
                    "fill": "#ef9a9a",
                    "class": "impact impact-open",
                },
                _title(
                    f"impact: opened {utc(w.opened_at)} → "
                    f"{'mitigated ' + utc(w.mitigated_at) if w.mitigated_at else 'not mitigated'}"
                ),
            )
        )
        if w.mitigated_at is not None:
            band.append(
                _el(
                    "rect",
                    {
                        "x": xof(w.mitigated_at),
                        "y": band_y,
                        "width": max(1.0, xof(w.resolved_at or w.as_of) - xof(w.mitigated_at)),
                        "height": 16,
                        "fill": "#ffe082",
                        "class": "impact impact-mitigated",
                    },
                    _title(
                        f"mitigated {utc(w.mitigated_at)} → "
                        f"{'resolved ' + utc(w.resolved_at) if w.resolved_at else 'not resolved'}"
                    ),
                )
            )
        band.append(
            _el(
                "text",
                {"x": LABEL_W - 8, "y": band_y + 12, "text-anchor": "end", "class": "axis-title"},
                text="impact",
            )
        )
    for name, moment in (
        ("opened", w.opened_at),
        ("mitigated", w.mitigated_at),
        ("resolved", w.resolved_at),
    ):
        if moment is None:
            continue
        x = xof(moment)
        band.append(
            _el(
                "g",
                {"class": f"milestone milestone-{name}", "data-milestone": name},
                _title(f"{name} {utc(moment)}")
                + _el(
                    "line",
                    {
                        "x1": x,
                        "x2": x,
                        "y1": band_y,
                        "y2": bottom,
                        "stroke": "#424242",
                        "stroke-width": 1.2,
                        "stroke-dasharray": "4 3",
                    },
                )
                + _el(
                    "text",
                    {"x": x + 3, "y": band_y + 12, "class": "milestone-label"},
                    text=name,
                ),
            )
        )
    out.extend(band)

    # IC tenure bars
    for t in retro.tenures:
        if t.ic not in lane_y:
            continue
        y = lane_y[t.ic]
        x1, x2 = xof(t.since), xof(t.until or w.as_of)
        until = (
            utc(t.until)
            if t.until
            else f"{utc(w.as_of)} ({'resolved' if w.resolved_at else 'still IC'})"
        )
        out.append(
            _el(
                "rect",
                {
                    "x": x1,
                    "y": y + 15,
                    "width": max(2.0, x2 - x1),
                    "height": 16,
                    "rx": 3,
                    "fill": LEGEND["ic-tenure"][1],
                    "class": "ic-tenure",
                    "data-person": t.ic,
                    "data-since": t.since.strftime("%Y-%m-%dT%H:%MZ"),
                },
                _title(
                    f"{retro.name(t.ic)} incident commander {utc(t.since)} → {until}"
                    f" ({duration(t.minutes)})"
                ),
            )
        )

    # hold spans: from raised to released (or the end), under the raiser's lane
    for hold in retro.holds:
        if hold.by not in lane_y:
            continue
        y = lane_y[hold.by] + 38
        x1, x2 = xof(hold.at), xof(hold.released_at or w.as_of)
        out.append(
            _el(
                "line",
                {
                    "x1": x1,
                    "x2": x2,
                    "y1": y,
                    "y2": y,
                    "stroke": LEGEND["hold-raised"][1],
                    "stroke-width": 3,
                    "class": "hold-span",
                    "data-hold": hold.id,
                },
                _title(
                    f"hold on {hold.release} by {retro.name(hold.by)}, {duration(hold.held_minutes)}"
                    + (f", released by {retro.name(hold.released_by)}" if hold.released_by else "")
                ),
            )
        )

    # handoff links: offer → answer
    offers = {r.event_id: r for r in retro.timeline if r.type == "handoff.offered"}
    handoff_by_id = {h.id: h for h in retro.handoffs}
    for h in retro.handoffs:
        if h.answered_at is None or h.status not in ("accepted", "declined"):
            continue
        if h.by not in lane_y or h.to not in lane_y or h.id not in offers:
            continue
        out.append(
            _el(
                "line",
                {
                    "x1": xof(h.offered_at),
                    "y1": lane_y[h.by] + 23,
                    "x2": xof(h.answered_at),
                    "y2": lane_y[h.to] + 23,
                    "stroke": LEGEND[f"handoff-{h.status}"][1],
                    "stroke-width": 1.5,
                    "stroke-dasharray": "5 3",
                    "class": f"handoff-link handoff-link-{h.status}",
                    "data-handoff": h.id,
                },
                _title(
                    f"handoff {retro.name(h.by)} → {retro.name(h.to)} {h.status} after "
                    f"{duration(h.waited_minutes)}"
                ),
            )
        )

    # markers: one per event, at its time, in its actor's lane; minor events first, so the
    # glyphs that matter are drawn on top, and those that would overlap are nudged up or down
    placed: dict[str, list[tuple[float, float]]] = {}
    ordered = sorted(retro.timeline, key=lambda r: r.type in _MARKER_OF)
    for row in ordered:
        if row.actor not in lane_y:
            continue
        kind = _MARKER_OF.get(row.type, "event")
        x, y = xof(row.at), lane_y[row.actor] + 23.0
        if kind != "event":
            taken = placed.setdefault(row.actor, [])
            for dy in (0.0, -11.0, 11.0):
                if all(abs(x - px) >= 14 or abs(y + dy - py) >= 11 for px, py in taken):
                    y += dy
                    break
            taken.append((x, y))
        tip = f"{utc(row.at)} · {row.summary}"
        if row.backfilled:
            tip += f" (backfilled; recorded {utc(row.recorded_at)})"
        if kind.startswith("handoff-") and kind != "handoff-offered":
            offer_id = next(
                (
                    h.id
                    for h in retro.handoffs
                    if h.answered_at == row.recorded_at and h.to == row.actor
                ),
                None,
            )
            if offer_id and offer_id in handoff_by_id:
                tip += f" (waited {duration(handoff_by_id[offer_id].waited_minutes)})"
        attrs: dict[str, object] = {
            "class": f"marker marker-{kind}" + (" backfilled" if row.backfilled else ""),
            "id": f"m-{row.event_id}",
            "data-marker": kind,
            "data-event": row.event_id,
            "data-person": row.actor,
            "data-type": row.type,
            "data-utc": row.at.strftime("%Y-%m-%dT%H:%MZ"),
        }
        out.append(_el("g", attrs, _title(tip) + _shape(kind, x, y, row.backfilled)))

    # legend
    legend_y = bottom + 40
    items = []
    for i, (kind, (text, _)) in enumerate(LEGEND.items()):
        col, row_no = i % 4, i // 4
        x = LABEL_W + col * (PLOT_W // 4)
        y = legend_y + row_no * 22
        items.append(
            _el(
                "g",
                {"class": "legend-item", "data-legend": kind},
                _shape(kind, x + 10, y)
                + _el("text", {"x": x + 24, "y": y + 4, "class": "legend-text"}, text=text),
            )
        )
    y = legend_y + (legend_rows - 1) * 22
    items.append(
        _el(
            "g",
            {"class": "legend-item", "data-legend": "impact"},
            _el("rect", {"x": LABEL_W, "y": y - 5, "width": 20, "height": 10, "fill": "#ef9a9a"})
            + _el(
                "rect",
                {"x": LABEL_W + 22, "y": y - 5, "width": 20, "height": 10, "fill": "#ffe082"},
            )
            + _el(
                "text",
                {"x": LABEL_W + 48, "y": y + 4, "class": "legend-text"},
                text="impact: opened → mitigated (red), mitigated → resolved (amber)",
            )
            + _el(
                "text",
                {"x": LABEL_W + PLOT_W // 2, "y": y + 4, "class": "legend-text"},
                text="dashed: milestones, handoff offer → answer · red line: hold in force",
            ),
        )
    )
    out.append(_el("g", {"class": "legend"}, "".join(items)))

    return _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": WIDTH,
            "height": height,
            "role": "img",
            "aria-labelledby": "timeline-title",
            "class": "timeline",
            "id": "timeline",
        },
        _el("title", {"id": "timeline-title"}, text=f"Timeline of {retro.ref}: {retro.title}")
        + "".join(out),
    )


# --- posting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostResult:
    posted: bool
    revision: int
    digest: str
    comment_id: str | None
    truncated: bool
    message: str


def digest_of(markdown: str) -> str:
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()[:16]


def _header(revision: int, digest: str) -> str:
    if revision == 1:
        return (
            f"**Retrospective draft, revision 1** (digest {digest}), generated by sync-incident "
            "from this incident's record. Edit it into the final retrospective; fill the "
            "prompts in the last sections."
        )
    return (
        f"**Retrospective draft, revision {revision}** (digest {digest}): it replaces "
        f"revision {revision - 1}, because the incident's record changed since."
    )


def truncate_timeline(markdown: str, keep: int, ref: str) -> str:
    """Keep the first ``keep`` rows of the timeline table and say how many were dropped."""
    start = markdown.find(TIMELINE_HEADING + "\n")
    if start < 0:
        return markdown
    end = markdown.find("\n## ", start + len(TIMELINE_HEADING))
    end = len(markdown) if end < 0 else end + 1
    section = markdown[start:end].split("\n")
    table = [i for i, line in enumerate(section) if line.startswith("|")]
    rows = table[2:]  # after the header and the separator
    if keep >= len(rows):
        return markdown
    dropped = set(rows[keep:])
    kept = [line for i, line in enumerate(section) if i not in dropped]
    note = TRUNCATION_NOTE.format(shown=keep, total=len(rows), ref=ref)
    insert_at = (rows[keep - 1] + 1) if keep else (table[1] + 1 if len(table) > 1 else 1)
    kept[insert_at:insert_at] = ["", note, ""]
    return markdown[:start] + "\n".join(kept) + markdown[end:]


async def post_retro(
    session: Session, ref: IncidentRef, markdown: str, reading: Reading | None = None
) -> PostResult:
    """Post ``markdown`` as a ``retro.draft`` comment unless the latest draft has the same digest.

    A changed draft is posted as revision n+1. When the comment would exceed the trackers'
    limit, timeline rows are dropped from the end (with a note), and as a last resort the
    text is cut: posting never fails on length.
    """
    from sync_incident.core.comments import COMMENT_LIMIT, normalise_body
    from sync_incident.core.events import RetroDraft

    reading = reading or await session.read(ref)
    state = reading.state
    digest = digest_of(markdown)
    drafts = [e for e in state.timeline if e.type == "retro.draft" and e.accepted]
    if drafts and drafts[-1].data.get("digest") == digest:
        revision = int(drafts[-1].data.get("revision", 1))
        return PostResult(
            posted=False,
            revision=revision,
            digest=digest,
            comment_id=drafts[-1].comment_id,
            truncated=False,
            message=(
                f"The retrospective draft on {ref} is up to date (revision {revision}, "
                f"digest {digest}); nothing was posted."
            ),
        )
    revision = max((int(e.data.get("revision", 1)) for e in drafts), default=0) + 1
    flavor = session.tracker(ref.kind).flavor

    def build(body: str) -> tuple[RetroDraft, int]:
        follows = state.last_event_id  # as Session.post will chain it: the size is exact
        event = RetroDraft(digest=digest, revision=revision, text=body, follows=follows)
        return event, len(normalise_body(session.renderer.comment([event], flavor)))

    header = _header(revision, digest)
    event, size = build(f"{header}\n\n{markdown}")
    truncated = False
    if size > COMMENT_LIMIT:
        truncated = True
        rows = markdown[markdown.find(TIMELINE_HEADING) :].count("\n|")
        low, high = 0, rows  # binary search: the most timeline rows that fit
        best = truncate_timeline(markdown, 0, str(ref))
        while low <= high:
            mid = (low + high) // 2
            candidate = truncate_timeline(markdown, mid, str(ref))
            if build(f"{header}\n\n{candidate}")[1] <= COMMENT_LIMIT:
                best, low = candidate, mid + 1
            else:
                high = mid - 1
        event, size = build(f"{header}\n\n{best}")
        cut = len(best)
        while size > COMMENT_LIMIT and cut > 0:  # notes alone are too long: cut the text
            cut = int(cut * COMMENT_LIMIT / size * 0.95)
            event, size = build(
                f"{header}\n\n{best[:cut]}\n\n_(Draft cut to fit the tracker's limit; run "
                f"`sync-incident retro {ref}` for the whole draft.)_"
            )
    outcome = await session.post(ref, [event], reading=reading, lint=False)
    return PostResult(
        posted=True,
        revision=revision,
        digest=digest,
        comment_id=outcome.comment_id,
        truncated=truncated,
        message=(
            f"Posted retrospective draft revision {revision} on {ref}"
            + (f" as comment {outcome.comment_id}" if outcome.comment_id else "")
            + (" (timeline truncated to fit the tracker's limit)" if truncated else "")
            + "."
        ),
    )


# --- the command -------------------------------------------------------------------------------


async def run_retro(
    session: Session, ref: IncidentRef, fmt: Format, *, post: bool = False
) -> tuple[str, PostResult | None]:
    """Read the incident and draft the retrospective (``fmt``); post the Markdown if asked."""
    reading = await session.read(ref)
    draft = build_retro(reading.state, session.policy, now=session.clock())
    markdown = render_markdown(draft)
    page = render_html(draft) if fmt is Format.html else markdown
    result = await post_retro(session, ref, markdown, reading) if post else None
    return page, result
