"""The lifecycle parts on their own, with no endpoint.

The freeze-proof clock, the cache's fork and restore methods, and the registration of the fork and
SnapStart hooks.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import types
from typing import TYPE_CHECKING, Any

import pytest

from pydantic_aws_settings import _state
from pydantic_aws_settings._clock import WALL_JUMP, FreezeProofClock
from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from pydantic_aws_settings.fetch.secretsmanager import DenialMemory
from support.clocks import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable


def value(text: str) -> Fetched:
    """A fetched secret string."""
    return Fetched(text, "SecretString", "v1")


def counting(answer: Fetched | FetchFailure, calls: list[list[Hashable]]) -> Callable[..., Any]:
    """A fetch that records its keys and answers each with `answer`."""

    def fetch(keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
        calls.append(list(keys))
        return dict.fromkeys(keys, answer)

    return fetch


class _Client:
    """Stands for a botocore client: something the denial memory can key weakly."""


class TestFreezeProofClock:
    """Monotonic readings that never fall behind the wall clock by more than WALL_JUMP."""

    def test_follows_the_monotonic_clock_while_both_agree(self) -> None:
        """Small differences between the clocks (slewing, reading order) are not counted."""
        mono, wall = FakeClock(100.0), FakeClock(1_700_000_000.0)
        clock = FreezeProofClock(mono, wall)
        mono.advance(10.0)
        wall.advance(10.0 + WALL_JUMP / 2)
        assert clock() == 110.0

    def test_a_wall_clock_jump_ahead_is_added_for_good(self) -> None:
        """A restore or a suspend: the wall clock moved an hour, the monotonic clock did not."""
        mono, wall = FakeClock(100.0), FakeClock(1_700_000_000.0)
        clock = FreezeProofClock(mono, wall)
        wall.advance(3600.0)
        assert clock() == 3700.0
        mono.advance(5.0)
        wall.advance(5.0)
        assert clock() == 3705.0

    def test_a_wall_clock_set_back_never_makes_readings_go_back(self) -> None:
        """Set back by a day, the wall clock is ignored; a later jump ahead from there still counts."""
        mono, wall = FakeClock(100.0), FakeClock(1_700_000_000.0)
        clock = FreezeProofClock(mono, wall)
        wall.advance(-86400.0)
        mono.advance(1.0)
        assert clock() == 101.0
        wall.advance(1.0 + 60.0)
        mono.advance(1.0)
        assert clock() == 162.0

    def test_the_cache_uses_it_by_default(self) -> None:
        """A ValueCache built without a timer reads a FreezeProofClock."""
        assert isinstance(ValueCache()._timer, FreezeProofClock)

    def test_an_entry_expires_when_only_the_wall_clock_moved(self) -> None:
        """A cache on the clock fetches again after the wall clock passed the TTL (monotonic stood still)."""
        mono, wall = FakeClock(100.0), FakeClock(1_700_000_000.0)
        cache: ValueCache[str] = ValueCache(timer=FreezeProofClock(mono, wall), rng=lambda: 0.0)
        calls: list[list[Hashable]] = []
        fetch = counting(value("a"), calls)
        cache.get_many(["k"], fetch, ttl=60, max_stale=600)
        wall.advance(61.0)
        cache.get_many(["k"], fetch, ttl=60, max_stale=600)
        assert len(calls) == 2


class TestCacheAfterFork:
    """What a forked child's cache keeps and drops, called in this process as the hook would."""

    def test_a_flight_of_the_parent_is_not_waited_for(self) -> None:
        """A fetch in flight on another thread at the fork: the child's load fetches again and returns."""
        cache: ValueCache[str] = ValueCache(timer=FakeClock(), rng=lambda: 0.0)
        started, release = threading.Event(), threading.Event()

        def stuck(keys: list[Hashable]) -> dict[Hashable, Fetched]:
            started.set()
            release.wait(10)
            return dict.fromkeys(keys, value("parent"))

        parent = threading.Thread(target=cache.get_many, args=(["k"], stuck, 60, 600), daemon=True)
        parent.start()
        assert started.wait(10)
        cache.after_fork()  # as in a child: the thread above is the parent's, not ours
        calls: list[list[Hashable]] = []
        assert cache.get_many(["k"], counting(value("child"), calls), 60, 600) == {"k": value("child")}
        assert calls == [["k"]]
        release.set()
        parent.join(10)

    def test_values_are_kept_with_a_life_of_their_own_never_past_the_ttl(self) -> None:
        """Each entry gets a new life factor, ending after now and never past its TTL; its stale window moves.

        (It was drawn again in (1 - JITTER, 1] of the TTL, which kept a pre-forked fleet's workers within
        30 s of each other: test_a_fork_spreads_each_workers_entries pins the new rule.)
        """
        clock = FakeClock()
        draws = itertools.cycle([0.0, 0.5, 0.999, 0.25])
        cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: next(draws))
        calls: list[list[Hashable]] = []
        for key in ("a", "b", "c"):
            cache.get_many([key], counting(value(key), calls), ttl=100, max_stale=50)
        before = {k: (e.life_factor, e.stale_until) for k, e in cache._entries.items()}
        clock.advance(1.0)
        cache.after_fork()
        after = {k: (e.life_factor, e.stale_until) for k, e in cache._entries.items()}
        assert after != before
        for key, (life, stale_until) in after.items():
            assert 1.0 / 100 < life <= 1
            assert stale_until - before[key][1] == pytest.approx(100 * (life - before[key][0]))
            assert cache.fresh_until(key, 100) is not None
            assert cache.fresh_until(key, 100) <= clock.now + 100  # type: ignore[operator]
        assert cache.get_many(["a", "b", "c"], counting(value("x"), calls), 100, 50) == {
            k: value(k) for k in "abc"
        }
        assert len(calls) == 3  # the three first loads; the values were kept

    def test_denial_memory_gets_a_lock_of_its_own(self) -> None:
        """A lock held by another thread at the fork does not block the child's denial memory."""
        memory = DenialMemory()
        memory._lock.acquire()
        memory.after_fork()
        client = _Client()
        memory.remember(client)
        assert memory.denied(client)


