"""Commands that read: show, the gate, digests, the retrospective, the daemon, checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sync_incident.cli import options
from sync_incident.cli.options import (
    FullOpt,
    JsonOpt,
    RefArg,
    ReleaseOpt,
    Strict,
    globals_of,
    ref_of,
    run,
    settings_of,
)
from sync_incident.core.errors import EXIT_NOT_READY, EXIT_REFUSED, UsageError

if TYPE_CHECKING:
    from sync_incident.core.readiness import Verdict
    from sync_incident.core.refs import TrackerKind
    from sync_incident.core.state import IncidentState
    from sync_incident.service import Session

MIRROR_SECONDS = 20.0  # how long the gate lets a mirror write take after its verdict


def show_incident(ctx: typer.Context, words: list[str], as_json: bool, full: bool) -> None:
    from sync_incident.views import incident_json, state_text, verdicts

    ref = ref_of(words)

    async def go() -> str:
        async with options.session_of(ctx) as session:
            reading = await session.read(ref)
            state, policy = reading.state, session.policy
            found = verdicts(state, policy, reading.facts)
            if as_json:
                return incident_json(state, found, policy=policy, facts=reading.facts)
            limit = None if full else 15
            me, tz = await reader_of(session, ref.kind, state)
            return state_text(state, found, timeline=limit, policy=policy, reader_tz=tz, reader=me)

    typer.echo(run(go()))


async def reader_of(
    session: Session, kind: TrackerKind, state: IncidentState
) -> tuple[str | None, str | None]:
    """Who reads ``show``, and on whose clock: their policy timezone, else ``timezone``.

    The reader is who runs the command (``--as`` on the local tracker, the key's or token's
    account elsewhere). Asked only when a pending handoff has a time to show, and never fatal:
    reading needs no account, so without one the configured ``timezone`` stands.
    """
    from sync_incident.core.errors import SyncIncidentError

    configured = session.settings.timezone
    if not any(step.by for offer in state.pending_handoffs for step in offer.next_steps):
        return None, configured
    try:
        name = await session.actor(kind)
    except SyncIncidentError:
        return None, configured
    person = session.policy.people.get(name)
    if person is not None and "timezone" in person.model_fields_set:
        return name, person.timezone
    return name, configured


def show(ctx: typer.Context, ref: RefArg, as_json: JsonOpt = False, full: FullOpt = False) -> None:
    """Show an incident: IC, status, holds, sign-offs, handoffs, checklist, timeline."""
    show_incident(ctx, ref, as_json, full)


def bug(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Bugzilla bug number.")],
    as_json: JsonOpt = False,
    full: FullOpt = False,
) -> None:
    """Show the incident kept in a Bugzilla bug: `sync-incident bug 123456`."""
    show_incident(ctx, ["bug", number], as_json, full)


def issue(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="owner/repo#42")],
    as_json: JsonOpt = False,
    full: FullOpt = False,
) -> None:
    """Show the incident kept in a GitHub issue: `sync-incident issue owner/repo#42`."""
    show_incident(ctx, ["issue", ref], as_json, full)


def list_(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """List active incidents: IC, each release's verdict, holds, pending handoffs, next update."""
    from sync_incident.core.errors import SyncIncidentError
    from sync_incident.views import listing, listing_text

    async def go() -> str:
        async with options.session_of(ctx) as session:
            refs = await session.active_incidents()
            results = await session.read_many(refs)
            states = [r.state for r in results.values() if not isinstance(r, SyncIncidentError)]
            bad = {
                str(ref): f"{r.label}: {r.message}"
                for ref, r in results.items()
                if isinstance(r, SyncIncidentError)
            }
            active = [s for s in states if s.status == "active"]
            found = listing(active, session.policy, bad)
            return found.model_dump_json(indent=2) if as_json else listing_text(found)

    typer.echo(run(go()))


