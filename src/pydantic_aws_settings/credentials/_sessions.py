"""The process's botocore sessions and clients: built once under a lock, kept per identity and endpoint.

They belong to one `ClientRegistry`, reached through `registry()`, the only place that creates and holds
it; `client_for` and `reset` are its methods for the rest of the library.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings import _redact
from pydantic_aws_settings.credentials._ahead import InFlight, _Prefetched, utcnow
from pydantic_aws_settings.credentials._explain import _chain_failed, _explain_refreshes, _no_credentials
from pydantic_aws_settings.credentials._identity import Identity, identity_for
from pydantic_aws_settings.credentials._speedups import _botocore_session

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable

    from botocore.session import Session

    from pydantic_aws_settings.options import Options

__all__ = ["ClientRegistry", "client_for", "registry", "reset"]

#: The variables botocore reads a service's endpoint from, besides AWS_ENDPOINT_URL.
_ENDPOINT_VARIABLES = {
    "ssm": "AWS_ENDPOINT_URL_SSM",
    "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "sts": "AWS_ENDPOINT_URL_STS",
}
#: The services whose throttled requests the library retries itself (the fetchers'; not STS).
_FETCHING = frozenset({"ssm", "secretsmanager"})


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


def _sts_client(session: Session, region: str | None, options: Options) -> Any:
    """An STS client of a base session, at the regional endpoint of `region`."""
    return session.create_client("sts", region_name=region, config=_config(options))


class ClientRegistry:
    """The process's sessions and clients, by identity, endpoint and timeouts; built once, under one lock.

    Base sessions (boto3's default chain) and their resolved credentials are kept by (profile, base
    fingerprint), assumed-role sessions by identity and STS's endpoint variables, clients by everything
    that makes them differ (see `client`).

    Attributes:
        clock: the time the refresh windows of a role's credentials are measured on, given to each role
            session when it is built (botocore's `time_fetcher`). The one seam for moving time: a test
            replaces it, before the load that builds the role's session, to move time without sleeping.
    """

    def __init__(self, clock: Callable[[], datetime.datetime] = utcnow) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._bases: dict[tuple[str | None, str], Session] = {}
        self._base_credentials: dict[tuple[str | None, str], Any] = {}
        self._roles: dict[tuple[Identity, tuple[str | None, ...]], Session] = {}
        self._clients: dict[tuple[Any, ...], Any] = {}
        self._in_flight = InFlight()

    def client(self, service: str, region: str | None, options: Options) -> Any:
        """The client of a service in a region for the options' identity, built on first use.

        It is kept for as long as the identity, the options' timeouts and the service's endpoint variables
        (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, and STS's with a role) stay the same.

        Raises:
            CredentialsError: no base credentials could be found (nothing is remembered: the next call
                looks again). Errors of AssumeRole and of a refresh are raised later, when a request is
                signed.
        """
        identity = identity_for(options)
        # With a throttle timeout the library retries throttling itself (`_throttling`): another client.
        library_throttles = service in _FETCHING and options.throttle_timeout > 0 and options.max_attempts > 1
        timeouts = (options.connect_timeout, options.read_timeout, options.max_attempts, options.max_workers)
        # With a role, the client also belongs to the role's session, which belongs to the STS endpoint.
        sts = _endpoint("sts") if identity.role_arn else None
        key = (identity, service, region, timeouts, library_throttles, _endpoint(service), sts)
        client = self._clients.get(key)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                _redact.install()
                if identity.role_arn is None:
                    session, _ = self._resolve_base(identity)
                else:
                    session = self._role_session(identity, options, region)
                client = session.create_client(service, region_name=region, config=_config(options))
                if library_throttles:
                    from pydantic_aws_settings.credentials import _throttling

                    _throttling.leave_throttling_to_library(client, options.max_attempts)
                self._clients[key] = client
        return client

    def credential_method(self, identity: Identity) -> str | None:
        """The botocore `method` of an identity's base credentials (`env`, `iam-role`, ...), once resolved."""
        return getattr(self._base_credentials.get((identity.profile, identity.base)), "method", None)

    def reset(self) -> None:
        """Forget every session and client (tests; a process whose environment changed).

        A role's first AssumeRole still in flight (started for a session nobody signed with) is waited
        for, so that it does not reach the endpoint after the reset.
        """
        with self._lock:
            self._bases.clear()
            self._base_credentials.clear()
            self._roles.clear()
            self._clients.clear()
        self._in_flight.join()

    def after_fork(self) -> None:
        """In a forked child: drop every session, client and lock, without waiting for any thread.

        The child must not share its parent's connections, and a lock or an AssumeRole thread of the
        parent may have been caught mid-way: none of them came along, so none is used or joined.
        """
        self._lock = threading.Lock()
        self._bases = {}
        self._base_credentials = {}
        self._roles = {}
        self._clients = {}
        self._in_flight = InFlight()

    def _base_session(self, identity: Identity) -> Session:
        """The default chain's session of an identity, built once; call with the lock held."""
        key = (identity.profile, identity.base)
        session = self._bases.get(key)
        if session is None:
            # A session already built lends its data loader to the new one.
            shared = next(iter(self._bases.values()), None)
            session = self._bases[key] = _botocore_session(identity.profile, shared)
        return session

    def _resolve_base(self, identity: Identity) -> tuple[Session, Any]:
        """The base session and its credentials, resolved once; call with the lock held.

        Raises:
            CredentialsError: the chain found no credentials, or a provider failed; nothing is
                remembered, so the next load looks again.
        """
        session = self._base_session(identity)
        key = (identity.profile, identity.base)
        credentials = self._base_credentials.get(key)
        if credentials is None:
            try:
                credentials = session.get_credentials()
            except Exception as exc:
                raise _chain_failed(identity, exc) from exc
            if credentials is None:
                raise _no_credentials(identity)
            _explain_refreshes(credentials, identity)
            self._base_credentials[key] = credentials
        return session, credentials

    def _role_session(self, identity: Identity, options: Options, region: str | None) -> Session:
        """The assumed-role session of an identity, built once; call with the lock held.

        Building it starts the role's first AssumeRole on a thread of its own (see `_Prefetched`), so
        that it overlaps the building of the clients; its result is used when the first request is signed.
        """
        key = (identity, _endpoint("sts"))
        session = self._roles.get(key)
        if session is not None:
            return session
        from pydantic_aws_settings.credentials import _role

        base, base_credentials = self._resolve_base(identity)
        base_region: str | None = base.get_config_variable("region")
        # The option's region, then boto3's chain, then the region of the first reference fetched.
        sts = _sts_client(base, options.region or base_region or region, options)
        clock = self.clock
        assume = _role._assume_role(sts, identity, getattr(base_credentials, "method", None), clock)
        first = _Prefetched(assume, clock, self._in_flight)
        refreshable = _role._RoleCredentials(first, identity.duration or 3600, clock)
        session = self._roles[key] = _botocore_session(identity.profile, base)
        if base_region:
            session.set_config_variable("region", base_region)
        # botocore's Session.get_credentials (called by create_client) loads them from this component.
        session.register_component("credential_provider", _role.installed(refreshable))
        return session


def registry() -> ClientRegistry:
    """The process's `ClientRegistry`: the one the process state (`_state`) owns."""
    from pydantic_aws_settings._state import state

    return state().clients


def client_for(service: str, region: str | None, options: Options) -> Any:
    """The process-wide client of a service in a region for the options' identity (see `ClientRegistry`)."""
    return registry().client(service, region, options)


def reset() -> None:
    """Forget every session and client of the process (see `ClientRegistry.reset`)."""
    registry().reset()
