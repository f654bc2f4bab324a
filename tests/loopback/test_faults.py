"""The fault matrix: what a load does when Secrets Manager, SSM or STS misbehaves, cold and warm.

Each row injects one fault through the tests' proxy (or points boto3 at a dead endpoint) and checks the
outcome of a cold load (empty cache) and of a warm one (a cached value whose TTL ran out): success, the
last good value served stale with one WARNING, or a ResolutionError naming the field, the variable, the
reference and the code. Each row also bounds the time the load may take: failing fast is part of the
contract (a dead endpoint fails a cold load in seconds).

The STS rows load as a role (PYDANTIC_AWS_ROLE_ARN). A warm load whose role credentials are still valid
calls no STS at all, so their warm load runs after the role's session has expired (the library's
credentials clock moved past it): the refresh meets the fault.

Every load runs with every logger at DEBUG (botocore's included): no record, exception, repr or warning
may hold a fetched value or a credential STS handed out.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, _state, credentials
from pydantic_aws_settings._loopback import free_port
from pydantic_aws_settings.cache import ValueCache
from support.clocks import FakeClock
from support.logs import RecordCollector, all_records_to
from support.proxy import AWSProxy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

ROLE = "arn:aws:iam::123456789012:role/app"
PASSWORD = "pw-good-CANARY-5b1d"
SIGNING_KEY = "key-good-CANARY-e09c"


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
    bound: float  # seconds a cold (or warm) load may take at most
    requests: int | None = None  # requests of `operation` a cold load sends, when fixed
    role: bool = False  # the load assumes ROLE, so that STS is on its path
    env: tuple[tuple[str, str], ...] = ()  # options set before any load (the clients are built with them)
    endpoint: str | None = None  # the endpoint variable a dead-endpoint row points at a closed port
    warm: str | None = None  # a row whose cold load is "ok": the code a warm load is served stale with


def fault(operation: str, code: str, status: int = 400, times: int | None = None, **row: Any) -> Fault:
    """A row whose fault is an AWS error answered for `operation` (several joined by "+")."""

    def apply(proxy: Any, _: pytest.MonkeyPatch) -> None:
        for name in operation.split("+"):
            proxy.inject(name, code, status=status, times=times)

    return Fault(operation.split("+")[-1], apply, **row)


def hang(operation: str, **row: Any) -> Fault:
    """A row whose endpoint accepts the request for `operation` and never answers (within the timeout)."""

    def apply(proxy: Any, _: pytest.MonkeyPatch) -> None:
        proxy.inject_hang(operation, 5.0)

    return Fault(operation, apply, env=(("PYDANTIC_AWS_READ_TIMEOUT", "0.3"),), **row)


def dead(variable: str = "AWS_ENDPOINT_URL", operation: str = "*", **row: Any) -> Fault:
    """A row whose endpoint (all of them, or one service's) refuses connections: nothing listens there."""

    def apply(_: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{free_port()}")

    return Fault(operation, apply, endpoint=variable, **row)


MATRIX: dict[str, Fault] = {
    # botocore does not retry a throttled request (the library does: test_throttled_rounds). The batch call
    # is retried once by the library (cold: a round; warm: after the backoff, the value served stale
    # meanwhile), and if throttled again replaced by GetSecretValue, whose quota is separate (contract).
    "SM throttled twice, then answers": fault(
        "BatchGetSecretValue",
        "ThrottlingException",
        times=2,
        cold="ok",
        field="",
        bound=10,
        requests=2,
        warm="ThrottlingException",
    ),
    "SM batch throttled, GetSecretValue answers": fault(
        "BatchGetSecretValue",
        "ThrottlingException",
        cold="ok",
        field="",
        bound=10,
        requests=2,
        warm="ThrottlingException",
    ),
    # THROTTLE_TIMEOUT=0: only botocore's retry budget, which this row exhausts (the library's own
    # throttled retries, for a load with nothing to fall back on, are tested in test_outages).
    "SM throttled beyond the retry budget": fault(
        "BatchGetSecretValue+GetSecretValue",
        "ThrottlingException",
        cold="ThrottlingException",
        field="password",
        bound=10,
        requests=3,
        env=(("PYDANTIC_AWS_THROTTLE_TIMEOUT", "0"),),
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
    # Cold: one attempt, then the library's throttled rounds (two throttled, the third answered). Warm: a
    # refresh that is throttled is not retried at once: the value is served stale, retried after a backoff.
    "SSM throttled twice, then answers": fault(
        "GetParameters",
        "ThrottlingException",
        times=2,
        cold="ok",
        field="",
        bound=10,
        requests=3,
        warm="ThrottlingException",
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
    # STS, loading as ROLE. A failed AssumeRole fails every fetch of the load; the fetches that waited
    # for it share its failure, so a load spends one retry budget on STS, not one per fetch.
    "STS throttled twice, then answers": fault(
        "AssumeRole", "Throttling", times=2, cold="ok", field="", bound=10, requests=3, role=True
    ),
    "STS throttled beyond the retry budget": fault(
        "AssumeRole",
        "Throttling",
        cold="Throttling",
        field="password",
        bound=10,
        requests=3,
        role=True,
        env=(("PYDANTIC_AWS_THROTTLE_TIMEOUT", "0"),),
    ),
    "STS 5xx": fault(
        "AssumeRole",
        "InternalFailure",
        status=500,
        cold="InternalFailure",
        field="password",
        bound=10,
        requests=3,
        role=True,
    ),
    "STS read timeout": hang(
        "AssumeRole", cold="ReadTimeoutError", field="password", bound=10, requests=3, role=True
    ),
    # Not retried, and answered in milliseconds: a fetch that arrives after the denial asks STS again
    # (one AssumeRole per fetch at most), so the count is not fixed.
    "STS access denied": fault(
        "AssumeRole", "AccessDenied", status=403, cold="AccessDenied", field="password", bound=10, role=True
    ),
    "STS dead endpoint": dead(
        "AWS_ENDPOINT_URL_STS",
        "AssumeRole",
        cold="EndpointConnectionError",
        field="password",
        bound=5,
        role=True,
    ),
}


@pytest.fixture
def world(sm: Any, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The secret and the SecureString, named by the operator's variables."""
    sm.create_secret(Name="app/db", SecretString=PASSWORD)
    ssm.put_parameter(Name="/app/signing", Value=SIGNING_KEY, Type="SecureString")
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:app/db")
    monkeypatch.setenv("APP_SIGNING_KEY", "ssm:/app/signing")


_STS_SECRET = re.compile(rb"<(AccessKeyId|SecretAccessKey|SessionToken)>([^<]+)</")


class LeakWatch(RecordCollector):
    """Every record of every logger at DEBUG, formatted with its exception, and every credential STS issued.

    Attributes:
        texts: the formatted records.
        issued: the access key ids, secret keys and session tokens of every STS answer through the proxy.
    """

    def __init__(self) -> None:
        super().__init__("%(name)s %(levelname)s %(message)s")
        self.issued: list[str] = []

    def assert_no_leak(self, *seen: object) -> None:
        """No record, nor the text or repr of anything in `seen` (exceptions with their causes), leaks."""
        texts = list(self.texts)
        for item in seen:
            while item is not None:
                texts += [str(item), repr(item)]
                item = (item.__cause__ or item.__context__) if isinstance(item, BaseException) else None
        secrets = [PASSWORD, SIGNING_KEY, *self.issued]
        leaks = [(secret[:8], text[:200]) for text in texts for secret in secrets if secret in text]
        assert leaks == []
        assert any(text.startswith("botocore") for text in self.texts), "botocore's DEBUG records were seen"


@pytest.fixture
def leaks(aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch) -> Iterator[LeakWatch]:
    """Every logger at DEBUG into a LeakWatch, which also learns each credential STS answers with."""
    watch = LeakWatch()
    forward = aws_proxy._forward

    def forward_and_learn(handler: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        status, headers, payload = forward(handler, body)
        watch.issued.extend(match.group(2).decode() for match in _STS_SECRET.finditer(payload))
        return status, headers, payload

    monkeypatch.setattr(aws_proxy, "_forward", forward_and_learn)
    with all_records_to(watch):
        yield watch


def _use_role(row: Fault, monkeypatch: pytest.MonkeyPatch) -> FakeClock | None:
    """Set the row's options; load as ROLE when the row says so, its refresh windows on a fake clock."""
    for name, value in row.env:
        monkeypatch.setenv(name, value)
    if not row.role:
        return None
    monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
    clock = FakeClock()
    monkeypatch.setattr(credentials.registry(), "clock", clock.utcnow)
    return clock


class TestFaultMatrix:
    """Each fault, cold and warm."""

    @pytest.mark.parametrize("name", list(MATRIX))
    def test_cold(
        self, name: str, world: None, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch, leaks: LeakWatch
    ) -> None:
        """A cold load succeeds or fails as the row says, naming field and code, within the row's bound."""
        row = MATRIX[name]
        _use_role(row, monkeypatch)
        row.inject(aws_proxy, monkeypatch)
        started = time.perf_counter()
        if row.cold == "ok":
            settings = App()
            assert settings.password.get_secret_value() == PASSWORD
            assert settings.signing_key.get_secret_value() == SIGNING_KEY
            leaks.assert_no_leak(settings, str(settings))
        else:
            with pytest.raises(ResolutionError) as caught:
                App()
            failures = {f.field: f for f in caught.value.failures}
            assert failures[row.field].code == row.cold
            assert failures[row.field].variable == f"APP_{row.field.upper()}"
            assert row.cold in str(caught.value)
            if row.role:  # no fetch can be signed: every field fails, and the error names the role
                assert {f.field: f.code for f in caught.value.failures} == dict.fromkeys(failures, row.cold)
                assert set(failures) == {"password", "signing_key"}
                assert ROLE in str(caught.value)
            leaks.assert_no_leak(caught.value)
        assert time.perf_counter() - started < row.bound
        if row.requests is not None:
            assert aws_proxy.counts[row.operation] == row.requests

    @staticmethod
    def _warm_up(row: Fault, moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[App, FakeClock]:
        """A first load without the fault, then the TTL runs out (and the role's session, for STS rows)."""
        clock = FakeClock(50.0)
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.0))
        role_clock = _use_role(row, monkeypatch)
        # A warm dead endpoint must die under the clients the first load built: a proxy of this test's own.
        private = AWSProxy(moto_server.url).start() if row.endpoint else None
        if private is not None and row.endpoint:
            monkeypatch.setenv(row.endpoint, private.url)
        first = App()
        clock.now += 301  # past the default TTL of 300 s, well within MAX_STALE
        if role_clock is not None:
            role_clock.advance(3700)  # past the hour of the role's session: the next fetch must refresh it
        if private is not None:
            private.stop()
            # Stopping ends the listener, not the keep-alive connections the first load opened: drop the
            # library's clients and sessions (the cache stays warm), so the next request meets a closed
            # port. For STS that is a new role session, which has to assume the role as well.
            credentials.reset()
        return first, clock

    @pytest.mark.parametrize("name", [n for n, row in MATRIX.items() if row.cold != "ok" or row.warm])
    def test_warm_serves_stale(
        self,
        name: str,
        world: None,
        aws_proxy: Any,
        moto_server: Any,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        leaks: LeakWatch,
    ) -> None:
        """After the TTL, the same fault serves the last good values with one WARNING per failed reference."""
        row = MATRIX[name]
        first, _ = self._warm_up(row, moto_server, monkeypatch)
        before = aws_proxy.counts[row.operation]
        if not row.endpoint:
            row.inject(aws_proxy, monkeypatch)
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"):
            again = App()
        assert time.perf_counter() - started < row.bound
        assert again == first
        warnings = [r.getMessage() for r in caplog.records if r.name == "pydantic_aws_settings"]
        assert warnings
        assert all((row.warm or row.cold) in message for message in warnings)
        if row.warm:  # a throttled refresh is sent once (botocore does not retry it), then served stale
            assert aws_proxy.counts[row.operation] - before == 1
        if row.role:  # both references were served stale: the refresh of the role failed for each fetch
            assert len(warnings) == 2
            if row.requests is not None:  # the fetches share one refresh's retry budget
                assert aws_proxy.counts[row.operation] - before == row.requests
        leaks.assert_no_leak(again, str(again), *caplog.records)

    @pytest.mark.parametrize("name", [n for n, row in MATRIX.items() if row.cold == "ok" and not row.warm])
    def test_warm_recovers(
        self,
        name: str,
        world: None,
        aws_proxy: Any,
        moto_server: Any,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        leaks: LeakWatch,
        sm: Any,
    ) -> None:
        """After the TTL, a fault that the retries absorb refreshes the values: new ones, no WARNING."""
        row = MATRIX[name]
        self._warm_up(row, moto_server, monkeypatch)
        sm.put_secret_value(SecretId="app/db", SecretString=PASSWORD + "-rotated")
        before = aws_proxy.counts[row.operation]
        row.inject(aws_proxy, monkeypatch)
        started = time.perf_counter()
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"):
            again = App()
        assert time.perf_counter() - started < row.bound
        assert again.password.get_secret_value() == PASSWORD + "-rotated"
        assert [r for r in caplog.records if r.name == "pydantic_aws_settings"] == []
        assert aws_proxy.counts[row.operation] - before == row.requests
        leaks.assert_no_leak(again, str(again))


class TestBatchFaults:
    """Faults of one part of a batch."""

    def test_batch_denied_but_get_allowed(self, world: None, aws_proxy: Any) -> None:
        """BatchGetSecretValue denied, GetSecretValue allowed: the load succeeds through the fallback."""
        aws_proxy.inject("BatchGetSecretValue", "AccessDeniedException")
        assert App().password.get_secret_value() == PASSWORD
        assert aws_proxy.counts["GetSecretValue"] == 1

    def test_batch_denied_but_get_allowed_warm(
        self, world: None, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Warm, the denial is remembered: the refresh goes straight to GetSecretValue, with no warning."""
        clock = FakeClock(50.0)
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.0))
        aws_proxy.inject("BatchGetSecretValue", "AccessDeniedException")
        App()
        clock.now += 301
        with caplog.at_level(logging.WARNING, logger="pydantic_aws_settings"):
            assert App().password.get_secret_value() == PASSWORD
        assert (aws_proxy.counts["BatchGetSecretValue"], aws_proxy.counts["GetSecretValue"]) == (1, 2)
        assert [r for r in caplog.records if r.name == "pydantic_aws_settings"] == []

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
        assert (settings.password.get_secret_value(), settings.other) == (PASSWORD, "default")


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

    def test_silent_sts_fails_within_twenty_seconds(
        self, world: None, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Loading as a role, an STS that never answers: ReadTimeoutError within 20 s, for every field."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        aws_proxy.inject_hang("AssumeRole", 30.0)
        started = time.perf_counter()
        with pytest.raises(ResolutionError) as caught:
            App()
        assert time.perf_counter() - started < 20
        assert {f.code for f in caught.value.failures} == {"ReadTimeoutError"}
        assert aws_proxy.counts == {"AssumeRole": 3}  # one retry budget, shared by both fetches

    def test_refused_connections_with_a_role_fail_within_five_seconds(
        self, world: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Loading as a role, nothing listening: EndpointConnectionError from STS within 5 s."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
        started = time.perf_counter()
        with pytest.raises(ResolutionError) as caught:
            App()
        assert time.perf_counter() - started < 5
        assert {f.code for f in caught.value.failures} == {"EndpointConnectionError"}
        assert ROLE in str(caught.value)


class TestSharedRoleRefresh:
    """Fetches that wait for one refresh of the role share its outcome: one AssumeRole, not one each."""

    def test_waiting_fetches_share_a_failed_assume_role(
        self, world: None, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two fetches of a cold load and one slow, denied AssumeRole: it is sent once; both fail with it."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        aws_proxy.set_latency("AssumeRole", 0.3)  # the second fetch surely arrives while the first waits
        aws_proxy.inject("AssumeRole", "AccessDenied", status=403, message="not authorized")
        with pytest.raises(ResolutionError) as caught:
            App()
        assert [(f.field, f.code) for f in caught.value.failures] == [
            ("password", "AccessDenied"),
            ("signing_key", "AccessDenied"),
        ]
        assert aws_proxy.counts == {"AssumeRole": 1}

        aws_proxy.clear_faults()
        settings = App()  # the next load asks STS again, and recovers
        assert settings.password.get_secret_value() == PASSWORD
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 1, "GetParameters": 1}

    def test_many_threads_share_one_failed_refresh(
        self, world: None, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Sixteen concurrent loads in a cold process and STS throttling: one retry budget, not sixteen."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "2")
        monkeypatch.setenv("PYDANTIC_AWS_THROTTLE_TIMEOUT", "0")  # botocore's budget only, shared
        aws_proxy.set_latency("AssumeRole", 0.2)
        aws_proxy.inject("AssumeRole", "Throttling")
        barrier = threading.Barrier(16)
        codes: list[set[str]] = []

        def load() -> None:
            barrier.wait()
            try:
                App()
            except ResolutionError as exc:
                codes.append({f.code for f in exc.failures})

        threads = [threading.Thread(target=load) for _ in range(16)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert not any(thread.is_alive() for thread in threads)
        assert time.perf_counter() - started < 10
        assert codes == [{"Throttling"}] * 16
        assert aws_proxy.counts == {"AssumeRole": 2}  # two attempts: the budget of PYDANTIC_AWS_MAX_ATTEMPTS


class TestCredentialLeaks:
    """Credentials of every STS call stay out of botocore's DEBUG records."""

    def test_web_identity_then_role(
        self,
        world: None,
        aws_proxy: Any,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        leaks: LeakWatch,
    ) -> None:
        """Web identity base credentials assume the role: no token, key or session token in any record."""
        token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDQU5BUlktd2ViLWlkZW50aXR5In0.c2lnLUNBTkFSWQ"
        (tmp_path / "token").write_text(token)
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web-identity")
        monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(tmp_path / "token"))
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        settings = App()
        assert settings.password.get_secret_value() == PASSWORD
        assert aws_proxy.counts == {
            "AssumeRoleWithWebIdentity": 1,
            "AssumeRole": 1,
            "BatchGetSecretValue": 1,
            "GetParameters": 1,
        }
        assert len(leaks.issued) == 6  # two sets of key id, secret key and session token
        leaks.issued.append(token)
        leaks.assert_no_leak(settings, str(settings))
        redacted = [text for text in leaks.texts if "redacted by pydantic-aws-settings" in text]
        assert any(text.startswith("botocore.endpoint") for text in redacted)  # the requests
        assert any(text.startswith("botocore.parsers") for text in redacted)  # the STS answers
        assert any(text.startswith("botocore.auth") for text in redacted)  # the canonical requests
