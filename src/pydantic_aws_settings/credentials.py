"""botocore sessions and clients for fetching: the default chain, or an assumed role that refreshes itself.

The only module that touches botocore internals. Sessions and clients are built once per process and
reused by every load and thread (botocore clients are thread-safe; sessions are built under a lock).
The clients are botocore's own, built without boto3's session layer: boto3 is a wrapper around the same
clients, and importing and setting it up would add tens of milliseconds to a cold start for nothing the
fetchers use. A role's session shares the base session's data loader and endpoint resolver, so that the
service models and endpoint data are read and parsed once per process, not once per session.

Without a role, a session is boto3's default chain, unchanged: environment keys, a shared-config
profile, web identity, container credentials, the EC2 instance metadata service. Its credentials are
resolved once per session (botocore keeps them, and refreshes the temporary ones itself).

With a role (`PYDANTIC_AWS_ROLE_ARN`, or `aws_role_arn` in `model_config` or as a keyword), the session's
credentials are botocore's `DeferredRefreshableCredentials` whose refresh calls STS AssumeRole, at the
regional endpoint, signed with the default chain's credentials. The role is assumed on first use, once per
process per identity (role, external id, session name, duration, base credentials): the AssumeRole leaves
as soon as the session is built, and travels while the clients are built. Refresh follows
botocore's two windows: inside the *advisory* window one thread refreshes while the others keep signing
with the current credentials (a failed refresh is logged and ignored); inside the *mandatory* window every
caller waits for the refresh, and a failure fails the request of every caller that waited for it or
belongs to the same load (they do not each call STS again), so no request is signed with credentials about
to expire. For the default hour
the windows are botocore's (15 and 10 minutes); shorter sessions scale them (a quarter and a sixth of the
duration), so that a 15-minute session is refreshed after about 11 minutes instead of on every call.

When credentials cannot be obtained (the chain finds none, STS denies AssumeRole, a web identity token
has expired, ...), the error raised inside botocore is a `CredentialsError`: it keeps AWS's error code
(or the kind of failure) and its message says which provider or role was tried and what to do. The
fetchers report it like any AWS error, so it reaches the load's `ResolutionError`.
"""

from __future__ import annotations

import datetime
import functools
import gzip
import hashlib
import json
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar, overload

from pydantic_aws_settings import _redact

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.session import Session

    from pydantic_aws_settings.options import Options

__all__ = ["CredentialsError", "Identity", "client_for", "for_load", "identity_for", "reset"]

_T = TypeVar("_T")

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


#: The credential providers of botocore's default chain, by their `method`, as a user knows them.
_PROVIDERS = {
    "env": "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    "shared-credentials-file": "the shared credentials file (AWS_SHARED_CREDENTIALS_FILE)",
    "config-file": "the shared config file (AWS_CONFIG_FILE)",
    "assume-role": "the role_arn of the profile in the shared config file",
    "assume-role-with-web-identity": "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)",
    "container-role": "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI)",
    "iam-role": "the EC2 instance metadata service (the instance profile's role)",
    "sso": "IAM Identity Center (the sso_* settings of the profile)",
    "custom-process": "the credential_process of the profile",
}

#: The providers whose credentials belong to a profile, which is worth naming.
_PROFILE_METHODS = frozenset(
    {"shared-credentials-file", "config-file", "assume-role", "sso", "custom-process"}
)

_CONNECTION_FAILURES = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
)
_REJECTED_BASE = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
    }
)


