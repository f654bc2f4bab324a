"""Throttled retries of a load with nothing to fall back on (`_backoff`): the schedule and its requests.

Everything on a fake clock with fixed random draws; requests are counted exactly.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest

from pydantic_aws_settings._backoff import (
    ATTEMPTS_PER_ROUND,
    THROTTLE_CAP,
    Retries,
    Send,
    Wait,
    retry_throttled,
    throttle_backoff,
    throttled_rounds,
)
from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import Fetched, FetchFailure, Outcome

if TYPE_CHECKING:
    from collections.abc import Mapping

OK = Fetched("v", "String", "1")
THROTTLED = FetchFailure("ThrottlingException", "Rate exceeded")
DENIED = FetchFailure("AccessDeniedException", "no")
KEYS = [f"p{i:02d}" for i in range(30)]


def by_ten(keys: list[str]) -> list[list[str]]:
    """Batches of 10, as GetParameters sends them."""
    return [keys[i : i + 10] for i in range(0, len(keys), 10)]


class Clock:
    """A fake clock that `sleep` moves; it records each wait and how many requests were sent before it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.sent_at_sleep: list[int] = []
        self.sent = 0

    def __call__(self) -> float:
        """The fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock."""
        self.slept.append(seconds)
        self.sent_at_sleep.append(self.sent)
        self.now += seconds


class Quota:
    """An account that answers `free` more requests, then throttles each one; requests are logged."""

    def __init__(self, clock: Clock, free: list[bool]) -> None:
        self.clock = clock
        self.answers = iter(free)
        self.requests: list[list[str]] = []

    def __call__(self, keys: list[str]) -> Mapping[str, Outcome]:
        """One request: every key answered, or every key throttled."""
        self.requests.append(list(keys))
        self.clock.sent += 1
        ok = next(self.answers, True)
        return dict.fromkeys(keys, OK if ok else THROTTLED)


def run(quota: Quota, clock: Clock, fetched: dict[str, Outcome], draw: float = 0.5, **kwargs: object) -> None:
    """retry_throttled over KEYS, batches of 10, a 120 s timeout."""
    retries = Retries(by_ten, quota, **kwargs)  # type: ignore[arg-type]
    retry_throttled(
        KEYS,
        retries,
        fetched,
        timeout=120.0,
        fallback=lambda _: False,
        timer=clock,
        sleep=clock.sleep,
        rng=lambda: draw,
    )


