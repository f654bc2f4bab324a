"""`iam-policy`: the least-privilege IAM policy for a class's references, or the environment's."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings._role_arn import role_arn_problem
from pydantic_aws_settings.cli._common import PROG, UsageError, load_class
from pydantic_aws_settings.cli.exec import ENVIRONMENT, environment_references
from pydantic_aws_settings.errors import AWSSettingsError, Failure, ResolutionError
from pydantic_aws_settings.options import RoleArnError, resolve_options
from pydantic_aws_settings.source import aws_sources_of

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic_settings import BaseSettings

    from pydantic_aws_settings.cli._common import Subparsers
    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference

__all__ = ["add_parser", "class_references", "iam_policy", "run"]

ROLE_VARIABLE = "PYDANTIC_AWS_ROLE_ARN"


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


def _check_role(role: str | None, where: str) -> None:
    """Refuse a role that is not an IAM role ARN, naming where it was set.

    Raises:
        UsageError: the role is malformed (exit status 2): a policy granting `sts:AssumeRole` on it would
            grant nothing, and the load would fail at its first request.
    """
    problem = role_arn_problem(role) if role is not None else None
    if problem is not None:
        raise UsageError(f"iam-policy: {where}: {problem}; set it to the ARN of the role to assume")


def _role_origin(role: str, settings_cls: type[BaseSettings] | None) -> str:
    """Where a load's role came from, as the operator would fix it."""
    if settings_cls is None or os.environ.get(ROLE_VARIABLE, "").strip() == role:
        return ROLE_VARIABLE
    return f"aws_role_arn (in the model_config of {settings_cls.__name__}, or its AWSSettingsSource)"


def iam_policy(
    settings_cls: type[BaseSettings] | None,
    *,
    only: Sequence[str] | None = None,
    account: str | None = None,
    role: str | None = None,
    agent: str | None = None,
) -> int:
    """Print the least-privilege IAM policy for a class's references, or for the environment's.

    Args:
        settings_cls: the class whose references count, or `None` for the environment's (as `exec`).
        only: with the environment's: only variables whose name starts with one of these prefixes.
        account: the account of references given by name.
        role: the role the load assumes, instead of the options' (`PYDANTIC_AWS_ROLE_ARN`, ...).
        agent: behind a node-local cache (`"agent"`: the Secrets Manager Agent, `"lambda"`: the Lambda
            extension): print the cache's role's policy and the process's apart. Without it, the
            Secrets Manager Agent when the options set `PYDANTIC_AWS_AGENT_URL`.

    Raises:
        UsageError: `role`, or the options' role, is not an IAM role ARN.
    """
    from pydantic_aws_settings.policy import agent_policies, grants_for, policy_document

    _check_role(role, "--role")
    if role is None and settings_cls is None:
        _check_role(os.environ.get(ROLE_VARIABLE, "").strip() or None, ROLE_VARIABLE)
    try:
        if settings_cls is None:
            found, failures = environment_references(os.environ, only)
            groups = [([ref for _, _, ref in found], resolve_options(environ=os.environ))]
            name = ENVIRONMENT
        else:
            groups, failures = class_references(settings_cls)
            name = settings_cls.__name__
    except AWSSettingsError as exc:
        if role is None:  # when the options refuse a malformed role themselves, it is still a usage error
            _check_role(os.environ.get(ROLE_VARIABLE, "").strip() or None, ROLE_VARIABLE)
            if isinstance(exc, RoleArnError):
                _check_role(exc.role, _role_origin(exc.role, settings_cls))
        print(f"{PROG} iam-policy: {exc}", file=sys.stderr)
        return 1
    if failures:
        print(f"{PROG} iam-policy: {ResolutionError(failures, name)}", file=sys.stderr)
        return 1
    if agent is None and any(options.agent_url for _, options in groups):
        agent = "agent"
    grants = set()
    policies: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for references, options in groups:
        region = _region(options, os.environ)
        assumed = role or options.role_arn
        if role is None and assumed is not None:
            _check_role(assumed, _role_origin(assumed, settings_cls))
        grants |= grants_for(references, region=region, account=account, role_arn=assumed)
        if agent is not None:
            policies.append(
                agent_policies(references, kind=agent, region=region, account=account, role_arn=assumed)
            )
    if agent is not None:
        _print_agent_policies(policies, agent)
        return 0
    if not grants:
        print(f"note: {name} resolves no AWS reference: it needs no permission", file=sys.stderr)
    print(json.dumps(policy_document(grants), indent=2))
    return 0


