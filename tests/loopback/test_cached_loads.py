"""Loads through the process-wide cache: TTL, stale-if-error, invalidation and live reloading, on loopback."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import (
    AWSBaseSettings,
    LiveSettings,
    ResolutionError,
    _state,
    clear_cache,
    invalidate,
    invalidate_field,
)
from pydantic_aws_settings.cache import ValueCache
from support.clocks import FakeClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace the process cache with one on a fake clock, without jitter, its background refreshes inline."""
    fake = FakeClock()
    cache = ValueCache(timer=fake, rng=lambda: 0.0, sleep=fake.advance, background=lambda work: work())
    monkeypatch.setattr(_state.state(), "cache", cache)
    return fake


def app_class(**annotations: Any) -> type[AWSBaseSettings]:
    """A settings class with prefix APP_."""
    return type(
        "App",
        (AWSBaseSettings,),
        {"__annotations__": annotations, "model_config": SettingsConfigDict(env_prefix="APP_")},
    )


@pytest.fixture
def app(sm: Any, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> type[AWSBaseSettings]:
    """A class reading one secret and one parameter, TTL 60 s, MAX_STALE 600 s."""
    sm.create_secret(Name="app/db", SecretString="pw-1")
    ssm.put_parameter(Name="/app/url", Value="https://one", Type="String")
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:app/db")
    monkeypatch.setenv("APP_URL", "ssm:/app/url")
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "60")
    monkeypatch.setenv("PYDANTIC_AWS_MAX_STALE", "600")
    return app_class(password=SecretStr, url=str)


