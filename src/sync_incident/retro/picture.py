"""The timeline picture: one inline SVG, a lane per release and per participant.

From top to bottom: the date and time rows of the axis (UTC), milestone labels, the impact band,
one lane per release (its holds, one row per hold in force at once, each labelled with who
holds it; its sign-offs, revocations and ship decisions), one lane per participant (IC bars,
handoff links, markers and short tags for the decisive ones, each naming its release), the
time row again, and the legend. Every marker is a link to its row in the page's timeline, so
a keyboard or a finger reaches what the hover text says. The axis breaks around long silences
(:mod:`.scale`), and every text label is laid out so that none overlaps another
(:mod:`.layout`); what a label cannot say, or a dropped label would have said, is in the hover
text (``<title>``) of its element.

Stable hooks for tests and styling: every release lane is ``<g class="release-lane"
data-release=RELEASE>``, its hold spans ``<line class="hold-span" data-hold=ID
data-release=RELEASE data-person=PERSON>``; every lane is ``<g class="lane" data-lane=PERSON>``; every
marker is ``<g class="marker marker-KIND" data-marker=KIND data-event=ID data-person=PERSON
data-utc=…>``; IC bars are ``<rect class="ic-tenure" data-person=PERSON>``; milestones are
``<g data-milestone=NAME data-utc=…>``; breaks are ``<g class="axis-break">``; the plot area is
``<rect class="plot-area">``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sync_incident.core.releases import release_key
from sync_incident.core.times import duration, minutes_between, stamp
from sync_incident.retro.layout import Label, Placed, fit, place, text_width
from sync_incident.retro.model import HoldRow, Retro, TimelineRow, utc
from sync_incident.retro.scale import Break, Tick, TimeScale, build_scale
from sync_incident.retro.svg import FONTS, LEGEND, MARKER_OF, el, shape, text, title

LABEL_W = 190  # the lane names, left of the plot
PLOT_W = 960
RIGHT = 30
WIDTH = LABEL_W + PLOT_W + RIGHT
PLOT_LOW, PLOT_HIGH = float(LABEL_W), float(LABEL_W + PLOT_W)

DATE_Y, TIME_Y = 14.0, 29.0  # baselines of the axis rows
MILESTONE_ROWS = (61.0, 47.0)  # baselines, nearest the band first
BAND_Y, BAND_H = 66.0, 14.0
TOP = 88.0  # the first lane
RELEASE_H = 30.0  # a release lane without holds; each row of holds adds HOLD_ROW
HOLD_ROW = 22.0
NUDGE = 12.0  # how far a decisive marker moves up or down to clear another
LANE_H = 42.0
MARK_DY, TAG_DY = 17.0, 37.0  # within a lane: markers, their tags

_TAG_PRIORITY = {"ship": 5, "hold-raised": 4, "signoff-revoked": 4, "hold-released": 3}


@dataclass(frozen=True)
class _Frame:
    retro: Retro
    scale: TimeScale
    lane_y: dict[str, float]
    bottom: float
    release_y: dict[str, tuple[float, float]]  # release key -> (top, height) of its lane
    hold_row: dict[str, int]  # hold id -> its row within the release lane

    def x(self, moment: datetime) -> float:
        return self.scale.x(moment)


def timeline_svg(retro: Retro) -> str:
    """The picture of ``retro`` as one ``<svg>`` element (no scripts, no external references)."""
    frame = _frame(retro)
    legend, legend_h = _legend(frame.bottom + 34, broken=bool(frame.scale.breaks))
    parts = [
        *_release_lanes(frame),
        *_lanes(frame),
        _plot_area(frame),
        *_grid(frame),
        *_impact(frame),
        *_tenures(frame),
        *_holds(frame),
        *_release_marks(frame),
        *_handoff_links(frame),
        *_breaks(frame),
        *_milestones(frame),
        *_markers(frame),
        *_tags(frame),
        legend,
    ]
    height = frame.bottom + 34 + legend_h
    attrs = {
        "xmlns": "http://www.w3.org/2000/svg",
        "viewBox": f"0 0 {WIDTH} {height:.0f}",
        "width": WIDTH,
        "height": f"{height:.0f}",
        "role": "img",
        "aria-labelledby": "timeline-title",
        "class": "timeline",
        "id": "timeline",
    }
    caption = f"Timeline of {retro.ref}: {retro.title}"
    return el("svg", attrs, el("title", {"id": "timeline-title"}, text=caption) + "".join(parts))


def _frame(retro: Retro) -> _Frame:
    w = retro.window
    moments = [r.at for r in retro.timeline] + [w.as_of]
    moments += [m for m in (w.opened_at, w.mitigated_at, w.resolved_at, w.first_sign_at) if m]
    moments += [t.since for t in retro.tenures] + [h.at for h in retro.holds]
    scale = build_scale(moments, PLOT_LOW, PLOT_HIGH)
    hold_row = _hold_rows(retro, scale)
    release_y: dict[str, tuple[float, float]] = {}
    top = TOP
    for row in retro.release_rows:
        rows = {hold_row[h.id] for h in retro.holds if _same(h.release, row.release)}
        height = RELEASE_H + HOLD_ROW * len(rows)
        release_y[release_key(row.release)] = (top, height)
        top += height
    lanes = [p.person for p in retro.participants]
    lane_y = {p: top + i * LANE_H for i, p in enumerate(lanes)}
    bottom = top + max(1, len(lanes)) * LANE_H
    return _Frame(retro, scale, lane_y, bottom, release_y, hold_row)


def _same(a: str, b: str) -> bool:
    return release_key(a) == release_key(b)


def _hold_rows(retro: Retro, scale: TimeScale) -> dict[str, int]:
    """Per release, the first row where a hold (and its label) overlaps no other hold."""
    rows: dict[str, int] = {}
    taken: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for hold in sorted(retro.holds, key=lambda h: h.at):
        left = min(scale.x(hold.at), PLOT_HIGH - _hold_label_w(retro, hold))
        end = scale.x(hold.released_at or retro.window.as_of)
        right = max(end, left + _hold_label_w(retro, hold) + 8)
        row = 0
        while any(
            left < b + 6 and a < right + 6
            for a, b in taken.get((release_key(hold.release), row), [])
        ):
            row += 1
        taken.setdefault((release_key(hold.release), row), []).append((left, right))
        rows[hold.id] = row
    return rows


def _hold_label_w(retro: Retro, hold: HoldRow) -> float:
    return text_width(_hold_label(retro, hold), *FONTS["hold-label"])


def _hold_label(retro: Retro, hold: HoldRow) -> str:
    return f"held by {retro.name(hold.by)}"


def _plot_area(frame: _Frame) -> str:
    """Invisible: where markers may go (the browser test measures against it)."""
    box = {"x": PLOT_LOW, "y": TIME_Y + 4, "width": PLOT_W, "height": frame.bottom - TIME_Y - 4}
    return el("rect", {"class": "plot-area", **box, "fill": "none"})


# --- the axis ----------------------------------------------------------------------------------


def _grid(frame: _Frame) -> Iterator[str]:
    """A grid line per tick (darker at midnight), then the axis labels."""
    ticks = frame.scale.ticks()
    for tick in ticks:
        if tick.grid:
            colour, weight = ("#9e9e9e", 1.2) if tick.day else ("#e0e0e0", 1.0)
            ends = {"x1": tick.x, "x2": tick.x, "y1": TIME_Y + 4, "y2": frame.bottom}
            attrs = {**ends, "stroke": colour, "stroke-width": weight}
            yield el("line", {"class": "tick day" if tick.day else "tick", **attrs})
    yield from _axis_labels(frame, ticks)


def _axis_labels(frame: _Frame, ticks: list[Tick]) -> Iterator[str]:
    """The date row, the time row (top and bottom) with each break's length, the axis title.

    In the date row a segment's first day (with its year) wins over the midnights after it;
    in the time row a break's length wins over the ticks beside it.
    """
    date_font, time_font = FONTS["date-label"], FONTS["tick-label"]
    dates = [
        Label(f"d{i}", t.date_label, t.x, *date_font, priority=2 if t.grid else 3)
        for i, t in enumerate(ticks)
        if t.date_label
    ]
    times = [
        Label(f"t{i}", t.time_label, t.x, *time_font, priority=1)
        for i, t in enumerate(ticks)
        if t.time_label
    ]
    gaps = [
        Label(f"b{i}", _gap(b), b.centre, *FONTS["break-label"], priority=9)
        for i, b in enumerate(frame.scale.breaks)
    ]
    for placed in place(dates, rows=1, low=PLOT_LOW, high=PLOT_HIGH):
        yield _label(placed, DATE_Y, "date-label")
    for placed in place(times + gaps, rows=1, low=PLOT_LOW, high=PLOT_HIGH):
        if placed.label in gaps:
            yield _label(placed, TIME_Y, "break-label")
        else:
            yield _label(placed, TIME_Y, "tick-label")
            yield _label(placed, frame.bottom + 15, "tick-label")
    yield text(LABEL_W - 8, TIME_Y, "UTC", "axis-title", "end")


def _label(placed: Placed, y: float, cls: str) -> str:
    return text(placed.centre, y, placed.label.text, cls, "middle")


def _gap(b: Break) -> str:
    days = (b.after - b.before).total_seconds() / 86400
    if days >= 365:
        return f"{days / 365.25:.1f} y"
    return f"{days:.0f} d" if days >= 2 else f"{days * 24:.0f} h"


def _breaks(frame: _Frame) -> Iterator[str]:
    """Each skipped gap: a torn white column across the plot, with its length in the hover."""
    for b in frame.scale.breaks:
        tip = (
            f"The axis skips {duration(minutes_between(b.before, b.after))} "
            f"without events: {utc(b.before)} → {utc(b.after)}"
        )
        top, bottom = TIME_Y + 4, frame.bottom
        body = el(
            "rect",
            {
                "x": b.left + 6,
                "y": top,
                "width": b.right - b.left - 12,
                "height": bottom - top,
                "fill": "#ffffff",
            },
        )
        for edge in (b.left + 6, b.right - 6):
            zigzag = " ".join(
                f"{edge + (3 if i % 2 else -3):.1f},{y:.1f}"
                for i, y in enumerate(range(int(top), int(bottom) + 1, 6))
            )
            body += el(
                "polyline",
                {"points": zigzag, "fill": "none", "stroke": "#757575", "stroke-width": 1.2},
            )
        yield el(
            "g",
            {"class": "axis-break", "data-before": stamp(b.before), "data-after": stamp(b.after)},
            title(tip) + body,
        )


# --- the impact band and milestones ------------------------------------------------------------


def _impact(frame: _Frame) -> Iterator[str]:
    w = frame.retro.window
    if w.opened_at is None:
        return
    yield text(LABEL_W - 8, BAND_Y + 11, "impact", "axis-title", "end")
    red_end = w.mitigated_at or w.resolved_at or w.as_of
    mitigated = f"mitigated {utc(w.mitigated_at)}" if w.mitigated_at else "not mitigated"
    yield _band(
        frame,
        w.opened_at,
        red_end,
        "#ef9a9a",
        "impact impact-open",
        f"impact: opened {utc(w.opened_at)} → {mitigated}",
    )
    if w.mitigated_at is not None:
        resolved = f"resolved {utc(w.resolved_at)}" if w.resolved_at else "not resolved"
        yield _band(
            frame,
            w.mitigated_at,
            w.resolved_at or w.as_of,
            "#ffe082",
            "impact impact-mitigated",
            f"mitigated {utc(w.mitigated_at)} → {resolved}",
        )


def _band(frame: _Frame, start: datetime, end: datetime, fill: str, cls: str, tip: str) -> str:
    x1, x2 = frame.x(start), frame.x(end)
    box = {"x": x1, "y": BAND_Y, "width": max(1.0, x2 - x1), "height": BAND_H}
    return el("rect", {**box, "fill": fill, "class": cls}, title(tip))


def _milestone_label(name: str, x: float) -> Label:
    """Right of its line, or left of it where the picture ends."""
    priority = {"opened": 4, "mitigated": 3, "resolved": 3, "first sign": 2}[name]
    size, bold = FONTS["milestone-label"]
    label = Label(name, name, x + 3, size, bold, priority, "start", stem=x)
    if x + 3 + label.width > WIDTH - 2:
        label = Label(name, name, x - 3, size, bold, priority, "end", stem=x)
    return label


def _milestones(frame: _Frame) -> Iterator[str]:
    """Dashed lines with labels staggered over two rows; a label with no room is dropped."""
    w = frame.retro.window
    moments = {
        "first sign": w.first_sign_at,
        "opened": w.opened_at,
        "mitigated": w.mitigated_at,
        "resolved": w.resolved_at,
    }
    labels = [_milestone_label(name, frame.x(m)) for name, m in moments.items() if m is not None]
    rows = len(MILESTONE_ROWS)
    placed = {p.label.key: p for p in place(labels, rows=rows, low=PLOT_LOW, high=WIDTH - 2)}
    for name, moment in moments.items():
        if moment is None:
            continue
        x, spot = frame.x(moment), placed.get(name)
        line = {"x1": x, "x2": x, "y2": frame.bottom, "stroke": "#424242", "stroke-width": 1.2}
        line["y1"] = MILESTONE_ROWS[spot.row] - 9 if spot else BAND_Y
        body = el("line", {**line, "stroke-dasharray": "4 3"})
        if spot is not None:
            body += text(spot.centre, MILESTONE_ROWS[spot.row], name, "milestone-label", "middle")
        slug = name.replace(" ", "-")
        attrs = {"class": f"milestone milestone-{slug}", "data-milestone": slug}
        yield el("g", {**attrs, "data-utc": stamp(moment)}, title(f"{name} {utc(moment)}") + body)


# --- the lanes ---------------------------------------------------------------------------------


def _lanes(frame: _Frame) -> Iterator[str]:
    """A band per participant: name and teams, timezone; the hover says it all."""
    for i, p in enumerate(frame.retro.participants):
        y = frame.lane_y[p.person]
        teams = ", ".join(p.teams) or "no team"
        where = p.timezone or "timezone not configured"
        tip = f"{p.name} ({p.person}) · {teams} · {where} · IC for {duration(p.ic_minutes)}"
        fill = "#f7f9fb" if i % 2 == 0 else "#ffffff"
        box = {"x": 0, "y": y, "width": WIDTH, "height": LANE_H, "fill": fill}
        name = fit(f"{p.name} · {teams}", *FONTS["lane-name"], LABEL_W - 16)
        body = title(tip) + el("rect", {**box, "class": "lane-bg"})
        body += text(8, y + 17, name, "lane-name")
        body += text(8, y + 32, fit(where, *FONTS["lane-zone"], LABEL_W - 16), "lane-zone")
        yield el("g", {"class": "lane", "id": f"lane-{p.person}", "data-lane": p.person}, body)


def _tenures(frame: _Frame) -> Iterator[str]:
    r, w = frame.retro, frame.retro.window
    for t in r.tenures:
        if t.ic not in frame.lane_y:
            continue
        x1, x2 = frame.x(t.since), frame.x(t.until or w.as_of)
        ended = "resolved" if w.resolved_at else "still IC"
        until = utc(t.until) if t.until else f"{utc(w.as_of)} ({ended})"
        tip = f"{r.name(t.ic)} incident commander {utc(t.since)} → {until} ({duration(t.minutes)})"
        box = {"x": x1, "y": frame.lane_y[t.ic] + MARK_DY - 8, "width": max(2.0, x2 - x1)}
        attrs = {**box, "height": 16, "rx": 3, "fill": LEGEND["ic-tenure"][1]}
        data = {"class": "ic-tenure", "data-person": t.ic, "data-since": stamp(t.since)}
        yield el("rect", {**attrs, **data}, title(tip))


def _release_lanes(frame: _Frame) -> Iterator[str]:
    """A band per release: its name, and the gate's verdict at the end of the record."""
    for row in frame.retro.release_rows:
        top, height = frame.release_y[release_key(row.release)]
        box = {"x": 0, "y": top, "width": WIDTH, "height": height, "fill": "#fff8f6"}
        body = el("rect", {**box, "class": "release-bg"})
        body += el("line", {"x1": 0, "x2": WIDTH, "y1": top, "y2": top, "stroke": "#e0e0e0"})
        name = fit(row.release, *FONTS["release-name"], LABEL_W - 16)
        body += text(8, top + 19, name, "release-name")
        shipped = "ship decision" if row.mitigated_at else "no ship decision"
        body += text(8, top + 19 + 14, f"{row.verdict.lower()}, {shipped}", "lane-zone")
        attrs = {"class": "release-lane", "data-release": row.release}
        yield el("g", attrs, title(f"{row.release}: {row.verdict}") + body)


