"""Helpers of what people read that the pages share (the rest is tested through ``show``)."""

from __future__ import annotations

import pytest

from sync_incident.views import web_url


@pytest.mark.parametrize(
    "url",
    [
        "https://bugzilla.mozilla.org/show_bug.cgi?id=1750000",
        "http://example.org/doc",
        "HTTPS://GITHUB.COM/acme/releases/pull/7",
    ],
)
def test_http_and_https_urls_with_a_host_may_be_links(url: str) -> None:
    assert web_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",  # scheme-relative: whatever the page's scheme is
        "/incidents/local:1",
        "https:evil.example",  # no host
        "https://exa mple.org/",
        "https://example.org/\nSet-Cookie: x",
        "",
        "local:1",
    ],
)
def test_anything_else_is_shown_as_text(url: str) -> None:
    assert not web_url(url)
