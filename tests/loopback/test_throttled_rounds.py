"""A cold load that SSM throttles, through real botocore: its retry rounds, requests counted at the proxy.

The cache sleeps on a fake clock (botocore's own waits between the first wave's attempts are real and
short: at most 1 s with PYDANTIC_AWS_MAX_ATTEMPTS=2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, _state
from pydantic_aws_settings._backoff import throttle_backoff
from pydantic_aws_settings.cache import ValueCache
from support.proxy import _Fault

if TYPE_CHECKING:
    from support.proxy import AWSProxy

FIELDS = [f"p{i:02d}" for i in range(30)]


class Clock:
    """A fake clock whose `sleep` records how many GetParameters the proxy had seen before each wait."""

    def __init__(self, proxy: AWSProxy) -> None:
        self.proxy = proxy
        self.now = 0.0
        self.slept: list[float] = []
        self.seen: list[int] = []

    def __call__(self) -> float:
        """The fake time."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and the requests so far; move the clock."""
        self.slept.append(seconds)
        self.seen.append(self.proxy.counts["GetParameters"])
        self.now += seconds


@pytest.fixture
def thirty(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> type[AWSBaseSettings]:
    """A class of 30 parameters: three GetParameters batches of 10."""
    for name in FIELDS:
        ssm.put_parameter(Name=f"/rounds/{name}", Value=f"v-{name}", Type="String")
        monkeypatch.setenv(f"APP_{name.upper()}", f"ssm:/rounds/{name}")
    return type(
        "Thirty",
        (AWSBaseSettings,),
        {
            "__annotations__": dict.fromkeys(FIELDS, str),
            "model_config": SettingsConfigDict(env_prefix="APP_"),
        },
    )


def test_a_throttled_round_sends_one_request_of_one_attempt(
    thirty: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first wave (3 batches, 2 attempts each) is throttled, then two rounds: one request each.

    Round 3 finds room and sends the three batches one after another. Before the rounds, each was a
    whole wave of three requests of botocore's full attempts.
    """
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "2")
    aws_proxy.inject("GetParameters", "ThrottlingException", times=3 * 2 + 2)
    settings = thirty()
    assert [getattr(settings, name) for name in FIELDS] == [f"v-{name}" for name in FIELDS]
    assert clock.seen == [6, 7, 8]  # a throttled round costs one request: one batch, one attempt
    assert aws_proxy.counts["GetParameters"] == 8 + 3
    # The rounds continue botocore's doubling (it waited on a 1 s base between the 2 attempts).
    assert clock.slept == [throttle_backoff(n, 0.5) for n in (2, 3, 4)] == [1.0, 2.0, 4.0]


def test_a_round_that_finds_room_goes_on_and_stops_at_the_next_throttle(
    thirty: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests 1-3 (the first wave) and 5 throttled: seven requests of one attempt, in two rounds.

    Round 1 sends one batch (answered) and the next (throttled), and stops; round 2 sends the other two.
    """
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "1")
    throttled = {1, 2, 3, 5}
    original = aws_proxy._take_fault

    def by_number(operation: str) -> _Fault | None:
        if operation == "GetParameters" and aws_proxy.counts[operation] in throttled:
            return _Fault(code="ThrottlingException", message="Rate exceeded")
        return original(operation)

    monkeypatch.setattr(aws_proxy, "_take_fault", by_number)
    settings = thirty()
    assert [getattr(settings, name) for name in FIELDS] == [f"v-{name}" for name in FIELDS]
    assert aws_proxy.counts["GetParameters"] == 7
    assert clock.seen == [3, 5]
    names = [request["Names"] for operation, request in aws_proxy.requests if operation == "GetParameters"]
    assert names[5] == names[4]  # the batch throttled in round 1 is the first of round 2
    assert sorted(map(tuple, [names[3], names[4], names[6]])) == sorted(map(tuple, names[:3]))
