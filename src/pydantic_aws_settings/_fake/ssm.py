"""An in-memory Parameter Store: names, ARNs, types, versions and labels as AWS keeps them.

A parameter is `name` or `/a/hierarchy/name`; its ARN is `arn:aws:ssm:REGION:ACCOUNT:parameter/...`. Each
write is a new version (1, 2, ...); labels move between versions. GetParameters reads `name`,
`name:VERSION` or `name:LABEL` (or the ARN of one), listing what it cannot find in InvalidParameters;
GetParametersByPath pages 10 at a time. A StringList is its items joined by commas; a SecureString read
without decryption is moto's stand-in for a ciphertext.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings._fake import ACCOUNT, ClientError, now

if TYPE_CHECKING:
    from pydantic_aws_settings._fake import Gate

__all__ = ["SSM", "TYPES"]

TYPES = ("String", "StringList", "SecureString")
_NAMES_LIMIT = 10
_PAGE = 10
_MAX_VALUE = 4096
_LABELS_LIMIT = 10
_NAME = re.compile(r"(/[A-Za-z0-9_.-]+)+|[A-Za-z0-9_.-]+")
_LABEL = re.compile(r"[A-Za-z_.-][A-Za-z0-9_.-]{0,99}")
_RESERVED = ("aws", "ssm")
_BAD_NAME = (
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it '
    "can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, "
    "numbers and the following 3 symbols .-_"
)


def _invalid(message: str, operation: str) -> ClientError:
    return ClientError("ValidationException", message, operation)


def _violated(value: object, field: str, rule: str, operation: str) -> ClientError:
    """A ValidationException as AWS words a request that breaks its API's constraint on a field."""
    message = f"Value '{value}' at '{field}' failed to satisfy constraint: Member must {rule}"
    return _invalid(f"1 validation error detected: {message}", operation)


