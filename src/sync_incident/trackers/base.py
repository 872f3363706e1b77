"""The contract every tracker backend implements, its data types and its errors.

A tracker stores comments on one bug or issue per incident and mirrors a few fields
(whiteboard, labels, assignee, a body block). Everything else is derived from the comments
by :func:`sync_incident.state.fold`. Trackers are the only code that touches the network;
they translate transport errors once, here at the edge, into this tree::

    TrackerError
     ├── NotConfigured    the backend lacks a URL or credentials it needs
     ├── AuthError        bad / revoked / missing key or token; never retried
     ├── AccessDenied     authenticated but not allowed (private bug, no permission)
     ├── NotFound         no such bug / issue
     ├── RateLimited      the tracker asked us to slow down (``retry_after`` seconds)
     ├── Unavailable      network error, timeout, 5xx: after retries
     ├── CommentTooLong   the comment is over the tracker limit (65,535 characters)
     ├── Rejected         other 4xx validation errors
     └── ProtocolError    an answer we cannot understand
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sync_incident.errors import (
    EXIT_DATA,
    EXIT_NOPERM,
    EXIT_NOT_FOUND,
    EXIT_TEMPFAIL,
    EXIT_UNAVAILABLE,
    SyncIncidentError,
)
from sync_incident.refs import IncidentRef, TrackerKind

COMMENT_LIMIT = 65_535


class TrackerError(SyncIncidentError):
    exit_code = EXIT_UNAVAILABLE


class NotConfigured(TrackerError):
    exit_code = 78


class AuthError(TrackerError):
    exit_code = EXIT_NOPERM


class AccessDenied(TrackerError):
    exit_code = EXIT_NOPERM


class NotFound(TrackerError):
    exit_code = EXIT_NOT_FOUND


class RateLimited(TrackerError):
    exit_code = EXIT_TEMPFAIL

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class Unavailable(TrackerError):
    exit_code = EXIT_UNAVAILABLE


class CommentTooLong(TrackerError):
    exit_code = EXIT_DATA


class Rejected(TrackerError):
    exit_code = EXIT_DATA


class ProtocolError(TrackerError):
    exit_code = EXIT_UNAVAILABLE


@dataclass(frozen=True)
class Account:
    """A tracker account. ``uid`` is the numeric id where the tracker has one (GitHub)."""

    login: str
    uid: str | None = None
    name: str = ""

    def __str__(self) -> str:
        return self.login


@dataclass(frozen=True)
class Comment:
    """One comment as the tracker stores it. Author and time come from the tracker."""

    id: str
    author: Account
    created_at: datetime  # timezone-aware UTC
    body: str
    edited: bool = False  # the tracker says it changed after posting, or its hash changed
    private: bool = False


@dataclass(frozen=True)
class Mirror:
    """The few fields a tracker mirrors from the incident state, so people see it at a glance.

    Accounts are already resolved for this tracker (policy maps people to accounts).
    """

    active: bool
    ic_name: str | None  # the IC as people call them ("alice"), for whiteboard tags
    ic_account: str | None  # the IC's account on this tracker, for the assignee field
    hold: bool
    status_line: str  # one line: "Active · IC alice · hold on Firefox 96.0.1"
    status_block: str = ""  # Markdown summary for trackers that keep a body block (GitHub)
    needinfo: str | None = None  # account asked to accept a pending handoff (BMO needinfo)


@dataclass
class IncidentSnapshot:
    """Everything a read returns. ``comments`` are all visible comments, oldest first."""

    ref: IncidentRef
    title: str
    url: str
    comments: list[Comment]
    vanished: list[Comment] = field(default_factory=list)  # seen before, missing now
    fields: dict[str, Any] = field(default_factory=dict)  # tracker-specific mirrored fields
    requests: int = 0  # HTTP requests this read cost (0 for local)
    from_cache: bool = False  # True when the tracker said nothing changed (e.g. 304)


@dataclass(frozen=True)
class Posted:
    """The result of posting: the stored comment id; ``duplicate`` when it was already there."""

    comment_id: str
    duplicate: bool = False
    requests: int = 0
    # The event is posted (the comment is the record) but the mirrored fields could not be
    # updated, e.g. an account without editbugs / push access: said, never fatal.
    mirror_error: str = ""


@dataclass(frozen=True)
class NewIncident:
    """What ``Tracker.create`` needs to file a new incident bug or issue."""

    title: str
    body: str
    marker: str  # the opened event's id, so a retried create is found, not duplicated
    product: str = ""  # Bugzilla product / component; GitHub ignores them
    component: str = ""
    repo: str = ""  # GitHub owner/repo
    mirror: Mirror | None = None  # the fields to set at creation (Bugzilla: the whiteboard)


@runtime_checkable
class Tracker(Protocol):
    """What every backend implements. All methods are coroutines: the daemon polls concurrently.

    ``marker`` is the event id carried by the comment: after an ambiguous failure (timeout,
    reset, 5xx) the tracker looks for it among recent comments before posting again, so an
    event is never posted twice and never lost.
    """

    kind: TrackerKind

    async def whoami(self) -> Account:
        """The account our credentials act as; raises AuthError when they are not valid."""
        ...

    async def fetch(self, ref: IncidentRef) -> IncidentSnapshot:
        """All visible comments of the incident, read incrementally where the tracker allows."""
        ...

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        """Post one comment (and update mirrored fields with it where the tracker can)."""
        ...

    async def create(self, new: NewIncident) -> IncidentRef:
        """File a new bug / issue whose first comment (or description) is ``new.body``."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...


def normalise_body(text: str) -> str:
    """The text as trackers store it: CRLF / CR to LF, trailing whitespace stripped per line end."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip()


def check_length(body: str) -> None:
    """Refuse a comment over the trackers' limit, counted in characters after normalising."""
    size = len(normalise_body(body))
    if size > COMMENT_LIMIT:
        raise CommentTooLong(
            f"comment is {size:,} characters; trackers accept at most {COMMENT_LIMIT:,}",
            hint="shorten the free text (notes, reasons, summaries) and try again",
        )
