"""The sentences people read in every comment the tool writes (PRODUCT.md rule 2).

Each event type has a Jinja2 template, ``templates/<type>.txt.j2`` (a user's
``templates_dir`` may override any of them). Templates get the event (``e``) and a
:class:`Context`: who posts, on which incident, and the state before the event, so a sentence
names who and what ("beatrice accepts the handoff from dana and is now the incident commander
of bug 1750000.") instead of ids. Without a context (tests, drafts) they fall back to
sentences that name no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sync_incident.core.comments import normalise_body
from sync_incident.core.events import Event
from sync_incident.core.state import Entry, Handoff, Hold, IncidentState
from sync_incident.core.times import for_people, utc

if TYPE_CHECKING:
    import jinja2

    from sync_incident.core.policy import Policy


@dataclass(frozen=True)
class Context:
    """What a sentence may name besides the event itself."""

    actor: str | None = None  # who posts, as the policy names them
    ref: str = ""  # "bug 1750000", "acme/releases#42", "local:7"
    state: IncidentState | None = None  # the incident before this event
    outcome: list[str] = field(default_factory=list)  # final state per release (resolve)
    zones: Mapping[str, str] = field(default_factory=dict)  # person → timezone (the policy's)

    @property
    def ic(self) -> str | None:
        return self.state.ic if self.state else None

    def when(self, moment: datetime | None, typed: str | None = None, *people: str | None) -> str:
        """``2026-12-07 19:00 UTC (11:00 America/Los_Angeles for beatrice)``: a time in UTC, in
        the zone it was ``typed`` in, and on the clock of each person it concerns."""
        if moment is None:
            return format_time(None)
        return for_people(moment, [(p, self.zones.get(p)) for p in people if p], typed=typed)

    @property
    def incident(self) -> str:
        return self.ref or "this incident"

    def offer(self, offer_id: str) -> Handoff | None:
        found = [h for h in self.state.handoffs if h.id == offer_id] if self.state else []
        return found[0] if found else None

    def hold(self, hold_id: str) -> Hold | None:
        found = [h for h in self.state.holds if h.id == hold_id] if self.state else []
        return found[0] if found else None

    def entry(self, event_id: str) -> Entry | None:
        found = [x for x in self.state.timeline if x.event_id == event_id] if self.state else []
        return found[-1] if found else None


def zones_of(policy: Policy) -> dict[str, str]:
    """Each person's timezone, as :class:`Context` takes them."""
    return {key: person.timezone for key, person in policy.people.items()}


def format_time(value: datetime | None) -> str:
    """``2022-01-12 14:03 UTC``: how times read in comments."""
    return utc(value, missing="no time given")


def sentence(text: str) -> str:
    """Free text as the end of a sentence: trimmed, one final stop, never two."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def clause(text: str) -> str:
    """Free text inside a sentence: trimmed, without a final stop."""
    return " ".join(text.split()).rstrip(".")


class Sentences:
    """The Jinja2 environment for the sentence templates (built on first use)."""

    def __init__(self, template_dir: Path | None = None) -> None:
        self._template_dir = template_dir
        self._env: jinja2.Environment | None = None

    @property
    def env(self) -> jinja2.Environment:
        if self._env is None:
            import jinja2  # imported lazily: the CLI's start-up stays fast

            loaders: list[jinja2.BaseLoader] = []
            if self._template_dir is not None:
                loaders.append(jinja2.FileSystemLoader(str(self._template_dir)))
            loaders.append(jinja2.PackageLoader("sync_incident", "templates"))
            env = jinja2.Environment(
                loader=jinja2.ChoiceLoader(loaders),
                undefined=jinja2.StrictUndefined,
                autoescape=False,  # plain text and Markdown, never HTML
                keep_trailing_newline=False,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters.update(when=format_time, sentence=sentence, clause=clause)
            self._env = env
        return self._env

    def human(self, event: Event, ctx: Context) -> str:
        template = self.env.get_template(f"{event.type}.txt.j2")
        return normalise_body(template.render(e=event, ctx=ctx))
