"""`LiveSettings`: the current settings of a long-running service, picked up again after rotation.

```python
live = LiveSettings(Settings)

def handle(request):
    settings = live.get()   # cheap: one clock comparison until a cached value goes stale
```

Rules, in the spirit of botocore's refreshable credentials:

- `get()` returns the same object until a value its last load used has gone stale in the cache. The
  first call after that reloads the settings (through the cache, so only the stale references are
  fetched); the object changes only when some value actually changed, so identity comparisons work.
- While one thread reloads, other threads keep getting the current object; nobody waits but the very
  first caller, who has nothing to return yet.
- When a reload fails (AWS down and nothing left to serve stale, a validation error), the current
  object stays, a WARNING names the class and the error type (never a value), and the next attempt is
  `retry_after` seconds later. During an outage the cache serves stale values, so a reload rarely fails.
- `refresh()` reloads now; `invalidate(field)` drops a field's cached values first, for an application
  whose database just rejected a rotated password.

A Secrets Manager rotation (a new AWSCURRENT version) therefore reaches the application within one
cache TTL without a restart.
"""

from __future__ import annotations

import logging
import math
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
        self._lock = threading.Lock()
        self._current: S | None = None
        self._next_check = -math.inf
        self.reloads = 0

    @staticmethod
    def _now() -> float:
        from pydantic_aws_settings._state import state

        return state().cache.now()

    def get(self) -> S:
        """The current settings; reloaded first when a value they used has gone stale."""
        current = self._current
        if current is not None and (self._next_check == math.inf or self._now() < self._next_check):
            return current
        if current is None:
            with self._lock:
                if self._current is None:
                    self._reload(raise_errors=True)
                assert self._current is not None  # noqa: S101 - _reload raised otherwise
                return self._current
        if not self._lock.acquire(blocking=False):
            return current  # another thread is reloading: keep serving what we have
        try:
            if self._now() >= self._next_check:
                self._reload(raise_errors=False)
        finally:
            self._lock.release()
        return self._current if self._current is not None else current

    def refresh(self) -> S:
        """Reload now (through the cache) and return the current settings."""
        with self._lock:
            self._reload(raise_errors=self._current is None)
            assert self._current is not None  # noqa: S101 - _reload raised otherwise
            return self._current

    def invalidate(self, field: str) -> S:
        """Drop the cached values that feed a field, reload, and return the current settings."""
        from pydantic_aws_settings._state import invalidate_field

        invalidate_field(self.settings_cls, field)
        return self.refresh()

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
            self._next_check = soonest
        else:
            self._next_check = now + min(self.retry_after, max(report.options.cache_ttl, 0.0))

    def __repr__(self) -> str:
        return f"LiveSettings({self.settings_cls.__name__}, reloads={self.reloads})"
