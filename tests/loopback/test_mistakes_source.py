"""Operator mistakes inside a load: the escape, whole JSON objects, not found, no region, roles, deep JSON.

Also each leaf's own origin in `check`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, SecretsManager
from pydantic_aws_settings.cli.exec import resolve_environment
from pydantic_aws_settings.source import recording_origins
from pydantic_aws_settings.testing import FakeAWS

if TYPE_CHECKING:
    from pathlib import Path

from support.mistakes import DB, ROLE, WHERE, App, failure_of


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
