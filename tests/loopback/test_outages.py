"""Nobody waits on AWS after start: refresh ahead, backoff, remembered absence, throttling, LiveSettings.

The contract's section "Outages and refreshes". The cache's windows are tested on a fake clock with the
background refreshes held, so that what runs when is decided by the test; the loads against the loopback
endpoint count requests exactly.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, LiveSettings, _state
from pydantic_aws_settings._backoff import throttle_backoff
from pydantic_aws_settings.cache import MAX_BACKOFF, ValueCache, backoff
from pydantic_aws_settings.fetch import Fetched, FetchFailure

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

GOOD = Fetched("good", "SecretString", "v1")
NEW = Fetched("new", "SecretString", "v2")
DOWN = FetchFailure("EndpointConnectionError", "Could not connect")
THROTTLED = FetchFailure("ThrottlingException", "Rate exceeded")
MISSING = FetchFailure("ParameterNotFound", "listed in InvalidParameters")


class Clock:
    """A fake monotonic clock; `sleep` moves it, so throttled retries take no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        """The current fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the sleep and move the clock by it."""
        self.slept.append(seconds)
        self.now += seconds


class Held:
    """A background runner that keeps the work until the test runs it."""

    def __init__(self) -> None:
        self.works: list[Callable[[], None]] = []

    def __call__(self, work: Callable[[], None]) -> None:
        """Keep the work."""
        self.works.append(work)

    def run(self) -> int:
        """Run every work kept so far; return how many ran."""
        works, self.works = self.works, []
        for work in works:
            work()
        return len(works)


class Script:
    """A fetch that answers each call with the next outcome of a script (the last one repeats)."""

    def __init__(self, *outcomes: Fetched | FetchFailure) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self, keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
        """Answer every key with the next outcome."""
        outcome = self.outcomes[min(self.calls, len(self.outcomes) - 1)]
        self.calls += 1
        return dict.fromkeys(keys, outcome)


@pytest.fixture
def clock() -> Clock:
    """A fake clock."""
    return Clock()


@pytest.fixture
def held() -> Held:
    """A runner that holds background refreshes."""
    return Held()


@pytest.fixture
def cache(clock: Clock, held: Held) -> ValueCache[str]:
    """A cache on the fake clock, without jitter, its background work held, its sleeps on the clock."""
    return ValueCache(timer=clock, rng=lambda: 0.0, sleep=clock.sleep, background=held)


def load(cache: ValueCache[str], fetch: Script, **windows: float) -> Fetched | FetchFailure:
    """One load of key "k", TTL 100 s, MAX_STALE 1000 s, refresh ahead 10 s unless given."""
    options: dict[str, float] = {"refresh_ahead": 10.0, "throttle_timeout": 0.0, **windows}
    return cache.get_many(["k"], fetch, 100, 1000, **options)["k"]


class TestRefreshAhead:
    """A used entry in the last REFRESH_AHEAD seconds: served at once, refreshed once in the background."""

    def test_no_refresh_before_the_window(self, cache: ValueCache[str], clock: Clock, held: Held) -> None:
        """Before the window, a load is served from the cache and starts nothing."""
        fetch = Script(GOOD, NEW)
        load(cache, fetch)
        clock.now = 89.9
        assert load(cache, fetch) == GOOD
        assert (fetch.calls, held.works) == (1, [])

    def test_in_the_window_served_at_once_and_refreshed_once(
        self, cache: ValueCache[str], clock: Clock, held: Held
    ) -> None:
        """Five loads in the window get the cached value at once and start one background refresh."""
        fetch = Script(GOOD, NEW)
        load(cache, fetch)
        clock.now = 95.0
        assert [load(cache, fetch) for _ in range(5)] == [GOOD] * 5
        assert fetch.calls == 1
        assert held.run() == 1
        assert fetch.calls == 2
        assert load(cache, fetch) == NEW
        assert fetch.calls == 2

    def test_off_with_zero(self, cache: ValueCache[str], clock: Clock, held: Held) -> None:
        """REFRESH_AHEAD=0: nothing is refreshed before the TTL."""
        fetch = Script(GOOD, NEW)
        load(cache, fetch, refresh_ahead=0.0)
        clock.now = 99.9
        assert load(cache, fetch, refresh_ahead=0.0) == GOOD
        assert held.works == []

    def test_expired_idle_entry_makes_the_load_wait(
        self, cache: ValueCache[str], clock: Clock, held: Held
    ) -> None:
        """An entry found expired with nothing known wrong (an idle process) is fetched by the load itself."""
        fetch = Script(GOOD, NEW)
        load(cache, fetch)
        clock.now = 100.0
        assert load(cache, fetch) == NEW
        assert (fetch.calls, held.works) == (2, [])

    def test_expired_while_the_refresh_is_in_flight_serves_stale_at_once(
        self, cache: ValueCache[str], clock: Clock, held: Held
    ) -> None:
        """An entry that expires while its background refresh is in flight is served at once, not awaited."""
        fetch = Script(GOOD, NEW)
        load(cache, fetch)
        clock.now = 95.0
        load(cache, fetch)
        clock.now = 150.0
        assert load(cache, fetch) == GOOD
        assert fetch.calls == 1
        held.run()
        assert load(cache, fetch) == NEW


