"""Start-up: whole-process wall time of `--help`, `show local:N` and `gate local:N` vs the floors.

    .venv/bin/python bench/startup.py [--runs 20]

Each command runs as a subprocess of the installed entry point (``.venv/bin/sync-incident``),
the way a person or a script runs it, so interpreter start, imports and the work itself all
count. Two floors are measured in the same run: ``python -c "import typer"`` and the stack's
floor, ``python -c "import typer, pydantic, pydantic_settings"`` (typer validates its first
parameter through pydantic, so no typer command with an argument starts below it). Every
round runs each floor and each command once, interleaved, so a busy machine slows them all
alike; the figures are medians. ``show`` and ``gate`` read a small local incident (opened, a
note, a sign-off) made once, in a temporary directory, with the user's config and caches kept
out. Bytecode caching is left on for the subprocesses (``PYTHONDONTWRITEBYTECODE`` is
dropped): an installed package, like typer in the floors, has its ``.pyc`` files, and an
editable install writes them on the first run; with the variable set, an editable install
compiles the package again on every run (about +45 ms).
Goals (issue 23): ``--help`` at most 1.1x ``import typer``; ``show local:N`` and ``gate
local:N`` at most 1.1x the stack's floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Row, print_table  # noqa: E402

HELP_GOAL = 1.1  # x import typer
READ_GOAL = 1.1  # x import typer, pydantic, pydantic_settings
RELEASE = "Firefox 96.0.1"


def _executables() -> tuple[str, str]:
    """The interpreter and the installed ``sync-incident`` entry point next to it."""
    venv = ROOT / ".venv" / "bin"
    python = venv / "python"
    script = venv / "sync-incident"
    if python.exists() and script.exists():
        return str(python), str(script)
    found = shutil.which("sync-incident")
    if found is None:
        raise SystemExit("sync-incident is not installed: pip install -e . first")
    return sys.executable, found


@contextmanager
def _incident() -> Iterator[tuple[dict[str, str], str]]:
    """An environment whose local tracker holds one small incident, and its reference."""
    _, exe = _executables()
    with tempfile.TemporaryDirectory(prefix="sync-incident-startup-") as tmp:
        home = Path(tmp)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("SYNC_INCIDENT_") and k != "PYTHONDONTWRITEBYTECODE"
        }
        env |= {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "SYNC_INCIDENT_LOCAL__DB": str(home / "local.sqlite3"),
            "SYNC_INCIDENT_CACHE": str(home / "cache.sqlite3"),
            "SYNC_INCIDENT_LOCAL__USER": "alice",
        }
        for args in (
            ["open", "--local", "--title", "Startup crash spike", "--release", RELEASE],
            ["note", "local:1", "--text", f"Crash rate on {RELEASE} is 3 per mille."],
            ["signoff", "local:1", "--team", "QA", "--release", RELEASE],
        ):
            subprocess.run([exe, *args], check=True, capture_output=True, env=env)
        yield env, "local:1"


def _wall(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # the gate says "not ready" with 1
        raise SystemExit(f"{args} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def measure(runs: int = 20) -> dict[str, float]:
    """Median wall times (seconds) of the floors and the commands, interleaved."""
    python, exe = _executables()
    with _incident() as (env, ref):
        commands = {
            "typer": [python, "-c", "import typer"],
            "floor": [python, "-c", "import typer, pydantic, pydantic_settings"],
            "help": [exe, "--help"],
            "show": [exe, "show", ref],
            "gate": [exe, "gate", ref, "--release", RELEASE],
        }
        for args in commands.values():  # warm the OS file cache and the .pyc files
            _wall(args, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, args in commands.items():
                times[name].append(_wall(args, env))
    return {name: statistics.median(values) for name, values in times.items()}


def startup_rows(runs: int = 20) -> list[Row]:
    medians = measure(runs)
    typer, floor = medians["typer"], medians["floor"]
    floors = (
        f"import typer {typer * 1000:.0f} ms; + pydantic, pydantic_settings {floor * 1000:.0f} ms"
    )
    rows = []
    for name, figure, base, goal, against in (
        ("help", "sync-incident --help, wall", typer, HELP_GOAL, "import typer"),
        ("show", "sync-incident show local:N (small), wall", floor, READ_GOAL, "the floor"),
        ("gate", "sync-incident gate local:N (small), wall", floor, READ_GOAL, "the floor"),
    ):
        ratio = medians[name] / base
        both = f"{medians[name] / typer:.2f}x typer, {medians[name] / floor:.2f}x floor"
        rows.append(
            Row(
                figure,
                f"{medians[name] * 1000:.0f} ms ({both})",
                f"{floors} (medians of {runs})",
                f"{ratio:.2f}x",
                f"<= {goal}x {against}",
                ratio <= goal,
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (>= 10)")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10: the figures are medians")
    print_table(startup_rows(args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
