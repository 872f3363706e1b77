"""Filing a new incident bug, exactly once: after an ambiguous failure, look before filing again.

Bugzilla has no idempotency key. When a ``POST /rest/bug`` fails after the request left (a
timeout, a reset, a 5xx), we search for our bug with this summary whose description (comment 0)
carries the opened event's marker, and file again only when there is none.
"""

from __future__ import annotations

from sync_incident.core.comments import normalise_body
from sync_incident.core.errors import NotConfigured, ProtocolError
from sync_incident.trackers.base import NewIncident
from sync_incident.trackers.bugzilla.client import BugzillaClient
from sync_incident.trackers.bugzilla.reading import comments_of


def location(where: str, product: str, component: str) -> tuple[str, str]:
    """``Product :: Component`` from ``where``, else the configured defaults."""
    given, sep, part = where.partition("::")
    if sep:
        product, component = given, part
    product, component = product.strip(), component.strip()
    if not (product and component):
        raise NotConfigured(
            "Bugzilla needs a product and a component to file a bug",
            hint="pass --product and --component, or set [bugzilla] product and component",
        )
    return product, component


async def file_bug(
    http: BugzillaClient,
    new: NewIncident,
    product: str,
    component: str,
    whiteboard: str,
    *,
    creator: str | None,
) -> int:
    """The new bug's number; ``whiteboard`` tags it from the start (discovery finds it)."""
    payload = {
        "product": product,
        "component": component,
        "summary": new.title,
        "description": normalise_body(new.body),
        "version": "unspecified",
        "op_sys": "All",  # 5.x refuses a bug without OS and platform (code 50)
        "platform": "All",
        "whiteboard": whiteboard,
    }
    attempted = False

    async def attempt() -> int:
        nonlocal attempted
        if attempted:
            found = await find_created(http, new, creator)
            if found is not None:
                return found
        attempted = True
        reply = await http.attempt("POST", "/rest/bug", body=payload)
        return int(reply.object("POST /rest/bug")["id"])

    try:
        return await http.retrying(attempt)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"POST /rest/bug: unexpected answer ({type(exc).__name__})") from None


async def find_created(http: BugzillaClient, new: NewIncident, creator: str | None) -> int | None:
    """After an ambiguous create: our bug with this summary whose description has the marker."""
    params = {"summary": new.title, "include_fields": "id"}
    if creator is not None:
        params["creator"] = creator
    data = (await http.get("/rest/bug", params)).object("GET /rest/bug")
    ids = sorted((int(b["id"]) for b in data.get("bugs", [])), reverse=True)[:3]
    for number in ids:
        reply = await http.get(f"/rest/bug/{number}/comment")
        first = comments_of(reply, number)[:1]
        if first and new.marker in str(first[0].get("text", "")):
            return number
    return None