class TestCachedLoads:
    """Loads through the process cache against the loopback endpoint, on a fake clock."""

    def test_ttl_governs_requests(
        self, app: type[AWSBaseSettings], clock: FakeClock, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Within the TTL no request; after it, one request per batch (refresh ahead off)."""
        monkeypatch.setenv("PYDANTIC_AWS_REFRESH_AHEAD", "0")
        app()
        clock.advance(59)
        app()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetParameters": 1}
        clock.advance(2)
        app()
        assert aws_proxy.counts == {"BatchGetSecretValue": 2, "GetParameters": 2}

    @pytest.mark.parametrize(
        ("operation", "code", "status"),
        [("BatchGetSecretValue", "InternalServiceError", 500), ("GetParameters", "ThrottlingException", 400)],
    )
    def test_stale_if_error_then_error_after_max_stale(
        self,
        app: type[AWSBaseSettings],
        clock: FakeClock,
        aws_proxy: Any,
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
        operation: str,
        code: str,
        status: int,
    ) -> None:
        """A failing refresh serves the last good values with a warning, until MAX_STALE runs out."""
        monkeypatch.setenv("PYDANTIC_AWS_THROTTLE_TIMEOUT", "0")  # the throttled retries: test_outages
        first = app()
        aws_proxy.inject(operation, code, status=status)
        clock.advance(300)
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"):
            again = app()
        assert again == first
        messages = [r.getMessage() for r in caplog.records if r.name == "pydantic_aws_settings"]
        assert len(messages) == 1
        assert code in messages[0]
        assert "pw-1" not in messages[0]
        assert "https://one" not in messages[0]
        clock.advance(400)
        with pytest.raises(ResolutionError, match=code):
            app()

    def test_deleted_secret_is_not_served_stale(
        self, app: type[AWSBaseSettings], clock: FakeClock, sm: Any
    ) -> None:
        """A secret deleted since the last load is an error after the TTL, not a stale value."""
        app()
        sm.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True)
        clock.advance(61)
        with pytest.raises(ResolutionError, match="ResourceNotFoundException"):
            app()

    def test_thirty_two_threads_at_expiry_cause_one_request_per_batch(
        self, app: type[AWSBaseSettings], clock: FakeClock, aws_proxy: Any
    ) -> None:
        """32 threads loading at expiry send one BatchGetSecretValue and one GetParameters."""
        app()
        clock.advance(61)
        aws_proxy.reset()
        aws_proxy.latency = 0.2
        barrier = threading.Barrier(32)
        loaded: list[Any] = []

        def load() -> None:
            barrier.wait(5)
            loaded.append(app())

        threads = [threading.Thread(target=load) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(loaded) == 32
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetParameters": 1}

    def test_slow_fetch_does_not_block_a_load_of_fresh_values(
        self,
        app: type[AWSBaseSettings],
        clock: FakeClock,
        aws_proxy: Any,
        sm: Any,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """While one load waits on a slow secret, a load of only fresh values finishes first."""
        fast = app_class(url=str)
        fast()  # the parameter is now fresh
        sm.create_secret(Name="app/slow", SecretString="slow")
        slow = type("Slow", (AWSBaseSettings,), {"__annotations__": {"slow": str}})
        monkeypatch.setenv("SLOW", "secretsmanager:app/slow")
        aws_proxy.set_latency("BatchGetSecretValue", 1.0)
        order: list[str] = []
        started = threading.Event()

        def load_slow() -> None:
            started.set()
            slow()
            order.append("slow")

        thread = threading.Thread(target=load_slow)
        thread.start()
        started.wait(5)
        while aws_proxy.in_flight == 0:
            threading.Event().wait(0.005)
        fast()
        order.append("fast")
        thread.join(10)
        assert order == ["fast", "slow"]

    def test_invalidate_reference_and_field(self, app: type[AWSBaseSettings], aws_proxy: Any) -> None:
        """Invalidating a reference, or a field, makes the next load fetch that value again."""
        app()
        aws_proxy.reset()
        assert invalidate("secretsmanager:app/db#anykey") == 1
        app()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}
        aws_proxy.reset()
        assert invalidate_field(app, "url") == 1
        app()
        assert aws_proxy.counts == {"GetParameters": 1}
        aws_proxy.reset()
        clear_cache()
        app()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetParameters": 1}

    def test_cache_off(
        self, app: type[AWSBaseSettings], aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With PYDANTIC_AWS_CACHE_TTL=0 every load fetches."""
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0")
        app()
        app()
        assert aws_proxy.counts == {"BatchGetSecretValue": 2, "GetParameters": 2}


class TestLiveSettings:
    """LiveSettings returns the same object until a value changed after its TTL."""

    def test_rotation_reaches_the_app_after_the_ttl(
        self, app: type[AWSBaseSettings], clock: FakeClock, sm: Any, aws_proxy: Any
    ) -> None:
        """A new AWSCURRENT version is returned after the TTL; before it, the same object and no request."""
        live = LiveSettings(app)
        first = live.get()
        sm.put_secret_value(SecretId="app/db", SecretString="pw-2")
        aws_proxy.reset()
        clock.advance(30)
        assert live.get() is first
        assert aws_proxy.counts == {}
        clock.advance(31)
        rotated = live.get()
        assert rotated is not first
        assert rotated.password.get_secret_value() == "pw-2"  # type: ignore[attr-defined]
        assert live.get() is rotated

    def test_unchanged_values_keep_the_same_object(
        self, app: type[AWSBaseSettings], clock: FakeClock, aws_proxy: Any
    ) -> None:
        """After the TTL the values are fetched again, and the object stays the same when nothing changed."""
        live = LiveSettings(app)
        first = live.get()
        clock.advance(61)
        assert live.get() is first
        assert live.reloads == 2
        assert aws_proxy.counts == {"BatchGetSecretValue": 2, "GetParameters": 2}

    def test_failed_reload_keeps_current_settings(
        self, app: type[AWSBaseSettings], clock: FakeClock, aws_proxy: Any, sm: Any
    ) -> None:
        """When a reload fails, the current object stays and the next attempt waits retry_after."""
        live = LiveSettings(app, retry_after=5)
        first = live.get()
        sm.delete_secret(SecretId="app/db", ForceDeleteWithoutRecovery=True)
        clock.advance(61)
        assert live.get() is first
        aws_proxy.reset()
        clock.advance(1)
        assert live.get() is first
        assert aws_proxy.counts == {}

    def test_invalidate_field_reloads_now(self, app: type[AWSBaseSettings], sm: Any) -> None:
        """`invalidate(field)` fetches the field's value again at once, before its TTL."""
        live = LiveSettings(app)
        live.get()
        sm.put_secret_value(SecretId="app/db", SecretString="pw-2")
        assert live.invalidate("password").password.get_secret_value() == "pw-2"  # type: ignore[attr-defined]

    def test_many_threads_share_one_object(self, app: type[AWSBaseSettings]) -> None:
        """Many threads calling get() at once receive one object from one load."""
        live = LiveSettings(app)
        seen: list[Any] = []
        threads = [threading.Thread(target=lambda: seen.append(live.get())) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert len(seen) == 16
        assert all(item is seen[0] for item in seen)
        assert live.reloads == 1
