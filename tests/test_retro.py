"""The retrospective draft: golden files, content, posting, the CLI and the picture in Chromium.

Golden files live in ``tests/fixtures/retro/``; regenerate them with ``UPDATE_GOLDEN=1``
after a deliberate change, and read the diff before committing it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sync_incident.application.act import post_events
from sync_incident.cli.app import app
from sync_incident.config import load_settings
from sync_incident.core import codec
from sync_incident.core.comments import COMMENT_LIMIT, Account, Comment
from sync_incident.core.events import (
    EVENT_ADAPTER,
    Event,
    HoldRaised,
    HoldReleased,
    Link,
    Note,
    RetroNote,
    SignoffRevoked,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Policy
from sync_incident.core.readiness import readiness
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.demo import demo_settings, play
from sync_incident.retro import (
    Retro,
    build_retro,
    post_retro,
    render_html,
    render_markdown,
    timeline_svg,
)
from sync_incident.service import Session
from sync_incident.trackers.local import LocalTracker

FIXTURES = Path(__file__).parent / "fixtures" / "retro"
ARTIFACTS = Path(__file__).parents[1] / "test-artifacts"
NOW = datetime(2022, 1, 20, 12, 0, tzinfo=UTC)
DEMO_BASE = datetime(2022, 1, 12, 14, 0, tzinfo=UTC)
CHROMIUM_APT = "apt-get update && apt-get install -y chromium"


# --- helpers ---------------------------------------------------------------------------------


def _policy() -> Policy:
    return load_settings(None, policy_file=FIXTURES / "policy.toml").policy


def _comments() -> list[Comment]:
    raw = json.loads((FIXTURES / "incident.json").read_text(encoding="utf-8"))
    return [
        Comment(c["id"], Account(c["author"]), datetime.fromisoformat(c["created_at"]), c["body"])
        for c in raw
    ]


def _recorded_state(comments: list[Comment] | None = None) -> IncidentState:
    return fold(
        comments if comments is not None else _comments(),
        kind="bugzilla",
        policy=_policy(),
        now=NOW,
        ref="bug 1750000",
        title="Firefox 96.0.1: start-up crash on Windows after the update",
        url="https://bugzilla.mozilla.org/show_bug.cgi?id=1750000",
    )


@pytest.fixture(scope="module")
def recorded() -> Retro:
    return build_retro(_recorded_state(), _policy(), now=NOW)


def _golden(name: str, text: str) -> None:
    path = FIXTURES / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run the tests with UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from the golden file (UPDATE_GOLDEN=1 rewrites it)"


def _fixed_id(n: int) -> str:
    return f"01FS0000GG{n:016d}"  # a valid ULID: Crockford base32, 26 characters


def _walk(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, ids) for v in value]
    if isinstance(value, str) and value in ids:
        return ids[value]
    return value


def _normalised_demo(db: Path) -> tuple[list[Comment], IncidentState, Policy]:
    """The demo's comments with fixed ids and times, so its retrospective is a golden file."""

    async def fetch() -> list[Comment]:
        tracker = LocalTracker(db, user="dana")
        try:
            return (await tracker.fetch(IncidentRef("local", 1))).comments
        finally:
            await tracker.aclose()

    ids: dict[str, str] = {}
    out: list[Comment] = []
    for index, comment in enumerate(asyncio.run(fetch())):
        at = DEMO_BASE + timedelta(minutes=25 * index)
        events: list[Event] = []
        for event in codec.parse(comment.body).events:
            ids.setdefault(event.id, _fixed_id(len(ids) + 1))
            data = _walk(event.model_dump(mode="json"), ids)
            if data.get("next_update_due"):
                data["next_update_due"] = (at + timedelta(hours=2)).isoformat()
            for step in data.get("next_steps", []):
                step["by"] = None
            events.append(EVENT_ADAPTER.validate_python(data))
        body = codec.render(events) if events else comment.body
        out.append(Comment(str(index + 1), comment.author, at, body))
    settings = demo_settings(db, db.with_suffix(".cache"))
    state = fold(
        out,
        kind="local",
        policy=settings.policy,
        now=NOW,
        ref="local:1",
        title="Startup crash spike in Product 2.0.3 release candidate",
        url="local:1",
    )
    return out, state, settings.policy


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    lines: list[str] = []
    assert play(db, echo=lines.append) == 0, "\n".join(lines)
    return db


