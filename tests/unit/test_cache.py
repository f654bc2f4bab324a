"""ValueCache on its own, on a fake clock and with no endpoint: TTL, jitter, single flight, stale-if-error."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import pytest

from pydantic_aws_settings.cache import FIRST_JITTER, JITTER, ValueCache
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from support.clocks import FakeClock

if TYPE_CHECKING:
    from collections.abc import Hashable


class Counter:
    """A fetch function for ValueCache that counts calls and answers from a table."""

    def __init__(self, answers: dict[Hashable, Fetched | FetchFailure]) -> None:
        self.answers = answers
        self.calls: list[list[Hashable]] = []

    def __call__(self, keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
        """Record the call and answer each key."""
        self.calls.append(list(keys))
        return {key: self.answers[key] for key in keys}


def value(text: str) -> Fetched:
    """A fetched secret string."""
    return Fetched(text, "SecretString", "v1")


class TestValueCache:
    """The cache on its own, with a fake clock."""

    def test_fresh_within_ttl_and_fetched_once_after(self) -> None:
        """Within the TTL nothing is fetched; after it, one fetch."""
        clock = FakeClock()
        cache = ValueCache(timer=clock, rng=lambda: 0.0)
        fetch = Counter({"k": value("a")})
        assert cache.get_many(["k"], fetch, ttl=10, max_stale=100) == {"k": value("a")}
        clock.advance(9.9)
        cache.get_many(["k"], fetch, ttl=10, max_stale=100)
        assert len(fetch.calls) == 1
        clock.advance(0.2)
        cache.get_many(["k"], fetch, ttl=10, max_stale=100)
        assert len(fetch.calls) == 2

    @pytest.mark.parametrize("draw", [0.0, 0.25, 0.5, 0.999999])
    def test_jitter_shortens_never_lengthens(self, draw: float) -> None:
        """Whatever the draw, an entry is fresh no longer than its TTL: a refresh at least (1 - JITTER) of it.

        (The first value of a key in a process is drawn wider: see test_the_first_life_is_wide.)
        """
        clock = FakeClock()
        cache = ValueCache(timer=clock, rng=lambda: draw)
        cache.get_many(["k"], Counter({"k": value("a")}), ttl=100, max_stale=10)
        end = cache.fresh_until("k", 100)
        assert end is not None
        assert clock.now + 100 * (1 - FIRST_JITTER) <= end <= clock.now + 100
        clock.advance(end - clock.now)
        cache.get_many(["k"], Counter({"k": value("b")}), ttl=100, max_stale=10)
        end = cache.fresh_until("k", 100)
        assert end is not None
        assert clock.now + 100 * (1 - JITTER) <= end <= clock.now + 100

    def test_stale_served_within_max_stale_then_error(self, caplog: pytest.LogCaptureFixture) -> None:
        """A failed refresh serves the last good value, with a warning, until MAX_STALE runs out."""
        clock = FakeClock()
        cache = ValueCache(timer=clock, rng=lambda: 0.0)
        cache.get_many(["k"], Counter({"k": value("good")}), ttl=10, max_stale=50)
        failing = Counter({"k": FetchFailure("ThrottlingException", "Rate exceeded")})
        clock.advance(30)
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"):
            assert cache.get_many(["k"], failing, ttl=10, max_stale=50) == {"k": value("good")}
        assert [
            "ThrottlingException" in r.getMessage() and "good" not in r.getMessage() for r in caplog.records
        ] == [True]
        clock.advance(31)
        assert cache.get_many(["k"], failing, ttl=10, max_stale=50)["k"] == FetchFailure(
            "ThrottlingException", "Rate exceeded"
        )

    def test_deleted_value_is_not_served_stale(self) -> None:
        """A not-found answer replaces the value instead of serving it stale (the absence is remembered)."""
        clock = FakeClock()
        cache = ValueCache(timer=clock, rng=lambda: 0.0)
        cache.get_many(["k"], Counter({"k": value("good")}), ttl=10, max_stale=1000)
        clock.advance(11)
        gone = FetchFailure("ResourceNotFoundException", "deleted")
        assert cache.get_many(["k"], Counter({"k": gone}), ttl=10, max_stale=1000) == {"k": gone}
        later = Counter({"k": value("good")})
        assert cache.get_many(["k"], later, ttl=10, max_stale=1000) == {"k": gone}
        assert later.calls == []

    def test_ttl_zero_stores_nothing(self) -> None:
        """With TTL 0 every call fetches."""
        cache = ValueCache(timer=FakeClock())
        fetch = Counter({"k": value("a")})
        for _ in range(3):
            cache.get_many(["k"], fetch, ttl=0, max_stale=100)
        assert len(fetch.calls) == 3
        assert len(cache) == 0

    def test_single_flight_across_threads(self) -> None:
        """Concurrent callers needing the same missing key cause one fetch; all get its value."""
        cache = ValueCache()
        release = threading.Event()
        calls: list[list[Hashable]] = []

        def slow(keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
            calls.append(keys)
            release.wait(5)
            return dict.fromkeys(keys, value("a"))

        results: list[Any] = []
        threads = [
            threading.Thread(target=lambda: results.append(cache.get_many(["k"], slow, 10, 10)))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        while not calls:
            threading.Event().wait(0.001)
        release.set()
        for thread in threads:
            thread.join(5)
        assert len(calls) == 1
        assert results == [{"k": value("a")}] * 8

    def test_fetch_that_raises_releases_waiters(self) -> None:
        """An exception inside a fetch becomes a failure for its keys, never a hang."""
        cache = ValueCache()

        def broken(keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
            raise RuntimeError("boom")

        outcome = cache.get_many(["k"], broken, 10, 10)["k"]
        assert isinstance(outcome, FetchFailure)
        assert outcome.code == "RuntimeError"
