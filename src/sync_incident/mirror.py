"""What a tracker mirrors from the incident state: whiteboard tags, labels, assignee, a block.

Pure: computed from the folded state and the policy. Trackers write it; nothing reads it back
as a source of truth.
"""

from __future__ import annotations

from sync_incident.core.policy import Policy
from sync_incident.core.refs import TrackerKind
from sync_incident.core.state import IncidentState
from sync_incident.trackers.base import Mirror


def mirror_for(state: IncidentState, kind: TrackerKind, policy: Policy) -> Mirror:
    """The fields a tracker mirrors, from the state after the event."""
    holds = ", ".join(sorted({h.release for h in state.holds}))
    parts = [
        "Resolved" if state.status == "resolved" else "Active",
        f"IC {state.ic}" if state.ic else "no IC",
    ]
    if holds:
        parts.append(f"hold on {holds}")
    pending = state.pending_handoffs
    needinfo = policy.account_for(kind, pending[-1].to) if pending else None
    return Mirror(
        active=state.status != "resolved",
        ic_name=state.ic,
        ic_account=policy.account_for(kind, state.ic) if state.ic else None,
        hold=bool(state.holds),
        status_line=" · ".join(parts),
        status_block=status_block(state),
        needinfo=needinfo,
    )


def status_block(state: IncidentState) -> str:
    """A short Markdown summary for trackers that keep one in the issue body."""
    lines = [
        f"**Incident status:** {'resolved' if state.status == 'resolved' else 'active'}"
        f" · **IC:** {state.ic or 'none'}",
    ]
    for hold in state.holds:
        lines.append(f"- **Hold** on {hold.release} by {hold.by}: {hold.reason}")
    for signoff in state.signoffs:
        lines.append(f"- {signoff.team} signed off on {signoff.release} ({signoff.by})")
    for offer in state.pending_handoffs:
        lines.append(f"- Handoff to {offer.to} pending since {offer.at:%Y-%m-%d %H:%M} UTC")
    lines.append("_Kept by sync-incident from the comments below; edits here are overwritten._")
    return "\n".join(lines)