@pytest.fixture(scope="module")
def demo(demo_db: Path) -> Retro:
    _, state, policy = _normalised_demo(demo_db)
    return build_retro(state, policy, now=NOW)


# --- the recorded fixture --------------------------------------------------------------------


def test_fixture_matches_its_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_incident", FIXTURES / "make_incident.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = json.loads((FIXTURES / "incident.json").read_text(encoding="utf-8"))
    assert module.comments() == expected, "run tests/fixtures/retro/make_incident.py"


def test_recorded_incident_has_what_the_issue_asks_for() -> None:
    state = _recorded_state()
    zones = {p.timezone for p in _policy().people.values() if "timezone" in p.model_fields_set}
    assert len(zones) >= 3
    assert (state.opened_at is not None and state.resolved_at is not None) and (
        state.resolved_at - state.opened_at > timedelta(days=2)
    )
    assert [t.ic for t in state.ic_history] == ["alice", "beatrice", "kenji"]
    assert [h.status for h in state.handoffs] == ["declined", "accepted", "accepted"]
    assert len(state.released_holds) == 1 and not state.holds
    assert sum(e.occurred_at is not None for e in state.timeline) == 2
    assert not state.doubts


# --- golden files ----------------------------------------------------------------------------


def test_recorded_markdown_matches_golden(recorded: Retro) -> None:
    _golden("expected.md", render_markdown(recorded))


def test_recorded_html_matches_golden(recorded: Retro) -> None:
    _golden("expected.html", render_html(recorded))


def test_demo_markdown_matches_golden(demo: Retro) -> None:
    _golden("demo.md", render_markdown(demo))


def test_demo_html_matches_golden(demo: Retro) -> None:
    _golden("demo.html", render_html(demo))


def test_rendering_is_deterministic(recorded: Retro) -> None:
    again = build_retro(_recorded_state(), _policy(), now=NOW + timedelta(days=30))
    assert render_markdown(again) == render_markdown(recorded)
    assert render_html(again) == render_html(recorded)


# --- content ---------------------------------------------------------------------------------


def test_impact_window_durations(recorded: Retro) -> None:
    w = recorded.window
    assert w.opened_at == datetime(2022, 1, 10, 17, 5, tzinfo=UTC)
    assert w.mitigated_at == datetime(2022, 1, 11, 16, 0, tzinfo=UTC)  # the ship decision
    assert w.resolved_at == datetime(2022, 1, 13, 1, 15, tzinfo=UTC)
    assert (w.to_mitigated_minutes, w.to_resolved_minutes) == (22 * 60 + 55, 2 * 1440 + 490)
    assert w.first_sign_minutes == 85  # the backfilled first crash reports
    markdown = render_markdown(recorded)
    assert "| Mitigated | 2022-01-11 16:00 UTC | 22 h 55 min |" in markdown
    assert "| Resolved | 2022-01-13 01:15 UTC | 2 d 8 h 10 min |" in markdown


def test_mitigated_falls_back_to_first_status_after_the_last_hold_release() -> None:
    comments = [
        c for c in _comments() if not any(e.type == "ship" for e in codec.parse(c.body).events)
    ]
    retro = build_retro(_recorded_state(comments), _policy(), now=NOW)
    assert retro.window.mitigated_at == datetime(2022, 1, 12, 0, 30, tzinfo=UTC)
    assert "status update after the last hold was released" in retro.window.mitigated_how


def test_timeline_shows_local_times_of_each_configured_timezone(recorded: Retro) -> None:
    assert [z.name for z in recorded.zones] == [
        "America/Los_Angeles",
        "Europe/Berlin",
        "Asia/Tokyo",
    ]
    opened = next(r for r in recorded.timeline if r.type == "opened")
    assert opened.local == ["2022-01-10 09:05", "2022-01-10 18:05", "2022-01-11 02:05"]
    assert opened.actor_local == "2022-01-10 09:05"  # Alice's own, in Los Angeles
    assert [z.offsets for z in recorded.zones] == ["UTC−08:00", "UTC+01:00", "UTC+09:00"]
    assert "| America/Los_Angeles | Europe/Berlin | Asia/Tokyo |" in render_markdown(recorded)


def test_person_without_a_configured_timezone_gets_no_column(recorded: Retro) -> None:
    # Bob has no timezone in policy.toml (and his only event was rejected)
    assert all("bob" not in z.people for z in recorded.zones)


