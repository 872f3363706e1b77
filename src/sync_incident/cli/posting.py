"""Commands that post to the timeline (or open an incident): parse into an intent, act, print.

Each command builds an intent (:mod:`sync_incident.application.intents`) from its options and
hands it to :func:`~sync_incident.application.act.act`, which reads, checks the rules and posts
once; the command prints what happened. The decisions the gate reads (holds, sign-offs, ship,
resolve) live in ``decisions``; both post through :func:`post` here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from sync_incident.cli import options
from sync_incident.cli.options import (
    TIME_HELP,
    DryRun,
    PostJson,
    ReasonOpt,
    RefArg,
    Strict,
    ref_of,
    run,
)
from sync_incident.core.errors import UsageError

if TYPE_CHECKING:
    from sync_incident.application.act import Outcome
    from sync_incident.application.intents import Intent, Open
    from sync_incident.core.refs import TrackerKind


def post(
    ctx: typer.Context,
    words: list[str],
    intent: Intent,
    dry_run: bool,
    strict: bool,
    *,
    done: Callable[[Outcome], str] | None = None,
    as_json: bool = False,
) -> None:
    """Act on the incident with ``intent`` (one read, one post) and say what happened."""
    from sync_incident.application.act import act
    from sync_incident.application.intents import Unchanged

    ref = ref_of(words)

    async def go() -> Outcome:
        async with options.session_of(ctx) as session:
            return await act(session, ref, intent, dry_run=dry_run, strict=strict)

    try:
        outcome = run(go())
    except Unchanged as same:
        if as_json:
            typer.echo(
                json.dumps({"schema_version": 1, "posted": False, "unchanged": same.message})
            )
        else:
            typer.echo(same.message)
        return
    for note in outcome.notes:
        typer.echo(f"warning: {note}", err=True)
    if as_json:
        typer.echo(outcome_json(outcome, dry_run))
        return
    if done is not None and not dry_run:
        typer.echo(done(outcome))
        return
    report(outcome, dry_run)


def outcome_json(outcome: Outcome, dry_run: bool) -> str:
    """``--json`` on a posting command: what a script needs to follow up."""
    from sync_incident.views import web_url

    url = outcome.state.url if web_url(outcome.state.url) else None
    comment_url = url
    if url and outcome.comment_id and outcome.ref.kind == "github":
        comment_url = f"{url}#issuecomment-{outcome.comment_id}"
    # Bugzilla's anchor is the comment's number on the bug, which its PUT does not return
    data = {
        "schema_version": 1,
        "ref": str(outcome.ref),
        "dry_run": dry_run,
        "posted": outcome.posted,
        "duplicate": outcome.duplicate,
        "comment_id": outcome.comment_id,
        "incident_url": url,
        "comment_url": comment_url,
        "events": [{"id": e.id, "type": e.type} for e in outcome.events],
        "body": outcome.body,
        "warnings": [*outcome.notes, *(str(f) for f in outcome.findings)],
        "mirror_error": outcome.mirror_error or None,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


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
    corrections: tuple[Callable[..., None], ...] = (take_over, retract, check, retro_note)
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
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Open an incident: file a new bug / issue, or adopt an existing one, naming the first IC."""
    from sync_incident.application.intents import Open

    intent = Open(title=title, severity=severity, releases=tuple(release or ()), ic=ic)
    if ref:

        def done(outcome: Outcome) -> str:
            ic_now = outcome.state.ic
            return f"Incident opened on {outcome.ref}; {ic_now} is incident commander."

        post(ctx, ref, intent, dry_run, strict, done=done, as_json=as_json)
        return
    if not title:
        raise UsageError("a new incident needs --title", hint="or name an existing bug to adopt")
    if bugzilla + bool(github) + local > 1:
        raise UsageError("choose one of --bugzilla, --github and --local", hint="one tracker")
    where = github or (f"{product} :: {component}" if product or component else "")
    run(_open_new(ctx, intent, bugzilla, github, local, where, dry_run, as_json))


