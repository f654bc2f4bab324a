"""Plan and run the fetches of one load: deduplicate, group, batch, and run the batches concurrently.

A load hands the resolver every reference it needs at once. The resolver maps each to a `Target` (what
to fetch, where and as whom: references that differ only in `#KEY` or `optional:` share one), asks the
process-wide cache, and fetches whatever is neither fresh nor being fetched by another load: grouped by
(identity, region, service), split into the fewest requests each service allows, all of them in one
concurrent wave on a bounded thread pool.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic_aws_settings import credentials
from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import FetchFailure, Outcome, failure_from_exception
from pydantic_aws_settings.references import Reference, SecretReference

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Hashable, Iterable

    from pydantic_aws_settings.options import Options

__all__ = ["CACHE", "Target", "resolve", "target_for"]

#: The cache every load of the process shares.
CACHE = ValueCache()


class Target(NamedTuple):
    """One thing to fetch: a secret version, a parameter (with its selector) or a parameter path.

    Attributes:
        identity: the credentials it is fetched as.
        region: the region, or None for the session's own.
        service: "secretsmanager" or "ssm".
        key: (secret id, stage, version) or (parameter name, selector).
    """

    identity: credentials.Identity
    region: str | None
    service: Literal["secretsmanager", "ssm"]
    key: tuple[str, str | None] | tuple[str, str | None, str | None]

    def __str__(self) -> str:
        if self.service == "ssm":
            name, selector = self.key[0], self.key[1]
            return f"ssm:{name}:{selector}" if selector else f"ssm:{name}"
        secret_id, stage, version = (*self.key, None)[:3]
        query = f"?stage={stage}" if stage else f"?version={version}" if version else ""
        return f"secretsmanager:{secret_id}{query}"


def target_for(ref: Reference, options: Options, identity: credentials.Identity | None = None) -> Target:
    """The target a reference needs under these options; an ARN's region beats the option."""
    identity = identity or credentials.identity_for(options)
    region = ref.region or options.region
    if isinstance(ref, SecretReference):
        return Target(identity, region, "secretsmanager", ref.fetch_key())
    return Target(identity, region, "ssm", ref.fetch_key())


def _requests(group: list[Target], options: Options) -> Iterable[Callable[[], dict[Any, Outcome]]]:
    """The requests that fetch one (identity, region, service) group, each returning outcomes by key."""
    first = group[0]
    client = credentials.client_for(first.service, first.region, options)
    if first.service == "secretsmanager":
        from pydantic_aws_settings.fetch import secretsmanager

        yield from secretsmanager.plan(client, [t.key for t in group])  # type: ignore[misc]
    else:
        from pydantic_aws_settings.fetch import ssm

        yield from ssm.plan(client, [t.key for t in group])  # type: ignore[misc]


def _fetch(targets: list[Target], options: Options) -> dict[Target, Outcome]:
    """Fetch targets that the cache did not have: one concurrent wave of batched requests.

    Everything the wave does, on this thread and on the pool's, is marked as this load's (a failed
    credentials refresh is shared by the load's requests, and reported to this load only).
    """
    load = object()
    return credentials.for_load(load, lambda: _wave(targets, options, load))


def _wave(targets: list[Target], options: Options, load: object) -> dict[Target, Outcome]:
    """The wave of `_fetch`, marked as `load`.

    Each group's requests are submitted as soon as its client exists, so that building the next
    service's client overlaps the first group's round trips instead of delaying them.
    """
    groups: dict[tuple[Any, ...], list[Target]] = defaultdict(list)
    for target in targets:
        groups[(target.identity, target.region, target.service)].append(target)
    outcomes: dict[Target, Outcome] = {}

    def run(group: list[Target], request: Callable[[], dict[Any, Outcome]]) -> dict[Target, Outcome]:
        by_key = credentials.for_load(load, request)
        return {t: by_key[t.key] for t in group if t.key in by_key}

    def planned(group: list[Target]) -> list[Callable[[], dict[Any, Outcome]]]:
        try:
            return list(_requests(group, options))
        except Exception as exc:  # noqa: BLE001 - no client (no region, bad config): the group's failure
            outcomes.update(dict.fromkeys(group, failure_from_exception(exc)))
            return []

    # Lazy: each group's client is built only when the loop below reaches it.
    plans = ((group, planned(group)) for group in groups.values())
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


def resolve(
    targets: Collection[Target], options: Options, cache: ValueCache | None = None
) -> dict[Target, Outcome]:
    """Outcomes for every target: fresh ones from the cache, the rest fetched in one concurrent wave."""
    if not targets:
        return {}
    cache = CACHE if cache is None else cache

    def fetch(keys: list[Hashable]) -> dict[Hashable, Outcome]:
        fetched: dict[Hashable, Outcome] = {}
        for target, outcome in _fetch([k for k in keys if isinstance(k, Target)], options).items():
            fetched[target] = outcome
        return fetched

    # The outcomes are keyed by exactly the targets asked for.
    return cache.get_many(dict.fromkeys(targets), fetch, options.cache_ttl, options.max_stale)  # type: ignore[return-value]
