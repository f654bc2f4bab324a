"""Bad input: each case gets a clear error naming the field and the variable, or a documented result.

Every case here is a row of the Reliability page's "Bad input" table. Secret values hold a canary, and
no error may repeat it (nor any byte of a binary secret).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from pydantic_aws_settings import AWSBaseSettings, Failure, InvalidReferenceError, Parameter, ResolutionError

if TYPE_CHECKING:
    from pathlib import Path

CANARY = "CANARY-b4d-1npu7"


class Model(BaseModel):
    """A model a JSON object fills."""

    user: str
    password: SecretStr


class Fields(AWSBaseSettings):
    """One field of each shape the cases feed; all optional, so that one case sets one variable."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    text: str = "default"
    secret: SecretStr = SecretStr("default")
    blob: bytes = b"default"
    model: Model | None = None
    required_model: Model = Model(user="default", password=SecretStr("default"))
    mapping: dict[str, str] = Field(default_factory=dict)
    items: list[str] = Field(default_factory=list)


def load_error(cls: type[BaseSettings] = Fields, **init: Any) -> ResolutionError:
    """Load, expecting a ResolutionError; return it."""
    with pytest.raises(ResolutionError) as caught:
        cls(**init)
    return caught.value


def texts_of(exc: BaseException) -> str:
    """The text and repr of an exception and of every exception in its chain."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


# -- malformed references ------------------------------------------------------------------------------

MALFORMED = {
    "secretsmanager: with no name": ("secretsmanager:", "no name after secretsmanager:"),
    "ssm: with no name": ("ssm:", "no name after ssm:"),
    "# with no key (secret)": ("secretsmanager:prod/db#", "`#` with no key"),
    "# with no key (parameter)": ("ssm:/prod/db#", "`#` with no key"),
    "space in a secret name": ("secretsmanager:prod db", "bad character ' ' at position 19"),
    "secret name too long": ("secretsmanager:" + "a" * 513, "longer than 512 characters"),
    "? with no query": ("secretsmanager:prod/db?", "`?` with no query"),
    "unknown query parameter": ("secretsmanager:prod/db?colour=red", "unknown query parameter 'colour'"),
    "empty stage": ("secretsmanager:prod/db?stage=", "empty stage"),
    "stage and version": ("secretsmanager:prod/db?stage=A&version=B", "both a stage and a version"),
    "secretsmanager: and an SSM ARN": (
        "secretsmanager:arn:aws:ssm:us-east-1:123456789012:parameter/x",
        "an ARN of another service ('ssm')",
    ),
    "ssm: and a secret ARN": (
        "ssm:arn:aws:secretsmanager:us-east-1:123456789012:secret:x",
        "an ARN of another service ('secretsmanager')",
    ),
    "a : after a secret ARN's name": (
        "secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password",
        "a `:` after the secret name",
    ),
    "// in a parameter name": ("ssm:/prod//db", "'//' at position 9"),
    "path with a selector": ("ssm:/prod/:3", "takes no :VERSION or :LABEL"),
    "path with a key": ("ssm:/prod/#k", "takes no #KEY"),
    "path not starting with /": ("ssm:prod/", "must start with `/`"),
    ": with no version or label": ("ssm:/prod/db:", "`:` with no version or label"),
    "two selectors": ("ssm:/prod/db:1:2", "a second `:`"),
    "optional: alone": ("optional:", "optional: must be followed by a reference"),
    "optional: and a plain value": ("optional:plain", "optional: must be followed by a reference"),
    "optional: twice": ("optional:optional:ssm:/x", "`optional:` given twice"),
    "bare ARN with too many parts": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db:k:AWSCURRENT:v1:extra",
        "more than :KEY:STAGE:VERSION_ID",
    ),
    "bare ARN with a stage and a version id": (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db:k:AWSCURRENT:v1",
        "both a stage and a version id",
    ),
    "bare ARN with a short account": (
        "arn:aws:secretsmanager:us-east-1:12345:secret:db",
        "the account in the ARN must be 12 digits",
    ),
    "bare ARN with no region": ("arn:aws:secretsmanager::123456789012:secret:db", "no region in the ARN"),
    "bare secrets manager ARN of another resource": (
        "arn:aws:secretsmanager:us-east-1:123456789012:key:db",
        "not a secret ARN (resource type 'key')",
    ),
    "bare parameter ARN with no name": (
        "arn:aws:ssm:us-east-1:123456789012:parameter/",
        "no parameter name in the ARN",
    ),
    "unicode secret name": ("secretsmanager:prod/pässwort", "bad character 'ä' at position 21"),
    "unicode parameter name": ("ssm:/prod/schlüssel", "bad character 'ü' at position 14"),
}


class TestMalformedReferences:
    """A malformed reference is an error naming the variable, never a value passed through as text."""

    @pytest.mark.parametrize("case", list(MALFORMED))
    def test_each_kind_names_the_variable(
        self, case: str, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """ResolutionError naming field, variable, text, InvalidReference and what is wrong; no request."""
        text, reason = MALFORMED[case]
        monkeypatch.setenv("APP_TEXT", text)
        error = load_error()
        (failure,) = error.failures
        assert (failure.field, failure.variable, failure.reference, failure.code) == (
            "text",
            "APP_TEXT",
            text,
            "InvalidReference",
        )
        assert reason in failure.detail
        assert f"text (from APP_TEXT = {text!r}): InvalidReference: " in str(error)
        assert aws_proxy.counts == {}

    def test_all_reported_together(self, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any) -> None:
        """Several malformed references in one load are reported in one error, in the fields' order."""
        monkeypatch.setenv("APP_TEXT", "secretsmanager:")
        monkeypatch.setenv("APP_SECRET", "ssm:/a//b")
        monkeypatch.setenv("APP_ITEMS", "optional:x")
        error = load_error()
        assert [(f.field, f.variable) for f in error.failures] == [
            ("text", "APP_TEXT"),
            ("secret", "APP_SECRET"),
            ("items", "APP_ITEMS"),
        ]
        assert aws_proxy.counts == {}

    def test_in_a_dotenv_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A malformed reference in a dotenv file names the variable and the file."""
        monkeypatch.chdir(tmp_path)
        (tmp_path / ".env").write_text("APP_TEXT=secretsmanager:prod/db#\n")

        class FromDotenv(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_", env_file=".env")
            text: str = "default"

        (failure,) = load_error(FromDotenv).failures
        assert (failure.variable, failure.code) == ("APP_TEXT (in .env)", "InvalidReference")

    def test_in_the_bulk_import(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A malformed import entry, or one bulk import cannot take, names PYDANTIC_AWS_IMPORT."""
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "ssm:/a//b/,secretsmanager:prod/db#password")
        failures = load_error().failures
        assert [(f.variable, f.reference, f.code) for f in failures] == [
            ("PYDANTIC_AWS_IMPORT", "ssm:/a//b/", "InvalidReference"),
            ("PYDANTIC_AWS_IMPORT", "secretsmanager:prod/db#password", "InvalidReference"),
        ]

    def test_in_a_marker_at_class_definition(self) -> None:
        """A malformed marker raises InvalidReferenceError when the class is defined, naming the marker."""
        with pytest.raises(InvalidReferenceError, match=r"^marker: malformed reference 'ssm:/prod//db'"):

            class Declared(AWSBaseSettings):
                url: Annotated[str, Parameter("/prod//db")]

    @pytest.mark.parametrize(
        "text",
        [
            "arn:aws:sns:us-east-1:123456789012:topic",  # another service's ARN
            "arn:aws:ssm:us-east-1:123456789012:document/x",  # an SSM resource other than a parameter
            "postgres://user@host/db?sslmode=require#frag",
        ],
    )
    def test_look_alikes_are_plain_values(
        self, text: str, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """A value that is not a reference form is used as it is, and nothing is fetched."""
        monkeypatch.setenv("APP_TEXT", text)
        assert Fields().text == text
        assert aws_proxy.counts == {}


# -- values that do not fit --------------------------------------------------------------------------


@pytest.fixture
def values(sm: Any, ssm: Any) -> None:
    """Secrets and parameters of every awkward shape, each holding the canary."""
    sm.create_secret(Name="bad/plain", SecretString=f"not json {CANARY}")
    sm.create_secret(Name="bad/array", SecretString=json.dumps([CANARY, CANARY]))
    sm.create_secret(Name="bad/object", SecretString=json.dumps({"user": "app", "password": CANARY}))
    sm.create_secret(Name="bad/binary", SecretBinary=b"\xff\xfe\x80" + CANARY.encode() + b"\xc3")
    ssm.put_parameter(Name="/bad/plain", Value=f"not json {CANARY}", Type="SecureString")
    ssm.put_parameter(Name="/bad/list", Value="a,b,c", Type="StringList")


@pytest.mark.usefixtures("values")
class TestValuesThatDoNotFit:
    """A value that does not fit its field fails clearly, and never shows itself."""

    def test_invalid_json_for_a_model(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Text that is not JSON for a model field: ResolutionError InvalidJSON naming field and variable."""
        monkeypatch.setenv("APP_REQUIRED_MODEL", "secretsmanager:bad/plain")
        error = load_error()
        (failure,) = error.failures
        assert (failure.field, failure.variable, failure.code) == (
            "required_model",
            "APP_REQUIRED_MODEL",
            "InvalidJSON",
        )
        assert CANARY not in texts_of(error)

    def test_invalid_json_for_an_optional_model_is_a_validation_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Not JSON for a `Model | None` field: a ValidationError, input hidden, as in pydantic-settings."""
        monkeypatch.setenv("APP_MODEL", "secretsmanager:bad/plain")
        with pytest.raises(ValidationError) as caught:
            Fields()
        assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [(("model",), "model_type")]
        assert CANARY not in texts_of(caught.value)

        class Plain(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            model: Model | None = None

        monkeypatch.setenv("APP_MODEL", "not json")
        with pytest.raises(ValidationError):  # pydantic-settings does the same with the same text
            Plain()

    def test_invalid_json_for_a_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`#KEY` of a value that is not JSON: ResolutionError InvalidJSON."""
        monkeypatch.setenv("APP_SECRET", "ssm:/bad/plain#password")
        (failure,) = load_error().failures
        assert (failure.field, failure.code) == ("secret", "InvalidJSON")

    def test_missing_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`#KEY` that the JSON object lacks: ResolutionError KeyNotFound naming the key, not the value."""
        monkeypatch.setenv("APP_SECRET", "secretsmanager:bad/object#passwd")
        error = load_error()
        (failure,) = error.failures
        assert (failure.field, failure.variable, failure.code) == ("secret", "APP_SECRET", "KeyNotFound")
        assert "'passwd'" in failure.detail
        assert CANARY not in texts_of(error)

    def test_missing_key_of_an_optional_reference_falls_back(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`optional:` with a missing key: the field falls back to its default."""
        monkeypatch.setenv("APP_SECRET", "optional:secretsmanager:bad/object#passwd")
        assert Fields().secret.get_secret_value() == "default"

    def test_json_array_for_a_key(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`#KEY` of a JSON array: ResolutionError NotJSONObject."""
        monkeypatch.setenv("APP_SECRET", "secretsmanager:bad/array#0")
        error = load_error()
        assert [(f.field, f.code) for f in error.failures] == [("secret", "NotJSONObject")]
        assert CANARY not in texts_of(error)

    @pytest.mark.parametrize(
        ("variable", "loc", "kind"),
        [("APP_REQUIRED_MODEL", "required_model", "model_type"), ("APP_MAPPING", "mapping", "dict_type")],
    )
    def test_json_array_for_a_model_or_dict(
        self, variable: str, loc: str, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A JSON array where an object is needed: pydantic's ValidationError for the field, input hidden."""
        monkeypatch.setenv(variable, "secretsmanager:bad/array")
        with pytest.raises(ValidationError) as caught:
            Fields()
        assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [((loc,), kind)]
        assert CANARY not in texts_of(caught.value)

    def test_json_array_for_the_bulk_import(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A JSON array (or text) to import: ResolutionError NotJSONObject (InvalidJSON) naming the import."""
        monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "secretsmanager:bad/array,secretsmanager:bad/plain")
        error = load_error()
        assert [(f.variable, f.code) for f in error.failures] == [
            ("PYDANTIC_AWS_IMPORT", "NotJSONObject"),
            ("PYDANTIC_AWS_IMPORT", "InvalidJSON"),
        ]
        assert CANARY not in texts_of(error)

    @pytest.mark.parametrize(
        ("variable", "kind"), [("APP_TEXT", "string_unicode"), ("APP_SECRET", "string_type")]
    )
    def test_non_utf8_binary_for_a_str_field(
        self, variable: str, kind: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Bytes that are not UTF-8 for a `str` or `SecretStr` field: ValidationError, no byte shown."""
        monkeypatch.setenv(variable, "secretsmanager:bad/binary")
        with pytest.raises(ValidationError) as caught:
            Fields()
        assert [e["type"] for e in caught.value.errors()] == [kind]
        shown = texts_of(caught.value)
        assert CANARY not in shown
        assert "\\xff" not in shown
        assert "xfe" not in shown

    def test_binary_for_a_model_is_invalid_json(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Bytes that are not UTF-8 for a model field: ResolutionError InvalidJSON."""
        monkeypatch.setenv("APP_REQUIRED_MODEL", "secretsmanager:bad/binary")
        error = load_error()
        assert [(f.field, f.code) for f in error.failures] == [("required_model", "InvalidJSON")]
        assert CANARY not in texts_of(error)

    def test_binary_for_a_bytes_field(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A binary secret fills a `bytes` field exactly."""
        monkeypatch.setenv("APP_BLOB", "secretsmanager:bad/binary")
        assert Fields().blob == b"\xff\xfe\x80" + CANARY.encode() + b"\xc3"

    def test_utf8_binary_for_a_str_field(self, monkeypatch: pytest.MonkeyPatch, sm: Any) -> None:
        """A binary secret that is valid UTF-8 fills a `str` field with its text (pydantic's lax mode)."""
        sm.create_secret(Name="bad/utf8-binary", SecretBinary="grüße".encode())
        monkeypatch.setenv("APP_TEXT", "secretsmanager:bad/utf8-binary")
        assert Fields().text == "grüße"

    def test_string_list_for_a_scalar_field(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A StringList for a `str` field is its comma-joined text, as SSM stores it."""
        monkeypatch.setenv("APP_TEXT", "ssm:/bad/list")
        assert Fields().text == "a,b,c"

    def test_string_list_for_a_list_field(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A StringList for a `list[str]` field is the list of its items."""
        monkeypatch.setenv("APP_ITEMS", "ssm:/bad/list")
        assert Fields().items == ["a", "b", "c"]


# -- size and unicode ----------------------------------------------------------------------------------


class TestSizeAndUnicode:
    """The largest secret loads; unicode values round-trip; unicode names are malformed references."""

    def test_64_kib_secret(self, sm: Any, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any) -> None:
        """A secret of 65,536 characters (the Secrets Manager maximum) loads whole, in one request."""
        value = (CANARY * 4096)[:65536]
        sm.create_secret(Name="big/text", SecretString=value)
        monkeypatch.setenv("APP_SECRET", "secretsmanager:big/text")
        assert Fields().secret.get_secret_value() == value
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_64_kib_binary_secret(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A binary secret of 65,536 bytes loads whole into a `bytes` field."""
        value = os.urandom(65536)
        sm.create_secret(Name="big/binary", SecretBinary=value)
        monkeypatch.setenv("APP_BLOB", "secretsmanager:big/binary")
        assert Fields().blob == value

    def test_64_kib_json_secret_key(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A key of a JSON secret near 64 KiB is extracted whole."""
        big = "x" * 65000
        sm.create_secret(Name="big/json", SecretString=json.dumps({"user": "app", "password": big}))
        monkeypatch.setenv("APP_REQUIRED_MODEL", "secretsmanager:big/json")
        monkeypatch.setenv("APP_SECRET", "secretsmanager:big/json#password")
        settings = Fields()
        assert settings.secret.get_secret_value() == big
        assert settings.required_model.password.get_secret_value() == big

    def test_unicode_values_round_trip(self, sm: Any, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Unicode values (accents, CJK, emoji) and unicode JSON keys come back exactly."""
        text = "pässwörd ✓ 日本語 🔑"
        sm.create_secret(Name="uni/plain", SecretString=text)
        sm.create_secret(
            Name="uni/json", SecretString=json.dumps({"user": "ünïcode", "password": text, "clé": text})
        )
        ssm.put_parameter(Name="/uni/secure", Value=text, Type="SecureString")
        ssm.put_parameter(Name="/uni/list", Value="ä,日本,🔑", Type="StringList")
        monkeypatch.setenv("APP_TEXT", "secretsmanager:uni/json#clé")
        monkeypatch.setenv("APP_SECRET", "ssm:/uni/secure")
        monkeypatch.setenv("APP_BLOB", "secretsmanager:uni/plain")
        monkeypatch.setenv("APP_REQUIRED_MODEL", "secretsmanager:uni/json")
        monkeypatch.setenv("APP_ITEMS", "ssm:/uni/list")
        settings = Fields()
        assert settings.text == text
        assert settings.secret.get_secret_value() == text
        assert settings.blob == text.encode()
        assert settings.required_model.user == "ünïcode"
        assert settings.required_model.password.get_secret_value() == text
        assert settings.items == ["ä", "日本", "🔑"]


# -- one variable, two fields --------------------------------------------------------------------------


class TestSameVariableTwice:
    """A variable that feeds two fields (a prefixed name and an alias) behaves as in pydantic-settings."""

    @staticmethod
    def _classes() -> list[type[BaseSettings]]:
        made: list[type[BaseSettings]] = []
        for base in (BaseSettings, AWSBaseSettings):

            class Twice(base):  # type: ignore[misc,valid-type]  # a base chosen at run time
                model_config = SettingsConfigDict(env_prefix="APP_")
                x: str = "default x"
                y: str = Field("default y", validation_alias="APP_X")

            made.append(Twice)
        return made

    def test_plain_value_parity(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A plain APP_X fills `x` (by the prefix) and `y` (by its alias), as pydantic-settings does."""
        monkeypatch.setenv("APP_X", "plain")
        plain, ours = (cls().model_dump() for cls in self._classes())
        assert plain == ours == {"x": "plain", "y": "plain"}

    def test_reference_fills_both_with_one_fetch(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """A reference in APP_X fills both fields with its value, fetched once."""
        sm.create_secret(Name="twice/x", SecretString="fetched")
        monkeypatch.setenv("APP_X", "secretsmanager:twice/x")
        _, ours = self._classes()
        assert ours().model_dump() == {"x": "fetched", "y": "fetched"}
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}
        assert aws_proxy.requests[0][1]["SecretIdList"] == ["twice/x"]

    def test_malformed_reference_is_reported_for_each_field(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A malformed reference in APP_X is reported for each field it feeds, naming the variable."""
        monkeypatch.setenv("APP_X", "secretsmanager:")
        _, ours = self._classes()
        error = load_error(ours)
        assert [(f.field, f.variable, f.code) for f in error.failures] == [
            ("x", "APP_X", "InvalidReference"),
            ("y", "APP_X", "InvalidReference"),
        ]

    def test_two_variables_one_reference_fetch_once(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any
    ) -> None:
        """Two variables naming the same secret (with different keys) cause one fetch of it."""
        sm.create_secret(Name="twice/json", SecretString=json.dumps({"user": "app", "password": CANARY}))
        monkeypatch.setenv("APP_TEXT", "secretsmanager:twice/json#user")
        monkeypatch.setenv("APP_SECRET", "secretsmanager:twice/json#password")
        monkeypatch.setenv("APP_REQUIRED_MODEL", "secretsmanager:twice/json")
        settings = Fields()
        assert (settings.text, settings.secret.get_secret_value()) == ("app", CANARY)
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}
        assert aws_proxy.requests[0][1]["SecretIdList"] == ["twice/json"]


def test_errors_are_settings_errors() -> None:
    """The errors above are pydantic-settings' SettingsError or pydantic's ValidationError."""
    assert issubclass(ResolutionError, SettingsError)
    assert issubclass(InvalidReferenceError, SettingsError)


def test_a_long_detail_shared_by_several_failures_is_written_once() -> None:
    """A credentials failure explains itself once, below the fields it failed; short details stay inline."""
    explanation = "STS denied AssumeRole on role arn:aws:iam::123456789012:role/app: allow sts:AssumeRole"
    error = ResolutionError(
        [
            Failure("password", "APP_PASSWORD", "secretsmanager:db#password", "AccessDenied", explanation),
            Failure("port", "APP_PORT", "ssm:/db/port", "ParameterNotFound", "no such parameter"),
            Failure("token", "APP_TOKEN", "ssm:/api/token", "AccessDenied", explanation),
            Failure("url", "APP_URL", "ssm:/api/url", "ParameterNotFound", "no such parameter"),
        ],
        "App",
    )
    assert str(error).splitlines() == [
        "4 references of App could not be resolved:",
        "  password (from APP_PASSWORD = 'secretsmanager:db#password'): AccessDenied (see [1])",
        "  port (from APP_PORT = 'ssm:/db/port'): ParameterNotFound: no such parameter",
        "  token (from APP_TOKEN = 'ssm:/api/token'): AccessDenied (see [1])",
        "  url (from APP_URL = 'ssm:/api/url'): ParameterNotFound: no such parameter",
        f"  [1] {explanation}",
    ]
    alone = ResolutionError(error.failures[:1], "App")
    assert str(alone).splitlines()[1] == f"  {error.failures[0]}"  # one failure: all on its line
