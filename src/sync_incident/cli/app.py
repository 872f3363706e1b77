"""The ``sync-incident`` command line: the root, the error boundary and the exit codes.

Every error goes through one boundary (:func:`main`): ``label: message`` and a ``hint:`` line
on stderr, and the exit code documented in the README; never a traceback. The gate's
command class turns every failure, parsing included, into exit 2: it fails closed.
"""

from __future__ import annotations

import gc
import inspect
import sys
from collections.abc import Callable
from gettext import gettext
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from sync_incident.cli import posting, reading, serving
from sync_incident.cli.options import GLOBAL_OPTIONS, Globals
from sync_incident.core.errors import (
    EXIT_INTERRUPTED,
    EXIT_SOFTWARE,
    EXIT_UNDECIDED,
    EXIT_USAGE,
    SyncIncidentError,
)


class _Root(TyperGroup):
    """The root group, through the extension points click documents for a group.

    - ``get_command`` (click's "lazily loading subcommands"): a command is built from its
      function the first time it runs. Building one makes typer read the signature and
      evaluate the type hints of its function; built eagerly, the 30 commands cost about
      40 ms of CPU on every run (``--help`` 1.4x ``import typer`` instead of 1.07x, measured
      with bench/startup.py), and a command needs only its own. Until then the group holds
      a :class:`~typer.core.TyperCommand` with the name and help, for the listing
      (``format_commands``, which click's own version would build every command for).
    - ``parse_args`` (``Command.parse_args``): global options may come anywhere on the line
      (they are moved before the command), and a reference where a command goes is
      ``show REF``.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        listed: dict[str, TyperCommand] = {}
        for name, function, _ in _LAZY:
            listed[name] = _Listed(name, help=inspect.getdoc(function), rich_markup_mode=None)
        # the commands first, then the groups (config), as typer orders them
        self.commands = {**listed, **self.commands}

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Listed):
            command = self.commands[cmd_name] = _build(cmd_name)
        return command

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _reorder(args))

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        listed = [
            (name, command)
            for name in self.list_commands(ctx)
            if (command := self.commands.get(name)) is not None and not command.hidden
        ]
        if listed:
            limit = formatter.width - 6 - max(len(name) for name, _ in listed)
            rows = [(name, command.get_short_help_str(limit)) for name, command in listed]
            with formatter.section(gettext("Commands")):
                formatter.write_dl(rows)


class _Listed(TyperCommand):
    """A command not built yet: its name and help, for the listing (see :class:`_Root`)."""


# The commands: (name, function, command class), built by _Root one at a time, when run.
_LAZY: list[tuple[str, Callable[..., Any], type[TyperCommand] | None]] = []


def command(name: str | None = None, *, cls: type[TyperCommand] | None = None) -> Any:
    """Register a command function (``name`` as typer names it: ``list_`` → ``list``)."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _LAZY.append((name or function.__name__.rstrip("_").replace("_", "-"), function, cls))
        return function

    return register


def _build(name: str) -> Any:
    """The command ``name``, as typer builds a one-command app (``typer.main.get_command``)."""
    _, function, cls = next(entry for entry in _LAZY if entry[0] == name)
    one = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    one.command(name, cls=cls)(function)
    return typer.main.get_command(one)


