"""Bugzilla backend: upstream 5.0/5.2, upstream 5.1+/master and bugzilla.mozilla.org (BMO).

Requests are the cost to minimise (about a second each on a CGI deployment), so:

- comments are read incrementally with ``new_since`` and conditionally with the ETag of that
  exact URL: an unchanged incident costs one request (a 304);
- the bug's own fields are read on a cold cache and on a periodic full read (both together
  with the comments, concurrently), and before a write that changes them (read-modify-write of
  the whiteboard), never on every read;
- a posting command costs one incremental read and one write; one more read when a mirrored
  field changes (the comment and the fields then go in one ``PUT``, one transaction);
- only a fresh read (the gate's) reads the bug's history of the ``[hold]`` tag
  (:mod:`.history`): on BMO in the same request as the bug, elsewhere one more request
  alongside it, so the wall time stays that of one request;
- the server's version, the key check and whether the account may change other people's bugs
  are remembered for a day (:mod:`.memory`), so they are not paid again by every command;
- ``whoami`` asks nothing when the account is known (remembered, or ``[bugzilla] login``): a
  command the rules refuse makes no key check. Before the first write with a key, the key is
  checked once (``/rest/whoami``, or ``/rest/valid_login`` on 5.0/5.2).

Writes are never retried blindly: after any failed attempt the recent comments are re-read and
the event's marker looked for before writing again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from sync_incident.core.comments import Account, Mark, check_length, normalise_body
from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    NotConfigured,
    ProtocolError,
)
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.trackers.base import Flavor, IncidentSnapshot, Mirror, NewIncident, Posted
from sync_incident.trackers.bugzilla.client import (
    AuthStyle,
    BugzillaAuth,
    BugzillaClient,
    FieldDenied,
    RouteMissing,
    is_bmo,
    is_bmo_host,
)
from sync_incident.trackers.bugzilla.filing import file_bug, location
from sync_incident.trackers.bugzilla.history import history_of, history_path, marks_of
from sync_incident.trackers.bugzilla.identity import Identity
from sync_incident.trackers.bugzilla.mirror import (
    BUG_FIELDS,
    KEPT,
    MirrorRules,
    applied,
    fields_we_may_write,
    left_to_others,
    mirror_whiteboard,
)
from sync_incident.trackers.bugzilla.reading import (
    Merger,
    comments_of,
    etag_key,
    find_marker,
    hidden_evidence,
    needs_full,
    remember_pending,
    since,
)
from sync_incident.trackers.cache import Cache, CachedIncident, Made
from sync_incident.trackers.http import (
    RetryPolicy,
    Sleep,
    counting,
    make_client,
    public_url,
)
from sync_incident.trackers.memory import ServerMemory

log = logging.getLogger(__name__)

AUTH_STYLES: dict[str, AuthStyle] = {
    "auto": "auto",
    "header": "header",
    "param": "param",
    "bearer": "bearer",
}


A = TypeVar("A")
B = TypeVar("B")


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Both, concurrently; the first failure is raised once both are done (none left running)."""
    a, b = await asyncio.gather(first, second, return_exceptions=True)
    if isinstance(a, BaseException):
        raise a
    if isinstance(b, BaseException):
        raise b
    return a, b


RMW_WINDOW = 30.0  # seconds: a bug read this recently (this command) is not read again to write
READS = "incident-reads"  # cache namespace: each incident's read counter (see _save)


