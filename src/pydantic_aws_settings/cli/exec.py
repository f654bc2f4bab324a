"""`exec -- COMMAND`: resolve the environment's references in one load and run COMMAND with the values.

Also the rule both `exec` and `iam-policy --env` follow to find the environment's references.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from typing import TYPE_CHECKING

from pydantic_aws_settings._redact import hide
from pydantic_aws_settings.cli._common import PROG
from pydantic_aws_settings.errors import AWSSettingsError, Failure, InvalidReferenceError, ResolutionError
from pydantic_aws_settings.fetch import FetchFailure
from pydantic_aws_settings.options import resolve_options
from pydantic_aws_settings.references import Reference, looks_like_reference, parse_reference, unescape
from pydantic_aws_settings.values import settle

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic_aws_settings.cli._common import Subparsers
    from pydantic_aws_settings.fetch import Fetched
    from pydantic_aws_settings.options import Options

__all__ = [
    "ENVIRONMENT",
    "add_parser",
    "environment_references",
    "exec_command",
    "resolve_environment",
    "run",
]

#: Variables `exec` and `iam-policy --env` never treat as references: the library's own options
#: (`PYDANTIC_AWS_IMPORT` holds references for bulk import into a settings class, not a value).
OPTION_PREFIX = "PYDANTIC_AWS_"

#: What a ResolutionError of `exec` calls the thing that failed to load.
ENVIRONMENT = "the environment"


def environment_references(
    environ: Mapping[str, str], only: Sequence[str] | None = None
) -> tuple[list[tuple[str, str, Reference]], list[Failure]]:
    """The references among environment variables, and a failure for each malformed one.

    Args:
        environ: the environment.
        only: when given, only variables whose name starts with one of these prefixes are considered.

    Returns:
        `(variable, text, reference)` for every variable that holds a reference, in name order, and a
        `Failure` naming each variable whose value looks like a reference but is malformed. The library's
        own `PYDANTIC_AWS_*` options are never references here.
    """
    found: list[tuple[str, str, Reference]] = []
    failures: list[Failure] = []
    for name, text in sorted(environ.items()):
        if not _selected(name, only) or not looks_like_reference(text):
            continue
        try:
            ref = parse_reference(text, variable=name)
        except InvalidReferenceError as exc:
            failures.append(Failure(name, name, text, "InvalidReference", exc.reason))
            continue
        if ref is not None:
            found.append((name, text, ref))
    return found, failures


def _selected(name: str, only: Sequence[str] | None) -> bool:
    """Whether a variable is one `exec` resolves: not an option, and under `--only` when it is given."""
    return not name.startswith(OPTION_PREFIX) and (only is None or name.startswith(tuple(only)))


def _env_text(value: str | bytes, fetched: Fetched) -> tuple[str | None, FetchFailure | None]:
    """An extracted value as an environment variable carries it (a `values.settle` shape).

    A string as it is (a StringList as its comma-separated text, a path as its JSON object, a `#KEY` as
    the key's value); a binary secret as its standard base64 text, since environment variables cannot
    hold arbitrary bytes. A NUL character cannot be carried at all.
    """
    text = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
    if "\x00" in text:
        return None, FetchFailure(
            "InvalidValue", "the value holds a NUL character, which no environment variable can hold"
        )
    return text, None


def resolve_environment(environ: Mapping[str, str], only: Sequence[str] | None = None) -> dict[str, str]:
    """Resolve every reference among environment variables, in one batched, concurrent load.

    The options are the `PYDANTIC_AWS_*` variables of `environ`; the grammar is the library's.

    Args:
        environ: the environment.
        only: when given, only variables whose name starts with one of these prefixes are resolved.

    Returns:
        A copy of `environ` with each reference replaced by its value (see `exec --help` for how values
        are spelled), each escaped `plain:TEXT` by `TEXT`, and each `optional:` reference to something
        that does not exist removed.

    Raises:
        ResolutionError: every variable that could not be resolved, named with its reference and code.
        AWSSettingsError: an option has a bad value.
    """
    found, failures = environment_references(environ, only)
    resolved = dict(environ)
    for name, text in environ.items():
        plain = unescape(text)  # `plain:TEXT` is the value TEXT, whatever it looks like
        if plain is not None and _selected(name, only):
            resolved[name] = plain
    options = resolve_options(environ=environ) if found else None
    if options is not None:
        found = _with_region(found, failures, options)
    if found and options is not None:
        from pydantic_aws_settings.resolver import resolve  # imports botocore lazily

        outcomes = resolve([ref for _, _, ref in found], options)
        for (name, text, ref), outcome in zip(found, outcomes, strict=True):
            value, problem = settle(ref, outcome, _env_text)
            if value is not None and not isinstance(outcome, FetchFailure) and outcome.sensitive:
                value = hide(value)  # masked in a traceback's locals; the same text in the environment
            if value is not None:
                resolved[name] = value
                continue
            resolved.pop(name, None)
            if problem is not None:
                failures.append(Failure(name, name, text, problem.code, problem.message))
    if failures:
        failures.sort(key=lambda failure: failure.field)
        raise ResolutionError(failures, ENVIRONMENT)
    return resolved


def _with_region(
    found: list[tuple[str, str, Reference]],
    failures: list[Failure],
    options: Options,
) -> list[tuple[str, str, Reference]]:
    """The references that can be fetched; those that need a region when none is set become failures.

    The same rule and words as a settings load (`source._where`), not botocore's "You must specify a region.".
    The options come from the environment being resolved; botocore's own chain (`AWS_DEFAULT_REGION`, the
    profile) is read where botocore reads it, in this process's environment.
    """
    from pydantic_aws_settings.source._where import NO_REGION, needs_region, region_missing

    if not any(needs_region(ref, options) for _, _, ref in found) or not region_missing(options):
        return found
    for name, text, ref in found:
        if needs_region(ref, options):
            failures.append(Failure(name, name, text, "NoRegion", NO_REGION))
    return [(name, text, ref) for name, text, ref in found if not needs_region(ref, options)]


def exec_command(command: Sequence[str], only: Sequence[str] | None = None) -> int:
    """Resolve the environment's references and replace this process with `command`.

    Returns only when `command` was not run: 1 when a reference did not resolve, 127 when the command
    was not found, 126 when it could not be run.
    """
    try:
        environment = resolve_environment(os.environ, only)
    except AWSSettingsError as exc:
        print(f"{PROG} exec: {exc}\n{command[0]} was not run", file=sys.stderr)
        return 1
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], list(command), environment)  # noqa: S606 - running the user's command is the point
    except FileNotFoundError:
        print(f"{PROG} exec: {command[0]}: command not found", file=sys.stderr)
        return 127
    except OSError as exc:
        print(f"{PROG} exec: {command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 126


_DESCRIPTION = """\
Resolve every reference among the current environment variables in one batched, concurrent load (the
grammar, options and cache of the library) and replace this process with COMMAND, the resolved values in
its environment. When any reference fails, print every failure and exit 1 without running COMMAND.

