"""The fake Bugzilla's data (users, bugs, comments, flags) and how tests seed and change it.

:class:`BugzillaState` is the database: no HTTP here. Stored text is normalised as the server
does; every stored comment is stamped with ``clock.tick()`` (second precision).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sync_incident.testing.clock import FakeClock

LIMIT = 65_535  # characters in a comment
START = datetime(2026, 11, 27, 3, 50, 13, tzinfo=UTC)  # when the recorded 5.2 fixtures start
Flavor = Literal["5.2", "bmo"]


@dataclass
class LoggedRequest:
    method: str
    url: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


@dataclass
class FakeUser:
    uid: int
    login: str
    key: str
    real_name: str = ""
    insider: bool = False  # sees private comments
    editbugs: bool = True
    privileged: bool = False  # BMO: sees edit_count


@dataclass
class FakeComment:
    id: int
    bug_id: int
    count: int
    creator: str
    time: datetime
    text: str
    is_private: bool = False
    tags: list[str] = field(default_factory=list)
    edit_count: int = 0
    hidden: bool = False  # removed from every answer (vanished)
    lag_reads: int = 0  # not visible to the next N comment reads (replica lag)


@dataclass
class FakeFlag:
    id: int
    name: str
    status: str
    setter: str
    requestee: str | None = None


@dataclass
class FakeChange:
    """One changed field in the bug's history (Bugzilla's ``bugs_activity``): old and new value
    whole, by whom and when (the time of the request that changed it)."""

    who: str
    when: datetime
    field_name: str
    removed: str
    added: str


@dataclass
class FakeBug:
    id: int
    summary: str
    product: str
    component: str
    creator: str
    assigned_to: str
    creation_time: datetime
    last_change_time: datetime
    whiteboard: str = ""
    status: str = "CONFIRMED"
    resolution: str = ""
    keywords: list[str] = field(default_factory=list)
    flags: list[FakeFlag] = field(default_factory=list)
    comments: list[FakeComment] = field(default_factory=list)
    restricted: bool = False  # only insiders may see it (code 102)
    history: list[FakeChange] = field(default_factory=list)  # what changed since filing


def normalise(text: str) -> str:
    """What the server stores: CRLF/CR → LF, trailing whitespace stripped."""
    return text.replace("\r\n", "\n").replace("\r", "\n").rstrip()


class BugzillaState:
    """The database behind the fake, and the seeding API tests use on it."""

    def __init__(
        self,
        flavor: Flavor = "5.2",
        *,
        version: str | None = None,
        clock: FakeClock | None = None,
        products: dict[str, list[str]] | None = None,
    ) -> None:
        self.flavor: Flavor = flavor
        self.version = version or ("20240101.1" if flavor == "bmo" else "5.2+")
        self.clock = clock or FakeClock(START)
        self.products = products or {"Release Engineering": ["General"], "Firefox": ["General"]}
        self.users: dict[str, FakeUser] = {}
        self.bugs: dict[int, FakeBug] = {}
        self.history_route = True  # False: an older server without /rest/bug/N/history
        self.next_comment = 1
        self.next_flag = 1
        self.lag_reads = 0  # new comments stay invisible to this many comment reads

    # ------------------------------------------------------------------ seeding

    def add_user(self, login: str, key: str, **kwargs: Any) -> FakeUser:
        user = FakeUser(uid=len(self.users) + 1, login=login, key=key, **kwargs)
        self.users[login] = user
        return user

    def add_bug(
        self,
        summary: str = "Firefox 96.0.1 release incident",
        *,
        creator: str,
        description: str = "Initial description (comment 0).",
        product: str = "Release Engineering",
        component: str = "General",
        whiteboard: str = "",
    ) -> int:
        now = self.clock.tick()
        bug = FakeBug(
            id=len(self.bugs) + 1,
            summary=summary,
            product=product,
            component=component,
            creator=creator,
            assigned_to=creator,
            creation_time=now,
            last_change_time=now,
            whiteboard=whiteboard,
        )
        self.bugs[bug.id] = bug
        self.store_comment(bug, creator, description, private=False, at=now)
        return bug.id

    def add_comment(self, bug_id: int, creator: str, text: str, *, private: bool = False) -> int:
        return self.store_comment(self.bugs[bug_id], creator, text, private=private).id

    def comment(self, comment_id: int) -> FakeComment:
        for bug in self.bugs.values():
            for comment in bug.comments:
                if comment.id == comment_id:
                    return comment
        raise KeyError(comment_id)

    def set_whiteboard(self, bug_id: int, who: str, whiteboard: str) -> None:
        """Someone changes the whiteboard by hand (the bug's history records it)."""
        bug = self.bugs[bug_id]
        when = self.clock.tick()
        self.record_change(bug, who, when, "whiteboard", bug.whiteboard, whiteboard)
        bug.whiteboard = whiteboard
        bug.last_change_time = when

    def record_change(
        self, bug: FakeBug, who: str, when: datetime, name: str, removed: str, added: str
    ) -> None:
        """A field change, in the bug's history as Bugzilla keeps it."""
        bug.history.append(FakeChange(who, when, name, removed, added))

    def make_private(self, comment_id: int) -> None:
        """An insider marks the comment private: other readers no longer get it."""
        self.comment(comment_id).is_private = True

    def hide_comment(self, comment_id: int) -> None:
        """The comment disappears from every answer (an admin removed it)."""
        self.comment(comment_id).hidden = True

    def delete_comment(self, comment_id: int) -> None:
        """BMO: tag the comment ``deleted`` (it is then hidden from answers)."""
        self.comment(comment_id).tags.append("deleted")

    def edit_comment(self, comment_id: int, text: str) -> None:
        """BMO's EditComments: new text, same creation time, ``edit_count`` + 1."""
        comment = self.comment(comment_id)
        comment.text = normalise(text)
        comment.edit_count += 1

    def store_comment(
        self, bug: FakeBug, creator: str, text: str, *, private: bool, at: datetime | None = None
    ) -> FakeComment:
        """Append a comment (normalised, stamped now unless ``at``); the bug changes with it."""
        when = at or self.clock.tick()
        comment = FakeComment(
            id=self.next_comment,
            bug_id=bug.id,
            count=len(bug.comments),
            creator=creator,
            time=when,
            text=normalise(text),
            is_private=private,
            lag_reads=self.lag_reads,
        )
        self.next_comment += 1
        bug.comments.append(comment)
        bug.last_change_time = when
        return comment

    def is_deleted(self, comment: FakeComment) -> bool:
        """BMO hides comments tagged ``deleted``; 5.2 has no such tag."""
        return self.flavor == "bmo" and "deleted" in comment.tags
