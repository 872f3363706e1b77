"""Status digests: what every active incident needs from people, on one screen.

Three layers, as everywhere in this package:

- pure: :func:`build_digest` turns folded states into a :class:`Digest` (the documented
  ``digest --json`` schema), :func:`render_markdown` renders it in at most ~40 lines for
  5 incidents; the schedule math (:func:`latest_slot`, :func:`next_slot`) names the period a
  digest belongs to, with zoneinfo so daylight-saving changes move nothing;
- delivery: :func:`post_once` posts a :class:`~sync_incident.events.DigestPosted` (or any keyed
  event) on a tracker only when no accepted event with the same key is there yet. The tracker
  is the idempotency store, so the guarantee holds across machines; the event id is derived
  from the key (:func:`event_id_for`), so two replicas racing past the check post the SAME
  event, which the tracker's marker check or the fold ("an event id seen twice counts once")
  absorbs. :func:`send_webhooks` posts Slack- or Matrix-compatible JSON to URLs read from the
  environment; the URLs are secrets and never reach output or logs;
- :func:`run_digest`, what the ``digest`` command runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from sync_incident.events import release_key
from sync_incident.policy import Policy
from sync_incident.refs import IncidentRef
from sync_incident.render import age
from sync_incident.state import IncidentState, Step

if TYPE_CHECKING:
    import httpx

    from sync_incident.config import DigestSettings, Settings
    from sync_incident.events import Event
    from sync_incident.service import Session

log = logging.getLogger("sync_incident.digest")

DIGEST_SCHEMA = 1
SCREEN_LINES = 40
LINE_WIDTH = 160
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# --- the model (documented `digest --json` schema) ----------------------------------------


class HoldLine(BaseModel):
    release: str
    by: str
    since: datetime
    reason: str


class ReleaseProgress(BaseModel):
    """Sign-off progress on one release against the teams the policy requires."""

    release: str
    required: list[str]
    signed: list[str]
    missing: list[str]
    holds: int
    ready: bool


class HandoffLine(BaseModel):
    id: str
    by: str
    to: str
    role: str
    since: datetime
    waited_minutes: int


class StepLine(BaseModel):
    step: str
    title: str
    owner: str | None
    state: str
    due: datetime | None
    overdue: bool


class IncidentDigest(BaseModel):
    ref: str
    title: str
    url: str
    status: str
    severity: str | None
    ic: str | None
    opened_at: datetime | None
    age_minutes: int | None
    last_update: datetime | None
    last_update_minutes: int | None
    next_update_due: datetime | None
    update_overdue: bool
    overdue_minutes: int | None
    holds: list[HoldLine]
    releases: list[ReleaseProgress]
    pending_handoffs: list[HandoffLine]
    steps: list[StepLine]  # blocked or overdue checklist steps only
    doubts: int


class Unreadable(BaseModel):
    ref: str
    error: str


class Digest(BaseModel):
    """The documented ``digest --json`` schema (``schema_version`` bumps on breaking changes)."""

    schema_version: int = DIGEST_SCHEMA
    generated_at: datetime
    incidents: list[IncidentDigest]
    unreadable: list[Unreadable] = []


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def build_digest(
    states: Sequence[IncidentState],
    policy: Policy,
    now: datetime,
    *,
    unreadable: Iterable[Unreadable] = (),
) -> Digest:
    """The digest of ``states`` as of ``now`` (pure: no I/O, no clock)."""
    return Digest(
        generated_at=now,
        incidents=[_incident(s, policy, now) for s in states],
        unreadable=list(unreadable),
    )


def _incident(s: IncidentState, policy: Policy, now: datetime) -> IncidentDigest:
    due = s.next_update_due
    overdue = bool(s.status == "active" and due is not None and due < now)
    return IncidentDigest(
        ref=s.ref,
        title=s.title,
        url=s.url,
        status=s.status,
        severity=s.severity,
        ic=s.ic,
        opened_at=s.opened_at,
        age_minutes=_minutes(now - s.opened_at) if s.opened_at else None,
        last_update=s.last_update,
        last_update_minutes=_minutes(now - s.last_update) if s.last_update else None,
        next_update_due=due,
        update_overdue=overdue,
        overdue_minutes=_minutes(now - due) if overdue and due else None,
        holds=[HoldLine(release=h.release, by=h.by, since=h.at, reason=h.reason) for h in s.holds],
        releases=[_progress(s, release, policy) for release in _releases(s)],
        pending_handoffs=[
            HandoffLine(
                id=h.id,
                by=h.by,
                to=h.to,
                role=h.role,
                since=h.at,
                waited_minutes=_minutes(now - h.at),
            )
            for h in s.pending_handoffs
        ],
        steps=[
            StepLine(
                step=st.step,
                title=st.title,
                owner=st.owner,
                state=st.state,
                due=st.due,
                overdue=_step_overdue(st, now),
            )
            for st in s.checklist
            if st.state == "blocked" or _step_overdue(st, now)
        ],
        doubts=len(s.doubts),
    )


def _step_overdue(step: Step, now: datetime) -> bool:
    return bool(step.due is not None and step.state != "done" and step.due < now)


def _releases(s: IncidentState) -> list[str]:
    seen: dict[str, str] = {}
    for release in [*s.releases, *(x.release for x in s.signoffs), *(h.release for h in s.holds)]:
        seen.setdefault(release_key(release), release)
    return list(seen.values())


def _progress(s: IncidentState, release: str, policy: Policy) -> ReleaseProgress:
    from sync_incident.gate import readiness

    verdict = readiness(s, release, policy=policy)
    key = release_key(release)
    if verdict.required:
        signed = [t.team for t in verdict.teams if t.signed]
        missing = [t.team for t in verdict.teams if not t.signed]
    else:  # nothing required: show who signed anyway, and that the gate will refuse
        signed = [x.team for x in s.signoffs if release_key(x.release) == key]
        missing = []
    return ReleaseProgress(
        release=release,
        required=verdict.required,
        signed=signed,
        missing=missing,
        holds=len(verdict.holds),
        ready=verdict.ready,
    )


# --- Markdown --------------------------------------------------------------------------------


def _hhmm(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%m-%d %H:%M UTC")


def _cut(text: str, width: int) -> str:
    indent = text[: len(text) - len(text.lstrip(" "))]
    line = indent + " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def render_markdown(digest: Digest) -> str:
    """At most 4 lines per incident plus a header: 5 incidents fit one 40-line screen."""
    n = len(digest.incidents)
    lines = [
        f"**Incident digest** · {digest.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC · "
        f"{n} incident{'s' if n != 1 else ''}"
    ]
    if not digest.incidents:
        lines.append("No active incidents.")
    for inc in digest.incidents:
        lines.extend(_incident_lines(inc))
    for bad in digest.unreadable:
        lines.append(_cut(f"- **{bad.ref}** could not be read: {bad.error}", LINE_WIDTH))
    return "\n".join(lines)


def _incident_lines(inc: IncidentDigest) -> list[str]:
    status = "RESOLVED" if inc.status == "resolved" else inc.status
    head = (
        f"- **{inc.ref}** {_cut(inc.title or '(no title)', 60)} ({inc.severity or '?'}) · "
        f"IC {inc.ic or 'none'} · {status} for {age(inc.age_minutes)}"
    )
    if inc.doubts:
        head += f" · **{inc.doubts} in doubt**"
    out = [_cut(head, LINE_WIDTH)]
    update = (
        f"  - Update: last {age(inc.last_update_minutes)} ago"
        if inc.last_update
        else "  - Update: none yet"
    )
    if inc.next_update_due:
        update += f" · next due {_hhmm(inc.next_update_due)}"
        if inc.update_overdue:
            update += f" **OVERDUE by {age(inc.overdue_minutes)}**"
    out.append(_cut(update, LINE_WIDTH))
    parts = []
    for rel in inc.releases:
        holds = [h for h in inc.holds if release_key(h.release) == release_key(rel.release)]
        text = rel.release + ":"
        if holds:
            text += " **HOLD** (" + ", ".join(f"{h.by}: {_cut(h.reason, 40)}" for h in holds) + ")"
        if rel.required:
            text += f" sign-offs {len(rel.signed)}/{len(rel.required)}"
            text += f", missing {', '.join(rel.missing)}" if rel.missing else " ✓"
        else:
            signed = ", ".join(rel.signed) or "none"
            text += f" no sign-offs required by the policy (signed: {signed})"
        parts.append(text)
    if parts:
        out.append(_cut("  - " + " · ".join(parts), LINE_WIDTH))
    waiting = [
        f"handoff {'of IC' if h.role == 'ic' else 'of steps'} {h.by}→{h.to} waiting {age(h.waited_minutes)}"
        for h in inc.pending_handoffs
    ]
    for st in inc.steps:
        if st.state == "blocked":
            waiting.append(f"step {st.step} blocked ({st.owner or 'no owner'})")
        elif st.due:
            waiting.append(
                f"step {st.step} overdue since {_hhmm(st.due)} ({st.owner or 'no owner'})"
            )
    if waiting:
        out.append(_cut("  - Waiting: " + " · ".join(waiting), LINE_WIDTH))
    return out


# --- schedules and periods --------------------------------------------------------------------

_SPEC = re.compile(r"^\s*(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})(?:\s+(?P<tz>\S+))?\s*$")


def parse_time_spec(spec: str) -> tuple[time, ZoneInfo]:
    """``"09:00 Europe/Berlin"`` → (09:00, Europe/Berlin); the zone defaults to UTC."""
    from sync_incident.errors import ConfigError

    match = _SPEC.match(spec)
    if not match or int(match["h"]) > 23 or int(match["m"]) > 59:
        raise ConfigError(
            f"digest.times: {spec!r} is not a time like '09:00 Europe/Berlin'",
            hint="write HH:MM and an IANA timezone name",
        )
    try:
        zone = ZoneInfo(match["tz"] or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"digest.times: unknown timezone in {spec!r}") from None
    return time(int(match["h"]), int(match["m"])), zone


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone``.

    A wall time that happens twice (autumn) means its first occurrence; one that does not
    exist (spring) means the instant the clocks jumped over it, shifted by the gap, as
    zoneinfo resolves it. Either way each local day yields exactly one instant.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _candidates(
    times: Sequence[str], every_hours: float | None, around: datetime
) -> list[datetime]:
    out: list[datetime] = []
    for spec in times:
        at, zone = parse_time_spec(spec)
        today = around.astimezone(zone).date()
        out.extend(local_instant(today + timedelta(days=d), at, zone) for d in range(-2, 3))
    if every_hours:
        step = int(every_hours * 3600)
        base = int(around.timestamp()) // step * step  # aligned to the epoch: replicas agree
        out.extend(datetime.fromtimestamp(base + k * step, UTC) for k in range(-1, 3))
    return out


def latest_slot(times: Sequence[str], every_hours: float | None, now: datetime) -> datetime | None:
    """The most recent scheduled instant at or before ``now`` (None: no schedule)."""
    past = [c for c in _candidates(times, every_hours, now) if c <= now]
    return max(past) if past else None


def next_slot(times: Sequence[str], every_hours: float | None, now: datetime) -> datetime | None:
    """The first scheduled instant after ``now`` (None: no schedule)."""
    future = [c for c in _candidates(times, every_hours, now) if c > now]
    return min(future) if future else None


def period_for(settings: DigestSettings, now: datetime) -> datetime:
    """The period a digest made at ``now`` belongs to: the last scheduled slot, else the hour."""
    slot = latest_slot(settings.times, settings.every_hours, now)
    return slot or now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def period_label(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def incident_set_name(refs: Sequence[IncidentRef], all_active: bool) -> str:
    """Names the incident set in keys: stable across replicas that discover incidents at once."""
    if all_active:
        return "all-active"
    keys = sorted({r.key for r in refs})
    if len(keys) == 1:
        return keys[0]
    return "set-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:12]


def digest_key(refs: Sequence[IncidentRef], all_active: bool, period: datetime) -> str:
    return f"digest:{incident_set_name(refs, all_active)}:{period_label(period)}"


# --- idempotent posting -------------------------------------------------------------------------


def event_id_for(key: str, stamp: datetime) -> str:
    """A ULID every replica derives alike: the stamp's milliseconds + 80 bits of sha256(key)."""
    ms = max(0, int(stamp.timestamp() * 1000)) & ((1 << 48) - 1)
    tail = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:10], "big")
    value = (ms << 80) | tail
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


