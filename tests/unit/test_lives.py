"""The lives of cached entries (`_entry`): a wide first life, narrow refreshes, a fork's spread, one batch.

Each rule on a fake clock with scripted draws, so that every end of freshness is asserted exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pydantic_aws_settings.cache import FIRST_JITTER, JITTER, ValueCache
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from support.clocks import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

TTL = 100.0


class Fetches:
    """A fetch function that records each call's keys and answers every key with a value."""

    def __init__(self) -> None:
        self.calls: list[list[Hashable]] = []

    def __call__(self, keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
        """Record the call and answer each key."""
        self.calls.append(sorted(keys))  # type: ignore[type-var]
        return {key: Fetched(f"value of {key}", "String", "1") for key in keys}


def scripted(*draws: float) -> tuple[FakeClock, ValueCache[str], Fetches]:
    """A cache on a fake clock whose random draws are these, in order, its background work inline."""
    clock, left = FakeClock(), list(draws)
    cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: left.pop(0), background=lambda work: work())
    return clock, cache, Fetches()


def load(cache: ValueCache[str], fetch: Fetches, *keys: str, ahead: float = 0.0) -> None:
    """One load of these keys with TTL 100 s and a day of stale-if-error."""
    cache.get_many(list(keys), fetch, TTL, 86400.0, refresh_ahead=ahead)


class TestFirstLife:
    """A process's first value of a key lives (1 - FIRST_JITTER, 1] of the TTL; a refresh (1 - JITTER, 1]."""

    def test_the_first_life_is_wide_and_a_refresh_narrow(self) -> None:
        """With the same draw (0.5), the first life is 55 s of 100, the refresh's 95 s (before: 95 and 95)."""
        clock, cache, fetch = scripted(0.5, 0.5)
        start = clock.now
        load(cache, fetch, "a", "b")
        assert (
            cache.fresh_until("a", TTL)
            == cache.fresh_until("b", TTL)
            == start + TTL * (1 - FIRST_JITTER * 0.5)
        )
        clock.advance(55.0)
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a", "b"], ["a", "b"]]
        assert cache.fresh_until("a", TTL) == pytest.approx(clock.now + TTL * (1 - JITTER * 0.5))

    @pytest.mark.parametrize("draw", [0.0, 0.5, 0.999999])
    def test_no_life_is_longer_than_the_ttl_nor_shorter_than_its_floor(self, draw: float) -> None:
        """Whatever the draw, the first life is in (0.1, 1] of the TTL, never past it."""
        clock, cache, fetch = scripted(draw)
        load(cache, fetch, "a")
        end = cache.fresh_until("a", TTL)
        assert end is not None
        assert clock.now + TTL * (1 - FIRST_JITTER) < end <= clock.now + TTL

    def test_a_fetch_that_refreshes_a_stored_key_draws_a_narrow_life_for_all(self) -> None:
        """A new key fetched with a stored one joins its batch with the refresh's narrow life."""
        clock, cache, fetch = scripted(0.0, 0.5)
        load(cache, fetch, "a")
        clock.advance(TTL)
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a"], ["a", "b"]]
        assert (
            cache.fresh_until("b", TTL) == cache.fresh_until("a", TTL) == clock.now + TTL * (1 - JITTER * 0.5)
        )

    def test_after_a_restore_the_refetch_draws_a_first_life(self) -> None:
        """A restored snapshot refetches every entry, and what it stores gets a wide life again."""
        clock, cache, fetch = scripted(0.0, 0.5)
        load(cache, fetch, "a")
        cache.after_restore()
        load(cache, fetch, "a")
        assert fetch.calls == [["a"], ["a"]]
        assert cache.fresh_until("a", TTL) == clock.now + TTL * (1 - FIRST_JITTER * 0.5)


