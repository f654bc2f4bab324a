"""Operator mistakes are errors, not values: near-miss references, the escape, and the checks around them."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import (
    AWSBaseSettings,
    AWSSettingsError,
    InvalidReferenceError,
    ResolutionError,
    invalidate_field,
    values,
)
from pydantic_aws_settings._role_arn import role_arn_problem
from pydantic_aws_settings._version import __version__
from pydantic_aws_settings.cli import check as check_command
from pydantic_aws_settings.cli import iam_policy as iam_policy_command
from pydantic_aws_settings.cli import main
from pydantic_aws_settings.cli._common import UsageError
from pydantic_aws_settings.cli._validation import validation_text
from pydantic_aws_settings.cli.check import MASK
from pydantic_aws_settings.cli.exec import resolve_environment
from pydantic_aws_settings.fetch import Fetched
from pydantic_aws_settings.references import Reference, looks_like_reference, parse_reference, unescape
from pydantic_aws_settings.values import extract

SCRIPT = Path(sys.executable).with_name("pydantic-aws-settings")
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
PARAMETER_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/url"


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script with the test's environment plus `env`."""
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def parse(text: str) -> Reference:
    """A reference that parses."""
    ref = parse_reference(text)
    assert ref is not None
    return ref


class Text(AWSBaseSettings):
    """One plain text field fed by `MISTAKE_TEXT`."""

    model_config = SettingsConfigDict(env_prefix="MISTAKE_")
    text: str = "default"


NEAR_MISSES = [
    ("secretmanager:prod/db", "secretsmanager:"),
    ("secrets-manager:prod/db", "secretsmanager:"),
    ("secrets_manager:prod/db", "secretsmanager:"),
    ("SecretsManager:prod/db", "secretsmanager:"),
    ("Secretsmanager:prod/db", "secretsmanager:"),
    ("SECRETSMANAGER:prod/db", "secretsmanager:"),
    ("secretsmanger:prod/db", "secretsmanager:"),
    ("secretsmanager;prod/db", "secretsmanager:"),
    ("aws-secretsmanager:prod/db", "secretsmanager:"),
    ("ssm;/prod/url", "ssm:"),
    ("SSM:/prod/url", "ssm:"),
    ("Ssm:/prod/url", "ssm:"),
    ("parameter:/prod/url", "ssm:"),
    ("Parameters:/prod/url", "ssm:"),
    ("parameter-store:/prod/url", "ssm:"),
    ("aws-parameterstore:/prod/url", "ssm:"),
    ("paramter:/prod/url", "ssm:"),
    ("Optional:ssm:/prod/url", "optional:"),
    ("OPTIONAL:ssm:/prod/url", "optional:"),
    ("optinal:ssm:/prod/url", "optional:"),
]

ARN_NEAR_MISSES = [
    "arn:aws:secretmanager:us-east-1:123456789012:secret:prod/db",
    "arn:aws:secrets-manager:us-east-1:123456789012:secret:prod/db",
    "arn:aws:secretsmanagerx:us-east-1:123456789012:secret:db",
    "arn:unknown:secretsmanager:us-east-1:123456789012:secret:db",
    "ARN:aws:secretsmanager:us-east-1:123456789012:secret:db",
    "arn:aws:ssm:us-east-1:parameter/prod/url",
    "arn:aws:ssm:us-east-1:123456789012:parameters/prod/url",
    "arn:aws:ssm:us-east-1:123456789012:Parameter/prod/url",
    "arn:aws:SSM:us-east-1:123456789012:parameter/prod/url",
]

PLAIN = [
    "ssm",
    "secretsmanager",
    "sm:prod/db",
    "sms:+15550100",
    "ssmx:/a",
    "param:x",
    "https://example.com/x?a=b#c",
    "postgres://user:pw@host:5432/db",
    "Optional: set this to enable the feature",
    "Parameter: see the runbook",
    "Second: value",
    "arn:aws:sns:us-east-1:123456789012:my-topic",
    "arn:aws:ssm:us-east-1:123456789012:document/Set-Parameter",
    "arn:aws:ssm:us-east-1:123456789012:document/MyDoc",
    "arn:aws:secretsmanager",
    "'quoted plain text'",
    " leading space",
]


