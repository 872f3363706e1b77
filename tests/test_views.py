"""What ``show`` prints, from a folded state: the parts that depend on the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync_incident.core import codec
from sync_incident.core.comments import Account, Comment
from sync_incident.core.events import Event, HandoffOffered, Opened
from sync_incident.core.fold import fold
from sync_incident.core.policy import Person, Policy
from sync_incident.views import state_text

T0 = datetime(2022, 1, 12, 14, 0, tzinfo=UTC)
POLICY = Policy(people={"dana": Person(), "beatrice": Person(timezone="Europe/Berlin")})
OFFER = HandoffOffered(to="beatrice", done="Steps 1 to 3 are done.", todo="Step 4 remains.")


def shown(minutes_later: int, policy: Policy = POLICY) -> str:
    events: list[Event] = [Opened(title="Crash", releases=["Firefox 96.0.1"], ic="dana"), OFFER]
    comments = [
        Comment(str(n), Account("dana"), T0, codec.render(e), order=n)
        for n, e in enumerate(events, 1)
    ]
    now = T0 + timedelta(minutes=minutes_later)
    state = fold(comments, kind="local", policy=policy, now=now, ref="local:1")
    return state_text(state, policy=policy)


def head(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Handoff PENDING"))


def test_a_handoff_waiting_longer_than_the_policy_allows_is_stale() -> None:
    line = head(shown(4 * 60 + 17))
    assert "waiting 4 h 17 min — STALE, over the 2 h the policy allows (handoff " in line, line


def test_a_handoff_within_the_policy_is_not_stale() -> None:
    assert "STALE" not in head(shown(119))


def test_the_stale_limit_is_the_policys() -> None:
    strict = POLICY.model_copy(update={"stale_handoff_minutes": 90})
    assert "STALE, over the 1 h 30 min the policy allows (handoff" in head(shown(95, strict))
