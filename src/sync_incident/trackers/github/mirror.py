"""What a GitHub issue mirrors from the incident state: labels, the assignee, a body block.

The issue body only mirrors state (it is never a source of events): our block sits between two
markers and is replaced in place, the rest of the body byte for byte as it was. The block is
built from text people typed (hold reasons, team names), so anything in it that could pass for
a marker is escaped: no text can end our block early or open a second one.

Labels are added with ``POST`` and removed one by one with ``DELETE``, never replaced with
``PUT``: labels other people set stay. Every write here is idempotent, so it is retried.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from sync_incident.core.errors import NotFound, Rejected
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.base import Mirror
from sync_incident.trackers.cache import Cache, CachedIncident
from sync_incident.trackers.github.client import GitHubClient
from sync_incident.trackers.github.reading import HOLD_LABEL

log = logging.getLogger(__name__)

BODY_LIMIT = 65_536  # GitHub's limit for issue bodies and comments, in characters
STATUS_START = "<!-- sync-incident:status:start -->"
STATUS_END = "<!-- sync-incident:status:end -->"

LABEL_INCIDENT = "incident"
LABEL_ACTIVE = "incident:active"
LABEL_RESOLVED = "incident:resolved"
LABEL_HOLD = HOLD_LABEL  # its history is evidence (reading.marks_of)
# colour and description used when we create a label on first use
LABEL_STYLE: dict[str, tuple[str, str]] = {
    LABEL_INCIDENT: ("b60205", "A release incident run by sync-incident"),
    LABEL_ACTIVE: ("d93f0b", "The incident is active"),
    LABEL_RESOLVED: ("0e8a16", "The incident is resolved"),
    LABEL_HOLD: ("fbca04", "A release is on hold"),
}
OUR_LABELS = frozenset(LABEL_STYLE)


def escape_block(text: str) -> str:
    """Block content that cannot contain an HTML comment, so no marker can hide in it.

    ``&lt;!--`` renders exactly like ``<!--`` on GitHub, but opens no comment and matches no
    marker: a hold reason saying ``<!-- sync-incident:status:end -->`` shows as typed.
    """
    return text.replace("<!--", "&lt;!--")


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
    full = f"{STATUS_START}\n\n{escape_block(block.strip())}\n\n{STATUS_END}"
    start = body.find(STATUS_START)
    end = body.find(STATUS_END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        return body[:start] + full + body[end + len(STATUS_END) :]
    if not body:
        return full
    return body + "\n\n" + full


def wanted_labels(mirror: Mirror) -> set[str]:
    wanted = {LABEL_INCIDENT, LABEL_ACTIVE if mirror.active else LABEL_RESOLVED}
    if mirror.hold:
        wanted.add(LABEL_HOLD)
    return wanted


def differs(fields: dict[str, Any], mirror: Mirror, tried: str | None = None) -> bool:
    """Whether the issue as last read says something else than ``mirror`` (no request).

    ``tried``: the account we already tried to assign (GitHub silently drops assignees
    without access, so trying again would only loop).
    """
    current = set(fields.get("labels") or [])
    wanted = wanted_labels(mirror)
    if wanted - current or (current & OUR_LABELS) - wanted:
        return True
    ic = mirror.ic_account
    assignees = {a.lower() for a in fields.get("assignees") or []}
    if ic and ic.lower() not in assignees and tried != ic:
        return True
    if mirror.status_block:
        raw = str(fields.get("_body") or "")
        return replace_status_block(raw, mirror.status_block) != raw
    return False


class MirrorWriter:
    """Brings one issue's labels, assignee and body block in line, writing only differences."""

    def __init__(self, client: GitHubClient, cache: Cache) -> None:
        self._client = client
        self._cache = cache

    def tried(self, ref: IncidentRef) -> str | None:
        """The account we last tried to assign on this issue (kept in the cache)."""
        return self._cache.get("github-assign", self._key(ref))

    def _key(self, ref: IncidentRef) -> str:
        return f"{self._client.base}#{ref.repo.lower()}#{ref.number}"

    async def apply(self, ref: IncidentRef, cached: CachedIncident, mirror: Mirror) -> None:
        issue = f"/repos/{ref.repo}/issues/{ref.number}"
        await self._labels(ref, issue, cached.fields, mirror)
        await self._assignee(ref, issue, cached.fields, mirror)
        await self._body(ref, issue, cached.fields, mirror)

    async def _labels(
        self, ref: IncidentRef, issue: str, fields: dict[str, Any], mirror: Mirror
    ) -> None:
        current = list(fields.get("labels") or [])
        wanted = wanted_labels(mirror)
        to_add = [name for name in sorted(wanted) if name not in current]
        to_remove = [name for name in current if name in OUR_LABELS and name not in wanted]
        if to_add:
            await self.ensure_labels(ref.repo, to_add, present=current)
            # additive POST: labels other people set stay (PUT would replace them)
            data = await self._client.write_idempotent(
                "POST", f"{issue}/labels", {"labels": to_add}
            )
            current = _label_names(data, current + to_add)
        for name in to_remove:
            path = f"{issue}/labels/{quote(name, safe='')}"
            try:
                data = await self._client.write_idempotent("DELETE", path, None)
            except NotFound:  # someone removed it already: that is what we wanted
                data = None
            current = _label_names(data, [n for n in current if n != name])
        fields["labels"] = current

    async def _assignee(
        self, ref: IncidentRef, issue: str, fields: dict[str, Any], mirror: Mirror
    ) -> None:
        ic = mirror.ic_account
        assignees = list(fields.get("assignees") or [])
        if ic and ic.lower() not in {a.lower() for a in assignees} and self.tried(ref) != ic:
            data = await self._client.write_idempotent(
                "POST", f"{issue}/assignees", {"assignees": [ic]}
            )
            # GitHub silently drops assignees without access: remember we tried, do not loop
            self._cache.put("github-assign", self._key(ref), ic)
            assignees = _assignee_names(data, [*assignees, ic])
        previous = fields.get("_our_assignee")
        if ic and previous and previous.lower() != ic.lower() and previous in assignees:
            data = await self._client.write_idempotent(
                "DELETE", f"{issue}/assignees", {"assignees": [previous]}
            )
            assignees = _assignee_names(data, [a for a in assignees if a != previous])
        if ic:
            fields["_our_assignee"] = ic
        fields["assignees"] = assignees

    async def _body(
        self, ref: IncidentRef, issue: str, fields: dict[str, Any], mirror: Mirror
    ) -> None:
        if not mirror.status_block:
            return
        raw = str(fields.get("_body") or "")
        new_body = replace_status_block(raw, mirror.status_block)
        if new_body == raw:
            return
        if len(new_body) > BODY_LIMIT:
            log.warning("status block for %s not written: body would exceed the limit", ref)
            return
        data = await self._client.write_idempotent("PATCH", issue, {"body": new_body})
        fields["_body"] = new_body
        if isinstance(data, dict) and isinstance(data.get("body"), str):
            fields["_body"] = data["body"]

    async def ensure_labels(self, repo: str, names: list[str], *, present: list[str]) -> None:
        """Create our labels on first use; remembered per repository in the cache."""
        key = f"{self._client.base}#{repo.lower()}"
        raw = self._cache.get("github-labels", key)
        known = set(raw.split("\n")) if raw else set()
        known.update(present)
        for name in names:
            if name in known:
                continue
            color, description = LABEL_STYLE.get(name, ("ededed", ""))
            body = {"name": name, "color": color, "description": description}
            try:
                await self._client.write_idempotent("POST", f"/repos/{repo}/labels", body)
            except Rejected as exc:
                if "already_exists" not in str(exc):
                    raise
            known.add(name)
        self._cache.put("github-labels", key, "\n".join(sorted(known)))


def _label_names(data: object, fallback: list[str]) -> list[str]:
    if isinstance(data, list):
        return [str(lab.get("name")) for lab in data if isinstance(lab, dict)]
    return fallback


def _assignee_names(data: object, fallback: list[str]) -> list[str]:
    if isinstance(data, dict) and isinstance(data.get("assignees"), list):
        return [str(a.get("login")) for a in data["assignees"] if isinstance(a, dict)]
    return fallback
