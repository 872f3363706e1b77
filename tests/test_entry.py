"""The console script turns the cyclic collector off before anything else is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow  # starts other processes
def test_importing_the_entry_point_turns_collection_off() -> None:
    code = "import gc, sys, sync_incident.entry; print(gc.isenabled(), 'typer' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.slow  # starts other processes
def test_python_dash_m_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sync_incident", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "Usage: " in done.stdout


def test_importing_the_command_line_leaves_collection_alone() -> None:
    import gc

    import sync_incident.cli  # noqa: F401

    assert gc.isenabled()
