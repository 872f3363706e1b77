"""A stateful in-memory GitHub REST server for ``httpx.MockTransport(fake.handler)``.

Answers are built from GitHub's published examples (``testing/fixtures/``) so their shapes
match; behaviour follows GitHub where it matters to a client: ETags and 304s (free on the rate
limit), ``since`` on ``updated_at``, ``per_page`` pagination with a real ``Link`` header whose
URLs use ``/repositories/{id}/…`` (as github.com does, so a client that builds page URLs
instead of following them fails), labels, assignees, body PATCH, comment edits and deletions by
other users, team memberships, collaborator permission, rate-limit headers with primary and
secondary limits, 401/403/404/410/422 errors in GitHub's shape, and fault injection.

Independent of pytest so bench scripts can ``from sync_incident.testing.github import FakeGitHub``.

The package, one concern a module:

- ``state``: the stored data (users, repositories, issues, comments, teams) and the seeding API
- ``payloads``: the JSON shapes (from the fixtures) and GitHub's error bodies
- ``responses``: JSON answers, ETags and 304s, pagination; ``Call``, a request as handlers see it
- ``ratelimit``: the per-token hourly budget and its headers
- ``faults``: injected failures (:class:`Fault`)
- ``routes``: dispatch to the handlers per resource: ``issues``, ``comments``, ``labels``,
  ``access`` (``/user``, teams, permissions), ``graphql``
- ``webhooks``: the webhook payloads the serve tests deliver
- ``fake``: :class:`FakeGitHub`, the HTTP surface over the state
"""

from sync_incident.testing.clock import FakeClock
from sync_incident.testing.github.fake import FakeGitHub
from sync_incident.testing.github.faults import Fault, FaultKind
from sync_incident.testing.github.payloads import BODY_LIMIT, DOCS, FIXTURES
from sync_incident.testing.github.state import (
    FakeComment,
    FakeIssue,
    FakeRepo,
    FakeUser,
    GitHubState,
    Logged,
)

__all__ = [
    "BODY_LIMIT",
    "DOCS",
    "FIXTURES",
    "FakeClock",
    "FakeComment",
    "FakeGitHub",
    "FakeIssue",
    "FakeRepo",
    "FakeUser",
    "Fault",
    "FaultKind",
    "GitHubState",
    "Logged",
]
