"""The `pydantic-aws-settings` command: `check`, `exec`, `iam-policy` and `demo`.

Every command is built on the library's own parsing and resolver: the same grammar, the same options
(`PYDANTIC_AWS_*`), the same batched, concurrent, cached fetches as a settings load.

Exit status: 0 on success, 1 when the settings (or the environment's references) do not resolve (the
error is printed, values hidden), 2 for usage errors; `exec` otherwise exits with its command's status,
127 when the command is not found and 126 when it cannot be run. No output ever contains a value that
came from Secrets Manager or a SecureString, nor a `SecretStr`/`SecretBytes`/bytes value.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsError

from pydantic_aws_settings.errors import (
    AWSSettingsError,
    Failure,
    InvalidReferenceError,
    ResolutionError,
)
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from pydantic_aws_settings.options import Options, resolve_options
from pydantic_aws_settings.references import Reference, looks_like_reference, parse_reference
from pydantic_aws_settings.source import AWSSettingsSource, Origin, recording_origins
from pydantic_aws_settings.values import extract

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

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

PROG = "pydantic-aws-settings"
MASK = "********"

#: One row of the `check` table: (field, origin, reference, shown value).
Row = tuple[str, str, str, str]

#: Variables `exec` and `iam-policy --env` never treat as references: the library's own options
#: (`PYDANTIC_AWS_IMPORT` holds references for bulk import into a settings class, not a value).
OPTION_PREFIX = "PYDANTIC_AWS_"

#: What a ResolutionError of `exec` calls the thing that failed to load.
ENVIRONMENT = "the environment"


class UsageError(Exception):
    """The command line asked for something that cannot be done (exit status 2)."""


# -- loading a settings class ------------------------------------------------------------------------


def load_class(spec: str) -> type[BaseSettings]:
    """Import `MODULE:CLASS` (from the current directory too) and check that it is a settings class."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise UsageError(f"expected MODULE:CLASS, got {spec!r}")
    if "" not in sys.path:
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


def _aws_sources(settings_cls: type[BaseSettings]) -> list[AWSSettingsSource]:
    """The `AWSSettingsSource`s among the sources a load of the class builds (nothing is fetched)."""
    # Private API of pydantic-settings (>= 2.15): the sources exactly as `settings_cls()` builds them,
    # after the class's own `settings_customise_sources`. Building them reads dotenv files, nothing else.
    build = getattr(settings_cls, "_settings_init_sources", None)
    sources = build()[0] if build is not None else (AWSSettingsSource(settings_cls),)
    return [source for source in sources if isinstance(source, AWSSettingsSource)]


# -- check ---------------------------------------------------------------------------------------------


def _shown(value: Any, masked: bool) -> str:
    if isinstance(value, (SecretStr, SecretBytes, bytes, bytearray)) or (masked and value is not None):
        return MASK
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
    rows: list[Row] = []
    for name in type(settings).model_fields:
        origin = origins.get(name)
        masked = bool(origin and origin.sensitive)
        where = _origin_text(origin, name in settings.model_fields_set, unrecorded)
        reference = (origin.reference if origin else None) or ""
        for dotted, shown in _leaves(name, getattr(settings, name), masked):
            rows.append((dotted, where, reference, shown))
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


def _validation_text(exc: ValidationError) -> str:
    """A validation error without the input values: location, message and type of each error."""
    lines = [f"{exc.error_count()} validation error(s) for {exc.title}"]
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        location = ".".join(str(part) for part in error["loc"]) or "(model)"
        lines.append(f"  {location}: {error['msg']} [type={error['type']}]")
    return "\n".join(lines)


def check(settings_cls: type[BaseSettings], as_json: bool = False) -> int:
    """Load a settings class as the application would and print where each value came from."""
    try:
        with recording_origins() as origins:
            settings = settings_cls()
    except ValidationError as exc:
        print(f"{settings_cls.__name__} did not load:\n{_validation_text(exc)}", file=sys.stderr)
        return 1
    except SettingsError as exc:  # ResolutionError, an option's error, pydantic-settings' parse errors
        print(f"{settings_cls.__name__} did not load:\n{exc}", file=sys.stderr)
        return 1
    unrecorded = "init"
    if not _aws_sources(settings_cls):
        unrecorded = "not recorded"
        print(
            f"note: {settings_cls.__name__} has no AWSSettingsSource: no reference was resolved and the"
            " origins of its values were not recorded",
            file=sys.stderr,
        )
    rows = rows_for(settings, origins, unrecorded)
    if as_json:
        keys = ("field", "origin", "reference", "value")
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
    else:
        print(render_table(rows))
    return 0


# -- the environment's references (exec, iam-policy --env) ---------------------------------------------


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
        if name.startswith(OPTION_PREFIX) or (only is not None and not name.startswith(tuple(only))):
            continue
        if not looks_like_reference(text):
            continue
        try:
            ref = parse_reference(text, variable=name)
        except InvalidReferenceError as exc:
            failures.append(Failure(name, name, text, "InvalidReference", exc.reason))
            continue
        if ref is not None:
            found.append((name, text, ref))
    return found, failures


