"""Throttled requests are retried by the library, not by botocore: one attempt, then the cache's schedule.

botocore's standard mode retries a throttled request up to `PYDANTIC_AWS_MAX_ATTEMPTS` times with its own
backoff. The library already retries throttling with a schedule made for it: a load with nothing to fall
back on retries in rounds to `THROTTLE_TIMEOUT` (`_backoff.throttled_rounds`), a refresh serves the stale
value and backs off. botocore's retries on top of that only add requests to an account whose quota is
spent: 20 processes starting at once each sent their throttled batches three times before the first round.

botocore has no public switch for "retry everything but throttling", so `leave_throttling_to_library`
replaces a client's standard-mode retry handler (the `needs-retry.<service>` handler registered under the
unique id `retry-config-<service>`) with botocore's own handler behind a filter: an answer whose error code
is one of `fetch.THROTTLING_CODES` is not retried (the codes the library retries itself); every other
answer (a 5xx, a timeout, a connection error, a 429 without a throttling code) is decided by botocore's
handler as before, up to `MAX_ATTEMPTS`. A throttled BatchGetSecretValue of such a client is not replaced
by its GetSecretValue calls at once either (`leaves_throttling_to_library`, `fetch.secretsmanager`): the
library retries it once (a round, marked by a `RetryLoad`, or the backed-off refresh, with a client of
one attempt), which costs one request where the replacement costs one per id, and replaces it if it is
throttled again.

The new handler is built by `botocore.retries.standard.register_retry_handler`, the function botocore's
client creator calls, on a stand-in client that records what it registers; the real client is touched
only once the recording is what is expected, so a botocore whose internals differ keeps its normal
retries (tests/unit/test_throttle_retries.py pins the expectation).
"""

from __future__ import annotations

import logging
import weakref
from types import SimpleNamespace
from typing import Any

from pydantic_aws_settings.fetch import THROTTLING_CODES

__all__ = ["RetryLoad", "leave_throttling_to_library", "leaves_throttling_to_library", "retrying"]

#: The clients whose throttled requests botocore does not retry.
_CHANGED: weakref.WeakSet[Any] = weakref.WeakSet()


def leaves_throttling_to_library(client: Any) -> bool:
    """Whether botocore sends a throttled request of `client` once, leaving its retry to the library."""
    return client in _CHANGED


class RetryLoad:
    """The token (`for_load`) of the library's retry of throttled requests: a round of a cold load."""


def retrying() -> bool:
    """Whether the current thread's request is the library's retry of a throttled one (`RetryLoad`)."""
    from pydantic_aws_settings.credentials._ahead import current_load

    return isinstance(current_load(), RetryLoad)


_log = logging.getLogger("pydantic_aws_settings.credentials")


class _Recorder:
    """A stand-in for a client's event emitter: keeps what `register_retry_handler` registers."""

    def __init__(self) -> None:
        self.registered: list[tuple[str, Any, str | None]] = []

    def register(self, event_name: str, handler: Any, unique_id: str | None = None, **_: Any) -> None:
        self.registered.append((event_name, handler, unique_id))


def _throttled(response: Any) -> bool:
    """Whether a `needs-retry` response (http response, parsed body) is throttling the library retries."""
    if not isinstance(response, tuple) or len(response) != 2 or not isinstance(response[1], dict):
        return False
    error = response[1].get("Error")
    return isinstance(error, dict) and error.get("Code") in THROTTLING_CODES


def _skipping_throttling(handler: Any) -> Any:
    def needs_retry(**kwargs: Any) -> Any:
        if _throttled(kwargs.get("response")):
            return None  # not retried here: the library's rounds or backoff retry it
        return handler(**kwargs)

    return needs_retry


def leave_throttling_to_library(client: Any, max_attempts: int) -> bool:
    """Make `client`'s standard-mode retries skip throttling errors; everything else is retried as before.

    Args:
        client: a botocore client built with `retries={"mode": "standard", ...}`.
        max_attempts: its `total_max_attempts`.

    Returns:
        True if the client's retry handler was replaced; False if botocore's retry machinery is not as
        expected (the client is then left as botocore built it, retrying throttling itself).
    """
    try:
        from botocore.retries import standard

        if client.meta.config.retries.get("mode") != "standard":
            return False
        service = client.meta.service_model.service_id.hyphenize()
        recorder = _Recorder()
        stand_in: Any = SimpleNamespace(
            meta=SimpleNamespace(service_model=client.meta.service_model, events=recorder)
        )
        standard.register_retry_handler(stand_in, max_attempts=max_attempts)
        needs_retry = f"needs-retry.{service}"
        unique_id = f"retry-config-{service}"
        handlers = [h for event, h, uid in recorder.registered if (event, uid) == (needs_retry, unique_id)]
        after_call_event = f"after-call.{service}"
        after_call = [h for event, h, uid in recorder.registered if (event, uid) == (after_call_event, None)]
        # Anything else registered without a unique id would be missing from the real client.
        others = [r for r in recorder.registered if r[2] is None and r[0] != after_call_event]
        if len(handlers) != 1 or len(after_call) != 1 or others or not callable(handlers[0]):
            _log.debug("botocore's retry handler is not as expected: botocore retries throttling itself")
            return False
        events = client.meta.events
        events.unregister(needs_retry, unique_id=unique_id)
        events.register(needs_retry, _skipping_throttling(handlers[0]), unique_id=unique_id)
        # The new handler's retry quota is given back its tokens after a successful call, as botocore's is.
        events.register(f"after-call.{service}", after_call[0])
        _CHANGED.add(client)
    except Exception:  # noqa: BLE001 - any surprise leaves botocore's own retries in place
        _log.debug("botocore's retry handler is not as expected: botocore retries throttling itself")
        return False
    return True
