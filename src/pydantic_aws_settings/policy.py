"""The least-privilege IAM policy for a set of references: pure functions on parsed references, no I/O.

What a load needs, by reference:

| reference | actions | resources |
|---|---|---|
| `secretsmanager:NAME` | `secretsmanager:GetSecretValue` | `arn:P:secretsmanager:R:A:secret:NAME-??????` |
| a full secret ARN | the same | the ARN as it is |
| a partial secret ARN | the same | the ARN followed by `-??????` |
| any secret | `secretsmanager:BatchGetSecretValue` | `*` (no resource-level permissions) |
| `ssm:NAME`, a parameter ARN | `ssm:GetParameters` | `arn:P:ssm:R:A:parameter/NAME` |
| `ssm:/PATH/` | `ssm:GetParametersByPath` | `.../parameter/PATH` and `.../parameter/PATH/*` |
| any reference | `kms:Decrypt` | `arn:P:kms:R:A:key/*`, only via Secrets Manager or SSM |
| a role to assume | `sts:AssumeRole` | the role's ARN |

`-??????` matches the six random characters Secrets Manager appends to a secret's name in its ARN, and
nothing longer, so `prod/db` does not also grant `prod/db-old`. `BatchGetSecretValue` on `*` grants no
secret by itself: Secrets Manager checks `GetSecretValue` on every secret of the batch.

Behind a node-local cache (`agent_policies`), the cache's own role reads what the cache serves: the
Secrets Manager Agent `GetSecretValue` and `DescribeSecret` (it checks a cached version with DescribeSecret
before reading it again) on each secret; the Lambda extension `GetSecretValue` on each secret and
`ssm:GetParameter` (the only SSM action it calls) on each parameter; `kms:Decrypt` through the service.
The process needs only what goes to AWS directly: `ssm:/PATH/`, parameters when the cache is the Secrets
Manager Agent (it has no parameter route), and ARNs of another region than the load's.

Which values are SecureStrings, and which secrets are encrypted with a customer managed KMS key, is not
known without reading them, so `kms:Decrypt` is always granted, on any key in the references' regions and
accounts but only when the request comes through Secrets Manager or SSM (a `kms:ViaService` condition).
The AWS managed keys (`aws/secretsmanager`, `aws/ssm`) need no such grant; a customer managed key does.

The region of a reference is its ARN's, else the load's region, else `*`; the account is its ARN's, else
the account given, else `*`; the partition is its ARN's, else the region's (`cn-...` is `aws-cn`), else
`aws`. Statements are grouped by action, resources sorted and deduplicated: the output is stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.references import ParameterReference, Reference, SecretReference

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "POLICY_VERSION",
    "Grant",
    "agent_policies",
    "grants_for",
    "parameter_arns",
    "policy_document",
    "policy_for",
    "secret_arn",
]

POLICY_VERSION = "2012-10-17"
ANY = "*"

#: The random suffix Secrets Manager appends to a secret's name in its ARN: a hyphen and six characters.
SECRET_SUFFIX_WILDCARD = "-??????"  # noqa: S105 - an ARN wildcard, not a password
_SECRET_SUFFIX = re.compile(r"-[A-Za-z0-9]{6}$")

#: Region name prefixes of the partitions other than `aws` (botocore's partitions.json).
_REGION_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
)
#: Each partition's DNS suffix, as `kms:ViaService` spells the service (botocore's partitions.json).
_DNS_SUFFIX = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
    "aws-iso-e": "cloud.adc-e.uk",
    "aws-iso-f": "csp.hci.ic.gov",
    "aws-eusc": "amazonaws.eu",
}

READ_SECRETS = "ReadSecrets"
BATCH_READ_SECRETS = "BatchReadSecrets"
READ_PARAMETERS = "ReadParameters"
READ_PARAMETER_PATHS = "ReadParameterPaths"
DECRYPT = "DecryptViaSecretsManagerAndSSM"
ASSUME_ROLE = "AssumeRole"
AGENT_READ_SECRETS = "AgentReadSecrets"
AGENT_READ_PARAMETERS = "AgentReadParameters"
#: Statement ids in the order they are printed.
_ORDER = (
    AGENT_READ_SECRETS,
    AGENT_READ_PARAMETERS,
    READ_SECRETS,
    BATCH_READ_SECRETS,
    READ_PARAMETERS,
    READ_PARAMETER_PATHS,
    DECRYPT,
    ASSUME_ROLE,
)
#: The node-local caches `agent_policies` knows: the Secrets Manager Agent and the Lambda extension.
AGENT_KINDS = ("agent", "lambda")
_ACTIONS = {
    AGENT_READ_SECRETS: ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
    AGENT_READ_PARAMETERS: ("ssm:GetParameter",),
    READ_SECRETS: ("secretsmanager:GetSecretValue",),
    BATCH_READ_SECRETS: ("secretsmanager:BatchGetSecretValue",),
    READ_PARAMETERS: ("ssm:GetParameters",),
    READ_PARAMETER_PATHS: ("ssm:GetParametersByPath",),
    DECRYPT: ("kms:Decrypt",),
    ASSUME_ROLE: ("sts:AssumeRole",),
}


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """One permission a load needs: a statement's actions on one resource, under an optional condition.

    Attributes:
        sid: the statement it belongs to (`ReadSecrets`, `ReadParameters`, ...); it fixes the actions.
        resource: one resource ARN, or `*`.
        via_service: for `kms:Decrypt`, the service the request must come through
            (`ssm.us-east-1.amazonaws.com`), the value of a `kms:ViaService` condition.
    """

    sid: str
    resource: str
    via_service: str | None = None


def _arn_parts(arn: str) -> list[str] | None:
    """`[arn, partition, service, region, account, resource...]` of an ARN, or None for a name."""
    return arn.split(":", 5) if arn.startswith("arn:") else None


def _partition(region: str) -> str:
    return next((p for prefix, p in _REGION_PARTITIONS if region.startswith(prefix)), "aws")


def _where(arn: str, region: str | None, account: str | None) -> tuple[str, str, str]:
    """(partition, region, account) of a reference: its ARN's, else the defaults, else `*`."""
    parts = _arn_parts(arn)
    if parts is not None and len(parts) == 6:
        return parts[1], parts[3], parts[4]
    where = region or ANY
    return _partition(where), where, account or ANY


