"""The contract every tracker backend implements, and the optional capabilities some have.

A tracker stores comments on one bug or issue per incident and mirrors a few fields
(whiteboard, labels, assignee, a body block). Everything else is derived from the comments
by :func:`sync_incident.core.state.fold`. Trackers are the only code that touches the network;
they translate transport errors once, at their edge, into the tree of
:mod:`sync_incident.core.errors`.

Every backend implements :class:`Tracker`. Some can do more, and say so by implementing a
capability protocol; callers ask with ``isinstance`` on the protocol, never on a backend:

- :class:`Discovery`: list the active incidents it holds (the digest and the daemon use it);
- :class:`Resolutions`: list the incidents resolved since a moment (``serve``'s status page);
- :class:`Membership`: check membership the policy delegates to the tracker (GitHub org
  teams, repository permissions);
- :class:`Users`: look up the account that has a login now (GitHub: to pin people by id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

__all__ = [
    "Discovery",
    "Evidence",
    "Flavor",
    "IncidentSnapshot",
    "Mark",
    "Membership",
    "Mirror",
    "NewIncident",
    "Posted",
    "Resolutions",
    "Tracker",
    "Users",
]

from sync_incident.core.comments import Account, Comment, Evidence, Flavor, Mark
from sync_incident.core.refs import IncidentRef, TrackerKind

if TYPE_CHECKING:
    from datetime import datetime

    from sync_incident.core.policy import Team


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
    """Everything a read returns. ``comments`` are all visible comments, in tracker order."""

    ref: IncidentRef
    title: str
    url: str
    comments: list[Comment]
    vanished: list[Comment] = field(default_factory=list)  # seen before, missing now
    evidence: list[Evidence] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)  # hold-flag history: label, whiteboard tag
    fields: dict[str, Any] = field(default_factory=dict)  # tracker-specific mirrored fields
    requests: int = 0  # HTTP requests this read cost (0 for local)
    from_cache: bool = False  # True when the tracker said nothing changed (e.g. 304)
    # checks a fresh read relies on and could not make, by name ("github-edits",
    # "bugzilla-history") -> what is missing, in words: the gate cannot decide on such a read
    # unless the policy accepts the weaker check
    unchecked: dict[str, str] = field(default_factory=dict)


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
    """What ``Tracker.create`` needs to file a new incident bug or issue.

    ``location`` says where, in the backend's own terms: ``owner/repo`` on GitHub,
    ``Product :: Component`` on Bugzilla (empty: the configured default), nothing locally.
    """

    title: str
    body: str
    marker: str  # the opened event's id, so a retried create is found, not duplicated
    location: str = ""
    mirror: Mirror | None = None  # the fields to set at creation (Bugzilla: the whiteboard)


@runtime_checkable
class Tracker(Protocol):
    """What every backend implements. All methods are coroutines: the daemon polls concurrently.

    ``marker`` is the event id carried by the comment: after an ambiguous failure (timeout,
    reset, 5xx) the tracker looks for it among recent comments before posting again, so an
    event is never posted twice and never lost.

    ``fetch(fresh=True)`` reads everything from the tracker and trusts nothing cached: the
    gate uses it, so its verdict is the same with or without a cache.
    """

    kind: TrackerKind
    flavor: Flavor  # how comments are written: GitHub hides trailers in HTML comments
    server: str  # the base URL (or file) this tracker talks to, for people and cache keys

    async def whoami(self) -> Account:
        """The account our credentials act as; raises AuthError when they are not valid."""
        ...

    async def fetch(
        self, ref: IncidentRef, *, fresh: bool = False, history: bool = False
    ) -> IncidentSnapshot:
        """All visible comments of the incident, read incrementally unless ``fresh``.

        ``history``: the read judges doubt before posting (``check`` and every posting
        command): the hold flag's history must be as current as the gate's read of it.
        """
        ...

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        """Post one comment (and update mirrored fields with it where the tracker can)."""
        ...

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        """Bring the mirrored fields in line with ``mirror`` in one write, only if they differ.

        True when something was written. Never raises for a missing permission: the mirror
        is left for someone who can write it.
        """
        ...

    async def create(self, new: NewIncident) -> IncidentRef:
        """File a new bug / issue; its first comment is ``new.body``."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class Discovery(Protocol):
    """A tracker that can list the active incidents it holds."""

    async def active_incidents(self) -> list[IncidentRef]: ...


@runtime_checkable
class Resolutions(Protocol):
    """A tracker that can list the incidents resolved lately, by their mirrored state."""

    async def resolved_incidents(self, since: datetime) -> list[IncidentRef]:
        """Incidents mirrored as resolved and changed at or after ``since`` (a superset of
        those resolved since then: the reader folds each and checks when it was resolved)."""
        ...


@runtime_checkable
class Membership(Protocol):
    """A tracker that can check team membership the policy delegates to it."""

    def delegates(self, team: Team) -> bool:
        """Whether ``team`` names members this tracker must be asked about."""
        ...

    async def is_member(
        self, ref: IncidentRef, team: Team, account: Account, *, fresh: bool = False
    ) -> bool:
        """Whether ``account`` belongs to ``team`` on this tracker; ``fresh`` (the gate's) asks
        the tracker now instead of using an answer kept from a moment ago.

        Raises :class:`~sync_incident.core.errors.AccessDenied` when the credentials cannot
        tell (the gate then fails closed).
        """
        ...


@runtime_checkable
class Users(Protocol):
    """A tracker whose accounts have immutable ids a login can be looked up to."""

    async def user(self, login: str) -> Account | None:
        """The account that has ``login`` now, or None when no account has it."""
        ...
