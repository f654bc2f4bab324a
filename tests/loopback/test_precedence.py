"""Precedence: init > environment > dotenv > PYDANTIC_AWS_IMPORT > markers > defaults, and bulk import."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from pydantic_aws_settings import (
    AWSBaseSettings,
    AWSSettingsSource,
    Parameter,
    ResolutionError,
    invalidate_field,
)

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def layers(ssm: Any, sm: Any, tmp_path: Path) -> Path:
    """One parameter per level: env, dotenv, import (path and secret), marker; returns the dotenv file."""
    for level in ("env", "dotenv", "marker"):
        ssm.put_parameter(Name=f"/levels/{level}", Value=f"from-{level}", Type="String")
    ssm.put_parameter(Name="/import/app/value", Value="from-import-path", Type="String")
    sm.create_secret(Name="import/app", SecretString=json.dumps({"VALUE": "from-import-secret"}))
    env_file = tmp_path / ".env"
    env_file.write_text("APP_VALUE=ssm:/levels/dotenv\n")
    return env_file


def make(env_file: Path | None) -> type[AWSBaseSettings]:
    """A class whose only field has a marker and a default."""

    class Settings(AWSBaseSettings):
        model_config = SettingsConfigDict(env_prefix="APP_", env_file=env_file)
        value: Annotated[str, Parameter("/levels/marker")] = "from-default"

    return Settings


class TestPrecedence:
    """Each level wins over every level below it."""

    def test_init_wins_and_nothing_is_fetched(
        self, monkeypatch: pytest.MonkeyPatch, layers: Path, aws_proxy: Any
    ) -> None:
        """An init argument beats every other level, and no reference is fetched."""
        monkeypatch.setenv("APP_VALUE", "ssm:/levels/env")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/import/app/")
        assert make(layers)(value="from-init").value == "from-init"  # type: ignore[attr-defined]
        assert aws_proxy.counts.get("GetParameters", 0) == 0

    def test_environment_beats_dotenv(self, monkeypatch: pytest.MonkeyPatch, layers: Path) -> None:
        """A reference in the environment beats one in the dotenv file."""
        monkeypatch.setenv("APP_VALUE", "ssm:/levels/env")
        assert make(layers)().value == "from-env"  # type: ignore[attr-defined]

    def test_dotenv_beats_import(self, monkeypatch: pytest.MonkeyPatch, layers: Path) -> None:
        """A reference in the dotenv file resolves, and beats the bulk import."""
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/import/app/")
        assert make(layers)().value == "from-dotenv"  # type: ignore[attr-defined]

    def test_import_beats_marker(self, monkeypatch: pytest.MonkeyPatch, layers: Path) -> None:
        """The bulk import beats the declared marker."""
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/import/app/")
        assert make(None)().value == "from-import-path"  # type: ignore[attr-defined]

    def test_later_import_entries_win(self, monkeypatch: pytest.MonkeyPatch, layers: Path) -> None:
        """Of two import entries, the later one wins; secret keys match fields case-insensitively."""
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/import/app/, secretsmanager:import/app")
        assert make(None)().value == "from-import-secret"  # type: ignore[attr-defined]

    def test_marker_beats_default(self, layers: Path) -> None:
        """The declared marker beats the field's default."""
        assert make(None)().value == "from-marker"  # type: ignore[attr-defined]

    def test_default_when_the_marker_is_optional_and_missing(self, aws_proxy: Any) -> None:
        """With nothing else and an optional marker of a missing parameter, the default stays."""

        class Settings(AWSBaseSettings):
            value: Annotated[str, Parameter("/nothing/here", optional=True)] = "from-default"

        assert Settings().value == "from-default"

    def test_one_wave_for_every_level(
        self, monkeypatch: pytest.MonkeyPatch, layers: Path, aws_proxy: Any
    ) -> None:
        """References from the environment, dotenv and import are fetched together: one request per kind."""

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_", env_file=layers)
            value: str
            other: str

        monkeypatch.setenv("APP_OTHER", "ssm:/levels/env")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/import/app/")
        settings = Settings()
        assert (settings.value, settings.other) == ("from-dotenv", "from-env")
        assert aws_proxy.counts == {"GetParameters": 1, "GetParametersByPath": 1}


