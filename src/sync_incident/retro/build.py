"""Build the draft from the record: ``build_retro`` is pure.

It reads the folded :class:`~sync_incident.core.state.IncidentState` and the policy (for names,
teams and timezones) and returns a :class:`~sync_incident.retro.model.Retro`.

Definitions the draft relies on:

- *opened*: the accepted ``opened`` event (the comment's creation time).
- *mitigated*, per release: its first ship decision (Relman asked to ship it to users). The
  incident is mitigated when the last of the releases that shipped was decided: an early
  ship decision on one release does not mitigate an incident whose other releases stay
  blocked. With no ship decision at all, the first status update posted at or after the
  release of the last hold (when every hold was released); otherwise it is not recorded and
  the draft says so.
- *resolved*: the accepted ``resolved`` event, when the incident is resolved.
- Durations run to the resolution, or, for an active incident, to the last recorded event:
  the draft is a function of the record alone, so posting it twice without new events posts
  nothing (``now`` is used only when the record has no events at all).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sync_incident.core.events import DECISIONS
from sync_incident.core.summaries import TEXT_FIELDS
from sync_incident.core.times import duration, minutes_between
from sync_incident.retro.model import (
    SECTIONS,
    HandoffRow,
    HoldRow,
    LinkRow,
    NoteRow,
    Participant,
    Problem,
    ReleaseRow,
    Retro,
    Section,
    ShipRow,
    SignoffRow,
    TenureRow,
    TimelineRow,
    Window,
    Zone,
    offset,
    wall,
)

if TYPE_CHECKING:
    from sync_incident.application.overview import Overview
    from sync_incident.core.policy import Facts, Policy
    from sync_incident.core.readiness import Verdict
    from sync_incident.core.state import Entry, Handoff, IncidentState, Signoff


# Posted by the tool itself; never part of the retrospective (a posted draft must not change
# the next draft, or reposting would never be idempotent).
_MACHINE_EVENTS = frozenset({"digest", "reminder", "retro.draft"})


def _zone_known(policy: Policy, person: str) -> str | None:
    found = policy.people.get(person)
    if found is None or "timezone" not in found.model_fields_set:
        return None
    return found.timezone


def build_retro(
    state: IncidentState, policy: Policy, *, now: datetime, facts: Facts | None = None
) -> Retro:
    """The draft retrospective of ``state``; pure (see the module docstring for definitions)."""
    from sync_incident.application.overview import overview

    return retro_of(overview(state, policy, facts, now), now=now)


def retro_of(seen: Overview, *, now: datetime) -> Retro:
    """The draft retrospective of an incident's overview (its releases as the gate judges them)."""
    state, policy = seen.state, seen.policy
    entries = [e for e in state.timeline if e.accepted and e.type not in _MACHINE_EVENTS]
    recorded = [e.at for e in entries]
    if state.status == "resolved" and state.resolved_at is not None:
        as_of = state.resolved_at
    elif recorded:
        as_of = max(recorded)
    else:
        as_of = now

    zones, utc_names = _zones(state, policy, entries)
    tenures = _tenures(state, as_of)
    release_rows = _releases(seen)
    products = list(dict.fromkeys(r.release.rpartition(" ")[0] for r in release_rows))
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
        window=_window(state, policy, entries, as_of, release_rows),
        zones=zones,
        timeline=_timeline(
            entries, zones, {h.id: h for h in state.handoffs}, policy, len(products) > 1
        ),
        participants=_participants(state, policy, entries, tenures, release_rows),
        tenures=tenures,
        handoffs=_handoffs(state),
        holds=_holds(state, as_of),
        release_rows=release_rows,
        links=_links(state, entries),
        problems=_problems(state),
        sections=_sections(state),
        names={p: policy.display(p) for p in [*policy.people, *_people(state)]},
        utc_names=utc_names,
    )


def _tenures(state: IncidentState, as_of: datetime) -> list[TenureRow]:
    return [
        TenureRow(
            ic=t.ic,
            since=t.since,
            until=t.until,
            minutes=minutes_between(t.since, t.until or as_of),
        )
        for t in state.ic_history
    ]


def _handoffs(state: IncidentState) -> list[HandoffRow]:
    return [
        HandoffRow(
            id=h.id,
            by=h.by,
            to=h.to,
            role=h.role,
            steps=list(h.steps),
            offered_at=h.at,
            status=h.status,
            answered_at=h.answered_at,
            waited_minutes=minutes_between(h.at, h.answered_at) if h.answered_at else None,
            decline_reason=h.decline_reason,
            done=h.done,
            todo=h.todo,
        )
        for h in state.handoffs
    ]


