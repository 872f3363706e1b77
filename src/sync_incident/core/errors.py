"""The exception tree every layer raises, and the exit code each maps to.

::

    SyncIncidentError                 70  internal: a bug
     ├── UsageError                   64  bad reference, bad option value, malformed input
     ├── RefusedError                  3  the rules or the strict lint refuse this event
     ├── ConfigError                  78  unreadable or invalid configuration / policy
     └── TrackerError                 69  the tracker failed us
          ├── NotConfigured           78  backend has no URL / credentials it needs
          ├── AuthError               77  bad, revoked or missing key / token (never retried)
          ├── AccessDenied            77  authenticated, but not allowed
          ├── NotFound                66  no such bug / issue
          ├── RateLimited             75  the tracker asked us to slow down
          ├── Unavailable             69  network error, timeout, 5xx after retries
          ├── CommentTooLong          65  over the 65,535-character limit
          ├── Rejected                65  other 4xx validation errors
          ├── ProtocolError           69  an answer we cannot understand
          └── Unverifiable            69  a check the gate relies on cannot be made here

Each class has a ``label``: what the CLI prints before the message ("refused: …"), in words
people use rather than class names. The gate maps every error to exit 2: it fails closed.
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
EXIT_UNAVAILABLE = 69
EXIT_SOFTWARE = 70
EXIT_TEMPFAIL = 75
EXIT_NOPERM = 77
EXIT_CONFIG = 78
EXIT_INTERRUPTED = 130


class SyncIncidentError(Exception):
    """Base of every error we raise on purpose; ``hint`` says what to do about it."""

    exit_code = EXIT_SOFTWARE
    label = "error"
    default_hint = "this is a bug in sync-incident; please report it"

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint or self.default_hint

    def __str__(self) -> str:
        return self.message


class UsageError(SyncIncidentError):
    """The user gave us something we cannot use (a reference, an option, a value)."""

    exit_code = EXIT_USAGE
    label = "usage error"
    default_hint = "see the command's --help for what it takes"


class RefusedError(SyncIncidentError):
    """The event would be rejected by the rules, or the strict lint refuses its wording."""

    exit_code = EXIT_REFUSED
    label = "refused"
    default_hint = "nothing was posted"


class ConfigError(SyncIncidentError):
    """Configuration or policy file is unreadable or invalid."""

    exit_code = EXIT_CONFIG
    label = "configuration error"
    default_hint = "`sync-incident config check` shows the configuration in force"


class TrackerError(SyncIncidentError):
    exit_code = EXIT_UNAVAILABLE
    label = "tracker error"
    default_hint = "try again; if it persists, check the tracker's status"


class NotConfigured(TrackerError):
    exit_code = EXIT_CONFIG
    label = "not configured"
    default_hint = "`sync-incident config check` shows what is configured"


class AuthError(TrackerError):
    exit_code = EXIT_NOPERM
    label = "authentication failed"
    default_hint = "check the API key or token in the environment (README: Secrets)"


class AccessDenied(TrackerError):
    exit_code = EXIT_NOPERM
    label = "access denied"
    default_hint = "ask for access to the bug or issue, or use an account that has it"


class NotFound(TrackerError):
    exit_code = EXIT_NOT_FOUND
    label = "not found"
    default_hint = (
        "check the reference, and the server it is looked up on (--bugzilla-url, --github-api-url)"
    )


class RateLimited(TrackerError):
    exit_code = EXIT_TEMPFAIL
    label = "rate limited"
    default_hint = "wait and try again later"

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.retry_after = retry_after


class Unavailable(TrackerError):
    exit_code = EXIT_UNAVAILABLE
    label = "unavailable"
    default_hint = "try again later; nothing was posted unless it says so"


class CommentTooLong(TrackerError):
    exit_code = EXIT_DATA
    label = "too long"
    default_hint = "shorten the free text and try again"


class Rejected(TrackerError):
    exit_code = EXIT_DATA
    label = "rejected"
    default_hint = "the tracker refused the input; check the values given"


class ProtocolError(TrackerError):
    exit_code = EXIT_UNAVAILABLE
    label = "unexpected answer"
    default_hint = "the tracker answered something unexpected; try again later"


class Unverifiable(TrackerError):
    """A check the gate relies on cannot be made (no token for GitHub's GraphQL edit check, no
    history route on this Bugzilla): missing evidence is never clean evidence."""

    exit_code = EXIT_UNAVAILABLE
    label = "cannot verify"
    default_hint = (
        "give the gate what the check needs, or accept the weaker check in the policy "
        "(accept_weaker_checks; README: Missing evidence)"
    )
