"""The process's botocore sessions and clients: built once under a lock, kept per identity and endpoint."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings import _redact
from pydantic_aws_settings.credentials._ahead import (
    _PREFETCH_JOIN,
    _clock,
    _Prefetched,
    _prefetches,
    _prefetches_lock,
)
from pydantic_aws_settings.credentials._explain import _chain_failed, _explain_refreshes, _no_credentials
from pydantic_aws_settings.credentials._identity import Identity, identity_for
from pydantic_aws_settings.credentials._speedups import _botocore_session

if TYPE_CHECKING:
    from botocore.session import Session

    from pydantic_aws_settings.options import Options

__all__ = ["client_for", "reset"]

_lock = threading.Lock()
#: Base sessions (boto3's default chain) and their resolved credentials, by (profile, base fingerprint).
_bases: dict[tuple[str | None, str], Session] = {}
_base_credentials: dict[tuple[str | None, str], Any] = {}
#: Assumed-role sessions, by identity and the endpoint variables of STS.
_roles: dict[tuple[Identity, tuple[str | None, ...]], Session] = {}
_clients: dict[tuple[Any, ...], Any] = {}

#: The variables botocore reads a service's endpoint from, besides AWS_ENDPOINT_URL.
_ENDPOINT_VARIABLES = {
    "ssm": "AWS_ENDPOINT_URL_SSM",
    "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "sts": "AWS_ENDPOINT_URL_STS",
}


def _endpoint(service: str) -> tuple[str | None, ...]:
    """The endpoint variables of a service, as they are now: a client is kept only while they are the same.

    A process that points AWS_ENDPOINT_URL somewhere else (a test starting a new local endpoint) gets new
    clients, as it would from boto3, instead of the ones built for the old endpoint.
    """
    environ = os.environ
    return (
        environ.get("AWS_ENDPOINT_URL"),
        environ.get(_ENDPOINT_VARIABLES[service]),
        environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"),
    )


def _base_session(identity: Identity) -> Session:
    """The default chain's session of an identity, built once; call with `_lock` held."""
    key = (identity.profile, identity.base)
    session = _bases.get(key)
    if session is None:
        session = _bases[key] = _botocore_session(identity.profile, _any_session())
    return session


def _any_session() -> Session | None:
    """A session already built, whose data loader a new one can share."""
    return next(iter(_bases.values()), None)


def _resolve_base(identity: Identity) -> tuple[Session, Any]:
    """The base session and its credentials, resolved once; call with `_lock` held.

    Raises:
        CredentialsError: the chain found no credentials, or a provider failed; nothing is remembered,
            so the next load looks again.
    """
    session = _base_session(identity)
    key = (identity.profile, identity.base)
    credentials = _base_credentials.get(key)
    if credentials is None:
        try:
            credentials = session.get_credentials()
        except Exception as exc:
            raise _chain_failed(identity, exc) from exc
        if credentials is None:
            raise _no_credentials(identity)
        _explain_refreshes(credentials, identity)
        _base_credentials[key] = credentials
    return session, credentials


def _sts_client(session: Session, region: str | None, options: Options) -> Any:
    """An STS client of a base session, at the regional endpoint of `region`."""
    return session.create_client("sts", region_name=region, config=_config(options))


def _role_session(identity: Identity, options: Options, region: str | None) -> Session:
    """The assumed-role session of an identity, built once; call with `_lock` held.

    Building it starts the role's first AssumeRole on a thread of its own (see `_Prefetched`), so that
    it overlaps the building of the clients; its result is used when the first request is signed.
    """
    key = (identity, _endpoint("sts"))
    session = _roles.get(key)
    if session is not None:
        return session
    from pydantic_aws_settings.credentials import _role

    base, base_credentials = _resolve_base(identity)
    base_region: str | None = base.get_config_variable("region")
    # The option's region, then boto3's chain, then the region of the first reference fetched.
    sts = _sts_client(base, options.region or base_region or region, options)
    assume = _role._assume_role(sts, identity, getattr(base_credentials, "method", None))
    refreshable = _role._RoleCredentials(_Prefetched(assume), identity.duration or 3600, _clock)
    session = _roles[key] = _botocore_session(identity.profile, base)
    if base_region:
        session.set_config_variable("region", base_region)
    # botocore's Session.get_credentials (called by create_client) loads them from this component.
    session.register_component("credential_provider", _role.installed(refreshable))
    return session


def _config(options: Options) -> Any:
    """The clients' configuration; their User-Agent names the library (CloudTrail records it)."""
    from botocore.config import Config

    from pydantic_aws_settings import __version__

    return Config(
        connect_timeout=options.connect_timeout,
        read_timeout=options.read_timeout,
        retries={"mode": "standard", "total_max_attempts": options.max_attempts},
        max_pool_connections=max(10, options.max_workers),
        user_agent_extra=f"pydantic-aws-settings/{__version__}",
    )


def client_for(service: str, region: str | None, options: Options) -> Any:
    """The process-wide client of a service in a region for the options' identity, built on first use.

    It is kept for as long as the identity, the options' timeouts and the service's endpoint variables
    (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, and STS's with a role) stay the same.

    Raises:
        CredentialsError: no base credentials could be found (nothing is remembered: the next call looks
            again). Errors of AssumeRole and of a refresh are raised later, when a request is signed.
    """
    identity = identity_for(options)
    timeouts = (options.connect_timeout, options.read_timeout, options.max_attempts, options.max_workers)
    # With a role, the client also belongs to the role's session, which belongs to the STS endpoint.
    sts = _endpoint("sts") if identity.role_arn else None
    key = (identity, service, region, timeouts, _endpoint(service), sts)
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            _redact.install()
            if identity.role_arn is None:
                session, _ = _resolve_base(identity)
            else:
                session = _role_session(identity, options, region)
            client = session.create_client(service, region_name=region, config=_config(options))
            _clients[key] = client
    return client


def reset() -> None:
    """Forget every session and client (tests; a process whose environment changed).

    A role's first AssumeRole still in flight (started for a session nobody signed with) is waited for,
    so that it does not reach the endpoint after the reset.
    """
    with _lock:
        _bases.clear()
        _base_credentials.clear()
        _roles.clear()
        _clients.clear()
    with _prefetches_lock:
        pending = list(_prefetches)
    for prefetch in pending:
        prefetch.join(_PREFETCH_JOIN)
