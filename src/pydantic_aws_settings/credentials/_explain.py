"""What went wrong with credentials, and what to do: `CredentialsError` and every message that explains it.

The fetchers report a `CredentialsError` like any AWS error, so its message reaches the load's
`ResolutionError`: it names the provider or role that was tried, and what the user can do.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings.fetch import failure_from_exception

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_aws_settings.credentials._identity import Identity

__all__ = ["CredentialsError"]

#: The credential providers of botocore's default chain, by their `method`, as a user knows them.
_PROVIDERS = {
    "env": "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    "shared-credentials-file": "the shared credentials file (AWS_SHARED_CREDENTIALS_FILE)",
    "config-file": "the shared config file (AWS_CONFIG_FILE)",
    "assume-role": "the role_arn of the profile in the shared config file",
    "assume-role-with-web-identity": "web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)",
    "container-role": "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI)",
    "iam-role": "the EC2 instance metadata service (the instance profile's role)",
    "sso": "IAM Identity Center (the sso_* settings of the profile)",
    "custom-process": "the credential_process of the profile",
}

#: The providers of the default chain that look without being configured, in botocore's order: what a
#: chain that found nothing has tried.
_TRIED = (
    "env",
    "shared-credentials-file",
    "config-file",
    "assume-role-with-web-identity",
    "container-role",
    "iam-role",
)

#: The providers whose credentials belong to a profile, which is worth naming.
_PROFILE_METHODS = frozenset(
    {"shared-credentials-file", "config-file", "assume-role", "sso", "custom-process"}
)

_CONNECTION_FAILURES = frozenset(
    {"EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"}
)
_REJECTED_BASE = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
    }
)


class CredentialsError(Exception):
    """Credentials for a fetch could not be obtained; the message names the provider or role and what to do.

    It is raised inside botocore (while a request is signed, or while a client is built) and has the
    shape of botocore's `ClientError` (`response["Error"]["Code"]` and `["Message"]`), so the fetchers
    report it like any AWS error: AWS's code (`AccessDenied`, `ExpiredTokenException`) or the kind of
    failure (`NoCredentialsError`), with this message. It never holds a key, a token or a fetched value.

    Attributes:
        code: the AWS error code, or the kind of failure.
        message: what was tried, what went wrong, and what the user can do.
        operation_name: the credentials call that failed (`AssumeRole`, `AssumeRoleWithWebIdentity`), or
            None; never the fetch's own operation, so that a denied AssumeRole is not taken for a denied
            BatchGetSecretValue.
    """

    def __init__(self, code: str, message: str, operation_name: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.operation_name = operation_name
        self.response: dict[str, dict[str, str]] = {"Error": {"Code": code, "Message": message}}


def _provider(method: str | None, profile: str | None) -> str:
    """The base provider as the user knows it."""
    name = _PROVIDERS.get(method or "", f"botocore's {method!r} provider" if method else "the default chain")
    if profile and method in _PROFILE_METHODS:
        name += f", profile {profile!r}"
    return name


def _no_credentials(identity: Identity) -> CredentialsError:
    """No provider of the default chain found credentials."""
    profile = identity.profile or "default"
    metadata_off = os.environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
    tried = "; ".join(
        "the EC2 instance metadata service (turned off by AWS_EC2_METADATA_DISABLED)"
        if method == "iam-role" and metadata_off
        else _provider(method, profile)
        for method in _TRIED
    )
    purpose = f"to assume role {identity.role_arn} with" if identity.role_arn else "to sign requests"
    return CredentialsError(
        "NoCredentialsError",
        f"no AWS credentials {purpose}: boto3's default chain tried {tried}, and none had any. "
        "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile with AWS_PROFILE, "
        "or run where a role is attached (an ECS task role, an EKS service account, an EC2 instance "
        "profile).",
    )


def _chain_failed(identity: Identity, exc: Exception) -> CredentialsError:
    """A provider of the default chain raised while the chain looked for credentials."""
    code, message = failure_from_exception(exc)
    purpose = f" to assume role {identity.role_arn} with" if identity.role_arn else ""
    return CredentialsError(
        code,
        f"boto3's default credential chain failed while looking for credentials{purpose}: {message}. "
        "Fix the provider it names (or its environment variables and profile), or unset it so that the "
        "chain moves on.",
    )


def _base_failed(
    method: str | None, profile: str | None, token_file: str | None, code: str, message: str
) -> str:
    """Why the base credentials could not be refreshed, and what to do."""
    if method == "assume-role-with-web-identity":
        what = "rejected as expired" if "Expired" in code else "rejected"
        where = f"AWS_WEB_IDENTITY_TOKEN_FILE ({token_file})" if token_file else "web_identity_token_file"
        return (
            f"the web identity token in {where} was {what} by STS "
            f"AssumeRoleWithWebIdentity ({code}: {message}). The platform that writes that file (the EKS "
            "pod identity webhook, a CI job's OIDC step) must keep a current token in it: check that it "
            "is refreshed, and that the trust policy of AWS_ROLE_ARN accepts its issuer and audience."
        )
    if method == "container-role":
        return (
            f"container credentials could not be refreshed ({code}: {message}): check the task role and "
            "that AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI is reachable."
        )
    if method == "iam-role":
        return (
            f"the EC2 instance metadata service gave no credentials ({code}: {message}): check the "
            "instance profile, and the metadata hop limit when running in a container."
        )
    return f"the credentials from {_provider(method, profile)} could not be refreshed ({code}: {message})."


def _role_failed(identity: Identity, method: str | None, exc: Exception) -> CredentialsError:
    """AssumeRole failed: say which role, with which base credentials, and what to do."""
    role = identity.role_arn
    if isinstance(exc, CredentialsError):  # the base credentials failed first; already explained
        return CredentialsError(exc.code, f"could not assume role {role}: {exc.message}", exc.operation_name)
    code, message = failure_from_exception(exc)
    base = _provider(method, identity.profile)
    detail = f" ({message})" if message else ""
    if code in ("AccessDenied", "AccessDeniedException", "403"):
        external = (
            "with the configured external id (PYDANTIC_AWS_EXTERNAL_ID or aws_external_id)"
            if identity.external_id
            else "(if it requires an external id, set PYDANTIC_AWS_EXTERNAL_ID or aws_external_id)"
        )
        text = (
            f"STS denied AssumeRole on role {role} to the credentials from {base}{detail}. Allow "
            f"sts:AssumeRole on the role in that identity's policy, and trust that identity in the "
            f"role's trust policy {external}."
        )
    elif code in _REJECTED_BASE:
        text = (
            f"STS rejected the credentials from {base} while assuming role {role}{detail}: they are "
            "expired or invalid. Renew them (a new session token, a new login) and load again."
        )
    elif code == "ValidationError":
        text = (
            f"STS refused to assume role {role}{detail}. Check the role duration ({identity.duration} s, "
            "PYDANTIC_AWS_ROLE_DURATION or aws_role_duration) against the role's maximum session duration "
            "(at most 3600 s when the base credentials are themselves an assumed role), the session name "
            "and the external id."
        )
    elif code in _CONNECTION_FAILURES:
        text = (
            f"could not reach STS to assume role {role} ({code}{detail}). Check the network, "
            "AWS_ENDPOINT_URL_STS and the proxy settings."
        )
    else:
        text = f"could not assume role {role} with the credentials from {base} ({code}{detail})."
    return CredentialsError(code, text, "AssumeRole")


def _explain_refreshes(credentials: Any, identity: Identity) -> None:
    """Make a failed refresh of botocore's temporary base credentials raise an explained error.

    botocore's refreshable credentials (web identity, container, instance metadata, profile roles) call
    `_refresh_using` to renew themselves; the wrapper keeps what it returns and explains what it raises.
    """
    refresh: Callable[[], Any] | None = getattr(credentials, "_refresh_using", None)
    if refresh is None:
        return
    method: str | None = getattr(credentials, "method", None)
    token_file = os.environ.get("AWS_WEB_IDENTITY_TOKEN_FILE")

    def explained() -> Any:
        try:
            data = refresh()
        except CredentialsError:
            raise
        except Exception as exc:
            code, message = failure_from_exception(exc)
            text = _base_failed(method, identity.profile, token_file, code, message)
            raise CredentialsError(code, text, getattr(exc, "operation_name", None)) from exc
        if not data:  # the instance metadata fetcher answers {} when it got nothing
            code, message = "CredentialRetrievalError", "the provider returned no credentials"
            raise CredentialsError(code, _base_failed(method, identity.profile, token_file, code, message))
        return data

    credentials._refresh_using = explained  # botocore's own attribute: its refresh calls it
