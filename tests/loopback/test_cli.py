"""The `pydantic-aws-settings` command: check, exec, iam-policy, run as the console script."""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings
from pydantic_aws_settings.cli import MASK, build_parser, main, rows_for
from pydantic_aws_settings.cli.exec import _env_text
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from pydantic_aws_settings.policy import parameter_arns, policy_for, secret_arn
from pydantic_aws_settings.references import parse_reference
from pydantic_aws_settings.source import recording_origins
from pydantic_aws_settings.values import settle
from support.cli import run_cli

if TYPE_CHECKING:
    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_ssm import SSMClient

    from pydantic_aws_settings.references import ParameterReference, Reference, SecretReference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "reference" / "cli.md"
CANARY = "CANARY-c1i-5ecr3t-9d2e"
ACCOUNT = "123456789012"

# A settings module as an application would write it, fed by every kind of origin.
APPCFG = """
from typing import Annotated

from pydantic import BaseModel, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource, Parameter


class Database(BaseModel):
    host: str
    password: SecretStr


class Settings(AWSBaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__", env_file=".env")

    database: Database
    api_key: str
    signing_key: str
    api_url: str
    feature: Annotated[str, Parameter("/app/feature")]
    region: str = "us-west-2"
    owner: str = "nobody"
    log_level: str = "INFO"
    workers: int = 4


class Plain(BaseSettings):
    # Composed by hand and without hide_input_in_errors: the command must hide values itself.
    model_config = SettingsConfigDict(env_prefix="APP_")

    port: int

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings, AWSSettingsSource(settings_cls, env_settings))
"""

OPERATOR_ENV = {
    "APP_DATABASE": "secretsmanager:app/db",
    "APP_API_KEY": "secretsmanager:app/api#key",
    "APP_SIGNING_KEY": "ssm:/app/signing",
    "APP_API_URL": "ssm:/app/url",
    "APP_LOG_LEVEL": "DEBUG",
    "PYDANTIC_AWS_IMPORT": "ssm:/app/shared/",
}


def child(*names: str) -> list[str]:
    """A command that prints the named environment variables as JSON (null when absent)."""
    code = f"import json, os; print(json.dumps({{n: os.environ.get(n) for n in {list(names)!r}}}))"
    return [sys.executable, "-c", code]