def test_backfilled_events_sit_at_their_occurred_time_and_are_marked(recorded: Retro) -> None:
    first = recorded.timeline[0]
    assert first.backfilled and first.at == datetime(2022, 1, 10, 15, 40, tzinfo=UTC)
    assert first.recorded_at == datetime(2022, 1, 10, 17, 20, tzinfo=UTC)
    call = next(r for r in recorded.timeline if "release-drivers call" in r.summary)
    index = recorded.timeline.index(call)
    assert recorded.timeline[index - 1].type == "hold.raised"  # 09:00 < 10:15 < 12:30
    assert "| 2022-01-10 15:40 (backfilled) |" in render_markdown(recorded)
    assert times_are_sorted(recorded)


def times_are_sorted(retro: Retro) -> bool:
    return all(a.at <= b.at for a, b in zip(retro.timeline, retro.timeline[1:], strict=False))


def test_who_did_what_per_participant(recorded: Retro) -> None:
    people = {p.person: p for p in recorded.participants}
    assert list(people) == ["alice", "kenji", "beatrice", "quinn", "morgan"]
    assert people["alice"].ic_minutes == 14 * 60 + 40
    assert people["beatrice"].ic_minutes == 16 * 60 + 5
    assert people["kenji"].ic_minutes == 25 * 60 + 25  # until the resolution
    assert people["quinn"].holds_raised == 1 and people["quinn"].holds_released == 1
    assert people["quinn"].decisions == ["QA on Firefox 96.0.2"]
    assert people["morgan"].decisions == ["ship decision on Firefox 96.0.2"]
    assert people["kenji"].steps_done == ["step 3"]
    assert people["kenji"].handoffs_declined == 1


def test_handoffs_show_waits_and_the_declined_one(recorded: Retro) -> None:
    rows = [(h.by, h.to, h.status, h.waited_minutes) for h in recorded.handoffs]
    assert rows == [
        ("alice", "kenji", "declined", 25),
        ("alice", "beatrice", "accepted", 6 * 60 + 35),
        ("beatrice", "kenji", "accepted", 8 * 60 + 20),
    ]
    markdown = render_markdown(recorded)
    assert "declined: I am on leave on 11 January; please ask Beatrice in Berlin." in markdown
    assert "| Alice → Beatrice (IC role) | 2022-01-11 01:10 UTC | accepted" in markdown


def test_holds_name_who_raised_and_released_and_how_long(recorded: Retro) -> None:
    (hold,) = recorded.holds
    assert (hold.by, hold.released_by, hold.held_minutes) == ("quinn", "quinn", 5 * 60 + 10)
    assert "| Firefox 96.0.2 | Quinn | 2022-01-11 09:00 UTC |" in render_markdown(recorded)


def test_signoffs_per_release_and_the_ship_decision(recorded: Retro) -> None:
    fixed = next(r for r in recorded.release_rows if r.release == "Firefox 96.0.2")
    assert [(s.team, s.by) for s in fixed.signoffs] == [("QA", "quinn"), ("Releng", "beatrice")]
    assert fixed.missing == []
    assert [s.by for s in fixed.ships] == ["morgan"]


def test_release_readiness_is_the_gates_verdict(recorded: Retro) -> None:
    state = _recorded_state()
    for row in recorded.release_rows:
        verdict = readiness(state, row.release, policy=_policy())
        assert (row.ready, row.required, row.reasons) == (
            verdict.ready,
            verdict.required,
            verdict.reasons,
        )
        assert sorted(row.missing + row.revoked + row.stale) == sorted(
            t.team for t in verdict.teams if not t.signed
        )
        assert row.verdict == verdict.label
    assert "Gate verdict at the end of the record: **NOT READY**, because:" in (
        render_markdown(recorded)
    )


def _recorded_with(*extra: tuple[str, str, Event]) -> Retro:
    """The recorded incident with more events: (author, "HH:MM" on 11 January, event)."""
    comments = _comments()
    for n, (who, at, event) in enumerate(extra):
        when = datetime.fromisoformat(f"2022-01-11T{at}:00+00:00")
        comments.append(Comment(f"96{n}", Account(who), when, codec.render(event)))
    comments.sort(key=lambda c: c.created_at)
    return build_retro(_recorded_state(comments), _policy(), now=NOW)


def _second_hold() -> tuple[tuple[str, str, Event], ...]:
    """A hold on the fixed release raised and released after its ship decision (16:00)."""
    hold = HoldRaised(id=_fixed_id(600), release="Firefox 96.0.2", reason="a new crash signature")
    released = HoldReleased(
        id=_fixed_id(601), release="Firefox 96.0.2", hold=hold.id, reason="not our crash"
    )
    return (("quinn@example.com", "17:00", hold), ("quinn@example.com", "17:30", released))


