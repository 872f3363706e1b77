"""GitHub's transport: headers, errors, retries, rate limits, OpenAPI conformance, secrets."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    NotFound,
    RateLimited,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.github import FakeClock, FakeGitHub, Fault, Logged
from sync_incident.trackers.base import Mirror, NewIncident
from sync_incident.trackers.cache import Cache
from sync_incident.trackers.github.tracker import GitHubTracker, build_github
from sync_incident.trackers.http import USER_AGENT
from tests.trackers.contract import run
from tests.trackers.github.world import (
    API,
    CANARY,
    ME,
    ME_TOKEN,
    OPENAPI,
    OTHER,
    REPO,
    World,
    comments_with,
    hold_mirror,
    make_world,
)

# ---------------------------------------------------------------------- connection


def test_build_github_sends_bearer_accept_api_version_and_user_agent(world: World) -> None:
    tracker = build_github(
        API, ME_TOKEN, cache=Cache(), transport=httpx.MockTransport(world.fake.handler)
    )
    try:
        assert run(tracker.whoami()).login == ME
    finally:
        run(tracker.aclose())
    headers = world.fake.log[-1].headers
    assert headers["authorization"] == f"Bearer {ME_TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["user-agent"] == USER_AGENT


def test_without_token_no_authorization_header_is_sent(world: World) -> None:
    tracker = build_github(
        API, None, cache=Cache(), transport=httpx.MockTransport(world.fake.handler)
    )
    try:
        run(tracker.fetch(world.ref))
    finally:
        run(tracker.aclose())
    assert all("authorization" not in e.headers for e in world.fake.log)


def test_enterprise_server_base_path_is_kept_on_every_request() -> None:
    clock = FakeClock()
    fake = FakeGitHub("https://ghe.example.com/api/v3", clock=clock)
    fake.add_user(ME, ME_TOKEN)
    fake.add_repo(REPO, admins=(ME,))
    issue = fake.add_issue(REPO, "t", "b", by=ME)
    for i in range(150):
        fake.add_comment(REPO, issue.number, f"c{i}", by=ME)
    tracker = build_github(
        "https://ghe.example.com/api/v3",
        ME_TOKEN,
        cache=Cache(),
        transport=httpx.MockTransport(fake.handler),
    )
    try:
        snap = run(tracker.fetch(IncidentRef("github", issue.number, repo=REPO)))
    finally:
        run(tracker.aclose())
    assert len(snap.comments) == 150
    assert all(e.url.startswith("https://ghe.example.com/api/v3/") for e in fake.log)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_read_is_retried(world: World, status: int) -> None:
    world.fake.faults.append(Fault("status", method="GET", status=status, times=2))
    tracker = world.tracker()
    snap = run(tracker.fetch(world.ref))
    assert snap.title == "Firefox 96.0.1 chemspill"
    assert [e.status for e in world.fake.log[:3]] == [status, status, 200]
    assert len(world.clock.sleeps) == 2


def test_html_error_page_and_truncated_json_on_read_are_retried(world: World) -> None:
    world.fake.faults.append(Fault("html", method="GET", status=502))
    world.fake.faults.append(Fault("truncated", method="GET", path=r"/comments$"))
    snap = run(world.tracker().fetch(world.ref))
    assert snap.title == "Firefox 96.0.1 chemspill"


def test_persistent_5xx_becomes_unavailable(world: World) -> None:
    world.fake.faults.append(Fault("status", method="GET", status=503, times=100))
    with pytest.raises(Unavailable):
        run(world.tracker().fetch(world.ref))
    assert len(world.fake.log) == 5


def test_401_is_auth_error_in_one_request_without_retry(world: World) -> None:
    tracker = world.tracker("ghp_revoked000000000000000000000000000000")
    with pytest.raises(AuthError):
        run(tracker.fetch(world.ref))
    assert len(world.fake.log) == 1
    assert world.clock.sleeps == []


def test_422_is_rejected_with_githubs_message_and_errors(world: World) -> None:
    tracker = world.tracker()
    with pytest.raises(Rejected, match=r"Validation Failed.*missing_field"):
        run(tracker.create(NewIncident("", "body", marker="m", location=REPO)))
    assert len(world.fake.requests("POST", r"/issues$")) == 1


def test_missing_repo_and_deleted_issue_are_not_found(world: World) -> None:
    tracker = world.tracker()
    with pytest.raises(NotFound):
        run(tracker.fetch(IncidentRef("github", 1, repo="acme/nope")))
    world.fake.issue(REPO, world.ref.number).deleted = True
    with pytest.raises(NotFound):
        run(tracker.fetch(world.ref))
    world.fake.repos[REPO].has_issues = False
    with pytest.raises(NotFound):
        run(tracker.fetch(world.ref))


# ---------------------------------------------------------------------- rate limits


def test_primary_limit_waits_until_reset(world: World) -> None:
    world.fake.faults.append(Fault("primary", method="GET", reset_in=300))
    snap = run(world.tracker().fetch(world.ref))
    assert snap.title
    assert len(world.clock.sleeps) == 1
    assert 300 <= world.clock.sleeps[0] <= 302


def test_primary_limit_too_far_raises_rate_limited_saying_when(world: World) -> None:
    world.fake.faults.append(Fault("primary", method="GET", reset_in=3000))
    with pytest.raises(RateLimited, match=r"resets at \d\d:\d\d:\d\d UTC") as info:
        run(world.tracker().fetch(world.ref))
    assert info.value.retry_after is not None and info.value.retry_after > 2900
    assert world.clock.sleeps == []


def test_secondary_limit_honours_retry_after(world: World) -> None:
    world.fake.faults.append(Fault("secondary", method="GET", status=429, retry_after=7))
    run(world.tracker().fetch(world.ref))
    assert world.clock.sleeps == [7.0]


def test_secondary_limit_without_retry_after_waits_at_least_60s_with_backoff(world: World) -> None:
    world.fake.faults.append(Fault("secondary", method="GET", status=403, times=2))
    run(world.tracker().fetch(world.ref))
    assert world.clock.sleeps == [60.0, 120.0]


def test_secondary_limit_on_a_post_is_waited_out_and_posts_once(world: World) -> None:
    world.fake.faults.append(Fault("secondary", method="POST", retry_after=30))
    run(world.tracker().post(world.ref, "x [marker S2]", marker="S2"))
    assert comments_with(world, "S2") == 1
    assert 30.0 in world.clock.sleeps


# ---------------------------------------------------------------------- OpenAPI conformance

# endpoints the client uses that the issues subset does not describe, with their body schemas
EXTRA_OPERATIONS: dict[tuple[str, str], dict[str, Any] | None] = {
    ("GET", "/user"): None,
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/events"): None,
    ("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}"): None,
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission"): None,
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"): {
        "type": "object",
        "properties": {"assignees": {"type": "array", "items": {"type": "string"}}},
    },
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"): {
        "type": "object",
        "properties": {"assignees": {"type": "array", "items": {"type": "string"}}},
    },
}


class OpenAPI:
    """A minimal structural checker: path + method exist, query names declared, body shape."""

    def __init__(self, path: Path) -> None:
        self.spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any] | None]:
        # GitHub's Link URLs address a repository by id: the same operation as /repos/o/r
        path = re.sub(r"^/repositories/\d+", "/repos/o/r", path)
        for template, ops in self.spec["paths"].items():
            if (
                re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path)
                and method.lower() in ops
            ):
                return template, ops[method.lower()]
        for (m, template), _ in EXTRA_OPERATIONS.items():
            if m == method and re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
                return template, None
        raise AssertionError(f"{method} {path} is not in GitHub's OpenAPI description")

    def conforms(self, value: Any, schema: Any, where: str) -> list[str]:
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return []
        if value is None:
            return [] if schema.get("nullable") else [f"{where}: null not allowed"]
        for key in ("oneOf", "anyOf"):
            if key in schema:
                options = [self.conforms(value, option, where) for option in schema[key]]
                return [] if any(not o for o in options) else [f"{where}: matches no {key}"]
        kind = schema.get("type")
        types: dict[str, type | tuple[type, ...]] = {
            "object": dict,
            "array": list,
            "string": str,
            "integer": int,
            "boolean": bool,
            "number": (int, float),
        }
        if kind in types and not isinstance(value, types[kind]):
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
        problems: list[str] = []
        if kind == "object":
            problems += [
                f"{where}: missing {k}" for k in schema.get("required", []) if k not in value
            ]
            for name, sub in schema.get("properties", {}).items():
                if name in value:
                    problems += self.conforms(value[name], sub, f"{where}.{name}")
        if kind == "array":
            if len(value) < schema.get("minItems", 0):
                problems.append(f"{where}: fewer than {schema['minItems']} items")
            for i, item in enumerate(value):
                problems += self.conforms(item, schema.get("items", {}), f"{where}[{i}]")
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} not in {schema['enum']}")
        return problems

    def check(self, entry: Logged) -> list[str]:
        template, op = self.operation(entry.method, entry.path)
        if op is None:
            body_schema = EXTRA_OPERATIONS[(entry.method, template)]
            return self.conforms(entry.body, body_schema, "body") if body_schema else []
        declared = {
            p["name"]
            for p in (self.resolve(x) for x in op.get("parameters", []))
            if p["in"] == "query"
        }
        problems = [f"query {k} not declared" for k in entry.params if k not in declared]
        body = op.get("requestBody")
        if body is None:
            if entry.body is not None:
                problems.append("body sent to an operation without a request body")
            return problems
        schema = self.resolve(body)["content"]["application/json"]["schema"]
        if entry.body is None:
            return problems + (
                ["required body missing"] if self.resolve(body).get("required") else []
            )
        return problems + self.conforms(entry.body, schema, "body")


def test_openapi_checker_catches_bad_requests() -> None:
    api = OpenAPI(OPENAPI)
    bad_body = Logged("POST", "/repos/o/r/issues/1/comments", {}, {"text": 1}, {}, 201, "", 0.0)
    assert api.check(bad_body) == ["body: missing body"]
    bad_type = Logged(
        "POST", "/repos/o/r/issues", {}, {"title": "t", "labels": "x"}, {}, 201, "", 0
    )
    assert api.check(bad_type)
    with pytest.raises(AssertionError):
        api.check(Logged("POST", "/repos/o/r/issues/1/pin", {}, None, {}, 201, "", 0.0))


def test_every_request_the_client_sends_matches_githubs_openapi(world: World) -> None:
    tracker = world.tracker()
    world.fake.teams[("acme", "relman")] = {"alice": "active"}
    for i in range(120):
        world.fake.add_comment(REPO, world.ref.number, f"c{i}", by=OTHER)
    run(tracker.fetch(world.ref))
    run(tracker.post(world.ref, "hold", marker="o-1", mirror=hold_mirror()))
    resolved = Mirror(False, "bob", ME, False, "Resolved", status_block="Resolved")
    run(tracker.post(world.ref, "resolved", marker="o-2", mirror=resolved))
    ref = run(tracker.create(NewIncident("T", "B [marker O3]", marker="O3", location=REPO)))
    run(tracker.fetch(ref))
    run(tracker.active_incidents())
    run(tracker.team_membership("acme", "relman", "alice"))
    run(tracker.repo_permission(REPO, "alice"))
    world.fake.faults.append(Fault("drop", method="POST", path=r"/issues$"))
    run(tracker.create(NewIncident("T2", "B [marker O4]", marker="O4", location=REPO)))
    api = OpenAPI(OPENAPI)
    problems = {f"{e.method} {e.path}": api.check(e) for e in world.fake.log}
    assert {k: v for k, v in problems.items() if v} == {}
    assert len(world.fake.log) > 20


# ---------------------------------------------------------------------- secrets


def canary_world() -> World:
    w = make_world()
    w.fake.add_user("canary-bot", CANARY)
    w.fake.repos[REPO].permissions["canary-bot"] = "admin"
    return w


def test_canary_token_never_appears_in_errors_reprs_or_logs(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    def record(exc: BaseException, tracker: GitHubTracker) -> None:
        seen.extend([str(exc), repr(exc), getattr(exc, "hint", ""), repr(tracker)])

    faults = [
        Fault("status", method="GET", status=503, times=100),
        Fault("drop", method="GET", times=100),
        Fault("connect", method="GET", times=100),
        Fault("html", method="GET", status=502, times=100),
        Fault("primary", method="GET", reset_in=5000),
    ]
    for fault in faults:
        w = canary_world()
        w.fake.faults.append(fault)
        tracker = w.tracker(CANARY)
        with pytest.raises(TrackerError) as info:
            run(tracker.fetch(w.ref))
        record(info.value, tracker)
        w.close()

    w = canary_world()
    w.fake.add_user("actions", "ghs_canaryactions00000000000000000000", actions_token=True)
    tracker = w.tracker(CANARY)
    with pytest.raises(NotFound) as missing:
        run(tracker.fetch(IncidentRef("github", 404, repo=REPO)))
    record(missing.value, tracker)
    with pytest.raises(Rejected) as invalid:
        run(tracker.create(NewIncident("", "b", marker="m", location=REPO)))
    record(invalid.value, tracker)
    w.close()

    # a server that echoes the credentials back in its error message
    w = canary_world()

    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        if request.method == "POST":
            return httpx.Response(422, json={"message": f"bad {auth}", "errors": [auth]})
        return w.fake.handler(request)

    client = build_github(API, CANARY, cache=Cache(), transport=httpx.MockTransport(echo))
    with pytest.raises(Rejected) as rejected:
        run(client.post(w.ref, "x", marker="m"))
    record(rejected.value, client)
    run(client.aclose())
    w.close()

    unknown = make_world()  # the canary is not a valid token here: 401
    tracker = unknown.tracker(CANARY)
    for call in (tracker.whoami, lambda: tracker.fetch(unknown.ref)):
        with pytest.raises(AuthError) as auth:
            run(call())
        record(auth.value, tracker)
    actions = unknown.tracker(CANARY)
    with pytest.raises(AccessDenied) as denied:
        run(actions.team_membership("acme", "relman", "alice"))
    record(denied.value, actions)
    unknown.close()

    out = capsys.readouterr()
    assert "[REDACTED]" in " ".join(seen)  # the echo case really carried the token
    for text in [*seen, caplog.text, out.out, out.err]:
        assert CANARY not in text
        assert "CANARY7f3a9" not in text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            '<https://api.github.com/repositories/1/issues/2/comments?page=2>; rel="next", '
            '<https://api.github.com/repositories/1/issues/2/comments?page=5>; rel="last"',
            "https://api.github.com/repositories/1/issues/2/comments?page=2",
        ),
        (
            '<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"',
            "https://api.github.com/x?page=3",
        ),
        ('<https://api.github.com/x?page=1>; rel="first"', None),
        (None, None),
    ],
)
def test_next_link_is_read_from_the_link_header(header: str | None, expected: str | None) -> None:
    from sync_incident.trackers.github.client import next_link

    headers = {"link": header} if header is not None else {}
    assert next_link(httpx.Response(200, headers=headers)) == expected
