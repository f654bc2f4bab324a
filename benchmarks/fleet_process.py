# ruff: noqa: S311 - the random draws of a simulation, not of anything secret
"""One process of the modelled fleet, as the library's cache and `LiveSettings` drive it (see `fleet_model`).

`Process` holds one process's botocore retry quotas and cache entries and knows what its loads send:
a botocore call in standard mode, a planned request (with the batch call's fallback), the resolver's wave,
a cold load with the cache's throttled retries, a `LiveSettings` reload loop. `lifetime`, `forked` and
`agent_node` are the fleets' processes: one instance, a pre-forking server, a node's Secrets Manager Agent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from botocore.retries import quota as botocore_quota
from botocore.retries import standard as botocore_standard

from fleet_model import OPTIONS, QUOTA_OF, RETRY_AFTER, All, Call, Fleet, Sleep, plan
from pydantic_aws_settings import _backoff, _entry, cache
from pydantic_aws_settings.fetch import Fetched, FetchFailure

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from pydantic_aws_settings.fetch import Outcome

#: Whether botocore leaves throttled requests to the library (one attempt each), as the library's
#: clients do while it retries throttling itself (`credentials._sessions`).
LIBRARY_THROTTLES = OPTIONS.throttle_timeout > 0 and OPTIONS.max_attempts > 1
#: What the model's answers stand for, as the library's outcomes: a value, and a throttled request.
ANSWERED = Fetched("", "String")
THROTTLED = FetchFailure("ThrottlingException", "Rate exceeded")


@dataclass
class Process:
    """One process of the fleet: its random draws, one botocore retry quota per client, its cache entries."""

    fleet: Fleet
    rng: random.Random
    targets: list[Any]
    decrypted: set[Any]
    ttl: float = OPTIONS.cache_ttl
    entries: dict[Any, list[float]] = field(
        default_factory=dict
    )  # target -> [fresh_until, retry_at, failures]
    #: A what-if (not the library's behaviour unless left at its default): the largest wait before a
    #: throttled retry round of a cold load.
    throttle_cap: float = _backoff.THROTTLE_CAP

    def __post_init__(self) -> None:
        self.retry_quota = {op: botocore_quota.RetryQuota() for op in ("ssm", "secretsmanager")}
        self.backoff = botocore_standard.ExponentialBackoff(random=self.rng.random)

    def call(
        self, op: str, batch: list[Any], attempts: int = OPTIONS.max_attempts
    ) -> Generator[Any, Any, bool]:
        """One botocore call in standard mode: up to `attempts`, full-jitter backoff, the retry quota.

        Every failure of the model is throttling, which botocore leaves to the library's own retries
        (`credentials._throttling`) while there are any (`THROTTLE_TIMEOUT` > 0): one attempt then.
        """
        if LIBRARY_THROTTLES:
            attempts = 1
        checker = botocore_standard.RetryQuotaChecker
        # A retry after throttling costs _THROTTLING_RETRY_COST where botocore has it, else _RETRY_COST.
        cost = getattr(checker, "_THROTTLING_RETRY_COST", checker._RETRY_COST)
        bucket = self.retry_quota["ssm" if op in QUOTA_OF else "secretsmanager"]
        decrypts = sum(t in self.decrypted for t in batch)
        for attempt in range(1, attempts + 1):
            ok = yield Call(op, decrypts)
            if ok:
                bucket.release(checker._NO_RETRY_INCREMENT if attempt == 1 else cost)
                return True
            if attempt == attempts or not bucket.acquire(cost):
                return False
            yield Sleep(
                self.backoff.delay_amount(SimpleNamespace(attempt_number=attempt, http_response=None))
            )
        return False

    def request(
        self, op: str, batch: list[Any], attempts: int = OPTIONS.max_attempts
    ) -> Generator[Any, Any, dict[Any, bool]]:
        """One planned request; a throttled BatchGetSecretValue falls back to GetSecretValue per id.

        Not the first throttle of a first request that botocore sent once (`LIBRARY_THROTTLES`): the
        library retries that one (a round) and replaces it if it is throttled again (`fetch.secretsmanager`).
        """
        ok = yield from self.call(op, batch, attempts)
        first_throttle = LIBRARY_THROTTLES and attempts > _backoff.ATTEMPTS_PER_ROUND
        if ok or op != "BatchGetSecretValue" or first_throttle:
            return dict.fromkeys(batch, ok)
        outcomes = {}
        for target in batch:
            outcomes[target] = yield from self.call("GetSecretValue", [target], attempts)
        return outcomes

    def wave(self, keys: list[Any]) -> Generator[Any, Any, dict[Any, bool]]:
        """The resolver's wave: every planned request at once, resumed when all have answered."""
        results = yield All([self.request(op, batch) for op, batch in plan(keys)])
        return {k: v for result in results for k, v in result.items()}

    def load(self, keys: list[Any], throttle_timeout: float) -> Generator[Any, Any, dict[Any, bool]]:
        """`ValueCache._fetch_owned`: a wave, then the library's `_backoff.throttled_rounds` to the deadline.

        The rounds are the library's generator itself, driven here: its waits become `Sleep`s, and each of
        its requests one planned request of `ATTEMPTS_PER_ROUND` botocore attempts.
        """
        outcomes = yield from self.wave(keys)
        if throttle_timeout <= 0:
            return outcomes
        fetched: dict[Any, Outcome] = {k: ANSWERED if ok else THROTTLED for k, ok in outcomes.items()}
        steps = _backoff.throttled_rounds(
            keys,
            fetched,
            batches=lambda again: [batch for _, batch in plan(again)],
            deadline=self.fleet.now + throttle_timeout,
            fallback=lambda key: key in self.entries,
            timer=lambda: self.fleet.now,
            rng=self.rng.random,
            cap=self.throttle_cap,
            attempts=1 if LIBRARY_THROTTLES else OPTIONS.max_attempts,
        )
        reply: Mapping[Any, Outcome] | None = None
        while True:
            try:
                step = steps.send(reply)
            except StopIteration:
                return {k: fetched[k] is ANSWERED for k in keys}
            if isinstance(step, _backoff.Wait):
                yield Sleep(step.seconds)
                reply = None
            else:
                ((op, batch),) = plan(step.keys)
                answers = yield from self.request(op, batch, _backoff.ATTEMPTS_PER_ROUND)
                reply = {k: ANSWERED if ok else THROTTLED for k, ok in answers.items()}

    def settle(self, outcomes: dict[Any, bool]) -> None:
        """`_entry.settle`: a value gets a jittered life; a failed refresh backs off, served stale."""
        now = self.fleet.now
        # One draw per fetch, as the cache does: what was fetched together stays due together. Its life is
        # a first (wide) one when none of its keys had one in this process (`_entry.life`).
        draw = self.rng.random()
        life = _entry.life(draw, first=all(key not in self.entries for key in outcomes))
        for key, ok in outcomes.items():
            if ok:
                self.entries[key] = [now + self.ttl * life, 0.0, 0, now]
            elif key in self.entries:
                entry = self.entries[key]
                entry[2] += 1
                cap = min(cache.MAX_BACKOFF, self.ttl) or cache.MAX_BACKOFF
                entry[1] = now + cache.backoff(int(entry[2]), draw, cap)

    def start(self, delay: float) -> Generator[Any, Any, bool]:
        """A cold start: the first `Settings()`; False (a failed start) when a reference stayed throttled."""
        yield Sleep(delay)
        outcomes = yield from self.load(self.targets, OPTIONS.throttle_timeout)
        if not all(outcomes.values()):
            self.fleet.failed += 1
            return False
        self.settle(outcomes)
        self.fleet.started.append(self.fleet.now)
        return True

    def live(self, until: float) -> Generator[Any, Any, None]:
        """`LiveSettings.get()` called all the time: `_reload` at its next check, through the cache."""
        window, inflight, stale = OPTIONS.refresh_window, set(), 0

        def background(keys: list[Any]) -> None:
            inflight.update(keys)

            def settled(outcomes: dict[Any, bool]) -> None:
                inflight.difference_update(keys)
                self.settle(outcomes)

            self.fleet.spawn(self.load(keys, 0.0), settled)

        check = min(e[0] for e in self.entries.values())
        while check < until:
            yield Sleep(check - self.fleet.now)
            now = self.fleet.now
            free = {k: e for k, e in self.entries.items() if k not in inflight}
            mine = [k for k, e in free.items() if e[0] <= now and not e[2]]
            ahead = [
                k
                for k, e in free.items()
                if (not e[2] and now < e[0] <= now + window) or (e[2] and now >= e[1])
            ]
            fresh = [k for k, e in free.items() if not e[2] and k not in mine and k not in ahead]
            if fresh and (mine or any(not free[k][2] for k in ahead)):  # `ValueCache.get_many`: one
                (mine if mine else ahead).extend(fresh)  # refresh for all the load uses, when one is due
            if ahead and mine:  # `ValueCache.get_many`: a load that waits fetches its window entries too
                mine, ahead = mine + ahead, []
            if ahead:
                background(ahead)
            if mine:
                inflight.update(mine)
                outcomes = yield from self.load(mine, OPTIONS.throttle_timeout)
                inflight.difference_update(mine)
                self.settle(outcomes)
            now = self.fleet.now
            soonest = min(e[0] for e in self.entries.values())
            if soonest > now:
                stale, check = 0, soonest
            else:
                stale += 1
                check = now + (0.0 if stale == 1 else min(RETRY_AFTER, self.ttl)) + 1e-6


