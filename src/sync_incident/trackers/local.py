"""The embedded local tracker: incidents and comments in one SQLite file.

It is the default when no Bugzilla or GitHub tracker is configured, so the tool works offline
on a fresh machine, and the reference backend for the contract tests. It behaves like a real
tracker where that matters to the fold: the author and creation time of a comment come from
the tracker (the ``--as NAME`` user and the clock), never from the body; bodies are normalised
as trackers store them; a marker already posted by the same user is found, not posted again.

Several processes (the CLI, the daemon, a cron job) may write at once. The file runs in WAL
mode with a busy timeout, and every write is one ``BEGIN IMMEDIATE`` transaction that both
looks for the marker and inserts, so two writers with the same marker store one comment.

SQLite errors are translated here, at the edge, into the tracker error tree of
:mod:`sync_incident.trackers.base`.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import platformdirs

from sync_incident.core.comments import Account, Comment, check_length, normalise_body
from sync_incident.core.errors import NotFound, Rejected, TrackerError, Unavailable, UsageError
from sync_incident.core.refs import IncidentRef, TrackerKind
from sync_incident.trackers import Backend
from sync_incident.trackers.base import Flavor, IncidentSnapshot, Mirror, NewIncident, Posted

if TYPE_CHECKING:
    from sync_incident.config import Settings
    from sync_incident.trackers import BuildContext

ENV_DB = "SYNC_INCIDENT_LOCAL__DB"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000
MAX_USER_LENGTH = 100

# Comments are read in id order, so this index serves both fetch and the marker lookup.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    mirror TEXT
);
CREATE TABLE IF NOT EXISTS comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_by_incident ON comments (incident_id, id);
"""

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def default_db_path() -> Path:
    """Where the local tracker lives unless ``local.db`` (``--db``) says: the user data dir."""
    return platformdirs.user_data_path("sync-incident") / "local.sqlite3"


def validate_user(user: str) -> str:
    """Return ``user`` if it can be a local account name; raise UsageError otherwise."""
    if not user:
        raise UsageError(
            "the local tracker needs a user name", hint="pass --as NAME, e.g. --as alice"
        )
    bad = [ch for ch in user if ch.isspace() or unicodedata.category(ch).startswith("C")]
    if bad:
        raise UsageError(
            f"{user!r} is not a valid local user name: it has whitespace or control characters",
            hint="pass --as NAME with a single word, e.g. --as alice",
        )
    if len(user) > MAX_USER_LENGTH:
        raise UsageError(
            f"local user name is {len(user)} characters; at most {MAX_USER_LENGTH} are allowed",
            hint="pass --as NAME with a shorter name",
        )
    return user


def _format_time(moment: datetime) -> str:
    if moment.tzinfo is None:  # a naive clock is taken to be UTC, as trackers report it
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def _fromiso(text: str) -> datetime:
    # fromisoformat (C, fast) understands "Z" from 3.11 on
    return datetime.fromisoformat(text)


