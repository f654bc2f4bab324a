"""The reference-resolution tests of `test_resolution.py`, run a second time against FakeAWS instead of moto.

Every test class of that module is collected here again, where the fixtures it asks for are FakeAWS's:
`aws_env` (the autouse fixture that starts moto and aims botocore at it) enters a `FakeAWS` instead, with
no AWS credentials, region or endpoint; `sm` and `ssm` are its in-memory clients; `aws_proxy` counts the
requests that reached it, by operation, as the loopback proxy does. The same assertions then hold of moto
and of the fake, so the two cannot drift apart.

The module is found by name wherever it lives under `tests/`, so it may move without this file changing.
"""

from __future__ import annotations

import collections
import importlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pydantic_aws_settings._state import state
from pydantic_aws_settings.testing import FakeAWS

if TYPE_CHECKING:
    from collections.abc import Iterator


def _reference_module() -> Any:
    """`test_resolution`, imported as pytest imports it (its directory on sys.path, its bare name)."""
    if "test_resolution" not in sys.modules:
        path = next(Path(__file__).parent.rglob("test_resolution.py"))
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
    return importlib.import_module("test_resolution")


_REFERENCE = _reference_module()
# Its test classes and fixtures (db_secret), collected here with this module's fixtures.
globals().update(
    {
        name: value
        for name, value in vars(_REFERENCE).items()
        if (name.startswith("Test") and isinstance(value, type)) or hasattr(value, "_fixture_function_marker")
    }
)


class _Recorder:
    """The loopback proxy's `counts` and `requests`, for the requests a load sends to FakeAWS."""

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, Any]] = []
        self._clients: dict[str, _RecordingClient] = {}

    def install(self) -> None:
        """Wrap the client factory FakeAWS installed, so that every request is recorded before it is sent."""
        factory = state().client_factory
        assert factory is not None

        def recording(service: str, region: str | None, options: Any) -> _RecordingClient:
            client = factory(service, region, options)
            return self._clients.setdefault(service, _RecordingClient(client, self))

        state().client_factory = recording


class _RecordingClient:
    """A client that records each call as (Operation, arguments) and passes it on."""

    def __init__(self, client: Any, recorder: _Recorder) -> None:
        self._client = client
        self._recorder = recorder

    def __getattr__(self, method: str) -> Any:
        call = getattr(self._client, method)
        operation = "".join(word.capitalize() for word in method.split("_"))

        def recorded(**arguments: Any) -> Any:
            self._recorder.counts[operation] += 1
            self._recorder.requests.append((operation, arguments))
            return call(**arguments)

        return recorded


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAWS]:
    """Replaces the loopback environment: no AWS variable at all, and a FakeAWS entered for the test."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "PYDANTIC_AWS_")) or name == "PYDANTIC_SETTINGS_DEBUG":
            monkeypatch.delenv(name)
    with FakeAWS() as aws:
        yield aws


@pytest.fixture
def aws_proxy(aws_env: FakeAWS) -> _Recorder:
    """What reached FakeAWS, by operation, as the loopback proxy records it."""
    recorder = _Recorder()
    recorder.install()
    return recorder


@pytest.fixture
def sm(aws_env: FakeAWS) -> Any:
    """FakeAWS's Secrets Manager, seeded as the tests seed moto."""
    return aws_env.client("secretsmanager")


@pytest.fixture
def ssm(aws_env: FakeAWS) -> Any:
    """FakeAWS's Parameter Store, seeded as the tests seed moto."""
    return aws_env.client("ssm")


def test_every_reference_test_is_collected_here() -> None:
    """The reference module's test classes are all here (a rename there must not empty this module)."""
    classes = {name for name, value in vars(_REFERENCE).items() if name.startswith("Test")}
    assert len(classes) >= 6
    assert classes <= set(globals())
