"""An in-memory Secrets Manager: names, ARNs, versions and stages as AWS keeps them.

A secret is found by its name, its full ARN (name, `-` and 6 random characters), or its partial ARN
(without the suffix). Each version has an id and stages: a new value becomes AWSCURRENT and the version it
replaces AWSPREVIOUS; a version without stages stays readable by its id. A deleted secret answers
`InvalidRequestException` ("marked for deletion") until it is deleted without recovery.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import uuid
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings._fake import ACCOUNT, ClientError, now

if TYPE_CHECKING:
    from pydantic_aws_settings._fake import Gate

__all__ = ["BATCH_LIMIT", "SecretsManager"]

#: BatchGetSecretValue's limit on SecretIdList.
BATCH_LIMIT = 20
_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_SUFFIX_ALPHABET = string.ascii_letters + string.digits
_NOT_FOUND = "Secrets Manager can't find the specified secret."
_DELETED = "You can't perform this operation on the secret because it was marked for deletion."


class _Secret:
    """One secret: its ARN, its versions (id -> value, stages, creation time) and whether it is deleted."""

    __slots__ = ("arn", "deleted", "name", "versions")

    def __init__(self, name: str, region: str) -> None:
        suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(6))
        self.name = name
        self.arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{name}-{suffix}"
        self.versions: dict[str, dict[str, Any]] = {}
        self.deleted = False


class SecretsManager:
    """The client methods of Secrets Manager that the library sends and a test seeds with.

    Args:
        region: the region its ARNs name.
        gate: called with (service, operation) before each read: counts it, may raise an injected error.
    """

    service = "secretsmanager"

    def __init__(self, region: str, gate: Gate) -> None:
        self.region = region
        self._gate = gate
        self._lock = threading.RLock()
        self._secrets: dict[str, _Secret] = {}

    def __repr__(self) -> str:
        return f"<in-memory secretsmanager client, {len(self._secrets)} secrets>"

    # -- reads the fetchers send ------------------------------------------------------------------

    def get_secret_value(
        self, *, SecretId: str, VersionId: str | None = None, VersionStage: str | None = None
    ) -> dict[str, Any]:
        """GetSecretValue: one version, by id, stage, or AWSCURRENT."""
        self._gate(self.service, "GetSecretValue")
        with self._lock:
            return self._value(SecretId, VersionId, VersionStage, "GetSecretValue")

    def batch_get_secret_value(
        self, *, SecretIdList: list[str], NextToken: str | None = None
    ) -> dict[str, Any]:
        """BatchGetSecretValue by SecretIdList: current versions, and an error entry per id not read."""
        operation = "BatchGetSecretValue"
        self._gate(self.service, operation)
        if not SecretIdList or len(SecretIdList) > BATCH_LIMIT:
            raise ClientError(
                "ValidationException",
                f"1 validation error detected: Value at 'secretIdList' failed to satisfy constraint: "
                f"Member must have length between 1 and {BATCH_LIMIT}",
                operation,
            )
        values: list[dict[str, Any]] = []
        errors: list[dict[str, str]] = []
        with self._lock:
            for secret_id in dict.fromkeys(SecretIdList):
                try:
                    values.append(self._value(secret_id, None, None, operation))
                except ClientError as exc:
                    message = exc.response["Error"]["Message"]
                    errors.append({"SecretId": secret_id, "ErrorCode": exc.code, "Message": message})
        return {"SecretValues": values, "Errors": errors}

    # -- writes a test seeds with -----------------------------------------------------------------

    def create_secret(
        self,
        *,
        Name: str,
        SecretString: str | None = None,
        SecretBinary: bytes | str | None = None,
        ClientRequestToken: str | None = None,
    ) -> dict[str, Any]:
        """CreateSecret: a new secret, with a first AWSCURRENT version when given a value."""
        operation = "CreateSecret"
        if not _NAME.fullmatch(Name):
            raise ClientError(
                "ValidationException",
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of the "
                "following: -/_+=.@!",
                operation,
            )
        with self._lock:
            existing = self._secrets.get(Name)
            if existing is not None and existing.deleted:
                raise ClientError(
                    "InvalidRequestException",
                    "You can't create this secret because a secret with this name is already scheduled "
                    "for deletion.",
                    operation,
                )
            if existing is not None:
                raise ClientError(
                    "ResourceExistsException",
                    f"The operation failed because the secret {Name} already exists.",
                    operation,
                )
            secret = self._secrets[Name] = _Secret(Name, self.region)
            answer: dict[str, Any] = {"ARN": secret.arn, "Name": Name}
            if SecretString is not None or SecretBinary is not None:
                value = _value_of(SecretString, SecretBinary, operation)
                answer["VersionId"] = _put(secret, value, ClientRequestToken, ["AWSCURRENT"], operation)
            return answer

    def put_secret_value(
        self,
        *,
        SecretId: str,
        SecretString: str | None = None,
        SecretBinary: bytes | str | None = None,
        ClientRequestToken: str | None = None,
        VersionStages: list[str] | None = None,
    ) -> dict[str, Any]:
        """PutSecretValue: a new version, AWSCURRENT unless other stages are named."""
        operation = "PutSecretValue"
        value = _value_of(SecretString, SecretBinary, operation)
        stages = list(VersionStages or ["AWSCURRENT"])
        with self._lock:
            secret = self._live(SecretId, operation)
            version = _put(secret, value, ClientRequestToken, stages, operation)
            return {"ARN": secret.arn, "Name": secret.name, "VersionId": version, "VersionStages": stages}

    def delete_secret(
        self,
        *,
        SecretId: str,
        RecoveryWindowInDays: int | None = None,
        ForceDeleteWithoutRecovery: bool = False,
    ) -> dict[str, Any]:
        """DeleteSecret: marked for deletion (answers InvalidRequestException), or gone when forced."""
        with self._lock:
            secret = self._live(SecretId, "DeleteSecret")
            if ForceDeleteWithoutRecovery:
                del self._secrets[secret.name]
            secret.deleted = True
            return {"ARN": secret.arn, "Name": secret.name, "DeletionDate": now()}

    # -- lookups ----------------------------------------------------------------------------------

    def find(self, secret_id: str) -> _Secret | None:
        """The secret a name, full ARN or partial ARN names, deleted or not; None if there is none."""
        if not secret_id.startswith("arn:"):
            return self._secrets.get(secret_id)
        return next((s for s in self._secrets.values() if secret_id in (s.arn, s.arn[:-7])), None)

    def _live(self, secret_id: str, operation: str) -> _Secret:
        secret = self.find(secret_id)
        if secret is None:
            raise ClientError("ResourceNotFoundException", _NOT_FOUND, operation)
        if secret.deleted:
            raise ClientError("InvalidRequestException", _DELETED, operation)
        return secret

    def _value(
        self, secret_id: str, version_id: str | None, stage: str | None, operation: str
    ) -> dict[str, Any]:
        secret = self._live(secret_id, operation)
        if version_id is not None:
            version = secret.versions.get(version_id)
            if version is None:
                message = f"Secrets Manager can't find the specified secret value for VersionId: {version_id}"
                raise ClientError("ResourceNotFoundException", message, operation)
            if stage is not None and stage not in version["stages"]:
                message = "You provided a VersionStage that is not associated to the provided VersionId."
                raise ClientError("InvalidRequestException", message, operation)
        else:
            stage = stage or "AWSCURRENT"
            staged = (v for v, version in secret.versions.items() if stage in version["stages"])
            version_id = next(staged, None)
            if version_id is None:
                message = f"Secrets Manager can't find the specified secret value for staging label: {stage}"
                raise ClientError("ResourceNotFoundException", message, operation)
        version = secret.versions[version_id]
        kind = "SecretBinary" if isinstance(version["value"], bytes) else "SecretString"
        return {
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": version_id,
            kind: version["value"],
            "VersionStages": list(version["stages"]),
            "CreatedDate": version["created"],
        }


def _value_of(string_value: str | None, binary: bytes | str | None, operation: str) -> str | bytes:
    """The one value of a write: a SecretString or a SecretBinary, never both."""
    if (string_value is None) == (binary is None):
        message = "You must provide either SecretString or SecretBinary, and not both."
        raise ClientError("InvalidParameterException", message, operation)
    if binary is not None:
        return binary.encode() if isinstance(binary, str) else bytes(binary)
    return str(string_value)


def _put(secret: _Secret, value: str | bytes, token: str | None, stages: list[str], operation: str) -> str:
    """Add a version holding `stages` (moved from other versions); AWSCURRENT leaves AWSPREVIOUS behind."""
    version_id = token or str(uuid.uuid4())
    if version_id in secret.versions:
        message = "You can't modify an existing version, you can only create a new version."
        raise ClientError("ResourceExistsException", message, operation)
    replaced = next((v for v in secret.versions.values() if "AWSCURRENT" in v["stages"]), None)
    moved = {*stages, "AWSPREVIOUS"} if "AWSCURRENT" in stages and replaced is not None else set(stages)
    for version in secret.versions.values():
        version["stages"] = [s for s in version["stages"] if s not in moved]
    if "AWSCURRENT" in stages and replaced is not None:
        replaced["stages"].append("AWSPREVIOUS")
    secret.versions[version_id] = {"value": value, "stages": list(stages), "created": now()}
    return version_id
