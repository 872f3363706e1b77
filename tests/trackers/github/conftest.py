"""Fixtures: a fake GitHub with one incident issue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.trackers.github.world import World, make_world


@pytest.fixture
def world() -> Iterator[World]:
    w = make_world()
    yield w
    w.close()
