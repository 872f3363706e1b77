"""Who belongs to a team the policy delegates to GitHub: org team membership, repo permission.

``author_association`` is no permission signal (private org members show as CONTRIBUTOR), so
we ask GitHub: ``GET /orgs/{org}/teams/{slug}/memberships/{user}`` (``active`` only: a
``pending`` invitation does not count; needs a token that can read the org, which a workflow's
``GITHUB_TOKEN`` cannot) or the collaborator permission on the repository.

An answer is kept for at most :data:`KEPT_SECONDS`, so a command or a daemon cycle asks once per
person, while someone removed from a team stops counting within a minute in a long-running
``daemon`` or ``serve``. A ``fresh`` question (the gate's) never uses a kept answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

from sync_incident.core.comments import Account
from sync_incident.core.errors import AccessDenied, AuthError, NotFound
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.github.client import GitHubClient

if TYPE_CHECKING:
    from sync_incident.core.policy import Team

PERMISSIONS = ("admin", "maintain", "write", "triage", "read", "none")
KEPT_SECONDS = 60.0

K = TypeVar("K")
V = TypeVar("V")


class Members:
    """The :class:`~sync_incident.trackers.base.Membership` capability, with its answers kept."""

    def __init__(
        self, client: GitHubClient, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._clock = clock
        self._teams: dict[tuple[str, str, str], tuple[float, bool]] = {}
        self._perms: dict[tuple[str, str], tuple[float, str]] = {}

    def _kept(self, answers: dict[K, tuple[float, V]], key: K, fresh: bool) -> V | None:
        """The answer asked less than KEPT_SECONDS ago, unless ``fresh``."""
        kept = answers.get(key)
        if fresh or kept is None or self._clock() - kept[0] >= KEPT_SECONDS:
            return None
        return kept[1]

    def delegates(self, team: Team) -> bool:
        """A team that names GitHub org teams or a minimum repository permission."""
        return bool(team.github_teams or team.github_permission)

    async def is_member(
        self, ref: IncidentRef, team: Team, account: Account, *, fresh: bool = False
    ) -> bool:
        """An active member of one of the team's org teams, or enough repository permission."""
        for slug in team.github_teams:
            org, _, name = slug.partition("/")
            if await self.team_membership(org, name, account.login, fresh=fresh):
                return True
        if team.github_permission is not None:
            have = await self.repo_permission(ref.repo, account.login, fresh=fresh)
            ranks = list(reversed(PERMISSIONS))  # none < read < ... < admin
            return ranks.index(have) >= ranks.index(team.github_permission)
        return False

    async def team_membership(
        self, org: str, slug: str, login: str, *, fresh: bool = False
    ) -> bool:
        """True only for an ``active`` member of ``org/slug`` (``pending`` does not count)."""
        key = (org.lower(), slug.lower(), login.lower())
        kept = self._kept(self._teams, key, fresh)
        if kept is not None:
            return kept
        org_q, slug_q, login_q = (quote(part, safe="") for part in (org, slug, login))
        path = f"/orgs/{org_q}/teams/{slug_q}/memberships/{login_q}"
        try:
            data = await self._client.get_json(path)
        except NotFound:
            member = False
        except (AccessDenied, AuthError) as exc:
            raise AccessDenied(
                self._client.redact(
                    f"the GitHub token cannot read the membership of team {org}/{slug} "
                    f"({exc}); a workflow's GITHUB_TOKEN never can"
                ),
                hint="use a token with read:org (or a GitHub App with members: read) for team "
                "policies, or list GitHub accounts instead of a team",
            ) from None
        else:
            member = isinstance(data, dict) and data.get("state") == "active"
        self._teams[key] = (self._clock(), member)
        return member

    async def repo_permission(self, repo: str, login: str, *, fresh: bool = False) -> str:
        """The collaborator permission of ``login`` on ``repo``: admin … none."""
        key = (repo.lower(), login.lower())
        kept = self._kept(self._perms, key, fresh)
        if kept is not None:
            return kept
        path = f"/repos/{repo}/collaborators/{quote(login, safe='')}/permission"
        level = "none"
        try:
            data = await self._client.get_json(path)
        except NotFound:
            data = None
        if isinstance(data, dict):
            # role_name carries maintain/triage; permission is the legacy 4-level field
            for candidate in (data.get("role_name"), data.get("permission")):
                if candidate in PERMISSIONS:
                    level = str(candidate)
                    break
        self._perms[key] = (self._clock(), level)
        return level
