"""The process-wide cache of fetched values: TTL with jitter, single flight, refresh ahead, stale-if-error.

Rules (the same for every thread and every settings class of a process), drawn as a timeline of one entry:

```
fetched            fresh until (TTL x jitter)                       stale until (+ MAX_STALE)
   |------ fresh ------|-- refresh ahead --|------ stale: served only while refreshing fails ------|-- gone
                       ^ a load here gets the value at once and starts one background refresh
```

- An entry is keyed by what was fetched and as whom (`resolver.Target`). Its value is what AWS answered:
  a value, or a *remembered absence* (AWS said it does not exist), which is kept and served like a value.
- **Fresh**: an entry younger than its load's TTL times its life factor is served without a request. The
  life is jittered so that a fleet's refreshes spread (`_entry`): a process's first value of a key lives
  (1 - FIRST_JITTER, 1] of the TTL, each refresh (1 - JITTER, 1]. Jitter only ever shortens a life.
- **Refresh ahead**: a load that uses an entry in the last `refresh_ahead` seconds of its freshness gets
  the value at once and starts one background refresh (one per entry, however many loads).
- **Expired**: a load that finds an entry past its freshness, with no refresh in flight and no failure
  known (a process that was idle or frozen), fetches it and waits; while a refresh is in flight, or while
  refreshing fails, loads get the stale value at once.
- **Stale-if-error**: when a refresh fails for any reason but "it does not exist", the last value is
  served until `max_stale` seconds past its life. After each failure no request is sent for the entry
  until a backoff has passed (about 1 s, doubling with jitter, at most 60 s and never more than the TTL);
  then one background refresh of the failing entries alone (never with healthy ones, never in a fetch a
  load waits for) tries again, through `retry_fetch` (one attempt per request: the round is the
  retry). One WARNING when an entry starts being served
  stale, one INFO when it is fresh again. An answer that it does not exist replaces the value (never
  served stale).
- **Single flight**: when several loads need the same missing entry at once, the first one fetches it and
  the others wait for that fetch; a load is never blocked by entries it does not need.
- **Throttled**: a load with nothing to fall back on retries throttled keys with jittered exponential
  backoff for up to `throttle_timeout` seconds, so that a fleet starting at once converges: rounds after
  a full-jitter wait of at most 8 s, each sending the throttled requests one at a time (one botocore
  attempt each) and ending at the first that is throttled again (`_backoff.throttled_rounds`).
- With a TTL of 0 nothing is stored (concurrent identical fetches are still coalesced).
- **Wall-clock ages**: the default clock (`_clock.FreezeProofClock`) is monotonic, but also moves forward when
  the wall clock jumps ahead of it, so an entry never outlives its TTL in wall-clock time even when the
  monotonic clock stood still (a host suspend, a Lambda SnapStart restore).
- **Fork and restore**: `after_fork` (in a forked child) and `after_restore` (in a restored snapshot) keep
  the values; a forked child moves each fresh entry's end to a random point before its TTL's end, and a
  restored one refetches everything and draws first lives again; see `_state` for the hooks.
- **Refreshed together**: when a load has an entry to refresh (expired or in its refresh-ahead window),
  every fresh entry it uses is refreshed in the same fetch, so that what a load uses stays one batch.

Storage is a `cachetools.LRUCache` bounded in size; an entry past the end of its stale window counts as
absent and is dropped when next seen. The clock, the random draws, the sleep and the way a background
refresh is started are injectable for tests.

Why not `cachetools.TTLCache`: its TTL is one per cache and its expired entries are gone, while here the
TTL belongs to each load (its options), an expired entry must stay to be served stale, and concurrent
misses must share one fetch; `TTLCache` offers none of the three, so only its LRU storage is used.
"""

from __future__ import annotations

import functools
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from cachetools import LRUCache

from pydantic_aws_settings import _entry
from pydantic_aws_settings._backoff import MAX_BACKOFF, Retries, backoff, retry_throttled
from pydantic_aws_settings._clock import FreezeProofClock
from pydantic_aws_settings.fetch import FetchFailure, Outcome

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable, Mapping

__all__ = ["FIRST_JITTER", "JITTER", "MAX_BACKOFF", "ValueCache", "backoff"]

K = TypeVar("K", bound="Hashable")

JITTER, FIRST_JITTER = _entry.JITTER, _entry.FIRST_JITTER
_Entry = _entry.Entry


@dataclass(slots=True)
class _Flight:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Outcome = field(default_factory=lambda: FetchFailure("InternalError", "fetch did not finish"))


