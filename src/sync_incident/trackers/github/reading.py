"""Reading a GitHub issue's comments, built around conditional requests (a 304 is free).

* the issue itself is the sentinel. Its ETag changes when the title, body, labels, assignees or
  state change, when a comment is added or deleted (``comments`` count and ``updated_at``) and,
  as observed on github.com, when a comment is edited (the issue's ``updated_at`` moves). So an
  unchanged incident costs ONE request answering 304;
* because the edit case is observed behaviour rather than documented, every
  ``verify_every``-th quiet poll also asks the comments list (itself conditional, so free);
* when the issue changed, comments are read with ``since`` (the newest ``updated_at`` seen, less
  one second of overlap) and ``per_page=100``, following ``Link: rel="next"`` exactly;
* a full read (no ``since``) happens when the cache is cold and whenever the number of comments
  we hold disagrees with the issue's ``comments`` count: the only way to notice a deletion;
* the issue body is never read as a comment: it only mirrors state.

Edits: ``updated_at`` later than ``created_at`` by more than a second is an edit. GitHub also
stamps some fresh comments a second late, so a gap of one second or less is *ambiguous*: the
GraphQL API is asked once per read for all of them (``lastEditedAt``), and a comment counts as
edited when it was edited or when the check fails (fail closed). Later edits are caught by the
body hash the cache keeps. The gate's fresh read also asks about every comment carrying events
whose ``updated_at`` equals its ``created_at``: a replacement within the second it was posted
shows no gap at all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sync_incident.core.codec import MAGIC
from sync_incident.core.comments import Account, Comment, Mark, normalise_body
from sync_incident.core.errors import ProtocolError, TrackerError
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.cache import CachedIncident
from sync_incident.trackers.github.client import GitHubClient, graphql_url, next_link

# GitHub sometimes stamps a fresh comment's updated_at one second after created_at
# (palantir/policy-bot#459): a gap up to this much is ambiguous, and asked about.
EDIT_TOLERANCE = timedelta(seconds=1)
# ``since`` overlap: a comment updated in the same second as our cursor must not be missed.
SINCE_OVERLAP = timedelta(seconds=1)
MAX_NODES = 100  # ids GraphQL's ``nodes`` field takes at once
EDITS_QUERY = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on IssueComment { id lastEditedAt } } }"

HOLD_LABEL = "hold"  # the label the mirror sets while a hold is open

# the event id we add, hidden, to a comment whose text does not carry it, so it can be found
MARKER_TAIL = re.compile(r"\n*<!-- sync-incident:marker ([A-Za-z0-9._:-]{1,100}) -->\Z")


def parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ProtocolError(f"GitHub sent a timestamp we cannot read: {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ProtocolError(f"GitHub sent a timestamp we cannot read: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account(user: object) -> Account:
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        raise ProtocolError("GitHub sent an item without a user login")
    uid = user.get("id")
    return Account(user["login"], str(uid) if uid is not None else None)


def issue_path(ref: IncidentRef) -> str:
    return f"/repos/{ref.repo}/issues/{ref.number}"


class IssueReader:
    """Brings a cached incident up to date with as few (and as free) requests as possible."""

    def __init__(self, client: GitHubClient, *, verify_every: int = 6) -> None:
        self._client = client
        self._verify_every = max(1, verify_every)

    async def sync(self, ref: IncidentRef, cached: CachedIncident, *, fresh: bool = False) -> bool:
        """Bring ``cached`` up to date; False when GitHub said nothing changed.

        ``fresh`` (the gate): a comment carrying events whose ``updated_at`` equals its
        ``created_at`` is asked about too, since GitHub's timestamps are cut to the second and
        a replacement within that second shows no gap; ordinary reads leave that race be (it
        would cost one more request on most reads).
        """
        if fresh:  # a fresh read's cache is thrown away: only it keeps what the check needs
            cached.fields["_fresh"] = True
        changed = await self._sync(ref, cached)
        if fresh and self._client.has_token:
            self._same_second_are_ambiguous(cached)
        elif fresh:
            self._cannot_ask_about_same_second(cached)
        await self._check_edits(cached)
        return changed

    def _cannot_ask_about_same_second(self, cached: CachedIncident) -> None:
        """Without a token GraphQL cannot be asked: say which comments went unchecked."""
        unchecked = [
            cid
            for cid in cached.fields.get("_same_second", {})
            if cid in cached.comments and MAGIC in cached.comments[cid].body
        ]
        if unchecked:
            cached.fields["_unchecked"] = {
                "github-edits": (
                    f"{len(unchecked)} comments carrying events could have been replaced within "
                    "the second they were posted, and only GitHub's GraphQL API can tell, which "
                    "needs a token (GITHUB_TOKEN)"
                )
            }

    def _same_second_are_ambiguous(self, cached: CachedIncident) -> None:
        ambiguous: dict[str, list[str]] = cached.fields.setdefault("_ambiguous", {})
        for cid, (node, stamp) in cached.fields.get("_same_second", {}).items():
            if cid in cached.comments and MAGIC in cached.comments[cid].body:
                ambiguous.setdefault(cid, [node, stamp])

    async def _sync(self, ref: IncidentRef, cached: CachedIncident) -> bool:
        cold = "issue" not in cached.etags or "_body" not in cached.fields
        etag = None if cold else cached.etags["issue"]
        response, issue = await self._client.get(issue_path(ref), etag=etag)
        if response.status_code == 304:
            quiet = int(cached.fields.get("_quiet_polls", 0)) + 1
            if quiet < self._verify_every:
                cached.fields["_quiet_polls"] = quiet
                return False
            cached.fields["_quiet_polls"] = 0
            return await self.read_comments(ref, cached, full=False)
        cached.fields["_quiet_polls"] = 0
        if not isinstance(issue, dict):
            raise ProtocolError(f"GitHub sent no issue object for {ref}")
        _store_issue(ref, cached, issue)
        if new_etag := response.headers.get("etag"):
            cached.etags["issue"] = new_etag
        await self.read_comments(ref, cached, full=cold)
        await self.read_history(ref, cached)
        expected = cached.fields.get("comments_count")
        if not cold and isinstance(expected, int) and len(cached.comments) != expected:
            # a comment was deleted (or the count raced a new one): only a full read tells
            await self.read_comments(ref, cached, full=True)
        return True

    async def read_comments(self, ref: IncidentRef, cached: CachedIncident, *, full: bool) -> bool:
        """Read comments (incrementally unless ``full``); False when GitHub answered 304."""
        params = {"per_page": "100"}
        if not full and cached.cursor:
            params["since"] = iso(parse_time(cached.cursor) - SINCE_OVERLAP)
        since = params.get("since", "")
        same = cached.fields.get("_comments_since") == since
        etag = cached.etags.get("comments") if same else None
        path = f"{issue_path(ref)}/comments"
        response, pages = await self._client.paginate(path, params=params, etag=etag)
        if response.status_code == 304:
            return False
        seen: set[str] = set()
        newest = parse_time(cached.cursor) if cached.cursor else None
        # only a one-page answer's ETag proves the whole list unchanged
        one_page = next_link(response) is None
        if one_page and (new_etag := response.headers.get("etag")):
            cached.etags["comments"] = new_etag
            cached.fields["_comments_since"] = since
        else:
            cached.etags.pop("comments", None)
        async for page in pages:
            if not isinstance(page, list):
                raise ProtocolError(f"GitHub sent no comment list for {ref}")
            for item in page:
                comment, updated = self.merge(item, cached)
                seen.add(comment.id)
                newest = updated if newest is None or updated > newest else newest
        if full:
            for cid in list(cached.comments):
                if cid not in seen:
                    cached.mark_vanished(cid)
        if newest is not None:
            cached.cursor = iso(newest)
        return True

    async def read_history(self, ref: IncidentRef, cached: CachedIncident) -> None:
        """The issue's own history of the hold label: no writer can rewrite it.

        Asked only when the issue changed (a label change moves the issue's ETag), and then
        conditionally: unchanged history is a 304.
        """
        path = f"{issue_path(ref)}/events"
        response, pages = await self._client.paginate(
            path, params={"per_page": "100"}, etag=cached.etags.get("events")
        )
        if response.status_code == 304:
            return
        marks: list[list[Any]] = []
        one_page = next_link(response) is None
        if one_page and (new_etag := response.headers.get("etag")):
            cached.etags["events"] = new_etag
        else:
            cached.etags.pop("events", None)
        async for page in pages:
            marks += [
                mark for item in (page if isinstance(page, list) else []) if (mark := _mark(item))
            ]
        cached.fields["_marks"] = marks

    def merge(self, item: object, cached: CachedIncident) -> tuple[Comment, datetime]:
        """Merge one API comment into ``cached`` (hidden marker tag removed and remembered)."""
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            raise ProtocolError("GitHub sent a comment without an id")
        created = parse_time(item.get("created_at"))
        updated = parse_time(item.get("updated_at") or item.get("created_at"))
        body = normalise_body(str(item.get("body") or ""))
        author = account(item.get("user"))
        cid = str(item["id"])
        if tag := MARKER_TAIL.search(body):
            body = body[: tag.start()]
            markers = cached.fields.setdefault("_markers", {})
            markers[tag.group(1)] = [cid, author.uid, author.login]
        gap = updated - created
        ambiguous: dict[str, list[str]] = cached.fields.setdefault("_ambiguous", {})
        if timedelta(0) < gap <= EDIT_TOLERANCE and isinstance(item.get("node_id"), str):
            stamp = iso(updated)
            if ambiguous.get(cid, ["", ""])[1] != stamp:
                ambiguous[cid] = [str(item["node_id"]), stamp]
        else:
            ambiguous.pop(cid, None)
        if (
            cached.fields.get("_fresh")
            and gap == timedelta(0)
            and isinstance(item.get("node_id"), str)
        ):
            same = cached.fields.setdefault("_same_second", {})
            same[cid] = [str(item["node_id"]), iso(updated)]  # asked about by the gate
        comment = Comment(
            id=cid,
            author=author,
            created_at=created,
            body=body,
            edited=gap > EDIT_TOLERANCE,
            order=int(item["id"]),
        )
        cached.merge(comment)
        return comment, updated

    async def _check_edits(self, cached: CachedIncident) -> None:
        """One GraphQL question for every ambiguous comment not checked yet; fail closed."""
        ambiguous: dict[str, list[str]] = cached.fields.get("_ambiguous", {})
        asks = {cid: node for cid, (node, stamp) in ambiguous.items() if cid in cached.comments}
        checked: dict[str, str] = cached.fields.setdefault("_checked", {})
        asks = {cid: node for cid, node in asks.items() if checked.get(cid) != ambiguous[cid][1]}
        unverified: list[str] = []
        if asks:
            try:
                edited = await self._edited(list(asks.values()))
            except TrackerError:
                unverified = list(asks)  # cannot tell: treat as edited, ask again next read
            else:
                for cid, node in asks.items():
                    checked[cid] = ambiguous[cid][1]
                    if node in edited and cid in cached.comments:
                        cached.comments[cid].edited = True
        cached.fields["_unverified"] = unverified

    async def _edited(self, nodes: list[str]) -> set[str]:
        """The node ids among ``nodes`` whose comment GitHub says was edited."""
        if not self._client.has_token:
            raise ProtocolError("GitHub's GraphQL API needs a token")
        edited: set[str] = set()
        for start in range(0, len(nodes), MAX_NODES):
            edited |= await self._edited_batch(nodes[start : start + MAX_NODES])
        return edited

    async def _edited_batch(self, nodes: list[str]) -> set[str]:
        url = graphql_url(self._client.base)
        body = {"query": EDITS_QUERY, "variables": {"ids": nodes}}
        _, data = await self._client.retrying(lambda: self._client.attempt("POST", url, body=body))
        if (
            not isinstance(data, dict)
            or data.get("errors")
            or not isinstance(data.get("data"), dict)
        ):
            raise ProtocolError("GitHub's GraphQL API did not answer the edit question")
        found = data["data"].get("nodes")
        if not isinstance(found, list):
            raise ProtocolError("GitHub's GraphQL API sent no nodes")
        answered = {str(n.get("id")): n for n in found if isinstance(n, dict)}
        if set(nodes) - set(answered):
            raise ProtocolError("GitHub's GraphQL API left comments unanswered")
        return {node for node, info in answered.items() if info.get("lastEditedAt")}


def _mark(item: object) -> list[Any] | None:
    """``[on, login, iso time, account id]`` for a labeled / unlabeled event of the hold
    label (the id: who set the flag is a person of the policy by id, never by login)."""
    if not isinstance(item, dict) or item.get("event") not in ("labeled", "unlabeled"):
        return None
    label = item.get("label")
    if not isinstance(label, dict) or label.get("name") != HOLD_LABEL:
        return None
    actor = item.get("actor")
    login = str(actor.get("login")) if isinstance(actor, dict) else ""
    uid = actor.get("id") if isinstance(actor, dict) else None
    return [
        item["event"] == "labeled",
        login,
        str(item.get("created_at")),
        str(uid) if uid is not None else None,
    ]


def marks_of(cached: CachedIncident) -> list[Mark]:
    """The hold label's history as the fold reads it."""
    out = []
    for on, login, at, *uid in cached.fields.get("_marks", []):
        try:
            moment = parse_time(at)
        except ProtocolError:
            continue
        by = uid[0] if uid and uid[0] is not None else None
        out.append(Mark(flag="hold", on=bool(on), by=str(login), at=moment, uid=by))
    return out


def _store_issue(ref: IncidentRef, cached: CachedIncident, issue: dict[str, Any]) -> None:
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
