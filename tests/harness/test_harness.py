"""The test harness is real: boto3 reaches moto over loopback HTTP through a proxy that counts and fails."""

from __future__ import annotations

import contextlib
import datetime
import logging
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

from support.clocks import FakeClock
from support.http import ThreadedHTTPService
from support.logs import collecting
from support.proxy import AWSProxy

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_ssm import SSMClient
    from types_boto3_sts import STSClient

    from support.loopback import MotoServer

# A name that both state-wiping tests create; each asserts it is absent first, in whichever order they run.
WIPED_PARAMETER = "/harness/wiped-between-tests"
ROLE_ARN = "arn:aws:iam::123456789012:role/harness"


def _one_attempt(**extra: Any) -> Config:
    """Return a client config that sends each call exactly once (no retries)."""
    return Config(retries={"total_max_attempts": 1, "mode": "standard"}, **extra)


def _ssm_client(config: Config | None = None) -> SSMClient:
    """Return an SSM client resolved the ordinary way, so it follows AWS_ENDPOINT_URL to the proxy."""
    return boto3.session.Session().client("ssm", config=config)


def _sm_client(config: Config | None = None) -> SecretsManagerClient:
    """Return a Secrets Manager client resolved the ordinary way, so it reaches the proxy."""
    return boto3.session.Session().client("secretsmanager", config=config)


def _sts_client(config: Config | None = None) -> STSClient:
    """Return an STS client resolved the ordinary way, so it reaches the proxy."""
    return boto3.session.Session().client("sts", config=config)


def _error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    """Return the AWS error code botocore parsed from an error response."""
    return str(error.value.response["Error"]["Code"])


def _status(error: pytest.ExceptionInfo[ClientError]) -> int:
    """Return the HTTP status of an error response."""
    return int(error.value.response["ResponseMetadata"]["HTTPStatusCode"])


