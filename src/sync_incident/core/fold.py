"""The fold: from the ordered comments of one bug or issue to the incident's state.

``fold`` is pure and deterministic (PRODUCT.md rule 1):

- comments are read in the tracker's order (``Comment.order``), never by timestamp;
- the actor and time of an event are the comment's author and creation time, never payload;
- an event id seen twice counts once; the same id with different content is doubt; a
  rejected event never takes the id of a later valid one;
- an event the rules refuse stays in the timeline as rejected, with the reason
  (:mod:`sync_incident.core.rules`), and changes nothing;
- an event retracted by its author or the incident commander stops counting and stays in the
  timeline, struck through (the fold runs again without it);
- *doubt* — the gate refuses while any is open — comes from what every reader can verify,
  with or without a cache: an edited comment, a private one, a gap in the tracker's own
  numbering, an event that follows one this reader cannot see, two events claiming one id,
  a witness checkpoint the record no longer matches, an unreadable trailer by someone who
  could have blocked a release; and, with a cache, a comment that vanished. The incident
  commander can check a doubt and say what they found (``doubt.checked``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment, Evidence, Mark
from sync_incident.core.events import (
    INFORMATIONAL,
    Checkpoint,
    DoubtChecked,
    Event,
    HoldRaised,
    Opened,
    Retracted,
    Via,
    Witnessed,
    clean_text,
)
from sync_incident.core.lint import weak_reason
from sync_incident.core.policy import Facts, Policy
from sync_incident.core.refs import TrackerKind
from sync_incident.core.rules import OPEN_TO_ANYONE, Act, Rules
from sync_incident.core.state import Doubt, DoubtKind, Entry, Hold, IncidentState
from sync_incident.core.summaries import CHATS, noun, summary
from sync_incident.core.times import utc

_ENVELOPE = frozenset({"id", "type", "follows"})
DAEMON_ONLY = frozenset({"digest", "reminder"})  # with witnesses configured, only theirs count
_MAX_PASSES = 50  # each pass retracts at least one more event
# a mirror write follows its comment: in the same request (Bugzilla's PUT), a second or two
# later (GitHub's label), or at the next read of someone who may write it; and the write
# that clears the flag may lag the release it follows by as much
# What still counts once the incident is resolved: words, links, the retrospective, the
# reopening, and what blocks (a hold, a revoked sign-off: blocking is open, unblocking is not)
AFTER_RESOLVE = frozenset({"reopened", "note", "link", "retro", "hold.raised", "signoff.revoked"})
MARK_SLACK = timedelta(seconds=5)
# how the incident commander sees what this reader cannot: said where a doubt needs it
SEE_HIDDEN = (
    "after seeing the comments this reader cannot (Bugzilla: private and hidden comments, as a "
    "member of the insider group or with an admin; GitHub: the organisation's audit log of "
    "deleted comments) and checking with --seen-hidden"
)


class _Restart(Exception):
    """A retraction was accepted: fold again without the retracted event."""

    def __init__(self, event_id: str) -> None:
        super().__init__(event_id)
        self.event_id = event_id


def body_hash(body: str) -> str:
    """A short hash of a comment's text, so a check of a doubt covers exactly that text."""
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class _Check:
    """One check of one doubt (a ``doubt.checked`` event) by someone who may make it."""

    by: str
    at: datetime
    finding: str
    hashes: dict[str, str]
    as_ic: bool  # ``by`` was the incident commander when checking
    lineage: tuple[str, ...]  # the events that made the incident commander of then
    seen_hidden: bool
    event_id: str

    def clears(self, doubt: Doubt, who: _Clearers) -> bool:
        """Whether this check covers ``doubt``: the same text, by someone who may clear it."""
        same = self.hashes.get(doubt.where, doubt.body_hash) == doubt.body_hash
        return same and self.may(doubt, who)

    def may(self, doubt: Doubt, who: _Clearers) -> bool:
        """Whether the checker may clear ``doubt`` at all."""
        if self.by in who.people:
            return True
        if not self.as_ic or set(doubt.event_ids) & set(self.lineage):
            return False  # an edit that made someone IC is not theirs to vouch for
        return who.ic == "yes" or (who.ic == "after-seeing-hidden" and self.seen_hidden)


