"""``sync-incident demo``: a release incident played with the real commands, offline.

The story: Alice asks to hold Product 2.0.3 because of startup crashes; Bob, believing he has
full context, tries to clear her hold and is refused, and his vague "we can proceed" is
refused too; the gate refuses the release, naming Alice's hold; Alice releases her hold with
the reason; QA and Releng sign off and Relman says to ship; Dana, the incident commander,
ends her day in Toronto and hands off to the person whose working day starts next; Beatrice
in Berlin accepts; the gate passes.

Every step runs the CLI in this process with exactly the arguments it prints, against a
local tracker and a policy written next to it, so each printed command can be copied and run.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync_incident.config import Settings

RELEASE = "Product 2.0.3"
Echo = Callable[[str], None]


def starter() -> str:
    """The starter configuration (``sync-incident init`` writes it): its policy is the demo's."""
    from importlib.resources import files

    return files("sync_incident").joinpath("templates/starter.toml").read_text(encoding="utf-8")


def demo_config(db: Path) -> str:
    """The demo's configuration: the starter, with the demo's own local database."""
    return starter() + f'\n[local]\ndb = "{db.as_posix()}"\n'


# (who, arguments, expected exit code, what it shows) — the story, step by step
STORY: list[tuple[str, list[str], int, str]] = [
    (
        "dana",
        [
            "open",
            "--local",
            "--title",
            "Startup crash spike in the Product 2.0.3 release candidate",
            "--release",
            RELEASE,
            "--severity",
            "S2",
        ],
        0,
        "Dana opens the incident and is its first incident commander.",
    ),
    (
        "dana",
        [
            "step",
            "local:1",
            "--step",
            "4",
            "--title",
            "Verify the startup crash fix on nightly",
            "--owner",
            "dana",
        ],
        0,
        "",
    ),
    (
        "dana",
        [
            "step",
            "local:1",
            "--step",
            "5",
            "--title",
            "Push Product 2.0.3 to the release channel",
            "--owner",
            "dana",
        ],
        0,
        "",
    ),
    (
        "alice",
        [
            "hold",
            "local:1",
            "--release",
            RELEASE,
            "--reason",
            "unexplained startup crashes on Windows 7 in the 2.0.3 candidate",
        ],
        0,
        "Alice asks to hold the release, then leaves to track her concern down.",
    ),
    (
        "bob",
        [
            "release-hold",
            "local:1",
            "--release",
            RELEASE,
            "--reason",
            "I have full context and the crash is known",
        ],
        3,
        "Bob believes he has full context and tries to clear Alice's hold: refused.",
    ),
    (
        "bob",
        ["note", "local:1", "--strict", "--text", "Yeah, it seems fine, we can proceed."],
        3,
        "Bob's vague wording is refused by the strict lint.",
    ),
    (
        "bob",
        ["gate", "local:1", "--release", RELEASE],
        1,
        "The release gate refuses, naming Alice's hold.",
    ),
    (
        "alice",
        [
            "release-hold",
            "local:1",
            "--release",
            RELEASE,
            "--reason",
            "the Windows 7 "
            "crashes come from a third-party antivirus, not from 2.0.3; bug 1750001 tracks "
            "it",
        ],
        0,
        "Alice releases her own hold, saying why.",
    ),
    ("quinn", ["signoff", "local:1", "--team", "QA", "--release", RELEASE], 0, ""),
    (
        "rachel",
        [
            "signoff",
            "local:1",
            "--team",
            "Releng",
            "--release",
            RELEASE,
            "--statement",
            f"Releng has no more concerns about the readiness of {RELEASE}.",
        ],
        0,
        "",
    ),
    ("morgan", ["ship", "local:1", "--release", RELEASE], 0, ""),
    ("dana", ["step", "local:1", "--step", "4", "--state", "doing"], 0, ""),
    (
        "dana",
        [
            "status",
            "local:1",
            "--summary",
            "QA and Releng signed off on Product 2.0.3 and "
            "Relman asked to ship it. Step 4 (verify the crash fix on nightly) is in progress.",
            "--next-update",
            "+2h",
        ],
        0,
        "",
    ),
    (
        "dana",
        [
            "handoff",
            "local:1",
            "--done",
            "The checklist in local:1 is up to date; QA and "
            "Releng signed off on Product 2.0.3 and Relman asked to ship it.",
            "--todo",
            "Step 4 (verify the crash fix on nightly), then step 5 (push to the release channel).",
            "--next",
            "Finish step 4 and update Beatrice | dana | +1h",
            "--next",
            "Pick up step 5 | beatrice | +2h",
            "--notify",
            "Relman",
        ],
        0,
        "Dana's working day ends; she hands off to whoever's working day starts next.",
    ),
    ("beatrice", ["accept", "local:1"], 0, "Beatrice, in Berlin, accepts."),
    ("beatrice", ["show", "local:1"], 0, ""),
    (
        "beatrice",
        ["gate", "local:1", "--release", RELEASE, "--require-ship"],
        0,
        "Every required team signed off on exactly this release, no hold is open: ready.",
    ),
]


def demo_settings(db: Path, cache: Path) -> Settings:
    """The demo's settings (its policy and local tracker), for tests that replay the story."""
    from sync_incident.config import Settings

    data = tomllib.loads(demo_config(db))
    local = data.pop("local")
    data.pop("tracker", None)
    return Settings(local=local, cache=cache, policy=data)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run(args: list[str]) -> int:
    from sync_incident.cli.app import main

    try:
        main(args)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def play(db: Path | None, *, echo: Echo) -> int:
    """Run the story; 0 when every step behaved as the rules say."""
    with tempfile.TemporaryDirectory(prefix="sync-incident-demo-") as tmp:
        path = (db or Path(tmp) / "demo.sqlite3").resolve()
        config = path.with_name(path.stem + "-demo.toml")
        config.write_text(demo_config(path), encoding="utf-8")
        echo("A release incident, played with the real commands on a local tracker: a release")
        echo("held because of crashes, a colleague refused when he tries to clear the hold, a")
        echo("gate that refuses, sign-offs, and a handoff to the next timezone.")
        env = {"SYNC_INCIDENT_CONFIG": str(config), "SYNC_INCIDENT_LOCAL__DB": str(path)}
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        echo(f"\nTo run these commands yourself, first: export {exports}")
        if db is None:
            echo("(these files are removed at the end; pass --db FILE to keep them)")
        else:
            echo(f"(kept after the demo: {path} and {config})")
        failures = 0
        with _environment(env):
            for who, args, expected, what in STORY:
                if what:
                    echo(f"\n# {what}")
                echo(f"$ sync-incident --as {who} {shlex.join(args)}")
                code = _run(["--as", who, *args])
                if code != expected:
                    failures += 1
                    echo(f"!! exit {code}, expected {expected}")
        echo(
            "\nDemo finished: every step behaved as the rules say."
            if not failures
            else f"\nDemo FAILED: {failures} step(s) did not behave as the rules say."
        )
        if db is None:
            echo(
                "The demo's files are gone now (they lived in a temporary folder). To keep "
                "them, run: sync-incident demo --db demo.sqlite3"
            )
        else:
            echo(
                f"The incident is kept in {path} and its policy in {config}: look at it with "
                f"sync-incident --config {shlex.quote(str(config))} show local:1"
            )
        return 0 if not failures else 1
