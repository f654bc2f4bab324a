"""boto3 sessions and clients for the fetchers: the default chain, or an assumed role that refreshes itself.

The only module that touches botocore internals. Sessions and clients are built once per process and
reused by every load and thread (boto3 clients are thread-safe; sessions are built under a lock).

Without a role, a session is boto3's default chain, unchanged: environment keys, a shared-config
profile, web identity, container credentials, the EC2 instance metadata service.

With a role (`PYDANTIC_AWS_ROLE_ARN`), the session's credentials are botocore's
`DeferredRefreshableCredentials` whose refresh calls STS AssumeRole with the base session. The role is
assumed on first use, once per process per (role, external id, session name, duration, base profile).
Refresh follows botocore's two windows: inside the *advisory* window one thread refreshes while the others
keep signing with the current credentials (a failed refresh is logged and ignored); inside the
*mandatory* window every caller waits for the refresh, and a failure fails the request. For the default
hour the windows are botocore's (15 and 10 minutes); shorter sessions scale them (a quarter and a sixth of
the duration) so that a 15-minute session is not refreshed on every call.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings import _redact

if TYPE_CHECKING:
    import boto3

    from pydantic_aws_settings.options import Options

__all__ = ["Identity", "client_for", "identity_for", "reset"]

_lock = threading.Lock()
_sessions: dict[Identity, boto3.session.Session] = {}
_clients: dict[tuple[Identity, str, str | None, tuple[Any, ...]], Any] = {}


@dataclass(frozen=True, slots=True)
class Identity:
    """Which credentials sign a fetch: the cache keys values by it, so one role's values never reach another.

    Attributes:
        profile: `AWS_PROFILE` of the base chain, or None.
        role_arn: the assumed role, or None for the base chain itself.
        external_id: the external id the role was assumed with.
        session_name: the role session name.
        duration: seconds per role session.
    """

    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    session_name: str | None = None
    duration: int | None = None

    def describe(self) -> str:
        """Name the credentials for an error message (never a key)."""
        base = f"profile {self.profile!r}" if self.profile else "the default credential chain"
        return f"role {self.role_arn} assumed with {base}" if self.role_arn else base


def identity_for(options: Options) -> Identity:
    """The identity a load with these options fetches as."""
    profile = os.environ.get("AWS_PROFILE") or None
    if not options.role_arn:
        return Identity(profile=profile)
    return Identity(
        profile=profile,
        role_arn=options.role_arn,
        external_id=options.external_id,
        session_name=options.role_session_name,
        duration=options.role_duration,
    )


def _refresh_windows(duration: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry: botocore's 15 and 10 minutes, scaled down if short."""
    return min(15 * 60, duration // 4), min(10 * 60, duration // 6)


def _session(identity: Identity, options: Options) -> boto3.session.Session:
    """Build (once) the boto3 session of an identity; call with `_lock` held."""
    session = _sessions.get(identity)
    if session is not None:
        return session
    import boto3

    base_key = Identity(profile=identity.profile)
    base = _sessions.get(base_key)
    if base is None:
        base = boto3.session.Session()
        _sessions[base_key] = base
    if identity.role_arn is None:
        return base

    from botocore.credentials import DeferredRefreshableCredentials
    from botocore.session import Session as BotocoreSession

    sts = base.client("sts", region_name=options.region or base.region_name, config=_config(options))
    kwargs: dict[str, Any] = {
        "RoleArn": identity.role_arn,
        "RoleSessionName": identity.session_name or "pydantic-aws-settings",
        "DurationSeconds": identity.duration or 3600,
    }
    if identity.external_id:
        kwargs["ExternalId"] = identity.external_id

    def assume_role() -> dict[str, str]:
        credentials = sts.assume_role(**kwargs)["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    refreshable = DeferredRefreshableCredentials(refresh_using=assume_role, method="assume-role")
    advisory, mandatory = _refresh_windows(identity.duration or 3600)
    refreshable._advisory_refresh_timeout = advisory  # type: ignore[attr-defined]  # botocore's windows
    refreshable._mandatory_refresh_timeout = mandatory  # type: ignore[attr-defined]
    core = BotocoreSession()
    # How botocore itself installs assumed-role credentials on a session:
    core._credentials = refreshable  # type: ignore[attr-defined]
    session = boto3.session.Session(botocore_session=core, region_name=base.region_name)
    _sessions[identity] = session
    return session


def _config(options: Options) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"mode": "standard", "total_max_attempts": options.max_attempts},
        max_pool_connections=max(10, options.max_workers),
    )


def client_for(service: str, region: str | None, options: Options) -> Any:
    """The process-wide client of a service in a region for the options' identity, built on first use."""
    identity = identity_for(options)
    timeouts = (options.connect_timeout, options.read_timeout, options.max_attempts, options.max_workers)
    key = (identity, service, region, timeouts)
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            _redact.install()
            session = _session(identity, options)
            client = session.client(service, region_name=region, config=_config(options))  # type: ignore[call-overload]
            _clients[key] = client
    return client


def default_region(options: Options) -> str | None:
    """The region a reference without one uses: the option, `AWS_REGION`, then boto3's own chain."""
    if options.region:
        return options.region
    with _lock:
        return _session(Identity(profile=os.environ.get("AWS_PROFILE") or None), options).region_name


def reset() -> None:
    """Forget every session and client (tests; a process whose environment changed)."""
    with _lock:
        _sessions.clear()
        _clients.clear()
