"""``sync-incident serve``: the daemon plus a status page, webhooks, the gate API and metrics.

Everything heavy (Starlette, uvicorn) is imported inside the command, so other commands'
start-up does not pay for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sync_incident.cli import options
from sync_incident.cli.options import settings_of


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option("--host", help="Address to listen on (default [serve] host: 127.0.0.1)."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Port to listen on (default [serve] port: 8080).")
    ] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log lines as json or text (on stderr).")
    ] = "text",
) -> None:
    """Run the daemon and serve a live status page, webhooks, the gate API and metrics."""
    from sync_incident.serve.runner import run_serve

    settings = settings_of(ctx)
    raise typer.Exit(
        run_serve(
            settings,
            lambda: options.session_of(ctx, quiet=True),
            host=host,
            port=port,
            log_format=log_format,
        )
    )
