"""Fixtures for every test: a loopback AWS endpoint (moto), a counting proxy, an isolated environment."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import pytest

from support.loopback import MotoServer
from support.proxy import AWSProxy

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_ssm import SSMClient
    from types_boto3_sts import STSClient

REGION = "us-east-1"
_CLEARED_PREFIXES = ("AWS_", "PYDANTIC_AWS_")
_CLEARED_NAMES = ("PYDANTIC_SETTINGS_DEBUG",)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One moto server per pytest-xdist worker (or per run without xdist), stopped at the end."""
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def aws_proxy(moto_server: MotoServer) -> Iterator[AWSProxy]:
    """The counting, fault-injecting proxy in front of this worker's moto server."""
    with AWSProxy(moto_server.url) as proxy:
        yield proxy


@pytest.fixture(autouse=True)
def aws_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, moto_server: MotoServer, aws_proxy: AWSProxy
) -> Iterator[AWSProxy]:
    """Isolate each test: a clean AWS environment aimed at the proxy, empty moto, fresh process state."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES:
            monkeypatch.delenv(name)
    config_file = tmp_path / "aws_config"
    credentials_file = tmp_path / "aws_credentials"
    config_file.write_text("")
    credentials_file.write_text("")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "3",
        "AWS_ENDPOINT_URL": aws_proxy.url,
    }.items():
        monkeypatch.setenv(name, value)
    moto_server.reset()
    aws_proxy.reset()
    import boto3  # here, not at module level: nothing global is imported before a test asks for it

    boto3.DEFAULT_SESSION = None
    _reset_library_state()
    yield aws_proxy
    aws_proxy.clear_faults()  # ends a hang still holding a request, so it cannot spill into the next test
    # Nothing built under this test's environment (sessions, clients, cached values) outlives it.
    boto3.DEFAULT_SESSION = None
    _reset_library_state()


def _reset_library_state() -> None:
    """Drop the library's process-wide cache, sessions and clients, if the library was imported."""
    # A library never imported in this worker has no state to drop; not importing it here also keeps
    # these fixtures working for tests that must not import it.
    library = sys.modules.get("pydantic_aws_settings")
    reset = getattr(library, "_reset_process_state", None)
    if reset is not None:
        reset()


class _DirectSession:
    """A boto3 session with dummy keys for the seeding clients, built on first use inside an isolated test.

    Reusing one session per worker keeps its loaded service models: a client then takes about 5 ms to
    build instead of about 100 ms on a fresh session.
    """

    def __init__(self) -> None:
        self._session: Any = None

    def client(self, service: str, endpoint_url: str) -> Any:
        """Return a new client for ``service`` at ``endpoint_url``."""
        if self._session is None:
            import boto3

            self._session = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
            )
        return self._session.client(service, endpoint_url=endpoint_url)


@pytest.fixture(scope="session")
def _direct_session() -> _DirectSession:
    """The per-worker session behind the sm, ssm and sts fixtures."""
    return _DirectSession()


@pytest.fixture
def sm(aws_env: AWSProxy, moto_server: MotoServer, _direct_session: _DirectSession) -> SecretsManagerClient:
    """A Secrets Manager client aimed straight at moto, bypassing the proxy, so seeding is not counted."""
    client: SecretsManagerClient = _direct_session.client("secretsmanager", moto_server.url)
    return client


@pytest.fixture
def ssm(aws_env: AWSProxy, moto_server: MotoServer, _direct_session: _DirectSession) -> SSMClient:
    """An SSM client aimed straight at moto, bypassing the proxy, so seeding is not counted."""
    client: SSMClient = _direct_session.client("ssm", moto_server.url)
    return client


@pytest.fixture
def sts(aws_env: AWSProxy, moto_server: MotoServer, _direct_session: _DirectSession) -> STSClient:
    """An STS client aimed straight at moto, bypassing the proxy, so its calls are not counted."""
    client: STSClient = _direct_session.client("sts", moto_server.url)
    return client
