"""The retrospective in the system's Chromium (Playwright): what a reader sees at 390 and 1400 px.

For the seed story (the demo) and the generated 150-event, 3-day, 15-person incident, on a
phone and on a desktop: no sideways scrolling, no label of the picture over another, no word
broken inside, a page height within budget, and every timeline detail reachable by keyboard.
Screenshots of each page go to ``test-artifacts/retro-NAME-WIDTH.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync_incident.retro import Retro, render_html
from tests.browser import (
    DESKTOP,
    MEASURE_PAGE,
    MEASURE_PICTURE,
    PHONE,
    browser,
    screenshot,
)
from tests.test_retro import _long_retro, demo, demo_db, long, recorded

__all__ = ["browser", "demo", "demo_db", "long", "recorded"]

pytestmark = pytest.mark.slow

SCREENS = 15  # the page-height budget, in screens of the viewport it is read in
A4_LANDSCAPE_PX = 1032  # 297 mm less 2 × 12 mm margins, at 96 px per inch
PAGE_HIGH_PX = 180 / 25.4 * 96  # the print stylesheet's max-height for the picture
SIZES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture(scope="module")
def pages(
    tmp_path_factory: pytest.TempPathFactory, recorded: Retro, demo: Retro, long: Retro
) -> dict[str, Path]:
    """The pages a reader looks at, written once: the seed story (the demo), the recorded
    incident, the long one, and the long one with a backfill from years before."""
    folder = tmp_path_factory.mktemp("pages")
    retros = {
        "seed": demo,
        "recorded": recorded,
        "long": long,
        "long-backfill": _long_retro(ancient=True),
    }
    out = {}
    for name, retro in retros.items():
        out[name] = folder / f"{name}.html"
        out[name].write_text(render_html(retro), encoding="utf-8")
    return out


@pytest.fixture
def page(pages: dict[str, Path], browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; ``size`` (indirect) is "phone" or "desktop" (default). The pages are
    written before the browser starts (the demo runs the CLI, which needs no running loop)."""
    width, height = SIZES[getattr(request, "param", "desktop")]
    context = browser.new_context(
        viewport={"width": width, "height": height}, has_touch=width < 700
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def _open(page: Any, path: Path, media: str = "screen") -> None:
    page.emulate_media(media=media)
    page.goto(path.as_uri())


def _inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (
        inner["l"] >= outer["l"] - 0.5
        and inner["r"] <= outer["r"] + 0.5
        and inner["t"] >= outer["t"] - 0.5
        and inner["b"] <= outer["b"] + 0.5
    )


# --- what a reader sees, on a phone and on a desktop -------------------------------------------


@pytest.mark.parametrize("name", ["seed", "recorded", "long"])
@pytest.mark.parametrize("page", ["phone", "desktop"], indirect=True)
def test_the_page_fits_its_screen_and_no_word_breaks(
    page: Any, pages: dict[str, Path], name: str
) -> None:
    _open(page, pages[name])
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    seen = page.evaluate(MEASURE_PAGE)
    picture = page.evaluate(MEASURE_PICTURE)
    shot = screenshot(page, f"retro-{name}-{width}")
    print(f"{shot}: {seen['height']} px high, {seen['height'] / height:.1f} screens")

    assert seen["overflow"] == 0, f"the page scrolls sideways by {seen['overflow']} px"
    assert seen["broken"] == [], "words broken across lines"
    assert picture["texts"] > 20 and picture["overlaps"] == []
    assert seen["height"] <= SCREENS * height, f"{seen['height'] / height:.1f} screens"


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_on_a_phone_the_page_is_one_column_and_the_picture_keeps_its_size(
    page: Any, pages: dict[str, Path]
) -> None:
    _open(page, pages["long"])
    summary, impact = (page.locator(s).bounding_box() for s in ("#summary", "#impact"))
    assert impact["y"] >= summary["y"] + summary["height"], "impact is below the summary"
    region = page.locator(".picture").bounding_box()
    svg = page.locator("svg.timeline").bounding_box()
    assert svg["width"] >= 1180 > region["width"], "the picture scrolls at full size"
    row = page.locator("ol.timeline li[data-event] summary").nth(5).bounding_box()
    assert row["width"] >= 350, "a timeline row is a stacked block, as wide as the screen"


@pytest.mark.parametrize("name", ["seed", "long"])
@pytest.mark.parametrize("page", ["phone", "desktop"], indirect=True)
def test_a_timeline_detail_opens_from_the_keyboard(
    page: Any, pages: dict[str, Path], name: str
) -> None:
    _open(page, pages[name])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    found = None
    for _ in range(400):  # through the links of the page and of the picture
        page.keyboard.press("Tab")
        found = page.evaluate(
            "(() => { const e = document.activeElement;"
            " return e.matches('ol.timeline summary') ? e.parentElement.parentElement.id : null;"
            " })()"
        )
        if found:
            break
    assert found, "no timeline row takes the focus"
    row = page.locator(f"#{found}")
    assert not row.locator(".tl-more").is_visible()
    page.keyboard.press("Enter")
    assert row.locator("details").get_attribute("open") is not None
    assert row.locator(".tl-more").is_visible()
    assert "UTC" in row.locator(".tl-more").inner_text()


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_a_tap_on_a_mark_of_the_picture_leads_to_its_row(page: Any, pages: dict[str, Path]) -> None:
    _open(page, pages["seed"])
    mark = page.locator("svg.timeline a").first
    target = mark.get_attribute("href")
    mark.scroll_into_view_if_needed()
    mark.tap()
    assert page.evaluate("location.hash") == target
    assert page.locator(f"li{target}").is_visible()


def test_the_skip_link_and_the_link_back_are_there(page: Any, pages: dict[str, Path]) -> None:
    _open(page, pages["recorded"])
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert skip.is_visible() and skip.get_attribute("href") == "#main"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    assert page.locator("#back").get_attribute("href", timeout=1000) is not None
    assert page.locator("main").count() == 1


# --- the picture ---------------------------------------------------------------------------------

PICTURE = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
                       return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const svg = document.getElementById("timeline");
  return {
    svg: box(svg),
    plot: box(svg.querySelector("rect.plot-area")),
    texts: [...svg.querySelectorAll("text")].map((e) => ({text: e.textContent, ...box(e)})),
    markers: [...svg.querySelectorAll("g.marker")]
      .map((e) => ({utc: e.dataset.utc, event: e.dataset.event, ...box(e)})),
    milestones: Object.fromEntries([...svg.querySelectorAll("g[data-milestone]")]
      .map((e) => [e.dataset.milestone, e.dataset.utc])),
    breaks: svg.querySelectorAll("g.axis-break").length,
    lanes: [...svg.querySelectorAll("g.lane")].map((e) => e.dataset.lane),
    kinds: [...svg.querySelectorAll("g.marker")].map((e) => e.dataset.marker),
    titled: [...svg.querySelectorAll("g.marker, g.lane, rect.ic-tenure")]
      .every((e) => e.firstElementChild && e.firstElementChild.tagName === "title"),
    linked: [...svg.querySelectorAll("g.marker")].every((e) => e.parentElement.tagName === "a"),
    scroll: document.documentElement.scrollWidth,
    viewport: document.documentElement.clientWidth,
  };
}"""


def test_the_picture_has_every_lane_and_marker(page: Any, pages: dict[str, Path]) -> None:
    _open(page, pages["recorded"])
    seen = page.evaluate(PICTURE)
    assert seen["lanes"] == ["alice", "kenji", "beatrice", "quinn", "morgan"]
    for kind, count in {
        "hold-raised": 1,
        "hold-released": 1,
        "signoff": 2,
        "handoff-offered": 3,
        "handoff-accepted": 2,
        "handoff-declined": 1,
        "ship": 1,
    }.items():
        assert seen["kinds"].count(kind) == count, kind
    assert seen["titled"] and seen["linked"]
    assert set(seen["milestones"]) == {"first-sign", "opened", "mitigated", "resolved"}


@pytest.mark.parametrize("name", ["recorded", "seed", "long", "long-backfill"])
def test_every_marker_and_label_stays_inside_the_picture(
    page: Any, pages: dict[str, Path], name: str
) -> None:
    _open(page, pages[name])
    seen = page.evaluate(PICTURE)
    assert [t["text"] for t in seen["texts"] if not _inside(t, seen["svg"])] == []
    assert [m["event"] for m in seen["markers"] if not _inside(m, seen["plot"])] == []
    assert seen["scroll"] <= seen["viewport"]


def test_an_ancient_backfill_does_not_squeeze_the_incident_to_the_edge(
    page: Any, pages: dict[str, Path]
) -> None:
    _open(page, pages["long-backfill"])
    seen = page.evaluate(PICTURE)
    assert seen["breaks"] == 1, "the axis breaks around the years without events"
    opened, resolved = seen["milestones"]["opened"], seen["milestones"]["resolved"]
    own = [(m["l"] + m["r"]) / 2 for m in seen["markers"] if opened <= m["utc"] <= resolved]
    assert len(own) >= 140
    width = seen["plot"]["r"] - seen["plot"]["l"]
    assert (max(own) - min(own)) / width >= 0.7, "the incident's hours use most of the axis"


@pytest.mark.parametrize("name", ["recorded", "long-backfill"])
def test_print_layout_fits_a4_landscape(pages: dict[str, Path], browser: Any, name: str) -> None:
    context = browser.new_context(viewport={"width": A4_LANDSCAPE_PX, "height": 1000})
    try:
        page = context.new_page()
        _open(page, pages[name], media="print")
        seen = page.evaluate(PICTURE)
        picture = page.evaluate(MEASURE_PICTURE)
    finally:
        context.close()
    assert seen["scroll"] <= A4_LANDSCAPE_PX, "nothing is cut at the right margin"
    assert seen["svg"]["r"] - seen["svg"]["l"] <= A4_LANDSCAPE_PX + 0.5
    assert seen["svg"]["b"] - seen["svg"]["t"] <= PAGE_HIGH_PX + 0.5, "the picture fits one page"
    assert picture["overlaps"] == []