class TestLoopbackHarness:
    """boto3 talks to a real HTTP endpoint on loopback, and the proxy observes and shapes every call."""

    def test_ssm_calls_go_through_the_proxy(self, aws_proxy: AWSProxy) -> None:
        """A default-resolved SSM client puts and gets a parameter through the proxy, one request each."""
        client = _ssm_client()
        client.put_parameter(Name="/harness/p", Value="hello", Type="String")

        value = client.get_parameter(Name="/harness/p")["Parameter"]["Value"]

        assert value == "hello"
        assert aws_proxy.counts == {"PutParameter": 1, "GetParameter": 1}
        assert aws_proxy.requests[-1] == ("GetParameter", {"Name": "/harness/p"})

    def test_secrets_manager_calls_go_through_the_proxy(self, aws_proxy: AWSProxy) -> None:
        """A default-resolved Secrets Manager client creates and reads a secret through the proxy."""
        client = _sm_client()
        client.create_secret(Name="harness/s", SecretString="s3cret")

        value = client.get_secret_value(SecretId="harness/s")["SecretString"]

        assert value == "s3cret"
        assert aws_proxy.counts == {"CreateSecret": 1, "GetSecretValue": 1}

    def test_sts_calls_are_counted_by_form_action(self, aws_proxy: AWSProxy) -> None:
        """An STS GetCallerIdentity is classified by the Action field of its form body."""
        identity = _sts_client().get_caller_identity()

        assert identity["Account"] == "123456789012"
        assert aws_proxy.counts == {"GetCallerIdentity": 1}
        operation, form = aws_proxy.requests[0]
        assert operation == "GetCallerIdentity"
        assert form["Action"] == "GetCallerIdentity"

    def test_seeding_clients_bypass_the_proxy(
        self, aws_proxy: AWSProxy, ssm: SSMClient, sm: SecretsManagerClient, sts: STSClient
    ) -> None:
        """The ssm, sm and sts fixtures talk to moto directly, so seeding is never counted."""
        ssm.put_parameter(Name="/harness/seeded", Value="v", Type="String")
        sm.create_secret(Name="harness/seeded", SecretString="v")
        sts.get_caller_identity()

        assert _ssm_client().get_parameter(Name="/harness/seeded")["Parameter"]["Value"] == "v"
        assert aws_proxy.counts == {"GetParameter": 1}

    def test_latency_delays_each_request(self, aws_proxy: AWSProxy, ssm: SSMClient) -> None:
        """With a global latency of 0.2 s, one GetParameter takes at least 0.2 s."""
        ssm.put_parameter(Name="/harness/slow", Value="v", Type="String")
        client = _ssm_client()
        client.get_parameter(Name="/harness/slow")  # warm the client and the server before timing
        aws_proxy.latency = 0.2

        started = time.perf_counter()
        client.get_parameter(Name="/harness/slow")
        elapsed = time.perf_counter() - started

        assert elapsed >= 0.2

    def test_per_operation_latency_wins_over_global(self, aws_proxy: AWSProxy, ssm: SSMClient) -> None:
        """A latency set for GetParameter applies to it even when the global latency is zero."""
        ssm.put_parameter(Name="/harness/slow", Value="v", Type="String")
        client = _ssm_client()
        client.get_parameter(Name="/harness/slow")
        aws_proxy.set_latency("GetParameter", 0.2)

        started = time.perf_counter()
        client.get_parameter(Name="/harness/slow")
        elapsed = time.perf_counter() - started

        assert elapsed >= 0.2

    def test_concurrent_requests_raise_max_in_flight(self, aws_proxy: AWSProxy, ssm: SSMClient) -> None:
        """Four threads calling together while each request is held 0.2 s overlap in the proxy."""
        ssm.put_parameter(Name="/harness/shared", Value="v", Type="String")
        client = _ssm_client()
        client.get_parameter(Name="/harness/shared")
        aws_proxy.reset()
        aws_proxy.latency = 0.2
        barrier = threading.Barrier(4)

        def call() -> str:
            """Wait for the other threads, then read the parameter."""
            barrier.wait(timeout=10)
            return client.get_parameter(Name="/harness/shared")["Parameter"]["Value"]

        with ThreadPoolExecutor(max_workers=4) as pool:
            values = list(pool.map(lambda _: call(), range(4)))

        assert values == ["v"] * 4
        assert aws_proxy.counts == {"GetParameter": 4}
        assert aws_proxy.max_in_flight >= 2
        assert aws_proxy.in_flight == 0
        assert aws_proxy.waves < 4  # at least two of the four overlapped

    def test_requests_one_after_the_other_are_as_many_waves(
        self, aws_proxy: AWSProxy, ssm: SSMClient
    ) -> None:
        """Each request sent after the previous one's answer starts a wave of its own."""
        ssm.put_parameter(Name="/harness/serial", Value="v", Type="String")
        client = _ssm_client()
        aws_proxy.reset()
        for _ in range(3):
            client.get_parameter(Name="/harness/serial")
        assert aws_proxy.waves == 3
        assert aws_proxy.max_in_flight == 1

    def test_injected_throttle_fails_once_then_succeeds(self, aws_proxy: AWSProxy, ssm: SSMClient) -> None:
        """A throttle injected for one request fails that call, and the next call reaches moto."""
        ssm.put_parameter(Name="/harness/t", Value="v", Type="String")
        aws_proxy.inject("GetParameter", "ThrottlingException", times=1)
        client = _ssm_client(_one_attempt())

        with pytest.raises(ClientError) as error:
            client.get_parameter(Name="/harness/t")

        assert _error_code(error) == "ThrottlingException"
        assert client.get_parameter(Name="/harness/t")["Parameter"]["Value"] == "v"
        assert aws_proxy.counts == {"GetParameter": 2}

    def test_injected_access_denied_on_secrets_manager(self, aws_proxy: AWSProxy) -> None:
        """An AccessDeniedException injected for GetSecretValue reaches the caller with that code."""
        aws_proxy.inject("GetSecretValue", "AccessDeniedException", message="not allowed")

        with pytest.raises(ClientError) as error:
            _sm_client(_one_attempt()).get_secret_value(SecretId="harness/any")

        assert _error_code(error) == "AccessDeniedException"
        assert error.value.response["Error"]["Message"] == "not allowed"

    def test_injected_server_error_has_a_5xx_status(self, aws_proxy: AWSProxy) -> None:
        """An InternalServerError injected with status 500 reaches the caller as a 5xx error."""
        aws_proxy.inject("GetParameter", "InternalServerError", status=500)

        with pytest.raises(ClientError) as error:
            _ssm_client(_one_attempt()).get_parameter(Name="/harness/any")

        assert _error_code(error) == "InternalServerError"
        assert 500 <= _status(error) < 600

    def test_injected_sts_access_denied(self, aws_proxy: AWSProxy) -> None:
        """An AccessDenied injected for AssumeRole comes back as an STS (XML) error with that code."""
        aws_proxy.inject("AssumeRole", "AccessDenied", status=403)

        with pytest.raises(ClientError) as error:
            _sts_client(_one_attempt()).assume_role(RoleArn=ROLE_ARN, RoleSessionName="harness")

        assert _error_code(error) == "AccessDenied"
        assert _status(error) == 403
        assert aws_proxy.counts == {"AssumeRole": 1}

    def test_injected_hang_gives_a_read_timeout(self, aws_proxy: AWSProxy) -> None:
        """A request held longer than the client's read timeout fails with ReadTimeoutError."""
        aws_proxy.inject_hang("GetParameter", 1.0, times=1)

        with pytest.raises(ReadTimeoutError):
            _ssm_client(_one_attempt(read_timeout=0.2)).get_parameter(Name="/harness/any")

        assert aws_proxy.counts == {"GetParameter": 1}

    def test_reset_clears_counts_and_faults(self, aws_proxy: AWSProxy, ssm: SSMClient) -> None:
        """After reset the proxy has no counts, no recorded requests, no latency and no faults."""
        ssm.put_parameter(Name="/harness/r", Value="v", Type="String")
        aws_proxy.inject("GetParameter", "ThrottlingException")
        client = _ssm_client(_one_attempt())
        with pytest.raises(ClientError):
            client.get_parameter(Name="/harness/r")
        aws_proxy.latency = 5.0
        aws_proxy.set_latency("GetParameter", 5.0)

        aws_proxy.reset()

        assert not aws_proxy.counts
        assert aws_proxy.requests == []
        assert aws_proxy.max_in_flight == 0
        assert aws_proxy.waves == 0
        assert aws_proxy.latency == 0
        assert client.get_parameter(Name="/harness/r")["Parameter"]["Value"] == "v"
        assert aws_proxy.counts == {"GetParameter": 1}

    def test_clear_faults_removes_injected_errors(self, aws_proxy: AWSProxy, ssm: SSMClient) -> None:
        """clear_faults lets an operation that was failing forever reach moto again."""
        ssm.put_parameter(Name="/harness/c", Value="v", Type="String")
        aws_proxy.inject("GetParameter", "ThrottlingException")

        aws_proxy.clear_faults()

        assert _ssm_client(_one_attempt()).get_parameter(Name="/harness/c")["Parameter"]["Value"] == "v"

    def test_moto_state_is_wiped_before_a_test(self, ssm: SSMClient) -> None:
        """A parameter created by the twin of this test does not exist here: moto is reset per test."""
        self._assert_absent_then_create(ssm)

    def test_moto_state_is_wiped_before_its_twin(self, ssm: SSMClient) -> None:
        """The same check as its twin, so whichever runs second proves the first one's state is gone."""
        self._assert_absent_then_create(ssm)

    @staticmethod
    def _assert_absent_then_create(ssm: SSMClient) -> None:
        """Assert the shared parameter is missing, then create it."""
        with pytest.raises(ClientError) as error:
            ssm.get_parameter(Name=WIPED_PARAMETER)
        assert _error_code(error) == "ParameterNotFound"
        ssm.put_parameter(Name=WIPED_PARAMETER, Value="left behind", Type="String")

    def test_moto_server_answers_on_loopback(self, moto_server: MotoServer) -> None:
        """The moto server is an HTTP endpoint on 127.0.0.1 in a running subprocess."""
        assert moto_server.url.startswith("http://127.0.0.1:")
        assert moto_server.running

    def test_moto_server_dies_with_a_parent_killed_outright(self) -> None:
        """A process that starts a server and is then SIGKILLed (no cleanup runs) leaves no server behind."""
        code = (
            "import os, sys\n"
            "from pydantic_aws_settings._loopback import MotoServer\n"
            "server = MotoServer().start()\n"
            "print(server.port, server._process.pid, flush=True)\n"
            "sys.stdin.read()\n"
        )
        with subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as parent:
            assert parent.stdout is not None
            port, pid = (int(word) for word in parent.stdout.readline().split())
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=5).close()
            parent.kill()
            parent.wait(timeout=10)

        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(pid)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/data.json", timeout=5).close()


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie (a reaped or exited one is not alive)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class _NoContent(BaseHTTPRequestHandler):
    """Answers every GET with 204 and logs nothing."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """204, no body."""
        self.send_response(204)
        self.end_headers()


class _Recorder(ThreadedHTTPService):
    """A minimal threaded service that notes when its stop hook runs."""

    handler_class = _NoContent

    def __init__(self) -> None:
        super().__init__()
        self.hooked_while_serving: list[bool] = []

    def _before_stop(self) -> None:
        """Note whether the server still answered when the hook ran."""
        self.hooked_while_serving.append(self._thread is not None and self._thread.is_alive())


class TestLoopbackServices:
    """The servers share one lifecycle: start on a free loopback port, stop once, use as a context manager."""

    def test_threaded_service_lifecycle(self) -> None:
        """`with` starts and returns the service itself; repr names it and its URL; stop is idempotent."""
        with _Recorder() as service:
            assert isinstance(service, _Recorder)
            assert service.running
            assert service.url.startswith("http://127.0.0.1:")
            assert repr(service) == f"_Recorder({service.url})"
            assert service.start() is service  # already running: nothing happens
            with urllib.request.urlopen(service.url, timeout=5) as response:  # noqa: S310 - loopback
                assert response.status == 204
        assert not service.running
        assert repr(service) == "_Recorder(stopped)"
        assert service.hooked_while_serving == [True]
        service.stop()
        assert service.hooked_while_serving == [True]
        with pytest.raises(RuntimeError, match="not started"):
            _ = service.url

    def test_proxy_stop_ends_a_hang_in_progress(self, moto_server: MotoServer) -> None:
        """Stopping a proxy wakes a request held by an injected hang instead of waiting for it to end."""
        proxy = AWSProxy(moto_server.url).start()
        assert repr(proxy) == f"AWSProxy({proxy.url}) -> {moto_server.url}"
        proxy.inject_hang("GetParameter", 60.0)
        client = boto3.session.Session().client("ssm", endpoint_url=proxy.url, config=_one_attempt())
        caller = threading.Thread(target=lambda: _call_ignoring_errors(client), daemon=True)
        caller.start()
        deadline = time.monotonic() + 10
        while proxy.in_flight == 0 and time.monotonic() < deadline:
            time.sleep(0.01)

        started = time.perf_counter()
        proxy.stop()

        assert time.perf_counter() - started < 5
        caller.join(timeout=10)
        assert not caller.is_alive()
        assert repr(proxy) == f"AWSProxy(stopped) -> {moto_server.url}"


def _call_ignoring_errors(client: Any) -> None:
    """Call GetParameter once; the connection is expected to close without an answer."""
    with contextlib.suppress(BotoCoreError, ClientError):
        client.get_parameter(Name="/harness/hang")


class TestClockAndLogs:
    """The fake clock and the log collector that the tests share."""

    def test_fake_clock_moves_only_when_told(self) -> None:
        """Both readings stand still until advance (or an assignment to now) moves them, by as much."""
        clock = FakeClock()
        assert clock() == clock.now == 1000.0
        drift = clock.utcnow() - datetime.datetime.now(datetime.timezone.utc)
        assert abs(drift.total_seconds()) < 1

        clock.advance(90)
        clock.now += 10

        assert clock() == 1100.0
        moved = clock.utcnow() - datetime.datetime.now(datetime.timezone.utc)
        assert 99 < moved.total_seconds() < 101

    def test_collector_keeps_every_record_with_its_traceback(self) -> None:
        """Every logger's DEBUG record is kept, formatted with the exception; the root level is restored."""
        root = logging.getLogger()
        level = root.level
        with collecting() as logs:
            logging.getLogger("harness.quiet").debug("plain %s", "text")
            try:
                raise ValueError("boom")  # noqa: TRY301 - a traceback to format
            except ValueError:
                logging.getLogger("harness.loud").exception("failed")

        assert root.level == level
        assert [record.name for record in logs.records] == ["harness.quiet", "harness.loud"]
        assert logs.texts[0] == "harness.quiet plain text"
        assert "ValueError: boom" in logs.texts[1]
        assert logs.containing("boom") == [logs.texts[1][:200]]