app = typer.Typer(
    cls=_Root,
    name="sync-incident",
    help=(
        "Run a release incident inside ONE Bugzilla bug or GitHub issue: timeline, incident "
        "commander, handoffs, holds and sign-offs as structured comments.\n\n"
        "Show an incident with `sync-incident bug 123456`, `sync-incident issue owner/repo#42` "
        "or `sync-incident local:7`."
    ),
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Check the configuration and the policy.")


class Undecided(SyncIncidentError):
    """Any failure of the gate: it could not decide, so the release must not ship."""

    exit_code = EXIT_UNDECIDED

    def __init__(self, cause: SyncIncidentError | typer.TyperException) -> None:
        if isinstance(cause, SyncIncidentError):
            super().__init__(cause.message, hint=cause.hint)
            self.label = f"could not decide ({cause.label})"
        else:
            super().__init__(cause.format_message(), hint="run `sync-incident gate --help`")
            self.label = "could not decide (usage error)"


class GateCommand(TyperCommand):
    """The gate fails closed: a bad option is as much "could not decide" as a dead tracker.

    With ``--json``, a script still gets JSON on stdout (``verdict: could-not-decide``, the
    same object ``/api/gate`` answers with), besides the error line on stderr and exit 2.
    """

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        as_json = "--json" in args  # before parsing: click consumes ``args``
        try:
            return super().make_context(info_name, args, parent, **extra)
        except typer.TyperException as exc:
            raise _undecided(exc, as_json) from None

    def invoke(self, ctx: Any) -> Any:
        as_json = bool(ctx.params.get("as_json"))
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except SyncIncidentError as exc:
            raise _undecided(exc, as_json) from None
        except Exception as exc:  # a bug must not pass a release either
            raise _undecided(SyncIncidentError(_redacted(exc)), as_json) from None


def _undecided(cause: SyncIncidentError | typer.TyperException, as_json: bool) -> Undecided:
    """The gate's failure; with ``--json`` its JSON is printed first, for scripts."""
    failure = Undecided(cause)
    if as_json:
        import json

        from sync_incident.core.readiness import undecided

        redact = _redactor()
        error = " ".join(redact(f"{failure.label}: {failure.message}").split())
        hint = " ".join(redact(failure.hint).split())
        typer.echo(json.dumps(undecided(error, hint), indent=2, ensure_ascii=False))
    return failure


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"sync-incident {version('sync-incident')}")
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
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
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    overrides: dict[str, Any] = {}
    if db is not None:
        overrides["local"] = {"db": db}
    if bugzilla_url is not None:
        overrides["bugzilla"] = {"url": bugzilla_url}
    if github_api_url is not None:
        overrides["github"] = {"api_url": github_api_url}
    if cache is not None:
        overrides["cache"] = cache
    ctx.obj = Globals(config, policy, as_user, overrides)


@config_app.callback(invoke_without_command=True)
def _config(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())


for _command in (reading.show, reading.bug, reading.issue):
    command()(_command)
command("list")(reading.list_)
posting.register(command)
command(cls=GateCommand)(reading.gate)
command()(reading.retro)
command()(reading.digest)
command()(reading.daemon)
command()(serving.serve)
command("lint")(reading.lint)
app.add_typer(config_app, name="config")
config_app.command("check")(reading.config_check)
config_app.command("pin-github-ids")(reading.pin_github_ids)
command()(reading.init)
command()(reading.demo)


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


def _looks_like_ref(word: str) -> bool:
    """A reference typed where a command goes: ``local:7``, a URL, ``bug 123`` as one word."""
    lowered = word.lower().strip()
    if lowered.startswith(("local:", "bugzilla:", "github:", "http://", "https://")):
        return True
    if lowered.startswith(("bug ", "issue ")):
        return True
    return "#" in word and "/" in word and not word.startswith("-")


def main(argv: list[str] | None = None) -> None:
    """Entry point: one error boundary, documented exit codes, never a traceback.

    A command runs with the cyclic garbage collector off (a one-shot command frees its memory
    by exiting; see :mod:`sync_incident.entry`, which turns it off before the first import).
    Called from the console script, what the command made is frozen before the process
    exits, so interpreter shutdown does not walk it; called in-process (tests, embedders),
    collection is put back as it was. ``daemon`` and ``serve`` turn it on for their run.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        _main(argv)
    finally:
        if collecting:
            gc.enable()
        else:
            gc.freeze()


def _main(argv: list[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # standalone_mode=False makes click *return* the code of typer.Exit instead of raising
        code = app(args=args, prog_name="sync-incident", standalone_mode=False)
    except SyncIncidentError as exc:
        _fail(exc.label, exc.message, exc.hint, exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", "stopped by the user", "", EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # click's usage errors: bad option, missing value
        where = getattr(getattr(exc, "ctx", None), "command_path", "sync-incident")
        hint = f"run `{where} --help` for the options"
        _fail("usage error", exc.format_message(), hint, EXIT_USAGE)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        _internal(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _redactor() -> Callable[[object], str]:
    """Scrubs every secret the environment holds: the last net before anything is printed."""
    from sync_incident.config import env_secrets
    from sync_incident.redaction import Redactor

    return Redactor(env_secrets())


def _redacted(exc: Exception) -> str:
    return _redactor()(f"internal error: {type(exc).__name__}: {exc}")


def _internal(exc: Exception) -> None:
    hint = "this is a bug in sync-incident; please report it"
    _fail("internal error", _redacted(exc).removeprefix("internal error: "), hint, EXIT_SOFTWARE)


def _fail(label: str, message: str, hint: str, code: int) -> None:
    redact = _redactor()
    line = " ".join(redact(message).split())
    typer.echo(f"{label}: {line}", err=True)
    if hint:
        typer.echo(f"hint: {' '.join(redact(hint).split())}", err=True)
    sys.exit(code)
