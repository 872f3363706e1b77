"""Bugzilla's transport: where the key goes, what answers mean, retries, and the key never leaking."""

from __future__ import annotations

import logging

import pytest

from sync_incident.core.errors import (
    AuthError,
    CommentTooLong,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.core.refs import IncidentRef
from sync_incident.testing.bugzilla import (
    Fault,
    Flavor,
    LoggedRequest,
)
from sync_incident.trackers.bugzilla.client import auth_style_for
from tests.trackers.bugzilla.world import (
    CANARY,
    ME,
    ME_KEY,
    World,
    mirror,
)
from tests.trackers.contract import run

# ---------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    ("version", "style"),
    [
        ("5.2+", "param"),
        ("5.2", "param"),
        ("5.0.6", "param"),
        ("4.4.14", "param"),
        ("20240101.1", "header"),
        ("5.1.2", "header"),
        ("5.3+", "header"),
        ("6.0", "header"),
        ("banana", "both"),
        ("", "both"),
    ],
)
def test_auth_style_follows_the_server_version(version: str, style: str) -> None:
    assert auth_style_for(version) == style


def _key_in_param_or_body(request: LoggedRequest, key: str) -> bool:
    if request.method == "GET":
        return request.params.get("Bugzilla_api_key") == [key]
    return isinstance(request.json, dict) and request.json.get("Bugzilla_api_key") == key


def test_52_always_gets_the_key_as_parameter_never_header_only(world: World) -> None:
    tracker = world.tracker()
    run(tracker.whoami())
    run(tracker.fetch(world.ref))
    run(tracker.post(world.ref, "QA signs off on Firefox 96.0.1.", marker="auth-1"))
    run(tracker.post(world.ref, "Hold released.", marker="auth-2", mirror=mirror()))
    keyed = [r for r in world.fake.log if r.path != "/rest/version"]
    assert keyed
    assert all(_key_in_param_or_body(r, ME_KEY) for r in keyed)
    assert world.fake.bugs[world.bug].comments[-1].creator == ME


def test_unparseable_version_sends_both_header_and_parameter() -> None:
    w = World("5.2", version="custom-build")
    try:
        run(w.tracker().post(w.ref, "Releng note.", marker="both-1"))
        post = w.writes()[-1]
        assert post.headers["x-bugzilla-api-key"] == ME_KEY
        assert _key_in_param_or_body(post, ME_KEY)
    finally:
        w.close()


def test_bmo_by_its_name_gets_the_key_in_the_header_and_never_in_urls(bmo: World) -> None:
    bmo.base = "https://bugzilla.mozilla.org"
    tracker = bmo.tracker()
    run(tracker.fetch(bmo.ref))  # cold: the version is not known yet, the name says BMO
    run(tracker.post(bmo.ref, "QA signs off on Firefox 96.0.1.", marker="bmo-1"))
    run(tracker.fetch(bmo.ref))
    keyed = [r for r in bmo.fake.log if r.path != "/rest/version"]
    assert all(r.headers.get("x-bugzilla-api-key") == ME_KEY for r in keyed)
    assert not any(ME_KEY in r.url for r in bmo.fake.log)


def test_a_read_never_waits_for_the_version_and_is_never_anonymous(bmo: World) -> None:
    # a BMO under another name: reads carry the key both ways; a write asks the version first
    tracker = bmo.tracker()
    run(tracker.fetch(bmo.ref))
    assert sorted(bmo.sent()) == ["GET /rest/bug/1", "GET /rest/bug/1/comment"]
    assert all(
        r.headers.get("x-bugzilla-api-key") == ME_KEY and _key_in_param_or_body(r, ME_KEY)
        for r in bmo.fake.log
    )
    start = len(bmo.fake.log)
    run(tracker.post(bmo.ref, "QA signs off on Firefox 96.0.1.", marker="bmo-2"))
    later = bmo.fake.log[start:]
    assert later[0].path == "/rest/version"
    keyed = later[1:]
    assert keyed and all(r.headers.get("x-bugzilla-api-key") == ME_KEY for r in keyed)
    assert not any(ME_KEY in r.url for r in later)  # once the version is known: header only


def test_a_cold_read_on_52_sends_the_key_as_parameter_without_asking_the_version(
    world: World,
) -> None:
    tracker = world.tracker()
    snap = run(tracker.fetch(world.ref))
    assert snap.requests == 2  # the comments and the bug, side by side
    assert len(world.fake.log) == 2 and all(
        _key_in_param_or_body(r, ME_KEY) for r in world.fake.log
    )


def test_bearer_auth_sends_an_authorization_header(world: World) -> None:
    run(world.tracker(auth="bearer").fetch(world.ref))
    assert all(r.headers.get("authorization") == f"Bearer {ME_KEY}" for r in world.fake.log)
    assert not any(ME_KEY in r.url for r in world.fake.log)


def test_forced_header_auth_on_52_fails_before_writing(world: World) -> None:
    tracker = world.tracker(auth="header")
    with pytest.raises(AuthError, match="does not accept the API key"):
        run(tracker.post(world.ref, "Releng note.", marker="hdr-1"))
    assert world.writes() == []


