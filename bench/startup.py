"""Start-up: whole-process wall time of `sync-incident --help` and `show local:N` vs importing typer.

    .venv/bin/python bench/startup.py [--runs 20]

Each command runs as a subprocess of the installed entry point (``.venv/bin/sync-incident``),
the way a person or a script runs it, so interpreter start, imports and the work itself all
count. The baseline, ``python -c "import typer"``, is measured in the same run, interleaved
with the commands (one of each per round) so a busy machine slows all three alike; the figures
are medians. ``show`` reads a small local incident (opened, a note, a sign-off) made once, in a
temporary directory, with the user's config and caches kept out. Bytecode caching is left on
for the subprocesses (``PYTHONDONTWRITEBYTECODE`` is dropped): an installed package, like typer
in the baseline, has its ``.pyc`` files, and an editable install writes them on the first run.
Goals (issue 13): ``--help`` at most 1.2x and ``show local:N`` at most 2x the baseline.
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

HELP_GOAL = 1.2
SHOW_GOAL = 2.0
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
            "SYNC_INCIDENT_AS": "alice",
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
    subprocess.run(args, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def measure(runs: int = 20) -> dict[str, float]:
    """Median wall times (seconds) of the baseline, ``--help`` and ``show``, interleaved."""
    python, exe = _executables()
    with _incident() as (env, ref):
        commands = {
            "typer": [python, "-c", "import typer"],
            "help": [exe, "--help"],
            "show": [exe, "show", ref],
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
    base = medians["typer"]
    rows = []
    for name, figure, goal in (
        ("help", "sync-incident --help, wall", HELP_GOAL),
        ("show", "sync-incident show local:N (small), wall", SHOW_GOAL),
    ):
        ratio = medians[name] / base
        rows.append(
            Row(
                figure,
                f"{medians[name] * 1000:.0f} ms",
                f"import typer {base * 1000:.0f} ms (medians of {runs})",
                f"{ratio:.2f}x",
                f"<= {goal}x",
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
