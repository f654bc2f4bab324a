"""What the operator-mistake tests of a load share: a settings class of every field shape, and a canary."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Json, SecretBytes, SecretStr
from pydantic_settings import NoDecode, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError

if TYPE_CHECKING:
    import pytest

CANARY = "canary-Zq81-never-shown"
DB = {"host": "db.internal", "password": CANARY, "username": "app"}
ROLE = "arn:aws:iam::123456789012:role/app"
WHERE = "in region us-east-1 (account unknown), credentials from environment variables"
DEEP = "[" * 5000 + "]" * 5000


class Database(BaseModel):
    """A nested model."""

    host: str
    port: int = 5432
    password: SecretStr | None = None


class App(AWSBaseSettings):
    """Fields of every shape, fed by `SRC_*`."""

    model_config = SettingsConfigDict(env_prefix="SRC_", env_nested_delimiter="__")
    text: str = "default"
    password: SecretStr | None = None
    blob: bytes | None = None
    secret_blob: SecretBytes | None = None
    number: int | None = None
    ratio: float | None = None
    amount: Decimal | None = None
    whole: Annotated[str, NoDecode] | None = None
    mapping: dict[str, Any] | None = None
    as_json: Json[dict[str, Any]] | None = None
    database: Database | None = None


def failure_of(caught: pytest.ExceptionInfo[ResolutionError]) -> Any:
    """The one failure of a load, checked to hold no secret value."""
    assert CANARY not in str(caught.value)
    [failure] = caught.value.failures
    return failure
