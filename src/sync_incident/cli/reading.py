"""Commands that read: show, the gate, digests, the retrospective, the daemon, checks."""

from __future__ import annotations

import os
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
    globals_of,
    ref_of,
    run,
    settings_of,
)
from sync_incident.core.errors import EXIT_NOT_READY, UsageError

if TYPE_CHECKING:
    from sync_incident.core.readiness import Verdict
    from sync_incident.core.refs import TrackerKind
    from sync_incident.core.state import IncidentState
    from sync_incident.pinning import Pinning
    from sync_incident.service import Session


def show_incident(
    ctx: typer.Context,
    words: list[str],
    as_json: bool,
    full: bool,
    ids: bool = False,
    fields: str | None = None,
    web: bool = False,
) -> None:
    from sync_incident.application.overview import overview
    from sync_incident.views import incident_json, select_fields, state_text

    ref = ref_of(words)

    async def go() -> str:
        async with options.session_of(ctx) as session:
            reading = await session.read(ref)
            seen = overview(reading.state, session.policy, reading.facts, session.clock())
            if web:
                return open_in_browser(seen.state.url or reading.snapshot.url, ref)
            if fields is not None:
                return select_fields(incident_json(seen), fields)
            if as_json:
                return incident_json(seen)
            limit = None if full else 15
            me, tz = await reader_of(session, ref.kind, reading.state)
            return state_text(seen, timeline=limit, reader_tz=tz, reader=me, ids=ids)

    typer.echo(run(go()))


def open_in_browser(url: str, ref: object) -> str:
    """``--web``: the incident's page on its tracker, in the browser (as ``gh ... --web``)."""
    import webbrowser

    from sync_incident.views import web_url

    if not web_url(url):
        raise UsageError(
            f"{ref} has no web page on its tracker",
            hint="local incidents are shown by `sync-incident serve` at /incidents/REF",
        )
    webbrowser.open(url)
    return f"Opening {url} in your browser."


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
        account = await session.whoami(kind)
    except SyncIncidentError:
        return None, configured
    name = session.policy.person_for(kind, account) or account.login
    person = session.policy.people.get(name)
    if person is not None and "timezone" in person.model_fields_set:
        return name, person.timezone
    return name, configured


IdsOpt = Annotated[
    bool,
    typer.Option("--ids", help="Also show event ids (for retract, --hold and --handoff)."),
]
FieldsOpt = Annotated[
    str | None,
    typer.Option(
        "--fields",
        help="Print only these fields of the JSON, comma-separated (e.g. ic,releases); "
        "implies --json.",
        metavar="FIELDS",
    ),
]
WebOpt = Annotated[
    bool, typer.Option("--web", help="Open the bug or issue in your browser instead.")
]


def show(
    ctx: typer.Context,
    ref: RefArg,
    as_json: JsonOpt = False,
    full: FullOpt = False,
    ids: IdsOpt = False,
    fields: FieldsOpt = None,
    web: WebOpt = False,
) -> None:
    """Show an incident: IC, status, holds, sign-offs, handoffs, checklist, timeline."""
    show_incident(ctx, ref, as_json, full, ids, fields, web)


def bug(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Bugzilla bug number.")],
    as_json: JsonOpt = False,
    full: FullOpt = False,
    ids: IdsOpt = False,
    fields: FieldsOpt = None,
    web: WebOpt = False,
) -> None:
    """Show the incident kept in a Bugzilla bug: `sync-incident bug 123456`."""
    show_incident(ctx, ["bug", number], as_json, full, ids, fields, web)


def issue(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="owner/repo#42")],
    as_json: JsonOpt = False,
    full: FullOpt = False,
    ids: IdsOpt = False,
    fields: FieldsOpt = None,
    web: WebOpt = False,
) -> None:
    """Show the incident kept in a GitHub issue: `sync-incident issue owner/repo#42`."""
    show_incident(ctx, ["issue", ref], as_json, full, ids, fields, web)


