"""Operator mistakes inside a load: the escape, whole JSON objects, not found, no region, roles, deep JSON.

Also each leaf's own origin in `check`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import BaseModel, Json, SecretBytes, SecretStr
from pydantic_settings import NoDecode, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsError, ResolutionError, SecretsManager
from pydantic_aws_settings.cli.exec import resolve_environment
from pydantic_aws_settings.source import recording_origins
from pydantic_aws_settings.testing import FakeAWS

if TYPE_CHECKING:
    from pathlib import Path

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


class TestEscapeInTheSource:
    """`plain:TEXT` in a variable is the plain value TEXT, and no request is sent for it."""

    def test_env(self, monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
        """Env."""
        monkeypatch.setenv("SRC_TEXT", "plain:SSM:/prod/url")
        with recording_origins() as origins:
            assert App().text == "SSM:/prod/url"
        assert (origins["text"].kind, origins["text"].variable, origins["text"].reference) == (
            "env",
            "SRC_TEXT",
            None,
        )
        assert sum(aws_env.counts.values()) == 0

    def test_nested_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Nested variable."""
        monkeypatch.setenv("SRC_DATABASE__HOST", "plain:secretsmanager:prod/db")
        settings = App()
        assert settings.database is not None
        assert settings.database.host == "secretsmanager:prod/db"

    def test_dotenv(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Dotenv."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text("SRC_TEXT=plain:secretmanager:prod/db\n")

        class Dotenv(App):
            model_config = SettingsConfigDict(env_file=".env")

        with recording_origins() as origins:
            assert Dotenv().text == "secretmanager:prod/db"
        assert origins["text"].kind == "dotenv"

    def test_a_plain_value_is_unchanged(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Only a value that starts with `plain:` is unescaped."""
        monkeypatch.setenv("SRC_TEXT", "Plain: words")
        assert App().text == "Plain: words"


class TestWholeJSONObject:
    """A JSON object fed whole into a scalar field is an error naming its keys, suggesting `#KEY`."""

    @pytest.mark.parametrize(
        "field", ["text", "password", "blob", "secret_blob", "number", "ratio", "amount"]
    )
    def test_scalar_fields(self, field: str, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Scalar fields."""
        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))
        monkeypatch.setenv(f"SRC_{field.upper()}", "secretsmanager:prod/db")
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert (failure.field, failure.variable, failure.code) == (
            field,
            f"SRC_{field.upper()}",
            "WholeJSONObject",
        )
        assert "(keys: host, password, username)" in failure.detail
        assert "#KEY" in failure.detail
        assert "Annotated[str, NoDecode]" in failure.detail

    def test_suggests_the_key_the_field_is_named_after(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Suggests the key the field is named after."""
        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))
        monkeypatch.setenv("SRC_PASSWORD", "secretsmanager:prod/db?stage=AWSCURRENT")
        with pytest.raises(ResolutionError) as caught:
            App()
        assert "(secretsmanager:prod/db#password?stage=AWSCURRENT)" in failure_of(caught).detail

    def test_a_parameter(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A parameter."""
        ssm.put_parameter(Name="/prod/cfg", Value='{"url": "https://x", "b": 1}', Type="String")
        monkeypatch.setenv("SRC_TEXT", "ssm:/prod/cfg")
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert failure.code == "WholeJSONObject"
        assert "the parameter is a JSON object (keys: b, url)" in failure.detail

    def test_a_marker(self, sm: Any) -> None:
        """A marker."""
        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))

        class Marked(AWSBaseSettings):
            password: Annotated[SecretStr, SecretsManager("prod/db")]

        with pytest.raises(ResolutionError) as caught:
            Marked()
        assert failure_of(caught).variable == "declared on Marked.password"

    def test_the_escape_takes_the_whole_text(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """`Annotated[str, NoDecode]`: the JSON text, as it is."""
        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))
        monkeypatch.setenv("SRC_WHOLE", "secretsmanager:prod/db")
        assert json.loads(App().whole or "") == DB

    def test_dict_model_and_json_fields_are_unaffected(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Dict model and json fields are unaffected."""
        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))
        for name in ("MAPPING", "AS_JSON", "DATABASE"):
            monkeypatch.setenv(f"SRC_{name}", "secretsmanager:prod/db")
        settings = App()
        assert settings.mapping == settings.as_json == DB
        assert settings.database is not None
        assert settings.database.host == "db.internal"

    def test_text_and_arrays_are_unaffected(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Text and arrays are unaffected."""
        sm.create_secret(Name="a", SecretString="{not json")
        sm.create_secret(Name="b", SecretString="[1, 2]")
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:a")
        monkeypatch.setenv("SRC_PASSWORD", "secretsmanager:b")
        settings = App()
        assert settings.text == "{not json"
        assert settings.password is not None
        assert settings.password.get_secret_value() == "[1, 2]"


class TestNotFound:
    """A reference that does not exist says where it was looked for; a missing `#KEY` lists the keys."""

    def test_secret(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Secret."""
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/missing")
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert failure.code == "ResourceNotFoundException"
        assert failure.detail == f"secret prod/missing not found {WHERE}"

    def test_parameter(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Parameter."""
        monkeypatch.setenv("SRC_TEXT", "ssm:/prod/missing")
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert failure.code == "ParameterNotFound"
        assert failure.detail == f"parameter /prod/missing not found {WHERE}"
        assert "InvalidParameters" not in str(caught.value)

    def test_the_region_and_account_of_an_arn(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """The region and account of an arn."""
        arn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf"
        monkeypatch.setenv("SRC_TEXT", f"secretsmanager:{arn}")
        with pytest.raises(ResolutionError) as caught:
            App()
        assert "in region eu-west-1 (account 111122223333)" in failure_of(caught).detail

    def test_the_region_option_and_a_profile(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """The region option and a profile."""
        (tmp_path / "aws_credentials").write_text("[ops]\naws_access_key_id = a\naws_secret_access_key = b\n")
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        monkeypatch.setenv("AWS_PROFILE", "ops")
        monkeypatch.setenv("PYDANTIC_AWS_REGION", "us-west-2")
        monkeypatch.setenv("SRC_TEXT", "ssm:/prod/missing:3")
        with pytest.raises(ResolutionError) as caught:
            App()
        detail = failure_of(caught).detail
        assert detail.startswith("parameter /prod/missing version 3 ")
        assert detail.endswith("in region us-west-2 (account unknown), credentials from profile ops")

    def test_an_assumed_role(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """An assumed role."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/missing")
        with pytest.raises(ResolutionError) as caught:
            App()
        assert failure_of(caught).detail.endswith(
            f"credentials from role {ROLE} assumed with environment variables"
        )

    def test_a_missing_key_lists_the_keys(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A missing key lists the keys."""
        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/db#passwd")
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert failure.detail == "the JSON object has no key 'passwd' (keys: host, password, username)"

    def test_through_fake_aws(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Through fake aws."""
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/missing")
        with FakeAWS(region="eu-central-1"), pytest.raises(ResolutionError) as caught:
            App()
        detail = failure_of(caught).detail
        assert detail.startswith("secret prod/missing not found in region us-east-1 (account unknown)")
        assert "FakeAWS" in detail

    def test_exec_says_parameter_not_found(self, ssm: Any) -> None:
        """The fetcher's own words, which `exec` shows: not API jargon."""
        with pytest.raises(ResolutionError) as caught:
            resolve_environment({"APP_URL": "ssm:/prod/missing"})
        assert caught.value.failures[0].detail == "parameter /prod/missing not found"


class TestNoRegion:
    """No region anywhere is an error naming what to set, before any request."""

    @pytest.fixture(autouse=True)
    def no_region(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No region."""
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.delenv("AWS_DEFAULT_REGION")

    def test_refused_before_any_request(self, monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
        """Refused before any request."""
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/db")
        monkeypatch.setenv("SRC_NUMBER", "ssm:/prod/n")
        with pytest.raises(ResolutionError) as caught:
            App()
        assert [(f.field, f.code) for f in caught.value.failures] == [
            ("text", "NoRegion"),
            ("number", "NoRegion"),
        ]
        assert "set PYDANTIC_AWS_REGION (or AWS_REGION, AWS_DEFAULT_REGION" in str(caught.value)
        assert "You must specify a region" not in str(caught.value)
        assert sum(aws_env.counts.values()) == 0

    def test_an_arn_names_its_region(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """An arn names its region."""
        created = sm.create_secret(Name="prod/db", SecretString="x")
        monkeypatch.setenv("SRC_TEXT", f"secretsmanager:{created['ARN']}")
        assert App().text == "x"

    def test_the_profile_region(self, sm: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """The profile region."""
        sm.create_secret(Name="prod/db", SecretString="x")
        (tmp_path / "aws_config").write_text("[profile ops]\nregion = us-east-1\n")
        monkeypatch.setenv("AWS_PROFILE", "ops")
        (tmp_path / "aws_credentials").write_text("[ops]\naws_access_key_id = a\naws_secret_access_key = b\n")
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/db")
        assert App().text == "x"

    def test_the_default_profile_region(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """`[default]` of the config file, as botocore reads it; the file read again once it changes."""
        ssm.put_parameter(Name="/prod/n", Value="7", Type="String")
        config = tmp_path / "aws_config"
        config.write_text("[default]\nregion = us-east-1\n")
        monkeypatch.setenv("SRC_NUMBER", "ssm:/prod/n")
        assert App().number == 7
        config.write_text("[default]\noutput = json\n")
        os.utime(config, ns=(0, 10**9))  # a new modification time, whatever the clock's resolution
        with pytest.raises(ResolutionError) as caught:
            App()
        assert failure_of(caught).code == "NoRegion"

    def test_fake_aws_needs_none(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Fake aws needs none."""
        monkeypatch.setenv("SRC_TEXT", "secretsmanager:prod/db")
        with FakeAWS(secrets={"prod/db": "x"}):
            assert App().text == "x"

    def test_no_reference_needs_none(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """No reference needs none."""
        monkeypatch.setenv("SRC_TEXT", "plain value")
        assert App().text == "plain value"

    def test_botocore_is_not_imported(self, tmp_path: Path) -> None:
        """The check reads the environment and the config file, nothing of botocore's."""
        code = (
            "import sys\n"
            "from pydantic_aws_settings import AWSBaseSettings, ResolutionError\n"
            "class S(AWSBaseSettings):\n    x: str = ''\n"
            "try:\n    S()\nexcept ResolutionError as exc:\n    print(exc.failures[0].code)\n"
            "print('botocore' in sys.modules)\n"
        )
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, "X": "ssm:/x"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.stdout.split() == ["NoRegion", "False"], result.stderr


class TestRoleArn:
    """A malformed role ARN is an error naming where it was set, before any request."""

    def test_the_variable(self, monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
        """The variable."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", "app-config")
        monkeypatch.setenv("SRC_TEXT", "ssm:/x")
        with pytest.raises(AWSSettingsError, match=r"^PYDANTIC_AWS_ROLE_ARN: 'app-config' is not an ARN"):
            App()
        assert sum(aws_env.counts.values()) == 0

    def test_model_config(self) -> None:
        """Model config."""

        class Configured(AWSBaseSettings):
            model_config = SettingsConfigDict(aws_role_arn="arn:aws:iam::123:role/app")  # type: ignore[typeddict-unknown-key]

        with pytest.raises(AWSSettingsError, match=r"^model_config\['aws_role_arn'\]: the account in"):
            Configured()


class TestDeepJSON:
    """JSON nested 5,000 deep for a field that decodes JSON is InvalidJSON naming field and variable."""

    def test_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Env."""
        monkeypatch.setenv("SRC_MAPPING", DEEP)
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert (failure.field, failure.variable, failure.code) == ("mapping", "SRC_MAPPING", "InvalidJSON")
        assert DEEP not in str(caught.value)

    def test_nested_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Nested variable."""

        class Nested(BaseModel):
            items: list[Any] = []

        class Deep(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="SRC_", env_nested_delimiter="__")
            nested: Nested | None = None

        monkeypatch.setenv("SRC_NESTED__ITEMS", DEEP)
        with pytest.raises(ResolutionError) as caught:
            Deep()
        assert (failure_of(caught).field, failure_of(caught).code) == ("nested.items", "InvalidJSON")

    @pytest.mark.parametrize("field", ["MAPPING", "DATABASE"])
    def test_a_whole_fetched_value(self, field: str, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A whole fetched value."""
        sm.create_secret(Name="deep", SecretString=DEEP)
        monkeypatch.setenv(f"SRC_{field}", "secretsmanager:deep")
        with pytest.raises(ResolutionError) as caught:
            App()
        failure = failure_of(caught)
        assert (failure.variable, failure.code) == (f"SRC_{field}", "InvalidJSON")
        assert "nested too deeply" in failure.detail

    def test_a_text_field_takes_it_as_text(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A text field takes it as text."""
        monkeypatch.setenv("SRC_TEXT", DEEP)
        assert App().text == DEEP


class TestLeafOrigins:
    """`check` names each leaf's own origin: a nested variable over a secret, and a model default."""

    def test_a_nested_variable_over_a_secret(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """The override is env SRC_DATABASE__HOST, unmasked; the secret's key masked; port the default."""
        from pydantic_aws_settings.cli.check import json_rows

        sm.create_secret(Name="prod/db", SecretString=json.dumps(DB))
        monkeypatch.setenv("SRC_DATABASE", "secretsmanager:prod/db")
        monkeypatch.setenv("SRC_DATABASE__HOST", "localhost")
        with recording_origins() as origins:
            settings = App()
        rows = {row["field"]: row for row in json_rows(settings, origins)}
        assert rows["database.host"] == {
            "field": "database.host",
            "origin": "env SRC_DATABASE__HOST",
            "reference": "",
            "value": "localhost",
        }
        assert rows["database.password"]["origin"] == "env SRC_DATABASE"
        assert rows["database.password"]["reference"] == "secretsmanager:prod/db"
        assert rows["database.password"]["value"] == "********"
        assert (rows["database.port"]["origin"], rows["database.port"]["value"]) == ("default", 5432)
        assert rows["text"]["origin"] == "default"
        assert CANARY not in json.dumps(list(rows.values()))

    def test_a_nested_reference_and_a_lower_layer(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """A nested reference is its own origin; a dotenv leaf the environment does not hold stays dotenv."""
        from pydantic_aws_settings.cli.check import rows_for

        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text("SRC_DATABASE__PORT=6543\n")
        sm.create_secret(Name="prod/pw", SecretString=CANARY)

        class Dotenv(App):
            model_config = SettingsConfigDict(env_file=".env")

        monkeypatch.setenv("SRC_DATABASE__HOST", "db")
        monkeypatch.setenv("SRC_DATABASE__PASSWORD", "secretsmanager:prod/pw")
        with recording_origins() as origins:
            settings = Dotenv()
        rows = {row[0]: row[1:] for row in rows_for(settings, origins)}
        assert rows["database.host"] == ("env SRC_DATABASE__HOST", "", "db")
        assert rows["database.password"] == (
            "env SRC_DATABASE__PASSWORD",
            "secretsmanager:prod/pw",
            "********",
        )
        assert rows["database.port"][0].startswith("dotenv SRC_DATABASE__PORT")
