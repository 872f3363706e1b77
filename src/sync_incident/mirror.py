"""What a tracker mirrors from the incident state: whiteboard tags, labels, assignee, a block.

Pure: computed from the folded state and the policy. Trackers write it; nothing reads it back
as a source of truth.
"""

from __future__ import annotations

from sync_incident.core.policy import Policy
from sync_incident.core.refs import TrackerKind
from sync_incident.core.state import IncidentState
from sync_incident.core.times import utc
from sync_incident.trackers.base import Mirror
from sync_incident.views import verdicts


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
        status_block=status_block(state, policy),
        needinfo=needinfo,
    )


def status_block(state: IncidentState, policy: Policy | None = None) -> str:
    """A short Markdown summary for trackers that keep one in the issue body.

    Each release is shown as the gate sees it. Text people wrote (hold reasons) cannot close
    the block early or hide in it: HTML comment markers in it are escaped.
    """
    policy = policy or Policy()
    lines = [
        f"**Incident status:** {'resolved' if state.status == 'resolved' else 'active'}"
        f" · **IC:** {_safe(state.ic or 'none')}",
    ]
    for verdict in verdicts(state, policy):
        reason = f" — {_safe(verdict.reasons[0])}" if verdict.reasons else ""
        lines.append(f"- **{verdict.label}** {_safe(verdict.release)}{reason}")
    for hold in state.holds:
        lines.append(
            f"- **Hold** on {_safe(hold.release)} by {_safe(hold.by)}: {_safe(hold.reason)}"
        )
    for offer in state.pending_handoffs:
        lines.append(
            f"- Handoff from {_safe(offer.by)} to {_safe(offer.to)} pending since {utc(offer.at)}"
        )
    if state.doubts:
        lines.append(
            f"- **In doubt:** {len(state.doubts)} item(s); `sync-incident show` lists them"
        )
    lines.append("_Kept by sync-incident from the comments below; edits here are overwritten._")
    return "\n".join(lines)


def _safe(text: str) -> str:
    """One line, with no HTML comment markers: they would end or forge our block."""
    flat = " ".join(text.split())
    return flat.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
