"""The process-wide cache of fetched values: TTL with jitter, single flight, stale-if-error.

Rules (the same for every thread and every settings class of a process):

- An entry is keyed by what was fetched and as whom: (credentials identity, region, service, target).
- **Fresh**: an entry younger than its load's TTL times a jitter factor in (1 - JITTER, 1] is served
  without a request. Jitter spreads a fleet's refreshes; it only ever shortens an entry's life.
- **Single flight**: when several loads need the same missing or expired entry at once, the first one
  fetches it and the others wait for that fetch; a load is never blocked by entries it does not need.
- **Stale-if-error**: when a refresh fails for any reason but "it does not exist", the last good value
  is served until `max_stale` seconds past its TTL, and a WARNING record names the reference and the
  error code (never the value). A reference whose secret or parameter was deleted is dropped, not
  served stale.
- With a TTL of 0 nothing is stored (concurrent identical fetches are still coalesced).

Storage is a `cachetools.LRUCache` bounded in size; an entry past the end of its stale window counts as
absent and is dropped when next seen. The clock is injectable for tests.

Why not `cachetools.TTLCache`: its TTL is one per cache and its expired entries are gone, while here the
TTL belongs to each load (its options), an expired entry must stay to be served stale, and concurrent
misses must share one fetch; `TTLCache` offers none of the three, so only its LRU storage is used.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from cachetools import LRUCache

from pydantic_aws_settings.fetch import Fetched, FetchFailure, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable, Mapping

__all__ = ["JITTER", "ValueCache"]

K = TypeVar("K", bound="Hashable")

logger = logging.getLogger("pydantic_aws_settings")

#: The largest share of its TTL an entry's life may be shortened by.
JITTER = 0.1


@dataclass(slots=True)
class _Entry:
    value: Fetched
    fetched_at: float
    life_factor: float  # in (1 - JITTER, 1]
    stale_until: float  # the end of its jittered life plus max_stale: the one definition of the stale window

    def fresh_until(self, ttl: float) -> float:
        """When the entry stops being fresh for a load with this TTL."""
        return self.fetched_at + ttl * self.life_factor


@dataclass(slots=True)
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome = field(default_factory=lambda: FetchFailure("InternalError", "fetch did not finish"))


class ValueCache(Generic[K]):
    """A thread-safe cache of fetched values; one instance serves the whole process.

    Args:
        maxsize: how many entries are kept at most (least recently used go first).
        timer: the clock, monotonic seconds; tests pass a fake one.
        rng: a source of floats in [0, 1) for jitter; tests pass a fixed one.
    """

    def __init__(
        self,
        maxsize: int = 4096,
        timer: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._timer = timer
        self._rng = rng
        self._lock = threading.Lock()
        self._entries: LRUCache[K, _Entry] = LRUCache(maxsize)
        self._flights: dict[K, _Flight] = {}

    def get_many(
        self,
        keys: Collection[K],
        fetch: Callable[[list[K]], Mapping[K, Outcome]],
        ttl: float,
        max_stale: float,
    ) -> dict[K, Outcome]:
        """Return an outcome for every key, fetching in one call those that are neither fresh nor in flight.

        Args:
            keys: what the load needs.
            fetch: fetches a list of keys; called at most once, outside the lock, with the keys this call
                owns. It must return an outcome for each (an exception counts as a failure of all).
            ttl: seconds a value stays fresh for this load (0: the cache is off).
            max_stale: seconds past the TTL a value may be served when its refresh fails.
        """
        outcomes: dict[K, Outcome] = {}
        mine: list[K] = []
        waiting: dict[K, _Flight] = {}
        with self._lock:
            now = self._timer()
            data = self._entries
            for key in keys:
                # The hot path of every warm load: the entry read inline, not through _live().
                entry = data.get(key)
                if entry is not None and now >= entry.stale_until:
                    del data[key]
                    entry = None
                if entry is not None and now < entry.fresh_until(ttl):
                    outcomes[key] = entry.value
                elif key in self._flights:
                    waiting[key] = self._flights[key]
                else:
                    self._flights[key] = _Flight()
                    mine.append(key)
        if mine:
            self._fetch_owned(mine, fetch, ttl, max_stale, outcomes)
        for key, flight in waiting.items():
            flight.done.wait()
            outcomes[key] = flight.outcome
        return outcomes

    def _fetch_owned(
        self,
        keys: list[K],
        fetch: Callable[[list[K]], Mapping[K, Outcome]],
        ttl: float,
        max_stale: float,
        outcomes: dict[K, Outcome],
    ) -> None:
        fetched: Mapping[K, Outcome] = {}
        try:
            fetched = fetch(keys)
        except Exception as exc:  # noqa: BLE001 - becomes every owned key's failure, and never strands waiters
            failure = FetchFailure(type(exc).__name__, "the fetch raised an unexpected error")
            fetched = dict.fromkeys(keys, failure)
        finally:
            with self._lock:
                now = self._timer()
                for key in keys:
                    outcome = fetched.get(key, FetchFailure("InternalError", "no outcome for this reference"))
                    outcome = self._settle(key, outcome, now, ttl, max_stale)
                    outcomes[key] = outcome
                    flight = self._flights.pop(key)
                    flight.outcome = outcome
                    flight.done.set()

    def _settle(self, key: K, outcome: Outcome, now: float, ttl: float, max_stale: float) -> Outcome:
        """Store a fetched value, or turn a failure into the last good value when it may be served stale."""
        if isinstance(outcome, Fetched):
            if ttl > 0:
                life = 1.0 - JITTER * self._rng()
                self._entries[key] = _Entry(outcome, now, life, now + ttl * life + max_stale)
            return outcome
        entry = self._live(key, now)
        if outcome.not_found:
            self._entries.pop(key, None)
            return outcome
        if entry is not None:
            logger.warning(
                "serving a stale value of %s: refreshing it failed with %s (fetched %.0f s ago)",
                key,
                outcome.code,
                now - entry.fetched_at,
            )
            return entry.value
        return outcome

    def _live(self, key: K, now: float) -> _Entry | None:
        """The entry of a key unless its stale window is over (then dropped); call with the lock held."""
        entry = self._entries.get(key)
        if entry is not None and now >= entry.stale_until:
            del self._entries[key]
            return None
        return entry

    def now(self) -> float:
        """The cache's clock (monotonic seconds; a fake one in tests)."""
        return self._timer()

    def fresh_until(self, key: K, ttl: float) -> float | None:
        """When an entry stops being fresh for a load with this TTL, on the cache's clock; None if absent."""
        with self._lock:
            entry = self._live(key, self._timer())
            return None if entry is None else entry.fresh_until(ttl)

    def invalidate(self, predicate: Callable[[K], bool]) -> int:
        """Drop every entry whose key matches; return how many were dropped."""
        with self._lock:
            doomed = [key for key in list(self._entries.keys()) if predicate(key)]
            for key in doomed:
                self._entries.pop(key, None)
        return len(doomed)

    def clear(self) -> None:
        """Drop every entry (values in flight still complete for their waiters)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"ValueCache(entries={len(self._entries)}, maxsize={self._entries.maxsize})"
