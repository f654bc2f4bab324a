"""Wherever no reference is involved, AWSBaseSettings behaves exactly as BaseSettings."""

from __future__ import annotations

import enum
import json
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import AliasChoices, BaseModel, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class Colour(enum.Enum):
    """An enum read by name or value."""

    RED = "r"
    BLUE = "b"


class Inner(BaseModel):
    """A nested model."""

    a: int = 0
    b: list[str] = []


def both(annotations: dict[str, Any], config: dict[str, Any], **defaults: Any) -> list[type[BaseSettings]]:
    """The same class built on BaseSettings and on AWSBaseSettings."""
    made = []
    for base in (BaseSettings, AWSBaseSettings):
        namespace = {
            "__annotations__": dict(annotations),
            "model_config": SettingsConfigDict(**config),
            **defaults,
        }
        made.append(type(f"On{base.__name__}", (base,), namespace))
    return made


def same(classes: list[type[BaseSettings]], **init: Any) -> dict[str, Any]:
    """Load both classes; assert the same dump (or the same kind of error); return the dump."""
    outcomes: list[Any] = []
    for cls in classes:
        try:
            outcomes.append(cls(**init).model_dump())
        except (ValidationError, SettingsError) as exc:
            outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]
    return outcomes[0]  # type: ignore[no-any-return]


SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any], dict[str, str], dict[str, Any]]] = {
    # name: (annotations, config, environment, defaults)
    "alias choices": (
        {"name": str},
        {},
        {"SECOND": "two"},
        {"name": Field(validation_alias=AliasChoices("FIRST", "SECOND"))},
    ),
    "complex JSON value": (
        {"inner": Inner, "tags": dict[str, int]},
        {},
        {"INNER": '{"a": 3}', "TAGS": '{"x": 1}'},
        {},
    ),
    "nested delimiter": (
        {"inner": Inner},
        {"env_nested_delimiter": "__"},
        {"INNER__A": "5", "INNER__B": '["q"]'},
        {},
    ),
    "nested delimiter over JSON": (
        {"inner": Inner},
        {"env_nested_delimiter": "__"},
        {"INNER": '{"a": 1, "b": ["x"]}', "INNER__A": "9"},
        {},
    ),
    "env_parse_none_str": (
        {"maybe": int | None},
        {"env_parse_none_str": "None"},
        {"MAYBE": "None"},
        {"maybe": 1},
    ),
    "enum by value": ({"colour": Colour}, {}, {"COLOUR": "b"}, {}),
    "enum by name": ({"colour": Colour}, {"env_parse_enums": True}, {"COLOUR": "RED"}, {}),
    "prefix and case": ({"level": str}, {"env_prefix": "APP_"}, {"app_LEVEL": "x"}, {}),
    "case sensitive": ({"level": str}, {"case_sensitive": True}, {"LEVEL": "upper", "level": "lower"}, {}),
    "ignore empty": ({"level": str}, {"env_ignore_empty": True}, {"LEVEL": ""}, {"level": "default"}),
    "invalid JSON is a settings error": ({"inner": Inner}, {}, {"INNER": "{not json"}, {}),
    "validation error": ({"count": int}, {}, {"COUNT": "many"}, {}),
    "union with a complex member": ({"value": list[int] | str}, {}, {"VALUE": "[1, 2]"}, {}),
}


