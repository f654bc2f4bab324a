"""botocore leaves throttling to the library: the expectation about botocore's retry internals, pinned.

`credentials._throttling` replaces a client's standard-mode retry handler with botocore's own behind a
filter. It relies on `botocore.retries.standard.register_retry_handler` registering one `needs-retry`
handler under the unique id `retry-config-<service>` and one `after-call` handler. If a botocore upgrade
changes that, these tests fail (and the library falls back to botocore's own retries, tested here too).
No request is sent: the `needs-retry` event is emitted as botocore's endpoint emits it.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.retries import standard
from botocore.session import get_session

from pydantic_aws_settings.credentials import _throttling
from pydantic_aws_settings.fetch import THROTTLING_CODES


def _client(service: str, mode: str = "standard") -> Any:
    from botocore.config import Config

    return get_session().create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": mode, "total_max_attempts": 3}),
    )


class _Response:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}


def _retry_delay(client: Any, operation: str, code: str, status: int, attempts: int = 1) -> Any:
    """What botocore's endpoint would do after an answer with `code`: a delay (retry) or None/False (not)."""
    from botocore.hooks import first_non_none_response

    service = client.meta.service_model.service_id.hyphenize()
    model = client.meta.service_model.operation_model(operation)
    responses = client.meta.events.emit(
        f"needs-retry.{service}.{operation}",
        response=(_Response(status), {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {}}),
        endpoint=None,
        operation=model,
        attempts=attempts,
        caught_exception=None,
        request_dict={"context": {}},
    )
    return first_non_none_response(responses)


@pytest.mark.parametrize(
    ("service", "operation"), [("ssm", "GetParameters"), ("secretsmanager", "GetSecretValue")]
)
def test_throttling_is_not_retried_by_botocore_and_everything_else_is(service: str, operation: str) -> None:
    """With the installed botocore, the replacement happens; throttling gets no retry, a 5xx still does."""
    client = _client(service)
    assert _retry_delay(client, operation, "ThrottlingException", 400) is not None  # botocore's own retry
    assert _throttling.leave_throttling_to_library(client, 3) is True
    for code in THROTTLING_CODES:
        assert _retry_delay(client, operation, code, 400) is None
    assert _retry_delay(client, operation, "InternalServerError", 500) is not None
    assert _retry_delay(client, operation, "InternalServerError", 500, attempts=3) is None  # MAX_ATTEMPTS


def test_an_unexpected_botocore_keeps_its_own_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """A `register_retry_handler` that registers something else: the client is left as botocore built it."""
    client = _client("ssm")

    def registers_other(client: Any, max_attempts: int | None = None) -> None:
        client.meta.events.register("needs-retry.ssm", lambda **_: None, unique_id="another-id")

    monkeypatch.setattr(standard, "register_retry_handler", registers_other)
    assert _throttling.leave_throttling_to_library(client, 3) is False
    assert not _throttling.leaves_throttling_to_library(client)
    assert _retry_delay(client, "GetParameters", "ThrottlingException", 400) is not None


def test_a_failing_register_retry_handler_keeps_botocore_s_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any error while building the replacement leaves the client untouched."""
    client = _client("ssm")

    def fails(client: Any, max_attempts: int | None = None) -> None:
        raise AttributeError("internals moved")

    monkeypatch.setattr(standard, "register_retry_handler", fails)
    assert _throttling.leave_throttling_to_library(client, 3) is False
    assert _retry_delay(client, "GetParameters", "ThrottlingException", 400) is not None


def test_the_changed_clients_are_known() -> None:
    """`fetch.secretsmanager` asks whether a throttled batch call was sent once (the library retries it)."""
    client, other = _client("secretsmanager"), _client("secretsmanager")
    assert _throttling.leave_throttling_to_library(client, 3) is True
    assert _throttling.leaves_throttling_to_library(client)
    assert not _throttling.leaves_throttling_to_library(other)
    assert _retry_delay(client, "BatchGetSecretValue", "ThrottlingException", 400) is None


def test_other_retry_modes_are_left_alone() -> None:
    """Only standard mode is changed (the library always builds its clients in it)."""
    client = _client("ssm", mode="legacy")
    assert _throttling.leave_throttling_to_library(client, 3) is False


def test_the_library_s_clients_leave_throttling_to_it_unless_it_does_not_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SSM and Secrets Manager clients do; with THROTTLE_TIMEOUT=0 (no library retries), botocore retries."""
    from pydantic_aws_settings.credentials import ClientRegistry
    from pydantic_aws_settings.options import Options

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    registry = ClientRegistry()
    ssm = registry.client("ssm", "us-east-1", Options())
    assert _retry_delay(ssm, "GetParameters", "ThrottlingException", 400) is None
    sm = registry.client("secretsmanager", "us-east-1", Options())
    assert _retry_delay(sm, "BatchGetSecretValue", "ThrottlingException", 400) is None
    kept = registry.client("ssm", "us-east-1", Options(throttle_timeout=0.0))
    assert kept is not ssm
    assert _retry_delay(kept, "GetParameters", "ThrottlingException", 400) is not None
