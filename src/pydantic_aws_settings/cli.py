"""The `pydantic-aws-settings` command: `check` a settings class, or run the loopback `demo`.

Exit status: 0 when the settings load, 1 when they do not (the error is printed, values hidden), 2 for
usage errors. No output ever contains a value that came from Secrets Manager or a SecureString, nor a
`SecretStr`/`SecretBytes`/bytes value.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_settings import BaseSettings

from pydantic_aws_settings.errors import AWSSettingsError
from pydantic_aws_settings.source import Origin, recording_origins

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["MASK", "Row", "load_class", "main", "render_table", "rows_for"]

MASK = "********"

#: One row of the `check` table: (field, origin, reference, shown value).
Row = tuple[str, str, str, str]


class UsageError(Exception):
    """The command line asked for something that cannot be done (exit status 2)."""


def load_class(spec: str) -> type[BaseSettings]:
    """Import `MODULE:CLASS` and check that it is a settings class."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise UsageError(f"expected MODULE:CLASS, got {spec!r}")
    sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from exc
    found: Any = module
    for part in class_name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise UsageError(f"{module_name!r} has no {class_name!r}")
    if not (isinstance(found, type) and issubclass(found, BaseSettings)):
        raise UsageError(f"{spec} is not a pydantic-settings BaseSettings class")
    return found


def _shown(value: Any, masked: bool) -> str:
    if isinstance(value, (SecretStr, SecretBytes)) or (masked and value is not None):
        return MASK
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str) if isinstance(value, (dict, list)) else repr(value)


def _leaves(prefix: str, value: Any, masked: bool) -> Iterator[tuple[str, str]]:
    """(dotted name, shown value) for a value, nested models flattened with dots."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(f"{prefix}.{name}", getattr(value, name), masked)
        return
    yield prefix, _shown(value, masked)


def _origin_text(origin: Origin | None) -> str:
    if origin is None:
        return "default"
    if origin.kind in ("declared", "import"):
        return origin.kind
    return f"{origin.kind} {origin.variable}" if origin.variable else origin.kind


def rows_for(settings: BaseSettings, origins: dict[str, Origin]) -> list[Row]:
    """The `check` table of a loaded settings object: values masked where they are secret."""
    rows: list[Row] = []
    for name in type(settings).model_fields:
        origin = origins.get(name)
        masked = bool(origin and origin.sensitive)
        for dotted, shown in _leaves(name, getattr(settings, name), masked):
            rows.append((dotted, _origin_text(origin), (origin.reference if origin else None) or "", shown))
    return rows


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
    try:
        with recording_origins() as origins:
            settings = settings_cls()
    except (AWSSettingsError, ValidationError) as exc:
        print(f"{settings_cls.__name__} did not load:\n{exc}", file=sys.stderr)
        return 1
    rows = rows_for(settings, origins)
    if as_json:
        keys = ("field", "origin", "reference", "value")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
    else:
        print(render_table(rows))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pydantic-aws-settings",
        description="Load pydantic settings whose values come from Secrets Manager and SSM Parameter Store.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check_parser = commands.add_parser(
        "check",
        help="load a settings class and print each field, its origin and its value (secrets masked)",
        description="Load MODULE:CLASS as the application would; exit 0 when it loads, 1 when it does not.",
    )
    check_parser.add_argument(
        "target", metavar="MODULE:CLASS", help="the settings class, e.g. myapp.config:Settings"
    )
    check_parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    commands.add_parser(
        "demo",
        help="start a loopback AWS endpoint, seed examples, load an example Settings (needs the demo extra)",
        description="Needs moto's server: pip install 'pydantic-aws-settings[demo]'.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return check(load_class(args.target), as_json=args.json)
        from pydantic_aws_settings.demo import run

        return run()
    except UsageError as exc:
        print(f"pydantic-aws-settings: {exc}", file=sys.stderr)
        return 2
