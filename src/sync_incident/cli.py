"""The ``sync-incident`` command line: parse arguments, call the library, print, exit.

Every error goes through one boundary (:func:`main`): ``ClassName: message`` and a hint on
stderr, and the exit code documented in the README. ``gate`` maps every failure to 2.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, NamedTuple, TypeVar

import typer

from sync_incident.errors import EXIT_UNDECIDED, EXIT_USAGE, SyncIncidentError, UsageError

T = TypeVar("T")

app = typer.Typer(
    name="sync-incident",
    help=(
        "Run a release incident inside ONE Bugzilla bug or GitHub issue: timeline, incident "
        "commander, handoffs, holds and sign-offs as structured comments.\n\n"
        "Show an incident with `sync-incident bug 123456`, `sync-incident issue owner/repo#42` "
        "or `sync-incident local:7`."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Check the configuration and the policy.", no_args_is_help=True)
app.add_typer(config_app, name="config")

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
    db: Path | None = None
    bugzilla_url: str | None = None
    github_api_url: str | None = None
    cache: Path | None = None
    overrides: dict[str, Any] | None = None


def _globals(ctx: typer.Context) -> Globals:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Globals) else Globals()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML config file (default: SYNC_INCIDENT_CONFIG or the user config dir).",
        ),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="TOML policy file: people, teams, products.")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Act as NAME (local tracker only: simulates several people)."),
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help="Local tracker database file.")] = None,
    bugzilla_url: Annotated[
        str | None, typer.Option("--bugzilla-url", help="Bugzilla base URL.")
    ] = None,
    github_api_url: Annotated[
        str | None,
        typer.Option(
            "--github-api-url",
            help="GitHub API base URL (https://HOST/api/v3 for Enterprise Server).",
        ),
    ] = None,
    cache: Annotated[
        Path | None,
        typer.Option("--cache", help="Cache file (cursors, ETags); deleting it loses nothing."),
    ] = None,
) -> None:
    overrides: dict[str, Any] = {}
    if db is not None:
        overrides["local"] = {"db": db}
    if bugzilla_url is not None:
        overrides["bugzilla"] = {"url": bugzilla_url}
    if github_api_url is not None:
        overrides["github"] = {"api_url": github_api_url}
    if cache is not None:
        overrides["cache"] = cache
    ctx.obj = Globals(config, policy, as_user, db, bugzilla_url, github_api_url, cache, overrides)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio  # lazily: `--help` must stay as fast as importing typer

    return asyncio.run(coro)


def _settings(g: Globals) -> Any:
    from sync_incident.config import load_settings

    settings = load_settings(g.config, policy_file=g.policy, overrides=None)
    # flags over env over file: apply flag overrides on the loaded settings
    for section, values in (g.overrides or {}).items():
        if isinstance(values, dict):
            target = getattr(settings, section)
            for key, value in values.items():
                setattr(target, key, value)
        else:
            setattr(settings, section, values)
    return settings


def _session(ctx: typer.Context) -> Any:
    from sync_incident.service import Session

    g = _globals(ctx)
    settings = _settings(g)
    if settings.policy.permissive:
        typer.echo(
            "Note: no policy configured: any account may sign off for any team "
            "(set [people] and [teams] in the config to enforce who may do what).",
            err=True,
        )
    return Session(settings, as_user=g.as_user)


def _ref(words: list[str]) -> Any:
    from sync_incident.refs import ReferenceError, parse_ref_words

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


# --- reading -------------------------------------------------------------------------------


def _show(ctx: typer.Context, words: list[str], as_json: bool, full: bool) -> None:
    from sync_incident.render import state_text

    ref = _ref(words)

    async def go() -> Any:
        async with _session(ctx) as session:
            _, state, _ = await session.read(ref)
            return state

    state = _run(go())
    typer.echo(state.to_json() if as_json else state_text(state, timeline=None if full else 15))


@app.command()
def show(
    ctx: typer.Context,
    ref: RefArg,
    as_json: JsonOpt = False,
    full: Annotated[bool, typer.Option("--full", help="Show the whole timeline.")] = False,
) -> None:
    """Show an incident: IC, status, holds, sign-offs, handoffs, checklist, timeline."""
    _show(ctx, ref, as_json, full)


@app.command()
def bug(
    ctx: typer.Context,
    number: Annotated[str, typer.Argument(help="Bugzilla bug number.")],
    as_json: JsonOpt = False,
    full: Annotated[bool, typer.Option("--full", help="Show the whole timeline.")] = False,
) -> None:
    """Show the incident kept in a Bugzilla bug: `sync-incident bug 123456`."""
    _show(ctx, ["bug", number], as_json, full)


@app.command()
def issue(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="owner/repo#42")],
    as_json: JsonOpt = False,
    full: Annotated[bool, typer.Option("--full", help="Show the whole timeline.")] = False,
) -> None:
    """Show the incident kept in a GitHub issue: `sync-incident issue owner/repo#42`."""
    _show(ctx, ["issue", ref], as_json, full)


# --- posting -------------------------------------------------------------------------------


def _post(ctx: typer.Context, words: list[str], build: Any, dry_run: bool, strict: bool) -> None:
    """Build events from the current state (``build(state, me) -> list[Event]``) and post them."""
    ref = _ref(words)

    async def go() -> Any:
        async with _session(ctx) as session:
            snap, state, _ = await session.read(ref)
            me = await session.whoami(ref.kind)
            actor = session.policy.person_for(ref.kind, me) or me.login
            events = build(state, actor)
            return await session.post(ref, events, dry_run=dry_run, strict=strict, snapshot=snap)

    outcome = _run(go())
    for finding in outcome.findings:
        typer.echo(f"Wording: {finding}", err=True)
    if dry_run:
        typer.echo(f"--- comment that would be posted on {outcome.ref} ---")
        typer.echo(outcome.body)
        return
    what = "already posted (found it, not posted again)" if outcome.duplicate else "posted"
    typer.echo(f"{outcome.events[0].type} {what} on {outcome.ref} as comment {outcome.comment_id}.")
    typer.echo(_first_line(outcome.body))
    if outcome.mirror_error:
        typer.echo(f"Warning: {outcome.mirror_error}", err=True)


def _first_line(body: str) -> str:
    return body.strip().split("\n", 1)[0]


def _time(text: str | None) -> Any:
    from sync_incident.timeparse import parse_time

    return parse_time(text) if text else None


def _release(text: str) -> str:
    from sync_incident.events import normalise_release

    try:
        return normalise_release(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _build(cls: Any, **fields: Any) -> Any:
    """Construct an event, turning validation errors into one-line usage errors."""
    from pydantic import ValidationError

    try:
        return cls(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise UsageError(f"{where}: {error['msg']}") from None


ReleaseOpt = Annotated[
    str, typer.Option("--release", "-r", help="Exact product and version, e.g. 'Firefox 96.0.1'.")
]
TIME_HELP = "Time: '2022-01-12 14:03' (UTC), ISO 8601 with offset, or '+90m' / '+2h' / '+1d'."


@app.command("open")
def open_(
    ctx: typer.Context,
    ref: Annotated[
        list[str] | None,
        typer.Argument(
            help="Adopt this existing bug / issue (omit to file a new one).", metavar="[REF]"
        ),
    ] = None,
    title: Annotated[
        str | None, typer.Option("--title", "-t", help="What is happening, in one line.")
    ] = None,
    severity: Annotated[str, typer.Option("--severity", help="S1 (worst) .. S4.")] = "S2",
    release: Annotated[
        list[str] | None, typer.Option("--release", "-r", help="A release concerned (repeat).")
    ] = None,
    ic: Annotated[
        str | None, typer.Option("--ic", help="The first incident commander (default: you).")
    ] = None,
    bugzilla: Annotated[bool, typer.Option("--bugzilla", help="File a new Bugzilla bug.")] = False,
    product: Annotated[str, typer.Option("--product", help="Bugzilla product for a new bug.")] = "",
    component: Annotated[
        str, typer.Option("--component", help="Bugzilla component for a new bug.")
    ] = "",
    github: Annotated[
        str | None, typer.Option("--github", help="File a new issue in owner/repo.")
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="File a new incident on the local tracker.")
    ] = False,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Open an incident: file a new bug / issue, or adopt an existing one, naming the first IC."""
    from sync_incident.events import Opened

    releases = [_release(r) for r in release or []]

    async def go() -> str:
        async with _session(ctx) as session:
            if ref:
                target = _ref(ref)
                snap, _, _ = await session.read(target)
                me = await session.whoami(target.kind)
                event = _build(
                    Opened,
                    title=title or snap.title or str(target),
                    severity=severity,
                    releases=releases,
                    ic=ic or session.policy.person_for(target.kind, me) or me.login,
                )
                outcome = await session.post(
                    target, [event], dry_run=dry_run, strict=strict, snapshot=snap
                )
                if dry_run:
                    return outcome.body  # type: ignore[no-any-return]
                return f"Incident opened on {target}; {event.ic} is incident commander."
            if not title:
                raise UsageError(
                    "a new incident needs --title", hint="or name an existing bug / issue to adopt"
                )
            kind = (
                "bugzilla"
                if bugzilla
                else "github"
                if github
                else "local"
                if local
                else session.settings.tracker
            )
            me = await session.whoami(kind)
            event = _build(
                Opened,
                title=title,
                severity=severity,
                releases=releases,
                ic=ic or session.policy.person_for(kind, me) or me.login,
            )
            if dry_run:
                from sync_incident import codec

                return codec.render(event, "github" if kind == "github" else "plain")
            new_ref = await session.open_new(
                kind, event, product=product, component=component, repo=github or ""
            )
            return f"Incident opened: {new_ref}; {event.ic} is incident commander."

    typer.echo(_run(go()))


