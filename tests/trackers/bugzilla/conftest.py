"""Fixtures: a fake upstream 5.2 and a fake BMO, each with one bug."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trackers.bugzilla.world import World


@pytest.fixture
def world() -> Iterator[World]:
    w = World("5.2")
    yield w
    w.close()


@pytest.fixture
def bmo() -> Iterator[World]:
    w = World("bmo")
    yield w
    w.close()