class TestNearMisses:
    """A value that looks like a misspelt reference raises, naming the form it probably meant."""

    @pytest.mark.parametrize(("text", "meant"), NEAR_MISSES)
    def test_names_the_form_it_meant(self, text: str, meant: str) -> None:
        """The error names the variable and suggests the right prefix; the cheap test lets it through."""
        assert looks_like_reference(text)
        with pytest.raises(InvalidReferenceError) as caught:
            parse_reference(text, variable="APP_DB")
        assert f"did you mean `{meant}`?" in caught.value.reason
        assert "plain:" in caught.value.reason
        assert str(caught.value).startswith("APP_DB: ")

    @pytest.mark.parametrize("text", ARN_NEAR_MISSES)
    def test_arns_that_do_not_parse(self, text: str) -> None:
        """A Secrets Manager ARN (or one spelt like it) or a parameter ARN that does not parse raises."""
        assert looks_like_reference(text)
        with pytest.raises(InvalidReferenceError, match="ARN but is not one") as caught:
            parse_reference(text)
        assert ("arn:PARTITION:secretsmanager:" in caught.value.reason) or (
            "arn:PARTITION:ssm:" in caught.value.reason
        )

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ('"ssm:/prod/url"', "quotes before `ssm:`"),
            ("'secretsmanager:prod/db'", "quotes before `secretsmanager:`"),
            (" ssm:/prod/url", "whitespace before `ssm:`"),
            ("\tsecretsmanager:prod/db", "whitespace before `secretsmanager:`"),
            (f" {SECRET_ARN}", "whitespace before an ARN"),
            (f'"{PARAMETER_ARN}"', "quotes before an ARN"),
        ],
    )
    def test_quotes_and_whitespace_before_a_reference(self, text: str, words: str) -> None:
        """A reference behind quotes or whitespace (a dotenv or compose file quoting) is an error."""
        assert looks_like_reference(text)
        with pytest.raises(InvalidReferenceError, match=words):
            parse_reference(text)

    @pytest.mark.parametrize(("inner", "meant"), [("SSM:x", "`ssm:`"), (" ssm:x", "whitespace")])
    def test_after_optional(self, inner: str, meant: str) -> None:
        """`optional:` before a near miss: the error says what follows is no reference, and why."""
        with pytest.raises(InvalidReferenceError) as caught:
            parse_reference(f"optional:{inner}")
        assert caught.value.reason.startswith("optional: must be followed by a reference: ")
        assert meant in caught.value.reason

    @pytest.mark.parametrize("text", PLAIN)
    def test_legitimate_plain_values_stay_plain(self, text: str) -> None:
        """URLs, words, prose with a colon and ARNs of other resources are not near misses."""
        assert parse_reference(text) is None

    def test_from_the_environment_names_the_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Through a settings load: a ResolutionError naming the field, the variable and the fix."""
        monkeypatch.setenv("MISTAKE_TEXT", "SSM:/prod/url")
        with pytest.raises(ResolutionError) as caught:
            Text()
        [failure] = caught.value.failures
        assert (failure.field, failure.variable, failure.code) == ("text", "MISTAKE_TEXT", "InvalidReference")
        assert "did you mean `ssm:`?" in failure.detail


class TestEscape:
    """`plain:TEXT` is the plain value TEXT, whatever TEXT looks like."""

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("plain:SSM:/prod/url", "SSM:/prod/url"),
            ("plain:secretsmanager:prod/db", "secretsmanager:prod/db"),
            ("plain:", ""),
            ("plain:plain:x", "plain:x"),
        ],
    )
    def test_escaped_text_is_plain(self, text: str, value: str) -> None:
        """The grammar takes it as plain, and `unescape` gives the value."""
        assert looks_like_reference(text)
        assert parse_reference(text) is None
        assert unescape(text) == value

    @pytest.mark.parametrize("text", ["SSM:x", "plain", "Plain:x", " plain:x", "ssm:/x"])
    def test_other_texts_are_not_escaped(self, text: str) -> None:
        """Only a value that starts with `plain:` exactly is escaped."""
        assert unescape(text) is None

    def test_optional_escape_is_no_reference(self) -> None:
        """`optional:plain:x` is an error: the escape is not a reference."""
        with pytest.raises(InvalidReferenceError, match=r"optional: must be followed by a reference$"):
            parse_reference("optional:plain:x")

    def test_exec_resolves_the_escape_and_refuses_near_misses(self) -> None:
        """`exec` passes an escaped value on unescaped, and refuses a near miss, naming the variable."""
        environ = {"APP_A": "plain:SSM:/x", "APP_B": "DEBUG", "OTHER": "plain:y", "PYDANTIC_AWS_X": "plain:z"}
        resolved = resolve_environment(environ, only=["APP_"])
        assert resolved == {**environ, "APP_A": "SSM:/x"}
        assert resolve_environment(environ)["OTHER"] == "y"
        with pytest.raises(ResolutionError) as caught:
            resolve_environment({"APP_C": "ssm;/x"})
        assert [(f.variable, f.code) for f in caught.value.failures] == [("APP_C", "InvalidReference")]
        assert "did you mean `ssm:`?" in str(caught.value)

    def test_exec_runs_the_command_with_the_unescaped_value(self, tmp_path: Path) -> None:
        """From the console script: the child sees TEXT."""
        code = "import json, os; print(json.dumps(os.environ.get('APP_A')))"
        result = run_cli(
            "exec", "--", sys.executable, "-c", code, cwd=tmp_path, env={"APP_A": "plain:SSM:/x"}
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == "SSM:/x"


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
            "iam-policy", "roleapp:S", "--role", ROLE, cwd=tmp_path, env={"PYDANTIC_AWS_ROLE_ARN": "x"}
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


DEEP = '{"k": ' + "[" * 5000 + "]" * 5000 + "}"


class TestDeepJson:
    """JSON nested deeper than Python's recursion limit is an InvalidJSON failure, not a RecursionError."""

    def test_behind_a_key(self) -> None:
        """`#KEY` on a value nested 5,000 deep."""
        value, problem = extract(parse("secretsmanager:deep#k"), Fetched(DEEP, "SecretString"))
        assert value is None
        assert problem is not None
        assert (problem.code, problem.message) == (
            "InvalidJSON",
            "#k needs a JSON object, and the value is JSON nested too deeply to decode",
        )

    def test_when_writing_the_key_back(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A key's value that decodes but cannot be written back out as JSON text."""

        def too_deep(value: object) -> str:
            raise RecursionError

        monkeypatch.setattr(values, "json_text", too_deep)
        _, problem = extract(parse("ssm:/x#k"), Fetched('{"k": [1]}', "String"))
        assert problem is not None
        assert (problem.code, problem.message) == (
            "InvalidJSON",
            "the value of #k is JSON nested too deeply to decode",
        )

    def test_below_a_path(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Parameters below a path that cannot be written as one JSON object."""

        def too_deep(flat: object) -> dict[str, object]:
            raise RecursionError

        monkeypatch.setattr(values, "nest", too_deep)
        _, problem = extract(parse("ssm:/x/"), Fetched({"/x/a": Fetched("1", "String")}, "String"))
        assert problem is not None
        assert problem.code == "InvalidJSON"

    def test_in_a_load_names_the_field_and_variable(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Through a settings load: the usual ResolutionError, naming field, variable and reference."""
        sm.create_secret(Name="deep/json", SecretString=DEEP)
        monkeypatch.setenv("MISTAKE_TEXT", "secretsmanager:deep/json#k")
        with pytest.raises(ResolutionError) as caught:
            Text()
        [failure] = caught.value.failures
        assert (failure.field, failure.variable, failure.reference, failure.code) == (
            "text",
            "MISTAKE_TEXT",
            "secretsmanager:deep/json#k",
            "InvalidJSON",
        )
        assert "nested too deeply" in failure.detail


class Invalidated(AWSBaseSettings):
    """Fields `invalidate_field` is asked about."""

    model_config = SettingsConfigDict(env_prefix="INVALIDATED_", env_nested_delimiter="__")
    password: str = "x"
    db: Endpoint | None = None
    limits: dict[str, int] = Field(default_factory=dict)


class TestInvalidateField:
    """`invalidate_field` refuses a field the class does not have, naming the known ones."""

    @pytest.mark.parametrize(
        ("field", "message"),
        [
            (
                "pasword",
                "Invalidated has no field 'pasword' (invalidate_field('pasword'));"
                " known: db, limits, password",
            ),
            (
                "db.hots",
                "Invalidated.db has no field 'hots' (invalidate_field('db.hots')); known: host, port",
            ),
            ("", "Invalidated has no field ''"),
        ],
    )
    def test_unknown(self, field: str, message: str) -> None:
        """A ValueError naming the field, where it was looked for, and the fields there are."""
        with pytest.raises(ValueError, match=re.escape(message)):
            invalidate_field(Invalidated, field)

    @pytest.mark.parametrize("field", ["password", "db", "db.host", "limits", "limits.anything"])
    def test_known(self, field: str) -> None:
        """A field, a nested model's key, or any key below a dict: nothing cached, nothing dropped."""
        assert invalidate_field(Invalidated, field) == 0
