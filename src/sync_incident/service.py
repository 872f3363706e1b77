"""The library API the CLI, the daemon and the Action share: read an incident, post an event.

``Session`` builds trackers from settings (lazily: only the one a reference needs), reads and
folds, and posts events safely: lint the wording, check that the rules would accept the event
(by folding it as if posted), render, post once with the mirrored fields.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from sync_incident import codec
from sync_incident.cache import Cache
from sync_incident.config import Settings, bugzilla_key, github_token
from sync_incident.errors import RefusedError, UsageError
from sync_incident.events import Event, Opened, ShipDecision, SignoffGiven
from sync_incident.lint import Finding, lint_event
from sync_incident.policy import Facts, Policy
from sync_incident.refs import IncidentRef, TrackerKind
from sync_incident.state import IncidentState, fold
from sync_incident.trackers.base import (
    AccessDenied,
    Account,
    Comment,
    IncidentSnapshot,
    Mirror,
    NewIncident,
    NotConfigured,
    Tracker,
)
from sync_incident.trackers.http import Sleep

if TYPE_CHECKING:
    from sync_incident.trackers.github import GitHubTracker

PENDING_ID = "(this comment)"


@dataclass
class Outcome:
    """What posting did (or, with ``dry_run``, would do)."""

    ref: IncidentRef
    body: str
    events: list[Event]
    findings: list[Finding]
    state: IncidentState  # the state after the event
    posted: bool = False
    duplicate: bool = False
    comment_id: str | None = None
    mirror_error: str = ""  # posted, but the mirrored fields could not be updated


@dataclass
class Session:
    """One run's trackers, cache and policy. Use as ``async with Session(settings) as s``."""

    settings: Settings
    as_user: str | None = None
    transports: dict[str, httpx.AsyncBaseTransport] = field(default_factory=dict)
    sleep: Sleep | None = None
    now: datetime | None = None  # fixed time for tests; None = the clock
    _trackers: dict[str, Tracker] = field(default_factory=dict)
    _cache: Cache | None = None

    @property
    def policy(self) -> Policy:
        return self.settings.policy

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for tracker in self._trackers.values():
            await tracker.aclose()
        self._trackers.clear()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    # --- trackers -----------------------------------------------------------------------

    def cache(self) -> Cache:
        if self._cache is None:
            self._cache = Cache(self.settings.cache_path())
        return self._cache

    def local_user(self) -> str:
        return (
            self.as_user
            or os.environ.get("SYNC_INCIDENT_AS")
            or self.settings.local.user
            or getpass.getuser()
        )

    def tracker(self, kind: TrackerKind) -> Tracker:
        if kind not in self._trackers:
            self._trackers[kind] = self._build(kind)
        return self._trackers[kind]

    def _build(self, kind: TrackerKind) -> Tracker:
        if self.as_user and kind != "local":
            raise UsageError(
                "--as works only with the local tracker",
                hint="on Bugzilla and GitHub you act as the owner of the API key or token",
            )
        if kind == "local":
            from sync_incident.trackers.local import LocalTracker, default_db_path

            return LocalTracker(self.settings.local.db or default_db_path(), user=self.local_user())
        if kind == "bugzilla":
            from sync_incident.trackers.bugzilla import build_bugzilla

            key = bugzilla_key()
            return build_bugzilla(
                self.settings.bugzilla.url,
                key.get_secret_value() if key else None,
                cache=self.cache(),
                auth=self.settings.bugzilla.auth,
                transport=self.transports.get("bugzilla"),
                sleep=self.sleep,
                mirror_assignee=self.settings.bugzilla.mirror_assignee,
                login=self.settings.bugzilla.login,
                incident_tag=self.settings.bugzilla.incident_tag,
            )
        from sync_incident.trackers.github import build_github

        token = github_token()
        return build_github(
            self.settings.github.api_url,
            token.get_secret_value() if token else None,
            cache=self.cache(),
            transport=self.transports.get("github"),
            sleep=self.sleep,
        )

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    # --- reading ------------------------------------------------------------------------

    async def read(self, ref: IncidentRef) -> tuple[IncidentSnapshot, IncidentState, Facts]:
        """Fetch and fold; membership facts are looked up on GitHub where the policy needs them."""
        tracker = self.tracker(ref.kind)
        snap = await tracker.fetch(ref)
        facts = await self._facts(ref, tracker, snap.comments)
        return snap, self._fold(ref, snap, snap.comments, facts), facts

    def _fold(
        self,
        ref: IncidentRef,
        snap: IncidentSnapshot,
        comments: Sequence[Comment],
        facts: Facts,
    ) -> IncidentState:
        return fold(
            comments,
            kind=ref.kind,
            policy=self.policy,
            facts=facts,
            vanished=snap.vanished,
            now=self.clock(),
            ref=str(ref),
            title=snap.title,
            url=snap.url,
        )

    async def _facts(
        self, ref: IncidentRef, tracker: Tracker, comments: Sequence[Comment]
    ) -> Facts:
        """Check org-team membership / repository permission for GitHub sign-offs and ships."""
        policy = self.policy
        if ref.kind != "github" or policy.permissive:
            return Facts()
        checked = {
            name: team
            for name, team in policy.teams.items()
            if team.github_teams or team.github_permission
        }
        if not checked:
            return Facts()
        gh: GitHubTracker = tracker  # type: ignore[assignment]
        actors: dict[str, set[str]] = {}
        for comment in comments:
            for event in codec.parse(comment.body).events:
                team = None
                if isinstance(event, SignoffGiven):
                    team = policy.team_name(event.team)
                elif isinstance(event, ShipDecision):
                    team = policy.team_name(policy.ship_team)
                if team in checked:
                    actors.setdefault(team, set()).add(comment.author.login)
        members: dict[str, frozenset[str]] = {}
        unknown: dict[str, str] = {}
        for team_name, logins in actors.items():
            rules = checked[team_name]
            ok: set[str] = set()
            for login in logins:
                try:
                    if await self._is_member(
                        gh, ref.repo, rules.github_teams, rules.github_permission, login
                    ):
                        ok.add(login.casefold())
                except AccessDenied as exc:
                    unknown[team_name] = exc.message
            members[team_name] = frozenset(ok)
        return Facts(members=members, unknown=unknown)

    async def _is_member(
        self, gh: GitHubTracker, repo: str, teams: list[str], permission: str | None, login: str
    ) -> bool:
        for slug in teams:
            org, _, team = slug.partition("/")
            if await gh.team_membership(org, team, login):
                return True
        if permission is not None:
            from sync_incident.policy import PERMISSIONS

            have = await gh.repo_permission(repo, login)
            return have in PERMISSIONS and PERMISSIONS.index(have) >= PERMISSIONS.index(permission)
        return False

    # --- writing ------------------------------------------------------------------------

    async def post(
        self,
        ref: IncidentRef,
        events: Sequence[Event],
        *,
        dry_run: bool = False,
        strict: bool = False,
        lint: bool = True,
        snapshot: IncidentSnapshot | None = None,
    ) -> Outcome:
        """Post ``events`` as one comment, or say exactly why not.

        ``snapshot``: what the caller just read (to build the events), so it is not read twice.
        """
        tracker = self.tracker(ref.kind)
        snap = snapshot if snapshot is not None else await tracker.fetch(ref)
        findings = [f for e in events for f in lint_event(e)] if lint else []
        if strict and findings:
            raise RefusedError(
                "vague wording: " + "; ".join(str(f) for f in findings),
                hint="say what is true, naming the team, product and version (or drop --strict)",
            )
        flavor: codec.Flavor = "github" if ref.kind == "github" else "plain"
        body = codec.Renderer(self.settings.templates_dir).render(list(events), flavor)
        me = await tracker.whoami()
        pending = Comment(id=PENDING_ID, author=me, created_at=self.clock(), body=body)
        comments = [*snap.comments, pending]
        facts = await self._facts(ref, tracker, comments)
        after = self._fold(ref, snap, comments, facts)
        self._refuse_if_rejected(after, events)
        outcome = Outcome(ref=ref, body=body, events=list(events), findings=findings, state=after)
        if dry_run:
            return outcome
        posted = await tracker.post(
            ref, body, marker=events[0].id, mirror=mirror_for(after, ref.kind, self.policy)
        )
        outcome.posted, outcome.duplicate, outcome.comment_id = (
            True,
            posted.duplicate,
            posted.comment_id,
        )
        outcome.mirror_error = posted.mirror_error
        return outcome

    @staticmethod
    def _refuse_if_rejected(state: IncidentState, events: Sequence[Event]) -> None:
        ids = {e.id for e in events}
        for entry in state.timeline:
            if entry.comment_id == PENDING_ID and entry.event_id in ids and not entry.accepted:
                raise RefusedError(
                    f"the rules would reject this {entry.type} event: {entry.reason}",
                    hint="nothing was posted",
                )

    async def whoami(self, kind: TrackerKind) -> Account:
        return await self.tracker(kind).whoami()

    async def open_new(
        self,
        kind: TrackerKind,
        event: Opened,
        *,
        product: str = "",
        component: str = "",
        repo: str = "",
    ) -> IncidentRef:
        """File a new incident bug / issue whose first comment is the opened event."""
        tracker = self.tracker(kind)
        flavor: codec.Flavor = "github" if kind == "github" else "plain"
        body = codec.Renderer(self.settings.templates_dir).render([event], flavor)
        if kind == "bugzilla":
            product = product or self.settings.bugzilla.product
            component = component or self.settings.bugzilla.component
            if not product or not component:
                raise NotConfigured(
                    "filing a Bugzilla bug needs a product and a component",
                    hint="pass --product and --component, or set [bugzilla] product/component",
                )
        if kind == "github" and not repo:
            raise UsageError("filing a GitHub issue needs --github owner/repo")
        me = await tracker.whoami()
        pending = Comment(id=PENDING_ID, author=me, created_at=self.clock(), body=body)
        state = fold([pending], kind=kind, policy=self.policy, now=self.clock())
        self._refuse_if_rejected(state, [event])
        mirror = mirror_for(state, kind, self.policy)
        new = NewIncident(
            title=event.title,
            body=body,
            marker=event.id,
            product=product,
            component=component,
            repo=repo,
            mirror=mirror,
        )
        ref = await tracker.create(new)
        # finds the opened comment (never posts it twice) and sets what create could not
        await tracker.post(ref, body, marker=event.id, mirror=mirror)
        return ref


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
