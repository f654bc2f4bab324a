"""`LiveSettings`: the current settings of a long-running service, picked up again after rotation.

```python
live = LiveSettings(Settings)

def handle(request):
    settings = live.get()   # never waits once it has settings: one clock comparison
```

Rules, in the spirit of botocore's refreshable credentials:

- `get()` returns the same object until a value its last load used has gone stale in the cache. Then it
  still returns that object at once, and starts one reload on a background thread (through the cache, so
  only the stale references are fetched); the object changes only when some value actually changed, so
  identity comparisons work. Only the very first call, which has nothing to return yet, loads and waits.
- `await live.aget()` never blocks an asyncio event loop: the first load runs on a worker thread, and
  every later call is `get()`, which does not wait.
- When a reload fails (AWS down and nothing left to serve stale, a validation error), the current object
  stays, a WARNING names the class and the error type (never a value), and the next attempt is
  `retry_after` seconds later. During an outage the cache serves stale values, so a reload rarely fails.
- `refresh()` reloads now and waits; `invalidate(field)` drops a field's cached values first, for an
  application whose database just rejected a rotated password.
- After `os.fork()` the child starts with no reload in flight and fresh locks of its own.

A Secrets Manager rotation (a new AWSCURRENT version) therefore reaches a process that keeps calling
`get()` within one cache TTL plus one fetch, without a restart.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from pydantic_aws_settings.errors import AWSSettingsError

__all__ = ["LiveSettings"]

logger = logging.getLogger("pydantic_aws_settings")

S = TypeVar("S", bound=BaseSettings)


class LiveSettings(Generic[S]):
    """A thread-safe holder of the current instance of a settings class.

    Args:
        settings_cls: the settings class.
        retry_after: seconds between reload attempts while reloading fails or values are being served
            stale.
        **init: init arguments passed to every load.
    """

    def __init__(self, settings_cls: type[S], *, retry_after: float = 5.0, **init: Any) -> None:
        self.settings_cls = settings_cls
        self.retry_after = retry_after
        self._init = init
        self._current: S | None = None
        self._next_check = -math.inf
        self._stale_reloads = 0  # reloads in a row that ended with a value already past its freshness
        self.reloads = 0
        self._pid = os.getpid()
        self._lock = threading.Lock()  # serialises loads
        self._flag = threading.Lock()  # guards `_reloading` only: never held while loading
        self._reloading = False  # a background reload is in flight (in this process)

    @staticmethod
    def _now() -> float:
        from pydantic_aws_settings._state import state

        return state().cache.now()

    def get(self) -> S:
        """The current settings, at once; a reload starts in the background when a value has gone stale."""
        current = self._current
        if current is not None and (self._next_check == math.inf or self._now() < self._next_check):
            return current
        self._after_fork()
        if current is None:
            with self._lock:
                if self._current is None:
                    self._reload(raise_errors=True)
                assert self._current is not None  # noqa: S101 - _reload raised otherwise
                return self._current
        self._start_background_reload()
        fresh = self._current  # the reload's result when it ran at once (a test's inline runner)
        return fresh if fresh is not None else current

    async def aget(self) -> S:
        """The current settings, without ever blocking the event loop (the first load runs on a thread)."""
        if self._current is not None:
            return self.get()
        import asyncio

        return await asyncio.to_thread(self.get)

    def refresh(self) -> S:
        """Reload now (through the cache), wait for it, and return the current settings."""
        self._after_fork()
        with self._lock:
            self._reload(raise_errors=self._current is None)
            assert self._current is not None  # noqa: S101 - _reload raised otherwise
            return self._current

    def invalidate(self, field: str) -> S:
        """Drop the cached values that feed a field, reload, and return the current settings."""
        from pydantic_aws_settings._state import invalidate_field

        invalidate_field(self.settings_cls, field)
        return self.refresh()

    def _after_fork(self) -> None:
        """In a process forked since the last call: forget the parent's reload thread and locks."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._flag = threading.Lock()
            self._reloading = False
            self._next_check = -math.inf  # reload in the background soon: the child's own jitter

    def _start_background_reload(self) -> None:
        with self._flag:
            if self._reloading:
                return
            self._reloading = True
        from pydantic_aws_settings._state import state

        state().cache.in_background(self._background_reload)

    def _background_reload(self) -> None:
        """One reload on the cache's background runner (a daemon thread), unless it is no longer due."""
        try:
            with self._lock:
                if self._now() >= self._next_check:
                    self._reload(raise_errors=False)
        finally:
            self._reloading = False

    def _reload(self, *, raise_errors: bool) -> None:
        from pydantic_aws_settings.source import recording

        with recording() as report:
            try:
                fresh = self.settings_cls(**self._init)
            except (AWSSettingsError, ValidationError) as exc:
                if raise_errors:
                    raise
                logger.warning(
                    "reloading %s failed with %s; keeping the current settings",
                    self.settings_cls.__name__,
                    type(exc).__name__,
                )
                self._next_check = self._now() + self.retry_after
                return
        self.reloads += 1
        if self._current is None or fresh != self._current:
            self._current = fresh
        now = self._now()
        if not report.references or report.options is None:
            self._next_check = math.inf  # nothing fetched: nothing can go stale
            return
        from pydantic_aws_settings.resolver import fresh_until

        soonest = fresh_until(report.references, report.options)
        if soonest is not None and soonest > now:
            self._stale_reloads = 0
            self._next_check = soonest
            return
        # A value was already past its freshness: it expired during this reload (look again at once), or
        # it is being served stale while AWS fails (look again after a while, not in a loop).
        self._stale_reloads += 1
        delay = 0.0 if self._stale_reloads == 1 else min(self.retry_after, max(report.options.cache_ttl, 0.0))
        self._next_check = now + delay

    def __repr__(self) -> str:
        return f"LiveSettings({self.settings_cls.__name__}, reloads={self.reloads})"
