"""GitHub Issues backend: one issue per incident, events as comments, state mirrored back.

Reading is in :mod:`.reading` (conditional requests: an unchanged incident costs one 304),
the mirrored labels, assignee and body block in :mod:`.mirror`, team membership in
:mod:`.members`, what GitHub's answers mean in :mod:`.client`.

Writing never retries a POST blindly: after a timeout, reset, 5xx or rate limit the comments are
read again and the marker looked for before posting again. The account of the token is
remembered per server and token fingerprint for a day, so ``whoami`` costs nothing once known;
so is a missing triage/push access (the mirror is then left for someone who can write it).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from typing import TYPE_CHECKING
from urllib.parse import quote

import httpx

from sync_incident.core.comments import Account, check_length, normalise_body
from sync_incident.core.errors import AccessDenied, AuthError, NotFound, ProtocolError, Rejected
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.trackers.base import Flavor, IncidentSnapshot, Mirror, NewIncident, Posted
from sync_incident.trackers.cache import Cache, CachedIncident, Made
from sync_incident.trackers.github.client import DEFAULT_API_URL, HEADERS, GitHubClient
from sync_incident.trackers.github.members import Members
from sync_incident.trackers.github.mirror import (
    BODY_LIMIT,
    LABEL_ACTIVE,
    LABEL_INCIDENT,
    LABEL_RESOLVED,
    MirrorWriter,
    differs,
    replace_status_block,
)
from sync_incident.trackers.github.reading import IssueReader, account, issue_path, marks_of
from sync_incident.trackers.http import BearerAuth, RetryPolicy, Sleep, counting, make_client
from sync_incident.trackers.memory import ServerMemory

if TYPE_CHECKING:
    from datetime import datetime

    from sync_incident.core.policy import Team

log = logging.getLogger(__name__)

RECENT = 30.0  # seconds: an issue read this recently (this command) is not read again to write
_MARKER_OK = re.compile(r"[A-Za-z0-9._:-]{1,100}")


async def _default_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


class GitHubTracker:
    """The :class:`~sync_incident.trackers.base.Tracker` for GitHub and GitHub Enterprise Server."""

    kind: TrackerKind = "github"
    flavor: Flavor = "github"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        token: str | None,
        cache: Cache,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
        retry: RetryPolicy = RetryPolicy(base=2.0, max_wait=120.0, total=1200.0),
        min_write_interval: float = 1.0,
        max_rate_wait: float = 900.0,
        verify_every: int = 6,
        repos: list[str] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if token and client.auth is None:
            client.auth = BearerAuth(token)
        policy = replace(retry, max_retry_after=max_rate_wait)
        self._client = GitHubClient(
            client,
            token=token,
            sleep=sleep or _default_sleep,
            clock=clock,
            policy=policy,
            min_write_interval=min_write_interval,
        )
        self.server = self._client.base
        self._cache = cache
        self._memory = ServerMemory(cache, self.server, token, clock=wall_clock)
        self._reader = IssueReader(self._client, verify_every=verify_every)
        self._writer = MirrorWriter(self._client, cache)
        self._members = Members(self._client, clock=clock)
        self._repos = list(repos or [])
        self._me: Account | None = None
        # the issue as this process last read it: (copy, when, read fresh?), per incident
        self._recent: dict[str, tuple[CachedIncident, float, bool]] = {}
        self._made: Made = {}  # comments made from the cache, reused while unchanged

    def __repr__(self) -> str:
        who = self._me.login if self._me else "?"
        return f"GitHubTracker(api={self.server!r}, user={who!r})"

    @property
    def requests(self) -> int:
        """Every HTTP exchange so far, retries included (for benchmarks and tests)."""
        return self._client.requests

    async def aclose(self) -> None:
        await self._client.aclose()

    # ------------------------------------------------------------------ identity and authz

    async def whoami(self) -> Account:
        """The token's account: ``GET /user`` once, then remembered for a day."""
        if self._me is None:
            self._me = self._memory.identity()
        if self._me is None:
            try:
                self._me = account(await self._client.get_json("/user"))
            except AuthError:
                self._memory.forget_key()
                raise
            self._memory.remember_key(self._me)
        return self._me

    async def user(self, login: str) -> Account | None:
        """The account that has ``login`` now (``GET /users/{login}``), or None when none has.

        For pinning people by numeric id once: a login can change hands, the id never does.
        """
        try:
            return account(await self._client.get_json(f"/users/{quote(login, safe='')}"))
        except NotFound:
            return None

    def delegates(self, team: Team) -> bool:
        """A team that names GitHub org teams or a minimum repository permission."""
        return self._members.delegates(team)

    async def is_member(
        self, ref: IncidentRef, team: Team, account: Account, *, fresh: bool = False
    ) -> bool:
        """An active member of one of the team's org teams, or enough repository permission."""
        return await self._members.is_member(ref, team, account, fresh=fresh)

    async def team_membership(
        self, org: str, slug: str, login: str, *, fresh: bool = False
    ) -> bool:
        return await self._members.team_membership(org, slug, login, fresh=fresh)

    async def repo_permission(self, repo: str, login: str, *, fresh: bool = False) -> str:
        return await self._members.repo_permission(repo, login, fresh=fresh)

    async def active_incidents(self) -> list[IncidentRef]:
        """Open issues labelled ``incident:active`` in each configured repository."""
        refs: list[IncidentRef] = []
        for repo in self._repos:
            params = {"state": "open", "labels": LABEL_ACTIVE, "per_page": "100"}
            async for item in self._client.pages(f"/repos/{repo}/issues", params):
                if "pull_request" in item or not isinstance(item.get("number"), int):
                    continue
                refs.append(IncidentRef("github", item["number"], repo=repo))
        return refs

    async def resolved_incidents(self, since: datetime) -> list[IncidentRef]:
        """Issues labelled ``incident:resolved`` (open or closed) updated since ``since``."""
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        refs: list[IncidentRef] = []
        for repo in self._repos:
            params = {"state": "all", "labels": LABEL_RESOLVED, "since": stamp, "per_page": "100"}
            async for item in self._client.pages(f"/repos/{repo}/issues", params):
                if "pull_request" in item or not isinstance(item.get("number"), int):
                    continue
                refs.append(IncidentRef("github", item["number"], repo=repo))
        return refs

    # ------------------------------------------------------------------ reading

    def _cache_key(self, ref: IncidentRef) -> str:
        """The cache key: the API server as well as the issue, so two servers never mix."""
        return f"{self.server}#{ref.repo.lower()}#{ref.number}"

    def _check_ref(self, ref: IncidentRef) -> None:
        if ref.kind != "github" or "/" not in ref.repo:
            raise NotFound(f"{ref} is not a GitHub issue reference")

    async def fetch(
        self, ref: IncidentRef, *, fresh: bool = False, history: bool = False
    ) -> IncidentSnapshot:
        """The issue's comments (never its body: that only mirrors state), in id order.

        ``fresh`` reads everything and neither uses nor updates the cache. The hold label's
        history is read whenever the issue changed (a label change moves its ETag), so every
        read has it: ``history`` asks nothing more.
        """
        self._check_ref(ref)
        with counting() as sent:
            cached = CachedIncident() if fresh else self._cache.load(self._cache_key(ref))
            changed = await self._reader.sync(ref, cached, fresh=fresh)
            self._recent[self._cache_key(ref)] = (cached, time.monotonic(), fresh)
            if not fresh:
                self._cache.save(self._cache_key(ref), cached)
        unverified = set(cached.fields.get("_unverified", []))
        comments = [
            replace(c, edited=True) if c.id in unverified else c
            for c in cached.comment_list(self._made)
        ]
        return IncidentSnapshot(
            ref=ref,
            title=cached.title,
            url=cached.url,
            comments=sorted(comments, key=lambda c: c.order),
            vanished=cached.vanished_list(self._made),
            marks=marks_of(cached),
            fields={k: v for k, v in cached.fields.items() if not k.startswith("_")},
            requests=sent[0],
            from_cache=not changed,
            unchecked=dict(cached.fields.get("_unchecked", {})) if fresh else {},
        )

    # ------------------------------------------------------------------ mirroring

    async def _mirror(self, ref: IncidentRef, cached: CachedIncident, mirror: Mirror) -> str:
        """Write what differs; '' when done (or nothing to do), else why it was not written."""
        tried = self._writer.tried(ref)
        # "may not write" is remembered per token (by its fingerprint), so no /user is needed
        if not differs(cached.fields, mirror, tried) or self._memory.may_not_write(None, ref.repo):
            return ""
        try:
            await self._writer.apply(ref, cached, mirror)
        except (AccessDenied, Rejected) as exc:
            # labels, assignee and the body block need triage/push access, which a commenter
            # may not have: remembered, so the next command does not try again
            if isinstance(exc, AccessDenied):
                self._memory.remember_may_not_write(None, ref.repo)
            return f"the issue's labels and status block were not updated: {exc}"
        return ""

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        """Labels, assignee and the body block brought in line; False when nothing changed.

        Costs nothing when the issue as last read already agrees, or when this token is known
        to lack triage/push access; a read of moments ago is not repeated. Never raises for a
        missing permission.
        """
        self._check_ref(ref)
        if not self._client.has_token:
            return False
        key = self._cache_key(ref)
        recent = self._recent.get(key)
        tried = self._writer.tried(ref)
        known = recent[0].fields if recent is not None else {}
        if "_body" in known and not differs(known, mirror, tried):
            return False
        if self._memory.may_not_write(None, ref.repo):
            return False  # left for someone who can
        if recent is not None and time.monotonic() - recent[1] < RECENT:
            cached, persist = recent[0], not recent[2]  # a fresh read stays out of the cache
        else:
            cached, persist = self._cache.load(key), True
            await self._reader.sync(ref, cached)
        before = self._client.requests
        try:
            problem = await self._mirror(ref, cached, mirror)
        finally:
            if persist:
                self._cache.save(key, cached)
            self._recent[key] = (cached, time.monotonic(), not persist)
        if problem:
            log.info(self._client.redact(f"mirror of {ref} not updated: {problem}"))
            return False
        return self._client.requests > before

    # ------------------------------------------------------------------ writing

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        check_length(body)
        self._check_ref(ref)
        text = normalise_body(body)
        with counting() as sent:
            me = await self.whoami()
            cached = self._cache.load(self._cache_key(ref))
            try:
                # fresh comments for the marker look-up, fresh body/labels for the mirror
                await self._reader.sync(ref, cached)
                found = self._find_marker(cached, marker, me)
                duplicate = found is not None
                if found is None:
                    found = await self._post_comment(ref, cached, text, marker, me)
                problem = await self._mirror(ref, cached, mirror) if mirror is not None else ""
            finally:
                self._cache.save(self._cache_key(ref), cached)
                self._recent[self._cache_key(ref)] = (cached, time.monotonic(), False)
        return Posted(found, duplicate=duplicate, requests=sent[0], mirror_error=problem)

    def _find_marker(self, cached: CachedIncident, marker: str, me: Account) -> str | None:
        def ours(uid: str | None, login: str) -> bool:
            return (uid is not None and uid == me.uid) or login == me.login

        tagged = cached.fields.get("_markers", {}).get(marker)
        if tagged and tagged[0] in cached.comments and ours(tagged[1], tagged[2]):
            return str(tagged[0])
        for cid, c in cached.comments.items():
            # someone else quoting our marker must not suppress us
            if ours(c.uid, c.login) and marker in c.body:
                return cid
        return None

    async def _post_comment(
        self, ref: IncidentRef, cached: CachedIncident, text: str, marker: str, me: Account
    ) -> str:
        path = f"{issue_path(ref)}/comments"
        tag = f"\n\n<!-- sync-incident:marker {marker} -->"
        if marker not in text and _MARKER_OK.fullmatch(marker) and len(text + tag) <= BODY_LIMIT:
            text += tag  # hidden when rendered; lets a retry find this comment
        attempted = False

        async def attempt() -> str:
            nonlocal attempted
            if attempted:  # the previous POST may have been stored: look before posting again
                await self._reader.read_comments(ref, cached, full=False)
                found = self._find_marker(cached, marker, me)
                if found is not None:
                    return found
            attempted = True
            data = await self._client.write("POST", path, {"body": text})
            comment, _ = self._reader.merge(data, cached)
            return comment.id

        return await self._client.retrying(attempt)

    async def create(self, new: NewIncident) -> IncidentRef:
        """File the issue (its body only mirrors state), then post ``new.body`` as a comment.

        The body carries the marker hidden, so a create retried after an ambiguous failure
        finds the issue instead of filing a second one.
        """
        check_length(new.body)
        repo = new.location
        if not repo or "/" not in repo:
            raise Rejected(
                "a GitHub incident needs a repository as owner/repo",
                hint="pass --github owner/repo",
            )
        me = await self.whoami()
        labels = [LABEL_INCIDENT, LABEL_ACTIVE]
        await self._writer.ensure_labels(repo, labels, present=[])
        block = new.mirror.status_block if new.mirror is not None else ""
        issue_body = replace_status_block("", block) if block else ""
        issue_body += f"\n\n<!-- sync-incident:marker {new.marker} -->"
        payload = {"title": new.title, "body": issue_body.strip(), "labels": labels}
        attempted = False

        async def attempt() -> int:
            nonlocal attempted
            if attempted:
                found = await self._find_created(repo, new.marker, me)
                if found is not None:
                    return found
            attempted = True
            data = await self._client.write("POST", f"/repos/{repo}/issues", payload)
            if not isinstance(data, dict) or not isinstance(data.get("number"), int):
                raise ProtocolError("GitHub created an issue but sent no number")
            return int(data["number"])

        ref = IncidentRef("github", await self._client.retrying(attempt), repo=repo)
        await self.post(ref, new.body, marker=new.marker)
        return ref

    async def _find_created(self, repo: str, marker: str, me: Account) -> int | None:
        """Our recent issue whose body carries ``marker``, if the create was stored."""
        params = {
            "creator": me.login,
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": "30",
        }
        data = await self._client.get_json(f"/repos/{repo}/issues", params=params)
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict) or "pull_request" in item:
                continue
            if marker in str(item.get("body") or ""):
                number = item.get("number")
                return number if isinstance(number, int) else None
        return None


def build_github(
    api_url: str,
    token: str | None,
    *,
    cache: Cache,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep | None = None,
    clock: Callable[[], float] = time.monotonic,
    repos: list[str] | None = None,
) -> GitHubTracker:
    """A GitHub tracker on ``api_url`` (``https://HOST/api/v3`` for Enterprise Server)."""
    client = make_client(
        api_url or DEFAULT_API_URL,
        headers=HEADERS,
        auth=BearerAuth(token) if token else None,
        transport=transport,
    )
    return GitHubTracker(client, token=token, cache=cache, sleep=sleep, clock=clock, repos=repos)