class TestCacheAfterRestore:
    """A restored snapshot: every entry is due, and its value is kept for stale-if-error."""

    def test_every_entry_is_fetched_again(self) -> None:
        """After the restore, the next load fetches (and waits for) every entry, however fresh it was."""
        cache: ValueCache[str] = ValueCache(timer=FakeClock(), rng=lambda: 0.0)
        calls: list[list[Hashable]] = []
        cache.get_many(["k"], counting(value("old"), calls), ttl=300, max_stale=3600)
        cache.after_restore()
        assert cache.get_many(["k"], counting(value("new"), calls), 300, 3600) == {"k": value("new")}
        assert len(calls) == 2

    def test_the_kept_value_is_served_stale_when_that_fetch_fails(self) -> None:
        """A restore without network yet: the load gets the value it had, not an error."""
        cache: ValueCache[str] = ValueCache(timer=FakeClock(), rng=lambda: 0.0)
        calls: list[list[Hashable]] = []
        cache.get_many(["k"], counting(value("old"), calls), ttl=300, max_stale=3600)
        cache.after_restore()
        failed = FetchFailure("EndpointConnectionError", "no route")
        assert cache.get_many(["k"], counting(failed, calls), ttl=300, max_stale=3600) == {"k": value("old")}
        assert len(calls) == 2


class TestHookRegistration:
    """The hooks are registered once, when the process state is first built."""

    @pytest.fixture
    def registered(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
        """Record registrations instead of making them, with a fake snapshot_restore_py importable."""
        seen: dict[str, list[Any]] = {"fork": [], "restore": []}
        fake = types.ModuleType("snapshot_restore_py")
        fake.register_after_restore = seen["restore"].append  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
        monkeypatch.setattr(os, "register_at_fork", lambda **hooks: seen["fork"].append(hooks))
        monkeypatch.setattr(_state, "_HOOKED", False)
        _state.reset()
        return seen

    def test_fork_and_restore_hooks_are_registered_once(self, registered: dict[str, list[Any]]) -> None:
        """Building the state registers both; a reset and a new state register nothing more."""
        assert registered == {"fork": [], "restore": []}  # importing and resetting build nothing
        _state.state()
        _state.reset()
        _state.state()
        assert registered == {
            "fork": [{"after_in_child": _state._after_fork_in_child}],
            "restore": [_state._after_restore],
        }

    def test_without_snapshot_restore_py_only_the_fork_hook(
        self, registered: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Outside Lambda the module does not import, and that is no error."""
        monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import raises ImportError
        _state.state()
        assert registered == {"fork": [{"after_in_child": _state._after_fork_in_child}], "restore": []}

    def test_the_restore_hook_drops_clients_and_marks_entries(self, registered: dict[str, list[Any]]) -> None:
        """Called directly: the registry is emptied and a cached entry is due again."""
        current = _state.state()
        current.cache = ValueCache(timer=FakeClock(), rng=lambda: 0.0)
        calls: list[list[Hashable]] = []
        current.cache.get_many(["k"], counting(value("a"), calls), 300, 600)
        current.clients._clients[("marker",)] = object()
        _state._after_restore()
        assert current.clients._clients == {}
        current.cache.get_many(["k"], counting(value("a"), calls), 300, 600)
        assert len(calls) == 2

    def test_the_fork_hook_replaces_the_state_lock(self, registered: dict[str, list[Any]]) -> None:
        """A state lock held at the fork by another thread does not block the child's first load."""
        _state.state()
        held = _state._LOCK
        held.acquire()
        try:
            _state._after_fork_in_child()
            assert _state._LOCK is not held
            _state.reset()
            assert _state.state() is not None
        finally:
            held.release()
