"""A stateful in-memory Bugzilla that answers like a real upstream 5.2 server or like BMO.

Shapes, status codes and error codes follow ``tests/fixtures/bugzilla/`` (copied from real
5.2 responses, see the shared ``rest-observed.md``). Use it behind ``httpx.MockTransport``::

    fake = FakeBugzilla(flavor="5.2")
    client = httpx.AsyncClient(base_url=BASE, transport=httpx.MockTransport(fake.handler))

Flavors:

- ``"5.2"``: the ``X-BUGZILLA-API-KEY`` header is ignored (the request runs anonymous); the key
  works as ``api_key`` / ``Bugzilla_api_key`` query parameter or JSON body field; no
  ``/rest/whoami`` (404, code 32614); no Markdown, no ``raw_text``.
- ``"bmo"``: the header works too; ``/rest/whoami``; ``raw_text``; ``edit_count`` for privileged
  readers; ``needinfo`` flags; comments tagged ``deleted`` are hidden (a gap in ``count``),
  except from privileged readers, who get them with the tag; ``include_fields=history`` adds
  the bug's history to ``GET /rest/bug/{id}``.

Both keep the bug's history (every field an update changed, and :meth:`set_whiteboard`) and
serve it at ``GET /rest/bug/{id}/history``.

Like 5.2, ``If-None-Match`` is honoured on every method: a write is applied and then answered
304 with an empty body (so a client must never send it on writes). ``faults`` holds
:class:`Fault` objects; the first one matching a request is consumed.

Kept free of pytest so benchmarks can import it and serve it over a socket.

The package, one concern a module:

- ``state``: the stored data (users, bugs, comments, flags) and the seeding API
- ``payloads``: the JSON shapes, ``include_fields``, ETags
- ``errors``: :class:`BugzillaFault` and its HTTP status and JSON
- ``auth``: the API key (query, body, BMO header) and who may see a bug
- ``faults``: injected failures (:class:`Fault`)
- ``routes``: dispatch to the handlers per resource: ``bugs``, ``comments``, ``history``,
  ``users``
- ``fake``: :class:`FakeBugzilla`, the HTTP surface over the state
"""

from sync_incident.testing.bugzilla.errors import DOCS, BugzillaFault
from sync_incident.testing.bugzilla.fake import FakeBugzilla
from sync_incident.testing.bugzilla.faults import Fault, FaultKind
from sync_incident.testing.bugzilla.payloads import etag_of, stamp
from sync_incident.testing.bugzilla.state import (
    LIMIT,
    START,
    BugzillaState,
    FakeBug,
    FakeChange,
    FakeComment,
    FakeFlag,
    FakeUser,
    Flavor,
    LoggedRequest,
    normalise,
)
from sync_incident.testing.clock import FakeClock

__all__ = [
    "DOCS",
    "LIMIT",
    "START",
    "BugzillaFault",
    "BugzillaState",
    "FakeBug",
    "FakeBugzilla",
    "FakeChange",
    "FakeClock",
    "FakeComment",
    "FakeFlag",
    "FakeUser",
    "Fault",
    "FaultKind",
    "Flavor",
    "LoggedRequest",
    "etag_of",
    "normalise",
    "stamp",
]
