"""The fake Bugzilla answers with the shapes and quirks recorded on a real 5.2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.testing.bugzilla import (
    FakeBugzilla,
)
from tests.trackers.bugzilla.world import (
    BASE,
    ME,
    ME_KEY,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bugzilla"

# ---------------------------------------------------------------------- the fake matches reality


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items() if not k.isdigit()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "null"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _call(fake: FakeBugzilla, method: str, url: str, body: Any = None) -> httpx.Response:
    request = httpx.Request(method, BASE + url, json=body)
    return fake.handler(request)


@pytest.mark.parametrize(
    ("method", "url", "body", "fixture"),
    [
        ("GET", "/rest/version", None, "version.200.json"),
        ("GET", f"/rest/bug/1/comment?api_key={ME_KEY}", None, "comments.admin.200.json"),
        (
            "GET",
            "/rest/bug/1?include_fields=id,summary,whiteboard,keywords,last_change_time,status,creation_time",
            None,
            "bug.include_fields.200.json",
        ),
        (
            "POST",
            "/rest/bug/1/comment",
            {"comment": "x", "api_key": ME_KEY},
            "comment.create.201.json",
        ),
        ("PUT", "/rest/bug/1", {"whiteboard": "[w]", "api_key": ME_KEY}, "bug.update.200.json"),
        ("GET", "/rest/bug/1?api_key=NotARealKey", None, "error.invalid-key.400.json"),
        ("POST", "/rest/bug/1/comment", {"comment": "x"}, "error.login-required.401.json"),
        ("GET", "/rest/bug/999999", None, "error.no-such-bug.404.json"),
        (
            "PUT",
            "/rest/bug/1",
            {"keywords": ["x"], "api_key": ME_KEY},
            "error.crash-in-200.200.json",
        ),
        (
            "POST",
            "/rest/bug/1/comment",
            {"comment": "a" * 65_536, "api_key": ME_KEY},
            "error.comment-too-long.400.json",
        ),
        ("GET", "/rest/nonexistent", None, "error.unknown-route.404.json"),
    ],
)
def test_the_fake_answers_with_the_real_52_shapes(
    method: str, url: str, body: Any, fixture: str
) -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY, insider=True)
    fake.add_bug(creator=ME)
    fake.add_comment(1, ME, "private", private=True)
    response = _call(fake, method, url, body)
    status = int(fixture.split(".")[-2])
    assert response.status_code == status
    assert _shape(response.json()) == _shape(_fixture(fixture))
    assert response.headers["etag"] and '"' not in response.headers["etag"]


def test_the_fake_applies_a_write_and_answers_304_to_if_none_match_star() -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    request = httpx.Request(
        "PUT",
        BASE + "/rest/bug/1",
        json={"whiteboard": "[inm]", "api_key": ME_KEY},
        headers={"If-None-Match": "*"},
    )
    response = fake.handler(request)
    assert (response.status_code, response.content) == (304, b"")
    assert fake.bugs[1].whiteboard == "[inm]"


def test_the_fake_52_ignores_the_header_and_runs_anonymous() -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    request = httpx.Request(
        "POST",
        BASE + "/rest/bug/1/comment",
        json={"comment": "x"},
        headers={"X-BUGZILLA-API-KEY": ME_KEY},
    )
    response = fake.handler(request)
    assert (response.status_code, response.json()["code"]) == (401, 410)


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [(b'{"comment": "x', 400, 32000), (b'["x"]', 500, None)],
    ids=["not-json", "an-array"],
)
def test_the_fake_answers_a_broken_body_as_52_does(
    content: bytes, status: int, code: int | None
) -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    request = httpx.Request("POST", BASE + "/rest/bug/1/comment", content=content)
    response = fake.handler(request)
    assert response.status_code == status
    if code is not None:
        assert response.json()["code"] == code
        assert "Could not parse the 'params' argument" in response.json()["message"]
    else:
        assert response.headers["content-type"].startswith("text/html")
    assert fake.bugs[1].comments[1:] == []  # nothing was posted
