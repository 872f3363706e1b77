"""The status page in the system's Chromium (Playwright): the cards, and a webhook-delivered
hold on the page within one second, with no reload and the scroll position kept. Screenshots
go to ``test-artifacts/`` (desktop, phone, print).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from sync_incident.core.events import HoldRaised
from tests.browser import browser, screenshot
from tests.serve.world import REL, World, world

__all__ = ["browser", "world"]

CARD_1 = "card-github-acme-releases-1"


def card_text(page: Any, card: str) -> str:
    found = page.evaluate(f"(document.getElementById({json.dumps(card)}) || {{}}).innerText")
    return " ".join(str(found or "").split())


@pytest.mark.slow
def test_the_page_shows_each_card_and_a_webhook_delivered_hold_within_one_second(
    world: World, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 700})
    try:
        page = context.new_page()
        page.goto(world.url + "/")
        page.wait_for_function("document.getElementById('live').textContent === 'Live'")
        cards = page.evaluate(
            "Array.from(document.querySelectorAll('article.card h2')).map(e => e.innerText)"
        )
        assert cards == [
            "Thunderbird 128.1 update fails",
            "Startup crash spike on Windows",
            "Focus crash on Android 14",
        ]
        first = card_text(page, CARD_1)
        assert "READY Firefox 96.0.1" in first and "NOT READY" not in first
        second = card_text(page, "card-github-acme-releases-2")
        assert "NOT READY Focus 97.0" in second
        assert "Focus 97.0 held by alice" in second
        assert "alice → dana: incident commander" in second
        screenshot(page, "serve-status-before")

        page.evaluate("window.scrollTo(0, 250); window.__notReloaded = true")
        scrolled = page.evaluate("window.scrollY")
        assert scrolled > 0
        world.post(1, "alice", HoldRaised(release=REL, reason="the crash rate doubled on beta"))
        payload = world.payload("issue_comment", "created", 1, sender="alice")
        sent = time.monotonic()
        assert world.deliver("issue_comment", payload).status_code == 202
        while "NOT READY Firefox 96.0.1" not in card_text(page, CARD_1):
            assert time.monotonic() - sent < 1.0, card_text(page, CARD_1)
            page.wait_for_timeout(20)
        elapsed = time.monotonic() - sent
        updated = card_text(page, CARD_1)
        assert "Firefox 96.0.1 held by alice" in updated and "crash rate doubled" in updated
        assert page.evaluate("window.__notReloaded === true")  # swapped in place
        assert page.evaluate("window.scrollY") == scrolled
        assert elapsed < 1.0
        screenshot(page, "serve-status")

        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        page.goto(world.url + "/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
        screenshot(page, "serve-status-phone")
        page.set_viewport_size({"width": 794, "height": 1123})
        page.emulate_media(media="print")
        page.goto(world.url + "/")
        assert page.evaluate("getComputedStyle(document.getElementById('live')).display") == (
            "none"
        )
        screenshot(page, "serve-status-print")
    finally:
        context.close()
