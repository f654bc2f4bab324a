"""Fixtures for every test: an isolated AWS environment that reaches nothing, and fresh library state.

The loopback AWS endpoint (moto and the counting proxy) is not here: ``loopback/conftest.py`` and
``harness/conftest.py`` add it for their tests, so the tests in ``unit/`` never start it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REGION = "us-east-1"
# Where AWS calls go unless the loopback fixtures point them at the proxy: the discard port on
# 127.0.0.1, which refuses at once, so a test that needs no endpoint cannot reach AWS by mistake.
NOWHERE = "http://127.0.0.1:9"
_CLEARED_PREFIXES = ("AWS_", "PYDANTIC_AWS_")
_CLEARED_NAMES = ("PYDANTIC_SETTINGS_DEBUG",)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Isolate each test: a clean AWS environment with dummy keys and empty files, fresh process state."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES:
            monkeypatch.delenv(name)
    config_file = tmp_path / "aws_config"
    credentials_file = tmp_path / "aws_credentials"
    config_file.write_text("")
    credentials_file.write_text("")
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(config_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials_file),
        "AWS_RETRY_MODE": "standard",
        "AWS_MAX_ATTEMPTS": "3",
        "AWS_ENDPOINT_URL": NOWHERE,
    }.items():
        monkeypatch.setenv(name, value)
    _reset_process_state()
    yield
    # Nothing built under this test's environment (sessions, clients, cached values) outlives it.
    _reset_process_state()


def _reset_process_state() -> None:
    """Drop boto3's default session, and the library's cache, sessions and clients if it was imported."""
    # Modules never imported in this worker have no state to drop; not importing them here also keeps
    # these fixtures working for tests that must not import them.
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:
        boto3.DEFAULT_SESSION = None
    state = sys.modules.get("pydantic_aws_settings._state")
    if state is not None:
        state.reset()