class TestFork:
    """A forked worker moves each fresh entry's end to one random point between now and its TTL's end."""

    def test_a_fork_spreads_each_workers_entries(self) -> None:
        """Fetched at 0 with a 55 s life, forked at 20 s: draw 0.25 ends them at 20 + 0.75 * 80 = 80 s.

        (Before, the life was drawn again in (0.9, 1] of the TTL from the fetch: 97.5 s for this draw,
        within 10 s of every other worker's.)
        """
        clock, cache, fetch = scripted(0.5, 0.25, 0.0)
        start = clock.now
        load(cache, fetch, "a", "b")
        before = {key: cache._entries[key].stale_until for key in "ab"}
        clock.advance(20.0)
        cache.after_fork()
        for key in "ab":
            assert cache.fresh_until(key, TTL) == start + 80.0
            assert cache._entries[key].stale_until == pytest.approx(before[key] + 80.0 - 55.0)
        clock.advance(59.9)
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a", "b"]]
        clock.advance(0.1)
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a", "b"], ["a", "b"]]

    @pytest.mark.parametrize("draw", [0.0, 0.999999])
    def test_a_fork_never_ends_an_entry_past_its_ttl_nor_before_now(self, draw: float) -> None:
        """The earliest draw ends it just after now, the latest at the TTL's end, never past it."""
        clock, cache, fetch = scripted(0.0, draw)
        start = clock.now
        load(cache, fetch, "a")
        clock.advance(30.0)
        cache.after_fork()
        end = cache.fresh_until("a", TTL)
        assert end is not None
        assert clock.now < end <= start + TTL
        assert end == pytest.approx(clock.now + (1 - draw) * 70.0)

    def test_due_and_stale_entries_are_left_as_they_are(self) -> None:
        """An entry already past its freshness, or served stale, keeps its times at the fork."""
        clock, cache, fetch = scripted(0.0, 0.0, 0.5)
        load(cache, fetch, "due")
        clock.advance(TTL + 1)
        failing = {"due": FetchFailure("ThrottlingException", "Rate exceeded")}
        cache.get_many(["due"], lambda keys: failing, TTL, 86400.0)
        before = (cache._entries["due"].life_factor, cache._entries["due"].stale_until)
        cache.after_fork()
        assert (cache._entries["due"].life_factor, cache._entries["due"].stale_until) == before


class TestRefreshedTogether:
    """A load that refreshes anything refreshes every fresh entry it uses in the same fetch."""

    def test_an_expired_entry_takes_the_loads_fresh_ones_along(self) -> None:
        """Two batches of one load (a at 55 s, b at 100 s) become one fetch at a's end (before: a alone)."""
        clock, cache, fetch = scripted(0.5, 0.0, 0.0)
        load(cache, fetch, "a")
        load(cache, fetch, "a", "b")
        clock.advance(55.0)
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a"], ["b"], ["a", "b"]]
        assert cache.fresh_until("a", TTL) == cache.fresh_until("b", TTL)

    def test_a_refresh_ahead_takes_the_loads_fresh_ones_along(self) -> None:
        """In a's refresh-ahead window, b (fresh for 45 s more) is refreshed in the same background fetch."""
        clock, cache, fetch = scripted(0.5, 0.0, 0.0)
        load(cache, fetch, "a", ahead=10.0)
        load(cache, fetch, "a", "b", ahead=10.0)
        clock.advance(50.0)
        load(cache, fetch, "a", "b", ahead=10.0)
        assert fetch.calls == [["a"], ["b"], ["a", "b"]]

    def test_a_new_key_alone_refreshes_nothing_else(self) -> None:
        """A load whose only fetch is a key never stored fetches just that key."""
        _, cache, fetch = scripted(0.0, 0.0)
        load(cache, fetch, "a")
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a"], ["b"]]

    def test_a_retry_after_a_failure_refreshes_nothing_else(self) -> None:
        """A failing entry's retry after its backoff fetches that entry alone, not the load's fresh ones."""
        clock, cache, fetch = scripted(0.0, 0.0, 0.0, 0.0)
        load(cache, fetch, "a")
        clock.advance(50.0)
        load(cache, fetch, "a", "b")
        clock.advance(50.0)
        refused = FetchFailure("AccessDeniedException", "denied")
        cache.get_many(["a"], lambda keys: dict.fromkeys(keys, refused), TTL, 86400.0)
        clock.advance(5.0)
        load(cache, fetch, "a", "b")
        assert fetch.calls == [["a"], ["b"], ["a"]]


