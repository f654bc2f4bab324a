"""SSM Parameter Store: GetParameters for names, GetParametersByPath for `ssm:/PATH/`.

GetParameters takes at most 10 names a call, decrypted, with SSM's own `name:version` and `name:label`
selectors inside the names. A batch never holds two selectors of one name: AWS marks which selector a
result answers, but not every endpoint does (moto does not), and results come back in no given order.
GetParametersByPath is recursive, decrypted and paginated.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import Fetched, FetchFailure, Outcome, ValueKind, failure_from_exception

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from types_boto3_ssm.client import SSMClient

    from pydantic_aws_settings.references import ParameterReference

__all__ = ["BATCH_SIZE", "fetch_names", "fetch_path", "plan"]

BATCH_SIZE = 10


def _batches(targets: Sequence[ParameterReference]) -> Iterator[list[ParameterReference]]:
    """Group names 10 a batch, never two selectors of the same name in one batch."""
    batches: list[list[ParameterReference]] = []
    for target in targets:
        for batch in batches:
            if len(batch) < BATCH_SIZE and all(other.name != target.name for other in batch):
                batch.append(target)
                break
        else:
            batches.append([target])
    yield from batches


def plan(
    client: SSMClient, targets: Sequence[ParameterReference]
) -> Iterator[Callable[[], dict[ParameterReference, Outcome]]]:
    """Split targets into requests: GetParameters batches of names, one paginated read per path."""
    unique = list(dict.fromkeys(targets))
    for batch in _batches([t for t in unique if not t.is_path]):
        yield functools.partial(fetch_names, client, batch)
    for target in (t for t in unique if t.is_path):
        yield functools.partial(_path_outcomes, client, target)


def _path_outcomes(client: SSMClient, target: ParameterReference) -> dict[ParameterReference, Outcome]:
    return {target: fetch_path(client, target.name)}


def _fetched(parameter: dict[str, Any]) -> Fetched:
    kind: ValueKind = parameter.get("Type", "String")
    version = parameter.get("Version")
    return Fetched(str(parameter.get("Value", "")), kind, None if version is None else str(version))


def fetch_names(
    client: SSMClient, targets: Sequence[ParameterReference]
) -> dict[ParameterReference, Outcome]:
    """Read up to 10 parameters with one GetParameters call."""
    if len(targets) > BATCH_SIZE:
        raise ValueError(f"at most {BATCH_SIZE} names a batch")
    try:
        response = client.get_parameters(Names=[t.api_name() for t in targets], WithDecryption=True)
    except Exception as exc:  # noqa: BLE001 - every failure becomes each reference's outcome
        return dict.fromkeys(targets, failure_from_exception(exc))
    returned = [dict(p) for p in response.get("Parameters", [])]
    invalid = set(response.get("InvalidParameters", []))
    outcomes: dict[ParameterReference, Outcome] = {}
    for target in targets:
        found = next((p for p in returned if target.name in (p.get("Name"), p.get("ARN"))), None)
        if found is not None and target.api_name() not in invalid:
            outcomes[target] = _fetched(found)
        elif target.selector:
            outcomes[target] = FetchFailure(
                "ParameterVersionNotFound", f"no version or label {target.selector!r}"
            )
        else:
            outcomes[target] = FetchFailure("ParameterNotFound", "listed in InvalidParameters")
    return outcomes


def fetch_path(client: SSMClient, path: str) -> Outcome:
    """Read every parameter below a path (recursively, decrypted) as relative name -> value."""
    found: dict[str, Fetched] = {}
    kwargs: dict[str, Any] = {"Path": path.rstrip("/") or "/", "Recursive": True, "WithDecryption": True}
    try:
        while True:
            response = client.get_parameters_by_path(**kwargs)
            for parameter in response.get("Parameters", []):
                name = str(parameter.get("Name", ""))
                relative = name[len(path) :] if name.startswith(path) else name.lstrip("/")
                found[relative] = _fetched(dict(parameter))
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    except Exception as exc:  # noqa: BLE001 - the path's outcome
        return failure_from_exception(exc)
    if not found:
        return FetchFailure("ParameterNotFound", "no parameter below this path")
    return Fetched(found, "Path")
