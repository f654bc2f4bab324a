"""The cache's clock: monotonic, yet never behind the wall clock across a suspend or a restore."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["WALL_JUMP", "FreezeProofClock"]

#: How far the wall clock must run ahead of the monotonic one to count as time the process missed.
WALL_JUMP = 1.0


class FreezeProofClock:
    """Monotonic seconds that also move forward by any time the wall clock gained on the monotonic clock.

    `time.monotonic` (CLOCK_MONOTONIC) keeps running while a process is stopped (SIGSTOP, a Lambda
    freeze) on Linux, but not while the host is suspended, and a Lambda SnapStart snapshot restores it
    as it was when the snapshot was taken, however long ago. `time.time` is set right on wake and on
    restore. Each reading compares both with the previous one: when the wall clock gained more than
    `WALL_JUMP` seconds on the monotonic clock, the gain is added to every later reading. A wall clock
    set back (or slewed) is ignored, so readings never go back; at worst, a wall clock set forward by
    hand makes entries expire early, never late. CLOCK_BOOTTIME would cover a suspend but not a restore.
    Lock-free: a reading that races a jump may lag it by the jump, once.

    Args:
        monotonic: the monotonic clock; tests pass a fake one.
        wall: the wall clock (seconds since the epoch); tests pass a fake one.
    """

    __slots__ = ("_anchor", "_monotonic", "_wall")

    def __init__(
        self, monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._anchor = (monotonic(), wall(), 0.0)  # monotonic, wall, the gain added so far

    def __call__(self) -> float:
        mono, wall = self._monotonic(), self._wall()
        then_mono, then_wall, gained = self._anchor
        drift = (wall - then_wall) - (mono - then_mono)
        if drift > WALL_JUMP:  # time passed that the monotonic clock did not count
            gained += drift
            self._anchor = (mono, wall, gained)
        elif drift < -WALL_JUMP:  # the wall clock was set back: measure from here, count nothing
            self._anchor = (mono, wall, gained)
        return mono + gained
