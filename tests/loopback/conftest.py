"""The tests here talk to the loopback AWS endpoint: moto behind the counting proxy (support/endpoint.py)."""

from support.endpoint import aws_env, aws_proxy, direct_session, moto_server, sm, ssm, sts

__all__ = ["aws_env", "aws_proxy", "direct_session", "moto_server", "sm", "ssm", "sts"]