def secret_arn(ref: SecretReference, region: str | None = None, account: str | None = None) -> str:
    """The ARN (with wildcards where it is not known) that IAM checks for a secret reference.

    Args:
        ref: the secret reference.
        region: the region of a reference given by name (default `*`).
        account: the account of a reference given by name (default `*`).

    Returns:
        A full ARN as it is; a partial ARN, or an ARN built from a name, followed by `-??????`. An ARN
        whose name already ends in a hyphen and six letters or digits is taken as a full ARN.
    """
    if ref.is_arn:
        return (
            ref.secret_id if _SECRET_SUFFIX.search(ref.secret_id) else ref.secret_id + SECRET_SUFFIX_WILDCARD
        )
    partition, where, owner = _where(ref.secret_id, region, account)
    return f"arn:{partition}:secretsmanager:{where}:{owner}:secret:{ref.secret_id}{SECRET_SUFFIX_WILDCARD}"


def parameter_arns(
    ref: ParameterReference, region: str | None = None, account: str | None = None
) -> list[str]:
    """The ARNs IAM checks for a parameter reference (two for a path: the path and everything below it).

    Args:
        ref: the parameter reference.
        region: the region of a reference given by name (default `*`).
        account: the account of a reference given by name (default `*`).

    Returns:
        `.../parameter/NAME` (one leading `/` of the name dropped, as in SSM's ARNs); for `ssm:/PATH/`,
        `.../parameter/PATH` and `.../parameter/PATH/*`; for the root path `ssm:/`, `.../parameter/*`.
    """
    if ref.is_arn:
        return [ref.name]
    partition, where, owner = _where(ref.name, region, account)
    base = f"arn:{partition}:ssm:{where}:{owner}:parameter/"
    if not ref.is_path:
        return [base + ref.name.removeprefix("/")]
    path = ref.name.strip("/")
    return [base + path, f"{base}{path}/*"] if path else [base + "*"]


def _decrypt(arn: str, service: str, region: str | None, account: str | None) -> Grant:
    partition, where, owner = _where(arn, region, account)
    via = f"{service}.{where}.{_DNS_SUFFIX.get(partition, 'amazonaws.com')}"
    return Grant(DECRYPT, f"arn:{partition}:kms:{where}:{owner}:key/*", via)