def _holds(frame: _Frame) -> Iterator[str]:
    """From raised to released (or the end), in the release's lane, labelled with who holds it."""
    r = frame.retro
    for hold in r.holds:
        lane = frame.release_y.get(release_key(hold.release))
        if lane is None:
            continue
        y = lane[0] + RELEASE_H - 4 + HOLD_ROW * frame.hold_row[hold.id]
        x1, x2 = frame.x(hold.at), frame.x(hold.released_at or r.window.as_of)
        tip = f"hold on {hold.release} by {r.name(hold.by)}, {duration(hold.held_minutes)}"
        if hold.released_by:
            tip += f", released by {r.name(hold.released_by)}"
        line = {
            "x1": x1,
            "x2": max(x2, x1 + 2),
            "y1": y,
            "y2": y,
            "stroke": LEGEND["hold-raised"][1],
        }
        attrs = {**line, "stroke-width": 5, "class": "hold-span", "data-hold": hold.id}
        attrs |= {"data-release": hold.release, "data-person": hold.by}
        words = _hold_label(r, hold)
        at = min(x1, PLOT_HIGH - _hold_label_w(r, hold))
        label = text(at, y + 15, words, "hold-label", data_hold=hold.id)
        yield el("g", {"class": "hold"}, el("line", attrs, title(tip)) + label)