class LocalTracker:
    """A :class:`~sync_incident.trackers.base.Tracker` kept in a SQLite file at ``path``.

    ``user`` is the simulated account every write is made as (``--as NAME``); ``clock`` gives
    the creation time of new comments (UTC ``datetime.now`` by default; tests inject one).
    One connection per instance; call :meth:`aclose` (or use ``async with``) when done.
    """

    kind: TrackerKind = "local"
    flavor: Flavor = "plain"

    def __init__(
        self,
        path: Path,
        *,
        user: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.user = validate_user(user)
        self.path = Path(path).expanduser()
        self.server = str(self.path)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._conn = self._open()

    # -- connection -------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TrackerError(
                f"cannot create the directory of the local tracker {self.path}: {exc.strerror}",
                hint=f"set {ENV_DB} to a writable path",
            ) from exc
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # we issue BEGIN / COMMIT ourselves
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._translate(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._enable_wal(conn)
            self._migrate(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._translate(exc) from exc
            raise
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        # Switching a brand-new file to WAL needs a moment of exclusive access; when several
        # processes open it at once, the loser is told "locked" without the busy handler.
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        if str(mode).lower() != "wal":
            raise TrackerError(
                f"the local tracker {self.path} cannot use WAL journal mode (got {mode!r})",
                hint=f"keep the database on a local file system, or set {ENV_DB} to a path that is",
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise TrackerError(
                    f"the local tracker {self.path} has schema version {version}, but this "
                    f"sync-incident understands versions up to {SCHEMA_VERSION}",
                    hint=f"upgrade sync-incident, or set {ENV_DB} to use another database file",
                )
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _translate(self, exc: sqlite3.Error) -> TrackerError:
        text = str(exc)
        if isinstance(exc, sqlite3.OperationalError) and "locked" in text:
            return Unavailable(
                f"the local tracker {self.path} stayed locked for {BUSY_TIMEOUT_MS // 1000} s",
                hint="another sync-incident process is holding it; try again",
            )
        return TrackerError(
            f"the local tracker {self.path} cannot be used: {text}",
            hint=f"check the file, or set {ENV_DB} to another database file",
        )

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction; ``write`` takes the write lock up front (``BEGIN IMMEDIATE``)."""
        if self._conn is None:
            raise TrackerError(f"the local tracker {self.path} is closed")
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._translate(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._translate(exc) from exc
                raise

    def _now(self) -> str:
        return _format_time(self._clock())

    def _require_local(self, ref: IncidentRef) -> None:
        if ref.kind != "local":
            raise UsageError(
                f"{ref} is not a local incident",
                hint="the local tracker keeps incidents named like local:7",
            )

    def _not_found(self, conn: sqlite3.Connection, ref: IncidentRef) -> NotFound:
        low, high = conn.execute("SELECT min(id), max(id) FROM incidents").fetchone()
        if low is None:
            have = "the local tracker has no incidents yet"
        elif low == high:
            have = f"the local tracker has incident {low}"
        else:
            have = f"the local tracker has incidents {low}–{high}"
        return NotFound(
            f"{ref} does not exist in {self.path} ({have})",
            hint=f"check the number; 'sync-incident open' starts a new incident, "
            f"and {ENV_DB} selects another database file",
        )

    # -- the Tracker protocol ---------------------------------------------------------------

    async def whoami(self) -> Account:
        """The simulated account (``--as NAME``) this tracker writes as."""
        return Account(self.user)

    async def fetch(
        self, ref: IncidentRef, *, fresh: bool = False, history: bool = False
    ) -> IncidentSnapshot:
        """The incident with all its comments, oldest first (always fresh: it is a file)."""
        self._require_local(ref)
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT title, mirror FROM incidents WHERE id = ?", (ref.number,)
            ).fetchone()
            if row is None:
                raise self._not_found(conn, ref)
            rows = conn.execute(
                "SELECT id, author, created_at, body FROM comments "
                "WHERE incident_id = ? ORDER BY id",
                (ref.number,),
            ).fetchall()
        title, mirror = row
        accounts: dict[str, Account] = {}
        comments = []
        for cid, author, created_at, body in rows:
            account = accounts.get(author)
            if account is None:
                account = accounts[author] = Account(author)
            comments.append(Comment(str(cid), account, _fromiso(created_at), body, order=int(cid)))
        return IncidentSnapshot(
            ref=ref,
            title=title,
            url=f"local:{ref.number}",
            comments=comments,
            fields=_load_mirror(mirror),
            requests=0,
        )

    async def post(
        self, ref: IncidentRef, body: str, *, marker: str, mirror: Mirror | None = None
    ) -> Posted:
        """Post ``body`` as the user unless this user already posted ``marker`` on it."""
        self._require_local(ref)
        check_length(body)
        if not marker:
            raise UsageError("a comment needs a non-empty marker, so it is never posted twice")
        text = normalise_body(body)
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT mirror FROM incidents WHERE id = ?", (ref.number,)
            ).fetchone()
            if row is None:
                raise self._not_found(conn, ref)
            existing = conn.execute(
                "SELECT id FROM comments WHERE incident_id = ? AND author = ? "
                "AND instr(body, ?) > 0 ORDER BY id LIMIT 1",
                (ref.number, self.user, marker),
            ).fetchone()
            if existing is not None:
                comment_id, duplicate = int(existing[0]), True
            else:
                cursor = conn.execute(
                    "INSERT INTO comments (incident_id, author, created_at, body) "
                    "VALUES (?, ?, ?, ?)",
                    (ref.number, self.user, self._now(), text),
                )
                comment_id, duplicate = _rowid(cursor), False
            if mirror is not None:
                encoded = _dump_mirror(mirror)
                if encoded != row[0]:
                    conn.execute(
                        "UPDATE incidents SET mirror = ? WHERE id = ?", (encoded, ref.number)
                    )
        return Posted(str(comment_id), duplicate=duplicate)

    async def create(self, new: NewIncident) -> IncidentRef:
        """File an incident whose first comment is ``new.body``; a retried create finds it."""
        title = " ".join(new.title.split())
        if not title:
            raise Rejected("an incident needs a title", hint="give the incident a short title")
        check_length(new.body)
        if not new.marker:
            raise UsageError("a new incident needs a non-empty marker, so it is filed once")
        text = normalise_body(new.body)
        with self._transaction(write=True) as conn:
            existing = conn.execute(
                "SELECT c.incident_id FROM comments AS c "
                "WHERE c.id = (SELECT min(f.id) FROM comments AS f "
                "WHERE f.incident_id = c.incident_id) "
                "AND c.author = ? AND instr(c.body, ?) > 0 ORDER BY c.incident_id LIMIT 1",
                (self.user, new.marker),
            ).fetchone()
            if existing is not None:
                return IncidentRef("local", int(existing[0]))
            now = self._now()
            cursor = conn.execute(
                "INSERT INTO incidents (title, created_by, created_at, mirror) "
                "VALUES (?, ?, ?, NULL)",
                (title, self.user, now),
            )
            number = _rowid(cursor)
            conn.execute(
                "INSERT INTO comments (incident_id, author, created_at, body) VALUES (?, ?, ?, ?)",
                (number, self.user, now, text),
            )
        return IncidentRef("local", number)

    async def sync_mirror(self, ref: IncidentRef, mirror: Mirror) -> bool:
        """Store ``mirror`` when it differs from the stored one."""
        self._require_local(ref)
        encoded = _dump_mirror(mirror)
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT mirror FROM incidents WHERE id = ?", (ref.number,)
            ).fetchone()
            if row is None:
                raise self._not_found(conn, ref)
            if row[0] == encoded:
                return False
            conn.execute("UPDATE incidents SET mirror = ? WHERE id = ?", (encoded, ref.number))
        return True

    async def active_incidents(self) -> list[IncidentRef]:
        """Incidents not resolved (by their mirrored state), oldest first."""
        return [ref for ref, _ in await self.list_incidents(active_only=True)]

    async def resolved_incidents(self, since: datetime) -> list[IncidentRef]:
        """Incidents resolved (by their mirrored state) with a comment since ``since``."""
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT i.id, i.mirror, MAX(c.created_at) FROM incidents i "
                "JOIN comments c ON c.incident_id = i.id GROUP BY i.id ORDER BY i.id"
            ).fetchall()
        return [
            IncidentRef("local", int(number))
            for number, mirror, last in rows
            if not _load_mirror(mirror).get("active", True) and _fromiso(last) >= since
        ]

    async def list_incidents(self, active_only: bool = False) -> list[tuple[IncidentRef, str]]:
        """Every incident as ``(ref, title)``, oldest first; ``active_only`` drops resolved ones.

        An incident without a mirrored state yet counts as active.
        """
        with self._transaction(write=False) as conn:
            rows = conn.execute("SELECT id, title, mirror FROM incidents ORDER BY id").fetchall()
        found = []
        for number, title, mirror in rows:
            if active_only and not _load_mirror(mirror).get("active", True):
                continue
            found.append((IncidentRef("local", int(number)), str(title)))
        return found

    def close(self) -> None:
        """Close the connection; safe to call twice."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def aclose(self) -> None:
        """Close the connection; safe to call twice."""
        self.close()

    async def __aenter__(self) -> LocalTracker:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _rowid(cursor: sqlite3.Cursor) -> int:
    if cursor.lastrowid is None:  # pragma: no cover - an INSERT always sets it
        raise TrackerError("the local tracker did not return the id of a new row")
    return cursor.lastrowid


def _dump_mirror(mirror: Mirror) -> str:
    return json.dumps(dataclasses.asdict(mirror), sort_keys=True, ensure_ascii=False)


def _load_mirror(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:  # only a mirror: the comments stay the source of truth
        return {}
    return value if isinstance(value, dict) else {}


def build(settings: Settings, context: BuildContext) -> LocalTracker:
    """The local tracker from settings: ``--db`` / ``local.db``, acting as ``--as`` / the user."""
    user = context.as_user or settings.local.user or getpass.getuser()
    return LocalTracker(settings.local.db or default_db_path(), user=user)


def poll_minutes(settings: Settings) -> float:
    """A local file is cheap to read: once a minute."""
    return 1.0


def in_use(settings: Settings) -> bool:
    """Local incidents count when the local tracker is the default or has a file of its own."""
    return settings.tracker == "local" or settings.local.db is not None


BACKEND = Backend(
    kind="local",
    build=build,
    in_use=in_use,
    poll_minutes=poll_minutes,
    acts_as_anyone=True,  # --as NAME: one machine plays every person
)
