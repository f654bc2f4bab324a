"""The tests use the package's own loopback endpoint launcher (the demo ships it)."""

from pydantic_aws_settings._loopback import MotoServer, MotoServerError, free_port

__all__ = ["MotoServer", "MotoServerError", "free_port"]
