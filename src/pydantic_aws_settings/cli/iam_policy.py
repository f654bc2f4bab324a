"""`iam-policy`: the least-privilege IAM policy for a class's references, or the environment's."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from pydantic_aws_settings.cli._common import PROG, load_class
from pydantic_aws_settings.cli.exec import ENVIRONMENT, environment_references
from pydantic_aws_settings.errors import AWSSettingsError, Failure, ResolutionError
from pydantic_aws_settings.options import resolve_options
from pydantic_aws_settings.source import aws_sources_of

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic_settings import BaseSettings

    from pydantic_aws_settings.cli._common import Subparsers
    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference

__all__ = ["add_parser", "class_references", "iam_policy", "run"]


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
    for aws in aws_sources_of(settings_cls):
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


_DESCRIPTION = """\
Print the least-privilege IAM policy (JSON) that resolving the references needs:
secretsmanager:GetSecretValue on each secret's ARN (NAME-?????? when only the name is known) and
secretsmanager:BatchGetSecretValue (resource *: it grants no secret by itself); ssm:GetParameters on
each parameter's ARN and ssm:GetParametersByPath on each path's ARN and everything below it;
kms:Decrypt on the regions' keys, only through Secrets Manager or SSM (kms:ViaService), since whether a
value is a SecureString or uses a customer managed key is not known without reading it; sts:AssumeRole
on PYDANTIC_AWS_ROLE_ARN when a role is set. A region or account that is not known is '*'. Nothing is
fetched. Exit status 0, or 1 when a reference is malformed."""


def add_parser(subparsers: Subparsers) -> None:
    """Add the `iam-policy` command."""
    sub = subparsers.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy JSON for the references a class (or exec) would resolve",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=(
            f"{PROG} iam-policy [-h] [--account ACCOUNT] MODULE:CLASS\n"
            f"       {PROG} iam-policy [-h] [--account ACCOUNT] --env [--only PREFIX]"
        ),
    )
    sub.add_argument(
        "target",
        metavar="MODULE:CLASS",
        nargs="?",
        help="the settings class whose references (environment, dotenv, PYDANTIC_AWS_IMPORT, markers) count",
    )
    sub.add_argument(
        "--env",
        action="store_true",
        help="the references among the current environment variables instead, as exec resolves them",
    )
    sub.add_argument(
        "--only",
        action="append",
        metavar="PREFIX",
        help="with --env: only variables whose name starts with PREFIX (repeatable), as exec --only",
    )
    sub.add_argument(
        "--account",
        metavar="ACCOUNT",
        help="the account id of references given by name (default '*'); an ARN's own account wins",
    )
    sub.set_defaults(run=run, parser=sub)


def run(args: argparse.Namespace) -> int:
    """Run `iam-policy` with its parsed arguments; return the exit status."""
    usage: argparse.ArgumentParser = args.parser
    if (args.target is None) == (not args.env):
        usage.error("give either MODULE:CLASS or --env")
    if args.only and not args.env:
        usage.error("--only needs --env")
    if args.account is not None and not (len(args.account) == 12 and args.account.isdigit()):
        usage.error(f"--account takes a 12-digit account id, not {args.account!r}")
    target = load_class(args.target) if args.target else None
    return iam_policy(target, only=args.only, account=args.account)
