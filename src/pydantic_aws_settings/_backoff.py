"""The waits of the cache: the backoff schedule after failures, and throttled retries to a deadline.

Both follow the same rule, the one AWS recommends: about 1 s, doubling, jittered, capped. The cache
(`cache.ValueCache`) uses them; the fleet benchmark imports them to model a fleet on the same schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from pydantic_aws_settings.fetch import FetchFailure, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

__all__ = ["MAX_BACKOFF", "backoff", "retry_throttled"]

K = TypeVar("K", bound="Hashable")

#: The longest wait, in seconds, between two refreshes of an entry that keep failing.
MAX_BACKOFF = 60.0


def backoff(failures: int, draw: float, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after `failures` failures in a row: about 1 s doubling, at most `cap`, jittered.

    Args:
        failures: how many attempts in a row have failed (1 or more).
        draw: a random float in [0, 1): the delay is between half and all of the doubled base.
        cap: the longest delay.
    """
    base = min(cap, 2.0 ** min(failures - 1, 16))
    return base * (0.5 + 0.5 * draw)


def retry_throttled(
    keys: list[K],
    fetch: Callable[[list[K]], dict[K, Outcome]],
    fetched: dict[K, Outcome],
    *,
    timeout: float,
    fallback: Callable[[K], bool],
    timer: Callable[[], float],
    sleep: Callable[[float], None],
    rng: Callable[[], float],
) -> None:
    """Fetch again, with jittered exponential backoff, the throttled keys that have nothing to fall back on.

    Args:
        keys: what was fetched.
        fetch: fetches a list of keys (never raises: the cache wraps it).
        fetched: each key's outcome so far; updated in place.
        timeout: seconds from now after which no retry starts.
        fallback: whether a key has a value to serve instead (then it is not retried).
        timer: the cache's clock.
        sleep: waits between two tries.
        rng: random draws in [0, 1) for the jitter.
    """
    deadline = timer() + timeout
    attempt = 0
    while True:
        again = [k for k in keys if _throttled(fetched.get(k)) and not fallback(k)]
        left = deadline - timer()
        if not again or left <= 0:
            return
        attempt += 1
        sleep(min(left, backoff(attempt, rng())))
        fetched.update(fetch(again))


def _throttled(outcome: Outcome | None) -> bool:
    return isinstance(outcome, FetchFailure) and outcome.throttled
