"""Process-wide state: the value cache, sessions and clients, and the calls that drop them."""

from __future__ import annotations

__all__ = ["_reset_process_state", "clear_cache"]


def clear_cache() -> None:
    """Drop every cached value, so the next load fetches everything again."""
    from pydantic_aws_settings.resolver import CACHE

    CACHE.clear()


def _reset_process_state() -> None:
    """Drop cached values, sessions, clients and remembered denials (tests; an environment that changed)."""
    from pydantic_aws_settings import credentials
    from pydantic_aws_settings.fetch import secretsmanager

    clear_cache()
    credentials.reset()
    secretsmanager.forget_denials()