def _holds(state: IncidentState, as_of: datetime) -> list[HoldRow]:
    """Released and open holds, in the order they were raised."""
    rows = [
        HoldRow(
            id=h.id,
            release=h.release,
            by=h.by,
            at=h.at,
            reason=h.reason,
            released_by=h.released_by,
            released_at=h.released_at,
            held_minutes=minutes_between(h.at, h.released_at or as_of),
            release_reason=h.release_reason,
        )
        for h in [*state.released_holds, *state.holds]
    ]
    return sorted(rows, key=lambda h: h.at)


def _people(state: IncidentState) -> list[str]:
    """Participants in order of first appearance, then ICs and handoff recipients."""
    seen: dict[str, None] = dict.fromkeys(state.participants)
    for tenure in state.ic_history:
        seen.setdefault(tenure.ic)
    for offer in state.handoffs:
        seen.setdefault(offer.to)
    return list(seen)


def _zones(
    state: IncidentState, policy: Policy, entries: list[Entry]
) -> tuple[list[Zone], list[str]]:
    """The participants' timezones, one column per distinct offset over the incident.

    Two zones share a column when they keep the same UTC offset at every moment the timeline
    shows (New York and Toronto do; New York and Bogotá part when the clocks change). Zones
    equal to UTC throughout get no column: the UTC column names them. Columns run west to
    east by the offset at the opening.
    """
    moments = sorted({e.occurred_at or e.at for e in entries}) or [
        state.opened_at or datetime(2000, 1, 1, tzinfo=UTC)
    ]
    people: dict[str, list[str]] = {}
    for person in _people(state):
        zone = _zone_known(policy, person)
        if zone is not None:
            people.setdefault(zone, []).append(person)
    groups: dict[tuple[str, ...], list[str]] = {}
    for zone in people:
        groups.setdefault(tuple(offset(m, zone) for m in moments), []).append(zone)
    utc_names: list[str] = []
    zones: list[tuple[tuple[float, str], Zone]] = []
    for signature, names in groups.items():
        names.sort(key=lambda z: (-len(people[z]), z))
        if set(signature) == {"UTC+00:00"}:
            utc_names += names
            continue
        members = [p for z in names for p in people[z]]
        shown = " → ".join(dict.fromkeys(signature))
        ref = state.opened_at or moments[0]
        delta = ref.astimezone(ZoneInfo(names[0])).utcoffset()
        key = (delta.total_seconds() if delta is not None else 0.0, names[0])
        zones.append((key, Zone(names[0], members, names, shown)))
    return [z for _, z in sorted(zones, key=lambda item: item[0])], sorted(utc_names)


def _summary(entry: Entry, offers: dict[str, Handoff]) -> str:
    """The fold's one-line summary, with handoff answers told in full."""
    offer = offers.get(str(entry.data.get("offer", "")))
    if offer is None or entry.type not in ("handoff.accepted", "handoff.declined"):
        return entry.summary
    what = "the IC role" if offer.role == "ic" else "steps " + ", ".join(offer.steps)
    waited = duration(minutes_between(offer.at, entry.at))
    if entry.type == "handoff.accepted":
        return f"{entry.actor} accepted {what} from {offer.by} (offered {waited} earlier)"
    reason = str(entry.data.get("reason", "")) or "no reason given"
    return f"{entry.actor} declined {what} from {offer.by} after {waited}: {reason}"


def _timeline(
    entries: list[Entry],
    zones: list[Zone],
    offers: dict[str, Handoff],
    policy: Policy,
    products: bool,
) -> list[TimelineRow]:
    """The accepted events in the order they happened; ``products``: several products, so a
    tag names the whole release ("ship Focus 98.1"), not only its version."""
    column = {person: i for i, z in enumerate(zones) for person in z.people}
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
                    local=[wall(at, z.name) for z in zones],
                    tag=_tag(entry, policy, products),
                    zone=column.get(entry.actor),
                    own_zone=_zone_known(policy, entry.actor) or "",
                    release=str(entry.data.get("release", "")),
                    decision=entry.type in DECISIONS,
                    full=_full(entry),
                ),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


_TEXTS = TEXT_FIELDS  # free-text fields a one-line summary may shorten


