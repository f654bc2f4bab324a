"""A `LiveSettings` reload refreshes everything its settings use in one batch, counted at the endpoint.

Keys that a process first fetched in separate loads have lives of their own. The reload due at the first
of them refreshes all of them together (2 GetParameters and 1 BatchGetSecretValue for 12 parameters and
2 secrets), so that from then on the settings' keys are one batch with one life.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, LiveSettings, _state
from pydantic_aws_settings.cache import FIRST_JITTER, JITTER, ValueCache
from support.clocks import FakeClock

TTL = 60.0
PARAMETERS = 12


def settings_class(name: str, prefix: str, fields: list[str]) -> type[AWSBaseSettings]:
    """A settings class with these str fields, read from variables with this prefix."""
    return type(
        name,
        (AWSBaseSettings,),
        {
            "__annotations__": dict.fromkeys(fields, str),
            "model_config": SettingsConfigDict(env_prefix=prefix),
        },
    )


def names(aws_proxy: Any) -> list[int]:
    """How many names each GetParameters sent since the last reset asked for, in order."""
    return sorted(len(body["Names"]) for op, body in aws_proxy.requests if op == "GetParameters")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The process cache on a fake clock, its background refreshes inline."""
    fake = FakeClock()
    cache = ValueCache(timer=fake, rng=lambda: DRAWS.pop(0), background=lambda work: work())
    monkeypatch.setattr(_state.state(), "cache", cache)
    DRAWS.clear()
    return fake


#: The cache's random draws, in order: a test appends them before the fetch that takes them.
DRAWS: list[float] = []


def test_a_reload_refreshes_every_key_in_one_batch(
    sm: Any, ssm: Any, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    """A key first loaded elsewhere (life 33 s) and the rest (life 60 s): the reload at 33 s fetches all.

    Before the fix it fetched the one expired parameter (1 GetParameters of 1 name) at 33 s and the rest
    at 60 s, and kept doing so every cycle.
    """
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", str(TTL))
    fields = [f"p{i:02d}" for i in range(PARAMETERS)]
    for field in fields:
        ssm.put_parameter(Name=f"/live/{field}", Value=f"value {field}", Type="String")
        monkeypatch.setenv(f"APP_{field.upper()}", f"ssm:/live/{field}")
    for field in ("s0", "s1"):
        sm.create_secret(Name=f"live/{field}", SecretString=f"secret {field}")
        monkeypatch.setenv(f"APP_{field.upper()}", f"secretsmanager:live/{field}")
    monkeypatch.setenv("OTHER_P00", "ssm:/live/p00")
    other = settings_class("Other", "OTHER_", ["p00"])
    app = settings_class("App", "APP_", [*fields, "s0", "s1"])

    DRAWS.extend([0.5, 0.0])  # /live/p00: a first life of 1 - 0.9 * 0.5 = 55% of 60 s; the rest all 60 s
    other()
    live = LiveSettings(app)
    live.get()
    assert names(aws_proxy) == [1, 1, 10]  # p00 alone; then the 11 others in two batches
    assert aws_proxy.counts == {"GetParameters": 3, "BatchGetSecretValue": 1}

    aws_proxy.reset()
    clock.advance(TTL * (1 - FIRST_JITTER * 0.5) - 0.1)
    live.get()
    assert aws_proxy.counts == {}
    clock.advance(0.1)
    DRAWS.append(0.5)  # the reload's life: 1 - 0.1 * 0.5 = 95% of 60 s
    live.get()
    assert names(aws_proxy) == [2, 10]
    assert aws_proxy.counts == {"GetParameters": 2, "BatchGetSecretValue": 1}

    aws_proxy.reset()
    clock.advance(TTL * (1 - JITTER * 0.5) - 0.1)
    live.get()
    assert aws_proxy.counts == {}
    clock.advance(0.1)
    DRAWS.append(0.0)
    live.get()
    assert names(aws_proxy) == [2, 10]
    assert aws_proxy.counts == {"GetParameters": 2, "BatchGetSecretValue": 1}
    assert live.reloads == 3