def has_key(state: IncidentState, key: str, types: Iterable[str] = ("digest", "reminder")) -> bool:
    """Whether an accepted digest / reminder with ``key`` is already on the tracker."""
    wanted = set(types)
    return any(e.accepted and e.type in wanted and e.data.get("key") == key for e in state.timeline)


async def post_once(session: Session, ref: IncidentRef, event: Event, key: str) -> bool:
    """Post ``event`` on ``ref`` unless an accepted event with ``key`` is there; True if posted.

    The check reads the tracker right before posting. Two replicas may both pass it; they post
    the same event id (see :func:`event_id_for`), so the tracker's marker check stores it once
    or the fold counts it once. Digests and reminders are informational (they change no state),
    so nothing is mirrored: a designated digest bug must not be tagged as an active incident.
    """
    from sync_incident import codec

    _, state, _ = await session.read(ref)
    if has_key(state, key):
        log.info("already posted", extra={"event": "skip", "key": key, "incident": str(ref)})
        return False
    flavor: codec.Flavor = "github" if ref.kind == "github" else "plain"
    body = codec.Renderer(session.settings.templates_dir).render([event], flavor)
    posted = await session.tracker(ref.kind).post(ref, body, marker=event.id, mirror=None)
    if posted.duplicate:
        log.info(
            "found, not posted again", extra={"event": "dup", "key": key, "incident": str(ref)}
        )
        return False
    log.info(
        "posted",
        extra={"event": "posted", "key": key, "incident": str(ref), "comment": posted.comment_id},
    )
    return True