def _env_text(ref: Reference, fetched: Fetched) -> str:
    """What a reference resolved to, as an environment variable carries it.

    A string as it is (a StringList as its comma-separated text); `#KEY` extracts a key of a JSON object
    (a value that is not a string as JSON text); a path becomes a JSON object nested on `/`; a binary
    secret becomes its standard base64 text, since environment variables cannot hold arbitrary bytes.

    Raises:
        _Unusable: the value cannot be used (no such key, not JSON, a NUL character, ...).
    """
    value, problem = extract(ref, fetched)
    if problem is not None:
        raise _Unusable(problem.code, problem.message)
    text = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else str(value)
    if "\x00" in text:
        raise _Unusable(
            "InvalidValue", "the value holds a NUL character, which no environment variable can hold"
        )
    return text


class _Unusable(Exception):
    """A fetched value that cannot become an environment variable; `code` and `detail` name why."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail)
        self.problem = FetchFailure(code, detail)


def resolve_environment(environ: Mapping[str, str], only: Sequence[str] | None = None) -> dict[str, str]:
    """Resolve every reference among environment variables, in one batched, concurrent load.

    The options are the `PYDANTIC_AWS_*` variables of `environ`; the grammar is the library's.

    Args:
        environ: the environment.
        only: when given, only variables whose name starts with one of these prefixes are resolved.

    Returns:
        A copy of `environ` with each reference replaced by its value (see `exec --help` for how values
        are spelled), and each `optional:` reference to something that does not exist removed.

    Raises:
        ResolutionError: every variable that could not be resolved, named with its reference and code.
        AWSSettingsError: an option has a bad value.
    """
    found, failures = environment_references(environ, only)
    resolved = dict(environ)
    if found:
        options = resolve_options(environ=environ)
        from pydantic_aws_settings.resolver import resolve, target_for  # imports boto3 lazily

        targets = [target_for(ref, options) for _, _, ref in found]
        outcomes = resolve(targets, options)
        for (name, text, ref), target in zip(found, targets, strict=True):
            outcome = outcomes[target]
            problem = outcome if isinstance(outcome, FetchFailure) else None
            if isinstance(outcome, Fetched):
                try:
                    resolved[name] = _env_text(ref, outcome)
                except _Unusable as exc:
                    problem = exc.problem
            if problem is None:
                continue
            resolved.pop(name, None)
            if not (ref.optional and problem.not_found):
                failures.append(Failure(name, name, text, problem.code, problem.message))
    if failures:
        failures.sort(key=lambda failure: failure.field)
        raise ResolutionError(failures, ENVIRONMENT)
    return resolved


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


# -- iam-policy ----------------------------------------------------------------------------------------


def class_references(
    settings_cls: type[BaseSettings],
) -> tuple[list[tuple[list[Reference], Options]], list[Failure]]:
    """The references a load of the class would resolve under the current environment, without fetching.

    The class's own `AWSSettingsSource`s scan their environment and dotenv sources, `PYDANTIC_AWS_IMPORT`
    and the declared markers exactly as a load does (a marker whose field the environment or a dotenv
    file supplies is not counted, as a load would not fetch it).

    Returns:
        `(references, options)` for each `AWSSettingsSource` of the class, and the malformed references.
    """
    groups: list[tuple[list[Reference], Options]] = []
    failures: list[Failure] = []
    for aws in _aws_sources(settings_cls):
        try:
            planned = aws.references()
        except ResolutionError as exc:
            failures.extend(exc.failures)
            continue
        groups.append(([p.reference for p in planned], aws.options))
    return groups, failures


def _region(options: Options, environ: Mapping[str, str]) -> str | None:
    """The region of references without one: the option (or AWS_REGION), else AWS_DEFAULT_REGION."""
    return options.region or environ.get("AWS_DEFAULT_REGION", "").strip() or None


def iam_policy(
    settings_cls: type[BaseSettings] | None,
    *,
    only: Sequence[str] | None = None,
    account: str | None = None,
) -> int:
    """Print the least-privilege IAM policy for a class's references, or for the environment's."""
    from pydantic_aws_settings.policy import grants_for, policy_document

    try:
        if settings_cls is None:
            found, failures = environment_references(os.environ, only)
            groups = [([ref for _, _, ref in found], resolve_options(environ=os.environ))]
            name = ENVIRONMENT
        else:
            groups, failures = class_references(settings_cls)
            name = settings_cls.__name__
    except AWSSettingsError as exc:
        print(f"{PROG} iam-policy: {exc}", file=sys.stderr)
        return 1
    if failures:
        print(f"{PROG} iam-policy: {ResolutionError(failures, name)}", file=sys.stderr)
        return 1
    grants = set()
    for references, options in groups:
        region = _region(options, os.environ)
        grants |= grants_for(references, region=region, account=account, role_arn=options.role_arn)
    if not grants:
        print(f"note: {name} resolves no AWS reference: it needs no permission", file=sys.stderr)
    print(json.dumps(policy_document(grants), indent=2))
    return 0


# -- the parser ----------------------------------------------------------------------------------------

_EXEC_DESCRIPTION = """\
Resolve every reference among the current environment variables in one batched, concurrent load (the
grammar, options and cache of the library) and replace this process with COMMAND, the resolved values in
its environment. When any reference fails, print every failure and exit 1 without running COMMAND.

