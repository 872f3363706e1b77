"""The timeline picture: one inline SVG, a lane per participant."""

from __future__ import annotations

import html
import math
from datetime import UTC, datetime, timedelta

from sync_incident.retro.model import Retro, duration, utc

LANE_H = 46
LABEL_W = 190
PLOT_W = 960
RIGHT = 30
TOP = 74  # room for the axis and the impact band
WIDTH = LABEL_W + PLOT_W + RIGHT

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
_MARKER_OF = {
    "hold.raised": "hold-raised",
    "hold.released": "hold-released",
    "signoff.given": "signoff",
    "signoff.revoked": "signoff-revoked",
    "handoff.offered": "handoff-offered",
    "handoff.accepted": "handoff-accepted",
    "handoff.declined": "handoff-declined",
    "ship": "ship",
}


def _el(tag: str, attrs: dict[str, object], children: str = "", text: str = "") -> str:
    parts = [tag]
    for key, value in attrs.items():
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f'{key}="{html.escape(str(value), quote=True)}"')
    inner = html.escape(text, quote=False) + children
    return f"<{' '.join(parts)}>{inner}</{tag}>"


def _title(text: str) -> str:
    return _el("title", {}, text=text)


def _shape(kind: str, x: float, y: float, backfilled: bool = False) -> str:
    """The glyph of a marker kind centred on (x, y)."""
    colour = LEGEND[kind][1]
    stroke = {"stroke": "#ffffff", "stroke-width": 1.2}
    if kind == "hold-raised":
        pts = f"{x - 7:.1f},{y - 6:.1f} {x + 7:.1f},{y - 6:.1f} {x:.1f},{y + 7:.1f}"
        return _el("polygon", {"points": pts, "fill": colour, **stroke})
    if kind == "hold-released":
        pts = f"{x - 7:.1f},{y + 6:.1f} {x + 7:.1f},{y + 6:.1f} {x:.1f},{y - 7:.1f}"
        return _el("polygon", {"points": pts, "fill": colour, **stroke})
    if kind == "signoff":
        return _el("circle", {"cx": x, "cy": y, "r": 6.5, "fill": colour, **stroke}) + _el(
            "path",
            {
                "d": f"M{x - 3:.1f},{y:.1f} l2.2,2.4 l4,-5",
                "fill": "none",
                "stroke": "#ffffff",
                "stroke-width": 1.8,
            },
        )
    if kind == "signoff-revoked":
        return _el("circle", {"cx": x, "cy": y, "r": 6.5, "fill": colour, **stroke}) + _el(
            "path",
            {
                "d": f"M{x - 3:.1f},{y - 3:.1f} l6,6 M{x + 3:.1f},{y - 3:.1f} l-6,6",
                "stroke": "#ffffff",
                "stroke-width": 1.8,
            },
        )
    if kind.startswith("handoff-"):
        pts = f"{x:.1f},{y - 8:.1f} {x + 8:.1f},{y:.1f} {x:.1f},{y + 8:.1f} {x - 8:.1f},{y:.1f}"
        fill = "#ffffff" if kind == "handoff-offered" else colour
        out = _el("polygon", {"points": pts, "fill": fill, "stroke": colour, "stroke-width": 2})
        if kind == "handoff-declined":
            out += _el(
                "path",
                {
                    "d": f"M{x - 3:.1f},{y - 3:.1f} l6,6 M{x + 3:.1f},{y - 3:.1f} l-6,6",
                    "stroke": "#ffffff",
                    "stroke-width": 1.8,
                },
            )
        return out
    if kind == "ship":
        pts = " ".join(
            f"{x + r * math.sin(a * math.pi / 5):.1f},{y - r * math.cos(a * math.pi / 5):.1f}"
            for a, r in ((i, 9.0 if i % 2 == 0 else 4.0) for i in range(10))
        )
        return _el("polygon", {"points": pts, "fill": colour, **stroke})
    if kind == "ic-tenure":
        return _el(
            "rect",
            {"x": x - 10, "y": y - 6, "width": 20, "height": 12, "rx": 3, "fill": colour},
        )
    return _el(
        "circle",
        {
            "cx": x,
            "cy": y,
            "r": 3.5,
            "fill": "#ffffff" if backfilled else colour,
            "stroke": colour,
            "stroke-width": 1.5,
        },
    )