def test_a_load_that_waits_refreshes_its_window_entries_in_the_same_request(
    cache: ValueCache[str], clock: Clock, held: Held
) -> None:
    """One entry expired and one in its refresh window: one fetch of both, nothing in the background."""
    calls: list[list[str]] = []

    def fetch(keys: list[str]) -> dict[str, Fetched | FetchFailure]:
        calls.append(sorted(keys))
        return dict.fromkeys(keys, NEW if calls[1:] else GOOD)

    cache.get_many(["old"], fetch, 100, 1000, refresh_ahead=10.0)
    clock.now = 50.0
    cache.get_many(["young"], fetch, 100, 1000, refresh_ahead=10.0)
    clock.now = 100.0  # "old" expired, "young" has 50 s left: in a refresh window of 60 s
    outcomes = cache.get_many(["old", "young"], fetch, 100, 1000, refresh_ahead=60.0)
    assert outcomes == {"old": NEW, "young": NEW}
    assert calls[2:] == [["old", "young"]]
    assert held.works == []


class TestBackoff:
    """After a failed refresh: no request until a backoff has passed, stale values at once meanwhile."""

    def test_schedule_doubles_with_jitter_to_the_cap(self) -> None:
        """About 1 s doubling, jittered between half and all of it, at most MAX_BACKOFF (or the cap given)."""
        assert [backoff(n, 0.0) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
        assert [round(backoff(n, 0.999999), 3) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
        assert max(backoff(n, 0.999999) for n in range(1, 100)) <= MAX_BACKOFF
        assert max(backoff(n, 0.999999, cap=5.0) for n in range(1, 100)) <= 5.0

    def test_no_request_during_the_backoff_then_one_in_the_background(
        self, cache: ValueCache[str], clock: Clock, held: Held, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The first failure serves stale and warns; loads in the backoff send nothing; then one retry."""
        fetch = Script(GOOD, DOWN)
        load(cache, fetch)
        clock.now = 100.0
        with caplog.at_level(logging.INFO, logger="pydantic_aws_settings"):
            assert load(cache, fetch) == GOOD  # the load that found it expired waited for this failure
            assert fetch.calls == 2
            clock.now = 100.4  # the first backoff with this draw: 0.5 s
            assert [load(cache, fetch) for _ in range(10)] == [GOOD] * 10
            assert (fetch.calls, held.works) == (2, [])
            clock.now = 100.5
            assert load(cache, fetch) == GOOD
            assert held.run() == 1
            assert fetch.calls == 3
            intervals = []
            for _ in range(8):  # each failure doubles the wait, up to the cap
                start = clock.now
                while not held.works:
                    clock.now += 0.25
                    load(cache, fetch)
                intervals.append(clock.now - start)
                held.run()
        assert intervals == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "EndpointConnectionError" in warnings[0].getMessage()

    def test_never_longer_than_the_ttl(self, cache: ValueCache[str], clock: Clock, held: Held) -> None:
        """With a TTL of 5 s the backoff is at most 5 s."""
        fetch = Script(GOOD, DOWN)
        cache.get_many(["k"], fetch, 5, 1000)
        waits = []
        for _ in range(10):
            start = clock.now
            clock.now += 5
            cache.get_many(["k"], fetch, 5, 1000)
            while not held.works and clock.now - start < 100:
                clock.now += 0.25
                cache.get_many(["k"], fetch, 5, 1000)
            waits.append(clock.now - start)
            held.run()
        assert max(waits) <= 5.0 + 5.0

    def test_one_info_when_fresh_again(
        self, cache: ValueCache[str], clock: Clock, held: Held, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The retry that succeeds stores the new value and logs one INFO."""
        fetch = Script(GOOD, DOWN, NEW)
        load(cache, fetch)
        clock.now = 100.0
        with caplog.at_level(logging.INFO, logger="pydantic_aws_settings"):
            load(cache, fetch)
            clock.now = 101.0
            load(cache, fetch)
            held.run()
            assert load(cache, fetch) == NEW
        infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert len(infos) == 1
        assert "fresh again" in infos[0]


class TestRememberedAbsence:
    """'Does not exist' is remembered for the TTL and served stale like a value."""

    def test_absence_costs_no_request_within_the_ttl(self, cache: ValueCache[str], clock: Clock) -> None:
        """Within the TTL a remembered absence is answered without a fetch."""
        fetch = Script(MISSING)
        assert load(cache, fetch) == MISSING
        clock.now = 50.0
        assert load(cache, fetch) == MISSING
        assert fetch.calls == 1

    def test_absence_is_served_stale_in_an_outage(self, cache: ValueCache[str], clock: Clock) -> None:
        """After the TTL, with AWS down, the absence is served (the field keeps falling back)."""
        fetch = Script(MISSING, DOWN)
        load(cache, fetch)
        clock.now = 100.0
        assert load(cache, fetch) == MISSING
        assert fetch.calls == 2


class TestThrottled:
    """A load with nothing to fall back on retries throttled requests until THROTTLE_TIMEOUT."""

    def test_cold_load_converges(self, clock: Clock, held: Held) -> None:
        """Throttled twice, then answered: the load gets the value after two full-jitter sleeps."""
        cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep, background=held)
        fetch = Script(THROTTLED, THROTTLED, GOOD)
        assert load(cache, fetch, throttle_timeout=120.0) == GOOD
        assert fetch.calls == 3
        assert clock.slept == [throttle_backoff(1, 0.5), throttle_backoff(2, 0.5)] == [0.5, 1.0]

    def test_gives_up_after_the_timeout(self, clock: Clock, held: Held) -> None:
        """Throttled for ever: the load fails once THROTTLE_TIMEOUT has passed, having slept no longer."""
        cache: ValueCache[str] = ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep, background=held)
        fetch = Script(THROTTLED)
        assert load(cache, fetch, throttle_timeout=120.0) == THROTTLED
        assert sum(clock.slept) == pytest.approx(120.0)
        # Waits of 0.5, 1, 2 s, then 4 s (half the 8 s cap) until the 120 s are used: 33 rounds.
        assert fetch.calls == 1 + 33

    def test_no_retry_when_a_stale_value_exists(self, cache: ValueCache[str], clock: Clock) -> None:
        """An expired entry is served stale when the refresh is throttled: nothing waits for the quota."""
        fetch = Script(GOOD, THROTTLED)
        load(cache, fetch)
        clock.now = 100.0
        assert load(cache, fetch, throttle_timeout=120.0) == GOOD
        assert (fetch.calls, clock.slept) == (2, [])


def app_class() -> type[AWSBaseSettings]:
    """A class reading one secret and one optional parameter that does not exist."""
    return type(
        "App",
        (AWSBaseSettings,),
        {
            "__annotations__": {"password": SecretStr, "flag": str},
            "flag": "off",
            "model_config": SettingsConfigDict(env_prefix="APP_"),
        },
    )


@pytest.fixture
def app(sm: Any, monkeypatch: pytest.MonkeyPatch) -> type[AWSBaseSettings]:
    """The class, its secret, and a process cache on a fake clock with inline background work."""
    sm.create_secret(Name="app/db", SecretString="pw-1")
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:app/db")
    monkeypatch.setenv("APP_FLAG", "optional:ssm:/app/flag")
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "60")
    return app_class()


