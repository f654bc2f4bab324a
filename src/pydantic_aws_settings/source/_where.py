"""Where a load looks for its references: the region, the account and the credentials, in plain words.

Used before any request, to refuse a load that has no region at all (instead of botocore's bare "You must
specify a region."), and after one, to say where a reference that does not exist was looked for (a wrong
region or account reads otherwise exactly like a missing secret). Nothing here imports botocore or sends
a request: the region chain is read as botocore reads it (`AWS_DEFAULT_REGION`, then the profile's
`region` in the shared config file), the account comes from an ARN or is unknown, and the credentials'
source is what the session that fetched found (or, before one exists, what the environment selects).

Imported on a source's first load that needs it, not with the package.
"""

from __future__ import annotations

import configparser
import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic_aws_settings.errors import Failure
from pydantic_aws_settings.references import ParameterReference

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic_aws_settings.fetch import FetchFailure
    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference
    from pydantic_aws_settings.source._records import _Plan

__all__ = [
    "NO_REGION",
    "chain_region",
    "credentials_text",
    "needs_region",
    "not_found_text",
    "region_missing",
    "require_region",
]

#: Why a load that needs a region and has none is refused, and what to set.
NO_REGION = (
    "no AWS region is set: set PYDANTIC_AWS_REGION (or AWS_REGION, AWS_DEFAULT_REGION, or region in the "
    "AWS profile), or write the reference as an ARN, which names its region"
)

#: botocore's `method` of the base credentials, as an operator knows the provider.
_METHODS = {
    "env": "environment variables",
    "assume-role-with-web-identity": "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "container-role": "container credentials (the task role)",
    "iam-role": "the EC2 instance profile",
}
_PROFILE_METHODS = {
    "shared-credentials-file": "profile {}",
    "config-file": "profile {}",
    "assume-role": "the role_arn of profile {}",
    "sso": "IAM Identity Center (profile {})",
    "custom-process": "the credential_process of profile {}",
}


def chain_region(environ: Mapping[str, str] = os.environ) -> str | None:
    """The region botocore's own chain would find: `AWS_DEFAULT_REGION`, else the profile's `region`.

    The config file is read again only when it changes (a load that asks runs on every reload).
    """
    region = environ.get("AWS_DEFAULT_REGION", "").strip()
    if region:
        return region
    profile = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or "default"
    path = Path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config").expanduser()
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        return None
    return _profile_region(str(path), changed, profile)


@functools.lru_cache(maxsize=16)
def _profile_region(path: str, changed: int, profile: str) -> str | None:
    """The `region` of a profile in a shared config file (as of its modification time `changed`)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError):
        return None  # botocore fails on such a file too, with its own words
    section = "default" if profile == "default" else f"profile {profile}"
    if not parser.has_section(section) and profile != "default":
        section = profile  # botocore also takes `[NAME]` in the config file
    return (parser.get(section, "region", fallback="") or "").strip() or None


def _account(ref: Reference) -> str:
    """The account of an ARN reference, else `unknown` (the library sends no request to learn it)."""
    name = str(getattr(ref, "secret_id", None) or getattr(ref, "name", ""))
    parts = name.split(":") if name.startswith("arn:") else []
    return parts[4] if len(parts) > 4 and parts[4] else "unknown"


def _thing(ref: Reference) -> str:
    """The secret or parameter, as the operator named it (`secret prod/db`, `parameter /x version 3`)."""
    from pydantic_aws_settings.references import ParameterReference

    if isinstance(ref, ParameterReference):
        if ref.is_path:
            return f"no parameter below the path {ref.name}"
        selector = ""
        if ref.selector:
            selector = f" version {ref.selector}" if ref.selector.isdigit() else f" label {ref.selector}"
        return f"parameter {ref.name}{selector}"
    which = f" version {ref.version}" if ref.version else (f" stage {ref.stage}" if ref.stage else "")
    return f"secret {ref.secret_id}{which}"


def credentials_text(options: Options) -> str:
    """Where the load's credentials come from, in plain words (`environment variables`, `profile x`)."""
    from pydantic_aws_settings._state import state

    current = state()
    if current.client_factory is not None:
        return "a client factory installed for tests (FakeAWS), not AWS"
    from pydantic_aws_settings.credentials import identity_for

    identity = identity_for(options)
    method = current.clients.credential_method(identity)
    profile = identity.profile or "default"
    if method in _METHODS:
        base = _METHODS[method]
    elif method in _PROFILE_METHODS:
        base = _PROFILE_METHODS[method].format(profile)
    elif method is not None:
        base = f"botocore's {method!r} provider"
    else:
        base = f"boto3's default chain (profile {profile})" if identity.profile else "boto3's default chain"
    return f"role {identity.role_arn} assumed with {base}" if identity.role_arn else base


def not_found_text(ref: Reference, options: Options, problem: FetchFailure) -> str:
    """A reference that does not exist, and where it was looked for (`secret x not found in region y`)."""
    from pydantic_aws_settings._state import state

    fake = getattr(state().client_factory, "__self__", None)  # FakeAWS's bound method: its region
    region = ref.region or options.region or chain_region() or getattr(fake, "region", None) or "(none set)"
    where = f"in region {region} (account {_account(ref)}), credentials from {credentials_text(options)}"
    thing = _thing(ref)
    if problem.code == "InvalidRequestException":  # a secret scheduled for deletion
        return f"{thing} is scheduled for deletion, {where}"
    if thing.startswith("no parameter below"):
        return f"{thing} {where}"
    return f"{thing} not found {where}"


def needs_region(ref: Reference, options: Options) -> bool:
    """Whether a reference needs the load's region: not with an ARN's, nor through an agent.

    A node-local cache asks AWS in its own region; only `ssm:/PATH/` always goes to AWS.
    """
    if ref.region:
        return False
    return not (options.agent_url and not (isinstance(ref, ParameterReference) and ref.is_path))


def region_missing(options: Options, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a load with these options has no region at all (a `FakeAWS` client factory needs none)."""
    if options.region is not None:
        return False
    from pydantic_aws_settings._state import state

    return state().client_factory is None and chain_region(environ) is None


def require_region(planned: _Plan) -> None:
    """Refuse, before any request, the references of a load that has no region for them (in place).

    A reference whose ARN names no region needs the option (`PYDANTIC_AWS_REGION`, `aws_region`),
    `AWS_REGION`, or botocore's chain (`AWS_DEFAULT_REGION`, the profile's `region`); without any, each is
    a `NoRegion` failure naming what to set, instead of botocore's bare "You must specify a region.". A
    load fed by a client factory (`FakeAWS`) needs none. Nothing is imported from botocore.
    """
    options = planned.options
    if options is None or options.region is not None:
        return
    if not any(needs_region(use.ref, options) for use in planned.uses) and not any(
        needs_region(e.ref, options) for e in planned.imports
    ):
        return
    if not region_missing(options):
        return
    for use in planned.uses:
        if needs_region(use.ref, options):
            planned.failures.append(Failure(use.path, use.describe(), use.text, "NoRegion", NO_REGION))
    for entry in planned.imports:
        if needs_region(entry.ref, options):
            planned.failures.append(
                Failure("(import)", "PYDANTIC_AWS_IMPORT", entry.text, "NoRegion", NO_REGION)
            )
    planned.uses = [use for use in planned.uses if not needs_region(use.ref, options)]
    planned.imports = [entry for entry in planned.imports if not needs_region(entry.ref, options)]
