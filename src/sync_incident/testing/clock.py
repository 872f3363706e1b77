"""The one fake clock of the fakes: time moves only when a test (or an injected sleep) moves it.

Both fakes and the code under test can share one instance:

- ``clock()`` is the time in seconds since the epoch (what ``FakeGitHub`` and the trackers'
  ``clock=`` arguments want);
- ``await clock.sleep(s)`` records ``s`` in ``sleeps`` and moves the clock, so an injected
  sleep costs no real time;
- ``clock.tick()`` is the server time at second precision, then ``step`` seconds pass (what
  ``FakeBugzilla`` stamps each stored comment with); ``clock.moment()`` is the time as an aware
  ``datetime`` without moving it;
- ``clock.advance(s)`` moves it ``s`` seconds; ``clock.now`` may also be moved by hand.

``now`` keeps the type it started with: ``FakeClock()`` or ``FakeClock(1_700_000_000.0)`` counts
seconds (``clock.now += 60``); ``FakeClock(datetime(...))`` holds an aware ``datetime``
(``clock.now + timedelta(hours=2)``). Every method works with either.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH_START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeClock:
    """A clock that moves only when told; see the module docstring."""

    def __init__(self, start: float | datetime = EPOCH_START, step: float = 1.0) -> None:
        self.now: float | datetime = start
        self.step = step  # seconds that pass at every tick()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        now = self.now
        return now.timestamp() if isinstance(now, datetime) else now

    def moment(self) -> datetime:
        """The time as an aware UTC ``datetime`` (the clock does not move)."""
        now = self.now
        return now if isinstance(now, datetime) else datetime.fromtimestamp(now, UTC)

    def advance(self, seconds: float) -> None:
        now = self.now
        self.now = now + timedelta(seconds=seconds) if isinstance(now, datetime) else now + seconds

    def tick(self) -> datetime:
        """The time at second precision; then ``step`` seconds pass."""
        current = self.moment()
        self.advance(self.step)
        return current.replace(microsecond=0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