def list_(
    ctx: typer.Context,
    as_json: JsonOpt = False,
) -> None:
    """List active incidents: IC, each release's verdict, holds, pending handoffs, next update.

    A tracker that cannot be reached is named, and the others are still listed (exit 69 then,
    after the listing, JSON included).
    """
    from sync_incident.application.overview import survey
    from sync_incident.core.errors import Unavailable
    from sync_incident.views import listing, listing_text

    async def go() -> tuple[str, dict[str, str]]:
        async with options.session_of(ctx) as session:
            seen, bad = await survey(session)
            found = listing([o for o in seen if o.open], bad)
            limit = session.policy.stale_handoff_minutes
            text = found.model_dump_json(indent=2) if as_json else listing_text(found, limit)
            return text, bad

    text, bad = run(go())
    typer.echo(text)
    if bad:
        raise Unavailable(
            f"{len(bad)} tracker(s) or incident(s) could not be read: {', '.join(bad)}",
            hint="the list above is partial; see its 'could not' lines",
        )


def gate(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help="A team that must sign off (repeat), besides the policy's required_signoffs "
            "for the product (which always apply).",
        ),
    ] = None,
    require_ship: Annotated[
        bool,
        typer.Option(
            "--require-ship",
            help="Also require the ship decision (the policy or product may already).",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Release gate: exit 0 ready, 1 not ready, 2 could not decide (fails closed)."""
    from sync_incident.application.decide import GateRequest, decide

    request = GateRequest.of(ref_of(ref), release, require or (), require_ship=require_ship)

    async def go() -> Verdict:
        # the gate reads and never writes: no mirror, and no cache file (ephemeral)
        async with options.session_of(ctx, ephemeral=True) as session:
            return await decide(session, request)

    verdict = run(go())
    if os.environ.get("GITHUB_ACTIONS"):  # the Action's summary, outputs and annotations
        from sync_incident import action

        action.report(verdict)
    typer.echo(verdict.model_dump_json(indent=2) if as_json else verdict.text())
    raise typer.Exit(0 if verdict.ready else EXIT_NOT_READY)


def lint(
    text: Annotated[str, typer.Argument(help="Text to check (use - to read stdin).")],
    strict: Annotated[
        bool, typer.Option("--strict", hidden=True, help="Kept for old scripts: lint is strict.")
    ] = False,
) -> None:
    """Check wording before posting: exit 1 and the explicit form to use when something is vague.

    Flags 'seems', 'better', 'LGTM', 'we can proceed', pronouns without a referent. A script or
    a chat bot can guard a message with it: exit 0 means nothing vague was found.
    """
    from sync_incident.core.events import Note
    from sync_incident.core.lint import explicit_form, lint_text

    body = sys.stdin.read() if text == "-" else text
    findings = lint_text("text", body)
    for finding in findings:
        typer.echo(f"{finding.phrase!r}: {finding.message}")
    if not findings:
        typer.echo("No vague wording found.")
        return
    typer.echo("Instead: " + explicit_form(Note(text=body or "-")))
    raise typer.Exit(1)


def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and policy; print what is in force and who you are."""
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

    typer.echo(f"  local tracker database: {settings.local.db or default_db()}")
    typer.echo(f"  cache: {settings.cache_path()} (deleting it loses nothing)")
    typer.echo(f"  bugzilla: {masked_url(settings.bugzilla.url)} (auth {settings.bugzilla.auth})")
    typer.echo(f"  github: {masked_url(settings.github.api_url)}")
    if policy.permissive:
        typer.echo("  policy: permissive (no people or teams): anyone may make any event")
    else:
        typer.echo(f"  policy: {len(policy.people)} people, teams: {', '.join(policy.teams)}")
        for product, rules in policy.products.items():
            typer.echo(f"  {product}: requires {', '.join(rules.required_signoffs)}")
        unpinned = policy.without_github_id()
        if unpinned:
            typer.echo(
                "  people with a GitHub login but no pinned github_id (they cannot act on "
                f"GitHub): {', '.join(unpinned)}; run `sync-incident config pin-github-ids`"
            )
    key = "set" if settings.bugzilla_api_key else "not set"
    token = "set" if settings.github_token else "not set"
    typer.echo(f"  Bugzilla API key: {key}; GitHub token: {token}")
    for line in run(_who(ctx)):
        typer.echo(f"  {line}")


def default_db() -> Path:
    from sync_incident.trackers.local import default_db_path

    return default_db_path()


async def _who(ctx: typer.Context) -> list[str]:
    """Who "you" are on each tracker in use, as the tracker says and the policy names you."""
    from sync_incident.core.errors import SyncIncidentError
    from sync_incident.trackers import kinds_in_use

    lines = []
    async with options.session_of(ctx, quiet=True) as session:
        settings = session.settings
        for kind in kinds_in_use(settings):
            if kind == "bugzilla" and not settings.bugzilla_api_key:
                lines.append("you on bugzilla: anonymous (no API key): you can read, not post")
                continue
            if kind == "github" and not settings.github_token:
                lines.append("you on github: anonymous (no token): you can read, not post")
                continue
            try:
                account = await session.whoami(kind)
            except SyncIncidentError as exc:
                lines.append(f"you on {kind}: could not ask ({exc.label}: {exc.message})")
                continue
            person = session.policy.person_for(kind, account)
            named = f"{person} in the policy" if person else "not a person in the policy"
            if person is None and kind == "local" and not session.policy.permissive:
                named += ": set [local] user, or pass --as NAME"
            lines.append(f"you on {kind}: {account.login} ({named})")
    return lines


def init(
    ctx: typer.Context,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a configuration file that exists.")
    ] = False,
) -> None:
    """Write a starter configuration and policy (the demo's), which works offline; say where.

    It goes to --config FILE, else SYNC_INCIDENT_CONFIG, else your user configuration file.
    """
    from platformdirs import user_config_path

    from sync_incident.config import ENV_PREFIX
    from sync_incident.demo import starter

    g = globals_of(ctx)
    target = g.config or Path(
        os.environ.get(ENV_PREFIX + "CONFIG") or user_config_path("sync-incident") / "config.toml"
    )
    if target.exists() and not force:
        raise UsageError(
            f"{target} exists: nothing was written",
            hint="pass --force to overwrite it, or --config FILE to write another file",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter(), encoding="utf-8")
    typer.echo(f"Wrote a starter configuration and policy to {target}.")
    typer.echo("Edit [people] and [teams] for your team, then run: sync-incident config check")


def pin_github_ids(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be pinned; write nothing.")
    ] = False,
) -> None:
    """Pin each person's GitHub account by numeric id in the policy file (looked up once).

    On GitHub people are bound by github_id alone: a login can be renamed and taken by
    anyone. Reads each person's `github` login (GET /users/{login}) and writes `github_id`
    into the file given with --policy (else --config), leaving the rest of it as it was. An
    id already pinned is never changed.
    """
    from sync_incident.core.errors import ConfigError
    from sync_incident.pinning import pin_github_ids as pin
    from sync_incident.trackers.base import Users

    settings = settings_of(ctx)
    path = settings.policy_file or settings.config_file
    if path is None:
        raise ConfigError(
            "no policy file to write the ids into",
            hint="pass the file that lists people: --policy FILE (or --config FILE)",
        )

    async def go() -> Pinning:
        async with options.session_of(ctx, quiet=True) as session:
            tracker = session.tracker("github")
            if not isinstance(tracker, Users):
                raise ConfigError("this GitHub backend cannot look accounts up")
            return await pin(path, tracker.user, write=not dry_run)

    result = run(go())
    verb = "would pin" if dry_run else "pinned"
    for key, login, uid in result.pinned:
        typer.echo(f"{key}: {verb} github_id = {uid} (the account that has the login {login} now)")
    for key, uid in result.kept:
        typer.echo(f"{key}: github_id = {uid} already pinned")
    if result.problems:
        raise ConfigError(
            "; ".join(result.problems),
            hint=f"fix these people in {path} by hand: a login binds nobody, the id does",
        )
    if not (result.pinned or result.kept):
        typer.echo(f"Nobody in {path} has a GitHub login to pin.")


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
