"""One module per AWS service: a batch of references in, values or per-reference failures out.

Each module knows one service's API and nothing else: no pydantic, no cache, no threads of its own
(the resolver runs the requests they plan concurrently). The shapes they share and the contract they
implement (`Fetcher`) are defined here; `fetcher_for` looks a service's module up, so the resolver has
no `if` per service.

The references a fetcher receives are *targets* (`Reference.target()`): no `#KEY`, no `optional:`, one
per distinct thing to fetch. Each request a fetcher plans returns an outcome for every target it was
given, keyed by that target.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Protocol

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "INCOMPLETE_ANSWER",
    "MISMATCHED_ANSWER",
    "SERVICES",
    "THROTTLING_CODES",
    "FetchFailure",
    "Fetched",
    "Fetcher",
    "Outcome",
    "Request",
    "ValueKind",
    "failure_from_exception",
    "fetcher_for",
    "incomplete",
    "mismatched",
]

ValueKind = Literal["SecretString", "SecretBinary", "String", "StringList", "SecureString", "Path"]

#: Error codes that mean "this secret, parameter or version does not exist": `optional:` falls back on
#: them and the cache never serves a stale value for them. The one other answer that means it is a
#: secret scheduled for deletion (`InvalidRequestException` naming deletion, see `FetchFailure.not_found`).
#: Nothing else does: a failure to read, or an answer that lacks what was asked, is not an absence.
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ParameterNotFound",
        "ParameterVersionNotFound",
        "ParameterVersionLabelNotFound",
        "KeyNotFound",
    }
)


#: Error codes of a request that AWS throttled (botocore's list of throttling codes, for the services used).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
    }
)

#: How a secret scheduled for deletion is named in an `InvalidRequestException`: AWS's words ("...because
#: it was marked for deletion."), and moto's ("...currently marked deleted.").
_DELETED = ("marked for deletion", "marked deleted")


class Fetched(NamedTuple):
    """A value as AWS returned it.

    Attributes:
        data: the string or bytes of a secret or parameter; for a path, the parameters below it as a
            mapping from the relative name to `Fetched`.
        kind: what AWS said it is.
        version: the secret's VersionId or the parameter's Version, to tell a rotation from a re-read.
    """

    data: str | bytes | dict[str, Fetched]
    kind: ValueKind
    version: str | None = None

    @property
    def sensitive(self) -> bool:
        """Whether the value must be masked wherever shown: secrets, SecureStrings, paths holding one."""
        if isinstance(self.data, dict):
            return any(item.sensitive for item in self.data.values())
        return self.kind in ("SecretString", "SecretBinary", "SecureString")

    def __repr__(self) -> str:
        return f"Fetched(kind={self.kind!r}, version={self.version!r}, data=<hidden>)"


class FetchFailure(NamedTuple):
    """Why one reference could not be fetched: an AWS error code, or the kind of failure.

    Attributes:
        code: `ResourceNotFoundException`, `AccessDeniedException`, `ThrottlingException`,
            `EndpointConnectionError`, `ReadTimeoutError`, `NoCredentialsError`, ...
        message: AWS's or botocore's message, which never holds a value.
    """

    code: str
    message: str = ""

    @property
    def not_found(self) -> bool:
        """Whether the thing referred to does not exist (as opposed to could not be read)."""
        return self.code in NOT_FOUND_CODES or (
            # "...because it was marked for deletion." (AWS), "...currently marked deleted." (moto)
            (self.code == "InvalidRequestException" and "marked for deletion" in self.message)
            or (self.code == "InvalidRequestException" and "marked deleted" in self.message)
        )

    @property
    def throttled(self) -> bool:
        """Whether AWS throttled the request (a fleet over its quota): worth retrying after a backoff."""
        return self.code in THROTTLING_CODES


#: The code of an answer that lacks an item it should hold (not listed as an error), or was cut off.
INCOMPLETE_ANSWER = "IncompleteAnswer"
#: The code of an answer whose item is not the name, ARN, version, stage, selector or path asked for.
MISMATCHED_ANSWER = "MismatchedAnswer"


def incomplete(detail: str) -> FetchFailure:
    """An answer that lacks what was asked: a transport failure (retried, served stale), never an absence."""
    return FetchFailure(INCOMPLETE_ANSWER, detail)


def mismatched(detail: str) -> FetchFailure:
    """An answer about something other than what was asked: a transport failure, never used as a value."""
    return FetchFailure(MISMATCHED_ANSWER, detail)


Outcome = Fetched | FetchFailure


def failure_from_exception(exc: Exception) -> FetchFailure:
    """Map botocore's two error roots (and anything else a request raised) to a `FetchFailure`.

    `ClientError` keeps AWS's error code; any other botocore error is named by its class
    (`EndpointConnectionError`, `ReadTimeoutError`, `NoCredentialsError`, ...).
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        code = str(error.get("Code") or "ClientError")
        return FetchFailure(code, str(error.get("Message") or ""))
    return FetchFailure(type(exc).__name__, str(exc))


#: One request a fetcher planned: when called, it returns an outcome for each target it covers.
Request = Callable[[], Mapping[Any, Outcome]]


class Fetcher(Protocol):
    """The contract of one service's fetcher: split targets into the fewest requests the API allows.

    Both `fetch.ssm` and `fetch.secretsmanager` implement it as modules; the resolver finds them with
    `fetcher_for` and runs the requests they plan concurrently.
    """

    def plan(self, client: Any, targets: Sequence[Any], /) -> Iterator[Request]:
        """Yield the requests that fetch `targets` with `client`, each returning outcomes by target."""
        ...

    def batches(self, targets: Sequence[Any], /) -> list[list[Any]]:
        """The targets of each request `plan` would yield, in the same order.

        Throttled retries send them one at a time (`_backoff.throttled_rounds`).
        """
        ...


#: The fetcher module of each service, imported on first use.
SERVICES = {
    "secretsmanager": "pydantic_aws_settings.fetch.secretsmanager",
    "ssm": "pydantic_aws_settings.fetch.ssm",
}


def fetcher_for(service: str) -> Fetcher:
    """The fetcher of a service (`"secretsmanager"` or `"ssm"`)."""
    module: Fetcher = importlib.import_module(SERVICES[service])
    return module
