"""Incident references: the one bug or issue an incident lives in.

Accepted forms (PRODUCT.md "Incident references"):

- Bugzilla: ``bug 123456``, ``bug 123456`` split over two CLI words, ``bugzilla:123456``,
  ``https://bugzilla.mozilla.org/show_bug.cgi?id=123456`` (any host, also ``/123456`` short URLs);
- GitHub: ``issue owner/repo#42``, ``github:owner/repo#42``, ``owner/repo#42``,
  ``https://github.com/owner/repo/issues/42`` (any host, so Enterprise Server works too);
- local: ``local:7``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

TrackerKind = Literal["bugzilla", "github", "local"]

_GH_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_GH_REPO = r"[A-Za-z0-9._-]{1,100}"
_GH_SHORT = re.compile(rf"^(?P<owner>{_GH_NAME})/(?P<repo>{_GH_REPO})#(?P<num>[1-9][0-9]{{0,9}})$")
_BUG_ID = re.compile(r"^[1-9][0-9]{0,9}$")
_LOCAL_ID = re.compile(r"^[1-9][0-9]{0,9}$")
_GH_PATH = re.compile(
    rf"^/(?P<owner>{_GH_NAME})/(?P<repo>{_GH_REPO})/(?:issues|pull)/(?P<num>[1-9][0-9]{{0,9}})/?$"
)


class ReferenceError(ValueError):
    """The text does not name an incident in a form we understand."""


@dataclass(frozen=True, order=True)
class IncidentRef:
    """Where an incident is kept. ``host`` is set only when it came from a URL."""

    kind: TrackerKind
    number: int
    repo: str = ""  # "owner/repo" for GitHub, empty otherwise
    host: str = ""

    def __str__(self) -> str:
        if self.kind == "bugzilla":
            return f"bug {self.number}"
        if self.kind == "github":
            return f"{self.repo}#{self.number}"
        return f"local:{self.number}"

    @property
    def key(self) -> str:
        """A stable key for caches: independent of the host the reference was typed with."""
        if self.kind == "github":
            return f"github:{self.repo.lower()}#{self.number}"
        return f"{self.kind}:{self.number}"


_HINT = (
    "use 'bug 123456', 'bugzilla:123456', a show_bug.cgi?id= URL, 'issue owner/repo#42', "
    "'github:owner/repo#42', an issue URL, or 'local:7'"
)


def parse_ref(text: str) -> IncidentRef:
    """Parse one reference; raise :class:`ReferenceError` with a hint when it is not one."""
    raw = " ".join(text.split())
    if not raw:
        raise ReferenceError(f"empty incident reference; {_HINT}")
    lowered = raw.lower()
    if lowered.startswith(("http://", "https://")):
        return _parse_url(raw)
    numbered: tuple[tuple[str, TrackerKind], ...] = (
        ("bug ", "bugzilla"),
        ("bugzilla:", "bugzilla"),
        ("local:", "local"),
    )
    for prefix, kind in numbered:
        if lowered.startswith(prefix):
            rest = raw[len(prefix) :].strip()
            pattern = _BUG_ID if kind == "bugzilla" else _LOCAL_ID
            if not pattern.match(rest):
                raise ReferenceError(f"{raw!r} is not a valid {kind} reference; {_HINT}")
            return IncidentRef(kind, int(rest))
    for prefix in ("issue ", "github:"):
        if lowered.startswith(prefix):
            return _parse_github(raw[len(prefix) :].strip(), raw)
    if "#" in raw and "/" in raw:
        return _parse_github(raw, raw)
    raise ReferenceError(f"{raw!r} is not an incident reference; {_HINT}")


def parse_ref_words(words: list[str]) -> IncidentRef:
    """Parse a reference given as CLI words: ``["bug", "123"]`` or ``["local:7"]``."""
    return parse_ref(" ".join(words))


def _parse_github(text: str, original: str) -> IncidentRef:
    match = _GH_SHORT.match(text)
    if not match:
        raise ReferenceError(f"{original!r} is not a valid GitHub issue reference; {_HINT}")
    repo = f"{match['owner']}/{match['repo']}"
    return IncidentRef("github", int(match["num"]), repo=repo)


def _parse_url(text: str) -> IncidentRef:
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if not host:
        raise ReferenceError(f"{text!r} has no host; {_HINT}")
    if parts.path.endswith("show_bug.cgi"):
        ids = parse_qs(parts.query).get("id", [])
        if len(ids) == 1 and _BUG_ID.match(ids[0]):
            return IncidentRef("bugzilla", int(ids[0]), host=host)
        raise ReferenceError(f"{text!r} has no numeric bug id; {_HINT}")
    gh = _GH_PATH.match(parts.path)
    if gh:
        return IncidentRef("github", int(gh["num"]), repo=f"{gh['owner']}/{gh['repo']}", host=host)
    short = re.match(r"^/([1-9][0-9]{0,9})/?$", parts.path)
    if short and "bugzilla" in host:
        return IncidentRef("bugzilla", int(short[1]), host=host)
    raise ReferenceError(f"{text!r} is not a Bugzilla bug or GitHub issue URL; {_HINT}")
