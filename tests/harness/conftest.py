"""The harness's own tests use the loopback endpoint they test (support/endpoint.py), as loopback/ does."""

from support.endpoint import aws_env, aws_proxy, direct_session, moto_server, sm, ssm, sts

__all__ = ["aws_env", "aws_proxy", "direct_session", "moto_server", "sm", "ssm", "sts"]