def test_a_ship_decision_the_gate_calls_stale_is_marked_stale() -> None:
    retro = _recorded_with(*_second_hold())
    fixed = next(r for r in retro.release_rows if r.release == "Firefox 96.0.2")
    (ship,) = fixed.ships
    assert ship.stale is not None and "predates the hold quinn raised" in ship.stale
    text = render_markdown(retro)
    line = next(x for x in text.splitlines() if x.startswith("- **Ship decision**"))
    assert " by Morgan: " in line and " — **stale:** morgan's ship decision" in line, line
    assert line.endswith("Relman must say to ship Firefox 96.0.2 again."), line
    assert 'class="tag stale">stale</span> morgan' in render_html(retro)
    signed = [x for x in text.splitlines() if "signs off on Firefox 96.0.2" in x]
    assert signed and all(" — **stale:** " in x for x in signed), signed


def test_a_revoked_team_is_revoked_not_missing() -> None:
    revoke = SignoffRevoked(
        id=_fixed_id(610), release="Firefox 96.0.2", team="QA", reason="a new crash signature"
    )
    retro = _recorded_with(("quinn@example.com", "17:00", revoke))
    fixed = next(r for r in retro.release_rows if r.release == "Firefox 96.0.2")
    assert (fixed.missing, fixed.revoked, fixed.verdict) == ([], ["QA"], "NOT READY")
    text = render_markdown(retro)
    assert "Required sign-offs: QA, Releng — **revoked: QA**." in text
    assert "**missing: QA**" not in text


def test_an_in_doubt_release_is_labelled_in_doubt_not_not_ready() -> None:
    comments = [
        replace(c, edited=True) if '"team":"QA","release":"Firefox 96.0.2"' in c.body else c
        for c in _comments()
    ]
    retro = build_retro(_recorded_state(comments), _policy(), now=NOW)
    fixed = next(r for r in retro.release_rows if r.release == "Firefox 96.0.2")
    assert fixed.verdict == "IN DOUBT"
    assert "Gate verdict at the end of the record: **IN DOUBT**, because:" in (
        render_markdown(retro)
    )
    assert 'data-verdict="IN DOUBT"' in render_html(retro)


def test_each_gate_reason_is_its_own_line() -> None:
    retro = _recorded_with(*_second_hold())
    text = render_markdown(retro)
    reasons = [x for x in text.splitlines() if x[:3] in ("1. ", "2. ", "3. ")]
    fixed = next(r for r in retro.release_rows if r.release == "Firefox 96.0.2")
    assert len(fixed.reasons) == 2 and all(r.endswith(".") for r in fixed.reasons)
    assert [f"{n}. {r}" for n, r in enumerate(fixed.reasons, 1)] == reasons[-2:]


def test_a_signoff_before_a_later_hold_is_stale_not_given() -> None:
    # a second hold on the fixed release after both sign-offs: the gate wants them renewed
    hold = _fixed_id(500)
    raised = HoldRaised(id=hold, release="Firefox 96.0.2", reason="a new crash signature")
    released = HoldReleased(
        id=_fixed_id(501), release="Firefox 96.0.2", hold=hold, reason="not our crash"
    )
    comments = _comments()
    pairs: list[tuple[Event, str]] = [(raised, "15:10"), (released, "15:20")]
    for n, (event, at) in enumerate(pairs):
        when = datetime.fromisoformat(f"2022-01-11T{at}:00+00:00")
        comments.append(Comment(f"95{n}", Account("quinn@example.com"), when, codec.render(event)))
    comments.sort(key=lambda c: c.created_at)
    retro = build_retro(_recorded_state(comments), _policy(), now=NOW)
    fixed = next(r for r in retro.release_rows if r.release == "Firefox 96.0.2")
    assert (fixed.ready, fixed.missing, fixed.stale) == (False, [], ["QA", "Releng"])
    assert "**stale (signed before a later hold): QA, Releng**" in render_markdown(retro)


def test_rejected_events_have_their_own_section(recorded: Retro) -> None:
    kinds = [(p.kind, p.who) for p in recorded.problems]
    assert kinds == [("rejected", "bob"), ("rejected", "mallory@example.net")]
    section = render_markdown(recorded).split("## Rejected, retracted and doubtful events")[1]
    assert "only quinn, who raised the hold" in section.split("##")[0]
    # the rejected sign-off is not counted anywhere else
    assert all("mallory" not in p.person for p in recorded.participants)


