"""Secrets Manager: BatchGetSecretValue for current versions, GetSecretValue for the rest.

A batch holds at most 20 ids (the API's limit, which moto does not enforce) and is paginated by
NextToken. Ids are always sent in `SecretIdList`, never as `Filters`: the name filter is a prefix match
and would return other secrets. When the batch call itself is denied (a policy that grants
GetSecretValue only), each id of that batch falls back to its own GetSecretValue.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import Fetched, FetchFailure, Outcome, failure_from_exception

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from types_boto3_secretsmanager.client import SecretsManagerClient

__all__ = ["BATCH_SIZE", "SecretTarget", "fetch_batch", "fetch_one", "plan"]

BATCH_SIZE = 20

#: (secret id, version stage, version id): what one GetSecretValue reads.
SecretTarget = tuple[str, str | None, str | None]

_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "403"})
#: Seconds a denied BatchGetSecretValue is remembered: loads meanwhile go straight to GetSecretValue, and
#: after it the batch call is tried again, in case the policy now grants it.
DENIAL_MEMORY = 900.0
# Clients whose BatchGetSecretValue was denied, with when (monotonic seconds).
_batch_denied: dict[int, float] = {}
_batch_denied_lock = threading.Lock()


def is_current(target: SecretTarget) -> bool:
    """Whether a target reads the AWSCURRENT version, which the batch call returns."""
    _, stage, version = target
    return version is None and stage in (None, "AWSCURRENT")


def plan(
    client: SecretsManagerClient, targets: Sequence[SecretTarget]
) -> Iterator[Callable[[], dict[SecretTarget, Outcome]]]:
    """Split targets into requests: batches of current versions, one request per other version."""
    current = list(dict.fromkeys(t for t in targets if is_current(t)))
    for start in range(0, len(current), BATCH_SIZE):
        chunk = current[start : start + BATCH_SIZE]
        yield lambda chunk=chunk: fetch_batch(client, chunk)  # type: ignore[misc]
    for target in dict.fromkeys(t for t in targets if not is_current(t)):
        yield lambda target=target: {target: fetch_one(client, target)}  # type: ignore[misc]


def _fetched(entry: dict[str, Any]) -> Fetched:
    version = entry.get("VersionId")
    if "SecretString" in entry:
        return Fetched(entry["SecretString"], "SecretString", version)
    return Fetched(bytes(entry.get("SecretBinary", b"")), "SecretBinary", version)


def fetch_one(client: SecretsManagerClient, target: SecretTarget) -> Outcome:
    """Read one secret version with GetSecretValue."""
    secret_id, stage, version = target
    kwargs: dict[str, str] = {"SecretId": secret_id}
    if stage:
        kwargs["VersionStage"] = stage
    if version:
        kwargs["VersionId"] = version
    try:
        response = client.get_secret_value(**kwargs)
    except Exception as exc:  # noqa: BLE001 - every failure becomes this reference's outcome
        return failure_from_exception(exc)
    return _fetched(dict(response))


def _matches(requested: str, entry: dict[str, Any]) -> bool:
    """Whether a returned secret is the one asked for by name, full ARN or partial ARN."""
    arn = str(entry.get("ARN", ""))
    return requested in (entry.get("Name"), arn) or (
        requested.startswith("arn:") and arn.startswith(requested + "-")
    )


def fetch_batch(client: SecretsManagerClient, targets: Sequence[SecretTarget]) -> dict[SecretTarget, Outcome]:
    """Read up to 20 current secrets with BatchGetSecretValue, falling back to GetSecretValue when denied."""
    if len(targets) > BATCH_SIZE:
        raise ValueError(f"at most {BATCH_SIZE} secrets a batch")
    denied_at = _batch_denied.get(id(client))
    if denied_at is not None and time.monotonic() - denied_at < DENIAL_MEMORY:
        return {target: fetch_one(client, target) for target in targets}
    ids = [secret_id for secret_id, _, _ in targets]
    entries: list[dict[str, Any]] = []
    errors: dict[str, FetchFailure] = {}
    kwargs: dict[str, Any] = {"SecretIdList": ids}
    try:
        while True:
            response = client.batch_get_secret_value(**kwargs)
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
        # Only a denial of the batch call itself falls back; a denied AssumeRole names another operation.
        if failure.code in _DENIED and getattr(exc, "operation_name", None) == "BatchGetSecretValue":
            with _batch_denied_lock:
                _batch_denied[id(client)] = time.monotonic()
            return {target: fetch_one(client, target) for target in targets}
        return dict.fromkeys(targets, failure)
    outcomes: dict[SecretTarget, Outcome] = {}
    for target in targets:
        secret_id = target[0]
        entry = next((e for e in entries if _matches(secret_id, e)), None)
        if entry is not None:
            outcomes[target] = _fetched(entry)
        else:
            outcomes[target] = errors.get(
                secret_id, FetchFailure("ResourceNotFoundException", "not returned by BatchGetSecretValue")
            )
    return outcomes


def forget_denials() -> None:
    """Forget which clients were denied the batch call (tests, and after a policy change)."""
    with _batch_denied_lock:
        _batch_denied.clear()
