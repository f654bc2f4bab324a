"""pydantic Settings whose values come from AWS Secrets Manager and SSM Parameter Store.

Public names only; the code lives in the modules named after each step of a load. Importing this
package does not import boto3: that happens only when a reference has to be fetched.
"""

from pydantic_aws_settings._state import _reset_process_state as _reset_process_state
from pydantic_aws_settings._state import clear_cache, invalidate, invalidate_field
from pydantic_aws_settings.errors import AWSSettingsError, Failure, InvalidReferenceError, ResolutionError
from pydantic_aws_settings.live import LiveSettings
from pydantic_aws_settings.markers import Parameter, SecretsManager
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

__version__ = "0.1.0"
