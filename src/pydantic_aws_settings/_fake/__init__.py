"""The in-memory Secrets Manager and Parameter Store behind `pydantic_aws_settings.testing.FakeAWS`.

Each service is one object that stands in for botocore's client: the reads the fetchers send, answered
in botocore's response shapes, and the writes a test seeds with, named and shaped as boto3's methods.
Errors are `ClientError`s, which the fetchers read as botocore's (`.response["Error"]` and
`.operation_name`) without botocore being imported. Nothing here imports boto3, botocore or moto.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    #: (service, operation) -> None: counts a request and raises the failure injected for the service.
    Gate = Callable[[str, str], None]

__all__ = ["ACCOUNT", "ClientError", "now", "raise_injected"]

#: The one account every fake ARN names (moto's default too).
ACCOUNT = "123456789012"


class ClientError(Exception):
    """An AWS error as botocore's `ClientError` carries it.

    Attributes:
        response: `{"Error": {"Code": ..., "Message": ...}, "ResponseMetadata": {...}}`.
        operation_name: the API operation that failed, such as `BatchGetSecretValue`.
    """

    def __init__(self, code: str, message: str, operation: str) -> None:
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation: {message}")
        self.response: dict[str, Any] = {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        self.operation_name = operation

    @property
    def code(self) -> str:
        """The AWS error code."""
        return str(self.response["Error"]["Code"])


#: AWS's messages for the codes a test most often injects; any other code gets a generic one.
_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "AccessDeniedException": (
        "User: arn:aws:sts::{account}:assumed-role/fake-aws/test is not authorized to perform: {action} "
        "because no identity-based policy allows the {action} action"
    ),
    "InternalServiceError": "An internal error occurred. Try again.",
    "InternalServerError": "An internal error occurred. Try again.",
}


def raise_injected(service: str, operation: str, code: str) -> None:
    """Raise the error `code` as the service would answer `operation` with it."""
    template = _MESSAGES.get(code, "{code} (injected with FakeAWS.fail)")
    message = template.format(account=ACCOUNT, action=f"{service}:{operation}", code=code)
    raise ClientError(code, message, operation)


def now() -> datetime.datetime:
    """The time stamps of versions, as botocore parses them: aware, in UTC."""
    return datetime.datetime.now(datetime.timezone.utc)