def deferred() -> tuple[FakeClock, ValueCache[str], list[Callable[[], None]]]:
    """A cache on a fake clock, every draw 0 (full lives), its background work kept until a test runs it."""
    clock, pending = FakeClock(), []
    cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: 0.0, background=pending.append)
    return clock, cache, pending


class TestRetriesApart:
    """A failing entry's retry is fetched apart: not with healthy entries, nor in a fetch a load waits for."""

    @staticmethod
    def _failing_r(clock: FakeClock, cache: ValueCache[str], fetch: Fetches) -> None:
        """Key r fetched at 0, d at 10, f at 40 (lives of 100 s); r's refresh at 100 is denied: r is stale."""
        load(cache, fetch, "r")
        clock.advance(10.0)
        load(cache, fetch, "d")
        clock.advance(30.0)
        load(cache, fetch, "f")
        clock.advance(60.0)
        denied = FetchFailure("AccessDeniedException", "denied")
        cache.get_many(["r"], lambda keys: dict.fromkeys(keys, denied), TTL, 86400.0)
        assert cache._entries["r"].failures == 1
        clock.advance(5.0)  # r's backoff (at most 1 s) is over; d is in its refresh-ahead window; f fresh

    def test_a_retry_is_not_merged_with_a_healthy_refresh(self) -> None:
        """The retry of r and the refresh ahead of d (with f along) are two background fetches, not one.

        Before, one fetch asked for d, f and r together: a refusal of the whole request for r's sake (an
        AccessDenied answers a GetParameters for all its names) failed d and f too, which were then retried
        with r, failing with it, every backoff, until their stale window ran out.
        """
        clock, cache, pending = deferred()
        fetch = Fetches()
        self._failing_r(clock, cache, fetch)
        outcomes = cache.get_many(["r", "d", "f"], fetch, TTL, 86400.0, refresh_ahead=10.0)
        assert set(outcomes) == {"r", "d", "f"}  # all at once, from the cache
        assert len(pending) == 2
        for work in pending:
            work()
        assert sorted(fetch.calls[3:]) == [["d", "f"], ["r"]]

    def test_a_load_waiting_for_an_expired_entry_does_not_wait_for_a_retry(self) -> None:
        """A key this load must wait for, and r due for a retry: the key is fetched here, r in the background.

        Before, r's retry joined the fetch the load waited for: during r's outage the load waited for
        r's failing request as well (up to the timeouts), where the contract retries it in the background.
        """
        clock, cache, pending = deferred()
        fetch = Fetches()
        self._failing_r(clock, cache, fetch)
        load(cache, fetch, "new")  # a key never stored: fetched by this load, which waits for it
        assert fetch.calls[3:] == [["new"]]
        load(cache, fetch, "r", "new2")
        assert fetch.calls[4:] == [["new2"]]
        assert len(pending) == 1
        pending[0]()
        assert fetch.calls[5:] == [["r"]]


def test_a_refresh_that_could_not_start_leaves_no_flight_behind() -> None:
    """Starting the background refresh fails (no thread to be had): the next load refreshes the entry.

    Before, the refresh-ahead's flight stayed registered: every later load took the entry as being
    refreshed and served it, never refreshing it, and once its stale window ended waited for that flight
    for ever.
    """
    clock = FakeClock()
    starts: list[Callable[[], None]] = []

    def background(work: Callable[[], None]) -> None:
        if not starts:
            starts.append(work)
            raise RuntimeError("can't start new thread")
        work()

    cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: 0.0, background=background)
    fetch = Fetches()
    load(cache, fetch, "a", ahead=10.0)
    clock.advance(95.0)  # in a's refresh-ahead window
    with pytest.raises(RuntimeError):
        load(cache, fetch, "a", ahead=10.0)
    assert cache._flights == {}
    load(cache, fetch, "a", ahead=10.0)
    assert fetch.calls == [["a"], ["a"]]
