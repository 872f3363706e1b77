"""The command line: thin adapters over :mod:`sync_incident.service`."""

import sys
from typing import cast

# httpx imports its own command-line client (click, rich, pygments: ~80 ms, a sixth of a
# tracker command's start-up) unless that import fails, and falls back to a stub when it does.
# The command line never runs httpx's client, so it blocks that import; the library does not.
# (None in sys.modules makes that import fail, which is how Python documents blocking one.)
cast("dict[str, object]", sys.modules).setdefault("httpx._main", None)

from sync_incident.cli.app import main  # noqa: E402

__all__ = ["main"]
