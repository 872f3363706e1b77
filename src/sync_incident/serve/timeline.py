"""The incident page's timeline: newest first, every entry whole, the tool's own posts grouped.

Pure. Each :class:`Row` is one line a reader scans (when, who, what) and the event's own words
in full behind it: the page shows the line and opens the rest in place, so nothing cut with
"…" is lost. A backfilled event is placed at the moment it happened and keeps the moment it
was recorded. What the tool posts by itself (reminders, digests, checkpoints, witness
records, retrospective drafts) shows its content; a run of them reads as one row ("syncbot
posted 2 reminders and a checkpoint") that opens on each. :func:`rows` with ``decisions``
keeps only what decides (:data:`~sync_incident.core.events.DECISIONS`: holds, sign-offs, ship
decisions, handoffs, IC changes, openings and resolutions, retractions, checks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync_incident.core.events import DECISIONS, INFORMATIONAL
from sync_incident.core.state import Entry, IncidentState
from sync_incident.core.summaries import TEXT_FIELDS, noun, short
from sync_incident.core.times import utc
from sync_incident.serve.when import Moment

# A moment as the page shows it, with the clock of the person named (see Timeline)
Stamp = Callable[[datetime, str], Moment]

# The fields of an event a reader may want whole, and what the page calls them (in this order)
FIELDS = (
    *TEXT_FIELDS,
    ("release", "Release"),
    ("releases", "Releases"),
    ("team", "Team"),
    ("to", "To"),
    ("role", "Role"),
    ("steps", "Steps"),
    ("ic", "Incident commander"),
    ("severity", "Severity"),
    ("step", "Step"),
    ("title", "Title"),
    ("owner", "Owner"),
    ("state", "State"),
    ("kind", "Kind"),
    ("url", "URL"),
    ("where", "Where"),
    ("notify", "Notify"),
    ("count", "Events recorded"),
    ("what", "What"),
    ("comment", "Comment"),
)

ROLES = {"ic": "incident commander", "steps": "steps"}


@dataclass(frozen=True)
class Detail:
    label: str
    text: str
    lines: list[str] = field(default_factory=list)  # a list (next steps), one per line


@dataclass(frozen=True)
class Row:
    """One entry of the timeline (or a group of the tool's own posts, in ``members``)."""

    id: str  # an HTML id, stable across renders: an opened row stays open after an update
    at: Moment  # when it happened
    actor: str
    type: str
    summary: str  # one line; the details hold every word of it
    details: list[Detail]
    mark: str = ""  # "", "rejected", "retracted"
    decision: bool = False
    backfilled: Moment | None = None  # when it was recorded, for a backfilled event
    members: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class Timeline:
    rows: list[Row]
    events: int  # every entry of the record
    decisions: int  # the entries the decisions-only view keeps
    decisions_only: bool


def timeline(state: IncidentState, stamp: Stamp, *, decisions: bool = False) -> Timeline:
    """The rows of ``state``'s timeline, newest first; ``decisions``: only what decides.

    ``stamp(moment, person)`` makes the page's moment (UTC, and the person's own clock).
    """
    entries = list(state.timeline)
    deciding = [e for e in entries if e.type in DECISIONS]
    chosen = deciding if decisions else entries
    ordered = sorted(
        enumerate(chosen), key=lambda item: (item[1].occurred_at or item[1].at, item[0])
    )
    out: list[Row] = []
    run: list[Row] = []
    for _, entry in reversed(ordered):
        row = _row(entry, stamp)
        if entry.type in INFORMATIONAL and entry.accepted:
            run.append(row)
            continue
        out += _grouped(run)
        run = []
        out.append(row)
    out += _grouped(run)
    return Timeline(out, len(entries), len(deciding), decisions)


def newest(state: IncidentState, stamp: Stamp, count: int) -> list[Row]:
    """The newest ``count`` entries, newest first, without the tool's own posts (a card's)."""
    if count <= 0:
        return []
    found = [(e.occurred_at or e.at, n, e) for n, e in enumerate(state.timeline)]
    found = [f for f in found if f[2].type not in INFORMATIONAL]
    found.sort(key=lambda f: (f[0], f[1]), reverse=True)
    return [_row(e, stamp) for _, _, e in found[:count]]


def _grouped(run: list[Row]) -> list[Row]:
    """A run of the tool's own posts: one row when one, else one row that opens on each."""
    if len(run) <= 1:
        return run
    actors = list(dict.fromkeys(r.actor for r in run))
    counts: dict[str, int] = {}
    for r in run:
        counts[r.type] = counts.get(r.type, 0) + 1
    what = [_count(n, noun(kind)) for kind, n in counts.items()]
    said = ", ".join(what[:-1]) + " and " + what[-1] if len(what) > 1 else what[0]
    newest, oldest = run[0], run[-1]
    return [
        Row(
            id=f"{newest.id}-group",
            at=newest.at,
            actor=", ".join(actors),
            type="group",
            summary=f"{' and '.join(actors)} posted {said}",
            details=[Detail("Since", oldest.at.utc)],
            members=run,
        )
    ]


def _count(n: int, word: str) -> str:
    return f"a {word}" if n == 1 else f"{n} {word}s"


def _row(entry: Entry, stamp: Stamp) -> Row:
    happened = entry.occurred_at or entry.at
    mark = "retracted" if entry.retracted else "" if entry.accepted else "rejected"
    details = _details(entry)
    if mark == "rejected":
        details.insert(0, Detail("Rejected", entry.reason or "the rules refused it"))
    elif mark == "retracted":
        details.insert(0, Detail("Retracted", entry.reason or "withdrawn later"))
    details.append(Detail("Posted by", f"{entry.actor} (account {entry.account})"))
    details.append(Detail("Comment", f"{entry.comment_id} · event {entry.event_id}"))
    return Row(
        id="e-" + "".join(c for c in entry.event_id if c.isalnum())[-26:],
        at=stamp(happened, entry.actor),
        actor=entry.actor,
        type=entry.type,
        summary=_summary(entry),
        details=details,
        mark=mark,
        decision=entry.type in DECISIONS,
        backfilled=stamp(entry.at, "") if entry.occurred_at is not None else None,
    )


def _summary(entry: Entry) -> str:
    """The fold's line; the tool's own posts say what they said, not only that they posted."""
    data = entry.data
    text = str(data.get("text", ""))
    if entry.type == "reminder":
        to = f" {data['to']}" if data.get("to") else ""
        return f"{entry.actor} reminded{to}: {short(text)}"
    if entry.type == "digest":
        first = next((line for line in text.splitlines() if line.strip()), "")
        return f"{entry.actor} posted a digest: {short(first.lstrip('# '))}"
    if entry.type == "witness":
        what = str(data.get("what", "changed"))
        return f"{entry.actor} recorded that comment {data.get('comment', '?')} was {what}"
    return entry.summary


def _details(entry: Entry) -> list[Detail]:
    data = entry.data
    out: list[Detail] = []
    for key, label in FIELDS:
        value = data.get(key)
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, list):
            out.append(Detail(label, ", ".join(str(v) for v in value)))
        elif key == "role":
            out.append(Detail(label, ROLES.get(str(value), str(value))))
        else:
            out.append(Detail(label, str(value)))
    steps = data.get("next_steps") or []
    if steps:
        out.append(Detail("Next", "", [_next(s) for s in steps]))
    if data.get("next_update_due"):
        out.append(Detail("Next update due", _when(data["next_update_due"])))
    if data.get("due"):
        out.append(Detail("Due", _when(data["due"])))
    return out


def _next(step: Any) -> str:
    found = step if isinstance(step, dict) else getattr(step, "__dict__", {})
    what = str(found.get("what", ""))
    owner = found.get("owner")
    by = found.get("by")
    return what + (f" — {owner}" if owner else "") + (f", by {_when(by)}" if by else "")


def _when(value: Any) -> str:
    return utc(value) if isinstance(value, datetime) else str(value)
