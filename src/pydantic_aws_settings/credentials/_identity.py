"""Which credentials sign a fetch: the identity sessions, clients and cached values are keyed by."""

from __future__ import annotations

import functools
import hashlib
import os
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic_aws_settings.options import Options

__all__ = ["Identity", "identity_for"]


class Identity(NamedTuple):
    """Which credentials sign a fetch: the cache keys values by it, so one role's values never reach another.

    Attributes:
        profile: `AWS_PROFILE` of the base chain, or None.
        base: a fingerprint of `AWS_ACCESS_KEY_ID` ("" when unset): a hash, so that no key id appears
            in a `repr`.
        role_arn: the assumed role, or None for the base chain itself.
        external_id: the external id the role was assumed with.
        session_name: the role session name.
        duration: seconds per role session.
    """

    profile: str | None = None
    base: str = ""
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str | None = None
    duration: int | None = None


@functools.lru_cache(maxsize=64)
def _fingerprint(access_key: str | None) -> str:
    """A short hash of `AWS_ACCESS_KEY_ID` ("" when unset), so that no key id appears in a `repr`."""
    if not access_key:
        return ""
    return hashlib.blake2b(access_key.encode(), digest_size=6).hexdigest()


def identity_for(options: Options, environ: Mapping[str, str] = os.environ) -> Identity:
    """The identity a load with these options fetches as (a few microseconds: it runs on every load).

    The base credentials are told apart by `AWS_PROFILE` and `AWS_ACCESS_KEY_ID`, the two choices a
    running process may change; web identity, container credentials and the instance metadata service
    are the process's own. `environ` is where they are read (the process's environment by default).
    """
    profile = environ.get("AWS_PROFILE") or None
    base = _fingerprint(environ.get("AWS_ACCESS_KEY_ID"))
    if not options.role_arn:
        return Identity(profile=profile, base=base)
    return Identity(
        profile=profile,
        base=base,
        role_arn=options.role_arn,
        external_id=options.external_id,
        session_name=options.role_session_name,
        duration=options.role_duration,
    )
