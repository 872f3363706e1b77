"""The tracker contract: every backend (local, Bugzilla, GitHub) must pass these tests.

A backend's test module subclasses :class:`TrackerContract` and provides the ``env``
fixture returning a :class:`ContractEnv` wired to its (fake) server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

import pytest

from sync_incident.core.comments import COMMENT_LIMIT
from sync_incident.core.errors import CommentTooLong, NotFound
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.base import Mirror, NewIncident, Tracker

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def _nothing(ref: IncidentRef) -> None:
    return None


MIRROR = Mirror(
    active=True,
    ic_name="alice",
    ic_account=None,
    hold=True,
    status_line="Active · IC alice · hold on Firefox 96.0.1",
    status_block="**Incident status:** active · **IC:** alice\n- **Hold** on Firefox 96.0.1",
)


@dataclass
class ContractEnv:
    tracker: Tracker  # acts as ``me``
    other: Tracker  # acts as ``other_login``
    ref: IncidentRef  # an existing incident
    missing_ref: IncidentRef  # an incident that does not exist
    me: str
    other_login: str
    fresh: Callable[[], Tracker]  # a new tracker as ``me`` with an empty cache
    new_incident: NewIncident  # what ``create`` should file
    requests: Callable[[], int] = lambda: 0  # requests the server has seen so far
    again: Callable[[], Tracker] | None = None  # a new tracker as ``me`` on the same cache
    spoil: Callable[[IncidentRef], None] = _nothing  # drop a comment from the cached copy


class TrackerContract:
    @pytest.fixture
    def env(self) -> ContractEnv:  # pragma: no cover - overridden by every backend
        raise NotImplementedError

    def test_whoami_names_the_account_of_the_credentials(self, env: ContractEnv) -> None:
        assert run(env.tracker.whoami()).login == env.me

    def test_posted_comment_is_read_back_with_tracker_author_and_time(
        self, env: ContractEnv
    ) -> None:
        posted = run(env.tracker.post(env.ref, "QA signs off on Firefox 96.0.1.", marker="m-1"))
        snap = run(env.tracker.fetch(env.ref))
        last = snap.comments[-1]
        assert last.id == posted.comment_id
        assert last.body == "QA signs off on Firefox 96.0.1."
        assert last.author.login == env.me
        assert last.created_at.tzinfo is not None
        assert last.created_at.utcoffset() == UTC.utcoffset(None)
        assert not posted.duplicate

    def test_comments_come_oldest_first_with_unique_ids(self, env: ContractEnv) -> None:
        for i in range(3):
            run(env.tracker.post(env.ref, f"comment {i}", marker=f"order-{i}"))
        snap = run(env.tracker.fetch(env.ref))
        ids = [c.id for c in snap.comments]
        assert len(ids) == len(set(ids))
        times = [c.created_at for c in snap.comments]
        assert times == sorted(times)
        bodies = [c.body for c in snap.comments if c.body.startswith("comment ")]
        assert bodies == ["comment 0", "comment 1", "comment 2"]

    def test_another_users_comment_carries_their_login(self, env: ContractEnv) -> None:
        posted = run(env.other.post(env.ref, "Please hold the release.", marker="o-1"))
        snap = run(env.tracker.fetch(env.ref))
        found = [c for c in snap.comments if c.id == posted.comment_id]
        assert len(found) == 1
        assert found[0].author.login == env.other_login

    def test_incremental_read_sees_each_new_comment_exactly_once(self, env: ContractEnv) -> None:
        run(env.tracker.post(env.ref, "first", marker="inc-1"))
        before = run(env.tracker.fetch(env.ref))
        run(env.other.post(env.ref, "second", marker="inc-2"))
        run(env.tracker.post(env.ref, "third", marker="inc-3"))
        after = run(env.tracker.fetch(env.ref))
        ids = [c.id for c in after.comments]
        assert len(ids) == len(set(ids))
        assert [c.id for c in after.comments[: len(before.comments)]] == [
            c.id for c in before.comments
        ]
        assert [c.body for c in after.comments[-2:]] == ["second", "third"]

    def test_unchanged_incident_reads_the_same(self, env: ContractEnv) -> None:
        run(env.tracker.post(env.ref, "only", marker="same-1"))
        first = run(env.tracker.fetch(env.ref))
        second = run(env.tracker.fetch(env.ref))
        assert [(c.id, c.body) for c in first.comments] == [(c.id, c.body) for c in second.comments]

    def test_fresh_cache_reads_what_the_warm_cache_reads(self, env: ContractEnv) -> None:
        run(env.tracker.post(env.ref, "a", marker="fresh-1"))
        run(env.tracker.fetch(env.ref))
        run(env.other.post(env.ref, "b", marker="fresh-2"))
        warm = run(env.tracker.fetch(env.ref))
        cold = run(env.fresh().fetch(env.ref))
        assert [(c.id, c.body, c.author.login) for c in warm.comments] == [
            (c.id, c.body, c.author.login) for c in cold.comments
        ]

    def test_posting_the_same_marker_twice_stores_one_comment(self, env: ContractEnv) -> None:
        body = "Releng signs off on Firefox 96.0.1. [marker 01TESTMARKER]"
        first = run(env.tracker.post(env.ref, body, marker="01TESTMARKER"))
        second = run(env.tracker.post(env.ref, body, marker="01TESTMARKER"))
        assert second.duplicate
        assert second.comment_id == first.comment_id
        snap = run(env.tracker.fetch(env.ref))
        assert sum("01TESTMARKER" in c.body for c in snap.comments) == 1

    def test_text_is_normalised_as_trackers_store_it(self, env: ContractEnv) -> None:
        run(env.tracker.post(env.ref, "line one  \r\nline two\t\r\n\r\n", marker="norm-1"))
        snap = run(env.tracker.fetch(env.ref))
        assert snap.comments[-1].body == "line one\nline two"

    def test_too_long_comment_is_refused_before_anything_is_stored(self, env: ContractEnv) -> None:
        before = len(run(env.tracker.fetch(env.ref)).comments)
        with pytest.raises(CommentTooLong):
            run(env.tracker.post(env.ref, "x" * (COMMENT_LIMIT + 1), marker="long-1"))
        assert len(run(env.tracker.fetch(env.ref)).comments) == before

    def test_comment_at_the_limit_is_accepted(self, env: ContractEnv) -> None:
        run(env.tracker.post(env.ref, "é" * COMMENT_LIMIT, marker="limit-1"))
        assert len(run(env.tracker.fetch(env.ref)).comments[-1].body) == COMMENT_LIMIT

    def test_missing_incident_is_not_found(self, env: ContractEnv) -> None:
        with pytest.raises(NotFound):
            run(env.tracker.fetch(env.missing_ref))

    def test_create_files_an_incident_whose_first_comment_is_the_body(
        self, env: ContractEnv
    ) -> None:
        ref = run(env.tracker.create(env.new_incident))
        snap = run(env.tracker.fetch(ref))
        assert snap.title == env.new_incident.title
        assert snap.comments[0].body == env.new_incident.body
        assert snap.comments[0].author.login == env.me

    def test_a_fresh_read_sees_the_tracker_whatever_the_cache_holds(self, env: ContractEnv) -> None:
        run(env.other.post(env.ref, "Please hold Firefox 96.0.1.", marker="spoil-1"))
        warm = run(env.tracker.fetch(env.ref))
        env.spoil(env.ref)  # the cached copy loses a comment (a damaged or edited cache)
        fresh = run(env.tracker.fetch(env.ref, fresh=True))
        assert [(c.id, c.body) for c in fresh.comments] == [(c.id, c.body) for c in warm.comments]

    def test_sync_mirror_writes_only_when_the_fields_differ(self, env: ContractEnv) -> None:
        run(env.tracker.fetch(env.ref))
        assert run(env.tracker.sync_mirror(env.ref, MIRROR)) is True
        before = env.requests()
        assert run(env.tracker.sync_mirror(env.ref, MIRROR)) is False
        assert env.requests() == before  # what was last read (or written) already agrees

    def test_whoami_costs_nothing_once_known(self, env: ContractEnv) -> None:
        first = run(env.tracker.whoami())
        before = env.requests()
        assert run(env.tracker.whoami()) == first
        if env.again is not None:  # the next command on the same machine
            assert run(env.again().whoami()).login == first.login
        assert env.requests() == before
