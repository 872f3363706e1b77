"""The backend table: what the daemon and serve learn about a backend come from its package."""

from __future__ import annotations

from pathlib import Path

from sync_incident.config import load_settings
from sync_incident.trackers import BACKENDS, over_http, poll_minutes, webhooks_by_kind


def test_every_backend_names_its_poll_interval(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[bugzilla]\npoll_minutes = 7\n[github]\npoll_minutes = 2\n")
    assert poll_minutes(load_settings(config)) == {"local": 1.0, "bugzilla": 7.0, "github": 2.0}
    assert set(poll_minutes(load_settings())) == set(BACKENDS)


def test_bugzilla_is_never_polled_more_often_than_bmo_asks() -> None:
    settings = load_settings()
    settings.bugzilla.poll_minutes = 1.0  # past validation, as a test or a caller could
    assert poll_minutes(settings)["bugzilla"] == 5.0


def test_only_the_backends_that_talk_to_a_server_are_counted_as_http() -> None:
    assert sorted(over_http()) == ["bugzilla", "github"]


def test_the_backends_whose_trackers_call_serve_name_their_webhook_source() -> None:
    assert sorted(webhooks_by_kind()) == ["bugzilla", "github"]