def grants_for(
    references: Iterable[Reference],
    *,
    region: str | None = None,
    account: str | None = None,
    role_arn: str | None = None,
) -> set[Grant]:
    """Every permission that fetching these references needs.

    Args:
        references: the references a load resolves (`optional:` ones included: they are read).
        region: the load's region, for references that do not carry one (default `*`).
        account: the account of references that do not carry one (default `*`).
        role_arn: the role the load assumes first, if any.

    Returns:
        The grants, unordered; `policy_document` groups them into statements.
    """
    grants: set[Grant] = set()
    for ref in references:
        if isinstance(ref, SecretReference):
            grants.add(Grant(READ_SECRETS, secret_arn(ref, region, account)))
            grants.add(Grant(BATCH_READ_SECRETS, ANY))
            grants.add(_decrypt(ref.secret_id, "secretsmanager", region, account))
        else:
            sid = READ_PARAMETER_PATHS if ref.is_path else READ_PARAMETERS
            grants.update(Grant(sid, arn) for arn in parameter_arns(ref, region, account))
            grants.add(_decrypt(ref.name, "ssm", region, account))
    if role_arn:
        grants.add(Grant(ASSUME_ROLE, role_arn))
    return grants


def policy_document(grants: Iterable[Grant]) -> dict[str, Any]:
    """An IAM policy document: one statement per statement id, resources sorted, conditions merged.

    A `kms:ViaService` condition uses `StringEquals`, or `StringLike` when a region is not known (`*`).
    """
    resources: dict[str, set[str]] = {}
    via: dict[str, set[str]] = {}
    for grant in grants:
        resources.setdefault(grant.sid, set()).add(grant.resource)
        if grant.via_service is not None:
            via.setdefault(grant.sid, set()).add(grant.via_service)
    statements: list[dict[str, Any]] = []
    for sid in sorted(resources, key=_ORDER.index):
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(_ACTIONS[sid]),
            "Resource": sorted(resources[sid]),
        }
        if sid in via:
            values = sorted(via[sid])
            operator = "StringLike" if any(ANY in v or "?" in v for v in values) else "StringEquals"
            statement["Condition"] = {operator: {"kms:ViaService": values}}
        statements.append(statement)
    return {"Version": POLICY_VERSION, "Statement": statements}


def policy_for(
    references: Iterable[Reference],
    *,
    region: str | None = None,
    account: str | None = None,
    role_arn: str | None = None,
) -> dict[str, Any]:
    """The least-privilege IAM policy document for fetching these references; see `grants_for`."""
    return policy_document(grants_for(references, region=region, account=account, role_arn=role_arn))


def agent_policies(
    references: Iterable[Reference],
    *,
    kind: str = "agent",
    region: str | None = None,
    account: str | None = None,
    role_arn: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The policies behind a node-local cache: (the cache's own role's, the process's).

    Args:
        references: the references a load resolves.
        kind: `"agent"` (the Secrets Manager Agent: secrets only) or `"lambda"` (the Lambda extension:
            secrets and single parameters).
        region: the load's region, for references that do not carry one (default `*`).
        account: the account of references that do not carry one (default `*`).
        role_arn: the role the process assumes for what it fetches from AWS itself.

    Returns:
        Two policy documents. The process's holds only what goes to AWS directly; it is empty when the
        cache serves everything. (Falling back to AWS while the cache is unreachable needs `policy_for`.)
    """
    if kind not in AGENT_KINDS:
        raise ValueError(f"kind must be one of {AGENT_KINDS}, not {kind!r}")
    cache: set[Grant] = set()
    direct: list[Reference] = []
    for ref in references:
        if ref.region is not None and region is not None and ref.region != region:
            direct.append(ref)  # the cache asks in its own region
        elif isinstance(ref, SecretReference):
            sid = AGENT_READ_SECRETS if kind == "agent" else READ_SECRETS
            cache.add(Grant(sid, secret_arn(ref, region, account)))
            cache.add(_decrypt(ref.secret_id, "secretsmanager", region, account))
        elif kind == "lambda" and not ref.is_path:
            cache.update(Grant(AGENT_READ_PARAMETERS, arn) for arn in parameter_arns(ref, region, account))
            cache.add(_decrypt(ref.name, "ssm", region, account))
        else:
            direct.append(ref)
    process = grants_for(direct, region=region, account=account, role_arn=role_arn if direct else None)
    return policy_document(cache), policy_document(process)
