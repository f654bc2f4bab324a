"""The fault matrix: what a load does when Secrets Manager or SSM misbehaves, cold and warm.

Each row injects one fault through the tests' proxy (or points boto3 at a dead endpoint) and checks the
outcome of a cold load (empty cache) and of a warm one (a cached value whose TTL ran out): success, the
last good value served stale with one WARNING, or a ResolutionError naming the field, the variable, the
reference and the code. Each row also bounds the time the load may take: failing fast is part of the
contract (a dead endpoint fails a cold load in seconds).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, credentials, resolver
from pydantic_aws_settings._loopback import free_port
from pydantic_aws_settings.cache import ValueCache
from support.proxy import AWSProxy

if TYPE_CHECKING:
    from collections.abc import Callable


class App(AWSBaseSettings):
    """One secret, one SecureString parameter."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    password: SecretStr
    signing_key: SecretStr


@dataclass(frozen=True)
class Fault:
    """One row of the matrix."""

    operation: str
    inject: Callable[[Any, pytest.MonkeyPatch], None]
    cold: str  # "ok", or the error code the ResolutionError must name
    field: str  # the field a cold failure names
    bound: float  # seconds a cold load may take at most
    requests: int | None = None  # requests of `operation` a cold load sends, when fixed


def fault(operation: str, code: str, status: int = 400, times: int | None = None, **row: Any) -> Fault:
    """A row whose fault is an AWS error answered for `operation` (several joined by "+")."""

    def apply(proxy: Any, _: pytest.MonkeyPatch) -> None:
        for name in operation.split("+"):
            proxy.inject(name, code, status=status, times=times)

    return Fault(operation.split("+")[-1], apply, **row)


def hang(operation: str, **row: Any) -> Fault:
    """A row whose endpoint accepts the request for `operation` and never answers (within the timeout)."""

    def apply(proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "0.3")
        proxy.inject_hang(operation, 5.0)

    return Fault(operation, apply, **row)