class TestParity:
    """Each scenario loads to the same result (or the same error) on both bases, with no request."""

    @pytest.mark.parametrize("name", list(SCENARIOS))
    def test_scenario(self, name: str, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any) -> None:
        """Same values or same error type, and nothing sent to AWS."""
        annotations, config, environ, defaults = SCENARIOS[name]
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        same(both(annotations, config, **defaults))
        assert aws_proxy.counts == {}

    def test_extra_from_dotenv(self, tmp_path: Path, aws_proxy: Any) -> None:
        """`extra="allow"` keeps unknown dotenv keys on both bases; `forbid` rejects them on both."""
        env_file = tmp_path / ".env"
        env_file.write_text("APP_KNOWN=1\nAPP_UNKNOWN=2\n")
        allowed = same(both({"known": int}, {"env_prefix": "APP_", "env_file": env_file, "extra": "allow"}))
        # pydantic-settings 2.16 strips the prefix from an extra dotenv key; 2.15 (Python 3.10's) keeps it.
        installed = tuple(int(part) for part in metadata.version("pydantic-settings").split(".")[:2])
        assert allowed == {"known": 1, ("unknown" if installed >= (2, 16) else "app_unknown"): "2"}
        same(both({"known": int}, {"env_prefix": "APP_", "env_file": env_file, "extra": "forbid"}))
        assert aws_proxy.counts == {}

    def test_secrets_directory(self, tmp_path: Path) -> None:
        """A secrets directory supplies fields identically."""
        (tmp_path / "token").write_text("from-file")
        assert same(both({"token": str}, {"secrets_dir": tmp_path})) == {"token": "from-file"}

    def test_cli_source(self) -> None:
        """pydantic-settings' CLI parsing fills fields identically."""
        config = {"cli_parse_args": ["--level", "warn"], "cli_prog_name": "app"}
        assert same(both({"level": str}, config)) == {"level": "warn"}

    def test_custom_sources_with_a_json_file(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A JSON config file source composed after AWSSettingsSource fills what the environment does not."""
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps({"level": "from-json", "port": 1}))
        monkeypatch.setenv("PORT", "2")

        def customise(aws: bool) -> Callable[..., tuple[PydanticBaseSettingsSource, ...]]:
            def sources(
                cls: type[BaseSettings],
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                middle = AWSSettingsSource(settings_cls, env_settings) if aws else env_settings
                return (init_settings, middle, JsonConfigSettingsSource(settings_cls, json_file=config_file))

            return sources

        loaded = []
        for base, aws in ((BaseSettings, False), (AWSBaseSettings, True)):
            namespace = {
                "__annotations__": {"level": str, "port": int},
                "settings_customise_sources": classmethod(customise(aws)),
            }
            loaded.append(type("Custom", (base,), namespace)().model_dump())
        assert loaded[0] == loaded[1] == {"level": "from-json", "port": 2}

    def test_a_subclassed_env_source_is_called_even_without_variables(self) -> None:
        """Only pydantic-settings' own env and dotenv sources are skipped when they have no variables.

        A dotenv source without a file gives nothing, so a load does not call it; a subclass may compute
        values of its own, and is called as pydantic-settings would call it.
        """

        class Computed(DotEnvSettingsSource):
            def __call__(self) -> dict[str, Any]:
                return {"level": "computed"}

        def sources(
            cls: type[BaseSettings],
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            computed = Computed(settings_cls)
            assert not computed.env_vars  # no env file: the case a plain dotenv source is skipped in
            return (init_settings, AWSSettingsSource(settings_cls, env_settings, computed))

        namespace = {"__annotations__": {"level": str}, "settings_customise_sources": classmethod(sources)}
        assert type("Custom", (AWSBaseSettings,), namespace)().model_dump() == {"level": "computed"}

    def test_validation_error_hides_input_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The one intended difference: AWSBaseSettings hides inputs in validation errors."""
        monkeypatch.setenv("COUNT", "not-a-number-xyz")
        plain, ours = both({"count": int}, {})
        with pytest.raises(ValidationError) as shown:
            plain()
        with pytest.raises(ValidationError) as hidden:
            ours()
        assert "not-a-number-xyz" in str(shown.value)
        assert "not-a-number-xyz" not in str(hidden.value)

    def test_every_private_api_used_still_exists(self) -> None:
        """Each pydantic-settings private name the compat seam reaches exists in the installed release."""
        import importlib

        from pydantic_aws_settings.source import _compat

        for module, dotted in _compat.PRIVATE_NAMES:
            found: Any = importlib.import_module(module)
            for part in dotted.split("."):
                assert hasattr(found, part), f"{module}.{dotted} (checked against {_compat.CHECKED_AGAINST})"
                found = getattr(found, part)

    def test_deep_update_merges_as_pydantic_does(self) -> None:
        """The local `deep_update` merges nested mappings as pydantic's private one does."""
        from pydantic._internal._utils import deep_update as pydantic_deep_update

        from pydantic_aws_settings.source._compat import deep_update

        base = {"a": {"x": 1, "y": {"z": 2}}, "b": 1, "c": {"k": 1}}
        updates = [{"a": {"y": {"w": 3}}, "b": {"n": 1}}, {"c": 2, "d": {"e": 1}}]
        assert deep_update(base, *updates) == pydantic_deep_update(base, *updates)
        assert base == {"a": {"x": 1, "y": {"z": 2}}, "b": 1, "c": {"k": 1}}  # not changed in place
