"""The status page in headless Chromium: the cards, and a webhook-delivered hold on the page
within one second, with no reload and the scroll position kept. Screenshots go to
``test-artifacts/`` (desktop, phone, print).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from sync_incident.core.events import HoldRaised
from tests.chromium import Chromium
from tests.serve.world import REL, World, world

__all__ = ["world"]

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
CARD_1 = "card-github-acme-releases-1"


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail("chromium is not installed; install it with: apt-get install -y chromium")
    return found


def card_text(browser: Chromium, card: str) -> str:
    found = browser.evaluate(f"(document.getElementById({json.dumps(card)}) || {{}}).innerText")
    return " ".join(str(found or "").split())


@pytest.mark.slow
def test_the_page_shows_each_card_and_a_webhook_delivered_hold_within_one_second(
    world: World, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with Chromium(chromium(), tmp_path / "profile") as browser:
        browser.open(world.url + "/", 1200, 700)
        deadline = time.monotonic() + 10
        while browser.evaluate("document.getElementById('live').textContent") != "Live":
            assert time.monotonic() < deadline, "the event stream did not open"
            time.sleep(0.05)
        cards = browser.evaluate(
            "Array.from(document.querySelectorAll('article.card h2')).map(e => e.innerText)"
        )
        assert cards == [
            "Thunderbird 128.1 update fails",
            "Startup crash spike on Windows",
            "Focus crash on Android 14",
        ]
        first = card_text(browser, CARD_1)
        assert "READY Firefox 96.0.1" in first and "NOT READY" not in first
        second = card_text(browser, "card-github-acme-releases-2")
        assert "NOT READY Focus 97.0" in second
        assert "Focus 97.0 held by alice" in second
        assert "alice → dana: incident commander" in second
        browser.screenshot(ARTIFACTS / "serve-status-before.png")

        browser.evaluate("window.scrollTo(0, 250); window.__notReloaded = true")
        scrolled = browser.evaluate("window.scrollY")
        assert scrolled > 0
        world.post(1, "alice", HoldRaised(release=REL, reason="the crash rate doubled on beta"))
        payload = world.payload("issue_comment", "created", 1, sender="alice")
        sent = time.monotonic()
        assert world.deliver("issue_comment", payload).status_code == 202
        while "NOT READY Firefox 96.0.1" not in card_text(browser, CARD_1):
            assert time.monotonic() - sent < 1.0, card_text(browser, CARD_1)
            time.sleep(0.02)
        elapsed = time.monotonic() - sent
        updated = card_text(browser, CARD_1)
        assert "Firefox 96.0.1 held by alice" in updated and "crash rate doubled" in updated
        assert browser.evaluate("window.__notReloaded === true")  # swapped in place
        assert browser.evaluate("window.scrollY") == scrolled
        assert elapsed < 1.0
        browser.screenshot(ARTIFACTS / "serve-status.png")

        browser.open(world.url + "/", 390, 844)  # a phone
        width = browser.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        browser.screenshot(ARTIFACTS / "serve-status-phone.png")
        browser.open(world.url + "/", 794, 1123, media="print")
        assert (
            browser.evaluate("getComputedStyle(document.getElementById('live')).display") == "none"
        )
        browser.screenshot(ARTIFACTS / "serve-status-print.png")
