"""Test code that loads settings, without AWS: `FakeAWS`, an in-memory Secrets Manager and Parameter Store.

Inside `with FakeAWS(...) as aws:` every load sends its requests to the fake instead of AWS: no network,
no moto, and botocore is not even imported. Everything above the fetch runs as in production: references,
markers, `#KEY`, `optional:`, the cache, precedence, validation and the `ResolutionError` of failures. The
same is offered to pytest as the `fake_aws` fixture (see `pydantic_aws_settings.pytest_plugin`).

This module is not imported by `import pydantic_aws_settings`.
"""

from __future__ import annotations

import collections
import json
import threading
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings import _state
from pydantic_aws_settings._fake import raise_injected
from pydantic_aws_settings._fake.secretsmanager import SecretsManager
from pydantic_aws_settings._fake.ssm import SSM

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from types import TracebackType

    from typing_extensions import Self

    from pydantic_aws_settings.options import Options

__all__ = ["FakeAWS"]

SERVICES = ("secretsmanager", "ssm")


class FakeAWS:
    """An in-memory Secrets Manager and Parameter Store that the library's loads read, for tests.

    Entering it clears the library's cache and makes every load fetch from it; leaving it clears the cache
    again and gives loads back to AWS. Names, ARNs, versions, stages and labels behave as in AWS, in one
    region (`region`, us-east-1 unless given) and the account 123456789012. A name is found whatever the
    region a load asks; an ARN only if it names this region and account. No AWS credentials or region
    are needed. One `FakeAWS` at a time: entering one replaces any other.

    Args:
        secrets: secret name -> value: text (a SecretString), bytes (a SecretBinary), or a dict or a list
            (a SecretString holding it as JSON).
        parameters: parameter name -> value: text (a String) or a list of text (a StringList, whose
            items may not hold a comma).
        secure: the names of `parameters` that are SecureStrings (text only).
        region: the region of every ARN.

    Attributes:
        requests: the requests loads sent to each service (`"secretsmanager"`, `"ssm"`), failed ones
            included; a `collections.Counter`, so a service never asked counts 0. Clear it to count anew.
        region: the region of every ARN.

    Example:
        ```python
        with FakeAWS(secrets={"prod/db": {"password": "pw"}}, parameters={"/prod/url": "https://x"}) as aws:
            aws.rotate("prod/db", {"password": "pw2"})
            assert aws.requests["ssm"] == 0
        ```
    """

    def __init__(
        self,
        secrets: Mapping[str, str | bytes | dict[str, Any] | list[Any]] | None = None,
        parameters: Mapping[str, str | list[str]] | None = None,
        secure: Collection[str] = (),
        *,
        region: str = "us-east-1",
    ) -> None:
        self.region = region
        self.requests: collections.Counter[str] = collections.Counter()
        self._failures: dict[str, str] = {}
        self._lock = threading.Lock()
        self._secretsmanager = SecretsManager(region, self._gate)
        self._ssm = SSM(region, self._gate)
        if isinstance(secure, str):
            raise TypeError("secure is a collection of parameter names, not one name")
        parameters = dict(parameters or {})
        unknown = set(secure) - set(parameters)
        if unknown:
            raise ValueError(f"secure names parameters that are not given: {sorted(unknown)}")
        for name, value in (secrets or {}).items():
            self._secretsmanager.create_secret(Name=name, **_secret_value(value))
        for name, value in parameters.items():
            if name in secure and not isinstance(value, str):
                raise ValueError(f"the SecureString {name!r} must hold text, not {type(value).__name__}")
            kind = "SecureString" if name in secure else _parameter_type(value)
            self._ssm.put_parameter(Name=name, Value=_parameter_text(value), Type=kind)

    def __repr__(self) -> str:
        return f"FakeAWS(region={self.region!r}, {self._secretsmanager!r}, {self._ssm!r})"

    def __enter__(self) -> Self:
        from pydantic_aws_settings.cache import ValueCache

        _state.reset()
        current = _state.state()
        current.client_factory = self._client_for
        # Waits between throttled retries take no real time: they move the cache's clock instead, so a
        # test that injects ThrottlingException sees the retries (counted) and the failure at once.
        clock = _SkippingClock()
        current.cache = ValueCache(timer=clock, sleep=clock.skip)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        _state.reset()

    def rotate(self, name: str, value: str | bytes | dict[str, Any] | list[Any]) -> None:
        """Give a secret a new AWSCURRENT version (the old becomes AWSPREVIOUS), a parameter its next version.

        A secret is named by name or ARN, a parameter by name. A parameter keeps its type, except that a
        list makes it a StringList and text makes a StringList a String. Loads see the new value once
        their cached one expires (or at once, after `clear_cache()` or `invalidate()`).

        Raises:
            KeyError: there is no such secret or parameter.
        """
        if self._secretsmanager.find(name) is not None:
            self._secretsmanager.put_secret_value(SecretId=name, **_secret_value(value))
            return
        parameter = self._ssm.find(name)
        if parameter is None:
            raise KeyError(f"no secret or parameter named {name!r}")
        if isinstance(value, (bytes, dict)):
            raise TypeError(f"a parameter holds text or a list of text, not {type(value).__name__}")
        kind = "StringList" if isinstance(value, list) else parameter["type"]
        kind = "String" if kind == "StringList" and isinstance(value, str) else kind
        self._ssm.put_parameter(Name=name, Value=_parameter_text(value), Type=kind, Overwrite=True)

    def fail(self, service: str, code: str | None) -> None:
        """Make every request to `service` fail with the AWS error `code`, until `fail(service, None)`.

        The error is the one AWS sends (a `ThrottlingException` says "Rate exceeded"), carried as botocore
        carries it, so the library handles it as it would AWS's: a `ResolutionError` naming the code, an
        `optional:` reference that does not fall back, a stale value served if the options allow it.

        Args:
            service: `"secretsmanager"` or `"ssm"`.
            code: an AWS error code such as `ThrottlingException` or `AccessDeniedException`, or None.
        """
        if service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}, not {service!r}")
        with self._lock:
            if code is None:
                self._failures.pop(service, None)
            else:
                self._failures[service] = code

    def client(self, service: str) -> Any:
        """The in-memory client of a service, to seed versions, stages and labels as with boto3's client.

        It answers, with boto3's arguments and response shapes: for `"secretsmanager"`, `create_secret`,
        `put_secret_value`, `delete_secret`, `get_secret_value` and `batch_get_secret_value`; for
        `"ssm"`, `put_parameter`, `label_parameter_version`, `delete_parameter`, `get_parameters` and
        `get_parameters_by_path`. Its reads count in `requests`; its writes do not.
        """
        if service not in SERVICES:
            raise ValueError(f"service must be one of {SERVICES}, not {service!r}")
        return self._secretsmanager if service == "secretsmanager" else self._ssm

    def _client_for(self, service: str, region: str | None, options: Options) -> Any:
        """The client factory of loads while this fake is entered (`ProcessState.client_factory`)."""
        return self.client(service)

    def _gate(self, service: str, operation: str) -> None:
        """Count a request, and fail it if a failure is injected for its service."""
        with self._lock:
            self.requests[service] += 1
            code = self._failures.get(service)
        if code is not None:
            raise_injected(service, operation, code)


def _secret_value(value: object) -> dict[str, Any]:
    """The SecretString or SecretBinary argument that stores a value."""
    if isinstance(value, (bytes, bytearray)):
        return {"SecretBinary": bytes(value)}
    if isinstance(value, str):
        return {"SecretString": value}
    if isinstance(value, (dict, list)):
        return {"SecretString": json.dumps(value)}
    raise TypeError(f"a secret holds text, bytes, a dict or a list, not {type(value).__name__}")


def _parameter_type(value: object) -> str:
    return "StringList" if isinstance(value, list) else "String"


def _parameter_text(value: object) -> str:
    """A parameter's value as SSM stores it: a StringList's items joined by commas."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) and "," not in item for item in value):
        return ",".join(value)
    raise TypeError("a parameter holds text or a list of text without commas")


class _SkippingClock:
    """Monotonic seconds, plus whatever the cache waited: a wait moves it at once instead of sleeping."""

    def __init__(self) -> None:
        import time

        self._monotonic = time.monotonic
        self._skipped = 0.0

    def __call__(self) -> float:
        return self._monotonic() + self._skipped

    def skip(self, seconds: float) -> None:
        """Wait `seconds` without sleeping."""
        self._skipped += seconds
