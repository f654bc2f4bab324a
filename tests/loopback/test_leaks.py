"""Leaks: a fetched secret never shows, whatever name pydantic looks its field up by, whatever its type.

Every value planted here holds `CANARY` (or a canary number); every text the library produces is searched
for it: the `check` table, `check --json`, pydantic-settings' `PYDANTIC_SETTINGS_DEBUG` dump, and a failed
load's traceback formatted with every frame's locals, as error trackers record it.
"""

from __future__ import annotations

import json
import traceback
from typing import TYPE_CHECKING, Annotated, Any

import pytest
from pydantic import AliasChoices, AliasPath, BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource, ResolutionError, SecretsManager
from pydantic_aws_settings.cli.check import MASK, check
from support.logs import collecting

if TYPE_CHECKING:
    from collections.abc import Iterator

    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_ssm import SSMClient

    from support.logs import RecordCollector

CANARY = "CANARY-l34k-5f1e"


@pytest.fixture
def debug_dump(monkeypatch: pytest.MonkeyPatch) -> Iterator[RecordCollector]:
    """pydantic-settings' own dump of every source's values switched on, every record collected."""
    monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
    with collecting() as records:
        yield records


def dumps_of(records: RecordCollector, name: str) -> list[str]:
    """The `PYDANTIC_SETTINGS_DEBUG` dumps of a settings class among the records."""
    return [text for text in records.texts if f"Resolving settings for {name!r}" in text]


def checked(settings_cls: type[Any], capsys: pytest.CaptureFixture[str]) -> tuple[str, list[dict[str, Any]]]:
    """`check` and `check --json` of a class (both must load): the table's text and the JSON rows."""
    assert check(settings_cls) == 0
    table = capsys.readouterr()
    assert check(settings_cls, as_json=True) == 0
    listed = capsys.readouterr()
    assert CANARY not in table.out + table.err + listed.out + listed.err
    return table.out, json.loads(listed.out)


class Aliased(AWSBaseSettings):
    """A field behind each way pydantic names one: alias, validation_alias, AliasChoices, AliasPath."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    by_alias: str = Field(alias="LEAK_ALIAS")
    by_validation_alias: str = Field(validation_alias="LEAK_VALIDATION")
    by_choice: str = Field(validation_alias=AliasChoices("LEAK_UNSET", "LEAK_CHOICE"))
    by_secure_choice: SecretStr = Field(validation_alias=AliasChoices("LEAK_SECURE", "LEAK_NEVER"))
    by_path: str = Field(validation_alias=AliasPath("LEAK_PATH", "inner"))
    by_path_choice: str = Field(validation_alias=AliasChoices("LEAK_NONE", AliasPath("LEAK_LIST", 0)))
    plain: str = Field("shown", validation_alias=AliasChoices("LEAK_PLAIN", "APP_PLAIN"))


ALIASED_ENV = {
    "LEAK_ALIAS": "secretsmanager:leaks/alias",
    "LEAK_VALIDATION": "secretsmanager:leaks/validation",
    "LEAK_CHOICE": "secretsmanager:leaks/choice",
    "LEAK_SECURE": "ssm:/leaks/secure",
    "LEAK_PATH": "secretsmanager:leaks/path",
    "LEAK_LIST": "secretsmanager:leaks/list",
    "LEAK_PLAIN": "ssm:/leaks/plain",
}


@pytest.fixture
def aliased(sm: SecretsManagerClient, ssm: SSMClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A canary behind every alias of `Aliased`, and the variables that name them."""
    for name in ("alias", "validation", "choice"):
        sm.create_secret(Name=f"leaks/{name}", SecretString=f"{CANARY}-{name}")
    sm.create_secret(Name="leaks/path", SecretString=json.dumps({"inner": f"{CANARY}-path"}))
    sm.create_secret(Name="leaks/list", SecretString=json.dumps([f"{CANARY}-list"]))
    ssm.put_parameter(Name="/leaks/secure", Value=f"{CANARY}-secure", Type="SecureString")
    ssm.put_parameter(Name="/leaks/plain", Value="plain-value", Type="String")
    for name, value in ALIASED_ENV.items():
        monkeypatch.setenv(name, value)


