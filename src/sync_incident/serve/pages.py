"""The HTML pages: the status board, one incident, its retrospective draft.

Self-contained: inline CSS and one small inline script, no external assets, and a Content
Security Policy that allows exactly that script (by its hash). The page stays current without
reloading: the script listens to ``/events`` (server-sent events carrying the board's
version) and, when the version changes, fetches the ``<main>`` fragment again and swaps it in
place, so the scroll position and the reader's place are kept. Without JavaScript a
``<noscript>`` meta refresh reloads the page every minute.

Rendering is cached per board generation (one more daemon read) and minute (local times and
ages move), so 200 readers cost one render, not 200.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import escape

from sync_incident.core.times import utc
from sync_incident.serve.board import Board, Known
from sync_incident.serve.view import Card, card, href, incident

if TYPE_CHECKING:
    import jinja2

# the page's one script, package data beside the page templates; the CSP allows it by hash
SCRIPT = (files("sync_incident") / "templates" / "serve" / "live.js").read_text(encoding="utf-8")
SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    f"script-src 'sha256-{SCRIPT_HASH}'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Rendered:
    """A fragment of HTML and its version (a hash of the fragment: the same text, one version)."""

    html: str
    version: str


def _version(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _env() -> jinja2.Environment:
    import jinja2

    from sync_incident.serve.when import marked
    from sync_incident.views import web_url

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sync_incident", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["web_url"] = web_url  # `{% if url is web_url %}`: only http(s) becomes an href
    env.filters["timed"] = marked  # free text: its UTC times for the reader's zone, dates whole
    return env


class Pages:
    """Renders the pages from the board, caching per (generation, minute)."""

    def __init__(self, board: Board, *, events: int = 5, resolved_days: int = 7) -> None:
        self.board = board
        self.events = events
        self.resolved_days = resolved_days
        self._env = _env()
        self._cache: dict[tuple[Any, ...], Rendered] = {}
        self._generation = -1

    def cached(self, key: tuple[Any, ...], make: Callable[[datetime], str]) -> Rendered:
        """``make(now)`` once per board generation and minute (any text: HTML or JSON)."""
        return self._cached(key, make)

    def _cached(self, key: tuple[Any, ...], make: Any) -> Rendered:
        now = self.board.clock()
        if self.board.generation != self._generation:
            self._cache.clear()
            self._generation = self.board.generation
        full = (*key, now.replace(second=0, microsecond=0))
        found = self._cache.get(full)
        if found is None:
            html = make(now)
            found = Rendered(html, _version(html))
            if len(self._cache) > 1000:  # many incident pages in one minute: start again
                self._cache.clear()
            self._cache[full] = found
        return found

    def card_of(self, known: Known, now: datetime, events: int | None = None) -> Card:
        shown = self.events if events is None else events
        return card(known.ref, known.overview, now, events=shown, error=known.error)

    # --- the board ------------------------------------------------------------------------------

    def board_fragment(self) -> Rendered:
        """The ``<main>`` of ``/``: one card per active incident, then those resolved lately."""

        def make(now: datetime) -> str:
            known = self.board.known()
            cards = [self.card_of(k, now) for k in known if k.active]
            since = now - timedelta(days=self.resolved_days)
            resolved = [
                self.card_of(k, now, 0)
                for k in [*known, *self.board.recent()]
                if not k.active and _resolved_since(k, since)
            ]
            resolved.sort(key=lambda c: c.resolved.iso if c.resolved else "", reverse=True)
            ready = self.board.cycle_age() is not None
            template = self._env.get_template("serve/board.html.j2")
            head = (
                f'<p class="meta">As of <time datetime="{now.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}">'
                f"{utc(now)}</time> · {len(cards)} active</p>\n"
            )
            return head + template.render(
                cards=cards, resolved=resolved, ready=ready, days=self.resolved_days
            )

        return self._cached(("board",), make)

    def status_page(self) -> str:
        part = self.board_fragment()
        page = self._cached(
            ("page", part.version),
            lambda _: self._page("Active incidents", part, "/?fragment=board"),
        )
        return page.html

    # --- one incident ---------------------------------------------------------------------------

    def incident_fragment(self, known: Known, *, decisions: bool = False) -> Rendered:
        """The ``<main>`` of an incident's page; ``decisions``: the timeline's decisions only.

        Its version is the whole timeline's either way, so one event stream serves both.
        """

        def make(now: datetime) -> str:
            if known.overview is None:
                c = self.card_of(known, now, 0)
                return f'<p class="error">{escape(c.error)}</p>'
            page = incident(known.ref, known.overview, now, decisions=decisions, error=known.error)
            return self._env.get_template("serve/incident.html.j2").render(page=page)

        whole = self._cached(("incident", known.ref.key, False), make)
        if not decisions:
            return whole
        part = self._cached(("incident", known.ref.key, True), make)
        return Rendered(part.html, whole.version)

    def incident_page(self, known: Known, *, decisions: bool = False) -> str:
        part = self.incident_fragment(known, decisions=decisions)
        title = known.state.title if known.state and known.state.title else str(known.ref)
        fragment = (
            href(known.ref) + "?fragment=board" + ("&timeline=decisions" if decisions else "")
        )
        stream = "/events?incident=" + quote(known.ref.key, safe="")
        skip = "Skip to the decision"
        return self._page(title, part, fragment, stream, skip=skip)

    def retro_page(self, known: Known) -> str:
        """The retrospective draft (the same page as ``retro --format html``), from the board."""
        from sync_incident.retro import render_html
        from sync_incident.retro.build import retro_of

        assert known.overview is not None
        retro = retro_of(known.overview, now=self.board.clock())
        return render_html(retro, back=href(known.ref))

    def not_found(self, text: str) -> str:
        from markupsafe import escape

        body = (
            f"<p>{escape(text)} is not an incident this server can show: not on the trackers "
            "it reads, no such bug or issue, or no incident was opened on it. Active incidents "
            'are listed on <a href="/">the status page</a>.</p>'
        )
        return self._page("Not found", Rendered(body, _version(body)), "/?fragment=board")

    def unreadable(self, text: str, why: str) -> str:
        from markupsafe import escape

        body = (
            f"<p>{escape(text)} could not be read just now ({escape(why)}); try again in a "
            'minute. Active incidents are listed on <a href="/">the status page</a>.</p>'
        )
        return self._page("Not available", Rendered(body, _version(body)), "/?fragment=board")

    def _page(
        self,
        heading: str,
        part: Rendered,
        fragment: str,
        stream: str = "/events",
        *,
        skip: str = "Skip to the incidents",
    ) -> str:
        from markupsafe import Markup

        template = self._env.get_template("serve/base.html.j2")
        return template.render(
            title=f"{heading} · sync-incident",
            heading=heading,
            live="Live updates start when the page has loaded",
            version=part.version,
            fragment=fragment,
            events=stream,
            skip=skip,
            board=Markup(part.html),  # rendered by our templates, every value escaped
            script=Markup(SCRIPT),
        )


def _resolved_since(known: Known, since: datetime) -> bool:
    state = known.state
    return state is not None and state.resolved_at is not None and state.resolved_at >= since