class TestBulkImport:
    """`PYDANTIC_AWS_IMPORT` fills fields by name from a path or a JSON secret."""

    def test_path_import_fills_nested_models(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """Relative names nest on `/` into model fields, matched case-insensitively."""

        class Db(BaseModel):
            host: str
            port: int

        class Settings(AWSBaseSettings):
            db: Db
            log_level: str

        ssm.put_parameter(Name="/svc/DB/host", Value="h", Type="String")
        ssm.put_parameter(Name="/svc/db/port", Value="5433", Type="String")
        ssm.put_parameter(Name="/svc/LOG_LEVEL", Value="WARN", Type="String")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/svc/")
        settings = Settings()
        assert (settings.db.host, settings.db.port, settings.log_level) == ("h", 5433, "WARN")

    def test_path_import_gives_a_string_list_as_a_list_or_as_its_text(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """A StringList is a list for a list field, top-level or nested, and its text for a str field.

        The same rule as a direct `ssm:` reference: SSM stores a StringList as comma-joined text, which
        is not the JSON a list field reads from a variable.
        """

        class Db(BaseModel):
            replicas: list[str]

        class Settings(AWSBaseSettings):
            hosts: list[str]
            hosts_text: str
            db: Db
            ports: list[int]

        ssm.put_parameter(Name="/lists/hosts", Value="a.example,b.example", Type="StringList")
        ssm.put_parameter(Name="/lists/hosts_text", Value="a.example,b.example", Type="StringList")
        ssm.put_parameter(Name="/lists/db/replicas", Value="r1,r2,r3", Type="StringList")
        ssm.put_parameter(Name="/lists/ports", Value="80,443", Type="StringList")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/lists/")
        settings = Settings()
        assert settings.hosts == ["a.example", "b.example"]
        assert settings.hosts_text == "a.example,b.example"
        assert type(settings.hosts_text) is str
        assert settings.db.replicas == ["r1", "r2", "r3"]
        assert settings.ports == [80, 443]

    @pytest.mark.parametrize("how", ["direct reference", "path import"])
    def test_a_string_list_for_a_no_decode_field_is_its_text(
        self, how: str, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """With pydantic-settings' `NoDecode`, the field's own validator gets SSM's comma-joined text."""

        class Settings(AWSBaseSettings):
            hosts: Annotated[list[str], NoDecode]

            @field_validator("hosts", mode="before")
            @classmethod
            def split(cls, value: Any) -> Any:
                return [part.strip() for part in value.split(",")] if isinstance(value, str) else value

        ssm.put_parameter(Name="/nodecode/hosts", Value="a.example, b.example", Type="StringList")
        if how == "direct reference":
            monkeypatch.setenv("HOSTS", "ssm:/nodecode/hosts")
        else:
            monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/nodecode/")
        assert Settings().hosts == ["a.example", "b.example"]

    def test_a_string_list_with_decoding_off_is_its_text(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """`enable_decoding=False` leaves a StringList's text to the field's validator, as for a variable."""

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(enable_decoding=False)
            hosts: list[str]

            @field_validator("hosts", mode="before")
            @classmethod
            def split(cls, value: Any) -> Any:
                return value.split(";") if isinstance(value, str) else value

        ssm.put_parameter(Name="/nodecode2/hosts", Value="a;b,c", Type="StringList")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/nodecode2/")
        assert Settings().hosts == ["a", "b,c"]

    def test_path_import_of_json_text_in_a_string_parameter_is_still_json(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """A String parameter holding a JSON array feeds a list field as JSON, as a variable would."""

        class Settings(AWSBaseSettings):
            hosts: list[str]

        ssm.put_parameter(Name="/json/hosts", Value='["a,b", "c"]', Type="String")
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/json/")
        assert Settings().hosts == ["a,b", "c"]

    def test_secret_import_uses_the_nested_delimiter(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """JSON keys reach nested fields through the model's env_nested_delimiter."""

        class Db(BaseModel):
            host: str

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(env_nested_delimiter="__")
            db: Db
            workers: int

        sm.create_secret(Name="svc", SecretString=json.dumps({"DB__HOST": "h", "workers": 3}))
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "secretsmanager:svc")
        settings = Settings()
        assert (settings.db.host, settings.workers) == ("h", 3)

    def test_optional_missing_import_is_skipped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An optional import entry that does not exist supplies nothing and fails nothing."""

        class Settings(AWSBaseSettings):
            value: str = "default"

        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "optional:secretsmanager:missing, optional:ssm:/missing/")
        assert Settings().value == "default"

    def test_import_of_a_single_parameter_is_an_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bulk import takes paths and whole secrets; a single parameter is reported as such."""

        class Settings(AWSBaseSettings):
            value: str = "default"

        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/one/parameter")
        with pytest.raises(ResolutionError, match="PYDANTIC_AWS_IMPORT"):
            Settings()

    def test_import_from_model_config(self, sm: Any) -> None:
        """The `aws_import` model_config key works like the variable."""
        sm.create_secret(Name="svc", SecretString=json.dumps({"value": "imported"}))

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(aws_import="secretsmanager:svc")  # type: ignore[typeddict-unknown-key]
            value: str

        assert Settings().value == "imported"

    def test_invalidate_field_plans_with_the_class_own_sources(self, sm: Any, aws_proxy: Any) -> None:
        """`invalidate_field` drops the import entry that `aws_import=` names as a source keyword."""
        sm.create_secret(Name="svc/keyword", SecretString=json.dumps({"value": "imported"}))

        class Settings(BaseSettings):
            value: str

            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                keyword = AWSSettingsSource(
                    settings_cls, env_settings, aws_import="secretsmanager:svc/keyword"
                )
                return (init_settings, keyword)

        assert Settings().value == "imported"
        aws_proxy.reset()
        assert invalidate_field(Settings, "value") == 1
        Settings()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}


class TestBehavesLikeBaseSettings:
    """Where no reference is involved, AWSBaseSettings behaves as BaseSettings."""

    def test_aliases_json_values_and_none_strings(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """Aliases, JSON values for complex fields and env_parse_none_str work unchanged, with no request."""

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(env_parse_none_str="null")
            name: str = Field(validation_alias="SERVICE_NAME")
            tags: dict[str, int]
            maybe: int | None = 3

        monkeypatch.setenv("SERVICE_NAME", "svc")
        monkeypatch.setenv("TAGS", '{"a": 1}')
        monkeypatch.setenv("MAYBE", "null")
        settings = Settings()
        assert (settings.name, settings.tags, settings.maybe) == ("svc", {"a": 1}, None)
        assert aws_proxy.counts == {}

    def test_reference_behind_an_alias(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """A reference in an aliased variable resolves."""
        ssm.put_parameter(Name="/svc/name", Value="resolved", Type="String")

        class Settings(AWSBaseSettings):
            name: str = Field(validation_alias="SERVICE_NAME")

        monkeypatch.setenv("SERVICE_NAME", "ssm:/svc/name")
        assert Settings().name == "resolved"

    def test_init_kwarg_env_prefix_still_applies(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """`_env_prefix` given at init reaches the wrapped environment source."""
        ssm.put_parameter(Name="/x", Value="resolved", Type="String")

        class Settings(AWSBaseSettings):
            value: str

        monkeypatch.setenv("OTHER_VALUE", "ssm:/x")
        assert Settings(_env_prefix="OTHER_").value == "resolved"  # type: ignore[call-arg]

    def test_source_composes_on_plain_base_settings(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """AWSSettingsSource in settings_customise_sources of a plain BaseSettings resolves references."""
        ssm.put_parameter(Name="/x", Value="resolved", Type="String")

        class Settings(BaseSettings):
            value: str

            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (init_settings, AWSSettingsSource(settings_cls, env_settings, dotenv_settings))

        monkeypatch.setenv("VALUE", "ssm:/x")
        assert Settings().value == "resolved"

    def test_secrets_directory_is_used_as_it_is(self, tmp_path: Path, aws_proxy: Any) -> None:
        """A secrets directory supplies its field and keeps the marker from being fetched."""
        (tmp_path / "value").write_text("from-secrets-dir")

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(secrets_dir=tmp_path)
            value: Annotated[str, Parameter("/never/fetched")]

        assert Settings().value == "from-secrets-dir"
        assert aws_proxy.counts == {}

    def test_origins_of_a_secrets_directory_and_of_another_source(self, tmp_path: Path) -> None:
        """A secrets directory's field is recorded as `secrets`, another wrapped source's as `source`."""
        from pydantic_settings import SecretsSettingsSource

        from pydantic_aws_settings.source import Origin, recording_origins

        (tmp_path / "from_dir").write_text("from-secrets-dir")

        class Fixed(PydanticBaseSettingsSource):
            def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
                return None, field_name, False

            def __call__(self) -> dict[str, Any]:
                return {"fixed": "from-a-source"}

        class Settings(BaseSettings):
            model_config = SettingsConfigDict(secrets_dir=tmp_path)
            from_dir: str
            fixed: str

            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                assert isinstance(file_secret_settings, SecretsSettingsSource)
                return (
                    init_settings,
                    AWSSettingsSource(settings_cls, file_secret_settings, Fixed(settings_cls)),
                )

        with recording_origins() as origins:
            Settings()
        assert origins == {
            "from_dir": Origin("secrets", "SecretsSettingsSource"),
            "fixed": Origin("source", "Fixed"),
        }
