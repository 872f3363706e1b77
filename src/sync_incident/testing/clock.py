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

``now`` is always seconds since the epoch (``clock.now += 60``); a clock may start at an aware
``datetime`` (``FakeClock(datetime(...))``), and ``moment()`` gives the time back as one.
"""

from __future__ import annotations

from datetime import UTC, datetime

EPOCH_START = 1_700_000_000.0  # 2023-11-14T22:13:20Z


class FakeClock:
    """A clock that moves only when told; see the module docstring."""

    def __init__(self, start: float | datetime = EPOCH_START, step: float = 1.0) -> None:
        self.now: float = start.timestamp() if isinstance(start, datetime) else start
        self.step = step  # seconds that pass at every tick()
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def moment(self) -> datetime:
        """The time as an aware UTC ``datetime`` (the clock does not move)."""
        return datetime.fromtimestamp(self.now, UTC)

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def tick(self) -> datetime:
        """The time at second precision; then ``step`` seconds pass."""
        current = self.moment()
        self.advance(self.step)
        return current.replace(microsecond=0)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
