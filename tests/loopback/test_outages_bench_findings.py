"""What the outage benchmark (`benchmarks/outage.py`) found that the outage tests did not pin.

Each was a strict xfail until the library was fixed: a batch that failed together is now retried together
(one jitter draw per fetch, for the entries' lives and their backoffs).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import Fetched, FetchFailure

if TYPE_CHECKING:
    from collections.abc import Callable

GOOD = Fetched("good", "SecretString", "v1")
DOWN = FetchFailure("EndpointConnectionError", "Could not connect")
TTL = 300.0


class TestBatchBackoff:
    """The references of one batch that failed together are retried together."""

    def test_one_retry_request_per_batch_after_a_shared_failure(self) -> None:
        """Ten keys fetched by one request fail together; once backed off, they cost one request, not ten."""
        now = [0.0]
        draws = itertools.cycle([i / 10 for i in range(10)])  # each entry its own jitter, as random() gives
        works: list[Callable[[], None]] = []
        cache: ValueCache[str] = ValueCache(
            timer=lambda: now[0], rng=lambda: next(draws), background=works.append
        )
        keys = [f"/app/p{i}" for i in range(10)]
        calls: list[list[str]] = []
        answer = [GOOD]

        def fetch(batch: list[str]) -> dict[str, Fetched | FetchFailure]:
            calls.append(sorted(batch))
            return dict.fromkeys(batch, answer[0])

        cache.get_many(keys, fetch, TTL, 86400.0)
        answer[0] = DOWN
        now[0] = TTL + 1  # every entry expired: this load refreshes the batch, which fails
        cache.get_many(keys, fetch, TTL, 86400.0)
        assert len(calls) == 2
        for _ in range(20):  # 1 s of loads, one every 50 ms: past every first backoff (0.5 to 1 s)
            now[0] += 0.05
            cache.get_many(keys, fetch, TTL, 86400.0)
            while works:
                works.pop()()
        retries = calls[2:]
        assert len(retries) == 1, f"{len(retries)} requests retried one failed batch: {retries}"
