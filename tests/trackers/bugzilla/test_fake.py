"""The fake Bugzilla answers with the shapes and quirks recorded on a real 5.2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.testing.bugzilla import (
    FakeBugzilla,
    Flavor,
    stamp,
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


# ---------------------------------------------------------------------- the bug's history


def _put(fake: FakeBugzilla, body: dict[str, Any]) -> None:
    assert _call(fake, "PUT", "/rest/bug/1", {**body, "api_key": ME_KEY}).status_code == 200


def test_the_fake_answers_history_with_the_real_52_shape() -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    _put(fake, {"whiteboard": "[test setup][ci-red]"})
    response = _call(fake, "GET", "/rest/bug/1/history")
    assert response.status_code == 200
    assert _shape(response.json()) == _shape(_fixture("history.200.json"))
    assert response.headers["etag"] and '"' not in response.headers["etag"]


def test_the_fake_history_keeps_one_entry_per_request_at_the_time_of_its_comment() -> None:
    fake = FakeBugzilla("5.2")
    fake.add_user(ME, ME_KEY)
    fake.add_user("qa@example.com", "qa-key")
    fake.add_bug(creator=ME)
    fake.clock.advance(10)
    _put(fake, {"whiteboard": "[a]", "assigned_to": "qa@example.com", "comment": {"body": "x"}})
    fake.clock.advance(10)
    _put(fake, {"whiteboard": "[a] [hold]"})
    history = _call(fake, "GET", "/rest/bug/1/history").json()["bugs"][0]["history"]
    comment = fake.bugs[1].comments[-1]
    assert [(h["when"], h["who"], len(h["changes"])) for h in history] == [
        (stamp(comment.time), ME, 2),
        (stamp(fake.bugs[1].last_change_time), ME, 1),
    ]
    assert history[1]["changes"] == [
        {"field_name": "whiteboard", "removed": "[a]", "added": "[a] [hold]"}
    ]
    since = history[0]["when"]  # strictly greater-than, as for comments
    later = _call(fake, "GET", f"/rest/bug/1/history?new_since={since}").json()
    assert later["bugs"][0]["history"] == history[1:]


@pytest.mark.parametrize("flavor", ["5.2", "bmo"])
def test_only_the_fake_bmo_sends_the_history_with_the_bug_and_only_when_asked(
    flavor: Flavor,
) -> None:
    fake = FakeBugzilla(flavor)
    fake.add_user(ME, ME_KEY)
    fake.add_bug(creator=ME)
    fake.set_whiteboard(1, ME, "[hold]")
    asked = _call(fake, "GET", "/rest/bug/1?include_fields=id,summary,history").json()
    plain = _call(fake, "GET", "/rest/bug/1?include_fields=id,summary").json()
    assert "history" not in plain["bugs"][0]
    if flavor == "bmo":
        assert asked["bugs"][0]["history"][0]["changes"][0]["added"] == "[hold]"
    else:  # as observed on 5.2: an extra field it does not know is left out, silently
        assert asked["bugs"][0] == {"id": 1, "summary": fake.bugs[1].summary}