@dataclass(frozen=True)
class _Clearers:
    """Who may clear one doubt: named people, and whether the incident commander may."""

    people: tuple[str, ...]
    ic: str  # "yes", "no", or "after-seeing-hidden"


class _Folder(Rules):
    def __init__(
        self,
        kind: TrackerKind,
        policy: Policy,
        facts: Facts,
        now: datetime,
        retracted: frozenset[str],
    ) -> None:
        self.kind, self.policy, self.facts, self.now = kind, policy, facts, now
        self.retracted = retracted
        self.s = IncidentState(
            tracker=kind, policy="permissive" if policy.permissive else "configured"
        )
        # accepted id -> (comment id, event): fingerprints are computed when an id repeats
        self.seen: dict[str, tuple[str, Event]] = {}
        self.ids: set[str] = set()  # every event id read so far, accepted or not
        self.record: list[Event] = []  # every event read so far, for witness checkpoints
        self.authors: dict[str, str] = {}  # event id -> actor, for retractions
        self.participants: dict[str, None] = {}
        self.offers = {}
        self.signoff_by_key = {}
        self.steps = {}
        self.ic_before = {}
        self.notes = {}
        self.checks: dict[str, list[_Check]] = {}
        self.last_event_id: str | None = None
        self.last_update: datetime | None = None
        self.clearers: dict[int, _Clearers] = {}  # id(doubt) -> who may clear it
        self.pos = 0

    # --- comments ------------------------------------------------------------------------

    def comment(self, comment: Comment, vanished: bool) -> None:
        parsed = codec.parse(comment.body)
        at = comment.created_at  # judged as of when it was posted
        if self.policy.permissive:  # nobody is known: accounts are their logins
            person, actor = None, comment.author.login
        else:
            person = self.policy.person_for(self.kind, comment.author, at)
            actor = person or self.policy.actor_for(self.kind, comment.author, at)
        blocking = self.could_block(person)
        where = f"comment {comment.id}"
        # only a doubt records the hash: most comments raise none, so most skip the sha256
        doubtful = parsed.warnings or vanished or comment.edited or comment.private
        digest = body_hash(comment.body) if doubtful else ""
        for warning in parsed.warnings:
            self.s.warnings.append(f"comment {comment.id} by {actor}: {warning.message}")
            if blocking and warning.code != "misplaced":
                self.doubt("unreadable", where, comment, actor, warning.message, [], digest)
        ids = [e.id for e in parsed.events]
        if parsed.events and blocking:  # what could not have blocked cannot hide a block
            if vanished:
                detail = "a comment carrying events was deleted or hidden after it was read"
                self.doubt("vanished", where, comment, actor, detail, ids, digest)
            elif comment.edited:
                detail = "a comment carrying events was edited after it was posted"
                self.doubt("edited", where, comment, actor, detail, ids, digest)
            if comment.private:
                detail = "a private comment carries events: readers outside its group cannot see it"
                self.doubt("private", where, comment, actor, detail, ids, digest)
        for event in parsed.events:
            self.event(event, comment, actor, person, vanished)

    def could_block(self, person: str | None) -> bool:
        """Whether this author could have made an event that blocks a release."""
        return self.policy.permissive or person is not None or not self.policy.restrict_to_people

    def doubt(
        self,
        kind: DoubtKind,
        where: str,
        comment: Comment | None,
        author: str,
        detail: str,
        event_ids: list[str],
        digest: str = "",
        clearers: _Clearers | None = None,
    ) -> None:
        doubt = Doubt(
            kind=kind,
            where=where,
            comment_id=comment.id if comment is not None else "",
            author=author,
            detail=detail,
            event_ids=event_ids,
            body_hash=digest,
        )
        self.s.doubts.append(doubt)
        if clearers is not None:
            self.clearers[id(doubt)] = clearers

    # --- events --------------------------------------------------------------------------

    def event(
        self, event: Event, comment: Comment, actor: str, person: str | None, gone: bool = False
    ) -> None:
        self.pos += 1
        relayed = ""
        via: Via | None = event.__dict__.get("via")  # from the fields: see entry below
        if via is not None:
            speaker, refused = self.relayed(via, person)
            if speaker is not None:
                actor, person, relayed = speaker, speaker, via.chat
        act = Act(comment, actor, person, comment.created_at, self.pos, relayed=bool(relayed))
        said = summary(  # read against the state before the event
            event, f"{actor} (via {CHATS[relayed]})" if relayed else actor, self.s, self.offers
        )
        self.check_follows(event, comment, actor, person)
        reason = refused if via is not None and not relayed else self.decide(event, act)
        retracted = not reason and event.id in self.retracted
        if retracted:
            reason = "retracted"
            self.seen[event.id] = (comment.id, event)
            self.authors[event.id] = actor
        elif not reason:
            self.accept(event, comment, actor)
        if event.id in self.notes:
            said += f" ({self.notes.pop(event.id)})"
        # built once its fields are known (pydantic's __setattr__ is slow), and validated, not
        # model_construct: for these few plain fields pydantic-core's validator is about twice
        # as fast as model_construct's loop in Python, and the values are typed
        entry = Entry(
            event_id=event.id,
            type=event.type,
            actor=actor,
            account=comment.author.login,
            at=act.at,
            # from the fields: getattr of a name an event lacks takes pydantic's slow path
            occurred_at=event.__dict__.get("occurred_at"),
            comment_id=comment.id,
            pos=self.pos,
            accepted=not reason,
            retracted=retracted,
            reason=reason,
            summary=said,
            data=entry_data(event),
            via=relayed,
        )
        if not isinstance(event, Checkpoint) and not gone:
            self.record.append(event)  # what a witness sees: the visible record
        self.ids.add(event.id)
        self.s.timeline.append(entry)

    def relayed(self, via: Via, relay: str | None) -> tuple[str | None, str]:
        """The person a relay spoke for, or why the relayed event does not count."""
        chat = CHATS[via.chat]
        if relay is None or relay not in self.policy.relays:
            return None, (
                f"a relayed event counts only from a relay account the policy lists (relays: "
                f"{', '.join(self.policy.relays) or 'none'}); this one claims to speak for "
                f"{via.user} on {chat}"
            )
        speaker = self.policy.person_for_chat(via.chat, via.user)
        if speaker is None:
            return None, f"{via.user} on {chat} is not a chat identity of a person in the policy"
        return speaker, ""

    def decide(self, event: Event, act: Act) -> str:
        """Why ``event`` is rejected ("" when it applies). Retracted events are not applied."""
        known = self.seen.get(event.id)
        if known is not None:
            # an event by someone who could not have blocked a release is rejected anyway:
            # its claim to an id is no doubt (on a public tracker, anyone could make one)
            same = known[1] is event or codec.fingerprint(known[1]) == codec.fingerprint(event)
            if not same and self.could_block(act.person):
                detail = (
                    f"comments {known[0]} and {act.comment.id} carry two different events "
                    "under one identity: one of them was forged or edited"
                )
                self.doubt("conflict", f"event {event.id}", act.comment, act.actor, detail, [])
            return f"duplicate of the same event in comment {known[0]}"
        trust = self.trust(event, act)
        if trust:
            return trust
        if event.id in self.retracted:
            if isinstance(event, HoldRaised):  # open until retracted: it counts as released
                return self.apply(event, act)
            return ""
        return self.apply(event, act)

    def trust(self, event: Event, act: Act) -> str:
        witnesses = self.policy.witnesses
        if event.type in DAEMON_ONLY and witnesses and act.person not in witnesses:
            # their keys are predictable: a decoy must not take the daemon's event id
            return (
                f"only the daemon's account (a witness: {', '.join(witnesses)}) posts {event.type}s"
            )
        if self.policy.permissive or act.person is not None:
            return ""
        if event.type in OPEN_TO_ANYONE and not self.policy.restrict_to_people:
            return ""
        return self.not_a_person(act)

    def not_a_person(self, act: Act) -> str:
        """Why ``act``'s author counts as a stranger, in words that say what to fix."""
        author = act.comment.author
        reason = f"{act.actor} is not a person in the policy"
        named = self.policy.unpinned(self.kind, author)
        if named is not None:
            pinned = self.policy.people[named].github_id
            if pinned is None:
                return (
                    f"{reason}: {named}'s github_id is not pinned, and a login binds nobody "
                    "(sync-incident config pin-github-ids pins it)"
                )
            return f"{reason}: {named} is GitHub account {pinned}, this is account {author.uid}"
        person = self.policy._bound(self.kind, author)
        left = self.policy.people[person].left if person is not None else None
        if left is not None:
            return f"{reason}: {person} left on {utc(left)}"
        return reason

    def accept(self, event: Event, comment: Comment, actor: str) -> None:
        self.seen[event.id] = (comment.id, event)
        self.authors[event.id] = actor
        self.last_event_id = event.id  # onto the state in finish(): pydantic setattr is slow
        if event.type not in INFORMATIONAL:
            self.participants.setdefault(actor)
            self.last_update = comment.created_at

    def apply(self, event: Event, act: Act) -> str:
        if isinstance(event, Checkpoint):
            return self.checkpoint(event, act)
        if isinstance(event, Witnessed):
            return self.witnessed(event, act)
        if event.type in INFORMATIONAL:
            return ""
        if isinstance(event, Opened):
            return self.on_opened(event, act)
        if not self.s.opened:
            return "the incident has not been opened yet"
        if self.s.status == "resolved" and event.type not in AFTER_RESOLVE:
            return "the incident is resolved: reopen it first"
        if isinstance(event, Retracted):
            return self.retract(event, act)
        if isinstance(event, DoubtChecked):
            return self.check(event, act)
        result: str = getattr(self, self.handler(event))(event, act)
        return result

    def check_follows(self, event: Event, comment: Comment, actor: str, person: str | None) -> None:
        if event.follows is None or event.follows in self.ids or not self.could_block(person):
            return
        release = event.__dict__.get("release")
        on = f" on {release}" if release else ""
        detail = (
            f"{actor}'s {noun(event.type)}{on} follows an event this reader cannot see: a "
            "comment was deleted, hidden or edited"
        )
        self.doubt("missing", f"event {event.follows}", comment, actor, detail, [event.id])

    # --- corrections and checks ----------------------------------------------------------

    def retract(self, e: Retracted, act: Act) -> str:
        if weak_reason(e.reason, 1):
            return "retracting an event needs a real reason"
        author = self.authors.get(e.event)
        if author is None:
            return f"there is no event {e.event} to retract"
        target = next(x for x in self.s.timeline if x.event_id == e.event)
        if target.type == "opened":
            return "the opening of the incident cannot be retracted; resolve the incident instead"
        if act.actor not in (author, self.s.ic):
            return f"only {author}, who posted it, or the incident commander ({self.s.ic}) can retract it"
        if e.event not in self.retracted:
            raise _Restart(e.event)
        hold = next((h for h in self.s.holds if h.id == e.event), None)
        if hold is not None:  # sign-offs before it must be renewed, as after a release
            self.close_hold(hold, act, f"retracted: {e.reason}")
        return ""

    def check(self, e: DoubtChecked, act: Act) -> str:
        """Recorded now; what it clears is decided at the end, where every doubt is known.

        Who may clear a doubt depends on the doubt (see :meth:`who_clears`): a check that
        clears none of the doubts it names is rejected then, saying who can.
        """
        if weak_reason(e.finding, 1):
            return "checking a doubt needs a finding: say what you checked and found"
        check = _Check(
            act.actor,
            act.at,
            e.finding,
            dict(e.hashes),
            act.actor == self.s.ic,
            self.ic_lineage,
            e.seen_hidden,
            e.id,
        )
        for where in e.where:
            self.checks.setdefault(where, []).append(check)
        return ""

    def who_clears(self, doubt: Doubt) -> _Clearers:
        """Who may clear ``doubt``; never nobody.

        The incident commander, in general. A doubt on an event that made the incident
        commander (an edited opening or handoff) is not theirs to vouch for: the author of
        that comment may, and the incident commander before it. A hold flag with no hold
        behind it (a hold that may be hidden): the person who set the flag, and the incident
        commander once they have seen the comments this reader cannot.
        """
        known = self.clearers.get(id(doubt))
        if known is not None:
            return known
        touched = [e for e in doubt.event_ids if e in self.ic_lineage]
        if not touched:
            return _Clearers((), "yes")
        people = (
            [doubt.author] if doubt.author in self.policy.people or self.policy.permissive else []
        )
        people += [self.ic_before[e] for e in touched if self.ic_before.get(e)]
        people = [p for p in dict.fromkeys(people) if p]
        if not people:  # nobody else can vouch for it: the IC still may, seeing it is theirs
            return _Clearers((), "yes")
        return _Clearers(tuple(people), "no")

    def checkpoint(self, e: Checkpoint, act: Act) -> str:
        witnesses = self.policy.witnesses
        if not self.policy.permissive and act.person not in witnesses:
            return f"{act.actor} is not a witness in the policy (witnesses: {', '.join(witnesses) or 'none'})"
        # events posted while the witness was writing may come before its comment: compare
        # the record up to the last event it saw
        prefix = record_prefix(self.record, e.last)
        lost = e.last is not None and not prefix
        if lost or (e.count, e.digest) != (len(prefix), codec.record_digest(prefix)):
            detail = (
                f"the record changed since {act.actor}'s checkpoint at {utc(act.at)}: "
                f"{e.count} events up to {e.last or 'the start'} then, {len(prefix)} now, or "
                "their content differs (a comment was deleted, hidden or edited)"
            )
            self.doubt("witness", f"checkpoint {e.id}", act.comment, act.actor, detail, [e.id])
        return ""

    def witnessed(self, e: Witnessed, act: Act) -> str:
        witnesses = self.policy.witnesses
        if not self.policy.permissive and act.person not in witnesses:
            return f"{act.actor} is not a witness in the policy (witnesses: {', '.join(witnesses) or 'none'})"
        if e.events:
            when = f" at {utc(e.at)}" if e.at else ""
            by = f" by {e.by}" if e.by else ""
            count = len(e.events)
            carried = "an event" if count == 1 else f"{count} events"
            detail = (
                f"the tracker reported to {act.actor} that comment {e.comment}, which carried "
                f"{carried}, was {e.what}{by}{when}"
            )
            where = f"comment {e.comment}"
            self.doubt("witness", where, act.comment, e.by or act.actor, detail, list(e.events))
        return ""

    # --- the end -------------------------------------------------------------------------

    def evidence(self, comments: Sequence[Comment], proofs: Iterable[Evidence]) -> None:
        """The tracker's own numbering and what it proves beyond the comments."""
        numbers = sorted({c.seq for c in comments if c.seq is not None})
        if numbers:
            present = set(numbers)
            for missing in range(0, numbers[-1]):
                if missing not in present:
                    detail = (
                        f"comment #{missing} is not visible to this reader (private, hidden or "
                        "deleted); it may carry events"
                    )
                    self.doubt("gap", f"comment #{missing}", None, "", detail, [])
        for proof in proofs:
            self.doubt("tracker", proof.where, None, "", proof.detail, [])

    def marks(self, marks: Iterable[Mark]) -> None:
        """Every time the tracker shows the hold flag set, the hold that set it must be open.

        An on-mark is matched to a hold by time and order: one open when the flag was set,
        and raised since the flag was last cleared (or open across that clearing, which then
        was someone clearing the flag by hand). A hold released before the last clearing
        cannot explain a later setting: the flag was set again, so a later hold did, and if
        the record has none, it was hidden or deleted. Only the person who set the flag, or
        the incident commander after seeing what this reader cannot, can clear that doubt.
        """
        holds = self.s.holds + self.s.released_holds  # retracted holds are released ones
        cleared: datetime | None = None  # when the flag was last cleared
        for mark in sorted((m for m in marks if m.flag == "hold"), key=lambda m: m.at):
            if not mark.on:
                cleared = mark.at
                continue
            if any(self.set_flag(h, mark.at, cleared) for h in holds):
                continue
            setter = self.policy.actor_for(self.kind, Account(mark.by, mark.uid), mark.at)
            person = setter if setter in self.policy.people else None
            detail = (
                f"the tracker shows the hold flag set by {setter} at {utc(mark.at)}, "
                "but the record has no hold that was open then and raised since the flag was "
                "last cleared: a hold may have been hidden or deleted"
            )
            where = f"hold flag {mark.at:%Y-%m-%d %H:%M:%S}"
            people = (person,) if person is not None or self.policy.permissive else ()
            clearers = _Clearers(tuple(p for p in people if p), "after-seeing-hidden")
            self.doubt("history", where, None, setter, detail, [], clearers=clearers)

    @staticmethod
    def set_flag(hold: Hold, at: datetime, cleared: datetime | None) -> bool:
        """Whether ``hold`` can be what set the hold flag at ``at`` (last cleared at ``cleared``)."""
        if hold.at > at + MARK_SLACK:
            return False  # raised after the flag was set
        if hold.released_at is not None and hold.released_at < at:
            return False  # released before the flag was set
        if cleared is None or hold.at >= cleared - MARK_SLACK:
            return True  # raised since the flag was last cleared
        return hold.released_at is None or hold.released_at > cleared  # open across the clearing

    def finish(self) -> IncidentState:
        """The state as of ``now``; may run again after more comments (see :class:`Folding`)."""
        s = self.s
        s.participants = list(self.participants)
        s.last_event_id, s.last_update = self.last_event_id, self.last_update
        for offer in s.handoffs:
            end = offer.answered_at or self.now
            offer.waited_minutes = max(0, int((end - offer.at).total_seconds() // 60))
        for step in s.checklist:
            step.overdue = bool(step.due and step.state != "done" and step.due < self.now)
        s.update_overdue = bool(
            s.status == "active" and s.next_update_due and s.next_update_due < self.now
        )
        still: list[Doubt] = []
        for doubt in s.doubts:
            who = self.who_clears(doubt)
            doubt.clearable_by, doubt.clear_hint = self.clearable(who)
            check = next(
                (c for c in self.checks.get(doubt.where, []) if c.clears(doubt, who)), None
            )
            if check is not None:
                doubt.checked_by, doubt.checked_at, doubt.finding = (
                    check.by,
                    check.at,
                    check.finding,
                )
                s.checked_doubts.append(doubt)
            else:
                still.append(doubt)
        s.doubts = still
        self.refuse_unentitled_checks()
        return s

    def clearable(self, who: _Clearers) -> tuple[list[str], str]:
        """Who may clear a doubt, by name, and how to say it ("…, checks it")."""
        ic = self.s.ic
        names = list(who.people)
        words = [" or ".join(names)] if names else []
        if who.ic != "no" and ic:
            names.append(ic)
            role = f"the incident commander ({ic})"
            words.append(role if who.ic == "yes" else f"{role} {SEE_HIDDEN}")
        return list(dict.fromkeys(names)), (" or ".join(words) or "nobody") + " checks it"

    def refuse_unentitled_checks(self) -> None:
        """A check by someone who may clear none of the doubts it names is rejected, saying
        who may (a check that names no doubt stands only from the incident commander)."""
        every = {d.where: d for d in [*self.s.doubts, *self.s.checked_doubts]}
        refused: dict[str, str] = {}
        for where, checks in self.checks.items():
            doubt = every.get(where)
            for check in checks:
                if doubt is None:
                    allowed = check.as_ic
                    why = f"only the incident commander ({self.s.ic}) can check what is in doubt"
                else:
                    allowed = check.may(doubt, self.who_clears(doubt))
                    who = doubt.clear_hint.removesuffix(" checks it")
                    why = f"{where}: only {who} can check it"
                if allowed:
                    refused[check.event_id] = ""
                elif refused.get(check.event_id) != "":
                    refused[check.event_id] = "; ".join(
                        r for r in (refused.get(check.event_id), why) if r
                    )
        for entry in self.s.timeline:
            why = refused.get(entry.event_id, "")
            if why and entry.accepted and entry.type == "doubt.checked":
                entry.accepted, entry.reason = False, why


def fold(
    comments: Sequence[Comment],
    *,
    kind: TrackerKind,
    policy: Policy | None = None,
    facts: Facts | None = None,
    vanished: Sequence[Comment] = (),
    evidence: Sequence[Evidence] = (),
    marks: Sequence[Mark] = (),
    now: datetime | None = None,
    ref: str = "",
    title: str = "",
    url: str = "",
) -> IncidentState:
    """Fold the comments (tracker order) and the vanished ones into the incident state."""
    return Folding(
        comments,
        kind=kind,
        policy=policy,
        facts=facts,
        vanished=vanished,
        evidence=evidence,
        marks=marks,
        now=now,
        ref=ref,
        title=title,
        url=url,
    ).state


class Folding:
    """A fold that can take one more comment: what a post checks its events against.

    ``state`` is the folded record. :meth:`extend` applies a comment not posted yet on top of
    it, without folding the record again, and returns the state after it: that state IS
    ``state``, moved on (the fold's working objects are not copied), so a caller that still
    needs the state before must read what it needs first.
    """

    def __init__(
        self,
        comments: Sequence[Comment],
        *,
        kind: TrackerKind,
        policy: Policy | None = None,
        facts: Facts | None = None,
        vanished: Sequence[Comment] = (),
        evidence: Sequence[Evidence] = (),
        marks: Sequence[Mark] = (),
        now: datetime | None = None,
        ref: str = "",
        title: str = "",
        url: str = "",
    ) -> None:
        self._args = (kind, policy or Policy(), facts or Facts(), now or datetime.now(UTC))
        self._record = (ref, clean_text(title), url)
        self._tagged = [(c, False) for c in comments] + [(c, True) for c in vanished]
        self._tagged.sort(key=lambda item: item[0].order)  # stable: ties keep the order given
        self._comments, self._evidence, self._marks = list(comments), evidence, marks
        self._retracted: frozenset[str] = frozenset()
        self._folder = self._run()
        self.state = self._folder.finish()

    def extend(self, comment: Comment, *, facts: Facts | None = None) -> IncidentState:
        """The state once ``comment`` (newer than every comment folded) is on the record.

        ``facts``: membership facts that also cover the new comment's author (asked anew
        when it claims a team the tracker vouches for).
        """
        if facts is not None:
            self._args = (self._args[0], self._args[1], facts, self._args[3])
            self._folder.facts = facts
        try:
            self._folder.comment(comment, False)
        except _Restart as again:  # it retracts an event: the record is folded again
            self._retracted = self._retracted | {again.event_id}
            self._tagged.append((comment, False))
            self._comments.append(comment)
            self._folder = self._run()
        else:
            self._tagged.append((comment, False))
            self._comments.append(comment)
        self.state = self._folder.finish()
        return self.state

    def _run(self) -> _Folder:
        with _collection_paused():
            return self._passes()

    def _passes(self) -> _Folder:
        for _ in range(_MAX_PASSES):
            folder = _Folder(*self._args, self._retracted)
            folder.s.ref, folder.s.title, folder.s.url = self._record
            try:
                for comment, gone in self._tagged:
                    folder.comment(comment, gone)
            except _Restart as again:
                self._retracted = self._retracted | {again.event_id}
                continue
            folder.evidence(self._comments, self._evidence)
            folder.marks(self._marks)
            return folder
        raise AssertionError("unreachable: every pass retracts one more event")  # pragma: no cover


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off while folding: a fold makes many objects that all live
    on (the state) and no cycles to collect, and collections took about a third of its time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def record_prefix(record: Sequence[Event], last: str | None) -> list[Event]:
    """The record up to the first event with id ``last`` (empty when it is not there)."""
    for index, event in enumerate(record):
        if event.id == last:
            return list(record[: index + 1])
    return []


def checkpoint_of(comments: Sequence[Comment]) -> Checkpoint | None:
    """The checkpoint a witness posts for these comments (None when they hold no event)."""
    record = visible_record(comments)
    if not record:
        return None
    prefix = record_prefix(record, record[-1].id)
    return Checkpoint(count=len(prefix), digest=codec.record_digest(prefix), last=record[-1].id)


def visible_record(comments: Sequence[Comment]) -> list[Event]:
    """Every event of these comments in tracker order, checkpoints aside: what a witness signs."""
    ordered = sorted(comments, key=lambda c: c.order)
    return [e for c in ordered for e in codec.parse(c.body).events if not isinstance(e, Checkpoint)]


def entry_data(event: Event) -> dict[str, Any]:
    """The payload of an event as the timeline shows it."""
    return {k: v for k, v in event.__dict__.items() if k not in _ENVELOPE and v}
