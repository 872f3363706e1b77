"""The system's Chromium driven by Playwright, for the browser tests (never a downloaded browser).

``browser`` is a module-wide fixture: one Chromium for a module's browser tests. Playwright's
sync API keeps an event loop on the main thread while the browser runs, so code that calls
``asyncio.run`` (the CLI, the demo) must run before it starts: fixtures that build data come
first in a test's arguments. When Chromium is
not installed the tests that use it are skipped, saying how to install it (CI installs it:
``scripts/test.sh`` runs ``apt-get install chromium`` as root). Pages are measured by scripts
in :data:`MEASURE_PAGE`; screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
INSTALL = "apt-get update && apt-get install -y chromium"
# As the machine's notes say works here: without the background-networking flags Chromium
# keeps trying hosts this closed network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
PHONE = (390, 844)  # an iPhone 12-15 in CSS pixels
DESKTOP = (1400, 1000)


def chromium_path() -> str | None:
    """Where the system's Chromium is, or None."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless system Chromium for a test module (``playwright.sync_api.Browser``)."""
    executable = chromium_path()
    if executable is None:
        pytest.skip(f"Chromium is not installed; the browser tests need it: {INSTALL}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


def screenshot(page: Any, name: str) -> Path:
    """The whole page as ``test-artifacts/NAME.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# Facts about the page a person would see as wrong, measured in the page itself:
# - overflow: how far the page scrolls sideways (0 when it fits the viewport);
# - broken: words the browser split across two lines (a line box ends inside a word), found by
#   measuring each word of each text node with Range.getClientRects: a word drawn in two
#   boxes on different lines was broken inside;
# - height: the page's height in CSS pixels.
# A "word" is a run of letters, digits and underscores, with the punctuation of a date or a
# time inside it ("2026-12-04", "17:00") and no other: a URL may wrap after "/" or ".".
MEASURE_PAGE = """() => {
  const word = /[\\p{L}\\p{N}_]+(?:[-:][\\p{N}]+)*/gu;
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest("svg, script, style")) continue;
    const style = getComputedStyle(parent);
    if (style.display === "none" || style.visibility === "hidden") continue;
    for (const match of node.data.matchAll(word)) {
      if (match[0].length < 2) continue;
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const boxes = [...range.getClientRects()].filter((b) => b.width > 0 && b.height > 0);
      if (boxes.length < 2) continue;
      const tops = new Set(boxes.map((b) => Math.round(b.top)));
      if (tops.size > 1) broken.push(match[0]);
    }
  }
  const root = document.documentElement;
  return {
    overflow: Math.max(0, root.scrollWidth - root.clientWidth),
    broken,
    height: root.scrollHeight,
  };
}"""

# Every text label in the picture, and the pairs whose boxes overlap.
MEASURE_PICTURE = """() => {
  const box = (e) => { const r = e.getBoundingClientRect();
                       return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const svg = document.querySelector("svg.timeline");
  const texts = [...svg.querySelectorAll("text")].filter((e) => e.textContent.trim())
    .map((e) => ({text: e.textContent, ...box(e)}));
  const overlaps = [];
  for (let i = 0; i < texts.length; i++)
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i], b = texts[j];
      if (a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5)
        overlaps.push([a.text, b.text]);
    }
  return {texts: texts.length, overlaps, svg: box(svg)};
}"""