# --- webhooks -----------------------------------------------------------------------------------


def webhook_payload(text: str, flavor: Literal["slack", "matrix"]) -> dict[str, str]:
    """Incoming-webhook JSON: Slack's ``{"text"}`` or Matrix's ``m.text`` message."""
    if flavor == "matrix":
        return {"msgtype": "m.text", "body": text}
    return {"text": text}


def webhook_flavor(env_name: str, url: str) -> Literal["slack", "matrix"]:
    lowered = (env_name + " " + url).lower()
    return "matrix" if "matrix" in lowered or "/_matrix/" in lowered else "slack"


class _RedactFilter(logging.Filter):
    """Scrubs webhook URLs from httpx's own request log lines."""

    def __init__(self, redactors: Sequence[Callable[[object], str]]) -> None:
        super().__init__()
        self._redactors = redactors

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for redact in self._redactors:
            text = redact(text)
        record.msg, record.args = text, None
        return True


def _url_redactor(url: str) -> Callable[[object], str]:
    from urllib.parse import urlsplit

    from sync_incident.trackers.http import Redactor

    parts = urlsplit(url)
    return Redactor([url, parts.path, parts.query])


async def send_webhooks(
    text: str,
    env_names: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[str]:
    """POST the digest to every webhook whose URL is in one of ``env_names``.

    Returns the problems (already redacted: they name the variable, never the URL).
    """
    from sync_incident.trackers.http import make_client

    if not env_names:
        return []
    env = os.environ if environ is None else environ
    problems: list[str] = []
    urls = {name: env.get(name, "").strip() for name in env_names}
    scrub = _RedactFilter([_url_redactor(url) for url in urls.values() if url])
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    for logger in loggers:
        logger.addFilter(scrub)
    try:
        async with make_client("", transport=transport, timeout=15.0) as client:
            for name, url in urls.items():
                problems.extend(await _send_one(client, name, url, text))
    finally:
        for logger in loggers:
            logger.removeFilter(scrub)
    return problems


async def _send_one(client: httpx.AsyncClient, name: str, url: str, text: str) -> list[str]:
    import httpx

    if not url:
        return [f"webhook variable {name} is not set"]
    redact = _url_redactor(url)
    payload = webhook_payload(text, webhook_flavor(name, url))
    try:
        response = await client.post(url, json=payload)
    except httpx.HTTPError as exc:
        return [redact(f"webhook {name}: {type(exc).__name__}: {exc}")]
    if response.status_code >= 300:
        return [f"webhook {name}: HTTP {response.status_code}"]
    log.info("webhook sent", extra={"event": "webhook", "webhook": name})
    return []


# --- finding active incidents ----------------------------------------------------------------


async def discover_active(
    session: Session, kinds: Iterable[str] | None = None
) -> list[IncidentRef]:
    """Active incidents from the trackers in use (see :func:`kinds_in_use`)."""
    settings = session.settings
    found: list[IncidentRef] = []
    for kind in kinds if kinds is not None else kinds_in_use(settings):
        found.extend(await discover_kind(session, kind))
    return found


def kinds_in_use(settings: Settings) -> list[str]:
    """Local when it is the default tracker or has a file; Bugzilla when it is the default
    tracker or a key is set; GitHub when repositories are configured."""
    from sync_incident.config import bugzilla_key

    kinds = []
    if settings.tracker == "local" or settings.local.db is not None:
        kinds.append("local")
    if settings.tracker == "bugzilla" or bugzilla_key() is not None:
        kinds.append("bugzilla")
    if settings.github.repos:
        kinds.append("github")
    return kinds


async def discover_kind(session: Session, kind: str) -> list[IncidentRef]:
    settings = session.settings
    if kind == "local":
        from sync_incident.trackers.local import LocalTracker

        local = session.tracker("local")
        if isinstance(local, LocalTracker):
            return [ref for ref, _ in await local.list_incidents(active_only=True)]
        lister = getattr(local, "list_incidents", None)
        return [ref for ref, _ in await lister(active_only=True)] if lister else []
    if kind == "bugzilla":
        bz: Any = session.tracker("bugzilla")
        refs: list[IncidentRef] = await bz.search_active(settings.bugzilla.incident_tag)
        return refs
    if kind == "github":
        gh: Any = session.tracker("github")
        found: list[IncidentRef] = await gh.search_active(list(settings.github.repos))
        return found
    return []


async def read_states(
    session: Session, refs: Sequence[IncidentRef], *, concurrency: int = 8
) -> tuple[list[IncidentState], list[Unreadable]]:
    """Read and fold every incident (bounded concurrency); failures become ``Unreadable``."""
    from sync_incident.errors import SyncIncidentError

    gate = asyncio.Semaphore(concurrency)
    results: dict[IncidentRef, IncidentState | Unreadable] = {}

    async def one(ref: IncidentRef) -> None:
        async with gate:
            try:
                _, state, _ = await session.read(ref)
                results[ref] = state
            except SyncIncidentError as exc:
                results[ref] = Unreadable(
                    ref=str(ref), error=f"{type(exc).__name__}: {exc.message}"
                )

    await asyncio.gather(*(one(r) for r in refs))
    states = [v for r in refs if isinstance(v := results[r], IncidentState)]
    bad = [v for r in refs if isinstance(v := results[r], Unreadable)]
    return states, bad


def split_refs(words: Sequence[str]) -> list[list[str]]:
    """``["bug", "1", "local:2", "issue", "o/r#3"]`` → one word list per reference."""
    out: list[list[str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.lower() in ("bug", "issue") and i + 1 < len(words):
            out.append([word, words[i + 1]])
            i += 2
        else:
            out.append([word])
            i += 1
    return out


# --- the command --------------------------------------------------------------------------------


async def run_digest(
    session: Session,
    explicit: list[IncidentRef],
    *,
    all_active: bool = False,
    post_to: str | None = None,
    webhooks: bool = True,
    note: Callable[[str], None] = lambda _: None,
) -> tuple[Digest, list[str]]:
    """Build the digest; post it once to the target and send webhooks. ``note`` gets progress."""
    from sync_incident.errors import UsageError
    from sync_incident.events import DigestPosted
    from sync_incident.refs import ReferenceError, parse_ref

    settings = session.settings
    now = session.clock()
    targets = list(explicit)
    if not targets:
        try:
            targets = [parse_ref(t) for t in settings.incidents]
        except ReferenceError as exc:
            raise UsageError(str(exc)) from None
    if all_active:
        for ref in await discover_active(session):
            if ref not in targets:
                targets.append(ref)
    if not targets:
        raise UsageError(
            "no incidents to digest",
            hint="name them, list them in config `incidents`, or pass --all-active",
        )
    states, bad = await read_states(session, targets)
    if not explicit:  # a digest of *active* incidents
        states = [s for s in states if s.status != "resolved"]
    digest = build_digest(states, session.policy, now, unreadable=bad)
    text = render_markdown(digest)
    problems: list[str] = []
    target_text = post_to or settings.digest.post_to
    posted = False
    if target_text and digest.incidents:
        try:
            target = parse_ref(target_text)
        except ReferenceError as exc:
            raise UsageError(str(exc)) from None
        period = period_for(settings.digest, now)
        key = digest_key(targets, all_active and not explicit, period)
        event = DigestPosted(id=event_id_for(key, period), key=key, text=text)
        posted = await post_once(session, target, event, key)
        note(f"Digest {key} {'posted' if posted else 'already on'} {target}.")
    if webhooks and settings.digest.webhook_env and digest.incidents:
        if target_text and not posted:
            note("Webhooks skipped: this digest was already posted.")
        else:
            problems = await send_webhooks(text, settings.digest.webhook_env)
    return digest, problems
