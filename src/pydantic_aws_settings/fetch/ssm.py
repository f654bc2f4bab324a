"""SSM Parameter Store: GetParameters for names, GetParametersByPath for `ssm:/PATH/`.

GetParameters takes at most 10 names a call, decrypted, with SSM's own `name:version` and `name:label`
selectors inside the names. A batch never holds two selectors of one parameter (whether named by name or
by ARN): AWS marks which selector a result answers, but not every endpoint does (moto does not), and
results come back in no given order. GetParametersByPath is recursive, decrypted and paginated.

Every answer is checked against its question: a result is used only for the parameter it names, with the
version or selector asked for, and a path keeps only the parameters below it. A name that the answer
neither returns nor lists in `InvalidParameters` (an answer cut off, say) is a transport failure, never
"does not exist".
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import (
    Fetched,
    FetchFailure,
    Outcome,
    ValueKind,
    failure_from_exception,
    incomplete,
    mismatched,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from types_boto3_ssm.client import SSMClient

    from pydantic_aws_settings.references import ParameterReference

__all__ = ["BATCH_SIZE", "batches", "fetch_names", "fetch_path", "plan"]

BATCH_SIZE = 10


def _parameter(name: str) -> str:
    """The parameter a name or ARN names, spelt one way (`/a/b` and `arn:...:parameter/a/b` are one)."""
    if name.startswith("arn:"):
        name = name.partition(":parameter")[2]
    return name.lstrip("/")


def _batches(targets: Sequence[ParameterReference]) -> Iterator[list[ParameterReference]]:
    """Group names 10 a batch, never two selectors of the same parameter in one batch."""
    batches: list[list[ParameterReference]] = []
    for target in targets:
        for batch in batches:
            if len(batch) < BATCH_SIZE and all(_parameter(o.name) != _parameter(target.name) for o in batch):
                batch.append(target)
                break
        else:
            batches.append([target])
    yield from batches


def batches(targets: Sequence[ParameterReference]) -> list[list[ParameterReference]]:
    """The targets of each request `plan` sends, in order: batches of names, then one path each."""
    unique = list(dict.fromkeys(targets))
    return [*_batches([t for t in unique if not t.is_path]), *([t] for t in unique if t.is_path)]


def plan(
    client: SSMClient, targets: Sequence[ParameterReference]
) -> Iterator[Callable[[], dict[ParameterReference, Outcome]]]:
    """Split targets into requests: GetParameters batches of names, one paginated read per path."""
    for batch in batches(targets):
        if batch[0].is_path:
            yield functools.partial(_path_outcomes, client, batch[0])
        else:
            yield functools.partial(fetch_names, client, batch)


def _path_outcomes(client: SSMClient, target: ParameterReference) -> dict[ParameterReference, Outcome]:
    return {target: fetch_path(client, target.name)}


def _fetched(parameter: dict[str, Any]) -> Outcome:
    if "Value" not in parameter:
        return incomplete("the answer holds a parameter without its value")
    kind: ValueKind = parameter.get("Type", "String")
    version = parameter.get("Version")
    return Fetched(str(parameter["Value"]), kind, None if version is None else str(version))


def _answers(target: ParameterReference, parameter: dict[str, Any]) -> bool:
    """Whether a returned parameter is the one asked for, with the selector asked for as far as it says."""
    if _parameter(str(parameter.get("Name", ""))) != _parameter(target.name):
        return False
    selector = parameter.get("Selector")
    if selector is not None and selector != (f":{target.selector}" if target.selector else ""):
        return False
    version = parameter.get("Version")
    return not (target.selector and target.selector.isdigit() and version is not None) or (
        str(version) == target.selector
    )


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
        same = [p for p in returned if _parameter(str(p.get("Name", ""))) == _parameter(target.name)]
        found = next((p for p in same if _answers(target, p)), None)
        if target.api_name() in invalid:
            outcomes[target] = (
                FetchFailure(
                    "ParameterVersionNotFound",
                    f"parameter {target.name} has no version or label {target.selector!r}",
                )
                if target.selector
                else FetchFailure("ParameterNotFound", f"parameter {target.name} not found")
            )
        elif found is not None:
            outcomes[target] = _fetched(found)
        elif same:
            outcomes[target] = mismatched("GetParameters answered with another version of the parameter")
        else:
            outcomes[target] = incomplete("GetParameters answered neither a value nor InvalidParameters")
    return outcomes


def fetch_path(client: SSMClient, path: str) -> Outcome:
    """Read every parameter below a path (recursively, decrypted) as relative name -> value."""
    found: dict[str, Fetched] = {}
    kwargs: dict[str, Any] = {"Path": path.rstrip("/") or "/", "Recursive": True, "WithDecryption": True}
    try:
        while True:
            response: dict[str, Any] = dict(client.get_parameters_by_path(**kwargs))
            if "Parameters" not in response:  # botocore's parser turns a body cut off into {"message": ...}
                return incomplete("GetParametersByPath answered without Parameters")
            for parameter in response["Parameters"]:
                name = str(parameter.get("Name", ""))
                if path == "/":
                    relative = name.lstrip("/")
                elif name.startswith(path):
                    relative = name[len(path) :]
                else:
                    continue  # not below the path: not what was asked for
                outcome = _fetched(dict(parameter))
                if isinstance(outcome, FetchFailure):
                    return outcome
                found[relative] = outcome
            token = response.get("NextToken")
            if not token:
                break
            kwargs["NextToken"] = token
    except Exception as exc:  # noqa: BLE001 - the path's outcome
        return failure_from_exception(exc)
    if not found:
        return FetchFailure("ParameterNotFound", f"no parameter below the path {path}")
    return Fetched(found, "Path")