def test_links_include_patches_bugs_and_note_links(recorded: Retro) -> None:
    assert [link.kind for link in recorded.links] == ["note", "bug", "patch"]


def test_the_prompt_to_link_names_the_url_option_the_command_takes(demo: Retro) -> None:
    command = "sync-incident link local:1 --url URL --kind patch|doc|bug"
    assert f"`{command}`" in render_markdown(demo)
    assert f"<code>{command}</code>" in render_html(demo)


def test_retro_sections_are_filled_from_notes(recorded: Retro) -> None:
    filled = {s.kind: [i.text for i in s.items] for s in recorded.sections}
    assert all(len(items) == 1 for items in filled.values())
    assert "To fill in" not in render_markdown(recorded)


def test_empty_sections_become_prompts(demo: Retro) -> None:
    markdown = render_markdown(demo)
    assert markdown.count("> **To fill in:**") == 4
    assert "--kind root_cause" in markdown and "--kind action_item" in markdown
    assert render_html(demo).count('class="prompt"') >= 4


def test_demo_retro_tells_the_seed_story(demo: Retro) -> None:
    assert [t.ic for t in demo.tenures] == ["dana", "beatrice"]
    assert [(h.by, h.released_by) for h in demo.holds] == [("alice", "alice")]
    assert demo.window.mitigated_at is not None and demo.window.resolved_at is None
    assert "not resolved" in render_markdown(demo)


def test_active_incident_durations_end_at_the_last_recorded_event() -> None:
    comments = [c for c in _comments() if c.created_at < datetime(2022, 1, 12, tzinfo=UTC)]
    retro = build_retro(_recorded_state(comments), _policy(), now=NOW)
    assert retro.window.resolved_at is None
    assert retro.window.as_of == datetime(2022, 1, 11, 23, 50, tzinfo=UTC)
    assert retro.tenures[-1].until is None and retro.tenures[-1].minutes == 0


def test_html_is_self_contained(recorded: Retro) -> None:
    page = render_html(recorded).lower()
    for needle in ("<script", "<link", " src=", "@import", "url(", "@font-face"):
        assert needle not in page
    assert "@media print" in page and "<svg" in page


def test_html_escapes_text_from_the_record() -> None:
    comments = _comments()
    hostile = RetroNote(id=_fixed_id(999), kind="went_well", text="<script>alert(1)</script> & co")
    comments.append(
        Comment(
            "9999", Account("quinn@example.com"), NOW - timedelta(days=5), codec.render(hostile)
        )
    )
    retro = build_retro(_recorded_state(comments), _policy(), now=NOW)
    page = render_html(retro)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page


def test_html_links_only_http_and_https_urls() -> None:
    comments = _comments()
    posted: list[Event] = [
        Link(id=_fixed_id(997), url="javascript:alert(1)", kind="doc", title="the runbook"),
        Note(id=_fixed_id(998), text="See the log.", links=["data:text/html,<b>x</b>"]),
    ]
    for n, event in enumerate(posted):
        at = NOW - timedelta(days=5, minutes=n)
        comments.append(Comment(f"999{n}", Account("quinn@example.com"), at, codec.render(event)))
    page = render_html(build_retro(_recorded_state(comments), _policy(), now=NOW))
    page = page.replace("<wbr>", "")  # where a long URL may wrap
    assert 'href="javascript:' not in page and 'href="data:' not in page
    assert "javascript:alert(1)" in page and "data:text/html,&lt;b&gt;x&lt;/b&gt;" in page
    assert '<a href="https://bugzilla.mozilla.org/show_bug.cgi?id=1750000">' in page


def test_html_timeline_rows_open_to_every_timezone_without_abbreviations(
    recorded: Retro,
) -> None:
    page = render_html(recorded)
    opened = recorded.timeline[1]
    row = page.split(f'id="e-{opened.event_id}"')[1].split("</li>\n")[0]
    summary, more = row.split("</summary>")
    assert "<details>" in row and "17:05" in summary and "Alice" in summary
    assert "09:05 <span" in summary and "America/Los_Angeles" in summary  # their own time
    for local, zone in zip(opened.local, recorded.zones, strict=True):
        assert f'{local}</span> <span class="zone">{zone.label}</span>' in more
    for abbreviation in ("PST", "CET", "JST"):
        assert abbreviation not in page


