"""The bug fields we mirror from the incident state: whiteboard tags, assignee, BMO needinfo.

Pure functions over the bug as last read: what to send so the fields say what the state says,
and nothing when they already do (a poll never rewrites a field just to reorder it). The
whiteboard is replaced whole by Bugzilla, so everybody else's text is kept as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sync_incident.trackers.base import Mirror

# the bug fields a read keeps (``creator``: who may change the bug without editbugs)
BUG_FIELDS = "id,summary,whiteboard,status,resolution,assigned_to,creator,flags,last_change_time"
KEPT = ("whiteboard", "status", "resolution", "assigned_to", "creator", "flags", "last_change_time")
HOLD_TAG = "[hold]"  # in the whiteboard while a hold is open


def mirror_whiteboard(current: str, mirror: Mirror, tag: str = "incident") -> str:
    """The whiteboard with our tags set from ``mirror`` and everybody else's text untouched.

    Returns ``current`` itself when our tags already say the same thing (in any order), so a
    poll never rewrites the whiteboard just to reorder it.
    """
    ours = re.compile(rf"\[(?:{re.escape(tag)}:(?:active|resolved)|ic:[^\]\s]*|hold)\]")
    wanted = [f"[{tag}:{'active' if mirror.active else 'resolved'}]"]
    if mirror.ic_name:
        name = re.sub(r"[\]\s]+", "-", mirror.ic_name)  # a tag must stay one bracketed word
        wanted.append(f"[ic:{name}]")
    if mirror.hold:
        wanted.append(HOLD_TAG)
    present = ours.findall(current)
    if sorted(present) == sorted(wanted):
        return current
    others = [part.strip() for part in ours.split(current) if part.strip()]
    return " ".join([*others, *wanted])


@dataclass(frozen=True)
class MirrorRules:
    """How this tracker mirrors: our whiteboard tag, the assignee, needinfo (BMO only)."""

    tag: str = "incident"
    assignee: bool = False
    needinfo: bool = False  # upstream has no needinfo flag type by default


def field_changes(
    bug: dict[str, Any], mirror: Mirror, rules: MirrorRules, me: str | None
) -> dict[str, Any]:
    """The ``PUT /rest/bug/N`` fields that bring ``bug`` in line with ``mirror`` (may be {})."""
    out: dict[str, Any] = {}
    current = str(bug.get("whiteboard") or "")
    wanted = mirror_whiteboard(current, mirror, rules.tag)
    if wanted != current:
        out["whiteboard"] = wanted
    account = mirror.ic_account
    if rules.assignee and account and bug.get("assigned_to") != account:
        out["assigned_to"] = account
    if rules.needinfo:
        flags = needinfo_changes(bug.get("flags") or [], mirror.needinfo, me)
        if flags:
            out["flags"] = flags
    return out


def needinfo_changes(flags: list[dict[str, Any]], want: str | None, me: str | None) -> list[Any]:
    """Clear our needinfo requests to anyone else; ask ``want`` when nobody asked them yet."""
    asks = [f for f in flags if f.get("name") == "needinfo" and f.get("status") == "?"]
    ours = [f for f in asks if me is not None and f.get("setter") == me]
    changes: list[Any] = [
        {"id": f.get("id"), "status": "X"} for f in ours if f.get("requestee") != want
    ]
    if want and not any(f.get("requestee") == want for f in asks):
        changes.append({"name": "needinfo", "status": "?", "requestee": want})
    return changes


def applied(bug: dict[str, Any], fields: dict[str, Any], me: str | None) -> dict[str, Any]:
    """``bug`` as it is after a successful PUT of ``fields``.

    A flag we just asked has no id yet; that is fine: fields are only compared to decide
    whether to write, and every write reads the bug again first.
    """
    out = dict(bug)
    for name in ("whiteboard", "assigned_to"):
        if name in fields:
            out[name] = fields[name]
    flags = [f for f in out.get("flags") or [] if isinstance(f, dict)]
    for change in fields.get("flags", []):
        if "id" in change:
            flags = [f for f in flags if f.get("id") != change["id"]]
        else:
            flags.append({**change, "setter": me})
    if "flags" in fields:
        out["flags"] = flags
    return out


def may_edit(bug: dict[str, Any], me: str | None) -> bool:
    """Without editbugs, Bugzilla lets the reporter and the assignee change a bug's fields."""
    return me is not None and me in (bug.get("creator"), bug.get("assigned_to"))


def fields_we_may_write(
    bug: dict[str, Any] | None, mirror: Mirror, rules: MirrorRules, me: str | None, plain: bool
) -> dict[str, Any]:
    """:func:`field_changes`, or nothing when a ``plain`` account (no editbugs) may not."""
    if bug is None or (plain and not may_edit(bug, me)):
        return {}
    return field_changes(bug, mirror, rules, me)


def left_to_others(
    bug: dict[str, Any] | None, mirror: Mirror, rules: MirrorRules, me: str | None, plain: bool
) -> str:
    """Why fields that differ are not written by us: a ``plain`` account (known, remembered)."""
    if bug is None or fields_we_may_write(bug, mirror, rules, me, plain):
        return ""
    if not field_changes(bug, mirror, rules, me):
        return ""
    return (
        f"the bug's fields were not updated: {me or 'this account'} has no editbugs here, "
        "so the next reader who has it brings them in line"
    )
