"""Plan and run the fetches of one load: deduplicate, group, batch, and run the batches concurrently.

A load hands the resolver every reference it needs at once. The resolver maps each to a `Target` (what
to fetch, where and as whom: references that differ only in `#KEY` or `optional:` share one), asks the
process-wide cache, and fetches whatever is neither fresh nor being fetched by another load: grouped by
(identity, region, service), split into the fewest requests each service allows (its `Fetcher`), all of
them in one concurrent wave on a bounded thread pool.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic_aws_settings import credentials
from pydantic_aws_settings._backoff import ATTEMPTS_PER_ROUND, Retries
from pydantic_aws_settings._state import state
from pydantic_aws_settings.fetch import FetchFailure, Outcome, failure_from_exception, fetcher_for
from pydantic_aws_settings.references import Reference, format_reference

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from pydantic_aws_settings.fetch import Request
    from pydantic_aws_settings.options import Options

__all__ = ["MAX_TARGETS", "Target", "fresh_until", "resolve", "targets_for"]


class _TargetFields(NamedTuple):
    identity: credentials.Identity
    region: str | None
    ref: Reference


class Target(_TargetFields):
    """One thing to fetch, where and as whom: the key of the process-wide cache.

    Attributes:
        identity: the credentials it is fetched as.
        region: the region, or None for the session's own.
        ref: the normalised reference (`Reference.target()`): a secret version, a parameter with its
            selector, or a parameter path.

    Its hash is the tuple's, worked out once (a warm load looks each target up about six times); a copy
    or a pickle works it out again, never carrying it to another process.
    """

    _hash: int

    def __new__(cls, identity: credentials.Identity, region: str | None, ref: Reference) -> Target:
        """A target with its hash worked out."""
        target = super().__new__(cls, identity, region, ref)
        target._hash = tuple.__hash__(target)
        return target

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:  # made by _make or _replace, or unpickled: not through __new__
            self._hash = tuple.__hash__(self)
            return self._hash

    def __getstate__(self) -> None:
        """Nothing but the fields (`__getnewargs__`): a string's hash differs from process to process."""

    def __str__(self) -> str:
        return format_reference(self.ref)


#: Each reference object's target (by id; the object is kept, so that a reused id is told apart) under
#: the identity and region option it was last resolved with: a warm load parses no ARN and builds no
#: target. References come from the memoised parse (`source._plan`), so the objects recur from load to load.
_TARGETS: dict[int, tuple[Reference, credentials.Identity, str | None, Target]] = {}
#: The most references `_TARGETS` holds before it starts again empty.
MAX_TARGETS = 4096


def targets_for(refs: Sequence[Reference], options: Options) -> list[Target]:
    """The target of each reference under these options (an ARN's region beats the option), in order."""
    identity = credentials.identity_for(options)
    region = options.region
    known = _TARGETS
    targets = []
    for ref in refs:
        entry = known.get(id(ref))
        if entry is None or entry[0] is not ref or entry[2] != region or entry[1] != identity:
            if len(known) >= MAX_TARGETS:
                known.clear()
            target = Target(identity, ref.region or region, ref.target())
            entry = known[id(ref)] = (ref, identity, region, target)
        targets.append(entry[3])
    return targets


def resolve(refs: Sequence[Reference], options: Options) -> list[Outcome]:
    """The outcome of each reference, in order: fresh ones from the cache, the rest fetched in one wave."""
    if not refs:
        return []
    targets = targets_for(refs, options)

    def fetch(keys: list[Target]) -> dict[Target, Outcome]:
        load = object()
        return credentials.for_load(load, lambda: _wave(keys, options, load))

    # The throttled rounds of a load with nothing to fall back on (`_retries`); the background retry of
    # failing entries after their backoff is one attempt per request (the retry is the retry).
    retries = _retries(options)
    outcomes = state().cache.get_many(
        dict.fromkeys(targets),
        fetch,
        options.cache_ttl,
        options.max_stale,
        refresh_ahead=options.refresh_window,
        throttle_timeout=options.throttle_timeout,
        retries=retries,
        retry_fetch=_once(options),
    )
    return [outcomes[target] for target in targets]


def _retries(options: Options) -> Retries[Target]:
    """Throttled rounds: the wave's requests (`_batches`), each sent alone, as the library's retry.

    botocore sends a throttled request once (it leaves throttling to the library, see
    `credentials._throttling`), in the first wave as in a round, so the rounds' waits start the doubling
    at 1 s and a round that is throttled costs one request; a round's request that times out or meets a
    5xx is retried by botocore, as the first wave's is. A round is marked as a retry (`RetryLoad`): a
    BatchGetSecretValue throttled again in it is replaced by GetSecretValue (`fetch.secretsmanager`).
    """

    def fetch(keys: list[Target]) -> dict[Target, Outcome]:
        from pydantic_aws_settings.credentials._throttling import RetryLoad  # only when a round is sent

        load = RetryLoad()
        return credentials.for_load(load, lambda: _wave(keys, options, load))

    return Retries(lambda keys: _batches(keys, options), fetch, ATTEMPTS_PER_ROUND)


