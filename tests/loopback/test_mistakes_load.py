"""Operator mistakes before and around a load: no region, a malformed role, deep JSON, each leaf's origin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsError, ResolutionError
from pydantic_aws_settings.cli.exec import resolve_environment
from pydantic_aws_settings.source import recording_origins
from pydantic_aws_settings.testing import FakeAWS

if TYPE_CHECKING:
    from pathlib import Path

from support.mistakes import CANARY, DB, DEEP, App, failure_of


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

    def test_exec_says_what_to_set(self, monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
        """`exec` refuses a region-less reference with the load's words, before any request."""
        environ = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
        environ["APP_DB"] = "secretsmanager:prod/db"
        with pytest.raises(ResolutionError) as caught:
            resolve_environment(environ)
        assert [(f.field, f.code) for f in caught.value.failures] == [("APP_DB", "NoRegion")]
        assert "set PYDANTIC_AWS_REGION (or AWS_REGION" in str(caught.value)
        assert "You must specify a region" not in str(caught.value)
        assert sum(aws_env.counts.values()) == 0

    def test_exec_with_an_arn_or_the_option(self, sm: Any) -> None:
        """An ARN names its region; `PYDANTIC_AWS_REGION` in the environment passed to exec is enough."""
        created = sm.create_secret(Name="prod/db", SecretString="x")
        environ = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
        assert resolve_environment({**environ, "A": f"secretsmanager:{created['ARN']}"})["A"] == "x"
        resolved = resolve_environment(
            {**environ, "A": "secretsmanager:prod/db", "PYDANTIC_AWS_REGION": "us-east-1"}
        )
        assert resolved["A"] == "x"


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
