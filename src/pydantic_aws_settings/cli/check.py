"""`check MODULE:CLASS`: load a settings class and print each field, its origin and its value, masked."""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_core import to_jsonable_python
from pydantic_settings import BaseSettings, SettingsError

from pydantic_aws_settings.cli._common import load_class
from pydantic_aws_settings.cli._validation import validation_text
from pydantic_aws_settings.source import Origin, aws_sources_of, recording_origins

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator, Mapping, Sequence

    from pydantic_aws_settings.cli._common import Subparsers

__all__ = ["MASK", "Row", "add_parser", "check", "json_rows", "render_table", "rows_for", "run"]

MASK = "********"

#: One row of the `check` table: (field, origin, reference, shown value).
Row = tuple[str, str, str, str]


_SECRET_TYPES = (SecretStr, SecretBytes, bytes, bytearray)


def _jsonable(value: Any) -> Any:
    """A value as JSON values (objects, lists, numbers, ...), every secret type in it masked, at any depth."""
    if isinstance(value, _SECRET_TYPES):
        return MASK
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN or Infinity
    if isinstance(value, BaseModel):
        return {name: _jsonable(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(item) for item in value]
    return to_jsonable_python(value, fallback=str)  # dates, decimals, enums, paths, URLs, ...


def _masked_value(value: Any, masked: bool) -> Any:
    """A leaf's value as JSON values, masked whole when its origin is secret."""
    return MASK if masked and value is not None else _jsonable(value)


def _shown(value: Any, masked: bool) -> str:
    if isinstance(value, _SECRET_TYPES) or (masked and value is not None):
        return MASK
    if isinstance(value, str):
        return value
    return json.dumps(_jsonable(value)) if isinstance(value, (dict, list)) else repr(value)


def _leaves(prefix: str, value: Any, is_set: bool) -> Iterator[tuple[str, Any, bool]]:
    """(dotted name, value, was it set) for a value, nested models flattened with dots."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(
                f"{prefix}.{name}", getattr(value, name), is_set and name in value.model_fields_set
            )
        return
    yield prefix, value, is_set


def _own_origin(origins: Mapping[str, Origin], dotted: str) -> Origin | None:
    """A leaf's own origin (`database.host`), else its nearest enclosing field's."""
    parts = dotted.split(".")
    return next((origins[p] for n in range(len(parts), 0, -1) if (p := ".".join(parts[:n])) in origins), None)


def _origin_text(origin: Origin | None, is_set: bool, unrecorded: str) -> str:
    if origin is None:
        # Not recorded by AWSSettingsSource: init arguments (or a source outside it), else the default.
        return unrecorded if is_set else "default"
    if origin.kind in ("declared", "import"):
        return origin.kind
    return f"{origin.kind} {origin.variable}" if origin.variable else origin.kind


def rows_for(settings: BaseSettings, origins: Mapping[str, Origin], unrecorded: str = "init") -> list[Row]:
    """The `check` table of a loaded settings object: values masked where they are secret.

    Args:
        settings: the loaded settings.
        origins: where each top-level field came from, as `recording_origins` collected it.
        unrecorded: the origin of a field that was set but has no recorded origin: `init` (an init
            argument, or a source outside `AWSSettingsSource`), or what to call it for a class without one.

    Returns:
        One row per field, nested models flattened with dots: (field, origin, reference, value), the
        value masked for `SecretStr`, `SecretBytes`, bytes, and anything from Secrets Manager or a
        SecureString.
    """
    return [
        (dotted, where, reference, _shown(value, masked))
        for dotted, where, reference, value, masked in _cells(settings, origins, unrecorded)
    ]


def json_rows(
    settings: BaseSettings, origins: Mapping[str, Origin], unrecorded: str = "init"
) -> list[dict[str, Any]]:
    """The `check --json` rows: as `rows_for`, each a `{field, origin, reference, value}` object.

    The value is a JSON value: a number as a number, a list as a list, a dict as an object, `null` for
    `None`; `********` where `rows_for` masks, and for every secret type inside a list or dict.
    """
    return [
        {"field": dotted, "origin": where, "reference": reference, "value": _masked_value(value, masked)}
        for dotted, where, reference, value, masked in _cells(settings, origins, unrecorded)
    ]


def _cells(
    settings: BaseSettings, origins: Mapping[str, Origin], unrecorded: str
) -> Iterator[tuple[str, str, str, Any, bool]]:
    """(dotted field, origin, reference, value, masked) for each leaf of a loaded settings object."""
    for name in type(settings).model_fields:
        is_set = name in settings.model_fields_set
        for dotted, value, leaf_set in _leaves(name, getattr(settings, name), is_set):
            origin = _own_origin(origins, dotted) if leaf_set or not is_set else None
            masked = bool(origin and origin.sensitive)
            where = _origin_text(origin, leaf_set, unrecorded)  # a nested model's default: default
            reference = (origin.reference if origin else None) or ""
            yield dotted, where, reference, value, masked


def render_table(rows: Sequence[Row]) -> str:
    """Rows as an aligned text table with a header."""
    header: Row = ("field", "origin", "reference", "value")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def check(settings_cls: type[BaseSettings], as_json: bool = False) -> int:
    """Load a settings class as the application would and print where each value came from."""
    origins: dict[str, Origin] = {}
    try:
        with recording_origins() as recorded:
            origins = recorded  # filled before validation: a validation error can name the variables
            settings = settings_cls()
    except ValidationError as exc:
        explained = validation_text(exc, origins, settings_cls)
        print(f"{settings_cls.__name__} did not load:\n{explained}", file=sys.stderr)
        return 1
    except SettingsError as exc:  # ResolutionError, an option's error, pydantic-settings' parse errors
        print(f"{settings_cls.__name__} did not load:\n{exc}", file=sys.stderr)
        return 1
    unrecorded = "init"
    if not aws_sources_of(settings_cls):
        unrecorded = "not recorded"
        print(
            f"note: {settings_cls.__name__} has no AWSSettingsSource: no reference was resolved and the"
            " origins of its values were not recorded",
            file=sys.stderr,
        )
    if as_json:
        print(json.dumps(json_rows(settings, origins, unrecorded), indent=2))
    else:
        print(render_table(rows_for(settings, origins, unrecorded)))
    return 0


def add_parser(subparsers: Subparsers) -> None:
    """Add the `check` command."""
    sub = subparsers.add_parser(
        "check",
        help="load a settings class and print each field, its origin and its value (secrets masked)",
        description=(
            "Load MODULE:CLASS as the application would and print one row per field (nested models"
            " flattened with dots): the field, where its value came from (init, env VAR, dotenv VAR,"
            " import, declared, default), the reference, and the value with SecretStr, SecretBytes,"
            " bytes and every value from Secrets Manager or a SecureString masked. Exit status 0 when it"
            " loads; 1 when it does not (the error is printed, values hidden); 2 for a usage error."
        ),
    )
    sub.add_argument("target", metavar="MODULE:CLASS", help="the settings class, e.g. myapp.config:Settings")
    sub.add_argument(
        "--json",
        action="store_true",
        help="print the rows as a JSON list of {field, origin, reference, value}, each value a JSON value",
    )
    sub.set_defaults(run=run, parser=sub)


def run(args: argparse.Namespace) -> int:
    """Run `check` with its parsed arguments; return the exit status."""
    return check(load_class(args.target), as_json=args.json)