class TestLoads:
    """The same rules in loads against the loopback endpoint, requests counted."""

    def test_optional_missing_flag_survives_an_outage(
        self, app: type[AWSBaseSettings], aws_proxy: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A missing optional parameter costs one request per TTL, and an outage does not fail the load."""
        cache: ValueCache[Any] = ValueCache(timer=clock, rng=lambda: 0.0, background=lambda work: work())
        monkeypatch.setattr(_state.state(), "cache", cache)
        assert app().flag == "off"  # type: ignore[attr-defined]
        clock.now = 30.0
        assert app().flag == "off"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetParameters": 1}
        aws_proxy.inject("GetParameters", "InternalServerError", status=500)
        aws_proxy.inject("BatchGetSecretValue", "InternalServiceError", status=500)
        clock.now = 61.0
        loaded = app()
        assert (loaded.flag, loaded.password.get_secret_value()) == ("off", "pw-1")  # type: ignore[attr-defined]

    def test_cold_start_throttled_converges(
        self, app: type[AWSBaseSettings], aws_proxy: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SSM throttles the first four requests of a cold start (one attempt each): the load succeeds."""
        cache: ValueCache[Any] = ValueCache(timer=clock, rng=lambda: 0.0, sleep=clock.sleep)
        monkeypatch.setattr(_state.state(), "cache", cache)
        monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "1")
        aws_proxy.inject("GetParameters", "ThrottlingException", times=4)
        assert app().flag == "off"  # type: ignore[attr-defined]
        assert aws_proxy.counts["GetParameters"] == 5
        assert clock.slept == [throttle_backoff(n, 0.0) for n in range(1, 5)]


