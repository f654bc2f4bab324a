"""A role's credentials: AssumeRole as their refresh, started ahead, windows scaled, failures shared."""

from __future__ import annotations

import datetime
import functools
import os
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_aws_settings.credentials._explain import CredentialsError, _role_failed

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.credentials import CredentialResolver, Credentials

    from pydantic_aws_settings.credentials._identity import Identity

__all__ = ["PREFETCH_VALID", "for_load"]

_T = TypeVar("_T")


def _now() -> datetime.datetime:
    """The time the refresh windows are measured on; tests replace it to move time without sleeping."""
    return datetime.datetime.now(datetime.timezone.utc)


def _clock() -> datetime.datetime:
    """The `time_fetcher` of botocore: `_now` looked up on every call, so that a replaced one takes effect."""
    return _now()


def _refresh_windows(duration: int) -> tuple[int, int]:
    """(advisory, mandatory) seconds before expiry: botocore's 15 and 10 minutes, scaled down if short."""
    return min(15 * 60, duration // 4), min(10 * 60, duration // 6)


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


@functools.cache
def _given_provider() -> type[Any]:
    """A `CredentialProvider` of botocore that gives credentials built beforehand (imported on first use)."""
    from botocore.credentials import CredentialProvider

    class _Given(CredentialProvider):
        METHOD = "assume-role"
        CANONICAL_NAME = "custom-pydantic-aws-settings"

        def __init__(self, credentials: Credentials) -> None:
            super().__init__()
            self._credentials = credentials

        def load(self) -> Credentials:
            return self._credentials

    return _Given


def _installed(credentials: Credentials) -> CredentialResolver:
    """A session's `credential_provider` component whose only provider gives `credentials`.

    botocore's public way to give a session credentials it does not find itself: `Session.get_credentials`
    asks this component on first use and keeps what it returns.
    """
    from botocore.credentials import CredentialResolver

    return CredentialResolver([_given_provider()(credentials)])
