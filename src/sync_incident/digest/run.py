"""What the ``digest`` command runs: find the incidents, read them, build, post, send."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sync_incident.core.errors import SyncIncidentError, UsageError
from sync_incident.core.events import DigestPosted, Event, event_id_for, own_id
from sync_incident.core.refs import IncidentRef, ReferenceError, parse_ref
from sync_incident.core.state import IncidentState
from sync_incident.digest.model import Digest, Unreadable, build_digest, render_markdown
from sync_incident.digest.schedule import digest_key, has_key, ours, period_for
from sync_incident.digest.webhooks import send_webhooks

if TYPE_CHECKING:
    from sync_incident.service import Reading, Session

log = logging.getLogger("sync_incident.digest")


async def post_once(
    session: Session, ref: IncidentRef, event: Event, key: str, reading: Reading | None = None
) -> bool:
    """Post ``event`` on ``ref`` unless we already posted an event with ``key``; True if posted.

    The event's id (derived from ``key`` and its period by
    :func:`~sync_incident.core.events.event_id_for`) is bound to our own account
    (:func:`~sync_incident.core.events.own_id`), and "already posted?" looks only at our own
    events: an event with the same key or id posted first by anyone else never makes us
    skip. We post anyway, and two different events claiming one id are doubt for every
    reader. The check reads the tracker right before posting. Two replicas may both pass it;
    they post the same event id, so the tracker's marker check stores it once or the fold
    counts it once. Digests and reminders are informational, so nothing is mirrored: a
    designated digest bug must not be tagged as an active incident.
    """
    reading = reading or await session.read(ref)
    me = await session.whoami(ref.kind)
    actor = session.policy.actor_for(ref.kind, me, session.clock())
    # the policy's witnesses are the tool's accounts: they share the work and the ids
    us = set(session.policy.witnesses) if actor in session.policy.witnesses else {actor}
    binding = "witnesses" if len(us) > 1 or actor not in us else f"{ref.kind}:{me.key}"
    event = event.model_copy(update={"id": own_id(event.id, binding)})
    mine = [e for e in reading.state.timeline if e.actor in us]
    if has_key(reading.state, key, account=ours(session.policy, actor)) or any(
        e.event_id == event.id for e in mine
    ):
        log.info("already posted", extra={"event": "skip", "key": key, "incident": str(ref)})
        return False
    outcome = await session.post(
        ref, [event], reading=reading, lint=False, mirror=False, collide=True
    )
    if outcome.duplicate:
        log.info(
            "found, not posted again", extra={"event": "dup", "key": key, "incident": str(ref)}
        )
        return False
    log.info(
        "posted",
        extra={"event": "posted", "key": key, "incident": str(ref), "comment": outcome.comment_id},
    )
    return True


async def read_states(
    session: Session, refs: Sequence[IncidentRef], *, concurrency: int = 8
) -> tuple[list[IncidentState], list[Unreadable]]:
    """Read and fold every incident (bounded concurrency); failures become ``Unreadable``."""
    states: list[IncidentState] = []
    bad: list[Unreadable] = []
    for ref, result in (await session.read_many(refs, concurrency=concurrency)).items():
        if isinstance(result, SyncIncidentError):
            bad.append(Unreadable(ref=str(ref), error=f"{result.label}: {result.message}"))
        else:
            states.append(result.state)
    return states, bad


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
    states, bad = await read_states(session, targets)
    if not explicit:  # a digest of *active* incidents
        states = [s for s in states if s.status != "resolved"]
    digest = build_digest(states, session.policy, now, unreadable=bad)
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
