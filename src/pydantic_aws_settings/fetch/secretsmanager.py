"""Secrets Manager: BatchGetSecretValue for current versions, GetSecretValue for the rest.

A batch holds at most 20 ids (the API's limit, which moto does not enforce) and is paginated by
NextToken. Ids are always sent in `SecretIdList`, never as `Filters`: the name filter is a prefix match
and would return other secrets. When the batch call itself is denied (a policy that grants
GetSecretValue only) or throttled (100 a second per account, not adjustable), each id of that batch
falls back to its own GetSecretValue, whose quota is separate. A throttled batch call that botocore sent
once, leaving its retry to the library (`credentials._throttling`), is answered as throttled instead: the
library retries it once (a round of a cold load, the backed-off retry of a refresh), with a client that
replaces it if it is throttled again. One request, where the replacement costs one per id.
"""

from __future__ import annotations

import functools
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import (
    Fetched,
    FetchFailure,
    Outcome,
    failure_from_exception,
    incomplete,
    mismatched,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from types_boto3_secretsmanager.client import SecretsManagerClient

    from pydantic_aws_settings.references import SecretReference

__all__ = ["BATCH_SIZE", "DENIAL_MEMORY", "DenialMemory", "batches", "fetch_batch", "fetch_one", "plan"]

BATCH_SIZE = 20

_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "403"})
#: Seconds a denied BatchGetSecretValue is remembered: loads meanwhile go straight to GetSecretValue, and
#: after it the batch call is tried again, in case the policy now grants it.
DENIAL_MEMORY = 900.0


