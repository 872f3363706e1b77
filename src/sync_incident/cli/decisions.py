"""The decisions the release gate reads: holds, sign-offs, the ship decision, resolve, reopen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from sync_incident.cli.options import DryRun, PostJson, ReasonOpt, RefArg, ReleaseOpt, Strict
from sync_incident.cli.posting import post

if TYPE_CHECKING:
    from collections.abc import Callable


def hold(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    reason: Annotated[str, typer.Option("--reason", help="Because of what, explicitly.")],
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Ask to hold a release: it is blocked until you or the IC release the hold."""
    from sync_incident.application.intents import RaiseHold

    post(ctx, ref, RaiseHold(release, reason), dry_run, strict, as_json=as_json)


def release_hold(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the concern is addressed (required).")
    ],
    hold_id: Annotated[
        str | None, typer.Option("--hold", help="Which hold, when several are open on the release.")
    ] = None,
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Release a hold you raised (or, as IC, any hold) on a release."""
    from sync_incident.application.intents import ReleaseHold

    post(ctx, ref, ReleaseHold(release, reason, hold_id), dry_run, strict, as_json=as_json)


def signoff(
    ctx: typer.Context,
    ref: RefArg,
    team: Annotated[str, typer.Option("--team", help="The team signing off, e.g. QA.")],
    release: ReleaseOpt,
    statement: Annotated[
        str | None,
        typer.Option(
            "--statement", help="The explicit statement (default: 'TEAM signs off on RELEASE.')."
        ),
    ] = None,
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Sign off on an exact release of the incident for your team."""
    from sync_incident.application.intents import SignOff

    post(ctx, ref, SignOff(team, release, statement), dry_run, strict, as_json=as_json)


def revoke(
    ctx: typer.Context,
    ref: RefArg,
    team: Annotated[str, typer.Option("--team", help="The team whose sign-off is revoked.")],
    release: ReleaseOpt,
    reason: ReasonOpt,
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Revoke a team's sign-off on a release."""
    from sync_incident.application.intents import Revoke

    post(ctx, ref, Revoke(team, release, reason), dry_run, strict, as_json=as_json)


def ship(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    statement: Annotated[
        str | None, typer.Option("--statement", help="Default: 'Please ship RELEASE to users.'")
    ] = None,
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Record the ship decision (Relman): "Please ship Focus 97.0 to users"."""
    from sync_incident.application.intents import Ship

    post(ctx, ref, Ship(release, statement), dry_run, strict, as_json=as_json)


def resolve(
    ctx: typer.Context,
    ref: RefArg,
    summary: Annotated[
        str, typer.Option("--summary", "-m", help="How it ended, as a sentence (required).")
    ],
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Resolve the incident (the IC); the comment lists each release's final state."""
    from sync_incident.application.intents import Resolve

    post(ctx, ref, Resolve(summary), dry_run, strict, as_json=as_json)


def reopen(
    ctx: typer.Context,
    ref: RefArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is back.")],
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Reopen a resolved incident."""
    from sync_incident.application.intents import Reopen

    post(ctx, ref, Reopen(reason), dry_run, strict, as_json=as_json)


def add_release(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why it concerns this incident.")] = "",
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Add a release to the incident: sign-offs, holds and ship decisions name one of these."""
    from sync_incident.application.intents import AddRelease

    post(ctx, ref, AddRelease(release, reason), dry_run, False, as_json=as_json)


COMMANDS: tuple[Callable[..., None], ...] = (
    hold,
    release_hold,
    signoff,
    revoke,
    ship,
    resolve,
    reopen,
    add_release,
)
