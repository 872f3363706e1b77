"""SVG building blocks: escaped elements, hover titles, and the glyph of each marker kind."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping

# marker kind -> (legend text, colour)
LEGEND: dict[str, tuple[str, str]] = {
    "ic-tenure": ("incident commander (bar)", "#9cc3e6"),
    "hold-raised": ("hold raised", "#c62828"),
    "hold-released": ("hold released", "#2e7d32"),
    "signoff": ("sign-off", "#1565c0"),
    "signoff-revoked": ("sign-off revoked", "#ef6c00"),
    "handoff-offered": ("handoff offered", "#6d4c41"),
    "handoff-accepted": ("handoff accepted", "#6d4c41"),
    "handoff-declined": ("handoff declined", "#b71c1c"),
    "ship": ("ship decision", "#6a1b9a"),
    "event": ("other event (hollow: backfilled)", "#757575"),
}
MARKER_OF = {
    "hold.raised": "hold-raised",
    "hold.released": "hold-released",
    "signoff.given": "signoff",
    "signoff.revoked": "signoff-revoked",
    "handoff.offered": "handoff-offered",
    "handoff.accepted": "handoff-accepted",
    "handoff.declined": "handoff-declined",
    "ship": "ship",
}
_WHITE_EDGE = {"stroke": "#ffffff", "stroke-width": 1.2}

# text class -> (font size in px, bold); the layout estimates widths from the same numbers
FONTS: dict[str, tuple[float, bool]] = {
    "lane-name": (13, True),
    "release-name": (13, True),
    "hold-label": (10, False),
    "lane-zone": (11, False),
    "axis-title": (11, True),
    "date-label": (11, True),
    "tick-label": (11, False),
    "break-label": (10, True),
    "milestone-label": (11, True),
    "marker-tag": (10, False),
    "legend-text": (12, False),
}


def el(tag: str, attrs: Mapping[str, object], children: str = "", text: str = "") -> str:
    """``<tag attrs>text children</tag>``; every attribute value and ``text`` is escaped."""
    parts = [tag]
    for key, value in attrs.items():
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f'{key}="{html.escape(str(value), quote=True)}"')
    inner = html.escape(text, quote=False) + children
    return f"<{' '.join(parts)}>{inner}</{tag}>"


def title(text: str) -> str:
    """The hover text of the enclosing element (its first child, as SVG wants it)."""
    return el("title", {}, text=text)


def text(x: float, y: float, content: str, cls: str, anchor: str = "start", **data: str) -> str:
    """A ``<text>`` in the font of its class (see :data:`FONTS`); ``data`` become ``data-*``
    (``data_hold`` becomes ``data-hold``)."""
    size, bold = FONTS[cls]
    attrs: dict[str, object] = {"x": x, "y": y, "text-anchor": anchor, "class": cls}
    attrs |= {"font-size": f"{size:g}", "font-weight": "bold" if bold else "normal"}
    attrs |= {f"data-{key.replace('_', '-')}": value for key, value in data.items()}
    return el("text", attrs, text=content)


def _points(*xy: tuple[float, float]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)


def _cross(x: float, y: float) -> str:
    d = f"M{x - 3:.1f},{y - 3:.1f} l6,6 M{x + 3:.1f},{y - 3:.1f} l-6,6"
    return el("path", {"d": d, "stroke": "#ffffff", "stroke-width": 1.8})


def _triangle(down: bool) -> Callable[[str, float, float, bool], str]:
    def draw(kind: str, x: float, y: float, backfilled: bool) -> str:
        s = 1 if down else -1
        pts = _points((x - 7, y - 6 * s), (x + 7, y - 6 * s), (x, y + 7 * s))
        return el("polygon", {"points": pts, "fill": LEGEND[kind][1], **_WHITE_EDGE})

    return draw


def _signoff(kind: str, x: float, y: float, backfilled: bool) -> str:
    disc = el("circle", {"cx": x, "cy": y, "r": 6.5, "fill": LEGEND[kind][1], **_WHITE_EDGE})
    if kind == "signoff-revoked":
        return disc + _cross(x, y)
    tick = {"d": f"M{x - 3:.1f},{y:.1f} l2.2,2.4 l4,-5", "fill": "none"}
    return disc + el("path", {**tick, "stroke": "#ffffff", "stroke-width": 1.8})


def _handoff(kind: str, x: float, y: float, backfilled: bool) -> str:
    colour = LEGEND[kind][1]
    pts = _points((x, y - 8), (x + 8, y), (x, y + 8), (x - 8, y))
    fill = "#ffffff" if kind == "handoff-offered" else colour
    out = el("polygon", {"points": pts, "fill": fill, "stroke": colour, "stroke-width": 2})
    return out + (_cross(x, y) if kind == "handoff-declined" else "")


def _star(kind: str, x: float, y: float, backfilled: bool) -> str:
    tips = ((i, 9.0 if i % 2 == 0 else 4.0) for i in range(10))
    pts = _points(
        *((x + r * math.sin(a * math.pi / 5), y - r * math.cos(a * math.pi / 5)) for a, r in tips)
    )
    return el("polygon", {"points": pts, "fill": LEGEND[kind][1], **_WHITE_EDGE})


def _bar(kind: str, x: float, y: float, backfilled: bool) -> str:
    box = {"x": x - 10, "y": y - 6, "width": 20, "height": 12, "rx": 3}
    return el("rect", {**box, "fill": LEGEND[kind][1]})


def _dot(kind: str, x: float, y: float, backfilled: bool) -> str:
    colour = LEGEND[kind][1]
    fill = "#ffffff" if backfilled else colour
    return el(
        "circle",
        {"cx": x, "cy": y, "r": 3.5, "fill": fill, "stroke": colour, "stroke-width": 1.5},
    )


_GLYPHS: dict[str, Callable[[str, float, float, bool], str]] = {
    "hold-raised": _triangle(down=True),
    "hold-released": _triangle(down=False),
    "signoff": _signoff,
    "signoff-revoked": _signoff,
    "handoff-offered": _handoff,
    "handoff-accepted": _handoff,
    "handoff-declined": _handoff,
    "ship": _star,
    "ic-tenure": _bar,
}


def shape(kind: str, x: float, y: float, backfilled: bool = False) -> str:
    """The glyph of a marker kind centred on (x, y); at most 9 px from the centre."""
    return _GLYPHS.get(kind, _dot)(kind, x, y, backfilled)
