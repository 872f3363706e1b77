"""The draft as Markdown (what ``--post`` puts on the tracker) and as one self-contained HTML page.

Both read only the :class:`~sync_incident.retro.model.Retro` through the Jinja2 templates that
ship as package data (``templates/retro.md.j2``, ``templates/retro.html.j2``); jinja2 is
imported when a page is rendered, not when the package is.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sync_incident.core.sentences import sentence
from sync_incident.core.times import duration, local_time
from sync_incident.retro.model import Retro, utc
from sync_incident.retro.picture import timeline_svg
from sync_incident.retro.svg import LEGEND
from sync_incident.views import web_url

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup


def clock(moment: datetime, zone: str) -> str:
    """``Tue 02:05 JST``: the weekday and time in ``zone`` (the table cell is narrow)."""
    return local_time(moment, zone, with_date=False)


def breakable(value: object) -> Markup:
    """A URL, escaped, that may wrap after ``/ . ? & =`` rather than inside a word."""
    from markupsafe import Markup, escape

    text = str(escape(str(value)))
    for mark in ("/", ".", "?", "&amp;", "="):
        text = text.replace(mark, mark + "<wbr>")
    return Markup(text)


def _nowrap(text: str) -> Markup:
    from markupsafe import Markup, escape

    return Markup('<span class="time">') + escape(text) + Markup("</span>")


def md_cell(value: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(value).split()).replace("|", "\\|")


def _env(autoescape: bool) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sync_incident", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        duration=duration,
        utc=utc,
        cell=md_cell,
        clock=clock,
        breakable=breakable,
        sentence=sentence,
        name_of=lambda person, r: r.name(person),
    )
    if autoescape:  # a time never wraps inside ("2026-12-" / "04 17:00")
        env.filters["utc"] = lambda value: _nowrap(utc(value))
        env.filters["duration"] = lambda value: _nowrap(duration(value))
    env.tests["web_url"] = web_url  # `{% if url is web_url %}`: only http(s) becomes an href
    return env


MAX_ZONE_COLUMNS = 3  # more distinct timezones: one "their local time" column instead


def render_markdown(retro: Retro) -> str:
    """The draft as Markdown (what ``--post`` puts on the tracker).

    The timeline has a column per timezone while there are at most
    :data:`MAX_ZONE_COLUMNS`; with more, one column gives the time where whoever acted lives.
    """
    template = _env(False).get_template("retro.md.j2")
    text = template.render(r=retro, max_zone_columns=MAX_ZONE_COLUMNS)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip() + "\n"


def render_html(retro: Retro, *, back: str | None = None) -> str:
    """One self-contained HTML page (inline CSS, inline SVG, no scripts, no network).

    ``back`` is where "Back to the incident" leads: ``serve``'s incident page; by default the
    incident on its tracker (when that is a web address).
    """
    from markupsafe import Markup

    if back is None and web_url(retro.url):
        back = retro.url
    svg = Markup(timeline_svg(retro))  # every value inside is escaped by _el
    template = _env(True).get_template("retro.html.j2")
    return template.render(r=retro, svg=svg, legend=LEGEND, back=back)
