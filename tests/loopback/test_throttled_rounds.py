"""A cold load that SSM throttles, through real botocore: its retry rounds, requests counted at the proxy.

The cache sleeps on a fake clock. botocore does not retry a throttled request (the rounds do); it still
retries every other failure, with waits of its own that are real and short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, _state
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
    """The first wave (3 batches, one attempt each) is throttled, then two rounds: one request each.

    botocore does not retry a throttled request (MAX_ATTEMPTS=3 is for other failures): each batch of the
    first wave is sent once, where botocore's standard mode sent it three times. Round 3 finds room and
    sends the three batches one after another.
    """
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    aws_proxy.inject("GetParameters", "ThrottlingException", times=3 + 2)
    settings = thirty()
    assert [getattr(settings, name) for name in FIELDS] == [f"v-{name}" for name in FIELDS]
    assert clock.seen == [3, 4, 5]  # a throttled request costs one request: one batch, one attempt
    assert aws_proxy.counts["GetParameters"] == 5 + 3
    # The rounds start the doubling at 1 s (the first wave's requests had one attempt).
    assert clock.slept == [throttle_backoff(n, 0.5) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_still_retried_by_botocore(
    thirty: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    """Only throttling is left to the library: a 5xx is retried by botocore, MAX_ATTEMPTS requests a call."""
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    aws_proxy.inject("GetParameters", "InternalServerError", status=status, times=2)
    settings = thirty()
    assert [getattr(settings, name) for name in FIELDS] == [f"v-{name}" for name in FIELDS]
    # Two failed attempts (of one batch or two, as the concurrent batches meet them), each retried at once.
    assert aws_proxy.counts["GetParameters"] == 3 + 2
    assert clock.slept == []  # no throttled round


def test_a_round_s_request_that_meets_a_server_error_is_retried_by_botocore(
    thirty: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first wave throttled (3 requests), then a 500 in round 1: botocore retries it, the load loads.

    (Before, a round's request had one attempt of every kind: the 500 failed the load.)
    """
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    original = aws_proxy._take_fault

    def by_number(operation: str) -> _Fault | None:
        number = aws_proxy.counts[operation]
        if operation == "GetParameters" and number <= 3:
            return _Fault(code="ThrottlingException", message="Rate exceeded")
        if operation == "GetParameters" and number == 4:
            return _Fault(code="InternalServerError", status=500, message="blip")
        return original(operation)

    monkeypatch.setattr(aws_proxy, "_take_fault", by_number)
    settings = thirty()
    assert [getattr(settings, name) for name in FIELDS] == [f"v-{name}" for name in FIELDS]
    assert aws_proxy.counts["GetParameters"] == 3 + 1 + 3
    assert clock.seen == [3]


def test_a_hang_is_still_retried_by_botocore(
    thirty: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read timeout is retried by botocore up to MAX_ATTEMPTS (here 2) requests per call, then fails."""
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "0.2")
    aws_proxy.inject_hang("GetParameters", 2.0)
    with pytest.raises(ResolutionError) as caught:
        thirty()
    assert {f.code for f in caught.value.failures} == {"ReadTimeoutError"}
    assert aws_proxy.counts["GetParameters"] == 3 * 2
    assert clock.slept == []


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


@pytest.fixture
def ten_secrets(sm: Any, monkeypatch: pytest.MonkeyPatch) -> type[AWSBaseSettings]:
    """A class of 10 secrets: one BatchGetSecretValue."""
    names = [f"s{i:02d}" for i in range(10)]
    for name in names:
        sm.create_secret(Name=f"rounds/{name}", SecretString=f"v-{name}")
        monkeypatch.setenv(f"APP_{name.upper()}", f"secretsmanager:rounds/{name}")
    return type(
        "Ten",
        (AWSBaseSettings,),
        {"__annotations__": dict.fromkeys(names, str), "model_config": SettingsConfigDict(env_prefix="APP_")},
    )


def test_a_throttled_batch_call_is_retried_once_before_it_is_replaced(
    ten_secrets: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttled once: the first BatchGetSecretValue is sent once, a round's answers; no GetSecretValue.

    (Before, botocore retried it, and a batch call still throttled after its 3 attempts was replaced by
    10 GetSecretValue at once.)
    """
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    aws_proxy.inject("BatchGetSecretValue", "ThrottlingException", times=1)
    settings = ten_secrets()
    assert settings.s03 == "v-s03"
    assert aws_proxy.counts["BatchGetSecretValue"] == 2
    assert aws_proxy.counts["GetSecretValue"] == 0
    assert clock.slept == [throttle_backoff(1, 0.5)]


def test_a_batch_call_throttled_again_is_replaced_by_get_secret_value(
    ten_secrets: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttled twice: the round's batch call is replaced by GetSecretValue for its ids (contract)."""
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    aws_proxy.inject("BatchGetSecretValue", "ThrottlingException")
    settings = ten_secrets()
    assert settings.s09 == "v-s09"
    assert aws_proxy.counts["BatchGetSecretValue"] == 2
    assert aws_proxy.counts["GetSecretValue"] == 10
    assert len(clock.slept) == 1


def test_with_one_attempt_a_throttled_batch_call_is_replaced_at_once(
    ten_secrets: type[AWSBaseSettings], aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MAX_ATTEMPTS=1 (no retry at once, by anyone): the first throttled batch call is replaced."""
    clock = Clock(aws_proxy)
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.5, sleep=clock.sleep))
    monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "1")
    aws_proxy.inject("BatchGetSecretValue", "ThrottlingException")
    settings = ten_secrets()
    assert settings.s00 == "v-s00"
    assert aws_proxy.counts["BatchGetSecretValue"] == 1
    assert aws_proxy.counts["GetSecretValue"] == 10
    assert clock.slept == []