def test_markdown_table_cells_escape_pipes(recorded: Retro) -> None:
    row = replace(recorded.timeline[1], summary="a | b")
    retro = replace(recorded, timeline=[row])
    assert "a \\| b" in render_markdown(retro)


# --- posting ---------------------------------------------------------------------------------


def _session(db: Path, user: str = "dana") -> Session:
    return Session(demo_settings(db, db.with_suffix(".cache")), as_user=user)


async def _draft(db: Path) -> str:
    async with _session(db) as session:
        state = (await session.read(IncidentRef("local", 1))).state
        return render_markdown(build_retro(state, session.policy, now=NOW))


async def _post(db: Path, markdown: str) -> Any:
    async with _session(db) as session:
        return await post_retro(session, IncidentRef("local", 1), markdown)


async def _comment_count(db: Path) -> int:
    tracker = LocalTracker(db, user="dana")
    try:
        return len((await tracker.fetch(IncidentRef("local", 1))).comments)
    finally:
        await tracker.aclose()


@pytest.fixture
def fresh_demo(tmp_path: Path) -> Path:
    db = tmp_path / "demo.sqlite3"
    assert play(db, echo=lambda _: None) == 0
    return db


def test_post_is_idempotent_and_changes_post_a_new_revision(fresh_demo: Path) -> None:
    db = fresh_demo
    before = asyncio.run(_comment_count(db))
    first = asyncio.run(_post(db, asyncio.run(_draft(db))))
    assert first.posted and first.revision == 1
    assert asyncio.run(_comment_count(db)) == before + 1

    # the posted draft itself must not change the next draft
    second = asyncio.run(_post(db, asyncio.run(_draft(db))))
    assert not second.posted and "up to date" in second.message
    assert asyncio.run(_comment_count(db)) == before + 1

    async def add_note() -> None:
        async with _session(db, "quinn") as session:
            note = RetroNote(kind="went_well", text="Alice's hold stopped a bad release.")
            await post_events(session, IncidentRef("local", 1), [note])

    asyncio.run(add_note())
    third = asyncio.run(_post(db, asyncio.run(_draft(db))))
    assert third.posted and third.revision == 2
    assert asyncio.run(_comment_count(db)) == before + 3

    async def last_draft() -> dict[str, Any]:
        async with _session(db) as session:
            state = (await session.read(IncidentRef("local", 1))).state
        return [e for e in state.timeline if e.type == "retro.draft"][-1].data

    data = asyncio.run(last_draft())
    assert data["revision"] == 2
    assert data["text"].startswith("**Retrospective draft, revision 2**")
    assert "Alice's hold stopped a bad release." in data["text"]


def test_post_truncates_a_long_timeline_instead_of_failing(fresh_demo: Path) -> None:
    rows = "".join(f"| 2022-01-12 {i % 24:02d}:00 | someone did thing {i} |\n" for i in range(4000))
    markdown = (
        "# Retrospective draft: big\n\n## Timeline\n\n| UTC | What |\n|---|---|\n"
        f"{rows}\n## Root causes\n\n- the end\n"
    )
    result = asyncio.run(_post(fresh_demo, markdown))
    assert result.posted and result.truncated

    async def last_body() -> str:
        tracker = LocalTracker(fresh_demo, user="dana")
        try:
            return (await tracker.fetch(IncidentRef("local", 1))).comments[-1].body
        finally:
            await tracker.aclose()

    body = asyncio.run(last_body())
    assert len(body) <= COMMENT_LIMIT
    assert "Timeline truncated:" in body and "of 4000 events are shown" in body
    assert "- the end" in body  # the sections after the timeline survive
    again = asyncio.run(_post(fresh_demo, markdown))
    assert not again.posted  # same content: nothing new, even when truncated


def test_post_cuts_text_when_even_an_empty_timeline_is_too_long(fresh_demo: Path) -> None:
    markdown = "# Retrospective draft\n\n## Root causes\n\n" + ("- a very long note\n" * 8000)
    result = asyncio.run(_post(fresh_demo, markdown))
    assert result.posted and result.truncated


# --- the command -----------------------------------------------------------------------------


