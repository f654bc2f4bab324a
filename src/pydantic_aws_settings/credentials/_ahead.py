"""The load scope, and a role's first AssumeRole started ahead of the request that needs it."""

from __future__ import annotations

import datetime
import os
import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PREFETCH_VALID", "InFlight", "current_load", "for_load", "utcnow"]

_T = TypeVar("_T")


def utcnow() -> datetime.datetime:
    """The real time, in UTC: the default clock of the refresh windows (see `ClientRegistry.clock`)."""
    return datetime.datetime.now(datetime.timezone.utc)


#: How long the result of a role's first AssumeRole, started ahead, may wait for the refresh that uses it.
PREFETCH_VALID = 60.0
#: How long `reset` waits for a first AssumeRole still in flight (one nobody waited for).
_PREFETCH_JOIN = 10.0
#: The load whose work the current thread is doing (see `for_load`).
_load = threading.local()


class InFlight:
    """The first AssumeRoles started ahead and still running, so that a reset can wait for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[_Prefetched] = set()

    def __len__(self) -> int:
        return len(self._running)

    def add(self, prefetch: _Prefetched) -> None:
        """Count an AssumeRole that has started."""
        with self._lock:
            self._running.add(prefetch)

    def discard(self, prefetch: _Prefetched) -> None:
        """Forget an AssumeRole that has finished."""
        with self._lock:
            self._running.discard(prefetch)

    def join(self, timeout: float = _PREFETCH_JOIN) -> None:
        """Wait for each AssumeRole still running, `timeout` seconds at most each."""
        with self._lock:
            running = list(self._running)
        for prefetch in running:
            prefetch.join(timeout)


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

    Args:
        assume: the refresh function (one AssumeRole).
        clock: the time `PREFETCH_VALID` is measured on.
        in_flight: where the AssumeRole is counted while it runs.
    """

    def __init__(
        self,
        assume: Callable[[], dict[str, str]],
        clock: Callable[[], datetime.datetime],
        in_flight: InFlight,
    ) -> None:
        self._assume = assume
        self._clock = clock
        self._in_flight = in_flight
        self._first: Future[dict[str, str]] | None = Future()
        self._load = current_load()
        self._pid = os.getpid()
        self._done_at: datetime.datetime | None = None
        name = "pydantic-aws-settings-assume-role"
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        in_flight.add(self)
        self._thread.start()

    def _run(self) -> None:
        first = self._first
        assert first is not None  # noqa: S101 - set in __init__, taken only by __call__
        try:
            credentials = self._assume()
        except BaseException as exc:  # noqa: BLE001 - delivered to the refresh that takes it
            self._done_at = self._clock()
            first.set_exception(exc)
        else:
            self._done_at = self._clock()
            first.set_result(credentials)
        finally:
            self._in_flight.discard(self)

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
        if (self._clock() - self._done_at).total_seconds() >= PREFETCH_VALID:
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
