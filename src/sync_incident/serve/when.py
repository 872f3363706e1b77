"""A moment as the pages show it: for the reader's clock, and for the people it concerns.

The server knows nobody's zone but the policy's people: it sends each moment as a UTC instant
(``<time datetime="2026-01-12T14:03:00Z">``) with the UTC text as what a reader without
script sees, and the page's script shows it in the viewer's own zone (ISO date, 24-hour
clock), or as an age ("12 min ago", the exact time on hover and focus). The clocks of the
people a moment concerns (the IC, a handoff's recipient, a step's owner) and of the zone it
was typed in are the same for every reader, so the server writes them:
``15:03 Europe/Berlin for dana`` (:func:`~sync_incident.core.times.for_people`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup, escape

from sync_incident.core.times import age, for_people, minutes_between, utc


@dataclass(frozen=True)
class Moment:
    """``iso`` for ``<time datetime>``; ``utc`` the text without script; ``people`` the clocks of
    whom it concerns (and of the zone it was typed in); ``age`` how long before or after the
    rendering, ``ahead`` when it is still to come."""

    iso: str
    utc: str
    people: str = ""
    age: str = ""
    ahead: bool = False

    @property
    def relative(self) -> str:
        """``12 min ago`` or ``in 12 min``."""
        return f"in {self.age}" if self.ahead else f"{self.age} ago"


def moment(
    at: datetime,
    now: datetime,
    people: Iterable[tuple[str, str | None]] = (),
    *,
    typed: str | None = None,
) -> Moment:
    """``at`` as the pages show it, as of ``now``; ``people``: ``(name, zone)`` it concerns."""
    plain = utc(at)
    written = for_people(at, people, typed=typed)
    clocks = written[len(plain) :].strip().removeprefix("(").removesuffix(")")
    ahead = at > now
    minutes = minutes_between(now, at) if ahead else minutes_between(at, now)
    return Moment(
        iso=at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        utc=plain,
        people=clocks,
        age=age(minutes),
        ahead=ahead,
    )


# "2026-03-10 08:45 UTC" (a moment the core wrote in a sentence), or a date, or a date and a
# clock of another zone ("2026-03-11 01:00 Europe/Berlin")
_WRITTEN = re.compile(r"(\d{4}-\d{2}-\d{2})(?: (\d{2}:\d{2})( UTC)?)?")


def marked(text: str) -> Markup:
    """``text`` escaped, its UTC moments made ``<time>`` elements (the page shows them in the
    reader's zone) and its other dates kept on one line (a line never breaks inside
    ``2026-03-10``)."""

    def one(found: re.Match[str]) -> str:
        day, clock, in_utc = found.groups()
        if clock and in_utc:
            iso = f"{day}T{clock}:00Z"
            return f'<time datetime="{iso}">{found[0]}</time>'
        return f'<span class="nobr">{found[0]}</span>'

    return Markup(_WRITTEN.sub(one, str(escape(text))))
