"""Options shared by commands, the global options, and how a command gets its session.

Kept light: `--help` must start as fast as importing typer, so everything heavier is
imported inside the functions that need it (types only under ``TYPE_CHECKING``).
"""

from __future__ import annotations

from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, TypeVar

import typer

from sync_incident.core.errors import UsageError

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.core.policy import Policy
    from sync_incident.core.refs import IncidentRef
    from sync_incident.service import Session

T = TypeVar("T")

# Options that may appear anywhere on the line; main() moves them before the command.
GLOBAL_OPTIONS = (
    "--config",
    "--policy",
    "--as",
    "--db",
    "--bugzilla-url",
    "--github-api-url",
    "--cache",
)


class Globals(NamedTuple):
    """The global options (a NamedTuple, not a dataclass: `--help` must start fast)."""

    config: Path | None = None
    policy: Path | None = None
    as_user: str | None = None
    overrides: dict[str, Any] | None = None


def globals_of(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # not at import time: `--help` never runs a coroutine

    return asyncio.run(coro)


def settings_of(ctx: typer.Context) -> Settings:
    """Settings from flags over env over files; unknown SYNC_INCIDENT_* variables are named."""
    from sync_incident.config import Settings, env_warnings, load_settings

    root = ctx.find_root()
    cached = root.meta.get("sync_incident.settings")
    if isinstance(cached, Settings):
        return cached
    g = globals_of(ctx)
    settings = load_settings(g.config, policy_file=g.policy, overrides=g.overrides)
    for line in env_warnings():
        typer.echo(f"warning: {line}", err=True)
    root.meta["sync_incident.settings"] = settings
    return settings


def policy_of(ctx: typer.Context) -> Policy:
    """The policy in force (settings are loaded once per command and kept on the context)."""
    return settings_of(ctx).policy


def session_of(ctx: typer.Context, *, quiet: bool = False, ephemeral: bool = False) -> Session:
    """The command's session; ``ephemeral``: no cache file at all (the gate)."""
    from sync_incident.service import Session

    settings = settings_of(ctx)
    if settings.policy.permissive and not quiet:
        typer.echo(
            "note: no policy is configured, so any account may sign off for any team "
            "(set [people] and [teams] in the config to enforce who may do what).",
            err=True,
        )
    return Session(settings, as_user=globals_of(ctx).as_user, ephemeral=ephemeral)


def ref_of(words: list[str]) -> IncidentRef:
    """A reference from CLI words (``["bug", "123"]``, ``["bug 123"]``, ``["local:7"]``)."""
    from sync_incident.core.refs import ReferenceError, parse_ref_words

    try:
        return parse_ref_words(words)
    except ReferenceError as exc:
        # the accepted forms go on the hint line, so the error itself stays one short line
        message, _, forms = str(exc).partition("; use ")
        raise UsageError(message, hint=f"use {forms}" if forms else "") from None


RefArg = Annotated[
    list[str],
    typer.Argument(
        help="The incident: bug 123456, issue owner/repo#42, local:7, or a URL.", metavar="REF"
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (documented schema) instead of text.")
]
DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Print the exact comment and post nothing.")
]
Strict = Annotated[bool, typer.Option("--strict", help="Refuse vague wording instead of warning.")]
PostJson = Annotated[
    bool,
    typer.Option(
        "--json", help="Print what was posted as JSON: event ids, comment number, URLs, the text."
    ),
]
ReleaseOpt = Annotated[
    str, typer.Option("--release", "-r", help="Exact product and version, e.g. 'Firefox 96.0.1'.")
]
FullOpt = Annotated[bool, typer.Option("--full", help="Show the whole timeline.")]
# the forms core.times accepts (its HINT); not imported from there: `--help` must start fast
TIME_HELP = (
    "Time: '18:00 Europe/Berlin', 'tomorrow 09:00', '2026-12-07 08:50 Europe/Berlin', "
    "'monday 09:00', '09:00' (in your timezone, else UTC), '2022-01-12 14:03 UTC', ISO 8601 "
    "with an offset, or '+90m' / '+2h' / '+1d'. Day words are read in the zone typed."
)


ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, as a real sentence (required).")]
