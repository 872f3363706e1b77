"""What a tracker mirrors from the incident: whiteboard tags, labels, assignee, a status block.

Pure: computed from the :class:`~sync_incident.application.overview.Overview` after an event
(so each release reads as the gate judges it). Trackers write it; nothing reads it back as a
source of truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_incident.core.refs import TrackerKind
from sync_incident.core.times import utc
from sync_incident.trackers.base import Mirror

if TYPE_CHECKING:
    from sync_incident.application.overview import Overview


def mirror_for(seen: Overview, kind: TrackerKind) -> Mirror:
    """The fields a tracker mirrors, from the incident after the event."""
    state, policy = seen.state, seen.policy
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
        status_block=status_block(seen),
        needinfo=needinfo,
    )


def status_block(seen: Overview) -> str:
    """A short Markdown summary for trackers that keep one in the issue body.

    Each release is one line with the gate's verdict and every reason. Text people wrote
    (hold reasons) cannot close the block early or hide in it: HTML comment markers in it are
    escaped.
    """
    state = seen.state
    lines = [
        f"**Incident status:** {'resolved' if state.status == 'resolved' else 'active'}"
        f" · **IC:** {_safe(state.ic or 'none')}",
    ]
    for verdict in seen.verdicts:
        label, _, words = verdict.said.partition(" — ")
        said = f" — {_safe(words)}" if words else ""
        lines.append(f"- **{label}** {_safe(verdict.release)}{said}")
    for offer in state.pending_handoffs:
        lines.append(
            f"- Handoff from {_safe(offer.by)} to {_safe(offer.to)} pending since {utc(offer.at)}"
        )
    lines.append("_Kept by sync-incident from the comments below; edits here are overwritten._")
    return "\n".join(lines)


def _safe(text: str) -> str:
    """One line, with no HTML comment markers: they would end or forge our block."""
    flat = " ".join(text.split())
    return flat.replace("<!--", "&lt;!--").replace("-->", "--&gt;")
