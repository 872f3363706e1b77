"""Exactly-once posting for what the tool derives: digests, reminders, checkpoints, witnesses.

Each such event has a key (``"{kind}:{incident}:{period}"``) and an id derived from it
(:func:`~sync_incident.core.events.event_id_for`), bound to the tool's own account
(:func:`~sync_incident.core.events.own_id`; the policy's ``witnesses`` share one binding), so
every replica of the tool derives the same and nobody else's event was made for it.
:func:`post_once` reads the target right before posting and posts unless an event with that
key or id, posted by the tool's own account(s), is already there: anyone else's event with
the same key or id never makes it skip. It posts anyway, and two different events claiming one
id are doubt for every reader. Two replicas that both pass the check post the same event id:
the tracker's marker check finds it, and failing that the fold counts it once. Nothing here
depends on the local cache.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sync_incident.application.act import post_events
from sync_incident.core.events import Event, own_id
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
    policy = session.policy
    actor = policy.actor_for(ref.kind, me, session.clock())
    # the policy's witnesses are the tool's accounts: they share the work and the ids
    us = set(policy.witnesses) if actor in policy.witnesses else {actor}
    binding = "witnesses" if len(us) > 1 or actor not in us else f"{ref.kind}:{me.key}"
    event = event.model_copy(update={"id": own_id(event.id, binding)})
    mine = [e for e in reading.state.timeline if e.actor in us]
    if has_key(reading.state, key, account=ours(policy, actor)) or any(
        e.event_id == event.id for e in mine
    ):
        log.info("already posted", extra={"event": "skip", "key": key, "incident": str(ref)})
        return False
    outcome = await post_events(
        session, ref, [event], reading=reading, lint=False, mirror=False, collide=True
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