# ---------------------------------------------------------------------- errors and retries


def test_an_error_inside_a_200_is_an_error_and_retried(world: World) -> None:
    tracker = world.tracker(auth="param")
    world.fake.faults.append(Fault("error_200", path="/comment", times=10))
    with pytest.raises(Unavailable, match="100500"):
        run(tracker.fetch(world.ref))
    assert len(world.sleeps) == 4


def test_a_single_crash_in_a_200_is_retried_transparently(world: World) -> None:
    world.fake.faults.append(Fault("error_200", path="/comment"))
    snap = run(world.tracker(auth="param").fetch(world.ref))
    assert snap.comments
    assert len(world.sleeps) == 1


def test_html_429_backs_off_for_minutes(bmo: World) -> None:
    bmo.fake.faults.append(Fault("html_429", times=2))
    run(bmo.tracker(auth="header").fetch(bmo.ref))
    assert len(bmo.sleeps) == 2
    assert all(s >= 60 for s in bmo.sleeps)
    assert bmo.sleeps[1] > bmo.sleeps[0]


def test_retry_after_is_honoured_when_present(bmo: World) -> None:
    bmo.fake.faults.append(Fault("html_429", retry_after="7"))
    run(bmo.tracker(auth="header").fetch(bmo.ref))
    assert bmo.sleeps == [7.0]


def test_plain_text_414_is_a_clear_rejection_without_retry(world: World) -> None:
    world.fake.faults.append(Fault("plain_414"))
    with pytest.raises(Rejected, match="too long"):
        run(world.tracker(auth="param").fetch(world.ref))
    assert world.sleeps == []


def test_html_500_pages_become_unavailable_after_retries(world: World) -> None:
    world.fake.faults.append(Fault("status", status=500, times=10))
    with pytest.raises(Unavailable, match="HTML") as caught:
        run(world.tracker(auth="param").fetch(world.ref))
    # a cold read sends the comments and the bug side by side: each is tried five times
    assert sorted(world.sent()) == ["GET /rest/bug/1"] * 5 + ["GET /rest/bug/1/comment"] * 5
    assert len(world.sleeps) == 8
    assert "JSON" not in type(caught.value).__name__
    assert "bugzilla.test" in caught.value.message  # the server is named


def test_a_truncated_answer_is_read_again(world: World) -> None:
    world.fake.faults.append(Fault("truncated", path="/comment"))
    snap = run(world.tracker(auth="param").fetch(world.ref))
    assert snap.comments[0].body.startswith("Initial description")
    assert len(world.sleeps) == 1


def test_missing_bug_is_never_retried(world: World) -> None:
    with pytest.raises(TrackerError, match="101"):
        run(world.tracker(auth="param").fetch(IncidentRef("bugzilla", 424242)))
    assert world.sleeps == []


def test_too_long_comment_costs_no_request(world: World) -> None:
    with pytest.raises(CommentTooLong):
        run(world.tracker().post(world.ref, "😀" * 65_536, marker="long-2"))
    assert world.fake.log == []


# ---------------------------------------------------------------------- the key never leaks


def _every_error_path(flavor: Flavor) -> tuple[list[BaseException], list[str], list[str]]:
    """Run each failure with the canary key; return the errors, reprs and request URLs."""
    errors: list[BaseException] = []
    reprs: list[str] = []
    urls: list[str] = []
    scenarios: list[tuple[str, Fault | None]] = [
        ("bad-key", None),
        ("500", Fault("status", status=500, times=10)),
        ("timeout", Fault("connect_timeout", times=10)),
        ("reset", Fault("reset_after", times=10)),
        ("429", Fault("html_429", times=10)),
        ("414", Fault("plain_414")),
        ("truncated", Fault("truncated", times=10)),
        ("crash", Fault("error_200", times=10)),
    ]
    for name, fault in scenarios:
        w = World(flavor)
        if name != "bad-key":
            w.fake.add_user("canary@example.com", CANARY)
        tracker = w.tracker(CANARY, login="canary@example.com", auth="param")
        if fault is not None:
            w.fake.faults.append(fault)
        for call in (tracker.fetch(w.ref), tracker.post(w.ref, "x", marker=name)):
            try:
                run(call)
            except TrackerError as exc:
                errors.append(exc)
        reprs.append(repr(tracker))
        urls.extend(r.url for r in w.fake.log)
        w.close()
    return errors, reprs, urls


@pytest.mark.parametrize("flavor", ["5.2", "bmo"])
def test_the_key_never_appears_in_errors_reprs_logs_or_output(
    flavor: Flavor, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    errors, reprs, urls = _every_error_path(flavor)
    assert any(CANARY in url for url in urls)  # it really travelled in URLs
    assert len(errors) >= 8
    assert any(isinstance(e, AuthError) for e in errors)
    chained = [c for e in errors for c in (e.__cause__, e.__context__) if c is not None]
    texts = [str(e) for e in errors + chained] + [repr(e) for e in errors + chained]
    texts += [getattr(e, "hint", "") for e in errors] + reprs
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err]
    assert "HTTP Request" in caplog.text  # httpx logged the URLs, redacted
    assert not [t for t in texts if CANARY in t]