def dead(**row: Any) -> Fault:
    """A row whose endpoint refuses connections (nothing listens on the port)."""

    def apply(_: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")

    return Fault("*", apply, **row)


MATRIX: dict[str, Fault] = {
    "SM throttled twice, then answers": fault(
        "BatchGetSecretValue", "ThrottlingException", times=2, cold="ok", field="", bound=10, requests=3
    ),
    "SM throttled beyond the retry budget": fault(
        "BatchGetSecretValue",
        "ThrottlingException",
        cold="ThrottlingException",
        field="password",
        bound=10,
        requests=3,
    ),
    "SM 5xx": fault(
        "BatchGetSecretValue",
        "InternalServiceError",
        status=500,
        cold="InternalServiceError",
        field="password",
        bound=10,
    ),
    "SM read timeout": hang("BatchGetSecretValue", cold="ReadTimeoutError", field="password", bound=10),
    "SM access denied (both calls)": fault(
        "BatchGetSecretValue+GetSecretValue",
        "AccessDeniedException",
        cold="AccessDeniedException",
        field="password",
        bound=10,
    ),
    "SSM throttled twice, then answers": fault(
        "GetParameters", "ThrottlingException", times=2, cold="ok", field="", bound=10, requests=3
    ),
    "SSM 5xx": fault(
        "GetParameters",
        "InternalServerError",
        status=500,
        cold="InternalServerError",
        field="signing_key",
        bound=10,
    ),
    "SSM read timeout": hang("GetParameters", cold="ReadTimeoutError", field="signing_key", bound=10),
    "SSM access denied": fault(
        "GetParameters", "AccessDeniedException", cold="AccessDeniedException", field="signing_key", bound=10
    ),
    "SSM KMS decryption failure": fault(
        "GetParameters", "InvalidKeyId", cold="InvalidKeyId", field="signing_key", bound=10
    ),
    "dead endpoint": dead(cold="EndpointConnectionError", field="password", bound=5),
}


@pytest.fixture
def world(sm: Any, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret and the SecureString, named by the operator's variables."""
    sm.create_secret(Name="app/db", SecretString="pw-good")
    ssm.put_parameter(Name="/app/signing", Value="key-good", Type="SecureString")
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:app/db")
    monkeypatch.setenv("APP_SIGNING_KEY", "ssm:/app/signing")


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        """The current fake time."""
        return self.now


class TestFaultMatrix:
    """Each fault, cold and warm."""

    @pytest.mark.parametrize("name", list(MATRIX))
    def test_cold(self, name: str, world: None, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A cold load succeeds or fails as the row says, naming field and code, within the row's bound."""
        row = MATRIX[name]
        row.inject(aws_proxy, monkeypatch)
        started = time.perf_counter()
        if row.cold == "ok":
            settings = App()
            assert settings.password.get_secret_value() == "pw-good"
            assert settings.signing_key.get_secret_value() == "key-good"
        else:
            with pytest.raises(ResolutionError) as caught:
                App()
            failures = {f.field: f for f in caught.value.failures}
            assert failures[row.field].code == row.cold
            assert failures[row.field].variable == f"APP_{row.field.upper()}"
            assert row.cold in str(caught.value)
        assert time.perf_counter() - started < row.bound
        if row.requests is not None:
            assert aws_proxy.counts[row.operation] == row.requests

    @pytest.mark.parametrize("name", [n for n, row in MATRIX.items() if row.cold != "ok"])
    def test_warm_serves_stale(
        self,
        name: str,
        world: None,
        aws_proxy: Any,
        moto_server: Any,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """After the TTL, the same fault serves the last good values with one WARNING per failed reference."""
        clock = FakeClock()
        monkeypatch.setattr(resolver, "CACHE", ValueCache(timer=clock, rng=lambda: 0.0))
        row = MATRIX[name]
        # The warm dead endpoint must die under the clients the first load built: a proxy of this test's own.
        private = AWSProxy(moto_server.url).start() if row.operation == "*" else None
        if private is not None:
            monkeypatch.setenv("AWS_ENDPOINT_URL", private.url)
        first = App()
        clock.now += 301  # past the default TTL of 300 s, well within MAX_STALE
        if private is not None:
            private.stop()
            # Stopping ends the listener, not the keep-alive connections the first load opened: drop the
            # library's clients (the cache stays warm), so the next request meets a closed port.
            credentials.reset()
        else:
            row.inject(aws_proxy, monkeypatch)
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"):
            again = App()
        assert again == first
        warnings = [r.getMessage() for r in caplog.records if r.name == "pydantic_aws_settings"]
        assert warnings
        assert all(row.cold in message for message in warnings)
        assert not any("pw-good" in message or "key-good" in message for message in warnings)


class TestBatchFaults:
    """Faults of one part of a batch."""

    def test_batch_denied_but_get_allowed(self, world: None, aws_proxy: Any) -> None:
        """BatchGetSecretValue denied, GetSecretValue allowed: the load succeeds through the fallback."""
        aws_proxy.inject("BatchGetSecretValue", "AccessDeniedException")
        assert App().password.get_secret_value() == "pw-good"
        assert aws_proxy.counts["GetSecretValue"] == 1

    def test_partial_batch(self, world: None, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """One missing id in a batch fails only its own field; the batch's other secrets load."""

        class Two(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            password: SecretStr
            other: str

        monkeypatch.setenv("APP_OTHER", "secretsmanager:app/missing")
        with pytest.raises(ResolutionError) as caught:
            Two()
        assert [(f.field, f.code) for f in caught.value.failures] == [("other", "ResourceNotFoundException")]

    def test_partial_batch_optional_falls_back(self, world: None, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing optional id in a batch falls back to its default while the rest load."""

        class Two(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            password: SecretStr
            other: str = "default"

        monkeypatch.setenv("APP_OTHER", "optional:secretsmanager:app/missing")
        settings = Two()
        assert (settings.password.get_secret_value(), settings.other) == ("pw-good", "default")


class TestDefaultBounds:
    """With the default options, a cold load against a broken endpoint fails in seconds."""

    def test_refused_connections_fail_within_five_seconds(
        self, world: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Nothing listening: EndpointConnectionError within 5 s, retries included."""
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        started = time.perf_counter()
        with pytest.raises(ResolutionError, match="EndpointConnectionError"):
            App()
        assert time.perf_counter() - started < 5

    def test_silent_endpoint_fails_within_twenty_seconds(self, world: None, aws_proxy: Any) -> None:
        """An endpoint that accepts and never answers: ReadTimeoutError within 20 s, retries included."""
        aws_proxy.inject_hang("BatchGetSecretValue", 30.0)
        aws_proxy.inject_hang("GetParameters", 30.0)
        started = time.perf_counter()
        with pytest.raises(ResolutionError, match="ReadTimeoutError"):
            App()
        assert time.perf_counter() - started < 20
