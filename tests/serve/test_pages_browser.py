"""The status page and the incident page in the system's Chromium (Playwright), as a release
manager reads them at 2 a.m.: on a phone (390 px) and a desktop (1400 px), in Tokyo.

For a short incident (Firefox 96.0.1 held, a handoff pending) and the generated 150-event,
3-day, 15-person incident (active on its Sunday afternoon): no sideways scrolling, no word
broken inside; the first screen of a phone answers "may 96.0.1 ship, who is in charge, what
blocks, who holds, when is the next update"; times in the reader's zone with ages exact on
hover and focus; timeline entries opened by keyboard; the decisions-only filter with and
without script. Screenshots go to ``test-artifacts/serve-NAME-WIDTH.png``, the heights
measured to ``test-artifacts/serve-pages.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import ARTIFACTS, DESKTOP, MEASURE_PAGE, PHONE, browser, screenshot
from tests.serve.scenes import LONG, LONG_DONE, LONG_STORY, SHORT, TITLE
from tests.serve.world import World, start

__all__ = ["browser"]

pytestmark = pytest.mark.slow

ZONE = "Asia/Tokyo"
INCIDENT = "/incidents/github:acme/releases%231"
LONG_INCIDENT = "/incidents/bugzilla:2"
SCREENS = 15  # the page-height budget on a phone, in screens

# The bottom of the first occurrence of each text in <main>, in page pixels (after scripts)
BOTTOM = """(texts) => {
  const main = document.querySelector("main");
  const out = {};
  for (const text of texts) {
    const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.data.indexOf(text);
      if (at < 0) continue;
      const range = document.createRange();
      range.setStart(node, at);
      range.setEnd(node, at + text.length);
      const box = range.getBoundingClientRect();
      if (box.height > 0) { out[text] = box.bottom + window.scrollY; break; }
    }
  }
  return out;
}"""

# Text whose contrast with what is behind it is under 4.5:1 (WCAG AA for body text): the
# colour of each text's element against the first opaque background up its ancestors
CONTRAST = """() => {
  const rgb = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = (c) => { const f = (v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const behind = (e) => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e)
    .backgroundColor); if (c && c.a > 0) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const low = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const e = node.parentElement;
    if (!node.data.trim() || !e || e.closest("script, style")) continue;
    if (!e.getClientRects().length) continue;  // not rendered (a closed entry, a skip link)
    const fg = rgb(getComputedStyle(e).color), bg = behind(e);
    const mix = {r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a),
                 b: fg.b * fg.a + bg.b * (1 - fg.a)};
    const [hi, lo] = [lum(mix), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    if (ratio < 4.5) low.push(node.data.trim().slice(0, 40) + " " + ratio.toFixed(2));
  }
  return low;
}"""


@pytest.fixture
def short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    running = start(tmp_path, monkeypatch, issues=3, discover=True, scene=SHORT)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    running = start(tmp_path, monkeypatch, issues=0, discover=True, scene=LONG)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def long_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    running = start(tmp_path, monkeypatch, issues=0, discover=True, scene=LONG_DONE)
    try:
        yield running
    finally:
        running.close()


def _context(browser: Any, size: tuple[int, int], *, script: bool = True) -> Any:
    width, height = size
    return browser.new_context(
        viewport={"width": width, "height": height},
        timezone_id=ZONE,
        has_touch=width < 700,
        java_script_enabled=script,
    )


def _open(context: Any, world: World, path: str, now: Any) -> Any:
    page = context.new_page()
    page.clock.set_fixed_time(now)  # the reader's clock, as the server's: ages agree
    page.goto(world.url + path)
    return page


def _record(name: str, height: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "serve-pages.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    found[name] = height
    path.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")


def _fits(page: Any, name: str) -> dict[str, Any]:
    seen: dict[str, Any] = page.evaluate(MEASURE_PAGE)
    width = page.viewport_size["width"]
    screenshot(page, f"serve-{name}-{width}")
    _record(f"{name}-{width}", seen["height"])
    assert seen["overflow"] == 0, f"{name}: the page scrolls sideways by {seen['overflow']} px"
    assert seen["broken"] == [], f"{name}: words broken across lines"
    assert page.evaluate(CONTRAST) == [], f"{name}: text under 4.5:1 contrast"
    return seen


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_short_incidents_pages_fit_and_no_word_breaks(
    short: World, browser: Any, size: tuple[int, int]
) -> None:
    context = _context(browser, size)
    try:
        for name, path in (
            ("status-short", "/"),
            ("incident-short", INCIDENT),
            ("incident-short-decisions", INCIDENT + "?timeline=decisions"),
        ):
            _fits(_open(context, short, path, SHORT.now), name)
    finally:
        context.close()


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_long_incidents_pages_fit_and_no_word_breaks(
    long: World, browser: Any, size: tuple[int, int]
) -> None:
    context = _context(browser, size)
    try:
        _fits(_open(context, long, "/", LONG.now), "status-long")
        page = _open(context, long, LONG_INCIDENT, LONG.now)
        seen = _fits(page, "incident-long")
        assert seen["height"] <= SCREENS * size[1], f"{seen['height'] / size[1]:.1f} screens"
        rows = page.locator("#timeline ol.timeline > li").count()
        assert rows == 120  # every event until Sunday 14:00, newest first
        first = page.locator("#timeline ol.timeline > li summary").first.inner_text()
        assert "Update 27" in first or "handoff" in first
        decisions = _open(context, long, LONG_INCIDENT + "?timeline=decisions", LONG.now)
        _fits(decisions, "incident-long-decisions")
    finally:
        context.close()


def test_the_first_screen_of_a_phone_answers_the_five_questions(short: World, browser: Any) -> None:
    context = _context(browser, PHONE)
    try:
        page = _open(context, short, INCIDENT, SHORT.now)
        release = page.locator("li.release", has_text="Firefox 96.0.1")
        assert release.locator(".verdict").inner_text() == "NOT READY"  # may 96.0.1 ship
        charge = page.locator("section", has=page.locator("#charge-h")).inner_text()
        assert "Incident commander\ndana · their time 10:40 Europe/Berlin" in charge
        assert "due 2026-03-10 19:30 — in 50 min (11:30 Europe/Berlin for dana)" in charge
        found = page.evaluate(
            BOTTOM,
            [
                "NOT READY",  # may 96.0.1 ship: its verdict is the first
                "Firefox 96.0.1",
                "their time 10:40 Europe/Berlin",  # who is in charge: dana, on her clock
                "Blocked: alice holds Firefox 96.0.1",  # what blocks, and who holds
                "2026-03-10 19:30",  # when the next update is due, in Tokyo
            ],
        )
        assert len(found) == 5, found
        screen = PHONE[1]
        assert all(bottom <= screen for bottom in found.values()), found
        page.screenshot(path=str(ARTIFACTS / "serve-incident-short-390-first-screen.png"))
    finally:
        context.close()


def test_times_are_shown_in_the_readers_zone_with_ages_exact_on_hover_and_focus(
    short: World, browser: Any
) -> None:
    context = _context(browser, DESKTOP)
    try:
        page = _open(context, short, INCIDENT, SHORT.now)
        assert page.locator("#zone").inner_text() == (
            "Times in your timezone, Asia/Tokyo (UTC+09:00)."
        )
        due = page.locator("#charge-h ~ dl time").nth(1)
        assert due.inner_text() == "2026-03-10 19:30"  # 10:30 UTC
        assert due.get_attribute("title") == "2026-03-10 19:30 your time; 2026-03-10 10:30 UTC"
        age = page.locator("#charge-h ~ dl time[data-rel]").nth(1)
        assert age.inner_text() == "in 50 min"
        exact = "getComputedStyle(document.activeElement, '::after').content"
        page.locator("body").click(position={"x": 1, "y": 1})
        age.focus()
        assert page.evaluate(exact) == '" (2026-03-10 19:30)"'
        page.locator("body").click(position={"x": 1, "y": 1})
        age.hover()
        hovered = age.evaluate("e => getComputedStyle(e, '::after').content")
        assert hovered == '" (2026-03-10 19:30)"'
        # a time inside a sentence of the core ("since 2026-03-10 08:45 UTC") too
        reason = page.locator("ul.reasons li", has_text="Blocked:").first.inner_text()
        assert "since 2026-03-10 17:45:" in reason and "UTC" not in reason
        assert "Updated" not in page.locator("#live").inner_text()
        assert "PM" not in page.locator("body").inner_text()  # no 12-hour clock anywhere
    finally:
        context.close()


def test_without_script_the_times_read_in_utc_and_the_filter_still_works(
    short: World, browser: Any
) -> None:
    context = _context(browser, PHONE, script=False)
    try:
        page = _open(context, short, INCIDENT, SHORT.now)
        assert page.locator("#zone").inner_text() == "Times are UTC."
        assert "due 2026-03-10 10:30 UTC" in page.locator("#charge-h ~ dl").inner_text()
        page.get_by_role("link", name="Decisions only (6)").click()
        assert page.url.endswith("?timeline=decisions#timeline")
        rows = page.locator("#timeline ol.timeline > li")
        assert rows.count() == 6
        assert rows.evaluate_all("rows => rows.every(r => r.classList.contains('decision'))")
        assert "posted status" not in page.locator("#timeline").inner_text()
        current = page.locator("nav.filter a[aria-current=page]").inner_text()
        assert current == "Decisions only (6)"
    finally:
        context.close()


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_timeline_entry_opens_from_the_keyboard_on_every_word(
    short: World, browser: Any, size: tuple[int, int]
) -> None:
    context = _context(browser, size)
    try:
        page = _open(context, short, INCIDENT, SHORT.now)
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        found = False
        for _ in range(80):  # the links, the ages, the sign-offs' region, the filter
            page.keyboard.press("Tab")
            text = page.evaluate(
                "document.activeElement.matches('#timeline summary')"
                " ? document.activeElement.innerText : ''"
            )
            if "Crash stats" in text:
                found = True
                break
        assert found, "the long note's entry never takes the focus"
        assert "and QA will verify on beta once it lands." in text  # the line is whole
        entry = page.locator("#timeline details", has_text="Crash stats").first
        assert not entry.locator("dl.whole").is_visible()
        page.keyboard.press("Enter")
        assert entry.get_attribute("open") is not None
        whole = entry.locator("dl.whole").inner_text()
        assert "and QA will verify on beta once it lands." in whole
        assert "Their clock" in whole and "Europe/Berlin for dana" in whole
        backfilled = page.locator("#timeline summary", has_text="first crash reports")
        assert "happened at 2026-03-10 16:10" in backfilled.inner_text()
        assert "(recorded 2026-03-10 17:05)" in backfilled.inner_text()
    finally:
        context.close()


def test_the_status_page_lists_the_incident_resolved_yesterday_with_its_retrospective(
    short: World, browser: Any
) -> None:
    context = _context(browser, PHONE)
    try:
        page = _open(context, short, "/", SHORT.now)
        recent = page.locator("section.recent")
        assert "Resolved in the last 7 days" in recent.inner_text()
        assert "Focus 96.2 crash" in recent.inner_text()
        assert "Firefox 95.0.2" not in page.locator("main").inner_text()
        card = page.locator("article.card").first.inner_text()
        assert TITLE in card and "Last status\nThe fix is in review" in card
        recent.get_by_role("link", name="Retrospective of acme/releases#2").click()
        assert page.url.endswith("/retro/github:acme/releases%232")
        assert page.locator("main").count() == 1
        assert LONG_STORY.TITLE not in page.content()
    finally:
        context.close()


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_resolved_incident_opens_on_its_resolution_and_its_retrospective(
    long_done: World, browser: Any, size: tuple[int, int]
) -> None:
    context = _context(browser, size)
    try:
        status = _open(context, long_done, "/", LONG_DONE.now)
        _fits(status, "status-long-resolved")
        assert status.locator("article.card").count() == 0
        listed = status.locator("section.recent").inner_text()
        assert LONG_STORY.TITLE in listed and "The hang rate is back to 0." in listed
        page = _open(context, long_done, LONG_INCIDENT, LONG_DONE.now)
        _fits(page, "incident-long-resolved")
        found = page.evaluate(BOTTOM, ["Resolved", "Retrospective draft"])
        assert len(found) == 2 and all(b <= size[1] for b in found.values()), found
        assert page.locator("#timeline ol.timeline > li").count() == 151  # the retracted note too
        page.get_by_role("link", name="Retrospective draft").click()
        assert page.url.endswith("/retro/bugzilla:2")
        assert page.locator("main").count() == 1
    finally:
        context.close()