def _in_background(work: Callable[[], None]) -> None:
    """Start a background refresh on a daemon thread of its own (it is bounded by the fetch's timeouts)."""
    threading.Thread(target=work, name="pydantic-aws-settings-refresh", daemon=True).start()


class ValueCache(Generic[K]):
    """A thread-safe cache of fetched values; one instance serves the whole process.

    Args:
        maxsize: how many entries are kept at most (least recently used go first).
        timer: the clock, monotonic seconds (by default a `FreezeProofClock`); tests pass a fake one.
        rng: a source of floats in [0, 1) for jitter; tests pass a fixed one.
        sleep: waits between throttled retries; tests pass one that moves their clock.
        background: starts a background refresh; tests pass one that runs it at once or keeps it.
    """

    def __init__(
        self,
        maxsize: int = 4096,
        timer: Callable[[], float] | None = None,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], None] = time.sleep,
        background: Callable[[Callable[[], None]], None] = _in_background,
    ) -> None:
        self._timer = timer if timer is not None else FreezeProofClock()
        self._rng = rng
        self._sleep = sleep
        self._background = background
        self._lock = threading.Lock()
        self._entries: LRUCache[K, _Entry] = LRUCache(maxsize)
        self._flights: dict[K, _Flight] = {}

    def get_many(
        self,
        keys: Collection[K],
        fetch: Callable[[list[K]], Mapping[K, Outcome]],
        ttl: float,
        max_stale: float,
        *,
        refresh_ahead: float = 0.0,
        throttle_timeout: float = 0.0,
        retries: Retries[K] | None = None,
        retry_fetch: Callable[[list[K]], Mapping[K, Outcome]] | None = None,
    ) -> dict[K, Outcome]:
        """Return an outcome for every key, fetching those neither fresh, stale-servable nor in flight.

        Args:
            keys: what the load needs.
            fetch: fetches a list of keys; called outside the lock, with keys this call owns (here, or on
                a background thread for a refresh ahead). It must return an outcome for each (an
                exception counts as a failure of all).
            ttl: seconds a value stays fresh for this load (0: the cache is off).
            max_stale: seconds past the TTL a value may be served when its refresh fails.
            refresh_ahead: seconds before an entry's freshness ends in which a load refreshes it in the
                background (0: off).
            throttle_timeout: seconds a key with nothing to fall back on is retried while throttled.
            retries: how throttled keys are split into requests and sent again, one request at a time
                (`_backoff.throttled_rounds`); by default all of them in one call of `fetch` a round.
            retry_fetch: fetches the keys of a background retry after a backoff (failing entries only,
                in a fetch of their own; default: `fetch`); the resolver's makes one attempt per request.
        """
        outcomes: dict[K, Outcome] = {}
        mine: list[K] = []
        ahead: list[K] = []
        retry: list[K] = []  # failing entries past their backoff: a background fetch of their own
        due = expired = False  # an entry is due (in its refresh-ahead window, or expired: then it waits)
        waiting: dict[K, _Flight] = {}
        with self._lock:
            now = self._timer()
            data, flights = self._entries, self._flights
            for key in keys:
                # The hot path of every warm load: the entry read inline, not through _live().
                entry = data.get(key)
                if entry is not None and now >= entry.stale_until:
                    del data[key]
                    entry = None
                if entry is None:
                    if key in flights:
                        waiting[key] = flights[key]
                    else:
                        flights[key] = _Flight()
                        mine.append(key)
                    continue
                fresh_until = entry.fetched_at + ttl * entry.life_factor
                if now < fresh_until - refresh_ahead or key in flights or now < entry.retry_at:
                    outcomes[key] = entry.value  # fresh, being refreshed, or backing off: at once
                elif now < fresh_until or entry.failures:
                    outcomes[key] = (
                        entry.value
                    )  # refresh ahead, or retry after the backoff: in the background
                    flights[key] = _Flight()
                    if entry.failures:  # a retry: never with healthy entries, never waited for
                        retry.append(key)
                    else:
                        ahead.append(key)
                        due = True
                else:  # expired, nothing known to be wrong: this load refreshes it and waits
                    flights[key] = _Flight()
                    mine.append(key)
                    due = expired = True
            if due:  # one refresh for all the load uses, so that it stays one batch (off the warm path)
                fresh = [
                    key
                    for key in keys
                    if key not in flights and (entry := data.get(key)) is not None and not entry.failures
                ]
                for key in fresh:
                    flights[key] = _Flight()
                (mine if expired else ahead).extend(fresh)
        if ahead and mine:  # this load waits anyway: one request for both, not a second in the background
            mine += ahead
            ahead = []
        # A retry apart: a request refused for a failing entry's sake must not fail healthy ones with it.
        batches = [(batch, f) for batch, f in ((ahead, fetch), (retry, retry_fetch or fetch)) if batch]
        for index, (batch, refresh) in enumerate(batches):
            try:
                self._background(
                    functools.partial(self._fetch_owned, batch, refresh, ttl, max_stale, {}, 0.0)
                )
            except BaseException:  # no thread to be had: give up this load's flights, none will end them
                self._release([key for left, _ in batches[index:] for key in left] + mine)
                raise
        if mine:
            self._fetch_owned(mine, fetch, ttl, max_stale, outcomes, throttle_timeout, retries)
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
        throttle_timeout: float,
        retries: Retries[K] | None = None,
    ) -> None:
        fetched: dict[K, Outcome] = {}
        try:
            fetched = self._call(fetch, keys)
            if throttle_timeout > 0:
                plan = retries or Retries(lambda again: [again], fetch)
                retry_throttled(
                    keys,
                    Retries(plan.batches, lambda again: self._call(plan.fetch, again), plan.attempts),
                    fetched,
                    timeout=throttle_timeout,
                    fallback=self._has_entry,
                    timer=self._timer,
                    sleep=self._sleep,
                    rng=self._rng,
                )
        finally:
            with self._lock:
                now = self._timer()
                # One draw for the whole fetch: what was fetched together stays due together (its life
                # and its backoff), so it is refreshed or retried in one request, not one per entry. Its
                # life is a first (wide) one only when none of its keys had a life in this process yet.
                draw = self._rng()
                first = all((entry := self._live(key, now)) is None or entry.first for key in keys)
                for key in keys:
                    outcome = fetched.get(key, FetchFailure("InternalError", "no outcome for this reference"))
                    outcome = _entry.settle(
                        self._entries, key, outcome, now, ttl, max_stale, draw, first=first
                    )
                    outcomes[key] = outcome
                    flight = self._flights.pop(key, None)
                    if flight is not None:
                        flight.outcome = outcome
                        flight.done.set()

    def _release(self, keys: list[K]) -> None:
        """Drop the flights of keys no fetch will settle, waking their waiters with what the cache has."""
        with self._lock:
            now = self._timer()
            for key in keys:
                flight = self._flights.pop(key, None)
                if flight is not None:
                    entry = self._live(key, now)
                    if entry is not None:
                        flight.outcome = entry.value
                    flight.done.set()

    @staticmethod
    def _call(fetch: Callable[[list[K]], Mapping[K, Outcome]], keys: list[K]) -> dict[K, Outcome]:
        try:
            return dict(fetch(keys))
        except Exception as exc:  # noqa: BLE001 - becomes every owned key's failure, and never strands waiters
            return dict.fromkeys(
                keys, FetchFailure(type(exc).__name__, "the fetch raised an unexpected error")
            )

    def _has_entry(self, key: K) -> bool:
        with self._lock:
            return key in self._entries

    def _live(self, key: K, now: float) -> _Entry | None:
        """The entry of a key unless its stale window is over (then dropped); call with the lock held."""
        return _entry.live(self._entries, key, now)

    def after_fork(self) -> None:
        """In a forked child: a lock of its own, no fetch in flight, and lives of its own.

        Only the thread that forked came along: the parent's fetches in flight and its background
        refreshes are not running here, so nothing of theirs is waited for (the next load fetches it
        again). Values are kept; each fresh entry's end moves to one random point, drawn once for this
        child, between now and the end of its TTL (`_entry.after_fork`), so that the workers of one
        parent refresh at times spread over a TTL, and no entry lives past its TTL.
        """
        self._lock = threading.Lock()
        self._flights = {}
        _entry.after_fork(list(self._entries.values()), self._timer(), self._rng())

    def after_restore(self) -> None:
        """In a process restored from a snapshot: every entry is due, its value kept for stale-if-error.

        The next load of each entry fetches it again and waits (as for an expired entry); if that
        fails, the kept value is served stale. What it stores gets a first (wide) life, as in a new
        process, so that environments restored together do not stay in step. A restored snapshot keeps
        its threads (unlike a fork), so the lock and the fetches in flight stay theirs.
        """
        with self._lock:
            for entry in list(self._entries.values()):
                entry.life_factor = 0.0
                entry.first = True

    def in_background(self, work: Callable[[], None]) -> None:
        """Run work off the caller's thread, as the cache runs its refreshes (inline in some tests)."""
        self._background(work)

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
