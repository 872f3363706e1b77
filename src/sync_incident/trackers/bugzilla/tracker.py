"""Bugzilla backend: upstream 5.0/5.2, upstream 5.1+/master and bugzilla.mozilla.org (BMO).

Requests are the cost to minimise (about 0.4 s each on a CGI deployment), so:

- comments are read incrementally with ``new_since`` (cursor − 1 s, always with ``Z``, deduped by
  comment id) and conditionally with the ETag of that exact URL: an unchanged incident costs one
  request answered 304;
- the bug's own fields are re-read only when comments changed, on a full read, on a cold cache
  and before a write that mirrors fields (read-modify-write of the whiteboard);
- a full comment read (the only way to notice a vanished comment) happens on a cold cache, every
  ``FULL_EVERY`` reads, and when new comments show a gap in ``count`` that was not there before;
- an event with mirrored field changes is one ``PUT /rest/bug/{id}`` carrying the comment too.

Writes are never retried blindly: after any failed attempt the recent comments are re-read and
the event's marker looked for before writing again. The API key is passed through a
:class:`~sync_incident.trackers.http.Redactor` before any text leaves this module, and a logging
filter redacts it from httpx's own request log lines (the key travels in the URL on 5.0/5.2).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeVar

import httpx

from sync_incident.core.comments import Account, Comment, check_length, normalise_body
from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    CommentTooLong,
    NotConfigured,
    NotFound,
    ProtocolError,
    RateLimited,
    Rejected,
    Unavailable,
)
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.logs import RedactingFilter, Redactor
from sync_incident.trackers.base import Flavor, IncidentSnapshot, Mirror, NewIncident, Posted
from sync_incident.trackers.cache import Cache, CachedIncident
from sync_incident.trackers.http import (
    RetryPolicy,
    Sleep,
    Transient,
    make_client,
    retry_call,
)

log = logging.getLogger(__name__)

AuthStyle = Literal["auto", "header", "param", "bearer"]
_Resolved = Literal["header", "param", "bearer", "both", "none"]
_AUTH_STYLES: dict[str, AuthStyle] = {
    "auto": "auto",
    "header": "header",
    "param": "param",
    "bearer": "bearer",
}
T = TypeVar("T")

BUG_FIELDS = "id,summary,whiteboard,status,resolution,assigned_to,flags,last_change_time"
FULL_EVERY = 12  # a full read every 12 reads: about once an hour at BMO's 5-minute poll floor
RATE_LIMIT_FLOOR = 60.0  # BMO sends no Retry-After on 429: wait minutes, not seconds
PENDING_EXPIRY = timedelta(minutes=10)
_AUTH_CODES = {*range(300, 308), 410, 505}  # 505: anonymous callers may not match users
_ACCESS_CODES = {102, 106, 113, 115, 120}
_KEY_HINT = (
    "check SYNC_INCIDENT_BUGZILLA_API_KEY: the key may be mistyped or revoked "
    "(create one under Preferences → API Keys)"
)


class _RouteMissing(NotFound):
    """Code 32614: the server has no such REST resource (e.g. /rest/whoami on 5.0/5.2)."""


@dataclass
class _Op:
    """Request accounting for one public call (so concurrent calls do not mix counts)."""

    requests: int = 0
    rate_hits: int = 0
    full: bool = False
    got_data: bool = False


@dataclass(frozen=True)
class _Reply:
    status: int
    data: Any
    etag: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def auth_style_for(version: str) -> _Resolved:
    """How a server of this version reads the API key.

    Upstream 5.0.x and 5.2 only read the parameter and silently ignore the header; BMO
    (``20240101.1``) and upstream 5.1/5.3+/master read the header; anything we cannot parse
    gets both, so we are never silently anonymous.
    """
    v = version.strip()
    if re.fullmatch(r"\d{8}(\.\d+)*", v):
        return "header"
    match = re.match(r"(\d+)\.(\d+)", v)
    if not match:
        return "both"
    major, minor = int(match[1]), int(match[2])
    if major < 5 or (major, minor) in ((5, 0), (5, 2)):
        return "param"
    return "header"


def mirror_whiteboard(current: str, mirror: Mirror, tag: str = "incident") -> str:
    """The whiteboard with our tags set from ``mirror`` and everybody else's text untouched.

    Returns ``current`` itself when our tags already say the same thing (in any order), so a
    poll never rewrites the whiteboard just to reorder it.
    """
    ours = re.compile(rf"\[(?:{re.escape(tag)}:(?:active|resolved)|ic:[^\]\s]*|hold)\]")
    wanted = [f"[{tag}:{'active' if mirror.active else 'resolved'}]"]
    if mirror.ic_name:
        name = re.sub(r"[\]\s]+", "-", mirror.ic_name)  # a tag must stay one bracketed word
        wanted.append(f"[ic:{name}]")
    if mirror.hold:
        wanted.append("[hold]")
    present = ours.findall(current)
    if sorted(present) == sorted(wanted):
        return current
    others = [part.strip() for part in ours.split(current) if part.strip()]
    return " ".join([*others, *wanted])


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("creation_time is not a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:  # Bugzilla always sends Z; refuse to guess a zone
        raise ValueError("creation_time has no zone")
    return parsed.astimezone(UTC)


def _since(cursor: str) -> str:
    """``new_since`` is strictly greater-than at one-second precision: overlap by a second."""
    return (_parse_time(cursor) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _to_comment(raw: dict[str, Any]) -> Comment:
    text = raw.get("raw_text")  # BMO: the text as typed; ``text`` may be rendered differently
    if not isinstance(text, str):
        text = raw.get("text")
    if not isinstance(text, str):
        raise ValueError("comment has no text")
    return Comment(
        id=str(int(raw["id"])),
        author=Account(str(raw["creator"])),
        created_at=_parse_time(raw["creation_time"]),
        body=text,
        edited=int(raw.get("edit_count") or 0) > 0,
        private=bool(raw.get("is_private", False)),
        order=int(raw["id"]),
        seq=raw["count"] if isinstance(raw.get("count"), int) else None,
    )


def _etag_key(path: str, params: dict[str, str]) -> str:
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{path}?{query}" if query else path


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
    ) -> None:
        self._client = client
        self._product, self._component = product, component
        self._key = api_key or None
        self._cache = cache
        self._auth = auth
        self._sleep = sleep
        self._retry = retry
        self._mirror_assignee = mirror_assignee
        self._tag = incident_tag
        self._login = login  # 5.0/5.2 have no /rest/whoami: the login lets valid_login check
        self._redact = Redactor([api_key])
        self._base = str(client.base_url).rstrip("/")
        self.server = self._base
        self._style: _Resolved | None = None
        self._version: str | None = None
        self._me: Account | None = None
        self._validated = False
        self.requests = 0
        self._filter = RedactingFilter([api_key])
        if self._key:
            for name in ("httpx", "httpcore"):
                logging.getLogger(name).addFilter(self._filter)

    def __repr__(self) -> str:
        key = "set" if self._key else "none"
        return (
            f"BugzillaTracker(base_url={self._redact(self._base)!r}, auth={self._auth}, key={key})"
        )

    async def aclose(self) -> None:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._filter)
        await self._client.aclose()

    # ------------------------------------------------------------------ identity and auth

    async def whoami(self) -> Account:
        """The account of the API key (cached); AuthError when the key is not accepted."""
        me = await self._check_key(_Op())
        if me is None:
            raise NotConfigured(
                f"Bugzilla {self._version or '5.x'} has no /rest/whoami, so the key's account "
                "cannot be named without a login",
                hint="set the Bugzilla login (bugzilla.login) so /rest/valid_login can check it",
            )
        return me

    async def _check_key(self, op: _Op) -> Account | None:
        """Validate the key once per instance; the account when the server can name it."""
        if self._validated:
            return self._me
        if not self._key:
            raise NotConfigured(
                "no Bugzilla API key is configured",
                hint="set SYNC_INCIDENT_BUGZILLA_API_KEY; reading public bugs needs no key",
            )
        try:
            reply = await self._get(op, "/rest/whoami", {})
            data = self._dict(reply, "/rest/whoami")
            self._me = Account(
                str(data["name"]), str(data.get("id", "")) or None, str(data.get("real_name", ""))
            )
        except _RouteMissing:
            self._me = await self._check_key_without_whoami(op)
        except (KeyError, TypeError) as exc:
            raise ProtocolError(
                f"GET /rest/whoami: unexpected answer ({type(exc).__name__})"
            ) from None
        self._validated = True
        return self._me

    async def _check_key_without_whoami(self, op: _Op) -> Account | None:
        if self._login:
            # valid_login is true only when the key authenticates as exactly this login; a
            # header-only key on 5.2 reads as anonymous and answers false, which we refuse.
            reply = await self._get(op, "/rest/valid_login", {"login": self._login})
            if self._dict(reply, "/rest/valid_login").get("result") is not True:
                raise AuthError(
                    f"Bugzilla does not accept the API key for {self._login}",
                    hint=_KEY_HINT + '; on Bugzilla 5.0/5.2 use auth = "param"',
                )
            return Account(self._login)
        # No login to name: still prove the key authenticates. Anonymous callers may not match
        # users (401, code 505) and a bad key is 400/306, so a 200 means the key works.
        await self._get(
            op, "/rest/user", {"match": "sync-incident-key-check", "include_fields": "id"}
        )
        return None

    async def _resolve_style(self, op: _Op) -> _Resolved:
        if not self._key:
            return "none"
        if self._auth != "auto":
            return self._auth
        if self._style is None:
            self._style = auth_style_for(await self._server_version(op))
        return self._style

    async def _server_version(self, op: _Op) -> str:
        # Kept in the cache per base URL, so a new process does not pay one more request.
        cache_key = f"version:{self._base}"
        cached = self._cache.get("bugzilla", cache_key)
        if cached is not None:
            self._version = cached
            return cached
        try:
            reply = await self._retrying(op, "GET", "/rest/version", {}, None, None, auth=False)
            version = str(self._dict(reply, "/rest/version").get("version", ""))
        except (NotFound, ProtocolError):
            version = ""  # unknown: auth_style_for sends both header and parameter
        self._version = version
        if version:
            self._cache.put("bugzilla", cache_key, version)
        return version

    def _is_bmo(self) -> bool:
        return bool(self._version and re.fullmatch(r"\d{8}(\.\d+)*", self._version))

    # ------------------------------------------------------------------ HTTP

    async def _get(
        self, op: _Op, path: str, params: dict[str, str], etag: str | None = None
    ) -> _Reply:
        return await self._retrying(op, "GET", path, params, None, etag)

    async def _retrying(
        self,
        op: _Op,
        method: str,
        path: str,
        params: dict[str, str],
        body: dict[str, Any] | None,
        etag: str | None,
        *,
        auth: bool = True,
    ) -> _Reply:
        async def once() -> _Reply:
            return await self._send(op, method, path, params, body, etag, auth=auth)

        return await self._with_retries(once)

    async def _with_retries(self, fn: Callable[[], Awaitable[T]]) -> T:
        return await retry_call(fn, policy=self._retry, sleep=self._logged_sleep)

    async def _logged_sleep(self, seconds: float) -> None:
        log.warning("Bugzilla request failed; retrying in %.0f s", seconds)
        if self._sleep is not None:
            await self._sleep(seconds)
        else:  # pragma: no cover - real waiting is never exercised by tests
            await asyncio.sleep(seconds)

    async def _send(
        self,
        op: _Op,
        method: str,
        path: str,
        params: dict[str, str],
        body: dict[str, Any] | None,
        etag: str | None,
        *,
        auth: bool = True,
    ) -> _Reply:
        """One HTTP request; failures worth retrying come out as :class:`Transient`."""
        query = dict(params)
        payload = dict(body) if body is not None else None
        headers: dict[str, str] = {}
        if auth:
            self._apply_auth(await self._resolve_style(op), method, query, payload, headers)
        if etag and method == "GET":  # 5.2 applies a write and then answers 304: never on writes
            headers["If-None-Match"] = etag
        where = f"{method} {path}"
        self.requests += 1
        op.requests += 1
        response: httpx.Response | None = None
        failure: Exception | None = None
        try:
            response = await self._client.request(
                method, path, params=query, json=payload, headers=headers
            )
        except httpx.TimeoutException as exc:
            failure = Transient(Unavailable(f"{where}: timed out ({type(exc).__name__})"))
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            failure = Transient(Unavailable(f"{where}: connection failed ({type(exc).__name__})"))
        except httpx.HTTPError as exc:
            failure = ProtocolError(f"{where}: request failed ({type(exc).__name__})")
        # Raised outside the except blocks so no httpx exception (whose text may carry the
        # URL, and with it the key) hangs on as __context__.
        if failure is not None or response is None:
            raise failure or ProtocolError(f"{where}: no response")
        return self._interpret(op, where, response)

    def _apply_auth(
        self,
        style: _Resolved,
        method: str,
        query: dict[str, str],
        payload: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> None:
        key = self._key
        if not key or style == "none":
            return
        if style in ("header", "both"):
            headers["X-BUGZILLA-API-KEY"] = key
        if style == "bearer":
            headers["Authorization"] = f"Bearer {key}"
        if style in ("param", "both"):
            if method == "GET" or payload is None:
                query["Bugzilla_api_key"] = key
            else:
                payload["Bugzilla_api_key"] = key

    def _interpret(self, op: _Op, where: str, response: httpx.Response) -> _Reply:
        status = response.status_code
        etag = response.headers.get("etag")
        if status == 304:
            return _Reply(304, None, etag)
        data = self._json(response)
        if isinstance(data, dict) and data.get("error"):
            raise self._bugzilla_error(where, status, data)  # also inside a 200 (code 100500)
        if status == 429:
            op.rate_hits += 1
            raise Transient(
                RateLimited(
                    f"{where}: Bugzilla is rate limiting us (HTTP 429)",
                    hint="BMO blocks busy IPs; poll less often",
                ),
                retry_after=self._retry_after(response, op),
            )
        if status >= 500:
            kind = "an HTML error page" if data is None else "an error"
            raise Transient(Unavailable(f"{where}: server error HTTP {status} ({kind})"))
        if status == 414:
            raise Rejected(f"{where}: the server refused the request URL as too long (HTTP 414)")
        if data is None:
            what = f"{where}: HTTP {status} with a body that is not valid JSON"
            if status >= 400:
                raise ProtocolError(what)
            raise Transient(ProtocolError(what))  # truncated or replaced by a proxy: try again
        if status >= 400:
            raise ProtocolError(f"{where}: HTTP {status} without a Bugzilla error code")
        return _Reply(status, data, etag)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
            return None

    @staticmethod
    def _retry_after(response: httpx.Response, op: _Op) -> float:
        header = str(response.headers.get("retry-after", ""))
        if header.strip().isdigit():
            return float(header)
        return RATE_LIMIT_FLOOR * float(2 ** max(op.rate_hits - 1, 0))

    def _bugzilla_error(self, where: str, status: int, data: dict[str, Any]) -> Exception:
        code = data.get("code")
        text = self._redact(str(data.get("message", "")).strip())
        message = f"{where}: Bugzilla error {code}: {text}"
        if code == 101:
            return NotFound(message)
        if code == 32614:
            return _RouteMissing(message)
        if code in _AUTH_CODES:
            hint = _KEY_HINT if code == 306 else "the request ran as anonymous; check the API key"
            return AuthError(message, hint=hint)
        if code in _ACCESS_CODES:
            return AccessDenied(message, hint="the account needs access to this bug (editbugs)")
        if code == 114:
            return CommentTooLong(message)
        if code == 100500 or status >= 500:
            return Transient(Unavailable(message))
        return Rejected(message)

    def _dict(self, reply: _Reply, where: str) -> dict[str, Any]:
        if not isinstance(reply.data, dict):
            raise ProtocolError(f"{where}: expected a JSON object")
        return reply.data

    # ------------------------------------------------------------------ reading

    def _cache_key(self, ref: IncidentRef) -> str:
        """The cache key: the server as well as the bug, so two servers never mix."""
        return f"{self.server}#{ref.number}"

    async def fetch(self, ref: IncidentRef, *, fresh: bool = False) -> IncidentSnapshot:
        """All visible comments, oldest first; one request (a 304) when nothing changed.

        ``fresh`` reads everything and neither uses nor updates the cache.
        """
        self._check_ref(ref)
        op = _Op()
        entry = CachedIncident() if fresh else self._cache.load(self._cache_key(ref))
        changed = await self._read_comments(op, ref, entry)
        if changed or op.full or not entry.title:
            await self._read_bug(op, ref, entry)
        if not fresh:
            self._cache.save(self._cache_key(ref), entry)
        return self._snapshot(ref, entry, op)

    async def active_incidents(self) -> list[IncidentRef]:
        """Bugs whose whiteboard carries ``[TAG:active]`` (substring search, ids only)."""
        op = _Op()
        tag = self._tag
        params = {"whiteboard": f"[{tag}:active]", "include_fields": "id"}
        data = self._dict(await self._get(op, "/rest/bug", params), "GET /rest/bug")
        try:
            return [IncidentRef("bugzilla", int(bug["id"])) for bug in data["bugs"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(
                f"GET /rest/bug: unexpected answer ({type(exc).__name__})"
            ) from None

    def _check_ref(self, ref: IncidentRef) -> None:
        if ref.kind != "bugzilla":
            raise NotConfigured(f"{ref} is not a Bugzilla bug")

    def _needs_full(self, entry: CachedIncident) -> bool:
        return (
            entry.cursor is None
            or bool(entry.fields.get("force_full"))
            or int(entry.fields.get("reads_since_full", 0)) >= FULL_EVERY - 1
        )

    async def _read_comments(self, op: _Op, ref: IncidentRef, entry: CachedIncident) -> bool:
        """Merge what is new into ``entry``; True when the visible comments changed."""
        path = f"/rest/bug/{ref.number}/comment"
        full = self._needs_full(entry)
        params = {} if full or entry.cursor is None else {"new_since": _since(entry.cursor)}
        key = _etag_key(path, params)
        reply = await self._get(op, path, params, entry.etags.get(key))
        op.full = op.full or full
        entry.fields["reads_since_full"] = (
            0 if full else int(entry.fields.get("reads_since_full", 0)) + 1
        )
        if full:
            entry.fields.pop("force_full", None)
        if reply.not_modified:
            return False
        op.got_data = True
        # A 304 only says "same answer as when this ETag was stored". Once anything was merged
        # since, an older ETag of another comment URL (the full list, an older cursor) would
        # hide changes made meanwhile (a comment that vanished), so keep only the newest one.
        entry.etags = {k: v for k, v in entry.etags.items() if not k.startswith(path)}
        if reply.etag:
            entry.etags[key] = reply.etag
        return self._merge(entry, self._comments_of(reply, ref), full)

    def _comments_of(self, reply: _Reply, ref: IncidentRef) -> list[dict[str, Any]]:
        try:
            raw = reply.data["bugs"][str(ref.number)]["comments"]
            if not isinstance(raw, list):
                raise TypeError("comments is not a list")
            return raw
        except (KeyError, TypeError) as exc:
            where = f"GET /rest/bug/{ref.number}/comment"
            raise ProtocolError(f"{where}: unexpected answer ({type(exc).__name__})") from None

    def _merge(self, entry: CachedIncident, raws: list[dict[str, Any]], full: bool) -> bool:
        changed = False
        seen: set[str] = set()
        expected = int(entry.fields.get("max_count", -1)) + 1
        cursor = entry.cursor
        for raw in sorted(raws, key=lambda r: int(r.get("id", 0) or 0)):
            try:
                comment = _to_comment(raw)
            except (KeyError, TypeError, ValueError) as exc:
                raise ProtocolError(
                    f"a comment has an unexpected shape ({type(exc).__name__})"
                ) from None
            if "deleted" in (raw.get("tags") or []):  # BMO hides these: treat as vanished
                changed |= comment.id in entry.comments
                entry.mark_vanished(comment.id)
                continue
            seen.add(comment.id)
            count = raw.get("count")
            known = entry.comments.get(comment.id)
            if known is None and isinstance(count, int):
                if not full and count > expected:
                    entry.fields["force_full"] = True  # something we cannot see appeared
                expected = max(expected, count + 1)
            if known is None or known.body != comment.body or comment.edited != known.edited:
                changed = True
            entry.merge(comment)
            self._settle_pending(entry, comment)
            stamp = comment.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            cursor = stamp if cursor is None or stamp > cursor else cursor
        entry.fields["max_count"] = expected - 1
        if full:
            changed |= self._mark_missing(entry, seen)
        entry.comments = dict(sorted(entry.comments.items(), key=lambda kv: int(kv[0])))
        if not entry.fields.get("pending") or entry.cursor is None:
            # While one of our posts is not visible yet (replica lag) the cursor stays put, so
            # the comment cannot fall behind it and be skipped by later incremental reads.
            entry.cursor = cursor
        return changed

    def _mark_missing(self, entry: CachedIncident, seen: set[str]) -> bool:
        gone = [cid for cid in entry.comments if cid not in seen]
        for cid in gone:
            entry.mark_vanished(cid)
        pending: dict[str, dict[str, str]] = entry.fields.get("pending", {})
        now = datetime.now(UTC)
        for marker, info in list(pending.items()):
            if now - _parse_time(info["at"]) > PENDING_EXPIRY:
                del pending[marker]  # never showed up on a full read: stop waiting for it
        return bool(gone)

    def _settle_pending(self, entry: CachedIncident, comment: Comment) -> None:
        pending: dict[str, dict[str, str]] = entry.fields.get("pending", {})
        for marker, info in list(pending.items()):
            ours = marker in comment.body and self._by_us(comment.author.login)
            if ours or info.get("id") == comment.id:
                del pending[marker]

    async def _read_bug(self, op: _Op, ref: IncidentRef, entry: CachedIncident) -> None:
        path = f"/rest/bug/{ref.number}"
        params = {"include_fields": BUG_FIELDS}
        key = _etag_key(path, params)
        etag = entry.etags.get(key) if "bug" in entry.fields else None
        reply = await self._get(op, path, params, etag)
        if reply.not_modified:
            return
        op.got_data = True
        try:
            bug = self._dict(reply, f"GET {path}")["bugs"][0]
            entry.title = str(bug["summary"])
        except (KeyError, IndexError, TypeError) as exc:
            raise NotFound(f"GET {path}: no bug in the answer ({type(exc).__name__})") from None
        entry.url = f"{self._base}/show_bug.cgi?id={ref.number}"
        names = ("whiteboard", "status", "resolution", "assigned_to", "flags", "last_change_time")
        entry.fields["bug"] = {name: bug.get(name) for name in names}
        if reply.etag:
            entry.etags[key] = reply.etag

    def _snapshot(self, ref: IncidentRef, entry: CachedIncident, op: _Op) -> IncidentSnapshot:
        return IncidentSnapshot(
            ref=ref,
            title=entry.title,
            url=entry.url,
            comments=entry.comment_list(),
            vanished=entry.vanished_list(),
            fields=dict(entry.fields.get("bug", {})),
            requests=op.requests,
            from_cache=not op.got_data,
        )

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
        op = _Op()
        await self._check_key(op)
        entry = self._cache.load(self._cache_key(ref))
        # "unsure": an earlier post of this event failed after the request left, and even the
        # re-reads after it failed; the server may have stored it, so look before writing again
        unsure: list[str] = list(entry.fields.get("unsure", []))
        if entry.cursor is None or marker in unsure:  # cold cache, or unsure: read first
            await self._read_comments(op, ref, entry)
        found = self._find_marker(entry, marker)
        if found is not None:
            entry.fields["unsure"] = [m for m in unsure if m != marker]
            self._cache.save(self._cache_key(ref), entry)
            return Posted(found, duplicate=True, requests=op.requests)
        fields: dict[str, Any] = {}
        if mirror is not None:
            await self._read_bug(op, ref, entry)  # read-modify-write: the whiteboard as it is now
            fields = self._mirror_fields(entry, mirror)
        mirror_error = ""
        try:
            try:
                comment_id = await self._write_event(op, ref, entry, body, marker, fields)
            except AccessDenied as exc:
                if not fields:
                    raise
                # The PUT is refused whole (no editbugs on this bug): nothing was stored. The
                # comment is the record, so post it alone and say the fields stayed as they were.
                mirror_error = f"the bug's fields were not updated: {exc.message}"
                comment_id = await self._write_event(op, ref, entry, body, marker, {})
        except Exception:
            entry.fields["unsure"] = [*(m for m in unsure if m != marker), marker][-50:]
            self._cache.save(self._cache_key(ref), entry)
            raise
        entry.fields["unsure"] = [m for m in unsure if m != marker]
        self._cache.save(self._cache_key(ref), entry)
        return Posted(comment_id, requests=op.requests, mirror_error=mirror_error)

    def _by_us(self, login: str) -> bool:
        return self._me is None or login == self._me.login

    def _find_marker(self, entry: CachedIncident, marker: str) -> str | None:
        for comment in entry.comments.values():
            if marker in comment.body and self._by_us(comment.login):
                return comment.id
        pending = entry.fields.get("pending", {}).get(marker)
        return str(pending["id"]) if pending else None

    def _mirror_fields(self, entry: CachedIncident, mirror: Mirror) -> dict[str, Any]:
        bug: dict[str, Any] = entry.fields.get("bug", {})
        out: dict[str, Any] = {}
        current = str(bug.get("whiteboard") or "")
        wanted = mirror_whiteboard(current, mirror, self._tag)
        if wanted != current:
            out["whiteboard"] = wanted
        acct = mirror.ic_account
        if self._mirror_assignee and acct and bug.get("assigned_to") != acct:
            out["assigned_to"] = acct
        if self._is_bmo():  # upstream has no needinfo flag type by default
            flags = self._needinfo_changes(bug.get("flags") or [], mirror.needinfo)
            if flags:
                out["flags"] = flags
        return out

    def _needinfo_changes(self, flags: list[dict[str, Any]], want: str | None) -> list[Any]:
        asks = [f for f in flags if f.get("name") == "needinfo" and f.get("status") == "?"]
        ours = [f for f in asks if self._me is not None and f.get("setter") == self._me.login]
        changes: list[Any] = [
            {"id": f["id"], "status": "X"} for f in ours if f.get("requestee") != want
        ]
        if want and not any(f.get("requestee") == want for f in asks):
            changes.append({"name": "needinfo", "status": "?", "requestee": want})
        return changes

    def _write_request(
        self, ref: IncidentRef, body: str, fields: dict[str, Any]
    ) -> tuple[str, str, dict[str, Any]]:
        # BMO renders comments as Markdown; ours are plain sentences plus a plain trailer whose
        # ids and versions must show exactly as written, so say plain text explicitly there.
        plain = {"is_markdown": False} if self._is_bmo() else {}
        if fields:
            comment = {"body": body, "is_private": False, **plain}
            return "PUT", f"/rest/bug/{ref.number}", {**fields, "comment": comment}
        return "POST", f"/rest/bug/{ref.number}/comment", {"comment": body, **plain}

    async def _write_event(
        self,
        op: _Op,
        ref: IncidentRef,
        entry: CachedIncident,
        body: str,
        marker: str,
        fields: dict[str, Any],
    ) -> str:
        method, path, payload = self._write_request(ref, body, fields)
        attempted = False

        async def attempt() -> str | None:
            nonlocal attempted
            if attempted:  # the last try may have been stored: look before writing again
                await self._read_comments(op, ref, entry)
                found = self._find_marker(entry, marker)
                if found is not None:
                    return found
            attempted = True
            reply = await self._send(op, method, path, {}, payload, None)
            if method == "POST":
                return str(int(self._dict(reply, f"{method} {path}")["id"]))
            return None

        try:
            comment_id = await self._with_retries(attempt)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(
                f"{method} {path}: unexpected answer ({type(exc).__name__})"
            ) from None
        if comment_id is None:  # PUT answers without the comment id: read it back
            await self._read_comments(op, ref, entry)
            comment_id = self._find_marker(entry, marker) or ""
        self._after_write(entry, fields, marker, comment_id)
        return comment_id

    def _after_write(
        self, entry: CachedIncident, fields: dict[str, Any], marker: str, comment_id: str
    ) -> None:
        bug: dict[str, Any] = entry.fields.setdefault("bug", {})
        for name in ("whiteboard", "assigned_to"):
            if name in fields:
                bug[name] = fields[name]
        if comment_id not in entry.comments:
            # Trust the id the write returned even while the replica does not show it yet.
            pending = entry.fields.setdefault("pending", {})
            pending[marker] = {"id": comment_id, "at": datetime.now(UTC).isoformat()}

    async def create(self, new: NewIncident) -> IncidentRef:
        """File a new bug whose description is ``new.body``; never files it twice."""
        check_length(new.body)
        product, component = self._location(new.location)
        op = _Op()
        me = await self._check_key(op)
        payload = {
            "product": product,
            "component": component,
            "summary": new.title,
            "description": normalise_body(new.body),
            "version": "unspecified",
            "op_sys": "All",
            "platform": "All",
            # tagged from the start, so `digest --all-active` finds the new incident
            "whiteboard": (
                mirror_whiteboard("", new.mirror, self._tag)
                if new.mirror is not None
                else f"[{self._tag}:active]"
            ),
        }
        attempted = False

        async def attempt() -> int:
            nonlocal attempted
            if attempted:
                found = await self._find_created(op, new, me)
                if found is not None:
                    return found
            attempted = True
            reply = await self._send(op, "POST", "/rest/bug", {}, payload, None)
            return int(self._dict(reply, "POST /rest/bug")["id"])

        try:
            number = await self._with_retries(attempt)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(
                f"POST /rest/bug: unexpected answer ({type(exc).__name__})"
            ) from None
        return IncidentRef("bugzilla", number)

    def _location(self, location: str) -> tuple[str, str]:
        product, sep, component = location.partition("::")
        if not sep:
            product, component = self._product, self._component
        product, component = product.strip(), component.strip()
        if not (product and component):
            raise NotConfigured(
                "Bugzilla needs a product and a component to file a bug",
                hint="pass --product and --component, or set [bugzilla] product and component",
            )
        return product, component

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        """One PUT of the mirrored fields when they differ; False when nothing was written."""
        self._check_ref(ref)
        if not self._key:
            return False
        op = _Op()
        entry = self._cache.load(self._cache_key(ref))
        await self._read_bug(op, ref, entry)
        fields = self._mirror_fields(entry, mirror)
        if not fields:
            return False
        try:
            await self._with_retries(
                lambda: self._send(op, "PUT", f"/rest/bug/{ref.number}", {}, fields, None)
            )
        except (AccessDenied, AuthError) as exc:
            log.info("mirror of %s not updated: %s", ref, exc.message)
            return False
        self._after_write(entry, fields, "", "")
        self._cache.save(self._cache_key(ref), entry)
        return True

    async def _find_created(self, op: _Op, new: NewIncident, me: Account | None) -> int | None:
        """After an ambiguous create: our bug with this summary whose description has the marker."""
        params = {"summary": new.title, "include_fields": "id"}
        if me is not None:
            params["creator"] = me.login
        data = self._dict(await self._get(op, "/rest/bug", params), "GET /rest/bug")
        ids = sorted((int(b["id"]) for b in data.get("bugs", [])), reverse=True)[:3]
        for number in ids:
            path = f"/rest/bug/{number}/comment"
            reply = await self._get(op, path, {})
            first = self._comments_of(reply, IncidentRef("bugzilla", number))[:1]
            if first and new.marker in str(first[0].get("text", "")):
                return number
        return None


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
) -> BugzillaTracker:
    """A Bugzilla tracker on a client built by :func:`make_client`."""
    style = _AUTH_STYLES.get(auth)
    if style is None:
        raise NotConfigured(
            f"unknown Bugzilla auth style {auth!r}",
            hint='use "auto", "header", "param" or "bearer"',
        )
    client = make_client(base_url, transport=transport)
    return BugzillaTracker(
        client,
        api_key=api_key,
        cache=cache,
        auth=style,
        sleep=sleep,
        mirror_assignee=mirror_assignee,
        login=login,
        incident_tag=incident_tag,
        product=product,
        component=component,
    )
