"""The command line: thin adapters over :mod:`sync_incident.service`."""

import sys
from typing import cast

# httpx imports its own command-line client (click, rich, pygments: ~80 ms of CPU, measured
# again for issue 23: `import httpx` 234 ms, 150 ms with this) unless that import fails, and
# falls back to a stub when it does. The command line never runs httpx's client, so it blocks
# that import; the library does not. (None in sys.modules makes an import fail: the way the
# import system's documentation gives for blocking one; httpx offers no switch.)
cast("dict[str, object]", sys.modules).setdefault("httpx._main", None)

from sync_incident.cli.app import main  # noqa: E402

__all__ = ["main"]
