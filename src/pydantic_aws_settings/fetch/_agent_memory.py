"""What a process remembers of its node-local caches (`fetch.agent`): one per process, on `_state`.

Kept apart from the agent backend so that building the process state imports no HTTP client.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from pydantic_aws_settings.fetch._agent_http import Connections

__all__ = ["RETRY_AFTER", "AgentMemory"]

#: Seconds after an agent failed to answer during which loads go to AWS without asking it (so that a hung
#: agent costs one timeout per window, not one per load, and the fallback is batched); then it is retried.
RETRY_AFTER = 10.0


class AgentMemory:
    """Agents found unreachable (and since when), whether each serves the parameter route, connections.

    Args:
        clock: monotonic seconds; tests pass a fake one.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self._unreachable: dict[str, float] = {}
        self._parameter_route: dict[str, bool] = {}
        self._connections: dict[Hashable, Connections] = {}

    def resting(self, url: str) -> bool:
        """Whether the agent failed less than `RETRY_AFTER` seconds ago (loads leave it alone)."""
        with self.lock:
            failed_at = self._unreachable.get(url)
        return failed_at is not None and self.clock() - failed_at < RETRY_AFTER

    def has_no_parameter_route(self, url: str) -> bool:
        """Whether the agent answered 404 on the parameter route (the Secrets Manager Agent)."""
        with self.lock:
            return self._parameter_route.get(url) is False

    def knows_parameter_route(self, url: str) -> bool:
        """Whether the agent has answered on the parameter route yet (with 404 or anything else)."""
        with self.lock:
            return url in self._parameter_route

    def no_parameter_route(self, url: str) -> None:
        """Note that the agent has no parameter route."""
        with self.lock:
            self._parameter_route[url] = False

    def parameter_route_found(self, url: str) -> None:
        """Note that the agent serves the parameter route (it answered there with anything but a 404)."""
        with self.lock:
            self._parameter_route.setdefault(url, True)

    def failed(self, url: str) -> bool:
        """Note that the agent did not answer now; return whether it was already known to fail."""
        with self.lock:
            known = url in self._unreachable
            self._unreachable[url] = self.clock()
        return known

    def answered(self, url: str) -> bool:
        """Note that the agent answered; return whether it had been failing until now."""
        with self.lock:
            return self._unreachable.pop(url, None) is not None

    def connections(self, key: Hashable, make: Callable[[], Connections], askers: int) -> Connections:
        """The connections shared under `key` (made by `make` the first time), joined by `askers`."""
        with self.lock:
            shared = self._connections.get(key)
            if shared is None:
                shared = self._connections[key] = make()
            shared.join(askers)
        return shared

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (another thread may have held the parent's at the fork).

        The parent's connections to the caches are closed in the child and forgotten.
        """
        self.lock = threading.Lock()
        inherited, self._connections = self._connections, {}
        for shared in inherited.values():
            shared.abandon()

    def __repr__(self) -> str:
        routes = sorted(url for url, served in self._parameter_route.items() if not served)
        return f"AgentMemory(unreachable={sorted(self._unreachable)}, no_parameter_route={routes})"
