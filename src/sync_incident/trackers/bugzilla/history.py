"""The bug's own history of the ``[hold]`` whiteboard tag, as marks the fold checks.

A hold comment that is the last comment and is then hidden, made private or tagged deleted
leaves no gap in ``count`` below a visible comment and no later event pointing at it. The
mirror wrote ``[hold]`` into the whiteboard while the hold was open, though, and Bugzilla's
history (``GET /rest/bug/{id}/history``; on BMO also the ``history`` extra field of
``GET /rest/bug/{id}``) keeps who changed the whiteboard and when. No commenter can rewrite
it, and it is the same for every reader, so the fold can check that every time the tag was
added a hold was open (:meth:`sync_incident.core.fold._Folder.marks`).

As observed on a real 5.2: ``added`` and ``removed`` are the whole old and new whiteboard,
several changes of one request come as one entry (same ``who`` and ``when``), and a value
over 254 characters comes back joined from pieces with a space inserted where Bugzilla cut
it; it cuts at a comma or space when there is one, so the tag the mirror writes (always after
a space) is never cut.
"""

from __future__ import annotations

from typing import Any

from sync_incident.core.comments import Mark
from sync_incident.core.errors import ProtocolError
from sync_incident.trackers.bugzilla.mirror import HOLD_TAG
from sync_incident.trackers.bugzilla.reading import parse_time

WHITEBOARD = "whiteboard"  # the field name history uses (the database calls it status_whiteboard)


def history_path(number: int) -> str:
    return f"/rest/bug/{number}/history"


def history_of(data: Any, number: int, where: str) -> list[Any]:
    """The ``history`` list of a ``/history`` answer (``{"bugs": [{"id", "history"}]}``)."""
    try:
        bug = next(b for b in data["bugs"] if int(b["id"]) == number)
        history = bug["history"]
    except (KeyError, TypeError, ValueError, StopIteration) as exc:
        raise ProtocolError(f"{where}: unexpected answer ({type(exc).__name__})") from None
    if not isinstance(history, list):
        raise ProtocolError(f"{where}: the history is not a list")
    return history


def marks_of(history: list[Any], where: str) -> list[Mark]:
    """A mark for every whiteboard change that adds or removes the hold tag.

    An answer we cannot read is an error, never "no marks": the gate then cannot decide
    instead of missing a deleted hold.
    """
    marks: list[Mark] = []
    for changeset in history:
        try:
            changes = [c for c in changeset["changes"] if c.get("field_name") == WHITEBOARD]
            if not changes:
                continue
            who, when = str(changeset["who"]), parse_time(changeset["when"])
            for change in changes:
                added, removed = str(change["added"]), str(change["removed"])
                if (HOLD_TAG in added) != (HOLD_TAG in removed):
                    marks.append(Mark(flag="hold", on=HOLD_TAG in added, by=who, at=when))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(
                f"{where}: a history entry has an unexpected shape ({type(exc).__name__})"
            ) from None
    return marks