async def _open_new(
    ctx: typer.Context,
    intent: Open,
    bugzilla: bool,
    github: str | None,
    local: bool,
    where: str,
    dry_run: bool,
    as_json: bool = False,
) -> None:
    from sync_incident.application.act import open_new

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
        filed = await open_new(session, kind, intent, location=where, dry_run=dry_run)
    if as_json:
        data = {
            "schema_version": 1,
            "ref": str(filed.ref) if filed.ref else None,
            "dry_run": dry_run,
            "posted": filed.ref is not None,
            "events": [{"id": filed.event.id, "type": filed.event.type}],
            "body": filed.body,
        }
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    if filed.ref is None:
        typer.echo(filed.body)
        return
    typer.echo(f"Incident opened: {filed.ref}; {filed.event.ic} is incident commander.")


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
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Add a timeline note (optionally backfilled to when it happened)."""
    from sync_incident.application.intents import AddNote

    intent = AddNote(text=text, occurred_at=occurred_at, links=tuple(url or ()))
    post(ctx, ref, intent, dry_run, strict, as_json=as_json)


def link(
    ctx: typer.Context,
    ref: RefArg,
    url: Annotated[str, typer.Option("--url", help="The link.")],
    kind: Annotated[str, typer.Option("--kind", help="patch, doc, bug, call or other.")] = "other",
    title: Annotated[str, typer.Option("--title", help="What it is.")] = "",
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Record a link: a patch, a doc, a related bug, a call."""
    from sync_incident.application.intents import AddLink

    post(ctx, ref, AddLink(url=url, kind=kind, title=title), dry_run, False, as_json=as_json)


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
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Add a checklist step (with --title) or update one (title, state, owner, due time)."""
    from sync_incident.application.intents import ChangeStep

    intent = ChangeStep(step_id, title=title, owner=owner, state=state, due=due, note=note_text)
    post(ctx, ref, intent, dry_run, strict, as_json=as_json)


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
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Post a status update and when the next one is due."""
    from sync_incident.application.intents import PostStatus

    post(ctx, ref, PostStatus(summary, next_update), dry_run, strict, as_json=as_json)


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
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Offer a handoff (the IC role, or named steps): done, to do, next steps, whom to notify."""
    from sync_incident.application.intents import OfferHandoff

    intent = OfferHandoff(
        done=done,
        todo=todo,
        to=to,
        next=tuple(next_ or ()),
        notify=tuple(notify or ()),
        steps=tuple(steps or ()),
    )
    post(ctx, ref, intent, dry_run, strict, as_json=as_json)


HandoffOpt = Annotated[
    str | None,
    typer.Option(
        "--handoff",
        help="Which handoff (id or its last characters); default: the one waiting for you.",
    ),
]


def accept(
    ctx: typer.Context,
    ref: RefArg,
    handoff_id: HandoffOpt = None,
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Accept the handoff offered to you: from now on you are in charge."""
    from sync_incident.application.intents import AcceptHandoff

    post(ctx, ref, AcceptHandoff(handoff_id), dry_run, False, as_json=as_json)


def decline(
    ctx: typer.Context,
    ref: RefArg,
    reason: ReasonOpt,
    handoff_id: HandoffOpt = None,
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Decline the handoff offered to you; the current owner stays in charge."""
    from sync_incident.application.intents import DeclineHandoff

    post(ctx, ref, DeclineHandoff(reason, handoff_id), dry_run, False, as_json=as_json)


def take_over(
    ctx: typer.Context,
    ref: RefArg,
    reason: Annotated[
        str,
        typer.Option("--reason", help="Why the incident commander cannot act, as a real sentence."),
    ],
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Take over as incident commander from one who cannot act (incident leads of the policy).

    For an IC who is gone, on leave, not answering, or no longer in the policy: posted and
    shown like a handoff, with the reason for everybody to read.
    """
    from sync_incident.application.intents import TakeOverAsIC

    post(ctx, ref, TakeOverAsIC(reason), dry_run, False, as_json=as_json)


def retract(
    ctx: typer.Context,
    ref: RefArg,
    event: Annotated[
        str, typer.Option("--event", help="The event posted in error (its id or last characters).")
    ],
    reason: ReasonOpt,
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Withdraw an event posted in error (yours, or any as IC): it stops counting, stays visible."""
    from sync_incident.application.intents import Retract

    post(ctx, ref, Retract(event, reason), dry_run, False, as_json=as_json)


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
    seen_hidden: Annotated[
        bool,
        typer.Option(
            "--seen-hidden",
            help="You looked at what this reader cannot see (Bugzilla: private and hidden "
            "comments, as an insider; GitHub: the audit log of deleted comments). Needed for "
            "the IC to clear a hold flag with no hold behind it.",
        ),
    ] = False,
    dry_run: DryRun = False,
    as_json: PostJson = False,
) -> None:
    """Record that you checked what is in doubt and what you found: the doubt clears.

    Usually the IC's to do; `show` says who may clear each doubt.
    """
    from sync_incident.application.intents import Check

    intent = Check(finding, tuple(where or ()), seen_hidden=seen_hidden)
    post(ctx, ref, intent, dry_run, False, as_json=as_json)


def retro_note(
    ctx: typer.Context,
    ref: RefArg,
    kind: Annotated[
        str, typer.Option("--kind", help="root_cause, went_well, could_be_better or action_item.")
    ],
    text: Annotated[str, typer.Option("--text", "-m", help="The note.")],
    owner: Annotated[str | None, typer.Option("--owner", help="Owner of an action item.")] = None,
    dry_run: DryRun = False,
    as_json: PostJson = False,
    strict: Strict = False,
) -> None:
    """Add a retrospective note: root cause, went well, could be better, action item."""
    from sync_incident.application.intents import AddRetroNote

    post(ctx, ref, AddRetroNote(kind, text, owner), dry_run, strict, as_json=as_json)