@pytest.fixture
def app(tmp_path: Path, sm: SecretsManagerClient, ssm: SSMClient) -> Path:
    """A directory holding appcfg.py and a .env file, with the secrets and parameters it reads seeded."""
    (tmp_path / "appcfg.py").write_text(APPCFG)
    (tmp_path / ".env").write_text("APP_OWNER=team-a\n")
    sm.create_secret(Name="app/db", SecretString=json.dumps({"host": "db.internal", "password": "pw-1"}))
    sm.create_secret(Name="app/api", SecretString=json.dumps({"key": "sk-live-1"}))
    ssm.put_parameter(Name="/app/signing", Value="signing-1", Type="SecureString")
    ssm.put_parameter(Name="/app/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name="/app/feature", Value="on", Type="String")
    ssm.put_parameter(Name="/app/shared/region", Value="eu-west-1", Type="String")
    return tmp_path


EXPECTED_ROWS = {
    "database.host": ("env APP_DATABASE", "secretsmanager:app/db", MASK),
    "database.password": ("env APP_DATABASE", "secretsmanager:app/db", MASK),
    "api_key": ("env APP_API_KEY", "secretsmanager:app/api#key", MASK),
    "signing_key": ("env APP_SIGNING_KEY", "ssm:/app/signing", MASK),
    "api_url": ("env APP_API_URL", "ssm:/app/url", "https://api.example.com"),
    "feature": ("declared", "ssm:/app/feature", "on"),
    "region": ("import", "ssm:/app/shared/", "eu-west-1"),
    "owner": ("dotenv APP_OWNER (in .env)", "", "team-a"),
    "log_level": ("env APP_LOG_LEVEL", "", "DEBUG"),
    "workers": ("default", "", "4"),
}


class TestCheck:
    """`check MODULE:CLASS` loads the settings as the application would and shows where values came from."""

    def test_table_shows_origins_and_masks_secrets(self, app: Path) -> None:
        """Exit 0; one row per field with its origin and reference; secret and SecureString values masked."""
        result = run_cli("check", "appcfg:Settings", cwd=app, env=OPERATOR_ENV)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["field", "origin", "reference", "value"]
        assert set(lines[1]) == {"-", " "}
        for field, (origin, reference, value) in EXPECTED_ROWS.items():
            row = next(line for line in lines[2:] if line.split()[0] == field)
            assert origin in row
            assert reference in row
            assert row.rstrip().endswith(value)
        for secret in ("db.internal", "pw-1", "sk-live-1", "signing-1"):
            assert secret not in result.stdout + result.stderr

    def test_json_prints_the_same_rows(self, app: Path) -> None:
        """`--json` prints a list of {field, origin, reference, value}, masked the same way."""
        result = run_cli("check", "appcfg:Settings", "--json", cwd=app, env=OPERATOR_ENV)
        assert result.returncode == 0, result.stderr
        rows = {
            row["field"]: (row["origin"], row["reference"], row["value"]) for row in json.loads(result.stdout)
        }
        assert rows == {**EXPECTED_ROWS, "workers": ("default", "", 4)}  # a number is a JSON number

    def test_failure_exits_1_naming_field_variable_and_code(self, app: Path) -> None:
        """A missing secret: exit 1, the ResolutionError naming field, variable, reference and code."""
        env = {**OPERATOR_ENV, "APP_API_KEY": "secretsmanager:app/nope#key"}
        result = run_cli("check", "appcfg:Settings", cwd=app, env=env)
        assert result.returncode == 1
        assert result.stdout == ""
        assert "api_key (from APP_API_KEY = 'secretsmanager:app/nope#key'): ResourceNotFoundException" in (
            result.stderr
        )

    def test_validation_error_exits_1_without_the_value(self, app: Path, sm: SecretsManagerClient) -> None:
        """A fetched value that fails validation: exit 1, the field named, the value not shown."""
        sm.create_secret(Name="app/port", SecretString=CANARY)
        result = run_cli("check", "appcfg:Plain", cwd=app, env={"APP_PORT": "secretsmanager:app/port"})
        assert result.returncode == 1
        assert "port: Input should be a valid integer" in result.stderr
        assert CANARY not in result.stdout + result.stderr

    def test_bad_target_is_a_usage_error(self, tmp_path: Path) -> None:
        """A MODULE:CLASS that cannot be imported exits 2 with a message, from the console script."""
        result = run_cli("check", "no_such_module:Settings", cwd=tmp_path)
        assert result.returncode == 2
        assert "cannot import 'no_such_module'" in result.stderr

    @pytest.mark.parametrize("target", ["appcfg", "appcfg:Missing", "appcfg:Database"])
    def test_target_that_is_not_a_settings_class_is_a_usage_error(
        self, app: Path, target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No class, a missing class, or a class that is not BaseSettings: exit status 2."""
        monkeypatch.chdir(app)
        monkeypatch.setattr(sys, "path", [str(app), *sys.path])  # restored afterwards, as load_class adds ""
        try:
            assert main(["check", target]) == 2
        finally:
            sys.modules.pop("appcfg", None)
        assert "pydantic-aws-settings:" in capsys.readouterr().err

    def test_rows_name_init_and_default_origins(self) -> None:
        """A field passed to the constructor shows as init, one left alone as default."""

        class Local(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="LOCAL_TEST_")
            name: str
            size: int = 3

        with recording_origins() as origins:
            settings = Local(name="x")
        assert rows_for(settings, origins) == [("name", "init", "", "x"), ("size", "default", "", "3")]

    def test_a_field_from_nested_variables_names_them(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A model fed by `PREFIX_FIELD__KEY` variables shows the first of them, not a `PREFIX_FIELD`."""

        class Db(BaseModel):
            host: str
            port: int

        class Nested(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="NEST_", env_nested_delimiter="__")
            db: Db
            name: str

        monkeypatch.setenv("NEST_DB__PORT", "5432")
        monkeypatch.setenv("NEST_DB__HOST", "db.internal")
        monkeypatch.setenv("NEST_NAME", "app")
        with recording_origins() as origins:
            Nested()
        assert (origins["db"].kind, origins["db"].variable) == ("env", "NEST_DB__HOST and 1 more")
        assert (origins["name"].kind, origins["name"].variable) == ("env", "NEST_NAME")


class TestExec:
    """`exec -- COMMAND` resolves the environment's references and runs COMMAND with the values."""

    def test_passes_resolved_values_in_one_batched_load(
        self, tmp_path: Path, sm: SecretsManagerClient, ssm: SSMClient, aws_proxy: Any
    ) -> None:
        """Strings, keys, StringLists, paths and binary secrets reach the child; plain values pass through."""
        sm.create_secret(Name="app/db", SecretString=json.dumps({"user": "app", "port": 5432}))
        sm.create_secret(Name="app/blob", SecretBinary=b"\x00\xffbytes")
        ssm.put_parameter(Name="/app/url", Value="https://api.example.com", Type="String")
        ssm.put_parameter(Name="/app/hosts", Value="a.example,b.example", Type="StringList")
        ssm.put_parameter(Name="/app/cfg/db/host", Value="db.internal", Type="String")
        ssm.put_parameter(Name="/app/cfg/mode", Value="fast", Type="String")
        env = {
            "APP_URL": "ssm:/app/url",
            "APP_HOSTS": "ssm:/app/hosts",
            "APP_CFG": "ssm:/app/cfg/",
            "APP_USER": "secretsmanager:app/db#user",
            "APP_PORT": "secretsmanager:app/db#port",
            "APP_BLOB": "secretsmanager:app/blob",
            "APP_GONE": "optional:ssm:/app/missing",
            "APP_PLAIN": "hello",
        }
        result = run_cli("exec", "--", *child(*env), cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            "APP_URL": "https://api.example.com",
            "APP_HOSTS": "a.example,b.example",
            "APP_CFG": json.dumps({"db": {"host": "db.internal"}, "mode": "fast"}),
            "APP_USER": "app",
            "APP_PORT": "5432",
            "APP_BLOB": base64.b64encode(b"\x00\xffbytes").decode(),
            "APP_GONE": None,
            "APP_PLAIN": "hello",
        }
        assert aws_proxy.counts == {"GetParameters": 1, "GetParametersByPath": 1, "BatchGetSecretValue": 1}

    def test_only_limits_the_variables_resolved(self, tmp_path: Path, ssm: SSMClient) -> None:
        """With --only APP_, a broken reference in another variable is passed on untouched."""
        ssm.put_parameter(Name="/app/url", Value="https://api.example.com", Type="String")
        env = {"APP_URL": "ssm:/app/url", "OTHER_REF": "ssm:/does/not/exist"}
        result = run_cli("exec", "--only", "APP_", "--", *child(*env), cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            "APP_URL": "https://api.example.com",
            "OTHER_REF": "ssm:/does/not/exist",
        }

    def test_refuses_to_run_the_command_on_failure(self, tmp_path: Path, ssm: SSMClient) -> None:
        """A missing and a malformed reference: exit 1, both named, and the command never runs."""
        ssm.put_parameter(Name="/app/url", Value="https://api.example.com", Type="String")
        marker = tmp_path / "ran"
        env = {"APP_URL": "ssm:/app/url", "APP_KEY": "secretsmanager:app/missing", "APP_BAD": "ssm:/x::"}
        command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
        result = run_cli("exec", "--only", "APP_", "--", *command, cwd=tmp_path, env=env)
        assert result.returncode == 1
        assert not marker.exists()
        assert "2 references of the environment could not be resolved" in result.stderr
        assert (
            "APP_KEY (from APP_KEY = 'secretsmanager:app/missing'): ResourceNotFoundException"
            in result.stderr
        )
        assert "APP_BAD (from APP_BAD = 'ssm:/x::'): InvalidReference" in result.stderr
        assert f"{sys.executable} was not run" in result.stderr

    def test_command_not_found_exits_127(self, tmp_path: Path) -> None:
        """A command that does not exist: exit status 127, as env(1) does."""
        result = run_cli("exec", "--", "no-such-command-4f1b", cwd=tmp_path)
        assert result.returncode == 127
        assert "no-such-command-4f1b: command not found" in result.stderr

    @pytest.mark.parametrize(
        "argv",
        [
            ["exec"],
            ["exec", "--"],
            ["exec", "--only"],
            ["iam-policy"],
            ["iam-policy", "x:Y", "--env"],
            ["iam-policy", "x:Y", "--only", "A"],
            ["iam-policy", "x:Y", "--account", "12345"],
            ["nope"],
            [],
        ],
    )
    def test_usage_errors_exit_2(self, argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
        """A missing command, a missing or doubled target, a bad account, an unknown subcommand: exit 2."""
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert "usage:" in capsys.readouterr().err


class TestSettle:
    """`values.settle`, exec's way from an outcome to a variable's value, a fallback or a failure."""

    JSON = Fetched(json.dumps({"user": "app", "port": 5432}), "SecretString")
    GONE = FetchFailure("ResourceNotFoundException", "gone")

    def test_a_value_is_extracted_then_shaped(self) -> None:
        """A `#KEY` is extracted (a number as JSON text), bytes become base64 text."""
        assert settle(ref("secretsmanager:app/db#user"), self.JSON, _env_text) == ("app", None)
        assert settle(ref("secretsmanager:app/db#port"), self.JSON, _env_text) == ("5432", None)
        blob = Fetched(b"\x00\xff", "SecretBinary")
        assert settle(ref("secretsmanager:app/blob"), blob, _env_text) == ("AP8=", None)
        assert settle(ref("secretsmanager:app/blob"), blob) == (b"\x00\xff", None)

    def test_optional_falls_back_only_on_what_does_not_exist(self) -> None:
        """A missing target or `#KEY` of an optional reference is nothing; other failures stay failures."""
        assert settle(ref("optional:secretsmanager:app/db"), self.GONE) == (None, None)
        assert settle(ref("optional:secretsmanager:app/db#nope"), self.JSON) == (None, None)
        denied = FetchFailure("AccessDeniedException", "no")
        assert settle(ref("optional:secretsmanager:app/db"), denied) == (None, denied)
        assert settle(ref("secretsmanager:app/db"), self.GONE) == (None, self.GONE)
        _, problem = settle(ref("secretsmanager:app/db#nope"), self.JSON)
        assert problem is not None
        assert problem.code == "KeyNotFound"

    def test_a_value_no_variable_can_hold_is_a_failure(self) -> None:
        """A NUL character fails as InvalidValue, optional or not."""
        nul = Fetched("a\x00b", "SecretString")
        for text in ("secretsmanager:app/nul", "optional:secretsmanager:app/nul"):
            value, problem = settle(ref(text), nul, _env_text)
            assert value is None
            assert problem is not None
            assert problem.code == "InvalidValue"


def ref(text: str) -> Reference:
    """Parse a reference."""
    found = parse_reference(text)
    assert found is not None
    return found


def statements(policy: dict[str, Any]) -> dict[str, tuple[list[str], list[str], Any]]:
    """A policy's statements by Sid: (actions, resources, condition)."""
    assert policy["Version"] == "2012-10-17"
    return {s["Sid"]: (s["Action"], s["Resource"], s.get("Condition")) for s in policy["Statement"]}


class TestIamPolicy:
    """`iam-policy` prints the least-privilege policy for the references, fetching nothing."""

    def test_policy_for_a_class_covers_every_reference(self, app: Path, aws_proxy: Any) -> None:
        """Secrets, parameters, a path, a marker and a role: each action on exactly its resources."""
        arn = f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:other/api-AbCdEf"
        env = {
            **OPERATOR_ENV,
            "APP_API_KEY": f"secretsmanager:{arn}#key",
            "PYDANTIC_AWS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/app",
        }
        result = run_cli("iam-policy", "appcfg:Settings", "--account", ACCOUNT, cwd=app, env=env)
        assert result.returncode == 0, result.stderr
        assert aws_proxy.counts == {}
        parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter"
        assert statements(json.loads(result.stdout)) == {
            "ReadSecrets": (
                ["secretsmanager:GetSecretValue"],
                [arn, f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db-??????"],
                None,
            ),
            "BatchReadSecrets": (["secretsmanager:BatchGetSecretValue"], ["*"], None),
            "ReadParameters": (
                ["ssm:GetParameters"],
                [f"{parameter}/app/feature", f"{parameter}/app/signing", f"{parameter}/app/url"],
                None,
            ),
            "ReadParameterPaths": (
                ["ssm:GetParametersByPath"],
                [f"{parameter}/app/shared", f"{parameter}/app/shared/*"],
                None,
            ),
            "DecryptViaSecretsManagerAndSSM": (
                ["kms:Decrypt"],
                [f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/*", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"],
                {
                    "StringEquals": {
                        "kms:ViaService": [
                            "secretsmanager.eu-west-1.amazonaws.com",
                            "secretsmanager.us-east-1.amazonaws.com",
                            "ssm.us-east-1.amazonaws.com",
                        ]
                    }
                },
            ),
            "AssumeRole": (["sts:AssumeRole"], [f"arn:aws:iam::{ACCOUNT}:role/app"], None),
        }

    def test_policy_for_the_environment(self, tmp_path: Path, aws_proxy: Any) -> None:
        """`--env --only` counts the references exec would resolve; unknown region and account are '*'."""
        env = {
            "APP_KEY": "optional:secretsmanager:app/key?stage=AWSPREVIOUS",
            "APP_URL": f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/app/url:3",
            "OTHER": "ssm:/ignored",
            "PYDANTIC_AWS_IMPORT": "ssm:/ignored/too/",
        }
        result = run_cli("iam-policy", "--env", "--only", "APP_", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        assert aws_proxy.counts == {}
        found = statements(json.loads(result.stdout))
        assert found["ReadSecrets"][1] == ["arn:aws:secretsmanager:us-east-1:*:secret:app/key-??????"]
        assert found["ReadParameters"][1] == [f"arn:aws:ssm:eu-west-1:{ACCOUNT}:parameter/app/url"]
        assert set(found) == {
            "ReadSecrets",
            "BatchReadSecrets",
            "ReadParameters",
            "DecryptViaSecretsManagerAndSSM",
        }

    def test_malformed_reference_exits_1(self, app: Path) -> None:
        """A malformed reference in the class's environment: exit 1, the variable named, no policy printed."""
        result = run_cli(
            "iam-policy", "appcfg:Settings", cwd=app, env={**OPERATOR_ENV, "APP_API_URL": "ssm:"}
        )
        assert result.returncode == 1
        assert result.stdout == ""
        assert "api_url (from APP_API_URL = 'ssm:'): InvalidReference" in result.stderr

    def test_secret_arns(self) -> None:
        """Names get the -?????? suffix wildcard, partial ARNs too; full ARNs stay as they are."""
        partial = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:db"
        full = partial + "-a1B2c3"
        assert secret_arn(secret("secretsmanager:db"), "us-east-1", ACCOUNT) == (
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-??????"
        )
        assert secret_arn(secret("secretsmanager:db")) == "arn:aws:secretsmanager:*:*:secret:db-??????"
        assert secret_arn(secret(f"secretsmanager:{partial}#k")) == partial + "-??????"
        assert secret_arn(secret(f"{full}:k::")) == full

    def test_parameter_arns(self) -> None:
        """One leading slash dropped; a path grants itself and what is below it; the root path all."""
        base = f"arn:aws-us-gov:ssm:us-gov-west-1:{ACCOUNT}:parameter/"
        assert parameter_arns(parameter("ssm:/a/b:3"), "us-gov-west-1", ACCOUNT) == [base + "a/b"]
        assert parameter_arns(parameter("ssm:flat"), "us-gov-west-1", ACCOUNT) == [base + "flat"]
        assert parameter_arns(parameter("ssm:/a/b/"), "us-gov-west-1", ACCOUNT) == [
            base + "a/b",
            base + "a/b/*",
        ]
        assert parameter_arns(parameter("ssm:/"), "us-gov-west-1", ACCOUNT) == [base + "*"]

    def test_unknown_region_makes_the_kms_condition_a_pattern(self) -> None:
        """Without a region, kms:ViaService is matched with StringLike on `ssm.*.amazonaws.com`."""
        found = statements(policy_for([parameter("ssm:/a")]))
        assert found["DecryptViaSecretsManagerAndSSM"][1:] == (
            ["arn:aws:kms:*:*:key/*"],
            {"StringLike": {"kms:ViaService": ["ssm.*.amazonaws.com"]}},
        )
        assert statements(policy_for([])) == {}


def secret(text: str) -> SecretReference:
    """Parse a secret reference."""
    ref = parse_reference(text)
    assert ref is not None
    assert ref.service == "secretsmanager"
    return ref  # type: ignore[return-value]


def parameter(text: str) -> ParameterReference:
    """Parse a parameter reference."""
    ref = parse_reference(text)
    assert ref is not None
    assert ref.service == "ssm"
    return ref  # type: ignore[return-value]


class TestCanary:
    """A canary secret never appears in any command's output."""

    def test_canary_never_printed(self, app: Path, sm: SecretsManagerClient, ssm: SSMClient) -> None:
        """The check table and JSON, exec run and refused, and iam-policy: no output holds the canary."""
        sm.create_secret(Name="canary/whole", SecretString=CANARY)
        sm.create_secret(Name="canary/json", SecretString=json.dumps({"password": CANARY, "port": CANARY}))
        ssm.put_parameter(Name="/canary/secure", Value=CANARY, Type="SecureString")
        env = {
            **OPERATOR_ENV,
            "APP_API_KEY": "secretsmanager:canary/whole",
            "APP_SIGNING_KEY": "ssm:/canary/secure",
            "APP_DATABASE__PASSWORD": "secretsmanager:canary/json#password",
        }
        broken = {**env, "APP_DATABASE__PORT": "secretsmanager:canary/json#port", "APP_X": "ssm:/missing"}
        runs = [
            run_cli("check", "appcfg:Settings", cwd=app, env=env),
            run_cli("check", "appcfg:Settings", "--json", cwd=app, env=env),
            run_cli("exec", "--only", "APP_", "--", sys.executable, "-c", "pass", cwd=app, env=env),
            run_cli("exec", "--only", "APP_", "--", sys.executable, "-c", "pass", cwd=app, env=broken),
            run_cli("iam-policy", "appcfg:Settings", cwd=app, env=env),
        ]
        assert [run.returncode for run in runs] == [0, 0, 0, 1, 0], [run.stderr for run in runs]
        for run in runs:
            assert CANARY not in run.stdout
            assert CANARY not in run.stderr


class TestHelpAndDocs:
    """Every command and option has help text, and the CLI reference page documents each one."""

    @staticmethod
    def _commands() -> dict[str, argparse.ArgumentParser]:
        sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        return dict(sub.choices)

    def test_every_command_and_option_has_help(self) -> None:
        """Each subcommand has a description and each of its arguments a help text."""
        for name, parser in self._commands().items():
            assert parser.description, name
            for action in parser._actions:
                assert action.help, (name, action.dest)

    def test_docs_mention_every_command_and_option(self) -> None:
        """docs/reference/cli.md has a section per subcommand naming each of its options and arguments."""
        docs = DOCS.read_text()
        for name, parser in self._commands().items():
            assert f"## {name}\n" in docs, name
            section = docs.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
            for action in parser._actions:
                names = action.option_strings or [str(action.metavar)]
                for option in names:
                    if option not in ("-h", "--help"):
                        assert f"`{option}" in section or f" {option}" in section, (name, option)

    def test_module_runs_as_the_command(self, tmp_path: Path) -> None:
        """`python -m pydantic_aws_settings --help` lists every subcommand."""
        result = subprocess.run(
            [sys.executable, "-m", "pydantic_aws_settings", "--help"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0
        for name in self._commands():
            assert name in result.stdout
        assert result.stdout.startswith("usage: pydantic-aws-settings")