def _once(options: Options) -> Callable[[list[Target]], dict[Target, Outcome]]:
    """The background retry of failing entries after their backoff: one botocore attempt per request.

    The options of one attempt are made only when a retry is sent, not on every (warm) load.
    """

    def fetch(keys: list[Target]) -> dict[Target, Outcome]:
        once = options._replace(max_attempts=ATTEMPTS_PER_ROUND)
        load = object()
        return credentials.for_load(load, lambda: _wave(keys, once, load))

    return fetch


def _batches(targets: list[Target], options: Options) -> list[list[Target]]:
    """The targets of each request a wave sends, by its group's fetcher (one batch behind an agent)."""
    if options.agent_url:
        return [targets]
    groups: dict[tuple[Any, ...], dict[Reference, Target]] = defaultdict(dict)
    for target in targets:
        groups[(target.identity, target.region, target.ref.service)][target.ref] = target
    return [
        [group[ref] for ref in batch]
        for (_, _, service), group in groups.items()
        for batch in fetcher_for(service).batches(list(group))
    ]


def fresh_until(refs: Sequence[Reference], options: Options) -> float | None:
    """When the first of these references stops being fresh, on the cache's clock; None if one is absent."""
    cache = state().cache
    ends = [cache.fresh_until(target, options.cache_ttl) for target in targets_for(refs, options)]
    known = [end for end in ends if end is not None]
    return min(known) if known and len(known) == len(ends) else None


def _requests(group: list[Target], options: Options) -> list[Request]:
    """The requests that fetch one (identity, region, service) group, each returning outcomes by ref.

    With an agent URL in the options, the node-local cache's backend plans them (`fetch.agent`), falling
    back to the service's own fetcher for what the cache cannot serve.
    """
    service, region = group[0].ref.service, group[0].region
    client_for = state().client_factory or credentials.client_for
    fetcher = fetcher_for(service)
    refs = [t.ref for t in group]
    if options.agent_url:  # a node-local cache in front of AWS: the client is built only if needed
        from pydantic_aws_settings.fetch import agent

        return list(agent.plan(fetcher, lambda: client_for(service, region, options), refs, options))
    return list(fetcher.plan(client_for(service, region, options), refs))


def _wave(targets: list[Target], options: Options, load: object) -> dict[Target, Outcome]:
    """Fetch targets that the cache did not have: one concurrent wave of batched requests.

    Everything the wave does, on this thread and on the pool's, is marked as `load` (a failed
    credentials refresh is shared by the load's requests, and reported to this load only). Each group's
    requests are submitted as soon as its client exists, so that building the next service's client
    overlaps the first group's round trips instead of delaying them.
    """
    groups: dict[tuple[Any, ...], list[Target]] = defaultdict(list)
    for target in targets:
        groups[(target.identity, target.region, target.ref.service)].append(target)
    outcomes: dict[Target, Outcome] = {}

    def run(group: list[Target], request: Callable[[], Mapping[Any, Outcome]]) -> dict[Target, Outcome]:
        by_ref = credentials.for_load(load, request)
        return {t: by_ref[t.ref] for t in group if t.ref in by_ref}

    def planned(group: list[Target]) -> list[Request]:
        try:
            return _requests(group, options)
        except Exception as exc:  # noqa: BLE001 - no client (no region, bad config): the group's failure
            outcomes.update(dict.fromkeys(group, failure_from_exception(exc)))
            return []

    # Lazy: each group's client is built only when the loop below reaches it. Behind an agent no client is
    # built to plan, but planning may ask the agent (a new process's probe of its parameter route): all of
    # it happens before the first request is submitted, so that at most max_workers are in flight.
    plans: Iterator[tuple[list[Target], list[Request]]] = (
        (group, planned(group)) for group in groups.values()
    )
    if options.agent_url:
        plans = iter([(group, planned(group)) for group in groups.values()])
    first_group, first_requests = next(plans, ([], []))
    if len(groups) == 1 and len(first_requests) <= 1:  # one request at most: no thread at all
        for request in first_requests:
            outcomes.update(run(first_group, request))
    else:
        with ThreadPoolExecutor(max_workers=options.max_workers) as pool:
            futures: list[Future[dict[Target, Outcome]]] = [
                pool.submit(run, first_group, request) for request in first_requests
            ]
            for group, requests in plans:
                futures.extend(pool.submit(run, group, request) for request in requests)
            for future in futures:
                outcomes.update(future.result())
    missing = FetchFailure("InternalError", "no request answered for this reference")
    return {t: outcomes.get(t, missing) for t in targets}
