"""Digests: the pure model and Markdown, schedules across DST, keyed ids, webhooks, the command."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from ulid import ULID

from sync_incident.application.overview import Overview, overview
from sync_incident.cli.app import main
from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import (
    DigestPosted,
    Event,
    HandoffOffered,
    HoldRaised,
    Opened,
    Resolved,
    SignoffGiven,
    StatusUpdate,
    StepAdded,
    event_id_for,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.refs import IncidentRef
from sync_incident.core.state import IncidentState
from sync_incident.digest.model import Digest, render_markdown
from sync_incident.digest.model import build_digest as digest_of
from sync_incident.digest.run import split_refs
from sync_incident.digest.schedule import (
    digest_key,
    has_key,
    incident_set_name,
    latest_slot,
    next_slot,
)
from sync_incident.digest.webhooks import send_webhooks, webhook_payload
from sync_incident.trackers.local import LocalTracker

T0 = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)

POLICY = Policy(
    people={
        "alice": Person(timezone="Europe/Berlin", working_hours="09:00-17:00"),
        "bob": Person(timezone="America/Toronto", working_hours="09:00-17:00"),
        "carol": Person(timezone="UTC"),
    },
    teams={"QA": Team(members=["bob"]), "Releng": Team(members=["alice", "carol"])},
    products={"Firefox": ProductPolicy(required_signoffs=["QA", "Releng"])},
)


def comments(*items: tuple[str, int, Event]) -> list[Comment]:
    """(author, minutes after T0, event) → comments, as a tracker would return them."""
    return [
        Comment(
            id=str(n),
            author=Account(who),
            created_at=T0 + timedelta(minutes=at),
            body=codec.render(event),
            order=n,
        )
        for n, (who, at, event) in enumerate(items, 1)
    ]


def busy_state(n: int = 1, now: datetime | None = None) -> IncidentState:
    """An incident with a hold, partial sign-offs, a pending handoff, blocked and overdue steps."""
    release = f"Firefox 96.0.{n}"
    return fold(
        comments(
            ("alice", 0, Opened(title=f"Startup crash spike {n}", ic="alice", releases=[release])),
            ("bob", 10, HoldRaised(release=release, reason="a crash spike on startup")),
            ("carol", 20, SignoffGiven(team="Releng", release=release, statement="ok")),
            (
                "alice",
                30,
                StatusUpdate(summary="QA verifies.", next_update_due=T0 + timedelta(minutes=90)),
            ),
            ("alice", 40, StepAdded(step="3", title="Rebuild", owner="carol", state="blocked")),
            (
                "alice",
                45,
                StepAdded(step="4", title="Verify", owner="bob", due=T0 + timedelta(minutes=100)),
            ),
            ("alice", 60, HandoffOffered(to="bob", done="Steps 1-2.", todo="Steps 3-4.")),
        ),
        kind="local",
        policy=POLICY,
        now=now or T0 + timedelta(hours=3),
        ref=f"local:{n}",
        title=f"Startup crash spike {n}",
    )


# --- the model ------------------------------------------------------------------------------


def build_digest(states: list[IncidentState], policy: Policy, now: datetime) -> Digest:
    """The digest of folded states, each judged once (its overview) as the daemon does."""
    seen: list[Overview] = [overview(s, policy, None, now) for s in states]
    return digest_of(seen, policy, now)


def test_digest_reports_everything_people_must_act_on() -> None:
    now = T0 + timedelta(hours=3)
    digest = build_digest([busy_state()], POLICY, now)
    inc = digest.incidents[0]
    assert (inc.ic, inc.status, inc.age_minutes) == ("alice", "active", 180)
    assert inc.last_update == T0 + timedelta(minutes=60)
    assert inc.last_update_minutes == 120
    assert inc.update_overdue and inc.overdue_minutes == 90
    assert [(h.release, h.by) for h in inc.holds] == [("Firefox 96.0.1", "bob")]
    [progress] = inc.releases
    assert progress.required == ["QA", "Releng"]
    assert [t.team for t in progress.teams if t.signed] == ["Releng"]
    assert progress.missing == ["QA"]
    assert len(progress.holds) == 1 and not progress.ready
    [handoff] = inc.pending_handoffs
    assert (handoff.by, handoff.to, handoff.waited_minutes) == ("alice", "bob", 120)
    assert [(s.step, s.state, s.overdue) for s in inc.steps] == [
        ("3", "blocked", False),
        ("4", "todo", True),
    ]


def test_digest_is_computed_at_the_given_time_not_the_fold_time() -> None:
    state = busy_state(now=T0 + timedelta(minutes=61))  # folded before anything was overdue
    early = build_digest([state], POLICY, T0 + timedelta(minutes=70)).incidents[0]
    late = build_digest([state], POLICY, T0 + timedelta(hours=5)).incidents[0]
    assert not early.update_overdue and early.steps[-1].step == "3"
    assert late.update_overdue and [s.step for s in late.steps] == ["3", "4"]
    assert late.pending_handoffs[0].waited_minutes == 240


def test_markdown_shows_the_overdue_update_hold_and_missing_signoff() -> None:
    text = render_markdown(build_digest([busy_state()], POLICY, T0 + timedelta(hours=3)))
    assert "**OVERDUE by 1 h 30 min**" in text
    [line] = [x for x in text.splitlines() if "Firefox 96.0.1 —" in x]
    # one line: the verdict, then the hold, then every sign-off problem, none cut
    assert line.startswith(
        "  - NOT READY Firefox 96.0.1 — bob holds Firefox 96.0.1 since 2026-10-24 06:10 UTC: "
        "a crash spike on startup. "
    )
    assert line.endswith("Firefox 96.0.1 has no sign-off from QA.")
    assert "handoff of IC alice→bob waiting 2 h 00 min" in text
    assert "step 3 blocked (carol)" in text and "step 4 overdue since" in text


def test_digest_dates_are_iso_with_the_ics_and_the_owners_clocks() -> None:
    # "next due 12-08 02:00 UTC" read as 12 August in Europe
    late = T0.replace(hour=23)  # 2026-10-24 23:00 UTC: already the 25th in Berlin
    state = fold(
        comments(
            ("alice", 0, Opened(title="Crash", ic="alice", releases=["Firefox 96.0.1"])),
            ("alice", 5, StatusUpdate(summary="QA verifies.", next_update_due=late)),
            (
                "alice",
                6,
                StepAdded(step="4", title="Verify", owner="bob", due=T0 + timedelta(hours=1)),
            ),
        ),
        kind="local",
        policy=POLICY,
        now=T0 + timedelta(hours=3),
        ref="local:1",
        title="Crash",
    )
    digest = build_digest([state], POLICY, T0 + timedelta(hours=3))
    assert (digest.incidents[0].ic_timezone, digest.incidents[0].steps[0].owner_timezone) == (
        "Europe/Berlin",
        "America/Toronto",
    )
    text = render_markdown(digest)
    assert "· next due 2026-10-24 23:00 UTC (2026-10-25 01:00 Europe/Berlin for alice)" in text
    assert "step 4 overdue since 2026-10-24 07:00 UTC (03:00 America/Toronto for bob) (bob)" in text
    assert not re.search(r"(?<![\d-])\d\d-\d\d \d\d:\d\d", text)  # no date without its year


def test_a_handoff_waiting_as_long_as_the_policy_allows_is_stale_in_the_digest() -> None:
    state = busy_state(now=T0 + timedelta(hours=3))  # the handoff was offered at T0 + 60 min
    digest = build_digest([state], POLICY, T0 + timedelta(hours=3))  # waited 120 min: the limit
    assert digest.incidents[0].pending_handoffs[0].stale
    text = render_markdown(digest)
    assert "alice→bob waiting 2 h 00 min — STALE, over the 2 h the policy allows" in text


def test_a_handoff_within_the_policy_is_not_stale_in_the_digest() -> None:
    digest = build_digest([busy_state()], POLICY, T0 + timedelta(minutes=179))
    assert not digest.incidents[0].pending_handoffs[0].stale
    assert "STALE" not in render_markdown(digest)


def test_the_digest_uses_the_policys_stale_limit() -> None:
    strict = POLICY.model_copy(update={"stale_handoff_minutes": 90})
    digest = build_digest([busy_state()], strict, T0 + timedelta(minutes=150))
    assert digest.incidents[0].pending_handoffs[0].stale
    assert "— STALE, over the 1 h 30 min the policy allows" in render_markdown(digest)


def test_a_resolved_incident_is_not_said_to_be_resolved_since_its_opening() -> None:
    state = fold(
        comments(
            ("alice", 0, Opened(title="Crash", ic="alice", releases=["Firefox 96.0.1"])),
            (
                "alice",
                30,
                StatusUpdate(summary="QA verifies.", next_update_due=T0 + timedelta(hours=1)),
            ),
            ("alice", 60, Resolved(summary="Firefox 96.0.1 shipped.")),
        ),
        kind="local",
        policy=POLICY,
        now=T0 + timedelta(hours=3),
        ref="local:1",
        title="Crash",
    )
    text = render_markdown(build_digest([state], POLICY, T0 + timedelta(hours=3)))
    assert "· RESOLVED, opened 3 h 00 min ago" in text and "RESOLVED for" not in text
    assert "next due" not in text and "OVERDUE" not in text


def test_five_busy_incidents_fit_one_screen() -> None:
    now = T0 + timedelta(hours=3)
    states = [busy_state(n, now) for n in range(1, 6)]
    text = render_markdown(build_digest(states, POLICY, now))
    lines = text.splitlines()
    assert len(lines) <= 40
    assert all(f"**local:{n}**" in text for n in range(1, 6))
    assert "…" not in text  # nothing is cut: every reason is there whole


def test_digest_json_has_a_stable_schema() -> None:
    digest = build_digest([busy_state()], POLICY, T0 + timedelta(hours=3))
    data = json.loads(digest.model_dump_json())
    assert data["schema_version"] == 2
    assert set(data["incidents"][0]) >= {
        "ref",
        "ic",
        "status",
        "age_minutes",
        "last_update",
        "next_update_due",
        "update_overdue",
        "holds",
        "releases",
        "pending_handoffs",
        "steps",
    }
    assert set(data["incidents"][0]["pending_handoffs"][0]) >= {"by", "to", "stale"}
    assert Digest.model_validate(data) == digest


# --- schedules across timezones and DST -----------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "day_before", "day_after"),
    [
        # Berlin leaves summer time on 2026-10-25: 09:00 is 07:00 UTC, then 08:00 UTC
        ("09:00 Europe/Berlin", "2026-10-24T07:00", "2026-10-25T08:00"),
        # Toronto leaves daylight time on 2026-11-01: 09:00 is 13:00 UTC, then 14:00 UTC
        ("09:00 America/Toronto", "2026-10-31T13:00", "2026-11-01T14:00"),
    ],
)
def test_fixed_local_times_follow_the_wall_clock_over_dst(
    spec: str, day_before: str, day_after: str
) -> None:
    before = datetime.fromisoformat(day_before + "+00:00")
    after = datetime.fromisoformat(day_after + "+00:00")
    assert next_slot([spec], None, before - timedelta(minutes=1)) == before
    assert next_slot([spec], None, before) == after  # 25 hours later, not 24
    assert latest_slot([spec], None, after - timedelta(minutes=1)) == before
    assert latest_slot([spec], None, after) == after


def test_a_time_skipped_by_spring_forward_still_happens_once_that_day() -> None:
    # 2026-03-29 02:30 does not exist in Berlin (02:00 → 03:00)
    day = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    slots = []
    moment = day - timedelta(hours=2)
    while moment < day + timedelta(days=1):
        nxt = next_slot(["02:30 Europe/Berlin"], None, moment)
        assert nxt is not None
        slots.append(nxt)
        moment = nxt
    on_the_day = [s for s in slots if s.date() == day.date()]
    assert len(on_the_day) == 1


def test_every_n_hours_is_aligned_so_replicas_agree() -> None:
    now = datetime(2026, 10, 25, 10, 17, tzinfo=UTC)
    assert latest_slot([], 6, now) == datetime(2026, 10, 25, 6, 0, tzinfo=UTC)
    assert next_slot([], 6, now) == datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    assert latest_slot([], None, now) is None


# --- keys and event ids ----------------------------------------------------------------------


def test_keyed_event_ids_are_deterministic_valid_ulids() -> None:
    stamp = datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    first = event_id_for("digest:all-active:2026-10-25T08:00Z", stamp)
    assert first == event_id_for("digest:all-active:2026-10-25T08:00Z", stamp)
    assert first != event_id_for("digest:all-active:2026-10-25T09:00Z", stamp)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", first)
    assert ULID.from_str(first).datetime == stamp
    DigestPosted(id=first, key="k", text="t")  # the event model accepts it


def test_incident_set_names() -> None:
    a, b = IncidentRef("local", 1), IncidentRef("bugzilla", 2)
    assert incident_set_name([a], False) == "local:1"
    assert incident_set_name([a, b], False) == incident_set_name([b, a, a], False)
    assert incident_set_name([a, b], False).startswith("set-")
    assert incident_set_name([a], True) == "all-active"
    period = datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    assert digest_key([a], False, period) == "digest:local:1:2026-10-25T08:00Z"


def test_has_key_ignores_rejected_duplicates_and_other_keys() -> None:
    event = DigestPosted(id=event_id_for("k1", T0), key="k1", text="Digest.")
    state = fold(
        comments(("alice", 0, event), ("bob", 1, event)), kind="local", policy=POLICY, now=T0
    )
    assert has_key(state, "k1", account="alice")
    assert not has_key(state, "k2", account="alice")
    assert [e.accepted for e in state.timeline] == [True, False]  # seen twice counts once


def test_with_witnesses_only_their_digests_count_and_they_share_ids() -> None:
    policy = POLICY.model_copy(update={"witnesses": ["alice", "bob"]})
    event = DigestPosted(id=event_id_for("k1", T0), key="k1", text="Digest.")
    state = fold(
        comments(("carol", 0, event), ("alice", 1, event), ("bob", 2, event)),
        kind="local",
        policy=policy,
        now=T0,
    )
    assert [(e.account, e.accepted) for e in state.timeline] == [
        ("carol", False),
        ("alice", True),
        ("bob", False),
    ]
    assert "only the daemon's account" in state.timeline[0].reason
    assert has_key(state, "k1", account=None)


def test_has_key_counts_only_our_own_account() -> None:
    decoy = DigestPosted(id=event_id_for("k1", T0), key="k1", text="Digest.")
    state = fold(comments(("carol", 0, decoy)), kind="local", policy=POLICY, now=T0)
    assert not has_key(state, "k1", account="alice")


def test_a_strangers_decoy_digest_is_rejected_and_takes_no_id() -> None:
    decoy = DigestPosted(id=event_id_for("k1", T0), key="k1", text="Digest.")
    state = fold(
        comments(("mallory", 0, decoy), ("alice", 1, decoy)), kind="local", policy=POLICY, now=T0
    )
    assert [(e.account, e.accepted) for e in state.timeline] == [
        ("mallory", False),
        ("alice", True),
    ]


def test_split_refs() -> None:
    assert split_refs(["bug", "12", "local:3", "issue", "o/r#4"]) == [
        ["bug", "12"],
        ["local:3"],
        ["issue", "o/r#4"],
    ]


# --- webhooks -------------------------------------------------------------------------------


SLACK = "https://hooks.slack.test/services/T000/B000/sekr1tT0ken"
MATRIX = "https://matrix.example.test/_matrix/hook/abcdefsecret"


def test_webhook_payload_shapes() -> None:
    assert webhook_payload("hi", "slack") == {"text": "hi"}
    assert webhook_payload("hi", "matrix") == {"msgtype": "m.text", "body": "hi"}


def test_webhooks_send_slack_and_matrix_json(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), json.loads(request.content)))
        return httpx.Response(200, text="ok")

    env = {"SLACK_HOOK": SLACK, "MATRIX_HOOK": MATRIX}
    with caplog.at_level(logging.DEBUG):
        problems = asyncio.run(
            send_webhooks(
                "**Digest**",
                {name: SecretStr(url) for name, url in env.items()},
                transport=httpx.MockTransport(handler),
            )
        )
    assert problems == []
    assert seen == [
        (SLACK, {"text": "**Digest**"}),
        (MATRIX, {"msgtype": "m.text", "body": "**Digest**"}),
    ]
    assert "sekr1tT0ken" not in caplog.text and "abcdefsecret" not in caplog.text


def test_webhook_failures_never_show_the_url(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "slack" in str(request.url):
            raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)
        return httpx.Response(500, text=f"bad hook {request.url}")

    env = {"SLACK_HOOK": SLACK, "MATRIX_HOOK": MATRIX}
    with caplog.at_level(logging.DEBUG):
        problems = asyncio.run(
            send_webhooks(
                "d",
                {
                    name: SecretStr(env.get(name, ""))
                    for name in ("SLACK_HOOK", "MATRIX_HOOK", "UNSET_HOOK")
                },
                transport=httpx.MockTransport(handler),
            )
        )
    assert len(problems) == 3
    assert "SLACK_HOOK" in problems[0] and "ConnectError" in problems[0]
    assert "HTTP 500" in problems[1]
    assert "UNSET_HOOK is not set" in problems[2]
    joined = " ".join(problems) + caplog.text
    assert "sekr1tT0ken" not in joined and "abcdefsecret" not in joined
    assert "hooks.slack.test/services" not in joined


# --- the command ------------------------------------------------------------------------------


def _exit_code(args: list[str]) -> int:
    with pytest.raises(SystemExit) as caught:
        main(args)
    code = caught.value.code
    return code if isinstance(code, int) else 1


@pytest.fixture
def local_incidents(tmp_path: Path) -> tuple[Path, list[IncidentRef]]:
    from sync_incident.trackers.base import NewIncident

    db = tmp_path / "local.sqlite3"
    now = datetime.now(UTC)

    async def setup() -> list[IncidentRef]:
        refs = []
        async with LocalTracker(db, user="alice", clock=lambda: now) as tracker:
            for title in ("Startup crash spike", "Broken partner repack"):
                opened = Opened(title=title, ic="alice", releases=["Firefox 96.0.1"])
                refs.append(
                    await tracker.create(
                        NewIncident(title=title, body=codec.render(opened), marker=opened.id)
                    )
                )
            hold = HoldRaised(release="Firefox 96.0.1", reason="a crash spike on startup")
            await tracker.post(refs[0], codec.render(hold), marker=hold.id)
            refs.append(
                await tracker.create(
                    NewIncident(
                        title="Digests", body="Status digests go here.", marker="digest-target-1"
                    )
                )
            )
        return refs

    return db, asyncio.run(setup())


def _digest_comments(db: Path, number: int) -> list[str]:
    async def read() -> list[str]:
        async with LocalTracker(db, user="reader") as tracker:
            snap = await tracker.fetch(IncidentRef("local", number))
        return [c.body for c in snap.comments if "sync-incident:1 digest" in c.body]

    return asyncio.run(read())


def test_digest_command_prints_markdown(
    local_incidents: tuple[Path, list[IncidentRef]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = local_incidents
    assert _exit_code(["--db", str(db), "digest", "local:1", "local:2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("**Incident digest**")
    assert "**local:1** Startup crash spike" in out
    assert " holds Firefox 96.0.1 since " in out
    assert "**local:2** Broken partner repack" in out


def test_digest_command_json(
    local_incidents: tuple[Path, list[IncidentRef]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = local_incidents
    assert _exit_code(["--db", str(db), "digest", "local:1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema_version"] == 2
    assert [i["ref"] for i in data["incidents"]] == ["local:1"]
    assert data["incidents"][0]["holds"][0]["release"] == "Firefox 96.0.1"


def test_digest_post_to_posts_once_per_period(
    local_incidents: tuple[Path, list[IncidentRef]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = local_incidents
    args = ["--db", str(db), "digest", "local:1", "local:2", "--post-to", "local:3"]
    assert _exit_code(args) == 0
    assert "posted local:3" in capsys.readouterr().err
    assert _exit_code(args) == 0  # another machine, the same account
    assert "already on local:3" in capsys.readouterr().err
    assert len(_digest_comments(db, 3)) == 1
    # another account's digest with the same key never counts as ours (a decoy would)
    assert _exit_code(["--as", "someone-else", *args]) == 0
    assert "posted local:3" in capsys.readouterr().err
    assert len(_digest_comments(db, 3)) == 2


def test_digest_all_active_skips_resolved_incidents(
    local_incidents: tuple[Path, list[IncidentRef]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = local_incidents
    assert (
        _exit_code(
            [
                "--db",
                str(db),
                "--as",
                "alice",
                "resolve",
                "local:2",
                "-m",
                "Firefox 96.0.1 shipped.",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert _exit_code(["--db", str(db), "digest", "--all-active", "--json"]) == 0
    refs = [i["ref"] for i in json.loads(capsys.readouterr().out)["incidents"]]
    assert "local:1" in refs and "local:2" not in refs


def test_digest_all_active_with_nothing_active_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["--db", str(tmp_path / "x.sqlite3"), "digest", "--all-active"]) == 0
    captured = capsys.readouterr()
    assert "No active incidents" in captured.out
    assert "No active incidents: nothing to digest." in captured.err


def test_digest_without_incidents_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(["--db", str(tmp_path / "x.sqlite3"), "digest"]) == 64
    assert "no incidents to digest" in capsys.readouterr().err


def test_digest_of_a_missing_incident_is_partial_and_fails(
    local_incidents: tuple[Path, list[IncidentRef]], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = local_incidents
    assert _exit_code(["--db", str(db), "digest", "local:1", "local:99"]) == 69
    captured = capsys.readouterr()
    assert "**local:1**" in captured.out
    assert "**local:99** could not be read: not found" in captured.out
