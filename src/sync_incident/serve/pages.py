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
from datetime import datetime
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sync_incident.core.times import utc
from sync_incident.serve.board import Board, Known
from sync_incident.serve.view import Card, card, href

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

    from sync_incident.views import web_url

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sync_incident", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["web_url"] = web_url  # `{% if url is web_url %}`: only http(s) becomes an href
    return env


class Pages:
    """Renders the pages from the board, caching per (generation, minute)."""

    def __init__(self, board: Board, *, events: int = 5) -> None:
        self.board = board
        self.events = events
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
        """The ``<main>`` of ``/``: one card per active incident, then the resolved ones."""

        def make(now: datetime) -> str:
            known = self.board.known()
            cards = [self.card_of(k, now) for k in known if k.active]
            resolved = [self.card_of(k, now, 0) for k in known if not k.active]
            ready = self.board.cycle_age() is not None
            template = self._env.get_template("serve/board.html.j2")
            head = f'<p class="meta">As of {utc(now)} · {len(cards)} active</p>\n'
            return head + template.render(cards=cards, resolved=resolved, ready=ready)

        return self._cached(("board",), make)

    def status_page(self) -> str:
        part = self.board_fragment()
        page = self._cached(
            ("page", part.version),
            lambda _: self._page("Active incidents", part, "/?fragment=board"),
        )
        return page.html

    # --- one incident ---------------------------------------------------------------------------

    def incident_fragment(self, known: Known) -> Rendered:
        def make(now: datetime) -> str:
            from sync_incident.views import state_text

            c = self.card_of(known, now, 10_000)
            state = known.state
            text = ""
            if known.overview is not None:
                text = state_text(known.overview, timeline=None)
            retro = ""
            if state is not None and state.status == "resolved":
                retro = href(known.ref, "/retro/")
            template = self._env.get_template("serve/incident.html.j2")
            return template.render(
                c=c,
                links=state.links if state else [],
                steps=_steps(state.checklist) if state else [],
                retro=retro,
                text=text,
            )

        return self._cached(("incident", known.ref.key), make)

    def incident_page(self, known: Known) -> str:
        part = self.incident_fragment(known)
        title = known.state.title if known.state and known.state.title else str(known.ref)
        fragment = href(known.ref) + "?fragment=board"
        stream = "/events?incident=" + quote(known.ref.key, safe="")
        return self._page(f"{known.ref}: {title}", part, fragment, stream)

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

    def _page(self, heading: str, part: Rendered, fragment: str, stream: str = "/events") -> str:
        from markupsafe import Markup

        template = self._env.get_template("serve/base.html.j2")
        return template.render(
            title=f"{heading} · sync-incident",
            heading=heading,
            live="Live updates start when the page has loaded",
            version=part.version,
            fragment=fragment,
            events=stream,
            board=Markup(part.html),  # rendered by our templates, every value escaped
            script=Markup(SCRIPT),
        )


def _steps(checklist: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "step": s.step,
            "title": s.title,
            "owner": s.owner,
            "state": s.state,
            "due": utc(s.due) if s.due else "",
            "overdue": s.overdue,
        }
        for s in checklist
    ]