class SSM:
    """The client methods of Parameter Store that the library sends and a test seeds with.

    Args:
        region: the region its ARNs name.
        gate: called with (service, operation) before each read: counts it, may raise an injected error.
    """

    service = "ssm"

    def __init__(self, region: str, gate: Gate) -> None:
        self.region = region
        self._gate = gate
        self._lock = threading.RLock()
        #: name -> {"type": ..., "versions": [{"value", "version", "labels", "modified"}, ...]}
        self._parameters: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:
        return f"<in-memory ssm client, {len(self._parameters)} parameters>"

    def arn(self, name: str) -> str:
        """The ARN of a parameter name."""
        return f"arn:aws:ssm:{self.region}:{ACCOUNT}:parameter/{name.lstrip('/')}"

    # -- reads the fetchers send ------------------------------------------------------------------

    def get_parameters(self, *, Names: list[str], WithDecryption: bool = False) -> dict[str, Any]:
        """GetParameters: up to 10 names, each with an optional `:VERSION` or `:LABEL` selector."""
        self._gate(self.service, "GetParameters")
        if not 1 <= len(Names) <= _NAMES_LIMIT:
            rule = f"have length less than or equal to {_NAMES_LIMIT}"
            raise _violated(f"[{', '.join(Names)}]", "names", rule, "GetParameters")
        found: list[dict[str, Any]] = []
        invalid: list[str] = []
        with self._lock:
            for requested in dict.fromkeys(Names):
                answer = self._read(requested, WithDecryption)
                if answer is None:
                    invalid.append(requested)
                else:
                    found.append(answer)
        return {"Parameters": found, "InvalidParameters": invalid}

    def get_parameters_by_path(
        self,
        *,
        Path: str,
        Recursive: bool = False,
        WithDecryption: bool = False,
        MaxResults: int = _PAGE,
        NextToken: str | None = None,
    ) -> dict[str, Any]:
        """GetParametersByPath: the latest versions below a path, one level or all, 10 a page."""
        operation = "GetParametersByPath"
        self._gate(self.service, operation)
        if not Path.startswith("/") or not (Path == "/" or _NAME.fullmatch(Path.rstrip("/"))):
            raise _invalid(f"The parameter path {Path} is not valid.", operation)
        if not 1 <= MaxResults <= _PAGE:
            raise _violated(MaxResults, "maxResults", f"have value less than or equal to {_PAGE}", operation)
        if NextToken is not None and not NextToken.isdigit():
            raise _invalid("The token is not valid.", operation)
        prefix = Path.rstrip("/") + "/"
        start = int(NextToken or 0)
        with self._lock:
            below = sorted(
                name
                for name in self._parameters
                if name.startswith(prefix) and (Recursive or "/" not in name[len(prefix) :])
            )
            chosen = below[start : start + MaxResults]
            page = [self._answer(name, name, None, WithDecryption) for name in chosen]
        answer: dict[str, Any] = {"Parameters": page}
        if start + MaxResults < len(below):
            answer["NextToken"] = str(start + MaxResults)
        return answer

    # -- writes a test seeds with -----------------------------------------------------------------

    def put_parameter(
        self, *, Name: str, Value: str, Type: str | None = None, Overwrite: bool = False
    ) -> dict[str, Any]:
        """PutParameter: a new parameter (Type required), or its next version with Overwrite."""
        operation = "PutParameter"
        _check_name(Name, operation)
        if not 1 <= len(Value) <= _MAX_VALUE:
            raise _violated("", "value", f"have length between 1 and {_MAX_VALUE}", operation)
        if Type is not None and Type not in TYPES:
            raise _violated(Type, "type", f"satisfy enum value set: [{', '.join(TYPES)}]", operation)
        with self._lock:
            parameter = self._parameters.get(Name)
            if parameter is None:
                if Type is None:
                    raise _invalid("A parameter type is required when you create a parameter.", operation)
                parameter = self._parameters[Name] = {"type": Type, "versions": []}
            elif not Overwrite:
                raise ClientError(
                    "ParameterAlreadyExists",
                    "The parameter already exists. To overwrite this value, set the overwrite option in "
                    "the request to true.",
                    operation,
                )
            parameter["type"] = Type or parameter["type"]
            version = len(parameter["versions"]) + 1
            entry = {"value": Value, "version": version, "labels": [], "modified": now()}
            parameter["versions"].append(entry)
            return {"Version": version, "Tier": "Standard"}

    def label_parameter_version(
        self, *, Name: str, Labels: list[str], ParameterVersion: int | None = None
    ) -> dict[str, Any]:
        """LabelParameterVersion: move labels onto a version (the latest by default)."""
        operation = "LabelParameterVersion"
        with self._lock:
            parameter = self._parameters.get(Name)
            if parameter is None:
                raise ClientError("ParameterNotFound", f"Parameter {Name} not found.", operation)
            versions = parameter["versions"]
            number = len(versions) if ParameterVersion is None else ParameterVersion
            if not 1 <= number <= len(versions):
                message = (f"Systems Manager could not find version {number} of {Name}. "
                           "Verify the version and try again.")  # fmt: skip
                raise ClientError("ParameterVersionNotFound", message, operation)
            invalid = [label for label in Labels if not _valid_label(label)]
            valid = [label for label in dict.fromkeys(Labels) if label not in invalid]
            target = versions[number - 1]
            if len(set(target["labels"]) | set(valid)) > _LABELS_LIMIT:
                message = (f"A parameter version can have maximum {_LABELS_LIMIT} labels.Move one or more "
                           "labels to another version and try again.")  # fmt: skip
                raise ClientError("ParameterVersionLabelLimitExceeded", message, operation)
            for version in versions:
                version["labels"] = [label for label in version["labels"] if label not in valid]
            target["labels"].extend(valid)
            return {"InvalidLabels": invalid, "ParameterVersion": number}

    def delete_parameter(self, *, Name: str) -> dict[str, Any]:
        """DeleteParameter: the parameter and all its versions are gone."""
        with self._lock:
            if self._parameters.pop(Name, None) is None:
                raise ClientError("ParameterNotFound", f"Parameter {Name} not found.", "DeleteParameter")
        return {}

    # -- lookups ----------------------------------------------------------------------------------

    def find(self, name: str) -> dict[str, Any] | None:
        """The stored parameter of a name (no selector), or None."""
        return self._parameters.get(name)

    def _read(self, requested: str, decrypt: bool) -> dict[str, Any] | None:
        """The answer for one requested name, ARN, `:VERSION` or `:LABEL`; None if there is none."""
        if requested.startswith("arn:"):
            head, separator, rest = requested.partition(":parameter/")
            if f"{head}{separator}" != self.arn(""):
                return None  # another region, account or service: nothing of this store
            path, _, selector = rest.partition(":")
            name = f"/{path}" if f"/{path}" in self._parameters else path
            shown = requested[: -len(selector) - 1] if selector else requested
        else:
            name, _, selector = requested.partition(":")
            shown = name
        if name not in self._parameters:
            return None
        return self._answer(name, shown, selector or None, decrypt)

    def _answer(self, name: str, shown: str, selector: str | None, decrypt: bool) -> dict[str, Any] | None:
        parameter = self._parameters[name]
        versions: list[dict[str, Any]] = parameter["versions"]
        version: dict[str, Any] | None = None
        if selector is None:
            version = versions[-1]
        elif selector.isdigit():
            version = versions[int(selector) - 1] if 1 <= int(selector) <= len(versions) else None
        else:
            version = next((v for v in versions if selector in v["labels"]), None)
        if version is None:
            return None
        value = version["value"]
        if parameter["type"] == "SecureString" and not decrypt:
            value = f"kms:alias/aws/ssm:{value}"
        answer = {
            "Name": shown,
            "Type": parameter["type"],
            "Value": value,
            "Version": version["version"],
            "LastModifiedDate": version["modified"],
            "ARN": self.arn(name),
            "DataType": "text",
        }
        if selector is not None:
            answer["Selector"] = f":{selector}"
        return answer


def _check_name(name: str, operation: str) -> None:
    """AWS's rules for a parameter name: its characters, a reserved prefix, at most 15 levels."""
    if not _NAME.fullmatch(name) or name.lstrip("/").lower().startswith(_RESERVED) or len(name) > 1011:
        raise _invalid(_BAD_NAME, operation)
    if name.count("/") > 15:
        raise ClientError(
            "HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of 15 levels.", operation
        )


def _valid_label(label: str) -> bool:
    """A label: up to 100 letters, digits, `.`, `-`, `_`; not starting with a digit, `aws` or `ssm`."""
    return bool(_LABEL.fullmatch(label)) and not label.lower().startswith(_RESERVED)
