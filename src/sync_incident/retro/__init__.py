"""A draft retrospective from the incident record: Markdown, a self-contained HTML page, a post.

- :mod:`.model`: what the draft says (frozen dataclasses) and its formatting helpers;
- :mod:`.build`: ``build_retro``, pure: the folded state and the policy in, a ``Retro`` out;
- :mod:`.picture`: the timeline picture (inline SVG);
- :mod:`.render`: Markdown and HTML through the Jinja2 templates;
- :mod:`.post`: ``post_retro`` (through ``Session.post``, once per distinct content) and
  ``run_retro``, the ``retro`` command's library call.

Module-level imports stay light: jinja2 and the service are imported when they are used.
"""

from __future__ import annotations

from sync_incident.core.times import duration, local_time
from sync_incident.retro.build import build_retro
from sync_incident.retro.model import (
    SECTIONS,
    Format,
    HandoffRow,
    HoldRow,
    LinkRow,
    NoteRow,
    Participant,
    Problem,
    ReleaseRow,
    Retro,
    Section,
    ShipRow,
    SignoffRow,
    TenureRow,
    TimelineRow,
    Window,
    Zone,
    utc,
)
from sync_incident.retro.picture import timeline_svg
from sync_incident.retro.post import (
    TIMELINE_HEADING,
    TRUNCATION_NOTE,
    PostResult,
    digest_of,
    post_retro,
    run_retro,
    truncate_timeline,
)
from sync_incident.retro.render import md_cell, render_html, render_markdown
from sync_incident.retro.svg import LEGEND

__all__ = [
    "LEGEND",
    "SECTIONS",
    "TIMELINE_HEADING",
    "TRUNCATION_NOTE",
    "Format",
    "HandoffRow",
    "HoldRow",
    "LinkRow",
    "NoteRow",
    "Participant",
    "PostResult",
    "Problem",
    "ReleaseRow",
    "Retro",
    "Section",
    "ShipRow",
    "SignoffRow",
    "TenureRow",
    "TimelineRow",
    "Window",
    "Zone",
    "build_retro",
    "digest_of",
    "duration",
    "local_time",
    "md_cell",
    "post_retro",
    "render_html",
    "render_markdown",
    "run_retro",
    "timeline_svg",
    "truncate_timeline",
    "utc",
]
