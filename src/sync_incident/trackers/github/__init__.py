"""The GitHub backend: GitHub.com and GitHub Enterprise Server (REST API 2022-11-28)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_incident.trackers import Backend
from sync_incident.trackers.github.tracker import GitHubTracker, build_github
from sync_incident.trackers.github.webhooks import WEBHOOK

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.trackers import BuildContext

__all__ = [
    "BACKEND",
    "GitHubTracker",
    "build",
    "build_github",
    "in_use",
    "poll_minutes",
]


def build(settings: Settings, context: BuildContext) -> GitHubTracker:
    """The GitHub tracker for ``[github]`` settings and the token from the environment."""
    token = settings.github_token
    return build_github(
        settings.github.api_url,
        token.get_secret_value() if token else None,
        cache=context.cache,
        transport=context.transports.get("github"),
        sleep=context.sleep,
        repos=list(settings.github.repos),
    )


def in_use(settings: Settings) -> bool:
    """When repositories to watch are configured."""
    return bool(settings.github.repos)


def poll_minutes(settings: Settings) -> float:
    """``[github] poll_minutes``: conditional reads that answer 304 cost no rate limit."""
    return settings.github.poll_minutes


BACKEND = Backend(
    kind="github",
    build=build,
    in_use=in_use,
    poll_minutes=poll_minutes,
    over_http=True,
    webhook=WEBHOOK,
)
