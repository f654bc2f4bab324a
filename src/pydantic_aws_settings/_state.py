"""Process-wide state: the value cache, sessions and clients, and the calls that drop them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Hashable

    from pydantic_settings import BaseSettings

    from pydantic_aws_settings.references import Reference

__all__ = ["_reset_process_state", "clear_cache", "invalidate", "invalidate_field"]


def clear_cache() -> None:
    """Drop every cached value, so the next load fetches everything again."""
    from pydantic_aws_settings.resolver import CACHE

    CACHE.clear()


def invalidate(reference: str | Reference) -> int:
    """Drop the cached value a reference reads, for every identity and region; return how many went.

    References that differ only by `#KEY` or `optional:` share one cached value, so
    `invalidate("secretsmanager:prod/db#password")` makes the next load read all of `prod/db` again.

    Raises:
        InvalidReferenceError: the text is not a reference.
    """
    from pydantic_aws_settings.errors import InvalidReferenceError
    from pydantic_aws_settings.references import SecretReference, parse_reference
    from pydantic_aws_settings.resolver import CACHE, Target

    ref = parse_reference(reference) if isinstance(reference, str) else reference
    if ref is None:
        raise InvalidReferenceError(str(reference), "not a reference")
    service = "secretsmanager" if isinstance(ref, SecretReference) else "ssm"
    wanted = ref.fetch_key()

    def matches(key: Hashable) -> bool:
        return isinstance(key, Target) and key.service == service and key.key == wanted

    return CACHE.invalidate(matches)


def invalidate_field(settings_cls: type[BaseSettings], field: str) -> int:
    """Drop the cached values that feed one field (dotted for a nested one) as the environment says now.

    For an application whose database rejected a password that was just rotated: invalidate the field,
    load again, and the new password is fetched. When no reference names the field directly, the bulk
    import entries are dropped, since one of them may supply it. Returns how many entries went.
    """
    from pydantic_aws_settings.source import AWSSettingsSource
    from pydantic_aws_settings.source._compat import sources_of

    # The class's own sources (a keyword such as `aws_import=` lives on them); a class that composes
    # none is planned with the default source, as before.
    aws_sources = [s for s in sources_of(settings_cls) if isinstance(s, AWSSettingsSource)]
    planned = [p for s in aws_sources or [AWSSettingsSource(settings_cls)] for p in s.references()]
    direct = [p for p in planned if p.field == field or p.field.startswith(f"{field}.")]
    chosen = direct or [p for p in planned if p.variable == "PYDANTIC_AWS_IMPORT"]
    return sum(invalidate(p.reference) for p in chosen)


def _reset_process_state() -> None:
    """Drop cached values, sessions, clients and remembered denials (tests; an environment that changed)."""
    from pydantic_aws_settings import credentials
    from pydantic_aws_settings.fetch import secretsmanager

    clear_cache()
    credentials.reset()
    secretsmanager.forget_denials()
