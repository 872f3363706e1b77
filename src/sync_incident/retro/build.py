"""Build the draft from the record: ``build_retro`` is pure.

It reads the folded :class:`~sync_incident.core.state.IncidentState` and the policy (for names,
teams and timezones) and returns a :class:`~sync_incident.retro.model.Retro`.

Definitions the draft relies on:

- *opened*: the accepted ``opened`` event (the comment's creation time).
- *mitigated*: the first ship decision (Relman asked to ship a release to users); when there
  is none, the first status update posted at or after the release of the last hold (when
  every hold was released); otherwise it is not recorded and the draft says so.
- *resolved*: the accepted ``resolved`` event, when the incident is resolved.
- Durations run to the resolution, or, for an active incident, to the last recorded event:
  the draft is a function of the record alone, so posting it twice without new events posts
  nothing (``now`` is used only when the record has no events at all).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sync_incident.core.times import duration, local_time, minutes_between
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
)

if TYPE_CHECKING:
    from sync_incident.application.overview import Overview
    from sync_incident.core.policy import Facts, Policy
    from sync_incident.core.readiness import Verdict
    from sync_incident.core.state import Entry, Handoff, IncidentState

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

    zones = _zones(state, policy)
    tenures = _tenures(state, as_of)
    release_rows = _releases(seen)
    return Retro(
        ref=state.ref,
        url=state.url,
        title=state.title or "(no title)",
        tracker=state.tracker,
        policy=state.policy,
        status=state.status,
        severity=state.severity,
        releases=list(state.releases),
        products=list(dict.fromkeys(r.release.rpartition(" ")[0] for r in release_rows)),
        ic=state.ic,
        window=_window(state, policy, entries, as_of),
        zones=zones,
        timeline=_timeline(entries, zones, {h.id: h for h in state.handoffs}),
        participants=_participants(state, policy, entries, tenures),
        tenures=tenures,
        handoffs=_handoffs(state),
        holds=_holds(state, as_of),
        release_rows=release_rows,
        links=_links(state, entries),
        problems=_problems(state),
        sections=_sections(state),
        names={p: policy.display(p) for p in [*policy.people, *_people(state)]},
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
    waited = duration(minutes_between(offer.at, entry.at))
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
                    tag=_tag(entry),
                ),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def _tag(entry: Entry) -> str:
    """What the picture writes beside a decisive marker (the rest is in its hover text)."""
    version = str(entry.data.get("release", "")).rpartition(" ")[2]
    team = str(entry.data.get("team", ""))
    return {
        "signoff.given": team,
        "signoff.revoked": f"{team} revoked",
        "hold.raised": f"hold {version}",
        "hold.released": f"released {version}",
        "ship": f"ship {version}",
        "handoff.declined": "declined",
    }.get(entry.type, "")


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
    state: IncidentState, policy: Policy, entries: list[Entry], tenures: list[TenureRow]
) -> list[Participant]:
    return [
        _participant(state, policy, person, [e for e in entries if e.actor == person], tenures)
        for person in _people(state)
    ]


def _participant(
    state: IncidentState,
    policy: Policy,
    person: str,
    mine: list[Entry],
    tenures: list[TenureRow],
) -> Participant:
    """What ``person`` did in the incident, from their events (``mine``) and the folded state."""
    done = ("step.updated", "step.added")
    steps_done = [
        f"step {e.data.get('step')}"
        for e in mine
        if e.type in done and e.data.get("state") == "done"
    ]
    signoffs = [
        f"{s.team} on {s.release}" + (" (revoked)" if s.revoked_at else "")
        for s in sorted([*state.signoffs, *state.revoked_signoffs], key=lambda s: s.at)
        if s.by == person
    ]
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
    rows = []
    for verdict in seen.verdicts:
        release, key = verdict.release, release_key(verdict.release)
        # the sign-offs the gate judges stale, by who gave them and when
        stale = {(t.team, t.by, t.at): t.why for t in verdict.teams if t.status == "stale"}
        ship = verdict.ship_decision
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
                    stale=None if s.revoked_at else stale.get((s.team, s.by, s.at)),
                )
                for s in [*state.signoffs, *state.revoked_signoffs]
                if release_key(s.release) == key
            ),
            key=lambda s: s.at,
        )

        rows.append(
            ReleaseRow(
                release=release,
                required=list(verdict.required),
                missing=_teams(verdict, "missing", "unknown team", "unchecked"),
                stale=_teams(verdict, "stale"),
                ready=verdict.ready,
                reasons=list(verdict.reasons),
                signoffs=signoffs,
                ships=[
                    ShipRow(
                        by=s.by,
                        at=s.at,
                        statement=s.statement,
                        stale=ship.why
                        if ship is not None and ship.stale and ship.event_id == s.event_id
                        else None,
                    )
                    for s in state.ship_decisions
                    if release_key(s.release) == key
                ],
                verdict=verdict.label,
                revoked=_teams(verdict, "revoked"),
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
