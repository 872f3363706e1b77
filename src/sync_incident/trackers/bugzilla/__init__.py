"""The Bugzilla backend: upstream 5.0/5.2, upstream 5.1+/master and bugzilla.mozilla.org."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync_incident.trackers import Backend
from sync_incident.trackers.bugzilla.tracker import BugzillaTracker, build_bugzilla
from sync_incident.trackers.bugzilla.webhooks import WEBHOOK

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.trackers import BuildContext

__all__ = [
    "BACKEND",
    "BugzillaTracker",
    "build",
    "build_bugzilla",
    "in_use",
    "poll_minutes",
]

MIN_POLL_MINUTES = 5.0  # bugzilla.mozilla.org asks for no more than one read every 5 minutes


def build(settings: Settings, context: BuildContext) -> BugzillaTracker:
    """The Bugzilla tracker for ``[bugzilla]`` settings and the key from the environment."""
    key = settings.bugzilla_api_key
    conf = settings.bugzilla
    return build_bugzilla(
        conf.url,
        key.get_secret_value() if key else None,
        cache=context.cache,
        auth=conf.auth,
        transport=context.transports.get("bugzilla"),
        sleep=context.sleep,
        mirror_assignee=conf.mirror_assignee,
        login=conf.login,
        incident_tag=conf.incident_tag,
        product=conf.product,
        component=conf.component,
    )


def in_use(settings: Settings) -> bool:
    """When Bugzilla is the default tracker or an API key is set."""
    return settings.tracker == "bugzilla" or settings.bugzilla_api_key is not None


def poll_minutes(settings: Settings) -> float:
    """``[bugzilla] poll_minutes``, never below BMO's 5 minutes."""
    return max(MIN_POLL_MINUTES, settings.bugzilla.poll_minutes)


BACKEND = Backend(
    kind="bugzilla",
    build=build,
    in_use=in_use,
    poll_minutes=poll_minutes,
    over_http=True,
    webhook=WEBHOOK,
)
