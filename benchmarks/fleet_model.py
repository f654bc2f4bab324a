"""A discrete-event model of a fleet of processes loading one configuration against the account's quotas.

Every number that is the library's is imported from it: the request plan (`fetch.ssm._batches`,
`fetch.secretsmanager.batches` and `is_current`, on the configuration's real references), the cache's
throttled-retry rounds (`_backoff.throttled_rounds` drives a cold load's retries, with its full-jitter
wait, its cap, one request at a time and `ATTEMPTS_PER_ROUND`; `Options().throttle_timeout`), the TTL jitter
(`cache.JITTER`), the refresh-ahead window (`Options().refresh_window`) and botocore's standard retry mode
(`botocore.retries.standard.ExponentialBackoff`, its retry quota and costs, `Options().max_attempts`),
which retries no throttled request: the library retries those itself (`credentials._throttling`).

Processes are generators run by a tiny scheduler: they yield `Sleep(dt)`, `Call(op, ...)` (one attempt
at the account: a token bucket per quota answers it or throttles it, one round trip later) or `All(...)`
(sub-processes run concurrently, resumed when all are done). What one process does follows
`cache.ValueCache.get_many` and `live.LiveSettings`: see docs/explanation/fleet.md for the assumptions.
"""

from __future__ import annotations

import heapq
import inspect
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import secretsmanager, ssm
from pydantic_aws_settings.live import LiveSettings
from pydantic_aws_settings.options import Options
from pydantic_aws_settings.references import parse_reference

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

OPTIONS = Options()
#: Account quotas a second (node-local-caches.md, section 2); the SSM one is shared by three operations.
QUOTAS = {"ssm": 40.0, "BatchGetSecretValue": 100.0, "GetSecretValue": 10_000.0, "DescribeSecret": 40_000.0}
#: `LiveSettings(retry_after=...)`'s default: seconds between reloads while values are served stale.
RETRY_AFTER: float = inspect.signature(LiveSettings).parameters["retry_after"].default
QUOTA_OF = {"GetParameters": "ssm", "GetParameter": "ssm", "GetParametersByPath": "ssm"}


def configuration(parameters: int = 30, secure: int = 5, secrets: int = 10) -> tuple[list[Any], set[Any]]:
    """The configuration's targets as the library plans them, and which of them cost a KMS Decrypt."""
    params = [parse_reference(f"ssm:/fleet/app/p{i:02d}") for i in range(parameters)]
    sms = [parse_reference(f"secretsmanager:fleet/s{i:02d}") for i in range(secrets)]
    targets = [ref.target() for ref in [*params, *sms] if ref is not None]
    decrypted = set(targets[:secure]) | set(targets[parameters:])
    return targets, decrypted


def plan(targets: Sequence[Any]) -> list[tuple[str, list[Any]]]:
    """The requests one load sends for these targets: the library's batching (`batches`), imported."""
    requests = [("GetParameters", batch) for batch in ssm.batches([t for t in targets if t.service == "ssm"])]
    for batch in secretsmanager.batches([t for t in targets if t.service == "secretsmanager"]):
        current = secretsmanager.is_current(batch[0])
        requests.append(("BatchGetSecretValue" if current else "GetSecretValue", batch))
    return requests


class TokenBucket:
    """A token bucket: `rate` tokens a second, at most `burst` saved; a request takes one or is throttled."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate, self.burst = rate, rate if burst is None else burst
        self.tokens, self.at = self.burst, 0.0

    def take(self, now: float) -> bool:
        """Take a token at `now` (seconds, never decreasing); False when the bucket is empty."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Sleep:
    """A process waits this many seconds."""

    seconds: float


@dataclass
class Call:
    """A process sends one attempt of `op`; it resumes with True (answered) or False (throttled)."""

    op: str
    decrypts: int = 0


@dataclass
class All:
    """A process runs these sub-processes at once and resumes with their results, in order."""

    processes: list[Generator[Any, Any, Any]]