def _full(entry: Entry) -> list[tuple[str, str]]:
    """The event's own words where the summary cut them ("…"), and a handoff's done / to do."""
    if "…" not in entry.summary and entry.type != "handoff.offered":
        return []
    found = [(label, entry.data.get(key)) for key, label in _TEXTS]
    return [(label, value) for label, value in found if isinstance(value, str) and value]


def _tag(entry: Entry, policy: Policy, products: bool) -> str:
    """What the picture writes beside a decisive marker: always with the release it names."""
    release = str(entry.data.get("release", ""))
    version = release if products else release.rpartition(" ")[2]
    team = str(entry.data.get("team", ""))
    team = policy.team_name(team) or team
    return {
        "signoff.given": f"{team} {version}",
        "signoff.revoked": f"{team} {version} revoked",
        "hold.raised": f"hold {version}",
        "hold.released": f"released {version}",
        "ship": f"ship {version}",
        "handoff.declined": "declined",
    }.get(entry.type, "")


def _window(
    state: IncidentState,
    policy: Policy,
    entries: list[Entry],
    as_of: datetime,
    releases: list[ReleaseRow],
) -> Window:
    opened_at = state.opened_at
    backfilled = [e.occurred_at for e in entries if e.occurred_at is not None]
    first_sign = min(backfilled) if backfilled else None
    if first_sign is not None and opened_at is not None and first_sign >= opened_at:
        first_sign = None
    mitigated_at: datetime | None = None
    how = "not recorded (no ship decision, and no status update after every hold was released)"
    shipped = [r for r in releases if r.mitigated_at is not None]
    if shipped:
        last = max(shipped, key=lambda r: r.mitigated_at or as_of)
        ship = next(s for s in state.ship_decisions if s.at == last.mitigated_at)
        mitigated_at = last.mitigated_at
        how = (
            f"the ship decision on {last.release}, by {policy.display(ship.by)} "
            f'("{ship.statement}")'
        )
        if len(shipped) > 1:
            how += f", the last of the {len(shipped)} releases that shipped"
        unshipped = [r.release for r in releases if r.mitigated_at is None]
        if unshipped:
            how += "; no ship decision on " + ", ".join(unshipped)
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
        return minutes_between(a, b) if a is not None and b is not None else None

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
    state: IncidentState,
    policy: Policy,
    entries: list[Entry],
    tenures: list[TenureRow],
    releases: list[ReleaseRow],
) -> list[Participant]:
    return [
        _participant(
            state, policy, person, [e for e in entries if e.actor == person], tenures, releases
        )
        for person in _people(state)
    ]


def _mark(status: str) -> str:
    """`` (replaced)`` after a sign-off that no longer counts; nothing after one in force."""
    return "" if status == "in force" else f" ({status})"


def _participant(
    state: IncidentState,
    policy: Policy,
    person: str,
    mine: list[Entry],
    tenures: list[TenureRow],
    releases: list[ReleaseRow],
) -> Participant:
    """What ``person`` did in the incident, from their events (``mine``) and the folded state."""
    done = ("step.updated", "step.added")
    steps_done = [
        f"step {e.data.get('step')}"
        for e in mine
        if e.type in done and e.data.get("state") == "done"
    ]
    given = sorted(
        ((row.release, s) for row in releases for s in row.signoffs), key=lambda item: item[1].at
    )
    signoffs = [f"{s.team} on {release}{_mark(s.status)}" for release, s in given if s.by == person]
    ships = [s.release for s in state.ship_decisions if s.by == person]
    count = Counter(e.type for e in mine)
    held = [t.minutes for t in tenures if t.ic == person]
    return Participant(
        person=person,
        name=policy.display(person),
        timezone=_zone_known(policy, person),
        teams=[t for t, team in policy.teams.items() if person in team.members],
        events=len(mine),
        steps_done=steps_done,
        holds_raised=count["hold.raised"],
        holds_released=count["hold.released"],
        signoffs=signoffs,
        ship_decisions=ships,
        decisions=[*signoffs, *(f"ship decision on {r}" for r in ships)],
        was_ic=bool(held),
        ic_minutes=sum(held),
        handoffs_offered=count["handoff.offered"],
        handoffs_accepted=count["handoff.accepted"],
        handoffs_declined=count["handoff.declined"],
    )