def _ticks(start: datetime, end: datetime) -> tuple[timedelta, list[datetime]]:
    span = end - start
    steps = [timedelta(minutes=m) for m in (15, 30, 60, 120, 180, 360, 720)]
    steps += [timedelta(days=d) for d in (1, 2, 7)]
    step = next((s for s in steps if span / s <= 12), steps[-1])
    base = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tick = base
    out = []
    while tick <= end:
        if tick >= start:
            out.append(tick)
        tick += step
    return step, out


def timeline_svg(retro: Retro) -> str:
    """The picture: a lane per participant, IC bars, markers, handoff links, the impact band.

    Every lane is ``<g class="lane" data-lane=PERSON>``; every marker is
    ``<g class="marker marker-KIND" data-marker=KIND data-event=ID data-person=PERSON>``;
    IC bars are ``<rect class="ic-tenure" data-person=PERSON>``; each has a ``<title>``.
    """
    w = retro.window
    lanes = [p.person for p in retro.participants]
    times = [r.at for r in retro.timeline]
    start = min([*times, *([w.opened_at] if w.opened_at else []), w.as_of])
    end = max([*times, w.as_of])
    if end - start < timedelta(hours=1):
        end = start + timedelta(hours=1)
    pad = (end - start) * 0.03
    t0, t1 = start - pad, end + pad

    def xof(moment: datetime) -> float:
        return LABEL_W + PLOT_W * ((moment - t0) / (t1 - t0))

    lane_y: dict[str, float] = {p: float(TOP + i * LANE_H) for i, p in enumerate(lanes)}
    bottom = TOP + max(1, len(lanes)) * LANE_H
    legend_rows = math.ceil(len(LEGEND) / 4) + 1
    height = bottom + 44 + legend_rows * 22
    out: list[str] = []

    # axis: a vertical grid line per tick, labels on top and bottom (UTC)
    step, ticks = _ticks(t0, t1)
    grid = []
    for tick in ticks:
        x = xof(tick)
        midnight = tick.hour == 0 and tick.minute == 0
        label = tick.strftime("%a %d %b") if midnight or step >= timedelta(days=1) else ""
        label = label or tick.strftime("%H:%M")
        cls = "tick day" if midnight else "tick"
        line = _el(
            "line",
            {
                "x1": x,
                "x2": x,
                "y1": 26,
                "y2": bottom,
                "class": cls,
                "stroke": "#9e9e9e" if midnight else "#e0e0e0",
                "stroke-width": 1.2 if midnight else 1,
            },
        )
        top_label = _el(
            "text",
            {"x": x, "y": 20, "text-anchor": "middle", "class": "tick-label"},
            text=label,
        )
        bottom_label = _el(
            "text",
            {"x": x, "y": bottom + 16, "text-anchor": "middle", "class": "tick-label"},
            text=label,
        )
        grid.append(
            _el(
                "g",
                {"class": "axis-tick", "data-utc": tick.strftime("%Y-%m-%dT%H:%MZ")},
                line + top_label + bottom_label,
            )
        )
    out.append(
        _el(
            "text",
            {"x": LABEL_W - 8, "y": 20, "text-anchor": "end", "class": "axis-title"},
            # without a midnight tick the labels carry no date: name the day here
            text="UTC"
            if any(t.hour == 0 and t.minute == 0 for t in ticks)
            else f"UTC, {t0:%a %d %b %Y}",
        )
    )

    # lanes
    lane_parts = []
    for i, person in enumerate(lanes):
        y = lane_y[person]
        p = retro.participants[i]
        where = p.timezone or "timezone not configured"
        teams = ", ".join(p.teams) or "no team"
        tip = f"{p.name} ({person}) · {teams} · {where} · IC for {duration(p.ic_minutes)}"
        body = _title(tip)
        body += _el(
            "rect",
            {
                "x": 0,
                "y": y,
                "width": WIDTH,
                "height": LANE_H,
                "fill": "#f7f9fb" if i % 2 == 0 else "#ffffff",
                "class": "lane-bg",
            },
        )
        body += _el("text", {"x": 8, "y": y + 19, "class": "lane-name"}, text=f"{p.name} · {teams}")
        body += _el(
            "text",
            {"x": 8, "y": y + 35, "class": "lane-zone"},
            text=p.timezone or "timezone not configured",
        )
        lane_parts.append(
            _el(
                "g",
                {"class": "lane", "id": f"lane-{person}", "data-lane": person},
                body,
            )
        )
    out.extend(lane_parts)
    out.extend(grid)

    # impact band and milestone lines
    band_y = 30
    band: list[str] = []
    if w.opened_at is not None:
        mitigated_or_end = w.mitigated_at or w.resolved_at or w.as_of
        band.append(
            _el(
                "rect",
                {
                    "x": xof(w.opened_at),
                    "y": band_y,
                    "width": max(1.0, xof(mitigated_or_end) - xof(w.opened_at)),
                    "height": 16,
                    "fill": "#ef9a9a",
                    "class": "impact impact-open",
                },
                _title(
                    f"impact: opened {utc(w.opened_at)} → "
                    f"{'mitigated ' + utc(w.mitigated_at) if w.mitigated_at else 'not mitigated'}"
                ),
            )
        )
        if w.mitigated_at is not None:
            band.append(
                _el(
                    "rect",
                    {
                        "x": xof(w.mitigated_at),
                        "y": band_y,
                        "width": max(1.0, xof(w.resolved_at or w.as_of) - xof(w.mitigated_at)),
                        "height": 16,
                        "fill": "#ffe082",
                        "class": "impact impact-mitigated",
                    },
                    _title(
                        f"mitigated {utc(w.mitigated_at)} → "
                        f"{'resolved ' + utc(w.resolved_at) if w.resolved_at else 'not resolved'}"
                    ),
                )
            )
        band.append(
            _el(
                "text",
                {"x": LABEL_W - 8, "y": band_y + 12, "text-anchor": "end", "class": "axis-title"},
                text="impact",
            )
        )
    for name, moment in (
        ("opened", w.opened_at),
        ("mitigated", w.mitigated_at),
        ("resolved", w.resolved_at),
    ):
        if moment is None:
            continue
        x = xof(moment)
        band.append(
            _el(
                "g",
                {"class": f"milestone milestone-{name}", "data-milestone": name},
                _title(f"{name} {utc(moment)}")
                + _el(
                    "line",
                    {
                        "x1": x,
                        "x2": x,
                        "y1": band_y,
                        "y2": bottom,
                        "stroke": "#424242",
                        "stroke-width": 1.2,
                        "stroke-dasharray": "4 3",
                    },
                )
                + _el(
                    "text",
                    {"x": x + 3, "y": band_y + 12, "class": "milestone-label"},
                    text=name,
                ),
            )
        )
    out.extend(band)

    # IC tenure bars
    for t in retro.tenures:
        if t.ic not in lane_y:
            continue
        y = lane_y[t.ic]
        x1, x2 = xof(t.since), xof(t.until or w.as_of)
        until = (
            utc(t.until)
            if t.until
            else f"{utc(w.as_of)} ({'resolved' if w.resolved_at else 'still IC'})"
        )
        out.append(
            _el(
                "rect",
                {
                    "x": x1,
                    "y": y + 15,
                    "width": max(2.0, x2 - x1),
                    "height": 16,
                    "rx": 3,
                    "fill": LEGEND["ic-tenure"][1],
                    "class": "ic-tenure",
                    "data-person": t.ic,
                    "data-since": t.since.strftime("%Y-%m-%dT%H:%MZ"),
                },
                _title(
                    f"{retro.name(t.ic)} incident commander {utc(t.since)} → {until}"
                    f" ({duration(t.minutes)})"
                ),
            )
        )

    # hold spans: from raised to released (or the end), under the raiser's lane
    for hold in retro.holds:
        if hold.by not in lane_y:
            continue
        y = lane_y[hold.by] + 38
        x1, x2 = xof(hold.at), xof(hold.released_at or w.as_of)
        out.append(
            _el(
                "line",
                {
                    "x1": x1,
                    "x2": x2,
                    "y1": y,
                    "y2": y,
                    "stroke": LEGEND["hold-raised"][1],
                    "stroke-width": 3,
                    "class": "hold-span",
                    "data-hold": hold.id,
                },
                _title(
                    f"hold on {hold.release} by {retro.name(hold.by)}, {duration(hold.held_minutes)}"
                    + (f", released by {retro.name(hold.released_by)}" if hold.released_by else "")
                ),
            )
        )

    # handoff links: offer → answer
    offers = {r.event_id: r for r in retro.timeline if r.type == "handoff.offered"}
    handoff_by_id = {h.id: h for h in retro.handoffs}
    for h in retro.handoffs:
        if h.answered_at is None or h.status not in ("accepted", "declined"):
            continue
        if h.by not in lane_y or h.to not in lane_y or h.id not in offers:
            continue
        out.append(
            _el(
                "line",
                {
                    "x1": xof(h.offered_at),
                    "y1": lane_y[h.by] + 23,
                    "x2": xof(h.answered_at),
                    "y2": lane_y[h.to] + 23,
                    "stroke": LEGEND[f"handoff-{h.status}"][1],
                    "stroke-width": 1.5,
                    "stroke-dasharray": "5 3",
                    "class": f"handoff-link handoff-link-{h.status}",
                    "data-handoff": h.id,
                },
                _title(
                    f"handoff {retro.name(h.by)} → {retro.name(h.to)} {h.status} after "
                    f"{duration(h.waited_minutes)}"
                ),
            )
        )

    # markers: one per event, at its time, in its actor's lane; minor events first, so the
    # glyphs that matter are drawn on top, and those that would overlap are nudged up or down
    placed: dict[str, list[tuple[float, float]]] = {}
    ordered = sorted(retro.timeline, key=lambda r: r.type in _MARKER_OF)
    for row in ordered:
        if row.actor not in lane_y:
            continue
        kind = _MARKER_OF.get(row.type, "event")
        x, y = xof(row.at), lane_y[row.actor] + 23.0
        if kind != "event":
            taken = placed.setdefault(row.actor, [])
            for dy in (0.0, -11.0, 11.0):
                if all(abs(x - px) >= 14 or abs(y + dy - py) >= 11 for px, py in taken):
                    y += dy
                    break
            taken.append((x, y))
        tip = f"{utc(row.at)} · {row.summary}"
        if row.backfilled:
            tip += f" (backfilled; recorded {utc(row.recorded_at)})"
        if kind.startswith("handoff-") and kind != "handoff-offered":
            offer_id = next(
                (
                    h.id
                    for h in retro.handoffs
                    if h.answered_at == row.recorded_at and h.to == row.actor
                ),
                None,
            )
            if offer_id and offer_id in handoff_by_id:
                tip += f" (waited {duration(handoff_by_id[offer_id].waited_minutes)})"
        attrs: dict[str, object] = {
            "class": f"marker marker-{kind}" + (" backfilled" if row.backfilled else ""),
            "id": f"m-{row.event_id}",
            "data-marker": kind,
            "data-event": row.event_id,
            "data-person": row.actor,
            "data-type": row.type,
            "data-utc": row.at.strftime("%Y-%m-%dT%H:%MZ"),
        }
        out.append(_el("g", attrs, _title(tip) + _shape(kind, x, y, row.backfilled)))

    # legend
    legend_y = bottom + 40
    items = []
    for i, (kind, (text, _)) in enumerate(LEGEND.items()):
        col, row_no = i % 4, i // 4
        x = LABEL_W + col * (PLOT_W // 4)
        y = legend_y + row_no * 22
        items.append(
            _el(
                "g",
                {"class": "legend-item", "data-legend": kind},
                _shape(kind, x + 10, y)
                + _el("text", {"x": x + 24, "y": y + 4, "class": "legend-text"}, text=text),
            )
        )
    y = legend_y + (legend_rows - 1) * 22
    items.append(
        _el(
            "g",
            {"class": "legend-item", "data-legend": "impact"},
            _el("rect", {"x": LABEL_W, "y": y - 5, "width": 20, "height": 10, "fill": "#ef9a9a"})
            + _el(
                "rect",
                {"x": LABEL_W + 22, "y": y - 5, "width": 20, "height": 10, "fill": "#ffe082"},
            )
            + _el(
                "text",
                {"x": LABEL_W + 48, "y": y + 4, "class": "legend-text"},
                text="impact: opened → mitigated (red), mitigated → resolved (amber)",
            )
            + _el(
                "text",
                {"x": LABEL_W + PLOT_W // 2, "y": y + 4, "class": "legend-text"},
                text="dashed: milestones, handoff offer → answer · red line: hold in force",
            ),
        )
    )
    out.append(_el("g", {"class": "legend"}, "".join(items)))

    return _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {height}",
            "width": WIDTH,
            "height": height,
            "role": "img",
            "aria-labelledby": "timeline-title",
            "class": "timeline",
            "id": "timeline",
        },
        _el("title", {"id": "timeline-title"}, text=f"Timeline of {retro.ref}: {retro.title}")
        + "".join(out),
    )