@dataclass
class Fleet:
    """The account side and the log: quotas, every request `(time, op, ok)`, KMS decrypts, starts."""

    rtt: float = 0.03
    quotas: dict[str, float] = field(default_factory=lambda: dict(QUOTAS))
    log: list[tuple[float, str, bool]] = field(default_factory=list)
    kms: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)
    failed: int = 0
    now: float = 0.0
    #: The replay of a real run on one machine: each attempt takes `cpu` seconds of one of `cores` cores
    #: on the client side before it is sent (0: the fleet's machines are not a limit).
    cpu: float = 0.0
    cores: int = 2
    _queue: list[tuple[float, int, Callable[[], None]]] = field(default_factory=list)
    _seq: int = 0

    def __post_init__(self) -> None:
        self.buckets = {name: TokenBucket(rate) for name, rate in self.quotas.items()}
        self._cores = [0.0] * self.cores

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run `action` at `when` seconds."""
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, action))

    def spawn(self, process: Generator[Any, Any, Any], done: Callable[[Any], None] = lambda _: None) -> None:
        """Run a process from now on; `done` gets its return value."""
        self._step(process, None, done)

    def _step(self, process: Generator[Any, Any, Any], value: Any, done: Callable[[Any], None]) -> None:
        try:
            command = process.send(value)
        except StopIteration as stop:
            done(stop.value)
            return
        if isinstance(command, Sleep):
            self.at(self.now + max(0.0, command.seconds), lambda: self._step(process, None, done))
        elif isinstance(command, Call) and self.cpu:  # wait for a core of the client machine, then send
            sent = max(self._cores[0], self.now) + self.cpu
            heapq.heapreplace(self._cores, sent)
            self.at(sent, lambda: self._send(process, command, done))
        elif isinstance(command, Call):
            self._send(process, command, done)
        else:
            results: list[Any] = [None] * len(command.processes)
            left = [len(results)]

            def one(index: int) -> Callable[[Any], None]:
                def finished(result: Any) -> None:
                    results[index] = result
                    left[0] -= 1
                    if left[0] == 0:
                        self._step(process, results, done)

                return finished

            if not results:
                self.at(self.now, lambda: self._step(process, results, done))
            for index, sub in enumerate(command.processes):
                self.spawn(sub, one(index))

    def _send(self, process: Generator[Any, Any, Any], command: Call, done: Callable[[Any], None]) -> None:
        """One attempt reaches the account now: its quota answers it or throttles it, one round trip later."""
        ok = self.buckets[QUOTA_OF.get(command.op, command.op)].take(self.now)
        self.log.append((self.now, command.op, ok))
        if ok:
            self.kms.extend([self.now] * command.decrypts)
        self.at(self.now + self.rtt, lambda: self._step(process, ok, done))

    def run(self, until: float) -> None:
        """Run every event before `until` seconds."""
        while self._queue and self._queue[0][0] < until:
            self.now, _, action = heapq.heappop(self._queue)
            action()


def per_second(
    times: Sequence[float], start: float = 0.0, end: float | None = None, width: float = 1.0
) -> list[int]:
    """Counts of events in consecutive bins of `width` seconds over [start, end)."""
    end = max(times, default=start) + width if end is None else end
    bins = [0] * max(1, int((end - start) / width))
    for t in times:
        if start <= t < end:
            bins[min(len(bins) - 1, int((t - start) / width))] += 1
    return bins


def summary(
    fleet: Fleet, start: float = 0.0, end: float | None = None, ops: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Requests, throttles, the busiest second and the mean rate over [start, end) for these operations."""
    rows = [(t, op, ok) for t, op, ok in fleet.log if (not ops or op in ops) and start <= t < (end or 1e18)]
    bins = per_second([t for t, _, _ in rows], start, end)
    return {
        "requests": Counter(op for _, op, _ in rows),
        "throttles": Counter(op for _, op, ok in rows if not ok),
        "busiest": max(bins),
        "mean": sum(bins) / len(bins),
        "bins": bins,
    }