def _releases(seen: Overview) -> list[ReleaseRow]:
    """Each release with the gate's verdict: the draft never decides readiness on its own."""
    from sync_incident.core.releases import release_key

    state = seen.state
    given = [*state.signoffs, *state.revoked_signoffs, *state.replaced_signoffs]
    rows = []
    for verdict in seen.verdicts:
        release, key = verdict.release, release_key(verdict.release)
        ships = [s for s in state.ship_decisions if release_key(s.release) == key]
        first_ship = ships[0].at if ships else None
        rows.append(
            ReleaseRow(
                release=release,
                required=list(verdict.required),
                missing=_teams(verdict, "missing", "unknown team", "unchecked"),
                stale=_teams(verdict, "stale"),
                ready=verdict.ready,
                reasons=list(verdict.reasons),
                signoffs=_signoffs(
                    state, verdict, [s for s in given if release_key(s.release) == key]
                ),
                ships=[
                    ShipRow(
                        by=s.by,
                        at=s.at,
                        statement=s.statement,
                        stale=verdict.ship_decision.why
                        if verdict.ship_decision is not None
                        and verdict.ship_decision.stale
                        and verdict.ship_decision.event_id == s.event_id
                        else None,
                    )
                    for s in ships
                ],
                verdict=verdict.label,
                revoked=_teams(verdict, "revoked"),
                mitigated_at=first_ship,
                to_mitigated_minutes=minutes_between(state.opened_at, first_ship)
                if state.opened_at is not None and first_ship is not None
                else None,
            )
        )
    return rows


def _signoffs(state: IncidentState, verdict: Verdict, given: list[Signoff]) -> list[SignoffRow]:
    """Every sign-off on one release, in force or not: revoked, replaced (and whether a later
    hold had made it stale first) or stale as the gate sees it."""
    from sync_incident.core.releases import release_key

    stale = {(t.team, t.by, t.at): t.why for t in verdict.teams if t.status == "stale"}
    holds = [*state.released_holds, *state.holds]
    rows = []
    for s in sorted(given, key=lambda s: s.pos):
        later = [o for o in given if o.pos > s.pos and o.team.casefold() == s.team.casefold()]
        replaced = min(later, key=lambda o: o.pos) if s in state.replaced_signoffs else None
        held = replaced is not None and any(
            release_key(h.release) == release_key(s.release) and s.pos < h.pos < replaced.pos
            for h in holds
        )
        rows.append(
            SignoffRow(
                team=s.team,
                by=s.by,
                at=s.at,
                statement=s.statement,
                revoked_by=s.revoked_by,
                revoked_at=s.revoked_at,
                revoke_reason=s.revoke_reason,
                stale=None if s.revoked_at or replaced else stale.get((s.team, s.by, s.at)),
                replaced_by=replaced.by if replaced else None,
                replaced_at=replaced.at if replaced else None,
                was_stale=held,
            )
        )
    return rows


def _teams(verdict: Verdict, *statuses: str) -> list[str]:
    """The required teams whose status, as the gate sees it, is one of ``statuses``."""
    return [t.team for t in verdict.teams if t.status in statuses]


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
    """Rejected and retracted events, open and checked doubts, then other warnings."""
    retractions = {
        str(e.data.get("event")): e for e in state.timeline if e.type == "retract" and e.accepted
    }
    out = []
    for e in state.timeline:
        if e.accepted:
            continue
        withdrawn = retractions.get(e.event_id) if e.retracted else None
        if withdrawn is not None:
            why = str(withdrawn.data.get("reason", "")) or "no reason given"
            out.append(
                Problem(
                    kind="retracted",
                    at=e.at,
                    who=e.actor,
                    what=e.summary,
                    why=why,
                    by=withdrawn.actor,
                    by_at=withdrawn.at,
                )
            )
        else:
            out.append(Problem(kind="rejected", at=e.at, who=e.actor, what=e.summary, why=e.reason))
    times = {e.comment_id: e.at for e in state.timeline}
    for d in [*state.doubts, *state.checked_doubts]:
        checked = d.checked_by is not None
        out.append(
            Problem(
                kind="checked" if checked else d.kind,
                at=times.get(d.comment_id),
                who=d.author,
                what=d.where,
                why=d.detail,
                by=d.checked_by,
                by_at=d.checked_at,
                finding=d.finding,
                doubt=d.kind,
            )
        )
    doubted = {
        f"comment {d.comment_id} by"
        for d in [*state.doubts, *state.checked_doubts]
        if d.kind == "unreadable"
    }
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