@app.command()
def note(
    ctx: typer.Context,
    ref: RefArg,
    text: Annotated[
        str, typer.Option("--text", "-m", help="What happened, as a complete sentence.")
    ],
    occurred_at: Annotated[
        str | None,
        typer.Option("--occurred-at", help="Backfill: when it really happened. " + TIME_HELP),
    ] = None,
    url: Annotated[list[str] | None, typer.Option("--url", help="A related link (repeat).")] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Add a timeline note (optionally backfilled to when it happened)."""
    from sync_incident.events import Note

    _post(
        ctx,
        ref,
        lambda s, me: [_build(Note, text=text, occurred_at=_time(occurred_at), links=url or [])],
        dry_run,
        strict,
    )


@app.command()
def link(
    ctx: typer.Context,
    ref: RefArg,
    url: Annotated[str, typer.Option("--url", help="The link.")],
    kind: Annotated[str, typer.Option("--kind", help="patch, doc, bug, call or other.")] = "other",
    title: Annotated[str, typer.Option("--title", help="What it is.")] = "",
    dry_run: DryRun = False,
) -> None:
    """Record a link: a patch, a doc, a related bug, a call."""
    from sync_incident.events import Link

    _post(ctx, ref, lambda s, me: [_build(Link, url=url, kind=kind, title=title)], dry_run, False)


@app.command()
def step(
    ctx: typer.Context,
    ref: RefArg,
    step_id: Annotated[str, typer.Option("--step", "-n", help="Step number or id, e.g. 4.")],
    title: Annotated[
        str | None, typer.Option("--title", help="What the step is (adds the step).")
    ] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Who does it.")] = None,
    state: Annotated[
        str | None, typer.Option("--state", help="todo, doing, done or blocked.")
    ] = None,
    due: Annotated[str | None, typer.Option("--due", help="Due by. " + TIME_HELP)] = None,
    note_text: Annotated[str, typer.Option("--note", help="A word on the change.")] = "",
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Add a checklist step (with --title) or update one (state, owner, due time)."""
    from sync_incident.events import StepAdded, StepUpdated

    def build(s: Any, me: str) -> list[Any]:
        exists = any(x.step == step_id for x in s.checklist)
        if not exists:
            if not title:
                raise UsageError(f"there is no step {step_id} yet: pass --title to add it")
            return [
                _build(
                    StepAdded,
                    step=step_id,
                    title=title,
                    owner=owner,
                    state=state or "todo",
                    due=_time(due),
                )
            ]
        return [
            _build(
                StepUpdated, step=step_id, state=state, owner=owner, due=_time(due), note=note_text
            )
        ]

    _post(ctx, ref, build, dry_run, strict)


@app.command()
def status(
    ctx: typer.Context,
    ref: RefArg,
    summary: Annotated[
        str, typer.Option("--summary", "-m", help="Where things stand, explicitly.")
    ],
    next_update: Annotated[
        str | None, typer.Option("--next-update", help="Next update due by. " + TIME_HELP)
    ] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Post a status update and when the next one is due."""
    from sync_incident.events import StatusUpdate

    _post(
        ctx,
        ref,
        lambda s, me: [_build(StatusUpdate, summary=summary, next_update_due=_time(next_update))],
        dry_run,
        strict,
    )


def _next_steps(specs: list[str]) -> list[Any]:
    from sync_incident.events import NextStep

    out = []
    for spec in specs:
        parts = [p.strip() for p in spec.split("|")]
        if len(parts) > 3 or not parts[0]:
            raise UsageError(
                f"--next {spec!r}: use 'what | owner | by', e.g. 'Finish step 5 | beatrice | +1h'"
            )
        what = parts[0]
        owner = parts[1] if len(parts) > 1 and parts[1] else None
        by = _time(parts[2]) if len(parts) > 2 and parts[2] else None
        out.append(_build(NextStep, what=what, owner=owner, by=by))
    return out


@app.command()
def handoff(
    ctx: typer.Context,
    ref: RefArg,
    to: Annotated[str, typer.Option("--to", help="Who takes over.")],
    done: Annotated[str, typer.Option("--done", help="What is done.")],
    todo: Annotated[str, typer.Option("--todo", help="What still needs to be done.")],
    next_: Annotated[
        list[str] | None, typer.Option("--next", help="A next step: 'what | owner | by' (repeat).")
    ] = None,
    notify: Annotated[
        list[str] | None, typer.Option("--notify", help="Whom to notify when done (repeat).")
    ] = None,
    steps: Annotated[
        list[str] | None,
        typer.Option(
            "--step", help="Hand off these checklist steps instead of the IC role (repeat)."
        ),
    ] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Offer a handoff (the IC role, or named steps): done, to do, next steps, whom to notify."""
    from sync_incident.events import HandoffOffered

    def build(s: Any, me: str) -> list[Any]:
        return [
            _build(
                HandoffOffered,
                to=to,
                role="steps" if steps else "ic",
                steps=steps or [],
                done=done,
                todo=todo,
                next_steps=_next_steps(next_ or []),
                notify=notify or [],
            )
        ]

    _post(ctx, ref, build, dry_run, strict)


def _pending_for(state: Any, me: str, handoff_id: str | None) -> str:
    pending = [h for h in state.handoffs if h.status == "pending"]
    if handoff_id:
        match = [h for h in pending if h.id == handoff_id or h.id.endswith(handoff_id.upper())]
        if not match:
            raise UsageError(f"no pending handoff {handoff_id} on this incident")
        return str(match[0].id)
    mine = [h for h in pending if h.to == me]
    if not mine:
        names = ", ".join(f"{h.id} (to {h.to})" for h in pending) or "none"
        raise UsageError(f"no handoff is waiting for {me}; pending: {names}")
    if len(mine) > 1:
        raise UsageError(
            "several handoffs wait for you: pass --handoff ID", hint=", ".join(h.id for h in mine)
        )
    return str(mine[0].id)


HandoffOpt = Annotated[
    str | None,
    typer.Option(
        "--handoff",
        help="Which handoff (id or its last characters); default: the one waiting for you.",
    ),
]


@app.command()
def accept(
    ctx: typer.Context, ref: RefArg, handoff_id: HandoffOpt = None, dry_run: DryRun = False
) -> None:
    """Accept the handoff offered to you: from now on you are in charge."""
    from sync_incident.events import HandoffAccepted

    _post(
        ctx,
        ref,
        lambda s, me: [HandoffAccepted(offer=_pending_for(s, me, handoff_id))],
        dry_run,
        False,
    )


@app.command()
def decline(
    ctx: typer.Context,
    ref: RefArg,
    reason: Annotated[str, typer.Option("--reason", help="Why (visible to everybody).")] = "",
    handoff_id: HandoffOpt = None,
    dry_run: DryRun = False,
) -> None:
    """Decline the handoff offered to you; the current owner stays in charge."""
    from sync_incident.events import HandoffDeclined

    _post(
        ctx,
        ref,
        lambda s, me: [HandoffDeclined(offer=_pending_for(s, me, handoff_id), reason=reason)],
        dry_run,
        False,
    )


@app.command()
def hold(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    reason: Annotated[str, typer.Option("--reason", help="Because of what, explicitly.")],
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Ask to hold a release: it is blocked until you or the IC release the hold."""
    from sync_incident.events import HoldRaised

    _post(
        ctx,
        ref,
        lambda s, me: [_build(HoldRaised, release=_release(release), reason=reason)],
        dry_run,
        strict,
    )


@app.command("release-hold")
def release_hold(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the concern is addressed.")] = "",
    hold_id: Annotated[
        str | None, typer.Option("--hold", help="Which hold, when several are open on the release.")
    ] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Release a hold you raised (or, as IC, any hold) on a release."""
    from sync_incident.events import HoldReleased

    target = _release(release)

    def build(s: Any, me: str) -> list[Any]:
        holds = s.holds_on(target)
        if hold_id:
            holds = [h for h in holds if h.id == hold_id or h.id.endswith(hold_id.upper())]
        if not holds:
            raise UsageError(f"there is no open hold on {target}")
        mine = [h for h in holds if h.by == me]
        chosen = mine or holds
        if len(chosen) > 1:
            raise UsageError(
                f"{len(chosen)} holds are open on {target}: pass --hold ID",
                hint=", ".join(f"{h.id} by {h.by}" for h in chosen),
            )
        return [_build(HoldReleased, release=target, hold=chosen[0].id, reason=reason)]

    _post(ctx, ref, build, dry_run, strict)


@app.command()
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
    strict: Strict = False,
) -> None:
    """Sign off on an exact release for your team."""
    from sync_incident.events import SignoffGiven

    target = _release(release)
    text = statement or f"{team} signs off on {target}."
    _post(
        ctx,
        ref,
        lambda s, me: [_build(SignoffGiven, team=team, release=target, statement=text)],
        dry_run,
        strict,
    )


@app.command()
def revoke(
    ctx: typer.Context,
    ref: RefArg,
    team: Annotated[str, typer.Option("--team", help="The team whose sign-off is revoked.")],
    release: ReleaseOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Revoke a team's sign-off on a release."""
    from sync_incident.events import SignoffRevoked

    _post(
        ctx,
        ref,
        lambda s, me: [_build(SignoffRevoked, team=team, release=_release(release), reason=reason)],
        dry_run,
        strict,
    )


@app.command()
def ship(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    statement: Annotated[
        str | None, typer.Option("--statement", help="Default: 'Please ship RELEASE to users.'")
    ] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Record the ship decision (Relman): "Please ship Focus 97.0 to users"."""
    from sync_incident.events import ShipDecision

    target = _release(release)
    _post(
        ctx,
        ref,
        lambda s, me: [
            _build(
                ShipDecision,
                release=target,
                statement=statement or f"Please ship {target} to users.",
            )
        ],
        dry_run,
        strict,
    )


@app.command()
def resolve(
    ctx: typer.Context,
    ref: RefArg,
    summary: Annotated[str, typer.Option("--summary", "-m", help="How it ended.")] = "",
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Resolve the incident (the IC)."""
    from sync_incident.events import Resolved

    _post(ctx, ref, lambda s, me: [_build(Resolved, summary=summary)], dry_run, strict)


@app.command()
def reopen(
    ctx: typer.Context,
    ref: RefArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it is back.")],
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Reopen a resolved incident."""
    from sync_incident.events import Reopened

    _post(ctx, ref, lambda s, me: [_build(Reopened, reason=reason)], dry_run, strict)


@app.command("retro-note")
def retro_note(
    ctx: typer.Context,
    ref: RefArg,
    kind: Annotated[
        str, typer.Option("--kind", help="root_cause, went_well, could_be_better or action_item.")
    ],
    text: Annotated[str, typer.Option("--text", "-m", help="The note.")],
    owner: Annotated[str | None, typer.Option("--owner", help="Owner of an action item.")] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Add a retrospective note: root cause, went well, could be better, action item."""
    from sync_incident.events import RetroNote

    _post(
        ctx,
        ref,
        lambda s, me: [_build(RetroNote, kind=kind, text=text, owner=owner)],
        dry_run,
        strict,
    )


# --- gate, lint, config, demo -----------------------------------------------------------------


@app.command()
def gate(
    ctx: typer.Context,
    ref: RefArg,
    release: ReleaseOpt,
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            help="A team that must sign off (repeat); default: the policy's required_signoffs for the product.",
        ),
    ] = None,
    require_ship: Annotated[
        bool, typer.Option("--require-ship", help="Also require the Relman ship decision.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Release gate: exit 0 ready, 1 not ready, 2 could not decide (fails closed)."""
    from sync_incident.gate import readiness
    from sync_incident.render import verdict_text

    target = _ref(ref)

    async def go() -> Any:
        async with _session(ctx) as session:
            _, state, facts = await session.read(target)
            return readiness(
                state,
                _release(release),
                required=require,
                policy=session.policy,
                facts=facts,
                require_ship=require_ship,
            )

    verdict = _run(go())
    from sync_incident import action

    action.report(verdict)
    typer.echo(verdict.model_dump_json(indent=2) if as_json else verdict_text(verdict))
    raise typer.Exit(0 if verdict.ready else 1)


@app.command("lint")
def lint_cmd(
    text: Annotated[str, typer.Argument(help="Text to check (use - to read stdin).")],
    strict: Strict = False,
) -> None:
    """Check wording before posting: flags 'seems', 'better', 'LGTM', pronouns without referent."""
    from sync_incident.lint import lint_text

    body = sys.stdin.read() if text == "-" else text
    findings = lint_text("text", body)
    for finding in findings:
        typer.echo(f"{finding.phrase!r}: {finding.message}")
    if not findings:
        typer.echo("No vague wording found.")
    raise typer.Exit(3 if findings and strict else 0)


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and policy; print what is in force."""
    g = _globals(ctx)
    settings = _settings(g)
    policy = settings.policy
    typer.echo("Configuration is valid.")
    typer.echo(f"  default tracker: {settings.tracker}")
    typer.echo(f"  bugzilla: {settings.bugzilla.url} (auth {settings.bugzilla.auth})")
    typer.echo(f"  github: {settings.github.api_url}")
    if policy.permissive:
        typer.echo("  policy: permissive (no people or teams): anyone may make any event")
    else:
        typer.echo(f"  policy: {len(policy.people)} people, teams: {', '.join(policy.teams)}")
        for product, rules in policy.products.items():
            typer.echo(f"  {product}: requires {', '.join(rules.required_signoffs)}")
    from sync_incident.config import bugzilla_key, github_token

    typer.echo(
        f"  Bugzilla API key: {'set' if bugzilla_key() else 'not set'}; GitHub token: {'set' if github_token() else 'not set'}"
    )


@app.command()
def demo(ctx: typer.Context) -> None:
    """Play the seed's story on a fresh local incident and show each step.

    The incident lives in a temporary file, or in the file named by the global --db option
    (then look at it afterwards: `sync-incident local:1 --db FILE`).
    """
    from sync_incident.demo import play

    db = _globals(ctx).db
    raise typer.Exit(_run(play(db, echo=typer.echo)))


@app.command()
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
    from sync_incident.retro import Format, run_retro

    if fmt not in ("md", "html"):
        raise UsageError(f"--format must be md or html, not {fmt!r}")
    incident = _ref(ref)

    async def go() -> Any:
        async with _session(ctx) as session:
            return await run_retro(session, incident, Format(fmt), post=post)

    page, result = _run(go())
    if out is not None:
        out.write_text(page, encoding="utf-8")
        typer.echo(f"Wrote the retrospective draft of {incident} to {out}.", err=post)
    elif not post:
        typer.echo(page, nl=False)
    if result is not None:
        typer.echo(result.message)


@app.command("digest")
def digest_cmd(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Incidents (bug 123456, issue owner/repo#42, local:7); default: config `incidents`.",
            metavar="[REF]...",
        ),
    ] = None,
    all_active: Annotated[
        bool,
        typer.Option(
            "--all-active",
            help="Ask the trackers: local incidents not resolved, Bugzilla bugs tagged [incident:active], GitHub issues labelled incident:active in github.repos.",
        ),
    ] = False,
    as_json: JsonOpt = False,
    post_to: Annotated[
        str | None,
        typer.Option(
            "--post-to",
            help="Post the digest on this bug / issue, once per incident set and period (default: config digest.post_to).",
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
    from sync_incident.digest import render_markdown, run_digest, split_refs
    from sync_incident.trackers.base import Unavailable

    explicit = [_ref(words) for words in split_refs(refs or [])]
    note = lambda text: typer.echo(text, err=True)  # noqa: E731

    async def go() -> Any:
        async with _session(ctx) as session:
            return await run_digest(
                session,
                explicit,
                all_active=all_active,
                post_to=post_to,
                webhooks=webhooks,
                note=note,
            )

    digest, problems = _run(go())
    typer.echo(digest.model_dump_json(indent=2) if as_json else render_markdown(digest))
    for problem in problems:
        typer.echo(f"Warning: {problem}", err=True)
    if digest.unreadable or problems:
        raise Unavailable(
            f"{len(digest.unreadable)} incident(s) unreadable, {len(problems)} webhook problem(s)",
            hint="the digest above is partial; see the messages above",
        )


@app.command("daemon")
def daemon_cmd(
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

    settings = _settings(_globals(ctx))
    raise typer.Exit(run_daemon(settings, lambda: _session(ctx), once=once, log_format=log_format))


# --- the boundary --------------------------------------------------------------------------


def _reorder(argv: list[str]) -> list[str]:
    """Move global options to the front; turn a bare reference into `show REF`."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        name = arg.split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            if "=" in arg:
                front.append(arg)
            elif i + 1 < len(argv):
                front.extend(argv[i : i + 2])
                i += 1
            else:
                rest.append(arg)
        else:
            rest.append(arg)
        i += 1
    if rest and _looks_like_ref(rest[0]):
        rest.insert(0, "show")
    return front + rest


def _command(args: list[str]) -> str | None:
    """The subcommand in reordered args (global options, which take a value, come first)."""
    i = 0
    while i < len(args):
        name = args[i].split("=", 1)[0]
        if name in GLOBAL_OPTIONS:
            i += 1 if "=" in args[i] else 2
            continue
        return None if args[i].startswith("-") else args[i]
    return None


def _looks_like_ref(word: str) -> bool:
    lowered = word.lower()
    return lowered.startswith(("local:", "bugzilla:", "github:", "http://", "https://")) or (
        "#" in word and "/" in word and not word.startswith("-")
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: one error boundary, documented exit codes, never a traceback."""
    from typer._click.exceptions import NoArgsIsHelpError
    from typer._click.exceptions import UsageError as ClickUsageError

    args = _reorder(list(sys.argv[1:] if argv is None else argv))
    is_gate = _command(args) == "gate"
    try:
        # standalone_mode=False makes click *return* the code of typer.Exit instead of raising
        code = app(args=args, prog_name="sync-incident", standalone_mode=False)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except SyncIncidentError as exc:
        _fail(
            type(exc).__name__, exc.message, exc.hint, EXIT_UNDECIDED if is_gate else exc.exit_code
        )
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        _fail("Aborted", "interrupted", "", 130)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(0 if not args else EXIT_USAGE)
    except ClickUsageError as exc:
        path = exc.ctx.command_path if exc.ctx else "sync-incident"
        hint = f"run `{path} --help` for the options"
        _fail("UsageError", exc.format_message(), hint, EXIT_UNDECIDED if is_gate else EXIT_USAGE)
    except typer.TyperException as exc:
        _fail(
            type(exc).__name__, exc.format_message(), "", EXIT_UNDECIDED if is_gate else EXIT_USAGE
        )
    except KeyboardInterrupt:
        _fail("Interrupted", "stopped by the user", "", 130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        from sync_incident.config import bugzilla_key, github_token
        from sync_incident.trackers.http import Redactor

        secrets = [s.get_secret_value() for s in (bugzilla_key(), github_token()) if s]
        _fail(
            "InternalError",
            Redactor(secrets)(f"{type(exc).__name__}: {exc}"),
            "this is a bug in sync-incident; please report it",
            EXIT_UNDECIDED if is_gate else 70,
        )
    sys.exit(0)


def _fail(kind: str, message: str, hint: str, code: int) -> None:
    line = " ".join(message.split())
    typer.echo(f"{kind}: {line}", err=True)
    if hint:
        typer.echo(f"hint: {hint}", err=True)
    sys.exit(code)
