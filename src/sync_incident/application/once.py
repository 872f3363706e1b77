"""Exactly-once posting for what the tool derives: digests, reminders, checkpoints, witnesses.

Each such event has a key (``"{kind}:{incident}:{period}"``) and an id derived from it
(:func:`~sync_incident.core.events.event_id_for`), so every replica derives the same.
:func:`post_once` reads the target right before posting and posts unless an event with that
key, posted by this tool's own account, is already there. Two replicas that both pass the
check post the same event id: the tracker's marker check finds it, and failing that the fold
counts an event id seen twice once. Nothing here depends on the local cache.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sync_incident.application.act import post_events
from sync_incident.core.events import Event
from sync_incident.core.refs import IncidentRef
from sync_incident.digest.schedule import has_key, ours

if TYPE_CHECKING:
    from sync_incident.service import Session

log = logging.getLogger("sync_incident.once")


async def post_once(session: Session, ref: IncidentRef, event: Event, key: str) -> bool:
    """Post ``event`` on ``ref`` unless this tool already posted an event with ``key``.

    True when posted. Digests and reminders are informational, so nothing is mirrored: a
    designated digest bug must not be tagged as an active incident.
    """
    reading = await session.read(ref)
    me = await session.whoami(ref.kind)
    account = ours(session.policy, me.login)
    posted = {e.event_id for e in reading.state.timeline if e.accepted}
    if has_key(reading.state, key, account=account) or event.id in posted:
        log.info("already posted", extra={"event": "skip", "key": key, "incident": str(ref)})
        return False
    outcome = await post_events(session, ref, [event], reading=reading, lint=False, mirror=False)
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