def _release_marks(frame: _Frame) -> Iterator[str]:
    """Sign-offs, revocations and ship decisions again, in the lane of the release they name."""
    r = frame.retro
    for row in r.timeline:
        kind = MARKER_OF.get(row.type, "")
        lane = frame.release_y.get(release_key(row.release)) if row.release else None
        if lane is None or kind not in ("signoff", "signoff-revoked", "ship"):
            continue
        x, y = frame.x(row.at), lane[0] + 12
        body = title(f"{utc(row.at)} · {row.summary}") + shape(kind, x, y)
        attrs = {"class": "release-mark", "data-kind": kind, "data-event": row.event_id}
        yield _link(row, el("g", attrs, body))


def _link(row: TimelineRow, body: str) -> str:
    """``body`` as a link to the event's row in the timeline (keyboard and touch reach it)."""
    label = f"{utc(row.at)}: {row.summary}"
    return el("a", {"href": f"#e-{row.event_id}", "aria-label": label}, body)


def _handoff_links(frame: _Frame) -> Iterator[str]:
    """A dashed line from each offer to its answer, between the two lanes."""
    r = frame.retro
    offers = {row.event_id for row in r.timeline if row.type == "handoff.offered"}
    for h in r.handoffs:
        if h.answered_at is None or h.status not in ("accepted", "declined"):
            continue
        if h.by not in frame.lane_y or h.to not in frame.lane_y or h.id not in offers:
            continue
        ends = {"x1": frame.x(h.offered_at), "y1": frame.lane_y[h.by] + MARK_DY}
        ends |= {"x2": frame.x(h.answered_at), "y2": frame.lane_y[h.to] + MARK_DY}
        stroke = {"stroke": LEGEND[f"handoff-{h.status}"][1], "stroke-width": 1.5}
        attrs = {**ends, **stroke, "stroke-dasharray": "5 3"}
        attrs |= {"class": f"handoff-link handoff-link-{h.status}", "data-handoff": h.id}
        waited = duration(h.waited_minutes)
        tip = f"handoff {r.name(h.by)} → {r.name(h.to)} {h.status} after {waited}"
        yield el("line", attrs, title(tip))


