"""pydantic Settings whose values come from AWS Secrets Manager and SSM Parameter Store.

Public names only; the code lives in the modules named after each step of a load. Importing this
package does not import boto3: that happens only when a reference has to be fetched.
"""

from typing import TYPE_CHECKING, Any

from pydantic_aws_settings._state import clear_cache, invalidate, invalidate_field
from pydantic_aws_settings._version import __version__ as __version__
from pydantic_aws_settings.errors import AWSSettingsError, Failure, InvalidReferenceError, ResolutionError
from pydantic_aws_settings.options import AWSSettingsConfigDict
from pydantic_aws_settings.references import (
    ParameterReference,
    SecretReference,
    format_reference,
    parse_reference,
)
from pydantic_aws_settings.source import AWSBaseSettings, AWSSettingsSource, Origin

__all__ = [
    "AWSBaseSettings",
    "AWSSettingsConfigDict",
    "AWSSettingsError",
    "AWSSettingsSource",
    "Failure",
    "InvalidReferenceError",
    "LiveSettings",
    "Origin",
    "Parameter",
    "ParameterReference",
    "ResolutionError",
    "SecretReference",
    "SecretsManager",
    "clear_cache",
    "format_reference",
    "invalidate",
    "invalidate_field",
    "parse_reference",
]


if TYPE_CHECKING:
    from pydantic_aws_settings.live import LiveSettings
    from pydantic_aws_settings.markers import Parameter, SecretsManager

#: Public names whose module is imported when the name is first used, not with the package: a process
#: that uses neither markers nor `LiveSettings` does not pay for building their classes.
_LAZY = {
    "LiveSettings": "pydantic_aws_settings.live",
    "Parameter": "pydantic_aws_settings.markers",
    "SecretsManager": "pydantic_aws_settings.markers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
