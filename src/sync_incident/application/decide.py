"""The gate's decision: may this exact release ship? Written once, called by every adapter.

``sync-incident gate``, ``serve``'s ``GET /api/gate`` and the GitHub Action each parse their
input into a :class:`GateRequest` and call :func:`decide`; they only render what it returns
(text, JSON, a job summary, an HTTP status). Everything that changes the answer is resolved
here, in one place:

- the read is fresh (no cache can change it) and bounded by ``[gate] deadline_seconds``;
- the required teams are the policy's for the product plus the request's (a request adds,
  never drops); the ship decision is required when the policy, the product or the request
  asks for it (a request cannot waive it);
- membership facts come from the same read;
- the gate reads and never writes: no mirror catch-up, no cache file.

Any failure raises (``SyncIncidentError`` subclasses): adapters turn it into "could not
decide" (exit 2, HTTP 503), never into READY.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sync_incident.core.readiness import Verdict, readiness
from sync_incident.core.refs import IncidentRef

if TYPE_CHECKING:
    from sync_incident.service import Session


@dataclass(frozen=True)
class GateRequest:
    """What the gate is asked: which release of which incident, and any extra requirement."""

    ref: IncidentRef
    release: str
    require: tuple[str, ...] = ()  # teams to require besides the policy's
    require_ship: bool = False  # also require the ship decision (the policy may already)

    @classmethod
    def of(
        cls,
        ref: IncidentRef,
        release: str,
        require: Sequence[str] = (),
        *,
        require_ship: bool = False,
    ) -> GateRequest:
        """A request from what a person typed: the release normalised, teams comma-split."""
        from sync_incident.core.errors import UsageError
        from sync_incident.core.releases import normalise_release

        try:
            named = normalise_release(release)
        except ValueError as exc:
            raise UsageError(str(exc), hint="name the product and the exact version") from None
        teams = tuple(t.strip() for item in require for t in item.split(",") if t.strip())
        return cls(ref, named, teams, require_ship)


async def decide(session: Session, request: GateRequest) -> Verdict:
    """The verdict on ``request``, from a fresh read; raises when it cannot decide."""
    reading = await session.read_within(request.ref, session.settings.gate.deadline_seconds)
    return readiness(
        reading.state,
        request.release,
        required=list(request.require),
        policy=session.policy,
        facts=reading.facts,
        require_ship=request.require_ship,
    )