def gate(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help="A team that must sign off (repeat); default: the policy's required_signoffs "
            "for the product.",
        ),
    ] = None,
    require_ship: Annotated[
        bool, typer.Option("--require-ship", help="Also require the Relman ship decision.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Release gate: exit 0 ready, 1 not ready, 2 could not decide (fails closed)."""
    from sync_incident import action, intents
    from sync_incident.core.readiness import readiness
    from sync_incident.views import verdict_text

    target = ref_of(ref)
    wanted = intents.release(release)

    async def go() -> Verdict:
        import asyncio
        import contextlib

        async with options.session_of(ctx) as session:
            reading = await session.read_within(target, session.settings.gate.deadline_seconds)
            verdict = readiness(
                reading.state,
                wanted,
                required=require,
                policy=session.policy,
                facts=reading.facts,
                require_ship=require_ship or None,  # not given: the policy's default
            )
            # the verdict is made: the mirror catches up after it and can never change it
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(MIRROR_SECONDS):
                    await session.catch_up(target, reading)
            return verdict

    verdict = run(go())
    action.report(verdict)
    typer.echo(verdict.model_dump_json(indent=2) if as_json else verdict_text(verdict))
    raise typer.Exit(0 if verdict.ready else EXIT_NOT_READY)


def lint(
    text: Annotated[str, typer.Argument(help="Text to check (use - to read stdin).")],
    strict: Strict = False,
) -> None:
    """Check wording before posting: flags 'seems', 'better', 'LGTM', pronouns without referent."""
    from sync_incident.core.lint import lint_text

    body = sys.stdin.read() if text == "-" else text
    findings = lint_text("text", body)
    for finding in findings:
        typer.echo(f"{finding.phrase!r}: {finding.message}")
    if not findings:
        typer.echo("No vague wording found.")
    raise typer.Exit(EXIT_REFUSED if findings and strict else 0)


def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and policy; print what is in force."""
    settings = settings_of(ctx)
    policy = settings.policy
    typer.echo("Configuration is valid.")
    for label, path in (
        ("config file", settings.config_file),
        ("policy file", settings.policy_file),
    ):
        typer.echo(f"  {label}: {path or 'none'}")
    typer.echo(f"  default tracker: {settings.tracker}")
    from sync_incident.core.secrets import masked_url

    typer.echo(f"  bugzilla: {masked_url(settings.bugzilla.url)} (auth {settings.bugzilla.auth})")
    typer.echo(f"  github: {masked_url(settings.github.api_url)}")
    if policy.permissive:
        typer.echo("  policy: permissive (no people or teams): anyone may make any event")
    else:
        typer.echo(f"  policy: {len(policy.people)} people, teams: {', '.join(policy.teams)}")
        for product, rules in policy.products.items():
            typer.echo(f"  {product}: requires {', '.join(rules.required_signoffs)}")
    key = "set" if settings.bugzilla_api_key else "not set"
    token = "set" if settings.github_token else "not set"
    typer.echo(f"  Bugzilla API key: {key}; GitHub token: {token}")


def demo(ctx: typer.Context) -> None:
    """Play a release incident on a fresh local incident and show each step.

    A release held because of crashes, a colleague who tries to clear the hold and is refused,
    a gate that refuses, sign-offs, and a handoff to the next timezone. The incident lives in
    a temporary file, or in the file named by the global --db option (then look at it
    afterwards: `sync-incident local:1 --db FILE`).
    """
    from sync_incident.demo import play

    overrides = globals_of(ctx).overrides or {}
    db = overrides.get("local", {}).get("db")
    raise typer.Exit(play(Path(db) if db else None, echo=typer.echo))


def retro(
    ctx: typer.Context,
    ref: RefArg,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="md (Markdown) or html (one self-contained file).")
    ] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write to FILE instead of stdout.")
    ] = None,
    post: Annotated[
        bool,
        typer.Option(
            "--post", help="Post the Markdown draft on the incident (again only if it changed)."
        ),
    ] = False,
) -> None:
    """Draft the retrospective: timeline, who did what, handoffs, holds, sign-offs."""
    from sync_incident.retro import Format, PostResult, run_retro

    if fmt not in ("md", "html"):
        raise UsageError(f"--format must be md or html, not {fmt!r}", hint="--format md|html")
    incident = ref_of(ref)

    async def go() -> tuple[str, PostResult | None]:
        async with options.session_of(ctx) as session:
            return await run_retro(session, incident, Format(fmt), post=post)

    page, result = run(go())
    if out is not None:
        out.write_text(page, encoding="utf-8")
        typer.echo(f"Wrote the retrospective draft of {incident} to {out}.", err=post)
    elif not post:
        typer.echo(page, nl=False)
    if result is not None:
        typer.echo(result.message)


def digest(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Incidents (bug 123456, issue owner/repo#42, local:7); default: config "
            "`incidents`.",
            metavar="[REF]...",
        ),
    ] = None,
    all_active: Annotated[
        bool,
        typer.Option(
            "--all-active",
            help="Ask the trackers: local incidents not resolved, Bugzilla bugs tagged "
            "[incident:active], GitHub issues labelled incident:active in github.repos.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    post_to: Annotated[
        str | None,
        typer.Option(
            "--post-to",
            help="Post the digest on this bug / issue, once per incident set and period "
            "(default: config digest.post_to).",
        ),
    ] = None,
    webhooks: Annotated[
        bool,
        typer.Option(
            "--webhooks/--no-webhooks",
            help="Also send it to the chat webhooks named by digest.webhook_env.",
        ),
    ] = True,
) -> None:
    """Status digest of active incidents: stdout, a digest bug/issue, chat webhooks."""
    from sync_incident.core.errors import Unavailable
    from sync_incident.digest.model import Digest, render_markdown
    from sync_incident.digest.run import run_digest, split_refs

    explicit = [ref_of(words) for words in split_refs(refs or [])]

    async def go() -> tuple[Digest, list[str]]:
        async with options.session_of(ctx) as session:
            return await run_digest(
                session,
                explicit,
                all_active=all_active,
                post_to=post_to,
                webhooks=webhooks,
                note=lambda text: typer.echo(text, err=True),
            )

    result, problems = run(go())
    typer.echo(result.model_dump_json(indent=2) if as_json else render_markdown(result))
    for problem in problems:
        typer.echo(f"warning: {problem}", err=True)
    if result.unreadable or problems:
        raise Unavailable(
            f"{len(result.unreadable)} incident(s) unreadable, {len(problems)} webhook problem(s)",
            hint="the digest above is partial; see the messages above",
        )


def daemon(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run one cycle and exit (for cron and CI).")
    ] = False,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log lines as json or text (on stderr).")
    ] = "text",
) -> None:
    """Poll active incidents; post status digests and reminders, each exactly once."""
    from sync_incident.daemon import run_daemon

    settings = settings_of(ctx)
    raise typer.Exit(
        run_daemon(
            settings, lambda: options.session_of(ctx, quiet=True), once=once, log_format=log_format
        )
    )