class BugzillaTracker:
    """The :class:`~sync_incident.trackers.base.Tracker` for Bugzilla's REST API."""

    kind: TrackerKind = "bugzilla"
    flavor: Flavor = "plain"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str | None,
        cache: Cache,
        auth: AuthStyle = "auto",
        sleep: Sleep | None = None,
        retry: RetryPolicy = RetryPolicy(base=2.0, max_wait=300.0, total=900.0),
        mirror_assignee: bool = False,
        incident_tag: str = "incident",
        login: str | None = None,
        product: str = "",
        component: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.server = public_url(client.base_url)  # for people, links and cache keys
        self._key = api_key or None
        self._cache = cache
        self._style = auth
        self._memory = ServerMemory(cache, self.server, self._key, clock=clock)
        self._auth = BugzillaAuth(self._key, auth, self._memory, self.server) if self._key else None
        if self._auth is not None:
            client.auth = self._auth
        self._http = BugzillaClient(client, key=self._key, sleep=sleep, policy=retry)
        self._id = Identity(self._http, self._memory, self._key, login, self._version)
        self._tag = incident_tag
        self._assignee = mirror_assignee
        self._product, self._component = product, component
        self._seen: dict[str, dict[str, Any]] = {}  # bug fields last read, per incident
        self._read_at: dict[str, float] = {}  # when this process last read each bug
        self._made: Made = {}  # comments made from the cache, reused while unchanged

    def __repr__(self) -> str:
        key = "set" if self._key else "none"
        return f"BugzillaTracker(base_url={self.server!r}, auth={self._style}, key={key})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def whoami(self) -> Account:
        """The key's account; no request when it is known (remembered, or the login is set)."""
        return await self._id.whoami()

    def _version(self) -> str | None:
        return self._auth.version if self._auth and self._auth.version else self._memory.version()

    def _rules(self) -> MirrorRules:
        return MirrorRules(self._tag, self._assignee, needinfo=self._on_bmo())

    # ------------------------------------------------------------------ reading

    def _cache_key(self, ref: IncidentRef) -> str:
        """The cache key: the server as well as the bug, so two servers never mix."""
        return f"{self.server}#{ref.number}"

    def _load(self, key: str) -> CachedIncident:
        """The cached incident, with its read counter (kept apart: see :meth:`_save`)."""
        entry = self._cache.load(key)
        reads = self._cache.get(READS, key)
        if reads is not None and reads.isdigit():
            entry.fields["reads_since_full"] = int(reads)
        return entry

    def _save(self, key: str, entry: CachedIncident, *, document: bool = True) -> None:
        """Save the incident (unless ``document`` is False) and its read counter.

        Every read counts towards the next full read, but a read that found nothing new
        changes nothing else: it writes the counter, a few bytes, and leaves the incident's
        document (every comment) as it is.
        """
        if document:
            self._cache.save(key, entry)
        self._cache.put(READS, key, str(int(entry.fields.get("reads_since_full", 0))))

    def _check_ref(self, ref: IncidentRef) -> None:
        if ref.kind != "bugzilla":
            raise NotConfigured(f"{ref} is not a Bugzilla bug")

    async def fetch(
        self, ref: IncidentRef, *, fresh: bool = False, history: bool = False
    ) -> IncidentSnapshot:
        """All visible comments, oldest first; one request (a 304) when nothing changed.

        ``fresh`` reads everything (comments, bug and the ``[hold]`` tag's history,
        concurrently) and neither uses nor updates the cache. ``history`` (a read that
        judges doubt before posting, as ``check`` does) also asks the ``[hold]`` history,
        conditionally and alongside the comments, so it sees the same marks as the gate;
        other reads show the marks as last read.
        """
        self._check_ref(ref)
        with counting() as sent:
            entry = CachedIncident() if fresh else self._load(self._cache_key(ref))
            full = needs_full(entry)
            marks: list[Mark] = []
            if fresh:
                (_, got), (bug_read, marks) = await self._read_fresh(ref, entry, full)
                got = got or bug_read
            elif not self._key or not (full or not entry.title):
                # the bug's fields serve the mirror, which a reader without a key never
                # writes: the comments alone (the title then comes from the opening)
                if history:
                    (_, got), marks = await _both(
                        self._read_comments(ref, entry, full), self._read_marks(ref, entry)
                    )
                else:
                    _, got = await self._read_comments(ref, entry, full)
            elif self._key and not self._memory.key_checked() and self._on_bmo():
                # BMO blocks an IP after five bad keys a minute: a key never checked goes
                # alone first, so a bad one costs one refusal
                _, got = await self._read_comments(ref, entry, full)
                got = await self._read_bug(ref, entry) or got
                if history:
                    marks = await self._read_marks(ref, entry)
            elif history:  # the bug and the history too, all side by side: one round trip
                (_, got), (bug_read, marks) = await _both(
                    self._read_comments(ref, entry, full),
                    _both(self._read_bug(ref, entry), self._read_marks(ref, entry)),
                )
                got = got or bug_read
            else:  # the bug too, concurrently: the wall time of one request
                (_, got), bug_read = await _both(
                    self._read_comments(ref, entry, full), self._read_bug(ref, entry)
                )
                got = got or bug_read
            if not fresh and not history:
                marks = kept_marks(entry)
            unchecked = entry.fields.pop("_unchecked", {}) if fresh else {}
            entry.fields.pop("_unchecked", None)
            self._seen[self._cache_key(ref)] = dict(entry.fields.get("bug", {}))
            if not fresh:  # when nothing came and no full read, only the read counter moved
                self._save(self._cache_key(ref), entry, document=got or full or history)
        return IncidentSnapshot(
            ref=ref,
            title=entry.title,
            url=entry.url,
            comments=entry.comment_list(self._made),
            vanished=entry.vanished_list(self._made),
            evidence=hidden_evidence(entry),
            marks=marks,
            fields=dict(entry.fields.get("bug", {})),
            requests=sent[0],
            from_cache=not got,
            unchecked=unchecked,
        )

    async def _read_fresh(
        self, ref: IncidentRef, entry: CachedIncident, full: bool
    ) -> tuple[tuple[bool, bool], tuple[bool, list[Mark]]]:
        """The gate's read: comments, bug and ``[hold]`` history, side by side (on BMO a key
        never checked goes alone first: BMO blocks an IP after five bad keys a minute)."""
        if self._key and not self._memory.key_checked() and self._on_bmo():
            comments = await self._read_comments(ref, entry, full)
            return comments, await self._read_bug_and_marks(ref, entry)
        return await _both(
            self._read_comments(ref, entry, full), self._read_bug_and_marks(ref, entry)
        )

    def _on_bmo(self) -> bool:
        return is_bmo(self._version()) or is_bmo_host(self.server)

    async def _read_comments(
        self, ref: IncidentRef, entry: CachedIncident, full: bool
    ) -> tuple[bool, bool]:
        """Merge what is new into ``entry``: (visible comments changed, the server sent data)."""
        path = f"/rest/bug/{ref.number}/comment"
        params = {} if full or entry.cursor is None else {"new_since": since(entry.cursor)}
        key = etag_key(path, params)
        reply = await self._http.get(path, params, etag=entry.etags.get(key))
        entry.fields["reads_since_full"] = (
            0 if full else int(entry.fields.get("reads_since_full", 0)) + 1
        )
        if full:
            entry.fields.pop("force_full", None)
        if reply.not_modified:
            return False, False
        # A 304 only says "same answer as when this ETag was stored". Once anything was merged
        # since, an older ETag of another comment URL (the full list, an older cursor) would
        # hide changes made meanwhile (a comment that vanished), so keep only the newest one.
        entry.etags = {k: v for k, v in entry.etags.items() if not k.startswith(path)}
        if reply.etag:
            entry.etags[key] = reply.etag
        changed = Merger(entry, self._id.ours).merge(comments_of(reply, ref.number), full=full)
        return changed, True

    async def _read_bug(self, ref: IncidentRef, entry: CachedIncident) -> bool:
        """The bug's title and mirrored fields; False when unchanged (a 304)."""
        return await self._get_bug(ref, entry) is not None

    async def _get_bug(
        self, ref: IncidentRef, entry: CachedIncident, extra: str = ""
    ) -> dict[str, Any] | None:
        """Read the bug into ``entry`` and return it as sent (None when unchanged, a 304);
        ``extra``: more fields to include (BMO's ``history``)."""
        path = f"/rest/bug/{ref.number}"
        params = {"include_fields": f"{BUG_FIELDS},{extra}" if extra else BUG_FIELDS}
        key = etag_key(path, params)
        etag = entry.etags.get(key) if "bug" in entry.fields else None
        reply = await self._http.get(path, params, etag=etag)
        if reply.not_modified:
            self._read_at[self._cache_key(ref)] = time.monotonic()
            return None
        where = f"{self._http.endpoint.where()}: GET {path}"
        try:
            bug = reply.object(where)["bugs"][0]
            entry.title = str(bug["summary"])
        except (KeyError, IndexError, TypeError) as exc:
            raise ProtocolError(f"{where}: no bug in the answer ({type(exc).__name__})") from None
        entry.url = f"{self.server}/show_bug.cgi?id={ref.number}"
        entry.fields["bug"] = {name: bug.get(name) for name in KEPT}
        if reply.etag:
            entry.etags[key] = reply.etag
        self._read_at[self._cache_key(ref)] = time.monotonic()
        return dict(bug)

    async def _read_bug_and_marks(
        self, ref: IncidentRef, entry: CachedIncident
    ) -> tuple[bool, list[Mark]]:
        """The bug (False when unchanged) and its ``[hold]`` marks, for a fresh read.

        BMO sends the history with the bug when asked (an extra field): no request more.
        Elsewhere the history is one more request, sent alongside the bug's.
        """
        if not self._on_bmo():
            return await _both(self._read_bug(ref, entry), self._read_marks(ref, entry))
        bug = await self._get_bug(ref, entry, extra="history")
        inline = bug.get("history") if bug is not None else None
        if not isinstance(inline, list):  # a BMO that does not know the field: ask for it
            return bug is not None, await self._read_marks(ref, entry)
        where = f"{self._http.endpoint.where()}: GET /rest/bug/{ref.number}"
        return True, marks_of(inline, where)

    async def _read_marks(self, ref: IncidentRef, entry: CachedIncident) -> list[Mark]:
        """Every change of the ``[hold]`` tag, from ``GET /rest/bug/{id}/history``.

        Conditional (the ETag of the last answer; 304: the marks as kept). A server without
        the route has no history to offer: no marks, and the check is named as not made
        (``_unchecked``: the gate cannot decide unless the policy accepts it). Any other
        failure is raised, so the gate cannot decide rather than miss a deleted hold.
        """
        path = history_path(ref.number)
        try:
            reply = await self._http.get(path, etag=entry.etags.get(path))
        except RouteMissing as exc:
            log.warning("%s: no bug history here, a deleted last hold goes unseen", exc.message)
            entry.fields["_unchecked"] = {
                "bugzilla-history": (
                    f"{self.server} has no bug history route ({path}), so a hold flag set with "
                    "no hold behind it (a hidden last hold) cannot be seen"
                )
            }
            return []
        if reply.not_modified:
            return kept_marks(entry)
        where = f"{self._http.endpoint.where()}: GET {path}"
        marks = marks_of(history_of(reply.object(where), ref.number, where), where)
        if reply.etag:
            entry.etags[path] = reply.etag
        entry.fields["_marks"] = [[m.on, m.by, m.at.isoformat()] for m in marks]
        return marks

    async def active_incidents(self) -> list[IncidentRef]:
        """Bugs whose whiteboard carries ``[TAG:active]`` (substring search, ids only)."""
        return await self._bugs({"whiteboard": f"[{self._tag}:active]", "include_fields": "id"})

    async def resolved_incidents(self, since: datetime) -> list[IncidentRef]:
        """Bugs whose whiteboard carries ``[TAG:resolved]``, changed since ``since``."""
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        params = {
            "whiteboard": f"[{self._tag}:resolved]",
            "last_change_time": stamp,
            "include_fields": "id",
        }
        return await self._bugs(params)

    async def _bugs(self, params: dict[str, str]) -> list[IncidentRef]:
        data = (await self._http.get("/rest/bug", params)).object("GET /rest/bug")
        try:
            return [IncidentRef("bugzilla", int(bug["id"])) for bug in data["bugs"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(
                f"GET /rest/bug: unexpected answer ({type(exc).__name__})"
            ) from None

    # ------------------------------------------------------------------ mirroring

    def _wanted(self, bug: dict[str, Any] | None, mirror: Mirror) -> dict[str, Any]:
        me = self._id.login()
        return fields_we_may_write(bug, mirror, self._rules(), me, self._memory.may_not_write(me))

    def _fresh(self, key: str) -> bool:
        """The bug was read moments ago, in this command: no need to read it again to write."""
        return time.monotonic() - self._read_at.get(key, float("-inf")) < RMW_WINDOW

    async def _fields_to_write(
        self, ref: IncidentRef, entry: CachedIncident, mirror: Mirror
    ) -> dict[str, Any]:
        """The fields ``mirror`` changes, from the bug as it is now (read only if they differ)."""
        key = self._cache_key(ref)
        known = self._seen.get(key) or entry.fields.get("bug")
        if known is not None and not self._wanted(known, mirror):
            return {}
        if known is not None and self._fresh(key):
            entry.fields["bug"] = dict(known)
        else:
            await self._read_bug(ref, entry)  # read-modify-write: the whiteboard as it is now
            self._seen[key] = dict(entry.fields.get("bug", {}))
        return self._wanted(entry.fields.get("bug"), mirror)

    def _left_to_others(self, ref: IncidentRef, entry: CachedIncident, mirror: Mirror) -> str:
        bug = self._seen.get(self._cache_key(ref)) or entry.fields.get("bug")
        me = self._id.login()
        return left_to_others(bug, mirror, self._rules(), me, self._memory.may_not_write(me))

    def _note_denied(self, exc: AccessDenied) -> None:
        if isinstance(exc, FieldDenied):  # no editbugs: remembered, so we do not try again
            self._memory.remember_may_not_write(self._id.login())

    def _after_write(self, ref: IncidentRef, entry: CachedIncident, fields: dict[str, Any]) -> None:
        if fields:
            bug = applied(entry.fields.get("bug", {}), fields, self._id.login())
            entry.fields["bug"] = bug
            self._seen[self._cache_key(ref)] = dict(bug)
            # a flag we just asked has no id yet: read the bug again before the next write
            self._read_at.pop(self._cache_key(ref), None)

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        """One PUT of the mirrored fields when they differ; False when nothing was written.

        Costs nothing when the fields as last read already agree, or when this account is
        known not to be allowed to change them; never raises for a missing permission.
        """
        self._check_ref(ref)
        if not self._key:
            return False
        key = self._cache_key(ref)
        known = self._seen.get(key) or self._cache.load(key).fields.get("bug")
        if known is not None and not self._wanted(known, mirror):
            return False
        entry = self._load(key)
        fields = await self._fields_to_write(ref, entry, mirror)
        if fields:
            await self._id.check_key()  # before the first write; may learn "no editbugs"
            fields = self._wanted(entry.fields.get("bug"), mirror)
        if fields:
            try:
                path = f"/rest/bug/{ref.number}"
                await self._http.retrying(lambda: self._http.attempt("PUT", path, body=fields))
            except AccessDenied as exc:
                self._note_denied(exc)
                log.info("mirror of %s not updated: %s", ref, exc.message)
                fields = {}
            self._after_write(ref, entry, fields)
        self._save(key, entry)
        return bool(fields)

    # ------------------------------------------------------------------ writing

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        """Post once: a plain comment, or one PUT with the comment and the mirrored fields."""
        check_length(body)
        self._check_ref(ref)
        # Send the text as trackers store it (5.x only strips the end; per-line trailing
        # whitespace would otherwise make the stored text differ from what we hashed).
        body = normalise_body(body)
        self._id.require_key()
        with counting() as sent:
            entry = self._load(self._cache_key(ref))
            posted = await self._post(ref, entry, body, marker, mirror)
        return Posted(posted[0], duplicate=posted[1], requests=sent[0], mirror_error=posted[2])

    async def _post(
        self, ref: IncidentRef, entry: CachedIncident, body: str, marker: str, mirror: Mirror | None
    ) -> tuple[str, bool, str]:
        # "unsure": an earlier post of this event failed after the request left, and even the
        # re-reads after it failed; the server may have stored it, so look before writing again
        unsure: list[str] = list(entry.fields.get("unsure", []))
        if entry.cursor is None or marker in unsure:  # cold cache, or unsure: read first
            await self._read_comments(ref, entry, needs_full(entry))
        found = find_marker(entry, marker, self._id.ours)
        duplicate, mirror_error = found is not None, ""
        if found is None:
            await self._id.check_key()
            fields = await self._fields_to_write(ref, entry, mirror) if mirror else {}
            left = self._left_to_others(ref, entry, mirror) if mirror and not fields else ""
            try:
                found, mirror_error = await self._write_event(ref, entry, body, marker, fields)
                mirror_error = mirror_error or left
            except Exception:
                entry.fields["unsure"] = [*(m for m in unsure if m != marker), marker][-50:]
                self._save(self._cache_key(ref), entry)
                raise
        entry.fields["unsure"] = [m for m in unsure if m != marker]
        self._save(self._cache_key(ref), entry)
        return found, duplicate, mirror_error

    def _write_request(
        self, ref: IncidentRef, body: str, fields: dict[str, Any]
    ) -> tuple[str, str, dict[str, Any]]:
        # BMO renders comments as Markdown; ours are plain sentences plus a plain trailer whose
        # ids and versions must show exactly as written, so say plain text explicitly there.
        plain = {"is_markdown": False} if self._on_bmo() else {}
        if fields:
            comment = {"body": body, "is_private": False, **plain}
            return "PUT", f"/rest/bug/{ref.number}", {**fields, "comment": comment}
        return "POST", f"/rest/bug/{ref.number}/comment", {"comment": body, **plain}

    async def _write_event(
        self,
        ref: IncidentRef,
        entry: CachedIncident,
        body: str,
        marker: str,
        fields: dict[str, Any],
    ) -> tuple[str, str]:
        """(the comment id, '' when the PUT did not say; why the fields were not written)."""
        try:
            comment_id = await self._write_once(ref, entry, body, marker, fields)
        except AccessDenied as exc:
            if not fields:
                raise
            # The PUT is refused whole (no editbugs on this bug): nothing was stored. The
            # comment is the record, so post it alone and say the fields stayed as they were.
            self._note_denied(exc)
            mirror_error = f"the bug's fields were not updated: {exc.message}"
            return await self._write_once(ref, entry, body, marker, {}), mirror_error
        except AuthError:
            self._memory.forget_key()
            raise
        self._after_write(ref, entry, fields)
        return comment_id, ""

    async def _write_once(
        self,
        ref: IncidentRef,
        entry: CachedIncident,
        body: str,
        marker: str,
        fields: dict[str, Any],
    ) -> str:
        method, path, payload = self._write_request(ref, body, fields)
        attempted = False

        async def attempt() -> str:
            nonlocal attempted
            if attempted:  # the last try may have been stored: look before writing again
                await self._read_comments(ref, entry, needs_full(entry))
                found = find_marker(entry, marker, self._id.ours)
                if found is not None:
                    return found
            attempted = True
            reply = await self._http.attempt(method, path, body=payload)
            if method == "POST":
                return str(int(reply.object(f"{method} {path}")["id"]))
            return ""  # a PUT does not say which comment it added: the next read shows it

        try:
            comment_id = await self._http.retrying(attempt)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(
                f"{method} {path}: unexpected answer ({type(exc).__name__})"
            ) from None
        remember_pending(entry, marker, comment_id)
        return comment_id

    # ------------------------------------------------------------------ filing

    async def create(self, new: NewIncident) -> IncidentRef:
        """File a new bug whose description is ``new.body``; never files it twice."""
        check_length(new.body)
        product, component = location(new.location, self._product, self._component)
        await self._id.check_key()
        whiteboard = (
            mirror_whiteboard("", new.mirror, self._tag)
            if new.mirror is not None
            else f"[{self._tag}:active]"
        )
        number = await file_bug(
            self._http, new, product, component, whiteboard, creator=self._id.login()
        )
        ref = IncidentRef("bugzilla", number)
        # what we just set, so the first post does not read the bug again to compare
        entry = self._load(self._cache_key(ref))
        entry.title = new.title
        entry.url = f"{self.server}/show_bug.cgi?id={number}"
        entry.fields["bug"] = {"whiteboard": whiteboard, "creator": self._id.login()}
        self._save(self._cache_key(ref), entry)
        return ref


def kept_marks(entry: CachedIncident) -> list[Mark]:
    """The ``[hold]`` marks as last read (none when never read)."""
    out: list[Mark] = []
    for on, by, at in entry.fields.get("_marks", []):
        out.append(Mark(flag="hold", on=bool(on), by=str(by), at=datetime.fromisoformat(at)))
    return out


def build_bugzilla(
    base_url: str,
    api_key: str | None,
    *,
    cache: Cache,
    auth: str = "auto",
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep | None = None,
    mirror_assignee: bool = False,
    login: str | None = None,
    incident_tag: str = "incident",
    product: str = "",
    component: str = "",
    clock: Callable[[], float] = time.time,
) -> BugzillaTracker:
    """A Bugzilla tracker on a client built by :func:`make_client`."""
    style = AUTH_STYLES.get(auth)
    if style is None:
        raise NotConfigured(
            f"unknown Bugzilla auth style {auth!r}",
            hint='use "auto", "header", "param" or "bearer"',
        )
    return BugzillaTracker(
        make_client(base_url, transport=transport),
        api_key=api_key,
        cache=cache,
        auth=style,
        sleep=sleep,
        mirror_assignee=mirror_assignee,
        login=login,
        incident_tag=incident_tag,
        product=product,
        component=component,
        clock=clock,
    )
