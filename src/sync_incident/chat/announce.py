"""What the bot says in a room: announcements of the incident's events, and its replies (pure).

An announcement is one message per event, in the record's order: the explicit sentence the
tool writes for that event (rendered from the event's own fields, so words typed around a
trailer by hand can never make it say something else), who made it ("alice (via Matrix)"),
and the link to the comment. An event the rules rejected is announced as not counted, with the
reason. A handoff offer mentions its recipient, a reminder the person it is for (a mention
notifies them). Checkpoints and digests are the tool's own bookkeeping: not announced.

:class:`Said` is one message to a room, whatever the chat: its text, who it mentions, and a
stable ``key`` so a message derived twice (a restart, a replica) is sent once where the chat
allows (Matrix transaction ids).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sync_incident.core import codec
from sync_incident.core.comments import Comment
from sync_incident.core.events import Event
from sync_incident.core.policy import Policy
from sync_incident.core.refs import IncidentRef
from sync_incident.core.sentences import Context, zones_of
from sync_incident.core.state import Entry, IncidentState
from sync_incident.core.summaries import CHATS

ChatKind = str  # "matrix" | "slack"
UNANNOUNCED = frozenset({"checkpoint", "digest"})  # the tool's bookkeeping


@dataclass(frozen=True)
class Said:
    """One message to a room."""

    text: str
    mentions: tuple[str, ...] = ()  # chat user ids the message mentions (they are notified)
    key: str = ""  # the same key is sent once, where the chat can tell (Matrix)
    reply_to: str | None = None  # the chat message it answers
    confirm: str | None = None  # a confirmation token: Slack shows buttons, Matrix asks for ✅


def mention(chat: ChatKind, user: str) -> str:
    """How a mention of ``user`` is written in a message (Slack's ``<@U…>``, Matrix's id)."""
    return f"<@{user}>" if chat == "slack" else user


def chat_id(policy: Policy, chat: ChatKind, person: str | None) -> str | None:
    """The chat identity of a person of the policy on ``chat`` (None when there is none)."""
    found = policy.people.get(person) if person else None
    if found is None:
        return None
    return found.matrix if chat == "matrix" else found.slack


def who(entry: Entry) -> str:
    """``alice``, or ``alice (via Matrix)`` for what a relay posted for alice."""
    return f"{entry.actor} (via {CHATS[entry.via]})" if entry.via in CHATS else entry.actor


def comment_link(url: str, kind: str, comment: Comment | None, comment_id: str) -> str:
    """Where the comment is: ``…show_bug.cgi?id=1#c5``, ``…/issues/42#issuecomment-9``."""
    if kind == "bugzilla" and url and comment is not None and comment.seq is not None:
        return f"{url}#c{comment.seq}"
    if kind == "github" and url and comment_id.isdigit():
        return f"{url}#issuecomment-{comment_id}"
    return f"comment {comment_id}"


def announcements(
    ref: IncidentRef,
    state: IncidentState,
    comments: Sequence[Comment],
    policy: Policy,
    renderer: codec.Renderer,
    chat: ChatKind,
    room: str,
    seen: Collection[str],
) -> list[tuple[str, Said]]:
    """Each event of ``state`` not in ``seen``, as (event id, message), in the record's order."""
    new = [e for e in state.timeline if e.event_id not in seen and e.type not in UNANNOUNCED]
    if not new:
        return []
    wanted = {e.comment_id for e in new}
    by_id = {c.id: c for c in comments if c.id in wanted}
    events: dict[str, Event] = {}
    for comment in by_id.values():
        for event in codec.parse(comment.body).events:
            events.setdefault(event.id, event)
    zones = zones_of(policy)
    out: list[tuple[str, Said]] = []
    for entry in new:
        found = events.get(entry.event_id)
        if found is not None:
            ctx = Context(actor=entry.actor, ref=str(ref), zones=zones)
            sentence = renderer.sentences.human(found, ctx).split("\n", 1)[0]
        else:
            sentence = entry.summary
        link = comment_link(state.url, ref.kind, by_id.get(entry.comment_id), entry.comment_id)
        lines = [sentence if entry.accepted else f"Not counted ({entry.reason}): {sentence}"]
        lines.append(f"— {who(entry)} on {ref}, {link}")
        mentions: list[str] = []
        target = _addressed(entry)
        user = chat_id(policy, chat, target)
        if user is not None and entry.accepted:
            mentions.append(user)
            prefix = "!incident" if chat == "matrix" else "/incident"
            if entry.type == "handoff.offered":
                lines.append(
                    f"{mention(chat, user)}: accept with `{prefix} accept`, or decline with "
                    f"`{prefix} decline REASON`."
                )
            else:
                lines.append(f"{mention(chat, user)}: this is for you.")
        key = f"announce:{room}:{entry.event_id}"
        out.append((entry.event_id, Said("\n".join(lines), tuple(mentions), key=key)))
    return out


def _addressed(entry: Entry) -> str | None:
    """Whom an event is for: a handoff's recipient, a reminder's person."""
    if entry.type in ("handoff.offered", "reminder"):
        to = entry.data.get("to")
        return to if isinstance(to, str) else None
    return None
