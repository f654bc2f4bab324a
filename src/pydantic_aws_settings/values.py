"""What a fetched value becomes for a reference, before any field is considered.

Shared by the settings source and the `exec` command, so both read a path, a `#KEY` and a plain value
the same way, and both fall back on an `optional:` reference by the same rule (`settle`):

- a path (`ssm:/PATH/`) becomes a JSON object nested on `/` (`a/b` -> `{"a": {"b": ...}}`);
- `#KEY` takes one top-level key of a JSON object: a string as it is, any other value as JSON text;
- anything else is the secret's or parameter's string (or a binary secret's bytes) as it is.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import Fetched, FetchFailure

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pydantic_aws_settings.fetch import Outcome
    from pydantic_aws_settings.references import Reference

    #: What a consumer makes of an extracted value (given the `Fetched` it came from), or why it cannot.
    Shape = Callable[[str | bytes, Fetched], tuple[Any, FetchFailure | None]]

__all__ = [
    "MAX_JSON_DEPTH",
    "PathConflictError",
    "extract",
    "json_text",
    "json_too_deep",
    "key_names",
    "nest",
    "settle",
]


#: Why JSON nested deeper than `MAX_JSON_DEPTH` is refused (not a RecursionError, on any Python).
_TOO_DEEP = "is JSON nested too deeply to decode"

#: The deepest JSON the library decodes. Python's own limit differs by version (3.13's decoder takes
#: thousands of levels, and then masking or validation overflow the stack); no secret or parameter a
#: person writes comes near it (SSM itself allows 15 levels).
MAX_JSON_DEPTH = 200
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def json_too_deep(text: str | bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a text holds JSON brackets nested deeper than `limit` (strings ignored); cheap when short."""
    if len(text) < 2 * limit:
        return False
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


#: At most this many key names are listed in a message; the rest are counted.
_MAX_KEYS = 20


def key_names(document: Mapping[str, Any]) -> str:
    """The top-level keys of a JSON object for a message: names only, never values (`` (keys: a, b)``).

    Sorted, at most 20 named and the rest counted; `` (it has no keys)`` for an empty object.
    """
    names = sorted(str(key) for key in document)
    if not names:
        return " (it has no keys)"
    more = f" and {len(names) - _MAX_KEYS} more" if len(names) > _MAX_KEYS else ""
    return f" (keys: {', '.join(names[:_MAX_KEYS])}{more})"


class PathConflictError(ValueError):
    """Two parameters below a path cannot both be placed in one mapping."""


def json_text(value: Any) -> str:
    """A value from JSON as the environment would carry it: a string as it is, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def nest(flat: Mapping[str, Fetched]) -> dict[str, Any]:
    """Parameters below a path as a mapping nested on `/`.

    Raises:
        PathConflictError: a parameter has a value and parameters below it.
    """
    tree: dict[str, Any] = {}
    for name, item in sorted(flat.items()):
        *parents, leaf = [part for part in name.split("/") if part]
        node = tree
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise PathConflictError(f"{name!r} is below a parameter that has a value itself")
            node = child
        if isinstance(node.get(leaf), dict):
            raise PathConflictError(f"{name!r} has a value and parameters below it")
        node[leaf] = item.data if isinstance(item.data, str) else ""
    return tree


def extract(ref: Reference, fetched: Fetched) -> tuple[str | bytes | None, FetchFailure | None]:
    """(value, None) for what a reference resolved to, or (None, why it cannot be used)."""
    data = fetched.data
    if isinstance(data, dict):
        try:
            return json.dumps(nest(data)), None
        except PathConflictError as exc:
            return None, FetchFailure("PathConflict", str(exc))
        except RecursionError:  # SSM allows 15 levels: only a misbehaving endpoint could send more
            return None, FetchFailure("InvalidJSON", f"the parameters below the path {_TOO_DEEP}")
    if ref.key is None:
        return data, None
    if json_too_deep(data):
        return None, FetchFailure("InvalidJSON", f"#{ref.key} needs a JSON object, and the value {_TOO_DEEP}")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None, FetchFailure("InvalidJSON", f"#{ref.key} needs a JSON object, and the value is not JSON")
    except RecursionError:
        return None, FetchFailure("InvalidJSON", f"#{ref.key} needs a JSON object, and the value {_TOO_DEEP}")
    if not isinstance(document, dict):
        return None, FetchFailure(
            "NotJSONObject", f"#{ref.key} needs a JSON object, and the value is not one"
        )
    if ref.key not in document:
        return None, FetchFailure(
            "KeyNotFound", f"the JSON object has no key {ref.key!r}{key_names(document)}"
        )
    try:
        return json_text(document[ref.key]), None
    except RecursionError:  # decoded within the limit, but not written back out within it
        return None, FetchFailure("InvalidJSON", f"the value of #{ref.key} {_TOO_DEEP}")


def settle(ref: Reference, outcome: Outcome, shape: Shape | None = None) -> tuple[Any, FetchFailure | None]:
    """What a reference's outcome comes to: a value, nothing (an optional fallback), or a failure.

    Args:
        ref: the reference, as written (its `#KEY` and `optional:` count here).
        outcome: what fetching its target gave.
        shape: turns the extracted value (a string, or a binary secret's bytes) into what the consumer
            needs, given the `Fetched` it came from, or returns why it cannot; by default it is kept.

    Returns:
        `(value, None)`; `(None, None)` when the reference is `optional:` and its target (or its `#KEY`)
        does not exist; otherwise `(None, problem)`, the fetch's failure or why the value cannot be used.
    """
    value: Any
    problem: FetchFailure | None
    if isinstance(outcome, FetchFailure):
        value, problem = None, outcome
    else:
        value, problem = extract(ref, outcome)  # a value exactly when there is no problem
        if value is not None and shape is not None:
            value, problem = shape(value, outcome)
    if problem is None:
        return value, None
    if ref.optional and problem.not_found:
        return None, None
    return None, problem
