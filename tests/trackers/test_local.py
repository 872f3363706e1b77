"""The embedded local tracker: the shared contract, concurrency, trust and schema."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier as BarrierType
from pathlib import Path

import pytest

from sync_incident.core.errors import NotFound, Rejected, TrackerError, UsageError
from sync_incident.core.refs import IncidentRef
from sync_incident.trackers.base import Mirror, NewIncident, Tracker
from sync_incident.trackers.local import (
    ENV_DB,
    SCHEMA_VERSION,
    LocalTracker,
    default_db_path,
)
from tests.trackers.contract import ContractEnv, TrackerContract, run


def _mirror(*, active: bool = True, ic: str | None = "alice") -> Mirror:
    return Mirror(
        active=active,
        ic_name=ic,
        ic_account=ic,
        hold=False,
        status_line=f"{'Active' if active else 'Resolved'} · IC {ic}",
    )


def _open_incident(
    tracker: LocalTracker, title: str = "Bustage", marker: str = "open-1"
) -> IncidentRef:
    return run(tracker.create(NewIncident(title=title, body=f"Opened. [{marker}]", marker=marker)))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "local.sqlite3"


@pytest.fixture
def trackers(db: Path) -> Iterator[list[LocalTracker]]:
    """Every tracker a test opens, closed at teardown so no connection leaks."""
    opened: list[LocalTracker] = []
    yield opened
    for tracker in opened:
        tracker.close()


@pytest.fixture
def alice(db: Path, trackers: list[LocalTracker]) -> LocalTracker:
    tracker = LocalTracker(db, user="alice")
    trackers.append(tracker)
    return tracker


class TestLocalContract(TrackerContract):
    @pytest.fixture
    def env(self, db: Path, trackers: list[LocalTracker]) -> ContractEnv:
        def make(user: str) -> LocalTracker:
            tracker = LocalTracker(db, user=user)
            trackers.append(tracker)
            return tracker

        tracker = make("alice")
        ref = _open_incident(tracker)
        return ContractEnv(
            tracker=tracker,
            other=make("bob"),
            ref=ref,
            missing_ref=IncidentRef("local", 999),
            me="alice",
            other_login="bob",
            fresh=lambda: make("alice"),
            new_incident=NewIncident(
                title="Firefox 96.0.1 release blocked",
                body="Incident opened for Firefox 96.0.1. [01NEWINCIDENT]",
                marker="01NEWINCIDENT",
            ),
        )


def test_local_tracker_satisfies_the_protocol(alice: LocalTracker) -> None:
    assert isinstance(alice, Tracker)
    assert alice.kind == "local"


def test_database_is_created_with_parent_dirs_in_wal_mode(db: Path, alice: LocalTracker) -> None:
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert mode == "wal"
    assert version == SCHEMA_VERSION


# -- concurrency ------------------------------------------------------------------------------

WRITERS = 4
POSTS_EACH = 50


def _writer(db: str, user: str, worker: int, number: int, start: BarrierType) -> None:
    """One process: 50 posts; every other one carries a marker its sibling process posts too."""
    ref = IncidentRef("local", number)

    async def main() -> None:
        async with LocalTracker(Path(db), user=user) as tracker:
            start.wait(timeout=60)  # all processes begin writing together, to collide
            for i in range(POSTS_EACH):
                marker = f"shared-{user}-{i}" if i % 2 == 0 else f"own-{worker}-{i}"
                await tracker.post(ref, f"{user} post {i} [{marker}]", marker=marker)
                if i % 10 == 0:
                    await tracker.fetch(ref)

    run(main())


@pytest.mark.slow  # spawns four interpreters
def test_concurrent_writer_processes_store_every_comment_once(
    db: Path, alice: LocalTracker
) -> None:
    ref = _open_incident(alice)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WRITERS)
    users = ["alice", "alice", "bob", "bob"]  # two processes per user race on shared markers
    procs = [
        ctx.Process(target=_writer, args=(str(db), users[w], w, ref.number, start))
        for w in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    assert [proc.exitcode for proc in procs] == [0] * WRITERS

    snap = run(alice.fetch(ref))
    posted = snap.comments[1:]
    shared_per_user = POSTS_EACH // 2
    own_per_process = POSTS_EACH - shared_per_user
    assert len(posted) == 2 * shared_per_user + WRITERS * own_per_process
    markers = Counter(c.body.rsplit("[", 1)[1] for c in posted)
    assert max(markers.values()) == 1
    assert {c.author.login for c in posted} == {"alice", "bob"}
    assert len({c.id for c in snap.comments}) == len(snap.comments)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_concurrent_first_use_of_a_new_file_files_one_incident(
    db: Path, trackers: list[LocalTracker]
) -> None:
    """Threads with their own connections race to create the schema and the same incident."""
    refs: list[IncidentRef] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker() -> None:
        try:
            start.wait()
            tracker = LocalTracker(db, user="alice")
            trackers.append(tracker)
            refs.append(_open_incident(tracker, marker="race-open"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(refs) == 6
    assert set(refs) == {IncidentRef("local", 1)}
    assert len(run(trackers[0].list_incidents())) == 1


# -- trust: author and time come from the tracker -----------------------------------------------


def test_author_comes_from_the_as_user_not_the_body(db: Path, trackers: list[LocalTracker]) -> None:
    mallory = LocalTracker(db, user="mallory")
    trackers.append(mallory)
    ref = _open_incident(mallory)
    run(mallory.post(ref, "author: alice\nQA signs off on Firefox 96.0.1.", marker="forge"))
    last = run(mallory.fetch(ref)).comments[-1]
    assert last.author.login == "mallory"


def test_injected_clock_gives_the_exact_creation_time(
    db: Path, trackers: list[LocalTracker]
) -> None:
    moment = datetime(2022, 1, 11, 9, 30, 15, 123456, tzinfo=UTC)
    tracker = LocalTracker(db, user="alice", clock=lambda: moment)
    trackers.append(tracker)
    ref = _open_incident(tracker)
    run(tracker.post(ref, "later", marker="t-1"))
    times = [c.created_at for c in run(tracker.fetch(ref)).comments]
    assert times == [moment, moment]


def test_clock_in_another_timezone_is_stored_as_utc(db: Path, trackers: list[LocalTracker]) -> None:
    local = datetime(2022, 1, 11, 18, 0, 0, 5, tzinfo=timezone(timedelta(hours=9)))
    tracker = LocalTracker(db, user="alice", clock=lambda: local)
    trackers.append(tracker)
    ref = _open_incident(tracker)
    created = run(tracker.fetch(ref)).comments[0].created_at
    assert created == local
    assert created.utcoffset() == timedelta(0)
    assert created.hour == 9


def test_the_same_marker_by_another_user_is_a_separate_comment(
    db: Path, alice: LocalTracker, trackers: list[LocalTracker]
) -> None:
    bob = LocalTracker(db, user="bob")
    trackers.append(bob)
    ref = _open_incident(alice)
    first = run(alice.post(ref, "x [m]", marker="m"))
    second = run(bob.post(ref, "x [m]", marker="m"))
    assert not second.duplicate
    assert second.comment_id != first.comment_id


def test_create_with_the_same_marker_returns_the_first_incident(alice: LocalTracker) -> None:
    first = _open_incident(alice, title="One", marker="open-same")
    again = _open_incident(alice, title="Two", marker="open-same")
    assert again == first
    assert [title for _, title in run(alice.list_incidents())] == ["One"]


def test_create_without_a_title_is_rejected(alice: LocalTracker) -> None:
    with pytest.raises(Rejected):
        run(alice.create(NewIncident(title="  ", body="b", marker="m")))


# -- users ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["", " ", "al ice", "alice\n", "\talice", "a\x00b", "bo\u200bb", "x" * 101]
)
def test_invalid_user_names_are_rejected(db: Path, name: str) -> None:
    with pytest.raises(UsageError):
        LocalTracker(db, user=name)
    assert not db.exists()


@pytest.mark.parametrize("name", ["alice", "beatrice.q", "relman-bot", "Zoë", "a@example.org"])
def test_valid_user_names_are_who_we_are(db: Path, trackers: list[LocalTracker], name: str) -> None:
    tracker = LocalTracker(db, user=name)
    trackers.append(tracker)
    assert run(tracker.whoami()).login == name


# -- schema -----------------------------------------------------------------------------------


def test_a_newer_schema_version_is_refused_clearly(db: Path) -> None:
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(TrackerError) as caught:
        LocalTracker(db, user="alice")
    assert f"schema version {SCHEMA_VERSION + 1}" in caught.value.message
    assert str(db) in caught.value.message
    assert "upgrade" in caught.value.hint


def test_a_file_that_is_not_a_database_is_a_tracker_error(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(TrackerError) as caught:
        LocalTracker(db, user="alice")
    assert str(db) in caught.value.message


def test_reopening_keeps_the_data(db: Path, trackers: list[LocalTracker]) -> None:
    first = LocalTracker(db, user="alice")
    ref = _open_incident(first)
    run(first.aclose())
    second = LocalTracker(db, user="alice")
    trackers.append(second)
    assert run(second.fetch(ref)).comments[0].body == "Opened. [open-1]"


def test_a_closed_tracker_refuses_to_work(db: Path) -> None:
    tracker = LocalTracker(db, user="alice")
    run(tracker.aclose())
    run(tracker.aclose())
    with pytest.raises(TrackerError):
        run(tracker.list_incidents())


# -- mirror and listing -----------------------------------------------------------------------


def test_mirror_is_stored_and_returned_as_fields(alice: LocalTracker) -> None:
    ref = _open_incident(alice)
    run(alice.post(ref, "IC is alice.", marker="mir-1", mirror=_mirror(ic="alice")))
    fields = run(alice.fetch(ref)).fields
    assert fields["ic_name"] == "alice"
    assert fields["active"] is True
    assert fields["status_line"] == "Active · IC alice"


def test_mirror_is_updated_even_when_the_comment_is_a_duplicate(alice: LocalTracker) -> None:
    ref = _open_incident(alice)
    run(alice.post(ref, "a [m]", marker="m", mirror=_mirror(ic="alice")))
    posted = run(alice.post(ref, "a [m]", marker="m", mirror=_mirror(ic="bob")))
    assert posted.duplicate
    assert run(alice.fetch(ref)).fields["ic_name"] == "bob"


def test_unchanged_mirror_is_not_rewritten(db: Path, alice: LocalTracker) -> None:
    ref = _open_incident(alice)
    raw = sqlite3.connect(db, isolation_level=None)
    try:
        # a trigger in the file itself fires for every connection, so it counts our updates
        raw.execute("CREATE TABLE mirror_writes (mirror TEXT)")
        raw.execute(
            "CREATE TRIGGER count_mirror_writes AFTER UPDATE OF mirror ON incidents "
            "BEGIN INSERT INTO mirror_writes VALUES (new.mirror); END"
        )
        run(alice.post(ref, "a", marker="m1", mirror=_mirror(ic="alice")))
        run(alice.post(ref, "b", marker="m2", mirror=_mirror(ic="alice")))
        run(alice.post(ref, "c", marker="m3"))
        run(alice.post(ref, "d", marker="m4", mirror=_mirror(ic="bob")))
        writes = [row[0] for row in raw.execute("SELECT mirror FROM mirror_writes")]
    finally:
        raw.close()
    assert len(writes) == 2
    assert '"ic_name": "alice"' in writes[0]
    assert '"ic_name": "bob"' in writes[1]


def test_list_incidents_filters_on_the_mirrored_active_flag(alice: LocalTracker) -> None:
    running = _open_incident(alice, title="Running", marker="o-1")
    resolved = _open_incident(alice, title="Resolved", marker="o-2")
    fresh = _open_incident(alice, title="No mirror yet", marker="o-3")
    run(alice.post(running, "still going", marker="a-1", mirror=_mirror(active=True)))
    run(alice.post(resolved, "resolved", marker="a-2", mirror=_mirror(active=False)))
    assert run(alice.list_incidents()) == [
        (running, "Running"),
        (resolved, "Resolved"),
        (fresh, "No mirror yet"),
    ]
    assert run(alice.list_incidents(active_only=True)) == [
        (running, "Running"),
        (fresh, "No mirror yet"),
    ]


def test_resolved_incidents_are_those_mirrored_resolved_with_a_comment_since(
    alice: LocalTracker,
) -> None:
    running = _open_incident(alice, title="Running", marker="o-1")
    resolved = _open_incident(alice, title="Resolved", marker="o-2")
    run(alice.post(running, "still going", marker="a-1", mirror=_mirror(active=True)))
    run(alice.post(resolved, "resolved", marker="a-2", mirror=_mirror(active=False)))
    earlier = datetime.now(UTC) - timedelta(days=1)
    assert run(alice.resolved_incidents(earlier)) == [resolved]
    assert run(alice.resolved_incidents(earlier + timedelta(days=2))) == []


# -- errors -----------------------------------------------------------------------------------


def test_missing_incident_names_the_path_and_the_existing_range(
    db: Path, alice: LocalTracker
) -> None:
    for i in range(3):
        _open_incident(alice, marker=f"o-{i}")
    with pytest.raises(NotFound) as caught:
        run(alice.fetch(IncidentRef("local", 7)))
    assert (
        caught.value.message
        == f"local:7 does not exist in {db} (the local tracker has incidents 1–3)"
    )
    assert caught.value.hint


def test_missing_incident_in_an_empty_database_says_so(alice: LocalTracker) -> None:
    with pytest.raises(NotFound, match="has no incidents yet"):
        run(alice.fetch(IncidentRef("local", 1)))


def test_posting_to_a_missing_incident_is_not_found_and_stores_nothing(
    db: Path, alice: LocalTracker
) -> None:
    with pytest.raises(NotFound):
        run(alice.post(IncidentRef("local", 5), "hello", marker="m"))
    raw = sqlite3.connect(db)
    try:
        assert raw.execute("SELECT count(*) FROM comments").fetchone()[0] == 0
    finally:
        raw.close()


def test_a_non_local_reference_is_a_usage_error(alice: LocalTracker) -> None:
    with pytest.raises(UsageError):
        run(alice.fetch(IncidentRef("bugzilla", 1)))


def test_an_empty_marker_is_refused(alice: LocalTracker) -> None:
    ref = _open_incident(alice)
    with pytest.raises(UsageError):
        run(alice.post(ref, "x", marker=""))


# -- default path and speed -------------------------------------------------------------------


def test_db_path_comes_from_the_environment_through_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from sync_incident.config import load_settings

    monkeypatch.setenv(ENV_DB, str(tmp_path / "x.sqlite3"))
    assert load_settings().local.db == tmp_path / "x.sqlite3"


def test_default_db_path_falls_back_to_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_DB, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = default_db_path()
    assert path.name == "local.sqlite3"
    assert "sync-incident" in path.parts


def test_fetching_ten_thousand_comments_returns_them_all_in_order(
    db: Path, alice: LocalTracker
) -> None:
    # the time it takes is measured by bench/fold.py (show_local), never by a timed test
    ref = _open_incident(alice)
    raw = sqlite3.connect(db)
    try:
        with raw:
            raw.executemany(
                "INSERT INTO comments (incident_id, author, created_at, body) VALUES (?, ?, ?, ?)",
                [
                    (ref.number, "bob", "2022-01-11T09:30:15.123456Z", f"event {i}")
                    for i in range(10_000)
                ],
            )
    finally:
        raw.close()
    snap = run(alice.fetch(ref))
    assert len(snap.comments) == 10_001
    assert [c.body for c in snap.comments[1:4]] == ["event 0", "event 1", "event 2"]
    assert snap.comments[-1].body == "event 9999"