class TestLiveSettings:
    """`get()` never waits once it has settings; `aget()` never blocks the event loop."""

    def test_get_returns_at_once_while_the_reload_hangs(
        self, app: type[AWSBaseSettings], aws_proxy: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With AWS hanging, get() returns the current object while its reload is still waiting on AWS."""
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.0))
        monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "5")
        live = LiveSettings(app)
        first = live.get()
        aws_proxy.inject_hang("BatchGetSecretValue", 5.0)
        clock.now = 61.0
        assert live.get() is first
        deadline = time.monotonic() + 5
        while aws_proxy.counts["BatchGetSecretValue"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert aws_proxy.counts["BatchGetSecretValue"] == 2  # the reload's request is held by the hang
        assert [live.get() for _ in range(100)] == [first] * 100
        assert live.reloads == 1
        aws_proxy.clear_faults()  # the hang ends: the reload fails (stale served) and completes
        while live.reloads < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert live.reloads == 2

    def test_aget_does_not_block_the_event_loop(self, app: type[AWSBaseSettings], aws_proxy: Any) -> None:
        """The first load through aget() runs on a thread: the loop keeps ticking while AWS answers slowly."""
        aws_proxy.set_latency("BatchGetSecretValue", 0.5)
        live = LiveSettings(app)
        ticks = 0

        async def main() -> Any:
            nonlocal ticks
            task = asyncio.ensure_future(live.aget())
            while not task.done():
                ticks += 1
                await asyncio.sleep(0.01)
            return await task

        settings = asyncio.run(main())
        assert settings.password.get_secret_value() == "pw-1"
        assert ticks >= 10  # a blocked loop would tick once or twice in 0.5 s

    def test_one_reload_however_many_threads(
        self, app: type[AWSBaseSettings], aws_proxy: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Sixteen threads calling get() after the TTL start one background reload between them."""
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.0))
        live = LiveSettings(app)
        first = live.get()
        aws_proxy.set_latency("BatchGetSecretValue", 0.3)
        clock.now = 61.0
        seen: list[Any] = []
        threads = [threading.Thread(target=lambda: seen.append(live.get())) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(5)
        assert seen == [first] * 16
        deadline = time.monotonic() + 5
        while live.reloads < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        assert live.reloads == 2
        assert aws_proxy.counts["BatchGetSecretValue"] == 2


def test_live_settings_look_again_at_once_when_a_value_expired_during_the_reload(
    sm: Any, ssm: Any, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """A value that would expire during a reload is refreshed in it: the new b arrives with a, at once.

    (Before the cache refreshed a load's entries together, the reload at a's end left b, fresh until 70 s,
    out; b expired during it and a second reload followed at once. Now the first reload fetches both:
    test_live_settings_look_again_at_once_when_a_value_is_past_its_freshness_after_the_reload covers the
    look-again.)
    """
    from pydantic_aws_settings import invalidate
    from pydantic_aws_settings.fetch import secretsmanager as sm_fetch

    cache: ValueCache[Any] = ValueCache(timer=clock, rng=lambda: 0.0, background=lambda work: work())
    monkeypatch.setattr(_state.state(), "cache", cache)
    sm.create_secret(Name="app/a", SecretString="a-1")
    ssm.put_parameter(Name="/app/b", Value="b-1", Type="String")
    monkeypatch.setenv("APP_A", "secretsmanager:app/a")
    monkeypatch.setenv("APP_B", "ssm:/app/b")
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "60")
    monkeypatch.setenv("PYDANTIC_AWS_REFRESH_AHEAD", "0")
    cls = type(
        "Two",
        (AWSBaseSettings,),
        {"__annotations__": {"a": str, "b": str}, "model_config": SettingsConfigDict(env_prefix="APP_")},
    )
    live = LiveSettings(cls, retry_after=5)
    live.get()
    clock.now = 10.0
    invalidate("ssm:/app/b")
    live.refresh()  # b is now fresh until 70, a until 60
    ssm.put_parameter(Name="/app/b", Value="b-2", Type="String", Overwrite=True)
    slow = sm_fetch.fetch_batch

    def batch_that_takes_fifteen_seconds(*args: Any) -> Any:
        clock.now += 15.0  # b expires while a is being fetched
        return slow(*args)

    monkeypatch.setattr(sm_fetch, "fetch_batch", batch_that_takes_fifteen_seconds)
    clock.now = 60.0
    assert live.get().b == "b-2"  # type: ignore[attr-defined]  # refreshed with a, in one reload
    assert clock.now == 75.0
    assert live.reloads == 3
    assert live.get().b == "b-2"  # type: ignore[attr-defined]
    assert live.reloads == 3  # b is fresh until 135 s: nothing to look at again


def test_live_settings_look_again_at_once_when_a_value_is_past_its_freshness_after_the_reload(
    sm: Any, ssm: Any, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    """A reload ending with a value past its freshness is followed by another at once, not retry_after later.

    The reload due at a's end (60 s) refreshes b with it; b's refresh is refused once, so b (fresh until
    70 s, served stale) is past its freshness when the reload ends at 75 s: the next get() reloads at once.
    """
    from pydantic_aws_settings import invalidate
    from pydantic_aws_settings.fetch import secretsmanager as sm_fetch

    cache: ValueCache[Any] = ValueCache(timer=clock, rng=lambda: 0.0, background=lambda work: work())
    monkeypatch.setattr(_state.state(), "cache", cache)
    sm.create_secret(Name="app/a", SecretString="a-1")
    ssm.put_parameter(Name="/app/b", Value="b-1", Type="String")
    monkeypatch.setenv("APP_A", "secretsmanager:app/a")
    monkeypatch.setenv("APP_B", "ssm:/app/b")
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "60")
    monkeypatch.setenv("PYDANTIC_AWS_REFRESH_AHEAD", "0")
    cls = type(
        "Two",
        (AWSBaseSettings,),
        {"__annotations__": {"a": str, "b": str}, "model_config": SettingsConfigDict(env_prefix="APP_")},
    )
    live = LiveSettings(cls, retry_after=5)
    live.get()
    clock.now = 10.0
    invalidate("ssm:/app/b")
    live.refresh()  # b is now fresh until 70, a until 60
    ssm.put_parameter(Name="/app/b", Value="b-2", Type="String", Overwrite=True)
    slow = sm_fetch.fetch_batch

    def batch_that_takes_fifteen_seconds(*args: Any) -> Any:
        clock.now += 15.0  # b expires while a is being fetched
        return slow(*args)

    monkeypatch.setattr(sm_fetch, "fetch_batch", batch_that_takes_fifteen_seconds)
    aws_proxy.inject("GetParameters", "AccessDeniedException", times=1)
    clock.now = 60.0
    assert live.get().b == "b-1"  # type: ignore[attr-defined]  # served stale
    assert clock.now == 75.0
    assert live.reloads == 3
    live.get()
    assert live.reloads == 4  # at once, not retry_after later