def test_cli_retro_writes_html_and_posts_once(fresh_demo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "retro.html"
    base = ["--db", str(fresh_demo), "--as", "dana", "retro", "local:1"]
    result = runner.invoke(app, [*base, "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    shown = runner.invoke(app, base)
    assert shown.exit_code == 0 and "## Impact window" in shown.stdout

    posted = runner.invoke(app, [*base, "--post"])
    assert posted.exit_code == 0 and "revision 1" in posted.stdout
    again = runner.invoke(app, [*base, "--post"])
    assert again.exit_code == 0 and "up to date" in again.stdout


def test_cli_retro_help_describes_the_command() -> None:
    result = CliRunner().invoke(app, ["retro", "--help"])
    assert result.exit_code == 0
    assert "--format" in result.stdout and "--post" in result.stdout


def _load_generator(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, FIXTURES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _long_retro(*, ancient: bool) -> Retro:
    """60+ events over three days in six timezones; ``ancient``: plus a backfill from 2018."""
    story = _load_generator("make_long_incident")
    policy = load_settings(None, policy_file=FIXTURES / "long-policy.toml").policy
    comments = [
        Comment(c["id"], Account(c["author"]), c["created_at"], c["body"])
        for c in story.comments(ancient=ancient)
    ]
    state = fold(
        comments,
        kind="bugzilla",
        policy=policy,
        now=NOW,
        ref=story.REF,
        title=story.TITLE,
        url=story.URL,
    )
    return build_retro(state, policy, now=NOW)


def test_long_incident_is_long_wide_and_reaches_back_years() -> None:
    retro = _long_retro(ancient=False)
    assert len(retro.timeline) == 150 and len(retro.participants) == 15
    zones = {p.timezone for p in retro.participants}
    assert len(zones) == 15
    w = retro.window
    assert w.opened_at is not None and w.resolved_at is not None
    assert w.resolved_at - w.opened_at > timedelta(days=3)
    ancient = _long_retro(ancient=True)
    first = ancient.timeline[0]
    assert first.backfilled and w.opened_at - first.at > timedelta(days=3 * 365)


@pytest.fixture(scope="module")
def long() -> Retro:
    return _long_retro(ancient=False)


def test_timezones_are_one_column_per_offset_over_the_incident(long: Retro) -> None:
    labels = [z.label for z in long.zones]
    assert "America/New_York = America/Toronto" in labels  # the same offset all along
    assert "Europe/Berlin = Europe/Paris" in labels
    assert "America/Bogota" in labels  # New York's offset only until the clocks changed
    assert long.utc_names == ["Europe/Dublin", "Europe/London"]  # UTC itself, in March
    assert len(long.zones) == 11  # 15 people in 15 timezones: 12 offsets, UTC among them
    new_york = next(z for z in long.zones if z.name == "America/New_York")
    assert new_york.offsets == "UTC−05:00 → UTC−04:00"
    assert next(z for z in long.zones if z.name == "Asia/Kolkata").offsets == "UTC+05:30"


@pytest.mark.parametrize("ambiguous", [" CST", " IST", "+07 ", " EST", " EDT", " GMT", " CET"])
def test_no_timezone_abbreviation_is_written(long: Retro, ambiguous: str) -> None:
    assert ambiguous not in render_markdown(long)
    assert ambiguous not in render_html(long).split("</style>")[1]


def test_the_long_markdown_timeline_has_four_columns_not_one_per_zone(long: Retro) -> None:
    text = render_markdown(long)
    header = next(line for line in text.splitlines() if line.startswith("| UTC |"))
    assert header == "| UTC | Their local time | Who | What |"
    first = next(line for line in text.splitlines() if line.startswith("| 2022-03-11 08:00 |"))
    assert "| 2022-03-11 09:00 Europe/Berlin | Beatrice |" in first


def test_replaced_signoffs_are_kept_and_marked(long: Retro) -> None:
    fixed = next(r for r in long.release_rows if r.release == "Firefox 98.0.1")
    assert [(s.team, s.by, s.status, s.was_stale) for s in fixed.signoffs] == [
        ("QA", "quinn", "replaced", True),
        ("Releng", "priya", "revoked", False),
        ("Releng", "priya", "replaced", True),
        ("QA", "quinn", "in force", False),
        ("Releng", "dana", "in force", False),
    ]
    text = render_markdown(long)
    assert (
        "— **replaced** 2022-03-13 14:00 UTC by Dana's sign-off, after a later hold had made "
        "it stale." in text
    )
    priya = next(p for p in long.participants if p.person == "priya")
    assert priya.decisions == [
        "Releng on Firefox 98.0.1 (revoked)",
        "Releng on Firefox 98.0.1 (replaced)",
    ]
    assert 'data-status="replaced"' in render_html(long)


def test_a_retracted_note_is_labelled_retracted_with_who_and_why(long: Retro) -> None:
    (retracted,) = [p for p in long.problems if p.kind == "retracted"]
    assert (retracted.who, retracted.by) == ("chris", "chris")
    assert retracted.why == "posted on the wrong incident: that is bug 1758100"
    assert not [p for p in long.problems if p.kind == "rejected"]
    assert "**retracted** 2022-03-11 14:00 UTC (Chris)" in render_markdown(long)


def test_a_checked_doubt_says_who_checked_it_and_what_they_found(long: Retro) -> None:
    (checked,) = [p for p in long.problems if p.kind == "checked"]
    assert (checked.doubt, checked.who, checked.by) == ("unreadable", "anan", "wei")
    assert checked.finding.startswith("Anan's mail client rewrapped the comment")
    assert not [p for p in long.problems if p.kind == "warning"]  # not a bare warning too
    line = next(x for x in render_markdown(long).splitlines() if x.startswith("- **checked**"))
    assert "Checked by Wei at 2022-03-12 02:30 UTC, who found: Anan's mail client" in line


def test_mitigated_is_per_release_and_the_incident_waits_for_the_last(long: Retro) -> None:
    shipped = {r.release: r.mitigated_at for r in long.release_rows}
    assert shipped == {
        "Firefox 98.0.1": datetime(2022, 3, 13, 16, 0, tzinfo=UTC),
        "Firefox ESR 91.7.1": datetime(2022, 3, 11, 13, 0, tzinfo=UTC),
        "Focus 98.1": datetime(2022, 3, 13, 15, 0, tzinfo=UTC),
    }
    assert long.window.mitigated_at == datetime(2022, 3, 13, 16, 0, tzinfo=UTC)
    assert "the last of the 3 releases that shipped" in long.window.mitigated_how
    text = render_markdown(long)
    assert "| Firefox ESR 91.7.1 shipped (ship decision) | 2022-03-11 13:00 UTC | 5 h 00 min |" in (
        text
    )


def test_each_release_has_its_own_hold_lane_labelled_with_who_holds(long: Retro) -> None:
    svg = timeline_svg(long)
    spans = re.findall(r'<line ([^>]*class="hold-span"[^>]*)>', svg)
    quinn = {}
    for attrs in spans:
        found = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        if found["data-person"] == "quinn":
            quinn[found["data-release"]] = float(found["y1"])
    assert set(quinn) == {"Firefox 98.0.1", "Focus 98.1"}
    assert quinn["Firefox 98.0.1"] != quinn["Focus 98.1"]  # never drawn at one height
    assert svg.count(">held by Quinn</text>") == 2
    lanes = re.findall(r'class="release-lane" data-release="([^"]+)"', svg)
    assert lanes == ["Firefox 98.0.1", "Firefox ESR 91.7.1", "Focus 98.1"]


def test_signoff_marks_name_their_release(long: Retro) -> None:
    tags = re.findall(r'class="marker-tag"[^>]*>([^<]+)<', timeline_svg(long))
    signed = [t for t in tags if t.startswith(("QA", "Releng"))]
    assert signed and all(" Firefox " in t or " Focus " in t for t in signed), signed


def test_every_marker_links_to_its_timeline_row(long: Retro) -> None:
    page = render_html(long)
    markers = re.findall(r'<a href="#e-([^"]+)" aria-label="[^"]+"><g class="marker ', page)
    assert len(markers) == len(long.timeline)
    assert all(f'<li id="e-{event}"' in page for event in markers)


def test_the_page_has_main_a_skip_link_and_a_link_back(recorded: Retro) -> None:
    page = render_html(recorded)
    body = page.split("<body>")[1]
    assert body.lstrip().startswith('<a class="skip" href="#main">')
    assert '<main id="main"' in page and page.count("<main") == 1
    assert '<a href="https://bugzilla.mozilla.org/show_bug.cgi?id=1750000" id="back">' in page
    served = render_html(recorded, back="/incidents/bugzilla:1750000")
    assert '<a href="/incidents/bugzilla:1750000" id="back">' in served


def test_words_wrap_whole_never_anywhere(recorded: Retro) -> None:
    style = render_html(recorded).split("<style>")[1].split("</style>")[0]
    assert "overflow-wrap: break-word" in style and "anywhere" not in style
    assert "@media (max-width: 700px)" in style  # one column on a phone