def _merge(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One policy document from several (statements of the same Sid merged, resources deduplicated)."""
    merged: dict[str, dict[str, Any]] = {}
    for document in documents:
        for statement in document["Statement"]:
            if statement["Sid"] in merged:
                into = merged[statement["Sid"]]
                into["Resource"] = sorted({*into["Resource"], *statement["Resource"]})
                for operator, condition in statement.get("Condition", {}).items():
                    values = into.setdefault("Condition", {}).setdefault(operator, {"kms:ViaService": []})
                    values["kms:ViaService"] = sorted(
                        {*values["kms:ViaService"], *condition["kms:ViaService"]}
                    )
            else:
                merged[statement["Sid"]] = json.loads(json.dumps(statement))
    version = documents[0]["Version"] if documents else "2012-10-17"
    return {"Version": version, "Statement": list(merged.values())}


def _print_agent_policies(policies: Sequence[tuple[dict[str, Any], dict[str, Any]]], agent: str) -> None:
    """Print `{"Agent": ..., "Process": ...}`, and on stderr what each is for."""
    cache = _merge([p[0] for p in policies])
    process = _merge([p[1] for p in policies])
    who = "the Secrets Manager Agent's role" if agent == "agent" else "the function's execution role"
    print(f"note: Agent is the policy of {who}, for what the node-local cache serves", file=sys.stderr)
    if process["Statement"]:
        print("note: Process is what the process itself fetches from AWS (ssm:/PATH/, ...)", file=sys.stderr)
    else:
        print(
            "note: the process needs no permission: the node-local cache serves every reference",
            file=sys.stderr,
        )
    print(
        "note: to fall back to AWS while the cache is unreachable, the process needs the policy that "
        "iam-policy prints without --agent and with PYDANTIC_AWS_AGENT_URL unset",
        file=sys.stderr,
    )
    print(json.dumps({"Agent": cache, "Process": process}, indent=2))


_DESCRIPTION = """\
Print the least-privilege IAM policy (JSON) that resolving the references needs:
secretsmanager:GetSecretValue on each secret's ARN (NAME-?????? when only the name is known) and
secretsmanager:BatchGetSecretValue (resource *: it grants no secret by itself); ssm:GetParameters on
each parameter's ARN and ssm:GetParametersByPath on each path's ARN and everything below it;
kms:Decrypt on the regions' keys, only through Secrets Manager or SSM (kms:ViaService), since whether a
value is a SecureString or uses a customer managed key is not known without reading it; sts:AssumeRole
on the role when one is set (--role, else the settings' aws_role_arn or PYDANTIC_AWS_ROLE_ARN). A region
or account that is not known is '*'. With --agent (or PYDANTIC_AWS_AGENT_URL set), the output is
{"Agent": POLICY, "Process": POLICY}: the node-local cache's role reads what it serves (the Secrets
Manager Agent: secretsmanager:GetSecretValue and DescribeSecret; the Lambda extension, --agent lambda:
also ssm:GetParameter), and the process needs only what it fetches itself. Nothing is fetched.
Exit status 0; 1 when a reference is malformed; 2 for a usage error, a role that is not an IAM role
ARN (arn:aws:iam::ACCOUNT:role/NAME) among them."""


_KINDS = "{agent,lambda}"


def add_parser(subparsers: Subparsers) -> None:
    """Add the `iam-policy` command."""
    sub = subparsers.add_parser(
        "iam-policy",
        help="print the least-privilege IAM policy JSON for the references a class (or exec) would resolve",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        usage=(
            f"{PROG} iam-policy [-h] [--account ACCOUNT] [--role ROLE_ARN] [--agent [{_KINDS}]]"
            " MODULE:CLASS\n"
            f"       {PROG} iam-policy [-h] [--account ACCOUNT] [--role ROLE_ARN] [--agent [{_KINDS}]]"
            " --env [--only PREFIX]"
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
    sub.add_argument(
        "--role",
        metavar="ROLE_ARN",
        help="the role the load assumes (default: the settings' aws_role_arn, else PYDANTIC_AWS_ROLE_ARN)",
    )
    sub.add_argument(
        "--agent",
        nargs="?",
        const="agent",
        choices=("agent", "lambda"),
        help="behind a node-local cache: the Secrets Manager Agent (agent, the default) or the Lambda "
        "extension (lambda); print the cache's role's policy and the process's apart",
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
    return iam_policy(target, only=args.only, account=args.account, role=args.role, agent=args.agent)
