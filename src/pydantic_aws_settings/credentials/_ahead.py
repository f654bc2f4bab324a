"""The load scope, and a role's first AssumeRole started ahead of the request that needs it."""

from __future__ import annotations

import datetime
import os
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PREFETCH_VALID", "current_load", "for_load"]

_T = TypeVar("_T")


def _now() -> datetime.datetime:
    """The time the refresh windows are measured on; tests replace it to move time without sleeping."""
    return datetime.datetime.now(datetime.timezone.utc)


def _clock() -> datetime.datetime:
    """The `time_fetcher` of botocore: `_now` looked up on every call, so that a replaced one takes effect."""
    return _now()


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
        self._load = current_load()
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
            if current_load() is not self._load:
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


def current_load() -> object | None:
    """The load whose work the current thread is doing, or None (see `for_load`)."""
    return getattr(_load, "token", None)