class TestAliases:
    """Masking follows pydantic's own field lookup, in `check`, `check --json` and the debug dump."""

    def test_check_masks_every_aliased_secret(
        self, aliased: None, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each aliased secret's row is masked and names the variable it came from; a String stays shown."""
        settings = Aliased()
        assert settings.by_choice == f"{CANARY}-choice"
        assert settings.by_path == f"{CANARY}-path"
        assert settings.by_path_choice == f"{CANARY}-list"
        table, rows = checked(Aliased, capsys)
        by_field = {row["field"]: row for row in rows}
        for field in ("by_alias", "by_validation_alias", "by_choice", "by_secure_choice", "by_path"):
            assert by_field[field]["value"] == MASK, field
        assert by_field["by_path_choice"]["value"] == MASK
        assert by_field["by_choice"]["origin"] == "env LEAK_CHOICE"
        assert by_field["by_secure_choice"]["reference"] == "ssm:/leaks/secure"
        assert by_field["plain"]["value"] == "plain-value"
        assert "plain-value" in table

    def test_debug_dump_masks_every_aliased_secret(self, aliased: None, debug_dump: RecordCollector) -> None:
        """The dump shows the aliased keys, and no value a secret or SecureString fed under them."""
        settings = Aliased()
        assert settings.by_secure_choice.get_secret_value() == f"{CANARY}-secure"
        dumps = dumps_of(debug_dump, "Aliased")
        assert dumps, "pydantic-settings wrote its source dump"
        assert "LEAK_UNSET" in dumps[0]  # pydantic-settings keys an AliasChoices field by its first choice
        assert debug_dump.containing(CANARY) == []
        assert "plain-value" in dumps[0]


class Inner(BaseModel):
    """Every JSON type a secret can hold."""

    port: int
    ratio: float
    enabled: bool
    nothing: int | None
    nested: dict[str, Any]
    password: SecretStr


class Typed(AWSBaseSettings):
    """A model, a dict and an Any field fed by JSON secrets and a SecureString."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    inner: Inner
    counts: dict[str, int]
    anything: Any = None


NUMBERS = {
    "port": 73915,
    "ratio": 0.73915,
    "enabled": True,
    "nothing": None,
    "nested": {"deep": [73916, {"deeper": 73917, "flag": False}]},
    "password": CANARY,
}


@pytest.fixture
def typed(sm: SecretsManagerClient, ssm: SSMClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON secrets of numbers, booleans, nulls and nesting behind `Typed`'s fields."""
    sm.create_secret(Name="leaks/numbers", SecretString=json.dumps(NUMBERS))
    ssm.put_parameter(Name="/leaks/counts", Value=json.dumps({"a": 73918}), Type="SecureString")
    sm.create_secret(Name="leaks/anything", SecretString=json.dumps([73919, True, None]))
    monkeypatch.setenv("APP_INNER", "secretsmanager:leaks/numbers")
    monkeypatch.setenv("APP_COUNTS", "ssm:/leaks/counts")
    monkeypatch.setenv("APP_ANYTHING", "secretsmanager:leaks/anything")


class TestEveryLeafMasked:
    """The debug dump masks every leaf a secret fed: numbers, booleans, nulls, nested values."""

    def test_numbers_booleans_and_nulls_are_masked(self, typed: None, debug_dump: RecordCollector) -> None:
        """No number, boolean or null of a JSON secret shows in the dump; the keys do; fields keep types."""
        settings = Typed()
        assert settings.inner.port == 73915
        assert settings.inner.nested == {"deep": [73916, {"deeper": 73917, "flag": False}]}
        assert type(settings.inner.nested) is dict
        assert settings.counts == {"a": 73918}
        assert type(settings.counts) is dict
        assert settings.anything == json.dumps([73919, True, None])  # Any is not decoded: the text
        (dump,) = dumps_of(debug_dump, "Typed")
        ours = next(line for line in dump.splitlines() if "AWSSettingsSource" in line)
        for shown in (CANARY, "7391", "0.7", "True", "False", "None"):
            assert shown not in ours, shown
        for key in ("port", "ratio", "enabled", "nothing", "deep", "deeper", "flag", "password"):
            assert f"'{key}'" in ours, key

    def test_check_masks_every_leaf(self, typed: None, capsys: pytest.CaptureFixture[str]) -> None:
        """`check` and `check --json` mask each leaf of the model and the whole dict and Any values."""
        table, rows = checked(Typed, capsys)
        assert "7391" not in table
        assert {row["field"]: row["value"] for row in rows} == {
            "inner.port": MASK,
            "inner.ratio": MASK,
            "inner.enabled": MASK,
            "inner.nothing": None,  # no value, as a default would show: null is not masked
            "inner.nested": MASK,
            "inner.password": MASK,
            "counts": MASK,
            "anything": MASK,
        }


def traced(exc: BaseException) -> str:
    """The exception as an error tracker records it: the traceback with every frame's locals."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


class Traced(AWSBaseSettings):
    """Fields a secret, a SecureString, a JSON secret and a bulk import feed."""

    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")
    token: SecretStr
    inner: Inner | None = None
    pin: str = "none"
    count: int = 0
    extra: list[int] = Field(default_factory=list)
    imported: SecretStr = SecretStr("none")
    missing: str = "none"


@pytest.fixture
def traced_env(sm: SecretsManagerClient, ssm: SSMClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Canaries behind `Traced`'s fields: each test adds the variable that makes its load fail."""
    sm.create_secret(Name="leaks/token", SecretString=f"{CANARY}-token")
    sm.create_secret(Name="leaks/numbers", SecretString=json.dumps(NUMBERS))
    sm.create_secret(Name="leaks/import", SecretString=json.dumps({"imported": f"{CANARY}-import"}))
    ssm.put_parameter(Name="/leaks/pin", Value=f"{CANARY}-pin", Type="SecureString")
    ssm.put_parameter(Name="/leaks/count", Value=f"{CANARY}-count", Type="SecureString")
    monkeypatch.setenv("APP_TOKEN", "secretsmanager:leaks/token")
    monkeypatch.setenv("APP_INNER", "secretsmanager:leaks/numbers")
    monkeypatch.setenv("APP_PIN", "ssm:/leaks/pin")
    monkeypatch.setenv("PYDANTIC_AWS_IMPORT", "secretsmanager:leaks/import")


FAILING = {
    "one resolves, one is missing": {"APP_MISSING": "secretsmanager:leaks/nope"},
    "one resolves, one key is missing": {"APP_MISSING": "secretsmanager:leaks/token#nokey"},
    "validation error after fetching": {"APP_COUNT": "ssm:/leaks/count"},
    "validation error inside a fetched model": {"APP_INNER__PORT": "not-a-port"},
    "pydantic-settings parse error after fetching": {"APP_EXTRA": "[not json"},
}


class TestTracebackLocals:
    """capture_locals (what Sentry records) shows no fetched value, in the library's frames or pydantic's."""

    @pytest.mark.parametrize("case", list(FAILING))
    def test_no_canary_in_any_frame(
        self, case: str, traced_env: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Values were fetched, then the load failed: no frame's locals show any of them (no debug dump)."""
        for name, value in FAILING[case].items():
            monkeypatch.setenv(name, value)
        with pytest.raises((ResolutionError, ValidationError, SettingsError)) as caught:
            Traced()
        text = traced(caught.value)
        assert "plan = _Plan(" in text or "data = {" in text, "the frames' locals were captured"
        for shown in (CANARY, "73915", "73916"):
            assert shown not in text, shown

    def test_declared_marker_and_import_values_are_masked_in_frames(
        self, traced_env: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A marker's secret and an import's values, fetched before a later failure, show in no frame."""

        class Declared(Traced):
            marked: Annotated[str, SecretsManager("leaks/token")] = "none"

        monkeypatch.setenv("APP_COUNT", "ssm:/leaks/count")
        with pytest.raises(ValidationError) as caught:
            Declared()
        assert CANARY not in traced(caught.value)

    def test_a_plain_base_settings_error_shows_no_input(
        self, traced_env: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without `hide_input_in_errors`, pydantic's error shows the input's repr: masked, as in frames."""

        class Plain(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            count: int
            token: int = 0

            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], **sources: PydanticBaseSettingsSource
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (AWSSettingsSource(settings_cls),)

        monkeypatch.setenv("APP_COUNT", "ssm:/leaks/count")
        with pytest.raises(ValidationError) as caught:
            Plain()
        assert "input_value='**********'" in str(caught.value)
        assert CANARY not in str(caught.value) + traced(caught.value)

    def test_exec_resolution_error_frames_show_no_value(self, traced_env: None) -> None:
        """`exec`'s resolution of the environment fails after one reference resolved: no frame shows it."""
        from pydantic_aws_settings.cli.exec import resolve_environment

        environ = {"TOKEN": "secretsmanager:leaks/token", "PIN": "ssm:/leaks/pin", "GONE": "ssm:/leaks/gone"}
        with pytest.raises(ResolutionError) as caught:
            resolve_environment(environ)
        assert "GONE" in str(caught.value)
        assert CANARY not in traced(caught.value)
        resolved = resolve_environment({"PIN": "ssm:/leaks/pin"})
        assert resolved["PIN"] == f"{CANARY}-pin"
