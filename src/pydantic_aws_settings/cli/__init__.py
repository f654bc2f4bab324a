"""The `pydantic-aws-settings` command: `check`, `exec`, `iam-policy` and `demo`.

Every command is built on the library's own parsing and resolver: the same grammar, the same options
(`PYDANTIC_AWS_*`), the same batched, concurrent, cached fetches as a settings load. Each command is a
module with `add_parser(subparsers)` and `run(args) -> int`; `COMMANDS` lists them in help order.

Exit status: 0 on success, 1 when the settings (or the environment's references) do not resolve (the
error is printed, values hidden), 2 for usage errors; `exec` otherwise exits with its command's status,
127 when the command is not found and 126 when it cannot be run. No output ever contains a value that
came from Secrets Manager or a SecureString, nor a `SecretStr`/`SecretBytes`/bytes value.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from pydantic_aws_settings._version import __version__
from pydantic_aws_settings.cli import check, demo, iam_policy
from pydantic_aws_settings.cli import exec as exec_
from pydantic_aws_settings.cli._common import PROG, UsageError, load_class
from pydantic_aws_settings.cli.check import MASK, Row, render_table, rows_for
from pydantic_aws_settings.cli.exec import environment_references, resolve_environment
from pydantic_aws_settings.cli.iam_policy import class_references
from pydantic_aws_settings.errors import AWSSettingsError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pydantic_aws_settings.cli._common import Command

__all__ = [
    "MASK",
    "Row",
    "build_parser",
    "class_references",
    "environment_references",
    "load_class",
    "main",
    "render_table",
    "resolve_environment",
    "rows_for",
]

#: The commands, in the order `--help` lists them.
COMMANDS: tuple[Command, ...] = (check, exec_, iam_policy, demo)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `pydantic-aws-settings` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Load pydantic settings whose values come from Secrets Manager and SSM Parameter Store.",
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {__version__}", help="print the version and exit"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except AWSSettingsError as exc:  # an option's bad value, met outside a load
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    return status