# --- markers and their tags --------------------------------------------------------------------


def _marker_spots(frame: _Frame) -> list[tuple[TimelineRow, str, float, float]]:
    """(row, kind, x, y) per event: minor events first, so the glyphs that matter are on top;
    decisive glyphs that would overlap are nudged up or down within the lane."""
    taken: dict[str, list[tuple[float, float]]] = {}
    out = []
    for row in sorted(frame.retro.timeline, key=lambda r: r.type in MARKER_OF):
        if row.actor not in frame.lane_y:
            continue
        kind = MARKER_OF.get(row.type, "event")
        x, y = frame.x(row.at), frame.lane_y[row.actor] + MARK_DY
        if kind != "event":
            spots = taken.setdefault(row.actor, [])
            for dy in (0.0, -NUDGE, NUDGE):
                if all(abs(x - px) >= 14 or abs(y + dy - py) >= NUDGE for px, py in spots):
                    y += dy
                    break
            spots.append((x, y))
        out.append((row, kind, x, y))
    return out


def _markers(frame: _Frame) -> Iterator[str]:
    r = frame.retro
    waits = {h.answered_at: h for h in r.handoffs if h.answered_at is not None}
    for row, kind, x, y in _marker_spots(frame):
        tip = f"{utc(row.at)} · {row.summary}"
        if row.backfilled:
            tip += f" (backfilled; recorded {utc(row.recorded_at)})"
        answered = waits.get(row.recorded_at)
        if (
            kind in ("handoff-accepted", "handoff-declined")
            and answered
            and answered.to == row.actor
        ):
            tip += f" (waited {duration(answered.waited_minutes)})"
        attrs = {
            "class": f"marker marker-{kind}" + (" backfilled" if row.backfilled else ""),
            "id": f"m-{row.event_id}",
            "data-marker": kind,
            "data-event": row.event_id,
            "data-person": row.actor,
            "data-type": row.type,
            "data-utc": stamp(row.at),
        }
        yield _link(row, el("g", attrs, title(tip) + shape(kind, x, y, row.backfilled)))


