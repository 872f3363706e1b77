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


def clock(moment: datetime, zone: str) -> str:
    """``Tue 02:05 JST``: the weekday and time in ``zone`` (the table cell is narrow)."""
    return local_time(moment, zone, with_date=False)


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
        sentence=sentence,
        name_of=lambda person, r: r.name(person),
    )
    env.tests["web_url"] = web_url  # `{% if url is web_url %}`: only http(s) becomes an href
    return env


def render_markdown(retro: Retro) -> str:
    """The draft as Markdown (what ``--post`` puts on the tracker)."""
    text = _env(False).get_template("retro.md.j2").render(r=retro)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip() + "\n"


def render_html(retro: Retro) -> str:
    """One self-contained HTML page (inline CSS, inline SVG, no scripts, no network)."""
    from markupsafe import Markup

    svg = Markup(timeline_svg(retro))  # every value inside is escaped by _el
    return _env(True).get_template("retro.html.j2").render(r=retro, svg=svg, legend=LEGEND)
