"""The waits of the cache: the backoff schedule after failures, and throttled retries to a deadline.

Both follow the rule AWS recommends: about 1 s, doubling, jittered, capped. The cache (`cache.ValueCache`)
uses them; the fleet benchmark imports them (`throttled_rounds` drives its modelled loads) to model a
fleet on the same schedule.

Throttled retries of a load that has nothing to fall back on (a cold start) go in *rounds*:

- before each round, a wait drawn with AWS's "full jitter", `rand(0, 1) x min(THROTTLE_CAP, 2^k)` seconds,
  k = 0, 1, 2, ... for rounds 1, 2, 3, ...: botocore sent each throttled request of the first wave once
  (`credentials._throttling`: it leaves throttling to the library), so the doubling starts here. The
  fleet's retries spread over the whole window instead of arriving in waves, and with the cap (8 s) no
  instance sleeps long while the account's quota goes unused;
- in a round, the throttled requests are sent one after another, each once if throttled again
  (`ATTEMPTS_PER_ROUND`; botocore still retries a timeout or a 5xx), and the round ends at the first one
  that is throttled again: a round that finds the quota still spent costs one request, not one per batch
  times botocore's attempts, while a round that finds room goes on to the next batch at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from pydantic_aws_settings.fetch import FetchFailure, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Hashable, Mapping

__all__ = [
    "ATTEMPTS_PER_ROUND",
    "MAX_BACKOFF",
    "THROTTLE_CAP",
    "Retries",
    "Send",
    "Wait",
    "backoff",
    "retry_throttled",
    "throttle_backoff",
    "throttled_rounds",
]

K = TypeVar("K", bound="Hashable")

#: The longest wait, in seconds, between two refreshes of an entry that keep failing.
MAX_BACKOFF = 60.0
#: The longest wait, in seconds, before a throttled retry round of a load with nothing to fall back on.
THROTTLE_CAP = 8.0
#: botocore attempts of a throttled request of a round (the round itself is the retry), and of each request
#: of a backed-off retry of failing entries.
ATTEMPTS_PER_ROUND = 1


def backoff(failures: int, draw: float, cap: float = MAX_BACKOFF) -> float:
    """Seconds to wait after `failures` failures in a row: about 1 s doubling, at most `cap`, jittered.

    Args:
        failures: how many attempts in a row have failed (1 or more).
        draw: a random float in [0, 1): the delay is between half and all of the doubled base.
        cap: the longest delay.
    """
    base = min(cap, 2.0 ** min(failures - 1, 16))
    return base * (0.5 + 0.5 * draw)


def throttle_backoff(round_: int, draw: float, cap: float = THROTTLE_CAP) -> float:
    """Seconds to wait before throttled retry round `round_` (1 or more): full jitter, 1 s doubling, capped.

    Args:
        round_: the round about to be sent.
        draw: a random float in [0, 1): the delay is that share of the doubled base.
        cap: the largest base.
    """
    return draw * min(cap, 2.0 ** min(round_ - 1, 16))


@dataclass(frozen=True, slots=True)
class Wait:
    """A step of `throttled_rounds`: wait this many seconds."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Send(Generic[K]):
    """A step of `throttled_rounds`: send one request for these keys, and reply with their outcomes."""

    keys: list[K]


@dataclass(frozen=True, slots=True)
class Retries(Generic[K]):
    """How a load's throttled keys are sent again: split into requests, and sent one request at a time.

    Attributes:
        batches: splits keys into the requests a fetch would send, in order (one list of keys each).
        fetch: sends one such request, throttled at most once (never raises: the cache wraps it), and
            returns an outcome for each of its keys.
        attempts: botocore attempts the load's first requests had (their backoff doubled from 1 s between
            them): the rounds' waits continue that doubling.
    """

    batches: Callable[[list[K]], list[list[K]]]
    fetch: Callable[[list[K]], Mapping[K, Outcome]]
    attempts: int = 1


def throttled_rounds(
    keys: list[K],
    fetched: dict[K, Outcome],
    *,
    batches: Callable[[list[K]], list[list[K]]],
    deadline: float,
    fallback: Callable[[K], bool],
    timer: Callable[[], float],
    rng: Callable[[], float],
    cap: float = THROTTLE_CAP,
    attempts: int = 1,
) -> Generator[Wait | Send[K], Mapping[K, Outcome] | None, None]:
    """The schedule of a load's throttled retries, as steps: `Wait`s, and `Send`s answered by outcomes.

    The driver (`retry_throttled`, or the fleet benchmark's model) performs each step and sends back the
    outcomes of a `Send` (None after a `Wait`); `fetched` is updated in place.

    Args:
        keys: what the load fetched.
        fetched: each key's outcome so far.
        batches: splits keys into requests (`Retries.batches`).
        deadline: on `timer`'s clock: no round starts at or after it.
        fallback: whether a key has a value to serve instead (then it is not retried).
        timer: the cache's clock.
        rng: random draws in [0, 1) for the jitter.
        cap: the largest wait before a round.
        attempts: botocore attempts the first requests had (`Retries.attempts`): round n waits
            `throttle_backoff(n + attempts - 1)`.
    """
    round_ = max(0, attempts - 1)
    while True:
        again = [k for k in keys if _throttled(fetched.get(k)) and not fallback(k)]
        left = deadline - timer()
        if not again or left <= 0:
            return
        round_ += 1
        yield Wait(min(left, throttle_backoff(round_, rng(), cap)))
        for batch in batches(again):
            answered = dict((yield Send(batch)) or {})
            fetched.update(answered)
            if any(_throttled(answered.get(k)) for k in batch):
                break  # the quota is still spent: the other batches wait for the next round


def retry_throttled(
    keys: list[K],
    retries: Retries[K],
    fetched: dict[K, Outcome],
    *,
    timeout: float,
    fallback: Callable[[K], bool],
    timer: Callable[[], float],
    sleep: Callable[[float], None],
    rng: Callable[[], float],
) -> None:
    """Fetch again, in `throttled_rounds`, the throttled keys that have nothing to fall back on.

    Args:
        keys: what was fetched.
        retries: how the keys are split and sent again.
        fetched: each key's outcome so far; updated in place.
        timeout: seconds from now after which no round starts.
        fallback: whether a key has a value to serve instead (then it is not retried).
        timer: the cache's clock.
        sleep: waits between two rounds.
        rng: random draws in [0, 1) for the jitter.
    """
    steps = throttled_rounds(
        keys,
        fetched,
        batches=retries.batches,
        deadline=timer() + timeout,
        fallback=fallback,
        timer=timer,
        rng=rng,
        attempts=retries.attempts,
    )
    reply: Mapping[K, Outcome] | None = None
    while True:
        try:
            step = steps.send(reply)
        except StopIteration:
            return
        if isinstance(step, Wait):
            sleep(step.seconds)
            reply = None
        else:
            reply = retries.fetch(step.keys)


def _throttled(outcome: Outcome | None) -> bool:
    return isinstance(outcome, FetchFailure) and outcome.throttled
