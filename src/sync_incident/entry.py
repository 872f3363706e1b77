"""The ``sync-incident`` console script: the cyclic garbage collector off from the first import.

A one-shot command frees its memory by exiting. Collecting while typer, pydantic and our
models are imported, and again at interpreter shutdown, cost about a tenth of a command's
start-up (``bench/startup.py``). The collector is turned off here, before anything else is
imported, and left off; :func:`sync_incident.cli.app.main` freezes what was made before the
process exits, and the long-running commands (``daemon``, ``serve``) turn collection back on
(:func:`sync_incident.lifecycle.run_until_stopped`). Importing :mod:`sync_incident.cli`
itself (tests, embedders) changes nothing about collection.
"""

import gc

gc.disable()


def main() -> None:
    """Run the command line (``sync_incident.cli.main``) with the collector off."""
    from sync_incident.cli import main as run

    run()
