"""Operator mistakes and the command line.

`--version`, modules that cannot be imported, role ARNs, check's JSON values and validation errors.
"""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsError
from pydantic_aws_settings._role_arn import role_arn_problem
from pydantic_aws_settings._version import __version__
from pydantic_aws_settings.cli import check as check_command
from pydantic_aws_settings.cli import iam_policy as iam_policy_command
from pydantic_aws_settings.cli import main
from pydantic_aws_settings.cli._common import UsageError
from pydantic_aws_settings.cli._validation import _variables, validation_text
from pydantic_aws_settings.cli.check import MASK, _jsonable
from support.cli import run_cli

if TYPE_CHECKING:
    from pathlib import Path


class Text(AWSBaseSettings):
    """One plain text field fed by `MISTAKE_TEXT`."""

    model_config = SettingsConfigDict(env_prefix="MISTAKE_")
    text: str = "default"


class TestVersion:
    """`pydantic-aws-settings --version` prints the version."""

    def test_prints_the_version(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Exit 0, the program's name and `_version.__version__` on stdout."""
        with pytest.raises(SystemExit) as exited:
            main(["--version"])
        assert exited.value.code == 0
        assert capsys.readouterr().out == f"pydantic-aws-settings {__version__}\n"

    def test_from_the_console_script(self, tmp_path: Path) -> None:
        """The console script prints the same."""
        result = run_cli("--version", cwd=tmp_path)
        assert (result.returncode, result.stdout.strip()) == (0, f"pydantic-aws-settings {__version__}")


IMPORT_FAILURES = {
    "raises": ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    "syntax": ("def broken(:\n    pass\n", "SyntaxError"),
    "missing_dependency": ("import no_such_dependency_7c1\n", "No module named 'no_such_dependency_7c1'"),
    "exits": ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    "bad_marker": (
        "from typing import Annotated\n"
        "from pydantic_aws_settings import AWSBaseSettings, Parameter\n"
        "class S(AWSBaseSettings):\n"
        "    url: Annotated[str, Parameter('/a//b')]\n",
        "malformed reference 'ssm:/a//b'",
    ),
    "loads_at_import": (
        "from pydantic_settings import BaseSettings, SettingsConfigDict\n"
        "class S(BaseSettings):\n"
        "    model_config = SettingsConfigDict(env_prefix='IMPORTED_')\n"
        "    port: int\n"
        "settings = S()\n",
        "ValidationError for S: port: Input should be a valid integer",
    ),
}


class TestModulesThatCannotBeImported:
    """`check MODULE:CLASS` on a module that cannot be imported, for any reason: exit 2, naming it."""

    @pytest.mark.parametrize("name", sorted(IMPORT_FAILURES))
    def test_exit_2_naming_the_module(self, name: str, tmp_path: Path) -> None:
        """No traceback, exit status 2, the module and what stopped it named; no input value shown."""
        source, words = IMPORT_FAILURES[name]
        (tmp_path / f"broken_{name}.py").write_text(source)
        result = run_cli("check", f"broken_{name}:S", cwd=tmp_path, env={"IMPORTED_PORT": "not-a-port-4e1"})
        assert result.returncode == 2, result.stderr
        assert f"pydantic-aws-settings: cannot import 'broken_{name}': " in result.stderr
        assert words in result.stderr
        assert "Traceback" not in result.stderr
        assert "not-a-port-4e1" not in result.stderr

    def test_iam_policy_too(self, tmp_path: Path) -> None:
        """iam-policy imports the same way."""
        (tmp_path / "broken_too.py").write_text("1 / 0\n")
        result = run_cli("iam-policy", "broken_too:S", cwd=tmp_path)
        assert result.returncode == 2
        assert "cannot import 'broken_too': ZeroDivisionError: division by zero" in result.stderr


ROLE_APP = """
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings


class S(AWSBaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEAPP_")
    key: str = "none"


class Configured(AWSBaseSettings):
    model_config = SettingsConfigDict(env_prefix="ROLEAPP_", aws_role_arn="app-config")
    key: str = "none"
"""

ROLE = "arn:aws:iam::123456789012:role/app"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other"


class TestRoleArns:
    """A malformed role ARN is refused before anything, naming what to set."""

    @pytest.mark.parametrize(
        "text",
        [
            "app-config",
            "arn:aws",
            "arn:aws:iam::123:role/app",
            "arn:aws:iam:us-east-1:123456789012:role/app",
            "arn:aws:iam::123456789012:user/app",
            "arn:aws:sts::123456789012:assumed-role/app/session",
            "arn:nope:iam::123456789012:role/app",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/bad name",
            "arn:aws:iam::123456789012:role//app",
            "arn:aws:s3:::bucket",
        ],
    )
    def test_malformed(self, text: str) -> None:
        """Each names the expected shape."""
        problem = role_arn_problem(text)
        assert problem is not None
        assert problem.endswith("(expected arn:aws:iam::ACCOUNT:role/NAME)")

    @pytest.mark.parametrize(
        "text",
        [
            ROLE,
            "arn:aws:iam::123456789012:role/team/app",
            "arn:aws-cn:iam::123456789012:role/a+b=c,d.e@f_g-h",
        ],
    )
    def test_well_formed(self, text: str) -> None:
        """A role ARN, with or without a path, in any partition."""
        assert role_arn_problem(text) is None

    @pytest.mark.parametrize(
        ("args", "env", "where"),
        [
            (["iam-policy", "roleapp:S", "--role", "app-config"], {}, "--role"),
            (["iam-policy", "--env", "--role", "app-config"], {}, "--role"),
            (["iam-policy", "roleapp:S"], {"PYDANTIC_AWS_ROLE_ARN": "app-config"}, "PYDANTIC_AWS_ROLE_ARN"),
            (["iam-policy", "--env"], {"PYDANTIC_AWS_ROLE_ARN": "app-config"}, "PYDANTIC_AWS_ROLE_ARN"),
            (["iam-policy", "roleapp:Configured"], {}, "aws_role_arn (in the model_config of Configured"),
        ],
    )
    def test_iam_policy_refuses_it(
        self, args: list[str], env: dict[str, str], where: str, tmp_path: Path
    ) -> None:
        """Exit 2 naming what to set, and no policy (it used to grant sts:AssumeRole on 'app-config')."""
        (tmp_path / "roleapp.py").write_text(ROLE_APP)
        result = run_cli(*args, cwd=tmp_path, env=env)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert f"iam-policy: {where}" in result.stderr
        assert "'app-config' is not an ARN (expected arn:aws:iam::ACCOUNT:role/NAME)" in result.stderr

    def test_role_option_names_the_role_to_grant(self, tmp_path: Path) -> None:
        """`--role` is the role granted, over the options' own."""
        (tmp_path / "roleapp.py").write_text(ROLE_APP)
        result = run_cli(
            "iam-policy", "roleapp:S", "--role", ROLE, cwd=tmp_path, env={"PYDANTIC_AWS_ROLE_ARN": OTHER_ROLE}
        )
        assert result.returncode == 0, result.stderr
        [statement] = json.loads(result.stdout)["Statement"]
        assert (statement["Sid"], statement["Resource"]) == ("AssumeRole", [ROLE])

    def test_when_the_options_refuse_it_first(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Options that raise on a malformed role themselves: still exit 2, naming the variable."""

        def refuse(settings_cls: object) -> None:
            raise AWSSettingsError("PYDANTIC_AWS_ROLE_ARN: malformed")

        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", "app-config")
        monkeypatch.setattr(iam_policy_command, "class_references", refuse)
        with pytest.raises(UsageError, match=r"PYDANTIC_AWS_ROLE_ARN: 'app-config' is not an ARN"):
            iam_policy_command.iam_policy(Text)


class Shapes(AWSBaseSettings):
    """Fields of every JSON shape, fed by `SHAPES_*` or defaults."""

    model_config = SettingsConfigDict(env_prefix="SHAPES_")
    port: int = 5432
    ratio: float = 0.5
    enabled: bool = True
    hosts: list[str] = Field(default_factory=lambda: ["a", "b"])
    limits: dict[str, int] = Field(default_factory=lambda: {"max": 3})
    nothing: str | None = None
    token: SecretStr = SecretStr("tok-9a1")
    blob: bytes = b"blob-9a1"
    keys: dict[str, SecretStr] = Field(default_factory=lambda: {"k": SecretStr("key-9a1")})
    blobs: list[bytes] = Field(default_factory=lambda: [b"list-9a1"])
    when: datetime.date = datetime.date(2026, 1, 2)


class TestCheckJson:
    """`check --json` gives JSON values, secrets still masked."""

    def test_values_are_json_values(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Numbers as numbers, lists as lists, dicts as objects, None as null; secrets masked at any depth."""
        monkeypatch.setenv("SHAPES_PORT", "6543")
        monkeypatch.setenv("SHAPES_HOSTS", '["x.example.com"]')
        assert check_command.check(Shapes, as_json=True) == 0
        out = capsys.readouterr().out
        values = {row["field"]: row["value"] for row in json.loads(out)}
        assert values == {
            "port": 6543,
            "ratio": 0.5,
            "enabled": True,
            "hosts": ["x.example.com"],
            "limits": {"max": 3},
            "nothing": None,
            "token": MASK,
            "blob": MASK,
            "keys": {"k": MASK},
            "blobs": [MASK],
            "when": "2026-01-02",
        }
        assert "9a1" not in out

    def test_the_table_masks_secrets_inside_containers_too(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A bytes value inside a list is masked in the table as in the JSON."""
        assert check_command.check(Shapes) == 0
        out = capsys.readouterr().out
        assert "9a1" not in out
        assert '["********"]' in out

    def test_values_from_secrets_are_masked(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
    ) -> None:
        """A number from Secrets Manager is masked, not shown as a number."""
        sm.create_secret(Name="shapes/port", SecretString="7654")
        monkeypatch.setenv("SHAPES_PORT", "secretsmanager:shapes/port")
        assert check_command.check(Shapes, as_json=True) == 0
        [row] = [row for row in json.loads(capsys.readouterr().out) if row["field"] == "port"]
        assert row == {
            "field": "port",
            "origin": "env SHAPES_PORT",
            "reference": "secretsmanager:shapes/port",
            "value": MASK,
        }


class Endpoint(BaseModel):
    """A nested model, filled by a JSON secret or by `VALID_DB__*` variables."""

    host: str
    port: int


class Validated(AWSBaseSettings):
    """Settings whose validation fails in the tests below."""

    model_config = SettingsConfigDict(env_prefix="VALID_", env_nested_delimiter="__")
    port: int = 1
    name: str
    db: Endpoint | None = None


class TestValidationErrorsNameTheVariable:
    """`check` prints each validation error with the variable its value came from, never the value."""

    def errors(self, capsys: pytest.CaptureFixture[str]) -> str:
        """Run check on `Validated`, expecting exit 1; return stderr."""
        assert check_command.check(Validated) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        return captured.err

    def test_a_plain_variable(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An environment value that does not validate: its variable, not its value."""
        monkeypatch.setenv("VALID_PORT", "port-7f3")
        monkeypatch.setenv("VALID_NAME", "app")
        err = self.errors(capsys)
        assert "  port: Input should be a valid integer" in err
        assert "[type=int_parsing] (from VALID_PORT)" in err
        assert "port-7f3" not in err

    def test_a_fetched_value(self, sm: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        """A secret that does not validate: the variable and the reference."""
        sm.create_secret(Name="valid/port", SecretString="secret-7f3")
        monkeypatch.setenv("VALID_PORT", "secretsmanager:valid/port")
        monkeypatch.setenv("VALID_NAME", "app")
        err = self.errors(capsys)
        assert "(from VALID_PORT = 'secretsmanager:valid/port')" in err
        assert "secret-7f3" not in err

    def test_a_nested_variable(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A nested key set by its own variable is named by it, not by the first of its siblings."""
        monkeypatch.setenv("VALID_NAME", "app")
        monkeypatch.setenv("VALID_DB__HOST", "db.internal")
        monkeypatch.setenv("VALID_DB__PORT", "nested-7f3")
        err = self.errors(capsys)
        assert "  db.port: Input should be a valid integer" in err
        assert "(from VALID_DB__PORT)" in err
        assert "nested-7f3" not in err

    def test_a_missing_field_names_what_to_set(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A required field nothing supplied: the variables that would; a nested one, most specific first."""
        monkeypatch.setenv("VALID_DB__PORT", "5432")
        err = self.errors(capsys)
        assert "  name: Field required [type=missing] (set VALID_NAME)" in err
        assert "  db.host: Field required [type=missing] (set VALID_DB__HOST or VALID_DB)" in err

    def test_a_key_missing_from_a_secret(self, sm: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        """A JSON secret without a key the model needs: the reference that lacks it."""
        sm.create_secret(Name="valid/db", SecretString=json.dumps({"port": 5432}))
        monkeypatch.setenv("VALID_DB", "secretsmanager:valid/db")
        monkeypatch.setenv("VALID_NAME", "app")
        err = self.errors(capsys)
        assert "  db.host: Field required [type=missing] (from VALID_DB = 'secretsmanager:valid/db')" in err

    def test_without_origins_the_error_is_unchanged(self) -> None:
        """No origins, no class: the lines pydantic gives, without a source."""
        with pytest.raises(ValidationError) as caught:
            Validated(port="x")  # type: ignore[arg-type]
        text = validation_text(caught.value)
        assert text.splitlines()[1:] == [
            "  port: Input should be a valid integer, unable to parse string as an integer"
            " [type=int_parsing]",
            "  name: Field required [type=missing]",
        ]


class TestLeftovers:
    """Corners of the changes above."""

    def test_json_has_no_nan(self) -> None:
        """A float JSON cannot hold is written as text."""
        assert [_jsonable(float("nan")), _jsonable(float("inf")), _jsonable(1.5)] == ["nan", "inf", 1.5]

    def test_an_option_error_outside_a_load_exits_1(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An AWSSettingsError a command does not catch itself: printed, exit 1."""

        def refuse(settings_cls: object, **options: object) -> int:
            raise AWSSettingsError("PYDANTIC_AWS_MAX_WORKERS: expected an integer")

        monkeypatch.setattr(iam_policy_command, "iam_policy", refuse)
        assert main(["iam-policy", "--env"]) == 1
        err = capsys.readouterr().err
        assert "pydantic-aws-settings: PYDANTIC_AWS_MAX_WORKERS: expected an integer" in err

    def test_a_missing_key_of_an_unknown_location_has_no_hint(self) -> None:
        """A location that is no field (a model validator's error): no variable to name."""
        assert _variables(Validated, ["nope"]) == []
