"""A secret's value never appears in an exception, a log record or a repr, whatever fails."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource, ResolutionError
from pydantic_aws_settings._state import state
from support.logs import RecordCollector, collecting

if TYPE_CHECKING:
    from collections.abc import Iterator

CANARY = "CANARY-7f3a9c-s3cr3t"


class Database(BaseModel):
    """A model that needs a password and an integer port."""

    password: SecretStr
    port: int


class Settings(AWSBaseSettings):
    """Settings whose every field may be fed by a canary-holding secret."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    database: Database | None = None
    count: int = 0
    token: SecretStr | None = None


@pytest.fixture
def debug_logs() -> Iterator[RecordCollector]:
    """Every logger at DEBUG (botocore included) into one collecting handler."""
    with collecting() as collector:
        yield collector


@pytest.fixture
def canaries(sm: Any, ssm: Any) -> None:
    """Secrets and parameters that hold the canary in every shape."""
    sm.create_secret(Name="c/json", SecretString=json.dumps({"password": CANARY, "port": CANARY}))
    sm.create_secret(Name="c/plain", SecretString=CANARY)
    sm.create_secret(Name="c/array", SecretString=json.dumps([CANARY]))
    ssm.put_parameter(Name="/c/secure", Value=CANARY, Type="SecureString")


SCENARIOS = {
    "missing key": {"APP_TOKEN": "secretsmanager:c/json#nokey"},
    "invalid JSON for a model": {"APP_DATABASE": "secretsmanager:c/plain"},
    "JSON array for a model": {"APP_DATABASE": "secretsmanager:c/array"},
    "wrong type for an int field": {"APP_COUNT": "secretsmanager:c/plain"},
    "validation error inside a model": {"APP_DATABASE": "secretsmanager:c/json"},
    "SecureString into an int field": {"APP_COUNT": "ssm:/c/secure"},
    "access denied next to a good secret": {
        "APP_TOKEN": "secretsmanager:c/plain",
        "APP_COUNT": "ssm:/c/secure",
    },
}


class TestCanary:
    """Plant the canary, fail every way, and search everything the library produced."""

    @pytest.mark.parametrize("scenario", list(SCENARIOS))
    def test_failure_never_shows_the_value(
        self,
        scenario: str,
        canaries: None,
        debug_logs: RecordCollector,
        monkeypatch: pytest.MonkeyPatch,
        aws_proxy: Any,
    ) -> None:
        """The load fails, and no exception text, log record or repr holds the canary."""
        for name, value in SCENARIOS[scenario].items():
            monkeypatch.setenv(name, value)
        if scenario.startswith("access denied"):
            aws_proxy.inject("GetParameters", "AccessDeniedException", message="denied")
        with pytest.raises((ResolutionError, ValidationError)) as caught:
            Settings()
        texts = [str(caught.value), repr(caught.value), *debug_logs.texts]
        texts += [repr(state()), repr(AWSSettingsSource(Settings))]
        cause: BaseException | None = caught.value
        while cause is not None:
            texts += [str(cause), repr(cause)]
            cause = cause.__cause__ or cause.__context__
        assert any("botocore" in text for text in debug_logs.texts), "botocore DEBUG records were captured"
        leaks = [text for text in texts if CANARY in text]
        assert leaks == []

    def test_success_logs_no_value(
        self, canaries: None, debug_logs: RecordCollector, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A successful load at DEBUG keeps the value out of every record and repr; the field holds it."""
        monkeypatch.setenv("APP_TOKEN", "ssm:/c/secure")
        settings = Settings()
        assert settings.token is not None
        assert settings.token.get_secret_value() == CANARY
        texts = [*debug_logs.texts, repr(settings), str(settings), repr(state())]
        assert [text for text in texts if CANARY in text] == []


class TestSettingsDebugDump:
    """pydantic-settings' own source dump (PYDANTIC_SETTINGS_DEBUG=1) shows no fetched secret."""

    def test_debug_dump_masks_fetched_secrets(
        self, canaries: None, sm: Any, debug_logs: RecordCollector, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Secrets, SecureStrings, binaries and imports are masked in the dump; fields keep plain types."""
        sm.create_secret(Name="c/binary", SecretBinary=CANARY.encode())
        sm.create_secret(Name="c/import", SecretString=json.dumps({"imported": CANARY}))

        class Dumped(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")
            database: Database
            token: SecretStr
            plain_token: str
            blob: bytes
            imported: str
            visible: str = "shown"

        monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
        monkeypatch.setenv("APP_DATABASE", "secretsmanager:c/json")
        monkeypatch.setenv("APP_DATABASE__PORT", "5432")
        monkeypatch.setenv("APP_TOKEN", "secretsmanager:c/plain")
        monkeypatch.setenv("APP_PLAIN_TOKEN", "ssm:/c/secure")
        monkeypatch.setenv("APP_BLOB", "secretsmanager:c/binary")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "secretsmanager:c/import")
        settings = Dumped()
        dumps = [text for text in debug_logs.texts if "Resolving settings for" in text]
        assert dumps, "pydantic-settings wrote its source dump"
        assert [text for text in debug_logs.texts if CANARY in text] == []
        assert type(settings.plain_token) is str
        assert settings.plain_token == CANARY
        assert type(settings.imported) is str
        assert settings.blob == CANARY.encode()
        assert settings.database.password.get_secret_value() == CANARY


class TestInternalReprs:
    """A load's internal records never show a value in their repr (tracebacks may print locals)."""

    def test_plan_repr_after_a_load(
        self, canaries: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
    ) -> None:
        """After a load wrote resolved values into them, the plan's layers and uses show no value."""
        from pydantic_aws_settings.source import AWSSettingsSource

        (tmp_path / "APP_FROM_DIR").write_text(CANARY)  # the prefix applies to secret files too
        kept: list[Any] = []
        plan = AWSSettingsSource._plan

        def keeping(source: AWSSettingsSource) -> Any:
            kept.append(plan(source))
            return kept[-1]

        monkeypatch.setattr(AWSSettingsSource, "_plan", keeping)

        class Planned(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_", secrets_dir=tmp_path)
            token: SecretStr
            from_dir: SecretStr

        monkeypatch.setenv("APP_TOKEN", "secretsmanager:c/plain")
        assert Planned().token.get_secret_value() == CANARY
        assert kept
        assert CANARY not in repr(kept[-1])