class TestSchedule:
    """The wait before each round: full jitter over a doubling base, capped."""

    def test_full_jitter_over_the_doubling_base(self) -> None:
        """The draw is the share of the base taken: 0 waits nothing, 0.5 waits half the base."""
        assert [throttle_backoff(n, 0.5) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
        assert throttle_backoff(3, 0.0) == 0.0

    @pytest.mark.parametrize("round_", [1, 4, 5, 10, 60, 10_000])
    def test_the_cap_holds(self, round_: int) -> None:
        """However many rounds, no wait is longer than THROTTLE_CAP (8 s)."""
        assert throttle_backoff(round_, 0.999999) < THROTTLE_CAP == 8.0

    def test_the_rounds_continue_botocores_doubling(self) -> None:
        """After a first request of 3 attempts (botocore waited on bases 1 and 2 s), round 1's base is 4 s."""
        clock = Clock()
        quota = Quota(clock, [False] * 3 + [True] * 3)
        fetched: dict[str, Outcome] = dict.fromkeys(KEYS, THROTTLED)
        run(quota, clock, fetched, attempts=3)
        assert clock.slept == [2.0, 4.0, 4.0, 4.0]


class TestRounds:
    """A round sends the throttled requests one at a time, each of one attempt, and stops at a throttle."""

    def test_a_throttled_round_sends_exactly_one_request(self) -> None:
        """While the quota is spent, each round costs one request, not one per batch."""
        clock = Clock()
        quota = Quota(clock, [False] * 4)
        fetched: dict[str, Outcome] = dict.fromkeys(KEYS, THROTTLED)
        run(quota, clock, fetched)
        # Rounds 1-4: one request each, throttled. Round 5: the three batches, one after another.
        assert clock.sent_at_sleep == [0, 1, 2, 3, 4]
        assert quota.requests == [KEYS[:10]] * 5 + [KEYS[10:20], KEYS[20:]]
        assert all(outcome is OK for outcome in fetched.values())

    def test_a_round_that_finds_room_sends_the_next_batch_at_once(self) -> None:
        """An answered request is followed by the next batch in the same round, with no wait between."""
        clock = Clock()
        quota = Quota(clock, [True, False, True, True])
        fetched: dict[str, Outcome] = dict.fromkeys(KEYS, THROTTLED)
        run(quota, clock, fetched)
        assert quota.requests == [KEYS[:10], KEYS[10:20], KEYS[10:20], KEYS[20:]]
        assert clock.sent_at_sleep == [0, 2]  # round 1: answered, throttled; round 2: the other two

    def test_only_throttled_keys_without_a_fallback_are_sent_again(self) -> None:
        """Answered, denied and fallback keys are not retried; the throttled rest is, in its own batches."""
        clock = Clock()
        quota = Quota(clock, [])
        fetched: dict[str, Outcome] = {**dict.fromkeys(KEYS, THROTTLED), "p00": OK, "p01": DENIED}
        retry_throttled(
            KEYS,
            Retries(by_ten, quota),
            fetched,
            timeout=120.0,
            fallback=lambda key: key == "p02",
            timer=clock,
            sleep=clock.sleep,
            rng=lambda: 0.5,
        )
        again = KEYS[3:]
        assert quota.requests == [again[:10], again[10:20], again[20:]]
        assert (fetched["p01"], fetched["p02"]) == (DENIED, THROTTLED)

    def test_no_round_starts_after_the_timeout(self) -> None:
        """Throttled for ever: waits add up to the timeout exactly, and each round cost one request."""
        clock = Clock()
        quota = Quota(clock, itertools.repeat(False))  # type: ignore[arg-type]
        fetched: dict[str, Outcome] = dict.fromkeys(KEYS, THROTTLED)
        run(quota, clock, fetched, draw=0.5)
        assert sum(clock.slept) == pytest.approx(120.0)
        # 0.5 + 1 + 2 + 4 s, then 4 s each: 4 + 28 rounds, and a 33rd whose wait is cut to the 0.5 s left.
        assert len(quota.requests) == len(clock.slept) == 4 + 28 + 1
        assert clock.slept[-1] == 0.5
        assert all(request == KEYS[:10] for request in quota.requests)

    def test_the_steps_as_a_generator(self) -> None:
        """The rounds are steps any driver can run (the fleet model does): waits, then one send at a time."""
        fetched: dict[str, Outcome] = dict.fromkeys(KEYS[:20], THROTTLED)
        steps = throttled_rounds(
            KEYS[:20],
            fetched,
            batches=by_ten,
            deadline=10.0,
            fallback=lambda _: False,
            timer=lambda: 0.0,
            rng=lambda: 0.25,
        )
        assert next(steps) == Wait(0.25)
        assert steps.send(None) == Send(KEYS[:10])
        assert steps.send(dict.fromkeys(KEYS[:10], OK)) == Send(KEYS[10:20])
        with pytest.raises(StopIteration):
            steps.send(dict.fromkeys(KEYS[10:20], OK))
        assert set(fetched.values()) == {OK}

    def test_one_attempt_per_request_of_a_round(self) -> None:
        """The round itself is the retry: each of its requests is one botocore attempt."""
        assert ATTEMPTS_PER_ROUND == 1


class TestInTheCache:
    """The cache's cold load drives the rounds with the resolver's batches, or one call a round without."""

    def test_cold_load_retries_batch_by_batch(self) -> None:
        """A load of 30 keys whose first wave was throttled: one request a throttled round, then the rest."""
        clock = Clock()
        waves: list[list[str]] = []

        def wave(keys: list[str]) -> dict[str, Outcome]:
            waves.append(list(keys))
            return dict.fromkeys(keys, THROTTLED)

        quota = Quota(clock, [False, False])
        cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep)
        got = cache.get_many(KEYS, wave, 300, 0, throttle_timeout=120.0, retries=Retries(by_ten, quota))
        assert waves == [KEYS]
        assert quota.requests == [KEYS[:10]] * 3 + [KEYS[10:20], KEYS[20:]]
        assert set(got.values()) == {OK}

    def test_without_retries_one_call_a_round(self) -> None:
        """With no split given, each round sends every throttled key in one call of the load's fetch."""
        clock = Clock()
        quota = Quota(clock, [False, False, False])
        cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep)
        got = cache.get_many(KEYS, quota, 300, 0, throttle_timeout=120.0)
        assert quota.requests == [KEYS] * 4
        assert clock.slept == [0.5, 1.0, 2.0]
        assert set(got.values()) == {OK}
