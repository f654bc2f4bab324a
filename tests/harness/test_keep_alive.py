"""The proxy keeps client connections alive across responses, as AWS's endpoints do, and moto does not.

With ``Connection: close`` on every answer (moto's way) a client never reuses a pooled connection, so
whatever a forked process inherits from its parent's pool is never used twice: the proxy must keep
connections open for the lifecycle tests to see what production sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from support.proxy import AWSProxy

if TYPE_CHECKING:
    from types_boto3_ssm import SSMClient

    from support.loopback import MotoServer


def _client(url: str) -> Any:
    """An SSM client at `url` that sends each call once."""
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    return boto3.session.Session().client("ssm", endpoint_url=url, config=config)


class TestKeepAlive:
    """botocore's pool reuses one connection through the proxy; the proxy numbers its connections."""

    def test_botocore_reuses_one_connection_for_several_requests(
        self, aws_proxy: AWSProxy, ssm: SSMClient
    ) -> None:
        """Five calls one after the other arrive on one client connection, and the answers carry no close."""
        ssm.put_parameter(Name="/ka/one", Value="1", Type="String")
        client = _client(aws_proxy.url)
        for _ in range(5):
            response = client.get_parameter(Name="/ka/one")
            headers = response["ResponseMetadata"]["HTTPHeaders"]
            assert headers.get("connection", "").lower() != "close"
        assert aws_proxy.counts["GetParameter"] == 5
        assert aws_proxy.connections == 1
        assert len(set(aws_proxy.request_connections)) == 1

    def test_connection_numbers_are_never_reused_across_a_reset(
        self, aws_proxy: AWSProxy, ssm: SSMClient
    ) -> None:
        """A reset zeroes `connections` but a new connection still gets a new number."""
        ssm.put_parameter(Name="/ka/two", Value="2", Type="String")
        _client(aws_proxy.url).get_parameter(Name="/ka/two")
        first = aws_proxy.request_connections[-1]
        aws_proxy.reset()
        assert (aws_proxy.connections, aws_proxy.request_connections) == (0, [])
        _client(aws_proxy.url).get_parameter(Name="/ka/two")
        assert aws_proxy.connections == 1
        assert aws_proxy.request_connections[-1] > first

    def test_keep_alive_off_closes_after_every_response(
        self, moto_server: MotoServer, ssm: SSMClient
    ) -> None:
        """With keep_alive=False every answer says close, and three calls take three connections."""
        ssm.put_parameter(Name="/ka/three", Value="3", Type="String")
        with AWSProxy(moto_server.url, keep_alive=False) as proxy:
            client = _client(proxy.url)
            for _ in range(3):
                response = client.get_parameter(Name="/ka/three")
                assert response["ResponseMetadata"]["HTTPHeaders"]["connection"] == "close"
            assert proxy.connections == 3
            assert proxy.request_connections == [1, 2, 3]
