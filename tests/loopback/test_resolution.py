"""Every form of the reference grammar, resolved end to end against the loopback endpoint."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import (
    AWSBaseSettings,
    InvalidReferenceError,
    Parameter,
    ResolutionError,
    SecretsManager,
)

ACCOUNT = "123456789012"


class Database(BaseModel):
    """A model filled from a JSON secret."""

    host: str
    port: int = 5432
    username: str
    password: SecretStr


def settings_class(**annotations: Any) -> type[AWSBaseSettings]:
    """Build an `AWSBaseSettings` class with prefix APP_ and the given field annotations."""
    namespace: dict[str, Any] = {
        "__annotations__": annotations,
        "model_config": SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__"),
    }
    return type("Settings", (AWSBaseSettings,), namespace)


@pytest.fixture
def db_secret(sm: Any) -> str:
    """A JSON database secret with two versions; returns its ARN."""
    arn: str = sm.create_secret(
        Name="prod/db",
        SecretString=json.dumps({"host": "old", "port": 1, "username": "app", "password": "old-pw"}),
    )["ARN"]
    sm.put_secret_value(
        SecretId="prod/db",
        SecretString=json.dumps({"host": "db.internal", "port": 5433, "username": "app", "password": "pw-1"}),
    )
    return arn


class TestSecretsManagerForms:
    """`secretsmanager:` references and bare secret ARNs."""

    def test_whole_json_secret_fills_a_model(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str, aws_proxy: Any
    ) -> None:
        """A JSON secret named in the environment fills a nested model field with one request."""
        monkeypatch.setenv("APP_DATABASE", "secretsmanager:prod/db")
        settings = settings_class(database=Database)()
        assert settings.database.host == "db.internal"  # type: ignore[attr-defined]
        assert settings.database.port == 5433  # type: ignore[attr-defined]
        assert settings.database.password.get_secret_value() == "pw-1"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_string_secret_fills_a_string_field(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """A plain string secret is the field's value as it is."""
        sm.create_secret(Name="prod/token", SecretString="tok-123")
        monkeypatch.setenv("APP_TOKEN", "secretsmanager:prod/token")
        assert settings_class(token=SecretStr)().token.get_secret_value() == "tok-123"  # type: ignore[attr-defined]

    def test_binary_secret_fills_a_bytes_field(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """A binary secret arrives as bytes, unchanged, even when it is not UTF-8."""
        sm.create_secret(Name="prod/blob", SecretBinary=b"\xff\x00\x01")
        monkeypatch.setenv("APP_BLOB", "secretsmanager:prod/blob")
        assert settings_class(blob=bytes)().blob == b"\xff\x00\x01"  # type: ignore[attr-defined]

    def test_key_of_json_secret(self, monkeypatch: pytest.MonkeyPatch, db_secret: str) -> None:
        """`#KEY` takes one top-level key; a number is passed on as JSON and validates as an int."""
        monkeypatch.setenv("APP_PASSWORD", "secretsmanager:prod/db#password")
        monkeypatch.setenv("APP_PORT", "secretsmanager:prod/db#port")
        settings = settings_class(password=SecretStr, port=int)()
        assert settings.password.get_secret_value() == "pw-1"  # type: ignore[attr-defined]
        assert settings.port == 5433  # type: ignore[attr-defined]

    def test_stage_selects_previous_version(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str, aws_proxy: Any
    ) -> None:
        """`?stage=AWSPREVIOUS` with `#KEY` reads the previous version with its own GetSecretValue."""
        monkeypatch.setenv("APP_OLD", "secretsmanager:prod/db#password?stage=AWSPREVIOUS")
        monkeypatch.setenv("APP_NEW", "secretsmanager:prod/db#password")
        settings = settings_class(old=str, new=str)()
        assert (settings.old, settings.new) == ("old-pw", "pw-1")  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetSecretValue": 1}

    def test_version_id_selects_a_version(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """`?version=ID` reads exactly that version."""
        first = sm.create_secret(Name="prod/v", SecretString="one")["VersionId"]
        sm.put_secret_value(SecretId="prod/v", SecretString="two")
        monkeypatch.setenv("APP_V", f"secretsmanager:prod/v?version={first}")
        assert settings_class(v=str)().v == "one"  # type: ignore[attr-defined]

    def test_full_and_partial_arn(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str, aws_proxy: Any
    ) -> None:
        """A full ARN and a partial ARN (without the random suffix) name the same secret."""
        partial = db_secret.rsplit("-", 1)[0]
        monkeypatch.setenv("APP_A", f"secretsmanager:{db_secret}#host")
        monkeypatch.setenv("APP_B", f"secretsmanager:{partial}#username")
        settings = settings_class(a=str, b=str)()
        assert (settings.a, settings.b) == ("db.internal", "app")  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_bare_ecs_value_from_arn_with_empty_parts(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str
    ) -> None:
        """The ECS `valueFrom` form `ARN:KEY::` reads one key of the current version."""
        monkeypatch.setenv("APP_PASSWORD", f"{db_secret}:password::")
        monkeypatch.setenv("APP_OLD", f"{db_secret}:password:AWSPREVIOUS:")
        settings = settings_class(password=str, old=str)()
        assert (settings.password, settings.old) == ("pw-1", "old-pw")  # type: ignore[attr-defined]

    def test_arn_region_wins_over_the_option(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str, aws_proxy: Any
    ) -> None:
        """A secret ARN's region is the one asked, whatever the configured region is."""
        monkeypatch.setenv("PYDANTIC_AWS_REGION", "eu-west-1")
        monkeypatch.setenv("APP_HOST", f"secretsmanager:{db_secret}#host")
        assert settings_class(host=str)().host == "db.internal"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}


class TestParameterForms:
    """`ssm:` references and bare parameter ARNs."""

    def test_string_and_secure_string(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any, aws_proxy: Any
    ) -> None:
        """A String and a decrypted SecureString come back in one GetParameters request."""
        ssm.put_parameter(Name="/prod/url", Value="https://api", Type="String")
        ssm.put_parameter(Name="/prod/key", Value="s3cr3t", Type="SecureString")
        monkeypatch.setenv("APP_URL", "ssm:/prod/url")
        monkeypatch.setenv("APP_KEY", "ssm:/prod/key")
        settings = settings_class(url=str, key=SecretStr)()
        assert settings.url == "https://api"  # type: ignore[attr-defined]
        assert settings.key.get_secret_value() == "s3cr3t"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"GetParameters": 1}
        assert aws_proxy.requests[0][1]["WithDecryption"] is True

    def test_string_list_for_list_and_for_str(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """A StringList is a list for a list field and the comma-joined string for a str field."""
        ssm.put_parameter(Name="/prod/hosts", Value="a.com,b.com", Type="StringList")
        monkeypatch.setenv("APP_HOSTS", "ssm:/prod/hosts")
        monkeypatch.setenv("APP_JOINED", "ssm:/prod/hosts")
        settings = settings_class(hosts=list[str], joined=str)()
        assert settings.hosts == ["a.com", "b.com"]  # type: ignore[attr-defined]
        assert settings.joined == "a.com,b.com"  # type: ignore[attr-defined]

    def test_version_and_label_selectors(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """`name:VERSION` and `name:LABEL` select SSM's versions; each answers its own value."""
        ssm.put_parameter(Name="/prod/n", Value="v1", Type="String")
        ssm.put_parameter(Name="/prod/n", Value="v2", Type="String", Overwrite=True)
        ssm.label_parameter_version(Name="/prod/n", ParameterVersion=1, Labels=["stable"])
        monkeypatch.setenv("APP_FIRST", "ssm:/prod/n:1")
        monkeypatch.setenv("APP_STABLE", "ssm:/prod/n:stable")
        monkeypatch.setenv("APP_LATEST", "ssm:/prod/n")
        settings = settings_class(first=str, stable=str, latest=str)()
        assert (settings.first, settings.stable, settings.latest) == ("v1", "v1", "v2")  # type: ignore[attr-defined]

    def test_key_of_json_parameter(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """`ssm:NAME#KEY` takes one key of a parameter that holds JSON."""
        ssm.put_parameter(Name="/prod/json", Value=json.dumps({"timeout": 7, "mode": "fast"}), Type="String")
        monkeypatch.setenv("APP_TIMEOUT", "ssm:/prod/json#timeout")
        monkeypatch.setenv("APP_MODE", "ssm:/prod/json#mode")
        settings = settings_class(timeout=int, mode=str)()
        assert (settings.timeout, settings.mode) == (7, "fast")  # type: ignore[attr-defined]

    def test_path_fills_a_model_nested_on_slashes(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any, aws_proxy: Any
    ) -> None:
        """`ssm:/PATH/` reads every parameter below the path into a nested mapping."""
        ssm.put_parameter(Name="/prod/db/host", Value="h", Type="String")
        ssm.put_parameter(Name="/prod/db/username", Value="u", Type="String")
        ssm.put_parameter(Name="/prod/db/password", Value="p", Type="SecureString")
        monkeypatch.setenv("APP_DATABASE", "ssm:/prod/db/")
        settings = settings_class(database=Database)()
        assert settings.database.host == "h"  # type: ignore[attr-defined]
        assert settings.database.password.get_secret_value() == "p"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"GetParametersByPath": 1}

    def test_path_into_a_dict_of_dicts(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """Deeper parameters nest as mappings in a dict field."""
        ssm.put_parameter(Name="/flags/a/on", Value="true", Type="String")
        ssm.put_parameter(Name="/flags/b/on", Value="false", Type="String")
        monkeypatch.setenv("APP_FLAGS", "ssm:/flags/")
        assert settings_class(flags=dict[str, dict[str, bool]])().flags == {  # type: ignore[attr-defined]
            "a": {"on": True},
            "b": {"on": False},
        }

    def test_bare_parameter_arn(self, monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
        """A bare parameter ARN is a reference and reads the parameter."""
        ssm.put_parameter(Name="/prod/url", Value="https://api", Type="String")
        monkeypatch.setenv("APP_URL", f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/prod/url")
        assert settings_class(url=str)().url == "https://api"  # type: ignore[attr-defined]


class TestOptionalAndPlain:
    """`optional:` fallbacks and values that are not references."""

    def test_optional_missing_secret_falls_back_to_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing optional secret leaves the field to its default."""
        monkeypatch.setenv("APP_TOKEN", "optional:secretsmanager:prod/missing")
        assert settings_class(token=str)(token="fallback").token == "fallback"  # type: ignore[attr-defined]
        cls = type(
            "S",
            (AWSBaseSettings,),
            {
                "__annotations__": {"token": str},
                "token": "default",
                "model_config": SettingsConfigDict(env_prefix="APP_"),
            },
        )
        assert cls().token == "default"  # type: ignore[attr-defined]

    def test_optional_missing_key_falls_back_to_dotenv(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Any, db_secret: str
    ) -> None:
        """A missing key of an optional reference falls back to the next source, the dotenv file."""
        env_file = tmp_path / ".env"
        env_file.write_text("APP_TOKEN=from-dotenv\n")
        monkeypatch.setenv("APP_TOKEN", "optional:secretsmanager:prod/db#nokey")
        cls = type(
            "S",
            (AWSBaseSettings,),
            {
                "__annotations__": {"token": str},
                "model_config": SettingsConfigDict(env_prefix="APP_", env_file=env_file),
            },
        )
        assert cls().token == "from-dotenv"  # type: ignore[attr-defined]

    def test_optional_missing_parameter_falls_back_to_marker(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any
    ) -> None:
        """A missing optional parameter in the environment falls back to the declared marker."""
        ssm.put_parameter(Name="/declared/url", Value="declared", Type="String")
        monkeypatch.setenv("APP_URL", "optional:ssm:/missing/url")
        assert settings_class(url=Annotated[str, Parameter("/declared/url")])().url == "declared"  # type: ignore[attr-defined]

    def test_plain_values_and_foreign_arns_stay_plain(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """A plain value and an SNS topic ARN are used as they are, with no request."""
        topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
        monkeypatch.setenv("APP_LEVEL", "DEBUG")
        monkeypatch.setenv("APP_TOPIC", topic)
        settings = settings_class(level=str, topic=str)()
        assert (settings.level, settings.topic) == ("DEBUG", topic)  # type: ignore[attr-defined]
        assert aws_proxy.counts == {}


class TestMarkers:
    """References declared in code with `Parameter` and `SecretsManager`."""

    def test_markers_resolve_when_nothing_else_supplies(
        self, ssm: Any, db_secret: str, aws_proxy: Any
    ) -> None:
        """Both markers are fetched, one request per service."""
        ssm.put_parameter(Name="/prod/api/url", Value="https://api", Type="String")
        cls = settings_class(
            api_url=Annotated[str, Parameter("/prod/api/url")],
            db_password=Annotated[SecretStr, SecretsManager("prod/db", key="password")],
        )
        settings = cls()
        assert settings.api_url == "https://api"  # type: ignore[attr-defined]
        assert settings.db_password.get_secret_value() == "pw-1"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"GetParameters": 1, "BatchGetSecretValue": 1}

    def test_marker_not_fetched_when_environment_supplies(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """A marker whose field the environment supplies makes no request at all."""
        monkeypatch.setenv("APP_API_URL", "http://localhost")
        cls = settings_class(api_url=Annotated[str, Parameter("/prod/api/url")])
        assert cls().api_url == "http://localhost"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {}

    def test_optional_marker_falls_back_to_default(self, aws_proxy: Any) -> None:
        """An optional marker of a missing parameter leaves the default."""
        cls = type(
            "S",
            (AWSBaseSettings,),
            {
                "__annotations__": {"url": Annotated[str, Parameter("/missing", optional=True)]},
                "url": "default",
            },
        )
        assert cls().url == "default"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"GetParameters": 1}


class TestMarkerErrors:
    """A malformed marker fails when the class is defined, with the library's own error."""

    @pytest.mark.parametrize("secret_id", ["prod/db#password", "prod/db?stage=X", ""])
    def test_secrets_manager_marker_with_delimiters(self, secret_id: str) -> None:
        """A secret id holding `#`, `?` or nothing is an InvalidReferenceError, not a plain ValueError."""
        with pytest.raises(InvalidReferenceError):
            SecretsManager(secret_id)

    def test_parameter_marker_malformed(self) -> None:
        """A parameter name with a space is an InvalidReferenceError naming the marker."""
        with pytest.raises(InvalidReferenceError, match="marker"):
            Parameter("/bad name")


class TestFailures:
    """Failures are gathered into one ResolutionError naming field, variable, reference and code."""

    def test_every_failure_reported_together(self, monkeypatch: pytest.MonkeyPatch, db_secret: str) -> None:
        """A missing secret, a missing key, a missing parameter and a malformed reference: one error."""
        monkeypatch.setenv("APP_A", "secretsmanager:prod/nope")
        monkeypatch.setenv("APP_B", "secretsmanager:prod/db#nokey")
        monkeypatch.setenv("APP_C", "ssm:/nope")
        monkeypatch.setenv("app_d", "secretsmanager:")
        with pytest.raises(ResolutionError) as caught:
            settings_class(a=str, b=str, c=str, d=str)()
        failures = {f.field: f for f in caught.value.failures}
        assert failures["a"].code == "ResourceNotFoundException"
        assert failures["a"].variable == "APP_A"
        assert failures["b"].code == "KeyNotFound"
        assert failures["c"].code == "ParameterNotFound"
        assert failures["d"].code == "InvalidReference"
        assert failures["d"].variable == "app_d"
        text = str(caught.value)
        for needle in (
            "APP_A",
            "secretsmanager:prod/nope",
            "ResourceNotFoundException",
            "app_d",
            "ssm:/nope",
        ):
            assert needle in text

    def test_not_json_for_a_model_field(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """A secret that is not JSON, for a model field, is an InvalidJSON failure naming the field."""
        sm.create_secret(Name="prod/plain", SecretString="not json")
        monkeypatch.setenv("APP_DATABASE", "secretsmanager:prod/plain")
        with pytest.raises(ResolutionError) as caught:
            settings_class(database=Database)()
        assert [(f.field, f.code) for f in caught.value.failures] == [("database", "InvalidJSON")]

    def test_nested_variable_failure_names_dotted_field(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str
    ) -> None:
        """A reference in a nested variable is reported with the dotted field name."""
        monkeypatch.setenv("APP_DATABASE__PASSWORD", "secretsmanager:prod/db#nope")
        monkeypatch.setenv("APP_DATABASE__HOST", "h")
        monkeypatch.setenv("APP_DATABASE__USERNAME", "u")
        with pytest.raises(ResolutionError) as caught:
            settings_class(database=Database)()
        failure = caught.value.failures[0]
        assert (failure.field, failure.variable, failure.code) == (
            "database.password",
            "APP_DATABASE__PASSWORD",
            "KeyNotFound",
        )

    def test_nested_variable_reference_resolves(
        self, monkeypatch: pytest.MonkeyPatch, db_secret: str
    ) -> None:
        """A reference in a nested variable fills that one nested field."""
        monkeypatch.setenv("APP_DATABASE__PASSWORD", "secretsmanager:prod/db#password")
        monkeypatch.setenv("APP_DATABASE__HOST", "h")
        monkeypatch.setenv("APP_DATABASE__USERNAME", "u")
        settings = settings_class(database=Database)()
        assert settings.database.password.get_secret_value() == "pw-1"  # type: ignore[attr-defined]
        assert settings.database.host == "h"  # type: ignore[attr-defined]
