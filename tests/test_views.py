"""What people read, from a folded state: links that may be live, and the parts of ``show`` that depend on the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from sync_incident.application.overview import Overview, overview
from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import (
    Event,
    HandoffOffered,
    Opened,
    Resolved,
    SignoffGiven,
    SignoffRevoked,
    StatusUpdate,
)
from sync_incident.core.fold import fold
from sync_incident.core.policy import Person, Policy, ProductPolicy, Team
from sync_incident.core.state import IncidentState
from sync_incident.core.times import age
from sync_incident.views import (
    incident_json,
    listing,
    listing_text,
    state_text,
    web_url,
)

T0 = datetime(2022, 1, 12, 14, 0, tzinfo=UTC)
POLICY = Policy(people={"dana": Person(), "beatrice": Person(timezone="Europe/Berlin")})
OFFER = HandoffOffered(to="beatrice", done="Steps 1 to 3 are done.", todo="Step 4 remains.")


def offered(minutes_later: int, policy: Policy = POLICY) -> IncidentState:
    events: list[Event] = [Opened(title="Crash", releases=["Firefox 96.0.1"], ic="dana"), OFFER]
    comments = [
        Comment(str(n), Account("dana"), T0, codec.render(e), order=n)
        for n, e in enumerate(events, 1)
    ]
    now = T0 + timedelta(minutes=minutes_later)
    return fold(comments, kind="local", policy=policy, now=now, ref="local:1")


def seen(state: IncidentState, policy: Policy = POLICY) -> Overview:
    return overview(state, policy, None, T0)


def shown(minutes_later: int, policy: Policy = POLICY) -> str:
    return state_text(seen(offered(minutes_later, policy), policy))


def head(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Handoff PENDING"))


def test_a_handoff_waiting_longer_than_the_policy_allows_is_stale() -> None:
    line = head(shown(4 * 60 + 17))
    assert line.endswith("waiting 4 h 17 min — STALE, over the 2 h the policy allows"), line


def test_a_handoff_within_the_policy_is_not_stale() -> None:
    assert "STALE" not in head(shown(119))


def test_the_stale_limit_is_the_policys() -> None:
    strict = POLICY.model_copy(update={"stale_handoff_minutes": 90})
    assert head(shown(95, strict)).endswith("STALE, over the 1 h 30 min the policy allows")


def test_list_marks_a_stale_handoff_as_show_does() -> None:
    state = offered(4 * 60 + 17)
    found = listing([overview(state, POLICY, None, T0 + timedelta(minutes=4 * 60 + 17))])
    line = "Handoff pending: dana → beatrice (incident commander), waiting 4 h 17 min — STALE, "
    assert line + "over the 2 h the policy allows" in listing_text(found).splitlines()[-1]
    [details] = found.incidents[0].pending_handoffs
    assert (details.by, details.to, details.waited_minutes, details.stale) == (
        "dana",
        "beatrice",
        257,
        True,
    )


@pytest.mark.parametrize(("minutes", "stale"), [(119, False), (120, True)])
def test_list_json_says_whether_a_handoff_is_stale(minutes: int, stale: bool) -> None:
    now = T0 + timedelta(minutes=minutes)
    data = json.loads(listing([overview(offered(minutes), POLICY, None, now)]).model_dump_json())
    [entry] = data["incidents"][0]["pending_handoffs"]
    assert entry["stale"] is stale
    assert entry["waited_minutes"] == minutes


@pytest.mark.parametrize(("minutes", "stale"), [(119, False), (120, True)])
def test_show_json_says_whether_a_pending_handoff_is_stale(minutes: int, stale: bool) -> None:
    state = offered(minutes)
    data = json.loads(incident_json(seen(state)))
    assert [h["stale"] for h in data["handoffs"]] == [stale]


def test_a_shortened_timeline_says_so_without_nested_parentheses() -> None:
    text = state_text(seen(offered(5)), timeline=1)
    assert "Timeline (2 events; the last 1 shown, --full for all):" in text.splitlines()


def test_show_says_once_who_revoked_a_sign_off() -> None:
    policy = Policy(
        people={"dana": Person(), "quinn": Person()},
        teams={"QA": Team(members=["quinn"])},
        products={"Firefox": ProductPolicy(required_signoffs=["QA"])},
    )
    events: list[Event] = [
        Opened(title="Crash", releases=["Firefox 96.0.1"], ic="dana"),
        SignoffGiven(team="QA", release="Firefox 96.0.1", statement="QA signs off."),
        SignoffRevoked(team="QA", release="Firefox 96.0.1", reason="a new crash signature"),
    ]
    authors = ["dana", "quinn", "quinn"]
    comments = [
        Comment(str(n), Account(who), T0 + timedelta(minutes=n), codec.render(e), order=n)
        for n, (who, e) in enumerate(zip(authors, events, strict=True), 1)
    ]
    state = fold(comments, kind="local", policy=policy, now=T0 + timedelta(hours=1), ref="local:1")
    [line] = [x for x in state_text(seen(state, policy)).splitlines() if "REVOKED" in x]
    assert line.count("revoked by quinn") == 1, line
    assert line == (
        "  QA: REVOKED — QA's sign-off on Firefox 96.0.1 was revoked by quinn at "
        "2022-01-12 14:03 UTC: a new crash signature"
    )


def test_show_of_a_resolved_incident_promises_no_next_update() -> None:
    events: list[Event] = [
        Opened(title="Crash", releases=["Firefox 96.0.1"], ic="dana"),
        StatusUpdate(summary="QA verifies.", next_update_due=T0 + timedelta(minutes=30)),
        Resolved(summary="Firefox 96.0.1 shipped."),
    ]
    comments = [
        Comment(str(n), Account("dana"), T0 + timedelta(minutes=n), codec.render(e), order=n)
        for n, e in enumerate(events, 1)
    ]
    state = fold(comments, kind="local", policy=POLICY, now=T0 + timedelta(hours=2), ref="local:1")
    text = state_text(seen(state))
    assert "  Last status, by dana at 2022-01-12 14:02 UTC: QA verifies." in text.splitlines()
    assert "next update due" not in text.casefold() and "OVERDUE" not in text
    data = json.loads(incident_json(seen(state)))
    assert (data["next_update_due"], data["update_overdue"]) == (None, False)


@pytest.mark.parametrize(
    "url",
    [
        "https://bugzilla.mozilla.org/show_bug.cgi?id=1750000",
        "http://example.org/doc",
        "HTTPS://GITHUB.COM/acme/releases/pull/7",
    ],
)
def test_http_and_https_urls_with_a_host_may_be_links(url: str) -> None:
    assert web_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example/x",  # scheme-relative: whatever the page's scheme is
        "/incidents/local:1",
        "https:evil.example",  # no host
        "https://exa mple.org/",
        "https://example.org/\nSet-Cookie: x",
        "",
        "local:1",
    ],
)
def test_anything_else_is_shown_as_text(url: str) -> None:
    assert not web_url(url)


@pytest.mark.parametrize(
    ("minutes", "said"),
    [(0, "under a minute"), (1, "1 min"), (61, "1 h 01 min"), (49 * 60, "2 d 1 h"), (None, "?")],
)
def test_ages_read_as_people_say_them(minutes: int | None, said: str) -> None:
    # "OVERDUE by 0 min" read as not overdue at all
    assert age(minutes) == said


def test_show_gives_the_ics_clock_and_who_posted_the_last_status() -> None:
    events: list[Event] = [
        Opened(title="Crash", releases=["Firefox 96.0.1"], ic="beatrice"),
        StatusUpdate(summary="QA verifies.", next_update_due=T0 + timedelta(hours=2)),
    ]
    comments = [
        Comment(str(n), Account("beatrice"), T0 + timedelta(minutes=n), codec.render(e), order=n)
        for n, e in enumerate(events, 1)
    ]
    state = fold(comments, kind="local", policy=POLICY, now=T0, ref="local:1")
    lines = state_text(seen(state)).splitlines()
    assert (
        "Incident commander: beatrice since 2022-01-12 14:01 UTC; beatrice's time now: "
        "15:00 Europe/Berlin" in "\n".join(lines)
    )
    assert "  Last status, by beatrice at 2022-01-12 14:02 UTC: QA verifies." in lines
    assert "  Next update due by 2022-01-12 16:00 UTC (17:00 Europe/Berlin for beatrice)" in lines
