"""The tests' one fake clock: time that moves only when a test moves it.

It reads two ways, for the library's two clocks: as monotonic seconds (``clock()``, or ``clock.now``),
the timer of the value cache and the resolver; and as an aware UTC datetime (``clock.utcnow()``), the
credentials' clock for refresh windows, which is the real time plus how far the test moved this clock.
"""

from __future__ import annotations

import datetime

__all__ = ["FakeClock"]


class FakeClock:
    """Time moved by hand: :meth:`advance`, or an assignment to :attr:`now`.

    Args:
        now: The first reading, in monotonic seconds.
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self._start = now

    def __call__(self) -> float:
        """The current monotonic reading, so the clock itself can be passed as a timer."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds

    def utcnow(self) -> datetime.datetime:
        """The real UTC time plus how far the clock was moved since it was made."""
        moved = datetime.timedelta(seconds=self.now - self._start)
        return datetime.datetime.now(datetime.timezone.utc) + moved
