"""A real Synapse for the Matrix tests: installed once, started once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat.synapse import Synapse, Unavailable, installed_python


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """The homeserver; the tests that need it are skipped, saying why, when it cannot run."""
    try:
        python = installed_python()
        server = Synapse(python, Path(tmp_path_factory.mktemp("synapse")))
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
