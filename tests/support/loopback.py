"""The tests use the package's own loopback endpoint launcher (the demo ships it) and its service base."""

from pydantic_aws_settings._loopback import LoopbackService, MotoServer, MotoServerError, free_port

__all__ = ["LoopbackService", "MotoServer", "MotoServerError", "free_port"]
