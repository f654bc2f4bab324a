"""The loopback AWS endpoint as pytest fixtures: moto, the counting proxy, and clients that seed moto.

``loopback/conftest.py`` and ``harness/conftest.py`` import these, and only their tests get them: a test
under ``unit/`` that asked for one would fail to find it, and never starts moto.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from support.loopback import MotoServer
from support.proxy import AWSProxy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_ssm import SSMClient
    from types_boto3_sts import STSClient

__all__ = ["aws_env", "aws_proxy", "direct_session", "moto_server", "sm", "ssm", "sts"]

REGION = "us-east-1"


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
    isolated_env: None, monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, aws_proxy: AWSProxy
) -> Iterator[AWSProxy]:
    """Aim the isolated environment at the proxy, with moto empty and the proxy's counts at zero."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_proxy.url)
    moto_server.reset()
    aws_proxy.reset()
    yield aws_proxy
    aws_proxy.clear_faults()  # ends a hang still holding a request, so it cannot spill into the next test


class DirectSession:
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
def direct_session() -> DirectSession:
    """The per-worker session behind the sm, ssm and sts fixtures."""
    return DirectSession()


@pytest.fixture
def sm(aws_env: AWSProxy, moto_server: MotoServer, direct_session: DirectSession) -> SecretsManagerClient:
    """A Secrets Manager client aimed straight at moto, bypassing the proxy, so seeding is not counted."""
    client: SecretsManagerClient = direct_session.client("secretsmanager", moto_server.url)
    return client


@pytest.fixture
def ssm(aws_env: AWSProxy, moto_server: MotoServer, direct_session: DirectSession) -> SSMClient:
    """An SSM client aimed straight at moto, bypassing the proxy, so seeding is not counted."""
    client: SSMClient = direct_session.client("ssm", moto_server.url)
    return client


@pytest.fixture
def sts(aws_env: AWSProxy, moto_server: MotoServer, direct_session: DirectSession) -> STSClient:
    """An STS client aimed straight at moto, bypassing the proxy, so its calls are not counted."""
    client: STSClient = direct_session.client("sts", moto_server.url)
    return client
