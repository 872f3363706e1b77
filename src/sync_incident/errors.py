"""The exception tree every layer raises, and the exit code each maps to.

::

    SyncIncidentError                 exit 70 unless a subclass says otherwise
     ├── UsageError                   64  bad reference, bad option value, malformed input
     ├── RefusedError                  3  the rules or the strict lint refuse this event
     ├── ConfigError                  78  unreadable or invalid configuration / policy
     └── TrackerError                 69  (see trackers.base for the tracker subtree)
          ├── NotConfigured           78  backend has no URL / credentials it needs
          ├── AuthError               77  bad, revoked or missing key / token (never retried)
          ├── AccessDenied            77  authenticated, but not allowed
          ├── NotFound                66  no such bug / issue
          ├── RateLimited             75  the tracker asked us to slow down
          ├── Unavailable             69  network error, timeout, 5xx after retries
          ├── CommentTooLong          65  over the 65,535-character limit
          ├── Rejected                65  other 4xx validation errors
          └── ProtocolError           69  an answer we cannot understand

The gate maps every error to exit 2: it fails closed (PRODUCT.md rule 6).
Messages never carry secrets: trackers redact before raising.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NOT_READY = 1
EXIT_UNDECIDED = 2
EXIT_REFUSED = 3
EXIT_USAGE = 64
EXIT_DATA = 65
EXIT_NOT_FOUND = 66
EXIT_SOFTWARE = 70
EXIT_UNAVAILABLE = 69
EXIT_TEMPFAIL = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78


class SyncIncidentError(Exception):
    """Base of every error we raise on purpose; ``hint`` says what to do about it."""

    exit_code = EXIT_SOFTWARE

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(SyncIncidentError):
    """The user gave us something we cannot use (a reference, an option, a value)."""

    exit_code = EXIT_USAGE


class RefusedError(SyncIncidentError):
    """The event would be rejected by the rules, or the strict lint refuses its wording."""

    exit_code = EXIT_REFUSED


class ConfigError(SyncIncidentError):
    """Configuration or policy file is unreadable or invalid."""

    exit_code = EXIT_CONFIG
