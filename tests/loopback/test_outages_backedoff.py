"""Once backed off, an outage costs one attempt per batch and round; `aget()` leaves the loop to itself.

The outage benchmark's long scenario (`benchmarks/outage.py --scenarios backedoff`) showed a batch being
retried with botocore's three attempts per round once the backoff had reached its cap: 4 attempts a
minute per batch where the goal is at most 2. The round is the retry: a refresh of entries that already
failed makes one attempt per request; the first refresh of a healthy entry keeps botocore's attempts (a
blip is retried at once).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, LiveSettings, _state
from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import Fetched, FetchFailure

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

GOOD = Fetched("good", "SecretString", "v1")
DOWN = FetchFailure("EndpointConnectionError", "Could not connect")
TTL, MAX_STALE = 100.0, 1000.0


class Fetch:
    """A fetch that answers every key with one outcome and records the keys of each call."""

    def __init__(self, outcome: Fetched | FetchFailure) -> None:
        self.outcome = outcome
        self.calls: list[list[Hashable]] = []

    def __call__(self, keys: list[Hashable]) -> dict[Hashable, Fetched | FetchFailure]:
        """Answer every key with the outcome."""
        self.calls.append(list(keys))
        return dict.fromkeys(keys, self.outcome)


class TestRetryFetch:
    """The cache sends a retry after a backoff through `retry_fetch`, and nothing else."""

    @staticmethod
    def cache(now: list[float], works: list[Callable[[], None]]) -> ValueCache[str]:
        """A cache on the clock `now`, without jitter, its background work kept in `works`."""
        return ValueCache(timer=lambda: now[0], rng=lambda: 0.0, background=works.append)

    def test_a_retry_after_the_backoff_uses_the_retry_fetch(self) -> None:
        """The load that found the entry expired used fetch; each retry after a backoff uses retry_fetch."""
        now, works = [0.0], []
        cache = self.cache(now, works)
        fetch, retry = Fetch(GOOD), Fetch(DOWN)

        def get() -> Fetched | FetchFailure:
            return cache.get_many(["k"], fetch, TTL, MAX_STALE, retry_fetch=retry)["k"]

        get()
        fetch.outcome = DOWN
        now[0] = TTL  # expired: this load waits for a refresh, the first failure
        assert get() == GOOD
        assert (len(fetch.calls), len(retry.calls)) == (2, 0)
        for _ in range(3):
            while not works:
                now[0] += 0.25
                assert get() == GOOD
            works.pop()()
        assert (len(fetch.calls), retry.calls) == (2, [["k"]] * 3)

    def test_a_refresh_ahead_uses_fetch(self) -> None:
        """A healthy entry refreshed ahead of its expiry keeps the full fetch (botocore's attempts)."""
        now, works = [0.0], []
        cache = self.cache(now, works)
        fetch, retry = Fetch(GOOD), Fetch(DOWN)
        cache.get_many(["k"], fetch, TTL, MAX_STALE, refresh_ahead=10.0, retry_fetch=retry)
        now[0] = 95.0
        cache.get_many(["k"], fetch, TTL, MAX_STALE, refresh_ahead=10.0, retry_fetch=retry)
        works.pop()()
        assert (len(fetch.calls), retry.calls) == (2, [])

    def test_failing_and_healthy_keys_are_refreshed_apart(self) -> None:
        """A failing entry's retry and a healthy entry's refresh ahead are two fetches: retry_fetch and fetch.

        (It pinned one full fetch of both; the retry of a failing entry is now never merged with healthy
        ones, whose refresh a request refused for the failing entry's sake would fail.)
        """
        now, works = [0.0], []
        cache = self.cache(now, works)
        fetch, retry = Fetch(GOOD), Fetch(DOWN)
        cache.get_many(["a"], fetch, TTL, MAX_STALE)
        now[0] = 50.0
        cache.get_many(["b"], fetch, TTL, MAX_STALE)
        fetch.outcome = DOWN
        now[0] = TTL  # a expired: fails; b is healthy
        cache.get_many(["a"], fetch, TTL, MAX_STALE)
        now[0] = 145.0  # a past its backoff, b in its refresh-ahead window
        cache.get_many(["a", "b"], fetch, TTL, MAX_STALE, refresh_ahead=10.0, retry_fetch=retry)
        assert len(works) == 2
        while works:
            works.pop()()
        assert (fetch.calls[-1], retry.calls) == (["b"], [["a"]])


def app_class() -> type[AWSBaseSettings]:
    """A class reading one secret and one parameter; it records the thread of every validation."""

    def record(self: Any) -> Any:
        VALIDATED_ON.append(threading.get_ident())
        return self

    return type(
        "App",
        (AWSBaseSettings,),
        {
            "__annotations__": {"password": SecretStr, "flag": str},
            "model_config": SettingsConfigDict(env_prefix="APP_"),
            "_record": model_validator(mode="after")(record),
        },
    )


VALIDATED_ON: list[int] = []


@pytest.fixture
def app(sm: Any, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> type[AWSBaseSettings]:
    """The class and its two values, TTL 60 s, no refresh ahead, two botocore attempts per call."""
    sm.create_secret(Name="app/db", SecretString="pw-1")
    ssm.put_parameter(Name="/app/flag", Value="on", Type="String")
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:app/db")
    monkeypatch.setenv("APP_FLAG", "ssm:/app/flag")
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "60")
    monkeypatch.setenv("PYDANTIC_AWS_REFRESH_AHEAD", "0")
    monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "2")  # botocore's waits between attempts stay short
    VALIDATED_ON.clear()
    return app_class()


def test_one_attempt_per_batch_once_backed_off(
    app: type[AWSBaseSettings], aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once backed off, a batch costs one attempt per round.

    AWS answers 500: the refresh that finds the values expired makes botocore's 2 attempts per batch; every
    retry after a backoff makes 1, and the loads are served the stale values.
    """
    now = [0.0]
    cache: ValueCache[Any] = ValueCache(timer=lambda: now[0], rng=lambda: 0.0, background=lambda work: work())
    monkeypatch.setattr(_state.state(), "cache", cache)
    app()
    aws_proxy.reset()
    aws_proxy.inject("GetParameters", "InternalServerError", status=500)
    aws_proxy.inject("BatchGetSecretValue", "InternalServiceError", status=500)
    now[0] = 60.0
    loaded = app()
    assert loaded.flag == "on"  # type: ignore[attr-defined]
    assert aws_proxy.counts == {"GetParameters": 2, "BatchGetSecretValue": 2}
    for rounds in range(1, 8):  # backoffs of 0.5, 1, 2, ... 30 s with this draw: one retry round each
        now[0] += 30.0
        assert app().password.get_secret_value() == "pw-1"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"GetParameters": 2 + rounds, "BatchGetSecretValue": 2 + rounds}


def test_aget_validates_no_model_on_the_loop_thread(
    app: type[AWSBaseSettings], aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first load and every reload that `aget()` starts build the model on other threads."""
    now = [0.0]
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=lambda: now[0], rng=lambda: 0.0))
    live = LiveSettings(app)

    async def main() -> int:
        first = await live.aget()
        now[0] = 61.0  # every value expired: the next aget starts a background reload
        assert await live.aget() is first
        deadline = time.monotonic() + 10
        while live.reloads < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert await live.aget() is first  # the same values: the same object
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert live.reloads == 2
    assert len(VALIDATED_ON) == 2
    assert loop_thread not in VALIDATED_ON
    assert aws_proxy.counts == {"GetParameters": 2, "BatchGetSecretValue": 2}
