"""GitHub Issues backend: one issue per incident, events as comments, state mirrored back.

Reading is built around GitHub's conditional requests (a 304 costs no primary rate limit):

* the issue itself is the sentinel. Its ETag changes when the title, body, labels, assignees or
  state change, when a comment is added or deleted (``comments`` count and ``updated_at``) and,
  as observed on github.com, when a comment is edited (the issue's ``updated_at`` moves). So an
  unchanged incident costs ONE request answering 304;
* because the edit case is observed behaviour rather than documented, every
  ``verify_every``-th quiet poll also asks the comments list (itself conditional, so free);
* when the issue changed, comments are read with ``since`` (the newest ``updated_at`` seen, less
  one second of overlap) and ``per_page=100``, following ``Link: rel="next"`` exactly;
* a full read (no ``since``) happens when the cache is cold and whenever the number of comments
  we hold disagrees with the issue's ``comments`` count: that is the only way to notice a deleted
  comment (reported as vanished).

Writing never retries a POST blindly: after a timeout, reset or 5xx the comments are read again
and the marker looked for before posting again. Writes are serialised with at least
``min_write_interval`` seconds between them (GitHub's secondary limits). Errors are translated
here into the tree in :mod:`sync_incident.trackers.base`; the token is redacted from every
message and never part of a repr.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from sync_incident.core.comments import Account, Comment, check_length, normalise_body
from sync_incident.core.errors import (
    AccessDenied,
    AuthError,
    NotFound,
    ProtocolError,
    RateLimited,
    Rejected,
    TrackerError,
    Unavailable,
)
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.logs import Redactor
from sync_incident.trackers.base import Flavor, IncidentSnapshot, Mirror, NewIncident, Posted
from sync_incident.trackers.cache import Cache, CachedIncident
from sync_incident.trackers.http import (
    RetryPolicy,
    Sleep,
    Transient,
    make_client,
    retry_call,
)

if TYPE_CHECKING:
    from sync_incident.core.policy import Team

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
BODY_LIMIT = 65_536  # GitHub's limit for issue bodies and comments, in characters

STATUS_START = "<!-- sync-incident:status:start -->"
STATUS_END = "<!-- sync-incident:status:end -->"

LABEL_INCIDENT = "incident"
LABEL_ACTIVE = "incident:active"
LABEL_RESOLVED = "incident:resolved"
LABEL_HOLD = "hold"
# colour and description used when we create a label on first use
LABEL_STYLE: dict[str, tuple[str, str]] = {
    LABEL_INCIDENT: ("b60205", "A release incident run by sync-incident"),
    LABEL_ACTIVE: ("d93f0b", "The incident is active"),
    LABEL_RESOLVED: ("0e8a16", "The incident is resolved"),
    LABEL_HOLD: ("fbca04", "A release is on hold"),
}
OUR_LABELS = frozenset(LABEL_STYLE)

# GitHub sometimes stamps a fresh comment's updated_at one second after created_at
# (palantir/policy-bot#459): only a larger gap is an edit. Later edits are caught by the hash.
EDIT_TOLERANCE = timedelta(seconds=1)
# ``since`` overlap: a comment updated in the same second as our cursor must not be missed.
SINCE_OVERLAP = timedelta(seconds=1)
SECONDARY_MIN_WAIT = 60.0
PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")

# the event id we add, hidden, to a comment whose text does not carry it, so it can be found
_MARKER_TAIL = re.compile(r"\n*<!-- sync-incident:marker ([A-Za-z0-9._:-]{1,100}) -->\Z")
_MARKER_OK = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


async def _default_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def strip_status_block(body: str) -> str:
    """The body without our status block (markers included)."""
    start = body.find(STATUS_START)
    if start < 0:
        return body
    end = body.find(STATUS_END, start)
    if end < 0:
        return body
    return body[:start] + body[end + len(STATUS_END) :]


def replace_status_block(body: str, block: str) -> str:
    """``body`` with our block replaced in place (appended when absent); the rest byte-identical."""
    # blank lines keep the Markdown inside (lists, tables) rendering as Markdown on GitHub
    full = f"{STATUS_START}\n\n{block.strip()}\n\n{STATUS_END}"
    start = body.find(STATUS_START)
    end = body.find(STATUS_END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        return body[:start] + full + body[end + len(STATUS_END) :]
    if not body:
        return full
    return body + "\n\n" + full


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header, exactly as GitHub sent it."""
    if not header:
        return None
    for part in header.split(","):
        match = _NEXT.search(part)
        if match:
            return match.group(1)
    return None


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"GitHub sent a timestamp we cannot read: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError(f"GitHub sent a timestamp we cannot read: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _account(user: object) -> Account:
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        raise ProtocolError("GitHub sent an item without a user login")
    uid = user.get("id")
    return Account(user["login"], str(uid) if uid is not None else None)


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
        retry: RetryPolicy = RetryPolicy(base=2.0, max_wait=120.0, total=600.0),
        min_write_interval: float = 1.0,
        max_rate_wait: float = 900.0,
        verify_every: int = 6,
        repos: list[str] | None = None,
    ) -> None:
        self._client = client
        self._repos = list(repos or [])
        self.server = str(client.base_url).rstrip("/")
        self._has_token = bool(token)
        self._redact = Redactor([token])
        self._cache = cache
        self._sleep: Sleep = sleep or _default_sleep
        self._clock = clock
        self._retry = retry
        self._min_write_interval = min_write_interval
        self._max_rate_wait = max_rate_wait
        self._verify_every = max(1, verify_every)
        self._write_lock = asyncio.Lock()
        self._last_write: float | None = None
        self._me: Account | None = None
        self._teams: dict[tuple[str, str, str], bool] = {}
        self._perms: dict[tuple[str, str], str] = {}
        self.requests = 0  # every HTTP exchange, retries included (for benchmarks)
        self.rate_remaining: int | None = None
        self.rate_reset: int | None = None

    def __repr__(self) -> str:
        who = self._me.login if self._me else "?"
        return f"GitHubTracker(api={str(self._client.base_url)!r}, user={who!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    # ------------------------------------------------------------------ identity and authz

    async def whoami(self) -> Account:
        if self._me is None:
            data = await self._get_json("/user")
            self._me = _account(data)
        return self._me

    async def team_membership(self, org: str, slug: str, login: str) -> bool:
        """True only for an ``active`` member of ``org/slug`` (``pending`` does not count)."""
        key = (org.lower(), slug.lower(), login.lower())
        if key in self._teams:
            return self._teams[key]
        org_q, slug_q, login_q = (quote(part, safe="") for part in (org, slug, login))
        path = f"/orgs/{org_q}/teams/{slug_q}/memberships/{login_q}"
        try:
            data = await self._get_json(path)
        except NotFound:
            member = False
        except (AccessDenied, AuthError) as exc:
            raise AccessDenied(
                self._redact(
                    f"the GitHub token cannot read the membership of team {org}/{slug} "
                    f"({exc}); a workflow's GITHUB_TOKEN never can"
                ),
                hint="use a token with read:org (or a GitHub App with members: read) for team "
                "policies, or list GitHub accounts instead of a team",
            ) from None
        else:
            member = isinstance(data, dict) and data.get("state") == "active"
        self._teams[key] = member
        return member

    async def repo_permission(self, repo: str, login: str) -> str:
        """The collaborator permission of ``login`` on ``repo``: admin … none."""
        key = (repo.lower(), login.lower())
        if key in self._perms:
            return self._perms[key]
        try:
            data = await self._get_json(
                f"/repos/{repo}/collaborators/{quote(login, safe='')}/permission"
            )
        except NotFound:
            level = "none"
        else:
            level = "none"
            if isinstance(data, dict):
                # role_name carries maintain/triage; permission is the legacy 4-level field
                for candidate in (data.get("role_name"), data.get("permission")):
                    if candidate in PERMISSIONS:
                        level = str(candidate)
                        break
        self._perms[key] = level
        return level

    def delegates(self, team: Team) -> bool:
        """A team that names GitHub org teams or a minimum repository permission."""
        return bool(team.github_teams or team.github_permission)

    async def is_member(self, ref: IncidentRef, team: Team, account: Account) -> bool:
        """An active member of one of the team's org teams, or enough repository permission."""
        for slug in team.github_teams:
            org, _, name = slug.partition("/")
            if await self.team_membership(org, name, account.login):
                return True
        if team.github_permission is not None:
            have = await self.repo_permission(ref.repo, account.login)
            ranks = list(reversed(PERMISSIONS))  # none < read < ... < admin
            return ranks.index(have) >= ranks.index(team.github_permission)
        return False

    async def active_incidents(self) -> list[IncidentRef]:
        """Open issues labelled ``incident:active`` in each configured repository."""
        refs: list[IncidentRef] = []
        for repo in self._repos:
            params = {"state": "open", "labels": LABEL_ACTIVE, "per_page": "100"}
            async for item in self._pages(f"/repos/{repo}/issues", params):
                if "pull_request" in item or not isinstance(item.get("number"), int):
                    continue
                refs.append(IncidentRef("github", item["number"], repo=repo))
        return refs

    # ------------------------------------------------------------------ reading

    def _cache_key(self, ref: IncidentRef) -> str:
        """The cache key: the API server as well as the issue, so two servers never mix."""
        return f"{self.server}#{ref.repo.lower()}#{ref.number}"

    async def fetch(self, ref: IncidentRef, *, fresh: bool = False) -> IncidentSnapshot:
        """The issue's comments (never its body: that only mirrors state), in id order.

        ``fresh`` reads everything and neither uses nor updates the cache.
        """
        start = self.requests
        cached = CachedIncident() if fresh else self._cache.load(self._cache_key(ref))
        changed = await self._sync(ref, cached)
        if not fresh:
            self._cache.save(self._cache_key(ref), cached)
        return self._snapshot(ref, cached, self.requests - start, from_cache=not changed)

    async def _sync(self, ref: IncidentRef, cached: CachedIncident) -> bool:
        """Bring ``cached`` up to date; False when GitHub said nothing changed."""
        self._check_ref(ref)
        cold = "issue" not in cached.etags or "_body" not in cached.fields
        resp, issue = await self._get(
            self._issue_path(ref), etag=None if cold else cached.etags["issue"]
        )
        if resp.status_code == 304:
            quiet = int(cached.fields.get("_quiet_polls", 0)) + 1
            if quiet < self._verify_every:
                cached.fields["_quiet_polls"] = quiet
                return False
            cached.fields["_quiet_polls"] = 0
            return await self._read_comments(ref, cached, full=False)
        cached.fields["_quiet_polls"] = 0
        if not isinstance(issue, dict):
            raise ProtocolError(f"GitHub sent no issue object for {ref}")
        self._store_issue(ref, cached, issue)
        if etag := resp.headers.get("etag"):
            cached.etags["issue"] = etag
        await self._read_comments(ref, cached, full=cold)
        expected = cached.fields.get("comments_count")
        held = len(cached.comments)
        if not cold and isinstance(expected, int) and held != expected:
            # a comment was deleted (or the count raced a new one): only a full read tells
            await self._read_comments(ref, cached, full=True)
        return True

    def _store_issue(self, ref: IncidentRef, cached: CachedIncident, issue: dict[str, Any]) -> None:
        raw = issue.get("body") or ""
        if not isinstance(raw, str):
            raise ProtocolError(f"GitHub sent a non-text body for {ref}")
        cached.title = str(issue.get("title") or "")
        cached.url = str(issue.get("html_url") or "")
        labels = [
            lab["name"] if isinstance(lab, dict) else str(lab) for lab in issue.get("labels") or []
        ]
        assignees = [a["login"] for a in issue.get("assignees") or [] if isinstance(a, dict)]
        cached.fields.update(
            {
                "labels": labels,
                "assignees": assignees,
                "state": issue.get("state"),
                "comments_count": issue.get("comments"),
                "_body": raw,
                "_updated_at": issue.get("updated_at"),
            }
        )

    async def _read_comments(self, ref: IncidentRef, cached: CachedIncident, *, full: bool) -> bool:
        """Read comments (incrementally unless ``full``); False when GitHub answered 304."""
        params = {"per_page": "100"}
        if not full and cached.cursor:
            params["since"] = _iso(_parse_time(cached.cursor) - SINCE_OVERLAP)
        since = params.get("since", "")
        etag = (
            cached.etags.get("comments") if cached.fields.get("_comments_since") == since else None
        )
        resp, page = await self._get(f"{self._issue_path(ref)}/comments", params=params, etag=etag)
        if resp.status_code == 304:
            return False
        seen: set[str] = set()
        newest = _parse_time(cached.cursor) if cached.cursor else None
        next_url = next_link(resp.headers.get("link"))
        # only a one-page answer's ETag proves the whole list unchanged
        if next_url is None and (new_etag := resp.headers.get("etag")):
            cached.etags["comments"] = new_etag
            cached.fields["_comments_since"] = since
        else:
            cached.etags.pop("comments", None)
        while True:
            if not isinstance(page, list):
                raise ProtocolError(f"GitHub sent no comment list for {ref}")
            for item in page:
                comment, updated = self._comment(item, cached)
                seen.add(comment.id)
                cached.merge(comment)
                newest = updated if newest is None or updated > newest else newest
            if next_url is None:
                break
            resp, page = await self._get(self._same_host(next_url))
            next_url = next_link(resp.headers.get("link"))
        if full:
            for cid in list(cached.comments):
                if cid not in seen:
                    cached.mark_vanished(cid)
        if newest is not None:
            cached.cursor = _iso(newest)
        return True

    def _comment(self, item: object, cached: CachedIncident) -> tuple[Comment, datetime]:
        """The comment (hidden marker tag removed); the tag is remembered in the cache."""
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise ProtocolError("GitHub sent a comment without an id")
        created = _parse_time(item.get("created_at"))
        updated = _parse_time(item.get("updated_at") or item.get("created_at"))
        body = normalise_body(str(item.get("body") or ""))
        author = _account(item.get("user"))
        if tag := _MARKER_TAIL.search(body):
            body = body[: tag.start()]
            markers = cached.fields.setdefault("_markers", {})
            markers[tag.group(1)] = [str(item["id"]), author.uid, author.login]
        comment = Comment(
            id=str(item["id"]),
            author=author,
            created_at=created,
            body=body,
            edited=updated - created > EDIT_TOLERANCE,
            order=int(item["id"]),
        )
        return comment, updated

    def _snapshot(
        self, ref: IncidentRef, cached: CachedIncident, requests: int, *, from_cache: bool
    ) -> IncidentSnapshot:
        return IncidentSnapshot(
            ref=ref,
            title=cached.title,
            url=cached.url,
            comments=sorted(cached.comment_list(), key=lambda c: c.order),
            vanished=cached.vanished_list(),
            fields={k: v for k, v in cached.fields.items() if not k.startswith("_")},
            requests=requests,
            from_cache=from_cache,
        )

    # ------------------------------------------------------------------ writing

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        check_length(body)
        text = normalise_body(body)
        start = self.requests
        me = await self.whoami()
        cached = self._cache.load(self._cache_key(ref))
        try:
            # fresh comments for the marker look-up, fresh body/labels for the mirror
            await self._sync(ref, cached)
            found = self._find_marker(cached, marker, me)
            if found is not None:
                comment_id, duplicate = found, True
            else:
                comment_id, duplicate = (
                    await self._post_comment(ref, cached, text, marker, me),
                    False,
                )
            mirror_error = ""
            if mirror is not None:
                try:
                    await self._apply_mirror(ref, cached, mirror)
                except (AccessDenied, Rejected) as exc:
                    # the comment is the record; labels, assignee and the body block need
                    # triage/push access, which a commenter may not have
                    mirror_error = f"the issue's labels and status block were not updated: {exc}"
        finally:
            self._cache.save(self._cache_key(ref), cached)
        return Posted(
            comment_id,
            duplicate=duplicate,
            requests=self.requests - start,
            mirror_error=mirror_error,
        )

    def _find_marker(self, cached: CachedIncident, marker: str, me: Account) -> str | None:
        def ours(uid: str | None, login: str) -> bool:
            return (uid is not None and uid == me.uid) or login == me.login

        tagged = cached.fields.get("_markers", {}).get(marker)
        if tagged and tagged[0] in cached.comments and ours(tagged[1], tagged[2]):
            return str(tagged[0])
        for cid, c in cached.comments.items():
            if (
                ours(c.uid, c.login) and marker in c.body
            ):  # someone else quoting our marker must not suppress us
                return cid
        return None

    async def _post_comment(
        self, ref: IncidentRef, cached: CachedIncident, text: str, marker: str, me: Account
    ) -> str:
        path = f"{self._issue_path(ref)}/comments"
        tag = f"\n\n<!-- sync-incident:marker {marker} -->"
        if marker not in text and _MARKER_OK.fullmatch(marker) and len(text + tag) <= BODY_LIMIT:
            text += tag  # hidden when rendered; lets a retry find this comment
        last: Exception | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                # the previous POST may have been stored: look before posting again
                await self._sleep(min(self._retry.base * 2 ** (attempt - 1), self._retry.max_wait))
                await self._read_comments(ref, cached, full=False)
                found = self._find_marker(cached, marker, me)
                if found is not None:
                    return found
            try:
                data = await self._write_json("POST", path, {"body": text})
            except Transient as exc:
                last = exc.final
                log.warning(self._redact(f"posting to {ref} was ambiguous ({exc.final}); checking"))
                continue
            comment, _ = self._comment(data, cached)
            cached.merge(comment)
            return comment.id
        raise last or Unavailable(f"could not post to {ref}")

    async def _apply_mirror(self, ref: IncidentRef, cached: CachedIncident, mirror: Mirror) -> None:
        fields = cached.fields
        current = list(fields.get("labels") or [])
        wanted = {LABEL_INCIDENT, LABEL_ACTIVE if mirror.active else LABEL_RESOLVED}
        if mirror.hold:
            wanted.add(LABEL_HOLD)
        to_add = [name for name in sorted(wanted) if name not in current]
        to_remove = [name for name in current if name in OUR_LABELS and name not in wanted]
        if to_add:
            await self._ensure_labels(ref.repo, to_add, present=current)
            # additive POST: labels other people set stay (PUT would replace them)
            data = await self._write_once(
                "POST", f"{self._issue_path(ref)}/labels", {"labels": to_add}
            )
            current = self._label_names(data, current + to_add)
        for name in to_remove:
            try:
                data = await self._write_once(
                    "DELETE", f"{self._issue_path(ref)}/labels/{quote(name, safe='')}", None
                )
            except NotFound:
                data = None  # someone removed it already: that is what we wanted
            current = self._label_names(data, [n for n in current if n != name])
        fields["labels"] = current

        ic = mirror.ic_account
        assignees = list(fields.get("assignees") or [])
        if (
            ic
            and ic.lower() not in {a.lower() for a in assignees}
            and fields.get("_assign_tried") != ic
        ):
            data = await self._write_once(
                "POST", f"{self._issue_path(ref)}/assignees", {"assignees": [ic]}
            )
            # GitHub silently drops assignees without access: remember we tried, do not loop
            fields["_assign_tried"] = ic
            assignees = self._assignee_names(data, [*assignees, ic])
        previous = fields.get("_our_assignee")
        if ic and previous and previous.lower() != ic.lower() and previous in assignees:
            data = await self._write_once(
                "DELETE", f"{self._issue_path(ref)}/assignees", {"assignees": [previous]}
            )
            assignees = self._assignee_names(data, [a for a in assignees if a != previous])
        if ic:
            fields["_our_assignee"] = ic
        fields["assignees"] = assignees

        if mirror.status_block:
            raw = str(fields.get("_body") or "")
            new_body = replace_status_block(raw, mirror.status_block)
            if new_body != raw:
                if len(new_body) > BODY_LIMIT:
                    log.warning("status block for %s not written: body would exceed the limit", ref)
                    return
                data = await self._write_once("PATCH", self._issue_path(ref), {"body": new_body})
                fields["_body"] = new_body
                if isinstance(data, dict) and isinstance(data.get("body"), str):
                    fields["_body"] = data["body"]

    async def _ensure_labels(self, repo: str, names: list[str], *, present: list[str]) -> None:
        """Create our labels on first use; remembered per repository in the cache."""
        key = repo.lower()
        raw = self._cache.get("github-labels", key)
        known = set(raw.split("\n")) if raw else set()
        known.update(present)
        for name in names:
            if name in known:
                continue
            color, description = LABEL_STYLE.get(name, ("ededed", ""))
            try:
                await self._write_once(
                    "POST",
                    f"/repos/{repo}/labels",
                    {"name": name, "color": color, "description": description},
                )
            except Rejected as exc:
                if "already_exists" not in str(exc):
                    raise
            known.add(name)
        self._cache.put("github-labels", key, "\n".join(sorted(known)))

    @staticmethod
    def _label_names(data: object, fallback: list[str]) -> list[str]:
        if isinstance(data, list):
            return [str(lab.get("name")) for lab in data if isinstance(lab, dict)]
        return fallback

    @staticmethod
    def _assignee_names(data: object, fallback: list[str]) -> list[str]:
        if isinstance(data, dict) and isinstance(data.get("assignees"), list):
            return [str(a.get("login")) for a in data["assignees"] if isinstance(a, dict)]
        return fallback

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
        await self._ensure_labels(repo, labels, present=[])
        block = new.mirror.status_block if new.mirror is not None else ""
        issue_body = replace_status_block("", block) if block else ""
        issue_body += f"\n\n<!-- sync-incident:marker {new.marker} -->"
        payload = {"title": new.title, "body": issue_body.strip(), "labels": labels}
        number = await self._create_issue(repo, payload, new.marker, me)
        ref = IncidentRef("github", number, repo=repo)
        await self.post(ref, new.body, marker=new.marker)
        return ref

    async def _create_issue(
        self, repo: str, payload: dict[str, Any], marker: str, me: Account
    ) -> int:
        last: Exception | None = None
        for attempt in range(self._retry.attempts):
            if attempt:
                await self._sleep(min(self._retry.base * 2 ** (attempt - 1), self._retry.max_wait))
                number = await self._find_created(repo, marker, me)
                if number is not None:
                    return number
            try:
                data = await self._write_json("POST", f"/repos/{repo}/issues", payload)
            except Transient as exc:
                last = exc.final
                continue
            if not isinstance(data, dict) or not isinstance(data.get("number"), int):
                raise ProtocolError("GitHub created an issue but sent no number")
            number = data["number"]
            return int(number)
        raise last or Unavailable(f"could not create an issue in {repo}")

    async def _find_created(self, repo: str, marker: str, me: Account) -> int | None:
        """Our recent issue whose body carries ``marker``, if the create was stored."""
        params = {
            "creator": me.login,
            "state": "all",
            "sort": "created",
            "direction": "desc",
            "per_page": "30",
        }
        data = await self._get_json(f"/repos/{repo}/issues", params=params)
        for item in data if isinstance(data, list) else []:
            if not isinstance(item, dict) or "pull_request" in item:
                continue
            if marker in str(item.get("body") or ""):
                number = item.get("number")
                return number if isinstance(number, int) else None
        return None

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        """Labels, assignee and the body block brought in line; False when nothing changed."""
        cached = self._cache.load(self._cache_key(ref))
        reads = self.requests
        try:
            await self._sync(ref, cached)
            reads = self.requests
            await self._apply_mirror(ref, cached, mirror)
        except (AccessDenied, Rejected) as exc:
            log.info(self._redact(f"mirror of {ref} not updated: {exc}"))
            return False
        finally:
            self._cache.save(self._cache_key(ref), cached)
        return self.requests > reads

    # ------------------------------------------------------------------ HTTP

    @staticmethod
    def _issue_path(ref: IncidentRef) -> str:
        return f"/repos/{ref.repo}/issues/{ref.number}"

    def _check_ref(self, ref: IncidentRef) -> None:
        if ref.kind != "github" or "/" not in ref.repo:
            raise NotFound(f"{ref} is not a GitHub issue reference")

    def _same_host(self, url: str) -> str:
        # the token must never travel to another host, whatever a Link header says
        base = str(self._client.base_url).rstrip("/")
        if not url.startswith(base + "/"):
            raise ProtocolError(
                self._redact(f"GitHub sent a next-page link to another host: {url}")
            )
        return url

    async def _pages(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        resp, page = await self._get(path, params=params)
        while True:
            for item in page if isinstance(page, list) else []:
                if isinstance(item, dict):
                    yield item
            url = next_link(resp.headers.get("link"))
            if url is None:
                return
            resp, page = await self._get(self._same_host(url))

    async def _get_json(self, path: str, *, params: dict[str, str] | None = None) -> Any:
        _, data = await self._get(path, params=params)
        return data

    async def _get(
        self, url: str, *, params: dict[str, str] | None = None, etag: str | None = None
    ) -> tuple[httpx.Response, Any]:
        """A read, retried on network errors, timeouts, 5xx and unreadable answers."""

        async def once() -> tuple[httpx.Response, Any]:
            resp = await self._exchange("GET", url, params=params, etag=etag)
            if resp.status_code == 304:
                return resp, None
            return resp, self._decode(resp, "GET", url)

        return await retry_call(once, policy=self._retry, sleep=self._sleep)

    async def _write_json(self, method: str, path: str, body: object) -> Any:
        """One write, never retried here: a :class:`Transient` means it may have been stored."""
        resp = await self._write(method, path, body)
        return self._decode(resp, method, path) if resp.content else None

    async def _write_once(self, method: str, path: str, body: object) -> Any:
        """An idempotent mirror write (label, assignee, body): retry it like a read."""

        async def once() -> Any:
            return await self._write_json(method, path, body)

        return await retry_call(once, policy=self._retry, sleep=self._sleep)

    async def _write(self, method: str, path: str, body: object) -> httpx.Response:
        async with self._write_lock:
            if self._last_write is not None:
                wait = self._last_write + self._min_write_interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            try:
                return await self._exchange(method, path, json_body=body)
            finally:
                self._last_write = self._clock()

    def _decode(self, resp: httpx.Response, method: str, url: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            # an HTML error page or a truncated answer: worth another try
            raise Transient(
                ProtocolError(
                    self._redact(f"GitHub sent an unreadable answer to {method} {self._path(url)}")
                )
            ) from None

    @staticmethod
    def _path(url: str) -> str:
        return httpx.URL(url).path or url

    async def _exchange(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json_body: object = None,
        etag: str | None = None,
    ) -> httpx.Response:
        """One request, waiting out rate limits; errors translated, retryable ones as Transient."""
        waited = 0.0
        secondary = 0
        headers = {"If-None-Match": etag} if etag else None
        path = self._path(url)
        while True:
            self.requests += 1
            try:
                resp = await self._client.request(
                    method, url, params=params, json=json_body, headers=headers
                )
            except httpx.TimeoutException:
                raise Transient(
                    Unavailable(self._redact(f"GitHub timed out on {method} {path}"))
                ) from None
            except httpx.TransportError as exc:
                raise Transient(
                    Unavailable(
                        self._redact(
                            f"cannot reach GitHub for {method} {path}: {type(exc).__name__}"
                        )
                    )
                ) from None
            log.debug(self._redact(f"{method} {path} -> {resp.status_code}"))
            self._note_rate(resp)
            wait = self._rate_wait(resp, secondary)
            if wait is None:
                break
            primary, seconds = wait
            if waited + seconds > self._max_rate_wait:
                raise self._rate_error(resp, primary, seconds)
            log.warning(
                self._redact(f"GitHub rate limit on {method} {path}: waiting {seconds:.0f} s")
            )
            await self._sleep(seconds)
            waited += seconds
            secondary += 0 if primary else 1
        if resp.status_code == 304 or resp.is_success:
            return resp
        raise self._error(resp, method, path)

    def _note_rate(self, resp: httpx.Response) -> None:
        remaining = resp.headers.get("x-ratelimit-remaining")
        reset = resp.headers.get("x-ratelimit-reset")
        if remaining is not None and remaining.isdigit():
            self.rate_remaining = int(remaining)
        if reset is not None and reset.isdigit():
            self.rate_reset = int(reset)

    def _rate_wait(self, resp: httpx.Response, secondary: int) -> tuple[bool, float] | None:
        """(primary?, seconds to wait) when ``resp`` is a rate-limit refusal, else None."""
        if resp.status_code not in (403, 429):
            return None
        retry_after = self._retry_after(resp)
        if retry_after is not None:
            return False, retry_after
        if resp.headers.get("x-ratelimit-remaining") == "0":
            reset = resp.headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return True, max(int(reset) - self._server_now(resp), 0.0) + 1.0
        message = self._message(resp).lower()
        if resp.status_code == 429 or "secondary rate limit" in message:
            return False, SECONDARY_MIN_WAIT * 2**secondary
        return None

    @staticmethod
    def _retry_after(resp: httpx.Response) -> float | None:
        value = resp.headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return max((when - datetime.now(UTC)).total_seconds(), 0.0)

    @staticmethod
    def _server_now(resp: httpx.Response) -> float:
        # the server's Date keeps the reset computation immune to our clock skew
        date = resp.headers.get("date")
        if date:
            try:
                return parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError):
                pass
        return time.time()

    def _rate_error(self, resp: httpx.Response, primary: bool, seconds: float) -> RateLimited:
        if primary:
            reset = datetime.fromtimestamp(self._server_now(resp) + seconds, UTC)
            message = (
                f"GitHub's API rate limit for this token is used up; it resets at "
                f"{reset:%H:%M:%S} UTC (in {seconds / 60:.0f} min)"
            )
        else:
            message = f"GitHub's secondary rate limit asks us to wait {seconds:.0f} s"
        return RateLimited(
            self._redact(message),
            retry_after=seconds,
            hint="wait and try again; a workflow's GITHUB_TOKEN has 1,000 requests per hour",
        )

    @staticmethod
    def _message(resp: httpx.Response) -> str:
        try:
            data = resp.json()
        except ValueError:
            return ""
        return str(data.get("message", "")) if isinstance(data, dict) else ""

    def _error(self, resp: httpx.Response, method: str, path: str) -> Exception:
        status = resp.status_code
        message = self._message(resp)
        where = f"{method} {path}"
        if status >= 500:
            return Transient(Unavailable(self._redact(f"GitHub answered {status} to {where}")))
        if status == 401:
            return AuthError(
                self._redact(f"GitHub rejected the token ({status} {message or 'unauthorized'})"),
                hint="check SYNC_INCIDENT_GITHUB_TOKEN / GITHUB_TOKEN / GH_TOKEN",
            )
        if status == 403:
            return AccessDenied(self._redact(f"GitHub refused {where}: {message or 'forbidden'}"))
        if status in (404, 410):
            return NotFound(self._redact(f"GitHub has no {path} ({status} {message})".rstrip()))
        detail = message or resp.reason_phrase
        try:
            data = resp.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("errors"), list):
            parts = []
            for err in data["errors"]:
                if isinstance(err, dict):
                    bits = [
                        str(err.get(k))
                        for k in ("resource", "field", "code", "message")
                        if err.get(k)
                    ]
                    parts.append("/".join(bits))
                else:
                    parts.append(str(err))
            detail = f"{detail}: {'; '.join(parts)}"
        error: TrackerError = Rejected(
            self._redact(f"GitHub rejected {where} ({status}): {detail}")
        )
        return error


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
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    client = make_client(api_url or DEFAULT_API_URL, headers=headers, transport=transport)
    return GitHubTracker(client, token=token, cache=cache, sleep=sleep, clock=clock, repos=repos)
