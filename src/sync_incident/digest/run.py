"""What the ``digest`` command runs: find the incidents, read them, build, post, send."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sync_incident.application.once import post_once
from sync_incident.application.overview import survey
from sync_incident.core.errors import UsageError
from sync_incident.core.events import DigestPosted, event_id_for
from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref
from sync_incident.digest.model import Digest, Unreadable, build_digest, render_markdown
from sync_incident.digest.schedule import digest_key, period_for
from sync_incident.digest.webhooks import send_webhooks

if TYPE_CHECKING:
    from sync_incident.service import Session

log = logging.getLogger("sync_incident.digest")


def split_refs(words: Sequence[str]) -> list[list[str]]:
    """``["bug", "1", "local:2", "issue", "o/r#3"]`` → one word list per reference."""
    out: list[list[str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.lower() in ("bug", "issue") and i + 1 < len(words):
            out.append([word, words[i + 1]])
            i += 2
        else:
            out.append([word])
            i += 1
    return out


# --- the command --------------------------------------------------------------------------------


async def run_digest(
    session: Session,
    explicit: list[IncidentRef],
    *,
    all_active: bool = False,
    post_to: str | None = None,
    webhooks: bool = True,
    note: Callable[[str], None] = lambda _: None,
) -> tuple[Digest, list[str]]:
    """Build the digest; post it once to the target and send webhooks. ``note`` gets progress."""
    now = session.clock()
    targets = await _targets(session, explicit, all_active)
    if not targets:
        if all_active:  # a quiet night: nothing is active, and that is no failure
            note("No active incidents: nothing to digest.")
            return build_digest([], session.policy, now), []
        raise UsageError(
            "no incidents to digest",
            hint="name them, list them in config `incidents`, or pass --all-active",
        )
    seen, unread = await survey(session, targets)
    bad = [Unreadable(ref=ref, error=error) for ref, error in unread.items()]
    if not explicit:  # a digest of the incidents still open (a late hold keeps one open)
        seen = [o for o in seen if o.open]
    digest = build_digest(seen, session.policy, now, unreadable=bad)
    if not digest.incidents:
        return digest, []
    text = render_markdown(digest)
    target = post_to or session.settings.digest.post_to
    posted = False
    if target:
        key = digest_key(
            targets, all_active and not explicit, period_for(session.settings.digest, now)
        )
        posted = await _post(session, _ref(target), key, text, note)
    if not webhooks or not session.settings.digest.webhook_env:
        return digest, []
    if target and not posted:
        note("Webhooks skipped: this digest was already posted.")
        return digest, []
    return digest, await send_webhooks(text, session.settings.webhook_urls())


async def _targets(
    session: Session, explicit: list[IncidentRef], all_active: bool
) -> list[IncidentRef]:
    targets = list(explicit) or [_ref(text) for text in session.settings.incidents]
    if all_active:
        targets += [r for r in await session.active_incidents() if r not in targets]
    return targets


def _ref(text: str) -> IncidentRef:
    try:
        return parse_ref(text)
    except ReferenceError as exc:
        message, _, forms = str(exc).partition("; use ")
        raise UsageError(message, hint=f"use {forms}" if forms else "") from None


async def _post(
    session: Session, target: IncidentRef, key: str, text: str, note: Callable[[str], None]
) -> bool:
    period = period_for(session.settings.digest, session.clock())
    event = DigestPosted(id=event_id_for(key, period), key=key, text=text)
    posted = await post_once(session, target, event, key)
    note(f"Digest {key} {'posted' if posted else 'already on'} {target}.")
    return posted