def lifetime(process: Process, delay: float, until: float) -> Generator[Any, Any, None]:
    """A process that starts cold and then keeps its settings live until `until`."""
    if (yield from process.start(delay)):
        yield from process.live(until)


def forked(parent: Process, workers: int, until: float, delay: float) -> Generator[Any, Any, None]:
    """A pre-forking server: the parent loads once, then each worker inherits its cache at fork."""
    if not (yield from parent.start(delay)):
        return
    children = []
    for index in range(workers):
        child = Process(
            parent.fleet, random.Random(parent.rng.random() + index), parent.targets, parent.decrypted
        )
        child.throttle_cap = parent.throttle_cap
        child.entries = {k: list(v) for k, v in parent.entries.items()}
        # `ValueCache.after_fork`: the library's rule moves the end of the child's inherited entries.
        inherited = {
            k: _entry.Entry(k, e[3], (e[0] - e[3]) / parent.ttl, e[0], failures=int(e[2]), ttl=parent.ttl)
            for k, e in child.entries.items()
        }
        _entry.after_fork(inherited.values(), parent.fleet.now, child.rng.random())
        for k, entry in inherited.items():
            child.entries[k][0] = entry.fresh_until(parent.ttl)
        children.append(child.live(until))
    yield All(children)


def agent_node(
    fleet: Fleet, targets: list[Any], delay: float, until: float, ttl: float = 300.0
) -> Generator[Any, Any, None]:
    """A Secrets Manager Agent's upstream calls: GetSecretValue per secret, then DescribeSecret per TTL."""
    secrets = [t for t in targets if t.service == "secretsmanager"]
    yield Sleep(delay)
    yield All([_one(Call("GetSecretValue", 1)) for _ in secrets])
    while fleet.now + ttl < until:
        yield Sleep(ttl)
        yield All([_one(Call("DescribeSecret")) for _ in secrets])


def _one(call: Call) -> Generator[Any, Any, bool]:
    ok: bool = yield call
    return ok
