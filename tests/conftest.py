"""Hermetic tests: none of the user's settings, secrets or files leak in or out."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.chat.synapse import Synapse

_CLEARED = (
    "BUGZILLA_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_ACTIONS",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
)


@pytest.fixture(autouse=True)
def _hermetic_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Clear our env vars and point every data, config and cache dir at ``tmp_path``."""
    for name in list(os.environ):
        # SYNC_INCIDENT_LONG is read at import time by the fuzz tests, before this runs
        if name.startswith("SYNC_INCIDENT_"):
            monkeypatch.delenv(name, raising=False)
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "_env"
    for sub in ("config", "data", "cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("SYNC_INCIDENT_LOCAL__DB", str(home / "data" / "local.sqlite3"))
    monkeypatch.setenv("SYNC_INCIDENT_CACHE", str(home / "cache" / "cache.sqlite3"))
    monkeypatch.delenv("SYNC_INCIDENT_CONFIG", raising=False)
    yield


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """A real Matrix homeserver (tests/chat/synapse.py), started once per session; the tests
    that need it are skipped, saying why, when it cannot be installed or started here."""
    from tests.chat.synapse import Synapse as Homeserver
    from tests.chat.synapse import Unavailable, installed_python

    try:
        server = Homeserver(installed_python(), Path(tmp_path_factory.mktemp("synapse")))
        server.start()
    except Unavailable as exc:
        pytest.skip(
            f"no Matrix homeserver: {exc} (scripts/synapse.sh installs matrix-synapse from the "
            "package index into ~/.cache/sync-incident-test/synapse; .ci/run runs it)"
        )
    try:
        yield server
    finally:
        server.stop()