How values are passed: a string secret or parameter as it is; a StringList as its comma-separated text;
NAME#KEY as the key's value (a value that is not a string as JSON text); ssm:/PATH/ as a JSON object
nested on '/'; a binary secret as standard base64 (an environment variable cannot hold arbitrary bytes).
An optional: reference to something that does not exist removes the variable. PYDANTIC_AWS_* variables
are options, never references, and are passed on unchanged.

Exit status: COMMAND's own; 1 when a reference fails; 2 for a usage error; 127 when COMMAND is not found;
126 when it cannot be run."""

_IAM_DESCRIPTION = """\
Print the least-privilege IAM policy (JSON) that resolving the references needs:
secretsmanager:GetSecretValue on each secret's ARN (NAME-?????? when only the name is known) and
secretsmanager:BatchGetSecretValue (resource *: it grants no secret by itself); ssm:GetParameters on
each parameter's ARN and ssm:GetParametersByPath on each path's ARN and everything below it;
kms:Decrypt on the regions' keys, only through Secrets Manager or SSM (kms:ViaService), since whether a
value is a SecureString or uses a customer managed key is not known without reading it; sts:AssumeRole
on PYDANTIC_AWS_ROLE_ARN when a role is set. A region or account that is not known is '*'. Nothing is
fetched. Exit status 0, or 1 when a reference is malformed."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `pydantic-aws-settings` command."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Load pydantic settings whose values come from Secrets Manager and SSM Parameter Store.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check_parser = commands.add_parser(
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
    check_parser.add_argument(
        "target", metavar="MODULE:CLASS", help="the settings class, e.g. myapp.config:Settings"
    )
    check_parser.add_argument(
        "--json",
        action="store_true",
        help="print the rows as a JSON list of {field, origin, reference, value}",
    )

    exec_parser = commands.add_parser(
        "exec",
        help="resolve the references among environment variables and run COMMAND with the values",
        description=_EXEC_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=f"{PROG} exec [-h] [--only PREFIX] -- COMMAND [ARGS ...]",
    )
    exec_parser.add_argument(
        "--only",
        action="append",
        metavar="PREFIX",
        help="resolve only variables whose name starts with PREFIX (repeatable); others pass unchanged",
    )
    exec_parser.add_argument(
        "command_line",
        nargs=argparse.REMAINDER,
        metavar="COMMAND [ARGS ...]",
        help="the command to run and its arguments, after --",
    )

    iam_parser = commands.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy JSON for the references a class (or exec) would resolve",
        description=_IAM_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=(
            f"{PROG} iam-policy [-h] [--account ACCOUNT] MODULE:CLASS\n"
            f"       {PROG} iam-policy [-h] [--account ACCOUNT] --env [--only PREFIX]"
        ),
    )
    iam_parser.add_argument(
        "target",
        metavar="MODULE:CLASS",
        nargs="?",
        help="the settings class whose references (environment, dotenv, PYDANTIC_AWS_IMPORT, markers) count",
    )
    iam_parser.add_argument(
        "--env",
        action="store_true",
        help="the references among the current environment variables instead, as exec resolves them",
    )
    iam_parser.add_argument(
        "--only",
        action="append",
        metavar="PREFIX",
        help="with --env: only variables whose name starts with PREFIX (repeatable), as exec --only",
    )
    iam_parser.add_argument(
        "--account",
        metavar="ACCOUNT",
        help="the account id of references given by name (default '*'); an ARN's own account wins",
    )

    commands.add_parser(
        "demo",
        help="start a loopback AWS endpoint, seed examples, load an example Settings (needs the demo extra)",
        description=(
            "Start moto's server on 127.0.0.1, seed example secrets and parameters, load an example"
            " settings class and print the same table as check. Needs moto's server:"
            " pip install 'pydantic-aws-settings[demo]'."
        ),
    )
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    """The parser of one subcommand, to report its usage errors with its own usage line."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise KeyError(name)  # pragma: no cover - every command has a subparser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            return check(load_class(args.target), as_json=args.json)
        if args.command == "exec":
            command = list(args.command_line)
            if command[:1] == ["--"]:
                command = command[1:]
            if not command:
                _subparser(parser, "exec").error("a COMMAND to run is needed, after --")
            return exec_command(command, args.only)
        if args.command == "iam-policy":
            usage = _subparser(parser, "iam-policy")
            if (args.target is None) == (not args.env):
                usage.error("give either MODULE:CLASS or --env")
            if args.only and not args.env:
                usage.error("--only needs --env")
            if args.account is not None and not (len(args.account) == 12 and args.account.isdigit()):
                usage.error(f"--account takes a 12-digit account id, not {args.account!r}")
            target = load_class(args.target) if args.target else None
            return iam_policy(target, only=args.only, account=args.account)
        from pydantic_aws_settings.demo import run

        return run()
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except AWSSettingsError as exc:  # a malformed marker raises when the settings module is imported
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
