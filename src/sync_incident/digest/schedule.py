"""When digests and reminders are due, and the keys that make each one post exactly once.

The schedule math names the period a digest belongs to, with zoneinfo so daylight-saving
changes move nothing. Every digest and reminder has a key (what, which incident, which
period) and an event id derived from it (:func:`~sync_incident.core.events.event_id_for`), so two replicas racing past
the "already posted?" check post the SAME event, which the tracker's marker check or the fold
("an event id seen twice counts once") absorbs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sync_incident.core.errors import ConfigError
from sync_incident.core.hours import local_instant
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.core.times import stamp

if TYPE_CHECKING:
    from sync_incident.config import DigestSettings
    from sync_incident.core.policy import Policy


_SPEC = re.compile(r"^\s*(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?:\s+(?P<tz>\S+))?\s*$")


def parse_time_spec(spec: str) -> tuple[time, ZoneInfo]:
    """``"09:00 Europe/Berlin"`` → (09:00, Europe/Berlin); the zone defaults to UTC."""
    match = _SPEC.match(spec)
    if not match or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise ConfigError(
            f"digest.times: {spec!r} is not a time like '09:00 Europe/Berlin'",
            hint="write HH:MM and an IANA timezone name",
        )
    try:
        zone = ZoneInfo(match["tz"] or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"digest.times: unknown timezone in {spec!r}") from None
    return time(int(match["h"]), int(match["m"])), zone


def _candidates(
    times: Sequence[str], every_hours: float | None, around: datetime
) -> list[datetime]:
    out: list[datetime] = []
    for spec in times:
        at, zone = parse_time_spec(spec)
        today = around.astimezone(zone).date()
        out.extend(local_instant(today + timedelta(days=d), at, zone) for d in range(-2, 3))
    if every_hours:
        step = int(every_hours * 3600)
        base = int(around.timestamp()) // step * step  # aligned to the epoch: replicas agree
        out.extend(datetime.fromtimestamp(base + k * step, UTC) for k in range(-1, 3))
    return out


def latest_slot(times: Sequence[str], every_hours: float | None, now: datetime) -> datetime | None:
    """The most recent scheduled instant at or before ``now`` (None: no schedule)."""
    past = [c for c in _candidates(times, every_hours, now) if c <= now]
    return max(past) if past else None


def next_slot(times: Sequence[str], every_hours: float | None, now: datetime) -> datetime | None:
    """The first scheduled instant after ``now`` (None: no schedule)."""
    future = [c for c in _candidates(times, every_hours, now) if c > now]
    return min(future) if future else None


def period_for(settings: DigestSettings, now: datetime) -> datetime:
    """The period a digest made at ``now`` belongs to: the last scheduled slot, else the hour."""
    slot = latest_slot(settings.times, settings.every_hours, now)
    return slot or now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def incident_set_name(refs: Sequence[IncidentRef], all_active: bool) -> str:
    """Names the incident set in keys: stable across replicas that discover incidents at once."""
    if all_active:
        return "all-active"
    keys = sorted({r.key for r in refs})
    if len(keys) == 1:
        return keys[0]
    return "set-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]


def digest_key(refs: Sequence[IncidentRef], all_active: bool, period: datetime) -> str:
    return f"digest:{incident_set_name(refs, all_active)}:{stamp(period)}"


def has_key(
    state: IncidentState,
    key: str,
    *,
    account: str | None,
    types: Iterable[str] = ("digest", "reminder"),
) -> bool:
    """Whether ``account`` (an actor: a person key, or a stranger's ``login#id``) already
    posted an accepted digest / reminder with ``key``.

    Only our own account counts: a stranger's decoy with a predictable key must not
    silence the daemon. ``None``: any accepted one (with witnesses in the policy, the fold
    accepts digests and reminders from them alone; see :func:`ours`).
    """
    wanted = set(types)
    return any(
        e.accepted
        and e.type in wanted
        and e.data.get("key") == key
        and (account is None or e.actor == account)
        for e in state.timeline
    )


def ours(policy: Policy, me: str) -> str | None:
    """The actor whose digests and reminders count as ours: ``None`` for every witness.

    With witnesses configured the fold accepts digests and reminders from them alone (a
    decoy with a predictable id is rejected and takes no id), so any accepted one is the
    daemon's and several daemon accounts share the work. Without, people in the policy may
    post them too: name the daemon's account in ``witnesses`` to close that.
    """
    return None if policy.witnesses else me
