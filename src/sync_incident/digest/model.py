"""The digest (the documented ``digest --json`` schema) and its Markdown rendering.

Pure: :func:`build_digest` turns overviews (:mod:`sync_incident.application.overview`) into a
:class:`Digest`: each incident is the same :class:`IncidentSummary` that ``list --json`` and
``/api/incidents`` give, so the three never disagree. :func:`render_markdown` writes one line
per release with its verdict and every reason (never cut), then what waits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import BaseModel

from sync_incident.application.overview import Overview
from sync_incident.application.summary import SUMMARY_SCHEMA, IncidentSummary
from sync_incident.core.policy import Policy
from sync_incident.core.times import age, for_people, utc

DIGEST_SCHEMA = SUMMARY_SCHEMA


class Unreadable(BaseModel):
    ref: str
    error: str


class Digest(BaseModel):
    """The documented ``digest --json`` schema (``schema_version`` bumps on breaking changes)."""

    schema_version: int = DIGEST_SCHEMA
    generated_at: datetime
    incidents: list[IncidentSummary]
    unreadable: list[Unreadable] = []
    stale_handoff_minutes: int = 120  # the policy's: a handoff waiting this long is stale


def build_digest(
    seen: Sequence[Overview],
    policy: Policy,
    now: datetime,
    *,
    unreadable: Iterable[Unreadable] = (),
) -> Digest:
    """The digest of the incidents ``seen`` as of ``now`` (pure: no I/O, no clock)."""
    return Digest(
        generated_at=now,
        incidents=[o.summary(now) for o in seen],
        unreadable=list(unreadable),
        stale_handoff_minutes=policy.stale_handoff_minutes,
    )


# --- Markdown --------------------------------------------------------------------------------


def render_markdown(digest: Digest) -> str:
    """Per incident: its head, the update, one line per release (every reason), what waits."""
    n = len(digest.incidents)
    lines = [
        f"**Incident digest** · {utc(digest.generated_at)} · {n} incident{'s' if n != 1 else ''}"
    ]
    if not digest.incidents:
        lines.append("No active incidents.")
    for inc in digest.incidents:
        lines.extend(_incident_lines(inc, digest.stale_handoff_minutes))
    for bad in digest.unreadable:
        lines.append(_flat(f"- **{bad.ref}** could not be read: {bad.error}"))
    return "\n".join(lines)


def _flat(text: str) -> str:
    """One line: comment text never breaks the list (nothing is cut)."""
    indent = text[: len(text) - len(text.lstrip(" "))]
    return indent + " ".join(text.split())


def _incident_lines(inc: IncidentSummary, stale_after: int) -> list[str]:
    out = [_flat(_head_line(inc)), _flat(_update_line(inc))]
    out += [_flat(f"  - {v.line}") for v in inc.releases]
    if not inc.releases:
        out.append("  - No release is named: add one with `sync-incident add-release`.")
    waiting = _waiting(inc, stale_after)
    if waiting:
        out.append(_flat("  - Waiting: " + " · ".join(waiting)))
    return out


def _head_line(inc: IncidentSummary) -> str:
    # resolved: the age runs from the opening, not from the resolution
    status = (
        f"RESOLVED, opened {age(inc.age_minutes)} ago"
        if inc.status == "resolved"
        else f"{inc.status} for {age(inc.age_minutes)}"
    )
    head = (
        f"- **{inc.ref}** {inc.title or '(no title)'} ({inc.severity or '?'}) · "
        f"IC {inc.ic or 'none'} · {status}"
    )
    if inc.doubts:
        head += f" · **{len(inc.doubts)} in doubt**"
    return head


def _update_line(inc: IncidentSummary) -> str:
    if not inc.last_update:
        update = "  - Update: none yet"
    else:
        update = f"  - Update: last {age(inc.last_update_minutes)} ago"
    if inc.next_update_due:
        ic = [(inc.ic, inc.ic_timezone)] if inc.ic else []
        due = for_people(inc.next_update_due, ic, typed=inc.next_update_zone)
        update += f" · next due {due}"
        if inc.update_overdue:
            update += f" **OVERDUE by {age(inc.overdue_minutes)}**"
    return update


def _waiting(inc: IncidentSummary, stale_after: int) -> list[str]:
    from sync_incident.views import stale_note

    waiting = [
        f"handoff {'of IC' if h.role == 'ic' else 'of steps'} {h.by}→{h.to} waiting "
        f"{age(h.waited_minutes)}{stale_note(h.waited_minutes, stale_after) if h.stale else ''}"
        for h in inc.pending_handoffs
    ]
    for st in inc.steps:
        owner = st.owner or "no owner"
        if st.state == "blocked":
            waiting.append(f"step {st.step} blocked ({owner})")
        elif st.due:
            owner_clock = [(st.owner, st.owner_timezone)] if st.owner else []
            since = for_people(st.due, owner_clock, typed=st.due_zone)
            waiting.append(f"step {st.step} overdue since {since} ({owner})")
    return waiting
