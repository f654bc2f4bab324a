"""`Annotated` markers that declare, in code, which secret or parameter feeds a field.

```python
api_url: Annotated[str, Parameter("/prod/api/url")]
db_password: Annotated[SecretStr, SecretsManager("prod/db", key="password")]
```

A marker is the lowest-precedence way to supply a field short of its default: init arguments, the
environment, a dotenv file and `PYDANTIC_AWS_IMPORT` all win over it, and a marker whose field one of
the first three supplies is not fetched at all, so local development needs no AWS. A marker is checked
when the class is defined: a malformed one raises `InvalidReferenceError` at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic_aws_settings.errors import InvalidReferenceError
from pydantic_aws_settings.references import (
    ParameterReference,
    Reference,
    SecretReference,
    format_reference,
    parse_reference,
)

__all__ = ["Parameter", "SecretsManager"]


def _checked(text: str) -> Reference:
    ref = parse_reference(text, variable="marker")
    if ref is None:  # pragma: no cover - the texts built below always carry a service prefix
        raise AssertionError(text)
    return ref


@dataclass(frozen=True, slots=True)
class Parameter:
    """Declare that a field's value comes from an SSM parameter.

    Args:
        name: the parameter's name (`/prod/api/url`), with SSM's own `:VERSION` or `:LABEL` selector and
            `#KEY` if wanted, a path ending in `/`, or a parameter ARN.
        optional: when the parameter does not exist, the field falls back to its default.
    """

    name: str
    optional: bool = False
    reference: ParameterReference = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ref = _checked(f"ssm:{self.name}")
        if not isinstance(ref, ParameterReference):  # pragma: no cover - "ssm:" always parses to a parameter
            raise TypeError(self.name)
        object.__setattr__(self, "reference", _with_optional(ref, self.optional))


@dataclass(frozen=True, slots=True)
class SecretsManager:
    """Declare that a field's value comes from a Secrets Manager secret.

    Args:
        secret_id: the secret's name or (partial) ARN.
        key: one top-level key of a JSON secret.
        stage: a version stage (default AWSCURRENT).
        version: a version id.
        optional: when the secret or key does not exist, the field falls back to its default.
    """

    secret_id: str
    key: str | None = None
    stage: str | None = None
    version: str | None = None
    optional: bool = False
    reference: SecretReference = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built as text and parsed, so a marker obeys exactly the grammar an environment variable does.
        wanted = SecretReference(self.secret_id, self.key, self.stage, self.version, self.optional)
        ref = _checked(format_reference(wanted))
        if ref != wanted:
            raise InvalidReferenceError(
                format_reference(wanted),
                "the secret id holds '#' or '?': give the key, stage and version as arguments",
                "SecretsManager marker",
            )
        object.__setattr__(self, "reference", ref)


def _with_optional(ref: ParameterReference, optional: bool) -> ParameterReference:
    if not optional:
        return ref
    return ParameterReference(ref.name, ref.selector, ref.key, True, ref.bare_arn)