class CredentialsError(Exception):
    """Credentials for a fetch could not be obtained; the message names the provider or role and what to do.

    It is raised inside botocore (while a request is signed, or while a client is built) and has the
    shape of botocore's `ClientError` (`response["Error"]["Code"]` and `["Message"]`), so the fetchers
    report it like any AWS error: AWS's code (`AccessDenied`, `ExpiredTokenException`) or the kind of
    failure (`NoCredentialsError`), with this message. It never holds a key, a token or a fetched value.

    Attributes:
        code: the AWS error code, or the kind of failure.
        message: what was tried, what went wrong, and what the user can do.
        operation_name: the credentials call that failed (`AssumeRole`, `AssumeRoleWithWebIdentity`), or
            None; never the fetch's own operation, so that a denied AssumeRole is not taken for a denied
            BatchGetSecretValue.
    """

    def __init__(self, code: str, message: str, operation_name: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.operation_name = operation_name
        self.response: dict[str, dict[str, str]] = {"Error": {"Code": code, "Message": message}}


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

    def describe(self) -> str:
        """Name the credentials for an error message (never a key)."""
        base = f"profile {self.profile!r}" if self.profile else "the default credential chain"
        return f"role {self.role_arn} assumed with {base}" if self.role_arn else base


@functools.lru_cache(maxsize=64)
def _fingerprint(access_key: str | None) -> str:
    """A short hash of `AWS_ACCESS_KEY_ID` ("" when unset), so that no key id appears in a `repr`."""
    if not access_key:
        return ""
    return hashlib.blake2b(access_key.encode(), digest_size=6).hexdigest()


def identity_for(options: Options) -> Identity:
    """The identity a load with these options fetches as (a few microseconds: it runs on every load).

    The base credentials are told apart by `AWS_PROFILE` and `AWS_ACCESS_KEY_ID`, the two choices a
    running process may change; web identity, container credentials and the instance metadata service
    are the process's own.
    """
    environ = os.environ
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


# -- time ---------------------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    """The time the refresh windows are measured on; tests replace it to move time without sleeping."""
    return datetime.datetime.now(datetime.timezone.utc)


def _clock() -> datetime.datetime:
    """The `time_fetcher` of botocore: `_now` looked up on every call, so that a replaced one takes effect."""
    return _now()


def _refresh_windows(duration: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry: botocore's 15 and 10 minutes, scaled down if short."""
    return min(15 * 60, duration // 4), min(10 * 60, duration // 6)


# -- explanations -------------------------------------------------------------------------------------


def _code_and_message(exc: BaseException) -> tuple[str, str]:
    """AWS's error code and message, or the exception's class and text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return str(error.get("Code") or type(exc).__name__), str(error.get("Message") or "")
    return type(exc).__name__, str(exc)


def _provider(method: str | None, profile: str | None) -> str:
    """The base provider as the user knows it."""
    name = _PROVIDERS.get(method or "", f"botocore's {method!r} provider" if method else "the default chain")
    if profile and method in _PROFILE_METHODS:
        name += f", profile {profile!r}"
    return name


def _no_credentials(identity: Identity) -> CredentialsError:
    """No provider of the default chain found credentials."""
    profile = identity.profile or "default"
    metadata = "the EC2 instance metadata service"
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        metadata += " (turned off by AWS_EC2_METADATA_DISABLED)"
    tried = ", ".join(
        (
            "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
            f"the shared credentials and config files (profile {profile!r})",
            "web identity (AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE)",
            "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI)",
            metadata,
        )
    )
    purpose = f"to assume role {identity.role_arn} with" if identity.role_arn else "to sign requests"
    return CredentialsError(
        "NoCredentialsError",
        f"no AWS credentials {purpose}: boto3's default chain tried {tried}, and none had any. "
        "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile with AWS_PROFILE, "
        "or run where a role is attached (an ECS task role, an EKS service account, an EC2 instance "
        "profile).",
    )


def _chain_failed(identity: Identity, exc: BaseException) -> CredentialsError:
    """A provider of the default chain raised while the chain looked for credentials."""
    code, message = _code_and_message(exc)
    purpose = f" to assume role {identity.role_arn} with" if identity.role_arn else ""
    return CredentialsError(
        code,
        f"boto3's default credential chain failed while looking for credentials{purpose}: {message}. "
        "Fix the provider it names (or its environment variables and profile), or unset it so that the "
        "chain moves on.",
    )


def _base_failed(
    method: str | None, profile: str | None, token_file: str | None, code: str, message: str
) -> str:
    """Why the base credentials could not be refreshed, and what to do."""
    if method == "assume-role-with-web-identity":
        what = "rejected as expired" if "Expired" in code else "rejected"
        where = f"AWS_WEB_IDENTITY_TOKEN_FILE ({token_file})" if token_file else "web_identity_token_file"
        return (
            f"the web identity token in {where} was {what} by STS "
            f"AssumeRoleWithWebIdentity ({code}: {message}). The platform that writes that file (the EKS "
            "pod identity webhook, a CI job's OIDC step) must keep a current token in it: check that it "
            "is refreshed, and that the trust policy of AWS_ROLE_ARN accepts its issuer and audience."
        )
    if method == "container-role":
        return (
            f"container credentials could not be refreshed ({code}: {message}): check the task role and "
            "that AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI is reachable."
        )
    if method == "iam-role":
        return (
            f"the EC2 instance metadata service gave no credentials ({code}: {message}): check the "
            "instance profile, and the metadata hop limit when running in a container."
        )
    return f"the credentials from {_provider(method, profile)} could not be refreshed ({code}: {message})."


def _role_failed(identity: Identity, method: str | None, exc: BaseException) -> CredentialsError:
    """AssumeRole failed: say which role, with which base credentials, and what to do."""
    role = identity.role_arn
    if isinstance(exc, CredentialsError):  # the base credentials failed first; already explained
        return CredentialsError(exc.code, f"could not assume role {role}: {exc.message}", exc.operation_name)
    code, message = _code_and_message(exc)
    base = _provider(method, identity.profile)
    detail = f" ({message})" if message else ""
    if code in ("AccessDenied", "AccessDeniedException", "403"):
        external = (
            "with the configured external id (PYDANTIC_AWS_EXTERNAL_ID or aws_external_id)"
            if identity.external_id
            else "(if it requires an external id, set PYDANTIC_AWS_EXTERNAL_ID or aws_external_id)"
        )
        text = (
            f"STS denied AssumeRole on role {role} to the credentials from {base}{detail}. Allow "
            f"sts:AssumeRole on the role in that identity's policy, and trust that identity in the "
            f"role's trust policy {external}."
        )
    elif code in _REJECTED_BASE:
        text = (
            f"STS rejected the credentials from {base} while assuming role {role}{detail}: they are "
            "expired or invalid. Renew them (a new session token, a new login) and load again."
        )
    elif code == "ValidationError":
        text = (
            f"STS refused to assume role {role}{detail}. Check the role duration ({identity.duration} s, "
            "PYDANTIC_AWS_ROLE_DURATION or aws_role_duration) against the role's maximum session duration "
            "(at most 3600 s when the base credentials are themselves an assumed role), the session name "
            "and the external id."
        )
    elif code in _CONNECTION_FAILURES:
        text = (
            f"could not reach STS to assume role {role} ({code}{detail}). Check the network, "
            "AWS_ENDPOINT_URL_STS and the proxy settings."
        )
    else:
        text = f"could not assume role {role} with the credentials from {base} ({code}{detail})."
    return CredentialsError(code, text, "AssumeRole")


def _explain_refreshes(credentials: Any, identity: Identity) -> None:
    """Make a failed refresh of botocore's temporary base credentials raise an explained error.

    botocore's refreshable credentials (web identity, container, instance metadata, profile roles) call
    `_refresh_using` to renew themselves; the wrapper keeps what it returns and explains what it raises.
    """
    refresh: Callable[[], Any] | None = getattr(credentials, "_refresh_using", None)
    if refresh is None:
        return
    method: str | None = getattr(credentials, "method", None)
    token_file = os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")

    def explained() -> Any:
        try:
            data = refresh()
        except CredentialsError:
            raise
        except Exception as exc:
            code, message = _code_and_message(exc)
            text = _base_failed(method, identity.profile, token_file, code, message)
            raise CredentialsError(code, text, getattr(exc, "operation_name", None)) from exc
        if not data:  # the instance metadata fetcher answers {} when it got nothing
            code, message = "CredentialRetrievalError", "the provider returned no credentials"
            raise CredentialsError(code, _base_failed(method, identity.profile, token_file, code, message))
        return data

    credentials._refresh_using = explained  # botocore's own attribute: its refresh calls it


# -- sessions -----------------------------------------------------------------------------------------


class _JSONFileLoader:
    """botocore's JSON file loader, parsing into plain dicts instead of `OrderedDict`s.

    botocore parses its data files (a megabyte of endpoint data, the service models) with
    `object_pairs_hook=OrderedDict`, a habit from before dicts kept their order; parsing into plain
    dicts takes half the time, about 25 ms of a cold start for SSM and Secrets Manager. botocore's
    `Loader` takes a file loader as an argument and calls only these two methods on it; they find the
    same files in the same order (`.json`, then `.json.gz`) as its own.
    """

    _OPENERS: tuple[tuple[str, Callable[..., Any]], ...] = ((".json", open), (".json.gz", gzip.open))

    def exists(self, file_path: str) -> bool:
        """Whether the data file exists (the path is without its `.json` or `.json.gz`)."""
        return any(os.path.isfile(file_path + extension) for extension, _ in self._OPENERS)

    def load_file(self, file_path: str) -> Any:
        """The parsed data file (the path is without its extension), or None when there is none."""
        for extension, opener in self._OPENERS:
            full_path = file_path + extension
            if os.path.isfile(full_path):
                with opener(full_path, "rb") as data:
                    return json.loads(data.read().decode("utf-8"))
        return None


class _AvailableServices(Sequence[str]):
    """The services a data loader has data of, asked about one service at a time.

    Before it loads a service's model, botocore checks that the service is among all those it has data
    for, which it finds by listing and testing every one of over 400 data directories, once for the
    models and once for the endpoint rules: about 20 ms of a cold start for an answer about one service.
    Membership here looks at that service's directory only (botocore's `list_api_versions`, which is
    what the full list is made of); listing, indexing or counting makes botocore's full list.
    """

    def __init__(self, loader: Any, type_name: str, scan: Callable[[], list[str]]) -> None:
        self._loader = loader
        self._type_name = type_name
        self._scan = scan
        self._names: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        from botocore.exceptions import DataNotFoundError

        if not isinstance(name, str):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def _all(self) -> list[str]:
        if self._names is None:
            self._names = self._scan()
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


@functools.cache
def _loader_class() -> type[Any]:
    """The `Loader` of botocore, answering "does this service exist" without listing every service."""
    from botocore.loaders import Loader

    class _Loader(Loader):
        # botocore itself only asks "is this service among them" (and returns it from a session's
        # get_available_services, which nothing calls on these private sessions).
        def list_available_services(self, type_name: str) -> _AvailableServices:  # type: ignore[override]
            # Not cached under botocore's key for this method: the full scan below is, by botocore.
            scan: Callable[[], list[str]] = lambda: Loader.list_available_services(self, type_name)  # noqa: E731
            return _AvailableServices(self, type_name, scan)

    return _Loader


def _data_loader(data_path: str | None) -> Any:
    """The data loader botocore builds from `data_path`, with the plain-dict file loader."""
    paths = None
    if data_path:
        paths = [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)]
    return _loader_class()(extra_search_paths=paths, file_loader=_JSONFileLoader())


def _botocore_session(profile: str | None, shared: Session | None = None) -> Session:
    """A new botocore session of a profile whose STS clients use the regional endpoint.

    Its data loader parses botocore's data files into plain dicts (see `_JSONFileLoader`). With `shared`,
    the new session reuses its data loader and endpoint resolver (what botocore reads from its JSON data
    files: service models, endpoint rules, partitions), which depend on neither the credentials nor the
    profile, only on the data path (`AWS_DATA_PATH`, a profile's `data_path`).
    """
    import botocore.session

    core = botocore.session.Session(profile=profile)
    # STS at the regional endpoint, whatever AWS_STS_REGIONAL_ENDPOINTS or the profile says.
    core.set_config_variable("sts_regional_endpoints", "regional")
    data_path = core.get_config_variable("data_path")
    if shared is not None and data_path == shared.get_config_variable("data_path"):
        core.register_component("data_loader", shared.get_component("data_loader"))
        # botocore keeps the endpoint resolver among its internal components; sharing it is what saves
        # parsing endpoints.json (over a megabyte) a second time.
        resolver = shared._get_internal_component("endpoint_resolver")  # type: ignore[attr-defined]
        core._internal_components.register_component("endpoint_resolver", resolver)  # type: ignore[attr-defined]
    else:
        core.register_component("data_loader", _data_loader(data_path))
    return core


def _base_session(identity: Identity) -> Session:
    """The default chain's session of an identity, built once; call with `_lock` held."""
    key = (identity.profile, identity.base)
    session = _bases.get(key)
    if session is None:
        session = _bases[key] = _botocore_session(identity.profile, _any_session())
    return session


def _any_session() -> Session | None:
    """A session already built, whose data loader and endpoint resolver a new one can share."""
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


def _assume_role(sts: Any, identity: Identity, method: str | None) -> Callable[[], dict[str, str]]:
    """The refresh function of a role's credentials: one AssumeRole, explained when it fails."""
    kwargs: dict[str, Any] = {
        "RoleArn": identity.role_arn,
        "RoleSessionName": identity.session_name or "pydantic-aws-settings",
        "DurationSeconds": identity.duration or 3600,
    }
    if identity.external_id:
        kwargs["ExternalId"] = identity.external_id

    def assume_role() -> dict[str, str]:
        try:
            credentials = sts.assume_role(**kwargs)["Credentials"]
        except Exception as exc:
            raise _role_failed(identity, method, exc) from exc
        # STS states the expiry on AWS's clock; the windows are measured on `_now`, so the expiry is
        # restated as a lifetime from `_now` (the same instant, unless a test replaced the clock).
        lifetime = credentials["Expiration"] - datetime.datetime.now(datetime.timezone.utc)
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": (_now() + lifetime).isoformat(),
        }

    return assume_role


#: How long the result of a role's first AssumeRole, started ahead, may wait for the refresh that uses it.
PREFETCH_VALID = 60.0
#: How long `reset` waits for a first AssumeRole still in flight (one nobody waited for).
_PREFETCH_JOIN = 10.0
#: The first AssumeRoles still in flight.
_prefetches: set[_Prefetched] = set()
_prefetches_lock = threading.Lock()
#: The load whose work the current thread is doing (see `for_load`).
_load = threading.local()


class _Prefetched:
    """A role's refresh function whose first AssumeRole starts when the session is built, not when used.

    A cold load builds the role's session, then its clients (tens of milliseconds of CPU each), and only
    then signs its first request, which is when botocore would call STS: the AssumeRole round trip would
    come after all that. Started ahead on a thread of its own, it travels while the clients are built.
    The first refresh botocore asks for takes its result, waiting for it if it is still in flight: so
    there is still exactly one AssumeRole. Its error goes only to the load that built the session (which
    reports it once); a refresh for another load, a result older than `PREFETCH_VALID` seconds on the
    library's clock, and a process forked since (the thread did not come along) call STS anew. botocore
    calls a refresh function under its refresh lock only.
    """

    def __init__(self, assume: Callable[[], dict[str, str]]) -> None:
        self._assume = assume
        self._first: Future[dict[str, str]] | None = Future()
        self._load = getattr(_load, "token", None)
        self._pid = os.getpid()
        self._done_at: datetime.datetime | None = None
        name = "pydantic-aws-settings-assume-role"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        with _prefetches_lock:
            _prefetches.add(self)
        self._thread.start()

    def _run(self) -> None:
        first = self._first
        assert first is not None  # noqa: S101 - set in __init__, taken only by __call__
        try:
            credentials = self._assume()
        except BaseException as exc:  # noqa: BLE001 - delivered to the refresh that takes it
            self._done_at = _now()
            first.set_exception(exc)
        else:
            self._done_at = _now()
            first.set_result(credentials)
        finally:
            with _prefetches_lock:
                _prefetches.discard(self)

    def join(self, timeout: float) -> None:
        """Wait for the AssumeRole in flight, `timeout` seconds at most."""
        self._thread.join(timeout)

    def __call__(self) -> dict[str, str]:
        first, self._first = self._first, None
        if first is None or self._pid != os.getpid():
            return self._assume()
        try:
            credentials = first.result()  # bounded: the AssumeRole has the client's timeouts and retries
        except Exception:
            if getattr(_load, "token", None) is not self._load:
                return self._assume()  # another load's failure: this load tries for itself
            raise
        assert self._done_at is not None  # noqa: S101 - set before the result
        if (_now() - self._done_at).total_seconds() >= PREFETCH_VALID:
            return self._assume()
        return credentials


def for_load(token: object, request: Callable[[], _T]) -> _T:
    """Run `request` as part of a load (`token`: one object per load) on the current thread."""
    previous = getattr(_load, "token", None)
    _load.token = token
    try:
        return request()
    finally:
        _load.token = previous


def _share_failed_refreshes(credentials: Any) -> None:
    """Make a load's fetches share a failed mandatory refresh instead of each refreshing again.

    botocore lets every caller blocked in the mandatory window refresh again, one after another, once the
    refresh it waited for has failed: with STS down, the concurrent fetches of one load would each spend a
    whole retry budget on AssumeRole in turn (that many times the requests and the time bound). Here a
    caller gets the error of the last failed refresh instead when it arrived while that refresh was
    running, or when it sends a request of the same load (`for_load`) as the caller that failed; a caller
    of a later load tries again.
    """
    refresh: Callable[[], None] = credentials._refresh
    protected_refresh: Callable[[bool], None] = credentials._protected_refresh
    arrived = threading.local()  # per caller: how many refreshes had failed when it arrived
    # How many refreshes failed, the last one's error (its arguments: not the exception, whose traceback
    # would keep the failing load's frames alive) and load; read and written under botocore's lock.
    failed: list[Any] = [0, None, None]

    def counted_refresh() -> None:
        arrived.failures = failed[0]
        refresh()

    def shared_protected_refresh(is_mandatory: bool) -> None:  # botocore calls it with its lock held
        count, error, load = failed
        mine = getattr(_load, "token", None)
        waited = getattr(arrived, "failures", count) != count
        if is_mandatory and error is not None and (waited or (mine is not None and mine is load)):
            raise CredentialsError(*error)
        try:
            protected_refresh(is_mandatory)
        except CredentialsError as exc:
            failed[:] = [count + 1, (exc.code, exc.message, exc.operation_name), mine]
            raise

    # botocore's own methods, looked up on the instance by `get_frozen_credentials` and `_refresh`.
    credentials._refresh = counted_refresh
    credentials._protected_refresh = shared_protected_refresh


def _role_session(identity: Identity, options: Options, region: str | None) -> Session:
    """The assumed-role session of an identity, built once; call with `_lock` held.

    Building it starts the role's first AssumeRole on a thread of its own (see `_Prefetched`), so that
    it overlaps the building of the clients; its result is used when the first request is signed.
    """
    key = (identity, _endpoint("sts"))
    session = _roles.get(key)
    if session is not None:
        return session
    from botocore.credentials import DeferredRefreshableCredentials

    base, base_credentials = _resolve_base(identity)
    base_region: str | None = base.get_config_variable("region")
    # The option's region, then boto3's chain, then the region of the first reference fetched.
    sts = _sts_client(base, options.region or base_region or region, options)
    refreshable = DeferredRefreshableCredentials(
        refresh_using=_Prefetched(_assume_role(sts, identity, getattr(base_credentials, "method", None))),
        method="assume-role",
        time_fetcher=_clock,
    )
    advisory, mandatory = _refresh_windows(identity.duration or 3600)
    # DeferredRefreshableCredentials takes no windows; these are the attributes RefreshableCredentials
    # sets from its `advisory_timeout` and `mandatory_timeout` arguments.
    refreshable._advisory_refresh_timeout = advisory  # type: ignore[attr-defined]
    refreshable._mandatory_refresh_timeout = mandatory  # type: ignore[attr-defined]
    _share_failed_refreshes(refreshable)
    session = _roles[key] = _botocore_session(identity.profile, base)
    if base_region:
        session.set_config_variable("region", base_region)
    # How botocore itself installs assumed-role credentials on a session:
    session._credentials = refreshable  # type: ignore[attr-defined]
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
