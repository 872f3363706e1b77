"""Comments as trackers store them: the raw material the fold reads.

A :class:`Comment` carries what the tracker says about it: who wrote it, when, its text, and
what the tracker reveals about tampering (edited, private, its position in the tracker's own
numbering). Everything about an incident is derived from these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sync_incident.core.errors import CommentTooLong

COMMENT_LIMIT = 65_535

# How comments are written: GitHub hides the trailer in an HTML comment; others show it plainly.
Flavor = Literal["plain", "github"]


@dataclass(frozen=True)
class Account:
    """A tracker account. ``uid`` is the numeric id where the tracker has one (GitHub)."""

    login: str
    uid: str | None = None
    name: str = ""

    def __str__(self) -> str:
        return self.login

    @property
    def key(self) -> str:
        """What identifies the account for good: the numeric id where there is one, else
        the login (casefolded). Facts about an account are kept by this, never by a login
        another account could take."""
        return self.uid if self.uid is not None else self.login.casefold()


@dataclass(frozen=True)
class Comment:
    """One comment as the tracker stores it. Author, time and order come from the tracker.

    ``order`` sorts comments as the tracker numbers them (comment ids grow on every tracker we
    support), so two comments in the same second keep their real order. ``seq`` is the
    tracker's own position number where it has one (Bugzilla's ``count``: 0, 1, 2, ... per
    bug): a gap means a comment this reader cannot see.
    """

    id: str
    author: Account
    created_at: datetime  # timezone-aware UTC
    body: str
    edited: bool = False  # the tracker says it changed after posting, or its hash changed
    private: bool = False
    order: int = 0
    seq: int | None = None


@dataclass(frozen=True)
class Evidence:
    """What the tracker itself proves about the record, beyond the comments it returns.

    ``kind`` is ``gap`` (the tracker's numbering skips a comment this reader cannot see),
    ``hidden`` (a comment marked private or deleted) or ``history`` (the tracker's own
    history contradicts the comments). The fold turns evidence into doubt.
    """

    kind: Literal["gap", "hidden", "history"]
    where: str  # "comment 17", "comment #4", "label hold"
    detail: str


@dataclass(frozen=True)
class Mark:
    """A change of a mirrored flag, from the tracker's own history (no writer can rewrite it).

    ``flag`` is what the mirror shows ("hold": the GitHub label or the Bugzilla whiteboard
    tag), ``on`` whether it was set or cleared, by whom and when. The fold checks that every
    time the hold flag was set, the record had an open hold: a flag set with no hold behind
    it means a hold was deleted, to every reader, with or without a cache.
    """

    flag: str
    on: bool
    by: str
    at: datetime
    uid: str | None = None  # the account's numeric id where the tracker gives one (GitHub)


def normalise_body(text: str) -> str:
    """The text as trackers store it: CRLF / CR to LF, trailing whitespace stripped per line end."""
    if "\r" not in text and _SPACE_AT_LINE_END.search(text) is None:
        return text.rstrip()  # the usual case: only the end of the text has anything to strip
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).rstrip()


# whitespace (as str.rstrip sees it: \s is the same test) other than a newline, before one
_SPACE_AT_LINE_END = re.compile(r"[^\S\n]\n")


def check_length(body: str) -> None:
    """Refuse a comment over the trackers' limit, counted in characters after normalising."""
    size = len(normalise_body(body))
    if size > COMMENT_LIMIT:
        raise CommentTooLong(
            f"the comment would be {size:,} characters; trackers accept at most {COMMENT_LIMIT:,}",
            hint="free text appears twice in a comment (the sentence and the machine trailer), "
            f"so keep the free text of one event under about {COMMENT_LIMIT // 2 - 1000:,} "
            "characters",
        )
