"""The fake GitHub's primary rate limit: one hourly budget per token, and its headers.

60 requests an hour without a token, 1,000 for an Actions token, ``rate_limit`` for others;
a 304 is free. Every answer carries GitHub's ``x-ratelimit-*`` headers and a ``date``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from sync_incident.testing.github.fake import FakeGitHub

WINDOW = 3600


@dataclass
class Budget:
    limit: int
    remaining: int
    reset: int


def budget(fake: FakeGitHub, token: str | None) -> Budget:
    """The token's budget, refilled when its window is over."""
    key = token or ""
    if key not in fake._budgets:
        user = next((u for u in fake.users.values() if token and u.token == token), None)
        limit = 60 if user is None else 1000 if user.actions_token else fake.rate_limit
        fake._budgets[key] = Budget(limit, limit, int(fake.clock()) + WINDOW)
    found = fake._budgets[key]
    if fake.clock() >= found.reset:
        found.remaining = found.limit
        found.reset = int(fake.clock()) + WINDOW
    return found


def rate_headers(fake: FakeGitHub, response: httpx.Response, token: str | None) -> None:
    spent = budget(fake, token)
    response.headers["x-ratelimit-limit"] = str(spent.limit)
    response.headers["x-ratelimit-remaining"] = str(spent.remaining)
    response.headers["x-ratelimit-used"] = str(spent.limit - spent.remaining)
    response.headers["x-ratelimit-reset"] = str(spent.reset)
    response.headers["x-ratelimit-resource"] = "core"
    response.headers["date"] = format_datetime(
        datetime.fromtimestamp(int(fake.clock()), UTC), usegmt=True
    )