def _tags(frame: _Frame) -> Iterator[str]:
    """Short words under decisive markers ("QA", "ship 96.0.2"), one row per lane."""
    lanes: dict[str, list[Label]] = {}
    for row, kind, x, _ in _marker_spots(frame):
        if row.tag:
            priority = _TAG_PRIORITY.get(kind, 2)
            label = Label(row.event_id, row.tag, x, *FONTS["marker-tag"], priority)
            lanes.setdefault(row.actor, []).append(label)
    for person, labels in lanes.items():
        y = frame.lane_y[person] + TAG_DY
        for placed in place(labels, rows=1, low=PLOT_LOW, high=PLOT_HIGH, gap=4):
            tag, key = placed.label.text, placed.label.key
            yield text(placed.centre, y, tag, "marker-tag", "middle", event=key)


# --- the legend --------------------------------------------------------------------------------


def _legend(top: float, *, broken: bool) -> tuple[str, float]:
    """Legend items flowed left to right and wrapped, so no text runs into the next."""
    entries = [(kind, words, 24.0) for kind, (words, _) in LEGEND.items()]
    if broken:
        entries.append(("break", "the axis skips a long quiet stretch (its length above it)", 24.0))
    entries += [
        ("impact", "impact: opened → mitigated (red), mitigated → resolved (amber)", 48.0),
        ("lines", "dashed: milestones, handoff offer → answer · red line: hold in force", 0.0),
    ]
    x, y, out = PLOT_LOW, top, []
    for kind, words, glyph_w in entries:
        width = glyph_w + text_width(words, *FONTS["legend-text"])
        if x + width > WIDTH - 4 and x > PLOT_LOW:
            x, y = PLOT_LOW, y + 22
        body = _legend_glyph(kind, x, y) + text(x + glyph_w, y + 4, words, "legend-text")
        out.append(el("g", {"class": "legend-item", "data-legend": kind}, body))
        x += width + 28
    return el("g", {"class": "legend"}, "".join(out)), y - top + 22


def _legend_glyph(kind: str, x: float, y: float) -> str:
    if kind == "impact":
        red = {"x": x, "y": y - 5, "width": 20, "height": 10, "fill": "#ef9a9a"}
        amber = {**red, "x": x + 22, "fill": "#ffe082"}
        return el("rect", red) + el("rect", amber)
    if kind == "lines":
        return ""
    if kind == "break":
        zigzag = " ".join(
            f"{x + 7 + (3 if i % 2 else -3):.1f},{y - 7 + 3.5 * i:.1f}" for i in range(5)
        )
        return el("polyline", {"points": zigzag, "fill": "none", "stroke": "#757575"})
    return shape(kind, x + 10, y)
