"""Commands that post to the timeline (or open an incident): parse, call intents + Session, print.

The decisions the gate reads (holds, sign-offs, ship, resolve) live in ``decisions``; both post
through ``post`` here."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from sync_incident.cli import options
from sync_incident.cli.options import (
    TIME_HELP,
    DryRun,
    ReasonOpt,
    RefArg,
    Strict,
    ref_of,
    run,
)
from sync_incident.core.errors import UsageError

if TYPE_CHECKING:
    from sync_incident.core.events import Event
    from sync_incident.core.refs import TrackerKind
    from sync_incident.core.state import IncidentState
    from sync_incident.intents import Actor
    from sync_incident.service import Outcome, Session

Build = Callable[["IncidentState", "Actor"], "list[Event]"]


async def acting(session: Session, kind: TrackerKind) -> Actor:
    """Who acts on this tracker, with their timezone (config ``timezone``, else the policy's)."""
    from sync_incident.intents import Actor

    name = await session.actor(kind)
    person = session.policy.people.get(name)
    tz = session.settings.timezone or (person.timezone if person else None)
    return Actor(name=name, tz=tz, now=session.clock())


def post(
    ctx: typer.Context,
    words: list[str],
    build: Build,
    dry_run: bool,
    strict: bool,
    *,
    done: Callable[[Outcome], str] | None = None,
) -> None:
    """Read the incident once, build events from its state and who acts, post them, say so."""
    from sync_incident.intents import Unchanged

    ref = ref_of(words)
    notes: list[str] = []

    async def go() -> Outcome | Unchanged:
        async with options.session_of(ctx) as session:
            # no catch-up here: the post carries the mirror with its own write, and a refused
            # command must cost no write (nor the key check before one)
            reading = await session.read(ref, catch_up=False)
            me = await acting(session, ref.kind)
            try:
                events = build(reading.state, me)
            except Unchanged as same:
                return same
            finally:
                notes.extend(me.notes)
            return await session.post(ref, events, reading=reading, dry_run=dry_run, strict=strict)

    outcome = run(go())
    for note in notes:
        typer.echo(f"warning: {note}", err=True)
    if isinstance(outcome, Unchanged):
        typer.echo(outcome.message)
        return
    if done is not None and not dry_run:
        typer.echo(done(outcome))
        return
    report(outcome, dry_run)


def report(outcome: Outcome, dry_run: bool) -> None:
    for finding in outcome.findings:
        typer.echo(f"wording: {finding}", err=True)
    if dry_run:
        typer.echo(f"--- comment that would be posted on {outcome.ref} ---")
        typer.echo(outcome.body)
        return
    number = f" as comment {outcome.comment_id}" if outcome.comment_id else ""  # a PUT hides it
    where = f"{outcome.ref}{number}"
    if outcome.duplicate:
        typer.echo(f"Already on {where} (found it, not posted again):")
    else:
        typer.echo(f"Posted on {where}:")
    human = (
        outcome.body.strip()
        .split("\n\n[sync-incident:", 1)[0]
        .split("\n\n<!-- sync-incident:", 1)[0]
    )
    for line in human.split("\n"):
        typer.echo(f"  {line}" if line else "")
    if outcome.mirror_error:
        typer.echo(f"warning: {outcome.mirror_error}", err=True)


def register(command: Callable[[str], Callable[[Callable[..., None]], object]]) -> None:
    """Register the posting and decision commands with ``command`` (``cli.app.command``)."""
    from sync_incident.cli import decisions

    timeline: tuple[Callable[..., None], ...] = (
        open_,
        note,
        link,
        step,
        status,
        handoff,
        accept,
        decline,
    )
    corrections: tuple[Callable[..., None], ...] = (retract, check, retro_note)
    for function in (*timeline, *decisions.COMMANDS, *corrections):
        command(function.__name__.rstrip("_").replace("_", "-"))(function)


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
    severity: Annotated[
        str, typer.Option("--severity", help="One of the policy's levels, S1 (worst) .. S4.")
    ] = "S2",
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
    from sync_incident import intents
    from sync_incident.core.events import Opened

    releases = list(dict.fromkeys(intents.release(r) for r in release or []))
    if ref:
        target = ref_of(ref)

        def build(state: IncidentState, me: Actor) -> list[Event]:
            name = title or state.title or str(target)
            level = intents.severity(options.policy_of(ctx), severity)
            fields = {"severity": level, "releases": releases, "ic": ic or me.name}
            return [intents.build(Opened, title=name, **fields)]

        def done(outcome: Outcome) -> str:
            ic_now = outcome.state.ic
            return f"Incident opened on {outcome.ref}; {ic_now} is incident commander."

        post(ctx, ref, build, dry_run, strict, done=done)
        return
    if not title:
        raise UsageError("a new incident needs --title", hint="or name an existing bug to adopt")
    if bugzilla + bool(github) + local > 1:
        raise UsageError("choose one of --bugzilla, --github and --local", hint="one tracker")
    run(
        _open_new(
            ctx, title, severity, releases, ic, bugzilla, github, local, product, component, dry_run
        )
    )


async def _open_new(
    ctx: typer.Context,
    title: str,
    severity: str,
    releases: list[str],
    ic: str | None,
    bugzilla: bool,
    github: str | None,
    local: bool,
    product: str,
    component: str,
    dry_run: bool,
) -> None:
    from sync_incident import intents
    from sync_incident.core.events import Opened

    async with options.session_of(ctx) as session:
        kind: TrackerKind = (
            "bugzilla"
            if bugzilla
            else "github"
            if github
            else "local"
            if local
            else session.settings.tracker
        )
        me = await session.actor(kind)
        level = intents.severity(session.policy, severity)
        fields = {"severity": level, "releases": releases, "ic": ic or me}
        event = intents.build(Opened, title=title, **fields)
        if dry_run:
            typer.echo(session.renderer.render([event], session.tracker(kind).flavor))
            return
        where = github or (f"{product} :: {component}" if product or component else "")
        new_ref = await session.open_new(kind, event, location=where)
        typer.echo(f"Incident opened: {new_ref}; {event.ic} is incident commander.")


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
    from sync_incident import intents
    from sync_incident.core.events import Note

    def build(s: IncidentState, me: Actor) -> list[Event]:
        at = me.time(occurred_at)
        return [intents.build(Note, text=text, occurred_at=at, links=url or [])]

    post(ctx, ref, build, dry_run, strict)


def link(
    ctx: typer.Context,
    ref: RefArg,
    url: Annotated[str, typer.Option("--url", help="The link.")],
    kind: Annotated[str, typer.Option("--kind", help="patch, doc, bug, call or other.")] = "other",
    title: Annotated[str, typer.Option("--title", help="What it is.")] = "",
    dry_run: DryRun = False,
) -> None:
    """Record a link: a patch, a doc, a related bug, a call."""
    from sync_incident import intents
    from sync_incident.core.events import Link

    build: Build = lambda s, me: [intents.build(Link, url=url, kind=kind, title=title)]  # noqa: E731
    post(ctx, ref, build, dry_run, False)


def step(
    ctx: typer.Context,
    ref: RefArg,
    step_id: Annotated[str, typer.Option("--step", "-n", help="Step number or id, e.g. 4.")],
    title: Annotated[
        str | None, typer.Option("--title", help="What the step is (adds it, or renames it).")
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
    """Add a checklist step (with --title) or update one (title, state, owner, due time)."""
    from sync_incident import intents

    def build(s: IncidentState, me: Actor) -> list[Event]:
        when = me.time(due, what=f"step {step_id}'s due time", future=True)
        return intents.step(
            s, step_id, title=title, owner=owner, step_state=state, due=when, note=note_text
        )

    post(ctx, ref, build, dry_run, strict)


def status(
    ctx: typer.Context,
    ref: RefArg,
    summary: Annotated[
        str, typer.Option("--summary", "-m", help="Where things stand, explicitly.")
    ],
    next_update: Annotated[
        str | None,
        typer.Option(
            "--next-update",
            help="Next update due by. " + TIME_HELP + " Omitted: the promised time stays; "
            "'none' clears it.",
        ),
    ] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
) -> None:
    """Post a status update and when the next one is due."""
    from sync_incident import intents

    post(ctx, ref, lambda s, me: intents.status(summary, next_update, me), dry_run, strict)


def handoff(
    ctx: typer.Context,
    ref: RefArg,
    done: Annotated[str, typer.Option("--done", help="What is done.")],
    todo: Annotated[str, typer.Option("--todo", help="What still needs to be done.")],
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Who takes over (default: whose working day starts next, from the policy)."
        ),
    ] = None,
    next_: Annotated[
        list[str] | None,
        typer.Option(
            "--next",
            help="A next step: 'what | owner | by' (repeat; all three needed; by: a time as "
            "--due takes it, e.g. 'Finish step 5 | beatrice | 18:00 Europe/Berlin').",
        ),
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
    from sync_incident import intents
    from sync_incident.core.events import HandoffOffered

    def build(s: IncidentState, me: Actor) -> list[Event]:
        upcoming = intents.next_steps(next_ or [], me)
        recipient = to
        if recipient is None:
            recipient, why = intents.recipient(s, options.policy_of(ctx), me)
            me.notes.append(f"handing off to {why}; pass --to to choose someone else")
        fields = {"done": done, "todo": todo, "next_steps": upcoming, "notify": notify or []}
        role = "steps" if steps else "ic"
        return [intents.build(HandoffOffered, to=recipient, role=role, steps=steps or [], **fields)]

    post(ctx, ref, build, dry_run, strict)


HandoffOpt = Annotated[
    str | None,
    typer.Option(
        "--handoff",
        help="Which handoff (id or its last characters); default: the one waiting for you.",
    ),
]


def accept(
    ctx: typer.Context, ref: RefArg, handoff_id: HandoffOpt = None, dry_run: DryRun = False
) -> None:
    """Accept the handoff offered to you: from now on you are in charge."""
    from sync_incident import intents

    post(ctx, ref, lambda s, me: intents.accept(s, me, handoff_id), dry_run, False)


def decline(
    ctx: typer.Context,
    ref: RefArg,
    reason: ReasonOpt,
    handoff_id: HandoffOpt = None,
    dry_run: DryRun = False,
) -> None:
    """Decline the handoff offered to you; the current owner stays in charge."""
    from sync_incident import intents

    post(ctx, ref, lambda s, me: intents.decline(s, me, reason, handoff_id), dry_run, False)


def retract(
    ctx: typer.Context,
    ref: RefArg,
    event: Annotated[
        str, typer.Option("--event", help="The event posted in error (its id or last characters).")
    ],
    reason: ReasonOpt,
    dry_run: DryRun = False,
) -> None:
    """Withdraw an event posted in error (yours, or any as IC): it stops counting, stays visible."""
    from sync_incident import intents

    post(ctx, ref, lambda s, me: intents.retract(s, event, reason), dry_run, False)


def check(
    ctx: typer.Context,
    ref: RefArg,
    finding: Annotated[
        str, typer.Option("--finding", help="What you checked and found (required).")
    ],
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where", help="A doubt as `show` names it, e.g. 'comment 17' (repeat; default: all)."
        ),
    ] = None,
    dry_run: DryRun = False,
) -> None:
    """As IC, record that you checked what is in doubt and what you found: the doubt clears."""
    from sync_incident import intents

    post(ctx, ref, lambda s, me: intents.check(s, where or [], finding), dry_run, False)


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
    from sync_incident import intents
    from sync_incident.core.events import RetroNote

    def build(s: IncidentState, me: Actor) -> list[Event]:
        return [intents.build(RetroNote, kind=kind, text=text, owner=owner)]

    post(ctx, ref, build, dry_run, strict)
