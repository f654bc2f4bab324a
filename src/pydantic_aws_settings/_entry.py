"""A cached entry and its life: how long it stays fresh, and how a fork or a restore spreads that life.

A fleet's refreshes must not come in step: a thousand processes that started together, or the workers of
one pre-forking parent, would otherwise refresh in the same seconds, every TTL, and be throttled. Three
rules spread them, each drawing at random and none ever lengthening a life past the TTL (nothing is
served as fresh past the TTL it was stored with; a fork may move an inherited end later, up to it):

- **The first life is wide.** The first value a process stores for a key (a cold load, or the first
  fetch after a snapshot restore) is fresh for between `1 - FIRST_JITTER` and all of the TTL: processes
  that loaded together are due at times spread over most of a TTL, once.
- **Later lives are narrow.** Every refresh of a stored entry lives between `1 - JITTER` and all of the
  TTL: the phases spread once stay spread, and the mean request rate stays near one fetch per TTL.
- **A fork spreads what the child inherited.** A forked worker moves the end of every inherited fresh
  entry to one random point between now and the end its TTL allows (one draw per worker, so that the
  entries it inherited together stay due together).

One draw covers everything one fetch stored, so what was fetched together is refreshed together.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic_aws_settings._backoff import MAX_BACKOFF, backoff
from pydantic_aws_settings.fetch import FetchFailure

if TYPE_CHECKING:
    from collections.abc import Hashable, Iterable, MutableMapping

    from pydantic_aws_settings.fetch import Outcome

__all__ = ["FIRST_JITTER", "JITTER", "Entry", "after_fork", "life", "live", "settle"]

logger = logging.getLogger("pydantic_aws_settings")

K = TypeVar("K", bound="Hashable")

#: The largest share of its TTL a refreshed entry's life may be shortened by.
JITTER = 0.1
#: The largest share of its TTL the first life of an entry in a process may be shortened by.
FIRST_JITTER = 0.9


@dataclass(slots=True)
class Entry:
    """One cached outcome, with the times that decide whether it is fresh, stale or gone."""

    value: Outcome  # a Fetched, or a remembered absence (a FetchFailure that is not_found)
    fetched_at: float
    life_factor: float  # the share of its TTL it is fresh for: in (0, 1]
    stale_until: float  # the end of its jittered life plus max_stale: the one definition of the stale window
    retry_at: float = -math.inf  # no request for it before this (backoff after a failed refresh)
    failures: int = 0  # failed refreshes in a row: > 0 while it is being served stale
    ttl: float = 0.0  # the TTL it was stored with: the latest its life may end is fetched_at + ttl
    first: bool = False  # the next value stored for it gets a first (wide) life: set after a restore

    def fresh_until(self, ttl: float) -> float:
        """When the entry stops being fresh for a load with this TTL."""
        return self.fetched_at + ttl * self.life_factor


def life(draw: float, *, first: bool) -> float:
    """The life factor (share of the TTL) of a value stored now; `draw` is a random float in [0, 1)."""
    return 1.0 - (FIRST_JITTER if first else JITTER) * draw


def after_fork(entries: Iterable[Entry], now: float, draw: float) -> None:
    """Move the end of each inherited fresh entry to the same share (1 - draw) of the way to its TTL's end.

    The new end is after now and never past `fetched_at + ttl`; the stale window moves with it. Entries
    already due, or being served stale, are left as they are.
    """
    share = 1.0 - draw  # in (0, 1]
    for entry in entries:
        end = entry.fetched_at + entry.ttl * entry.life_factor
        if entry.failures or entry.ttl <= 0 or end <= now:
            continue
        new_end = now + share * (entry.fetched_at + entry.ttl - now)
        entry.stale_until += new_end - end
        entry.life_factor = (new_end - entry.fetched_at) / entry.ttl


def live(entries: MutableMapping[K, Entry], key: K, now: float) -> Entry | None:
    """The entry of a key unless its stale window is over (then dropped)."""
    entry = entries.get(key)
    if entry is not None and now >= entry.stale_until:
        del entries[key]
        return None
    return entry


def settle(
    entries: MutableMapping[K, Entry],
    key: K,
    outcome: Outcome,
    now: float,
    ttl: float,
    max_stale: float,
    draw: float,
    *,
    first: bool,
) -> Outcome:
    """Store a value or an absence, or turn a failure into the last value when it may be served stale.

    `draw` (in [0, 1)) sets the entry's jitter: its life when stored (a wide one when `first`), its
    backoff when a refresh failed. Returns what the load gets for the key.
    """
    entry = live(entries, key, now)
    if not isinstance(outcome, FetchFailure) or outcome.not_found:
        if ttl > 0:
            factor = life(draw, first=first)
            entries[key] = Entry(outcome, now, factor, now + ttl * factor + max_stale, ttl=ttl)
        else:
            entries.pop(key, None)
        if entry is not None and entry.failures:
            logger.info("%s is fresh again after %d failed refreshes", key, entry.failures)
        return outcome
    if entry is None:
        return outcome
    entry.failures += 1
    entry.retry_at = now + backoff(entry.failures, draw, min(MAX_BACKOFF, ttl) or MAX_BACKOFF)
    if entry.failures == 1:
        logger.warning(
            "serving a stale value of %s: refreshing it failed with %s (fetched %.0f s ago); "
            "retrying in the background until it succeeds",
            key,
            outcome.code,
            now - entry.fetched_at,
        )
    return entry.value