class DenialMemory:
    """Which clients were denied BatchGetSecretValue, and when; one instance per process (`_state`).

    Keyed weakly by client, so a client dropped by a reset or a fork is forgotten with it.

    Args:
        seconds: how long a denial is remembered.
        clock: monotonic seconds; tests pass a fake one.
    """

    def __init__(self, seconds: float = DENIAL_MEMORY, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._denied: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def denied(self, client: Any) -> bool:
        """Whether the client's batch call was denied less than `seconds` ago."""
        with self._lock:
            denied_at = self._denied.get(client)
        return denied_at is not None and self._clock() - denied_at < self.seconds

    def remember(self, client: Any) -> None:
        """Note that the client's batch call was denied now."""
        with self._lock:
            self._denied[client] = self._clock()

    def after_fork(self) -> None:
        """In a forked child: a lock of its own (the parent's may have been held by another thread)."""
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every denial (after a policy change)."""
        with self._lock:
            self._denied.clear()

    def __repr__(self) -> str:
        return f"DenialMemory(seconds={self.seconds}, clients={len(self._denied)})"


def is_current(target: SecretReference) -> bool:
    """Whether a target reads the AWSCURRENT version, which the batch call returns."""
    return target.version is None and target.stage in (None, "AWSCURRENT")


def batches(targets: Sequence[SecretReference]) -> list[list[SecretReference]]:
    """The targets of each request `plan` sends, in order: batches of current versions, then one each."""
    current = list(dict.fromkeys(t for t in targets if is_current(t)))
    others = dict.fromkeys(t for t in targets if not is_current(t))
    return [current[i : i + BATCH_SIZE] for i in range(0, len(current), BATCH_SIZE)] + [[t] for t in others]


def plan(
    client: SecretsManagerClient, targets: Sequence[SecretReference]
) -> Iterator[Callable[[], dict[SecretReference, Outcome]]]:
    """Split targets into requests: batches of current versions, one request per other version."""
    from pydantic_aws_settings._state import state

    denials = state().denials
    for batch in batches(targets):
        if is_current(batch[0]):
            yield functools.partial(fetch_batch, client, batch, denials)
        else:
            yield functools.partial(_one, client, batch[0])


def _one(client: SecretsManagerClient, target: SecretReference) -> dict[SecretReference, Outcome]:
    return {target: fetch_one(client, target)}


def _outcome(target: SecretReference, entry: dict[str, Any], operation: str) -> Outcome:
    """The value of a returned secret, once checked to be the secret and version that was asked for."""
    version = entry.get("VersionId")
    if "SecretString" not in entry and "SecretBinary" not in entry:
        return incomplete(f"{operation} answered without the secret's value")
    if not _matches(target.secret_id, entry):
        return mismatched(f"{operation} answered with another secret")
    stages = entry.get("VersionStages")
    stage = target.stage or ("AWSCURRENT" if target.version is None else None)
    if (target.version is not None and version != target.version) or (
        stage is not None and stages is not None and stage not in stages
    ):
        return mismatched(f"{operation} answered with another version of the secret")
    if "SecretString" in entry:
        return Fetched(entry["SecretString"], "SecretString", version)
    return Fetched(bytes(entry["SecretBinary"]), "SecretBinary", version)


def fetch_one(client: SecretsManagerClient, target: SecretReference) -> Outcome:
    """Read one secret version with GetSecretValue."""
    kwargs: dict[str, str] = {"SecretId": target.secret_id}
    if target.stage:
        kwargs["VersionStage"] = target.stage
    if target.version:
        kwargs["VersionId"] = target.version
    try:
        response = client.get_secret_value(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure becomes this reference's outcome
        return failure_from_exception(exc)
    return _outcome(target, dict(response), "GetSecretValue")


#: The length of the suffix Secrets Manager appends to a secret's name in its ARN ("-" and 6 characters).
_ARN_SUFFIX = 7


def _matches(requested: str, entry: dict[str, Any]) -> bool:
    """Whether a returned secret is the one asked for by name, full ARN or partial ARN.

    A partial ARN (without the random suffix) matches only the ARN that adds exactly the suffix, so
    `...:secret:prod/db` is not `...:secret:prod/db-old-AbCdEf`.
    """
    arn = str(entry.get("ARN", ""))
    if requested in (entry.get("Name"), arn):
        return True
    return (
        requested.startswith("arn:")
        and len(arn) == len(requested) + _ARN_SUFFIX
        and arn.startswith(requested + "-")
    )


def _first_throttle(client: Any) -> bool:
    """Whether a throttled batch call is a load's first, sent once for the library to retry (`credentials`).

    Not in the library's retry (a round of a cold load), nor with a client that botocore retries
    throttling with (or of one attempt, as a backed-off refresh's): those are replaced.
    """
    from pydantic_aws_settings.credentials import _throttling

    return _throttling.leaves_throttling_to_library(client) and not _throttling.retrying()


def fetch_batch(
    client: SecretsManagerClient, targets: Sequence[SecretReference], denials: DenialMemory
) -> dict[SecretReference, Outcome]:
    """Read up to 20 current secrets with BatchGetSecretValue; GetSecretValue when denied or throttled."""
    if len(targets) > BATCH_SIZE:
        raise ValueError(f"at most {BATCH_SIZE} secrets a batch")
    if denials.denied(client):
        return {target: fetch_one(client, target) for target in targets}
    ids = [target.secret_id for target in targets]
    entries: list[dict[str, Any]] = []
    errors: dict[str, FetchFailure] = {}
    kwargs: dict[str, Any] = {"SecretIdList": ids}
    try:
        while True:
            response: dict[str, Any] = dict(client.batch_get_secret_value(**kwargs))
            if "SecretValues" not in response:  # botocore's parser turns a body cut off into {"message": ...}
                return dict.fromkeys(targets, incomplete("BatchGetSecretValue answered without SecretValues"))
            entries.extend(dict(entry) for entry in response.get("SecretValues", []))
            for error in response.get("Errors", []):
                errors[str(error.get("SecretId"))] = FetchFailure(
                    str(error.get("ErrorCode") or "Error"), str(error.get("Message") or "")
                )
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    except Exception as exc:  # noqa: BLE001 - mapped below, per id
        failure = failure_from_exception(exc)
        # Only a denial or throttling of the batch call itself falls back (to GetSecretValue, whose quota is
        # separate and adjustable); a denied AssumeRole names another operation.
        if getattr(exc, "operation_name", None) == "BatchGetSecretValue" and (
            failure.code in _DENIED or failure.throttled
        ):
            if failure.code in _DENIED:
                denials.remember(client)
            elif _first_throttle(client):
                return dict.fromkeys(targets, failure)  # retried by the library; replaced if throttled again
            return {target: fetch_one(client, target) for target in targets}
        return dict.fromkeys(targets, failure)
    outcomes: dict[SecretReference, Outcome] = {}
    for target in targets:
        entry = next((e for e in entries if _matches(target.secret_id, e)), None)
        if entry is not None:
            outcomes[target] = _outcome(target, entry, "BatchGetSecretValue")
        else:
            outcomes[target] = errors.get(
                target.secret_id, incomplete("BatchGetSecretValue answered neither a value nor an error")
            )
    return outcomes
