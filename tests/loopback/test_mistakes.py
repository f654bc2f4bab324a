"""Operator mistakes are errors, not values: near-miss references, the escape, and the checks around them."""

from __future__ import annotations

import json
import re
import sys
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import (
    AWSBaseSettings,
    InvalidReferenceError,
    ResolutionError,
    invalidate_field,
    values,
)
from pydantic_aws_settings.cli.exec import resolve_environment
from pydantic_aws_settings.fetch import Fetched
from pydantic_aws_settings.references import Reference, looks_like_reference, parse_reference, unescape
from pydantic_aws_settings.values import extract
from support.cli import run_cli

if TYPE_CHECKING:
    from pathlib import Path

SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
PARAMETER_ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/prod/url"


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


DEEP = '{"k": ' + "[" * 100_000 + "]" * 100_000 + "}"  # deeper than any Python 3.10-3.13 decodes


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


class Endpoint(BaseModel):
    """A nested model."""

    host: str
    port: int


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