How values are passed: a string secret or parameter as it is; a StringList as its comma-separated text;
NAME#KEY as the key's value (a value that is not a string as JSON text); ssm:/PATH/ as a JSON object
nested on '/'; a binary secret as standard base64 (an environment variable cannot hold arbitrary bytes).
An optional: reference to something that does not exist removes the variable. A value escaped as
plain:TEXT is passed as TEXT, whatever TEXT looks like. A value that looks like a misspelt reference
(SSM:x, ssm;x, secretmanager:x, ...) fails like a malformed one. PYDANTIC_AWS_* variables are options,
never references, and are passed on unchanged.

Exit status: COMMAND's own; 1 when a reference fails; 2 for a usage error; 127 when COMMAND is not found;
126 when it cannot be run."""


def add_parser(subparsers: Subparsers) -> None:
    """Add the `exec` command."""
    sub = subparsers.add_parser(
        "exec",
        help="resolve the references among environment variables and run COMMAND with the values",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=f"{PROG} exec [-h] [--only PREFIX] -- COMMAND [ARGS ...]",
    )
    sub.add_argument(
        "--only",
        action="append",
        metavar="PREFIX",
        help="resolve only variables whose name starts with PREFIX (repeatable); others pass unchanged",
    )
    sub.add_argument(
        "command_line",
        nargs=argparse.REMAINDER,
        metavar="COMMAND [ARGS ...]",
        help="the command to run and its arguments, after --",
    )
    sub.set_defaults(run=run, parser=sub)


def run(args: argparse.Namespace) -> int:
    """Run `exec` with its parsed arguments; return the exit status (when the command was not run)."""
    command = list(args.command_line)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        args.parser.error("a COMMAND to run is needed, after --")
    return exec_command(command, args.only)
