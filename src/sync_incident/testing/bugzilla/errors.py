"""Bugzilla's errors: a code and message, the HTTP status 5.2 answers them with, the JSON."""

from __future__ import annotations

import httpx

from sync_incident.testing.bugzilla.payloads import JSON_HEADERS, etag_of

DOCS = "https://bugzilla.readthedocs.org/en/5.0/api/"
CRASH = "Not a HASH reference at Bugzilla/Bug.pm line 2492.\n"  # 5.2's answer to odd input

# HTTP status by Bugzilla error code, as observed on 5.2 (everything else is 400).
_STATUS_404 = {51, 101, 32614}
_STATUS_401 = {102, 106, 109, 110, 113, 115, 120, *range(300, 305), 410, 504, 505}


class BugzillaFault(Exception):
    def __init__(self, code: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or (
            404 if code in _STATUS_404 else 401 if code in _STATUS_401 else 400
        )


class ArrayBody(Exception):
    """A JSON array as the request body: 5.2 dies with an HTML 500 page."""


def error_response(fault: BugzillaFault) -> httpx.Response:
    result = {
        "error": True,
        "code": fault.code,
        "message": fault.message,
        "documentation": DOCS,
    }
    return httpx.Response(
        fault.status, json=result, headers={"ETag": etag_of(result), **JSON_HEADERS}
    )
