"""Warm loads: pydantic-settings' per-field facts, remembered per class and source setup (`source._memo`).

A warm load (every reference in the cache) repeats per-class work; the memos that spare it must never
hide a change: a variable's new value, another prefix, a subclassed source, a new field. The cache keys
and the wrapping of a layer: test_warm_keys.py.
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any, Literal

import pytest
from pydantic import Field, SecretStr, StrictBool
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource
from pydantic_aws_settings.source import _memo


class Level(IntEnum):
    """A numeric enum: pydantic-settings validates the text of a Literal of its members in advance."""

    ONE = 1
    TWO = 2


def app_class(name: str = "App", **annotations: Any) -> type[AWSBaseSettings]:
    """A settings class with prefix APP_."""
    return type(
        name,
        (AWSBaseSettings,),
        {"__annotations__": annotations, "model_config": SettingsConfigDict(env_prefix="APP_")},
    )


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the calls of pydantic-settings' per-field methods that `_memo` remembers."""
    calls = {"extract": 0, "complex": 0, "coerce": 0}
    extract, is_complex = EnvSettingsSource._extract_field_info, EnvSettingsSource._field_is_complex
    coerce = EnvSettingsSource._coerce_env_val_strict

    def counting_extract(self: Any, *args: Any) -> Any:
        calls["extract"] += 1
        return extract(self, *args)

    def counting_complex(self: Any, *args: Any) -> Any:
        calls["complex"] += 1
        return is_complex(self, *args)

    def counting_coerce(self: Any, *args: Any) -> Any:
        calls["coerce"] += 1
        return coerce(self, *args)

    monkeypatch.setattr(EnvSettingsSource, "_extract_field_info", counting_extract)
    monkeypatch.setattr(EnvSettingsSource, "_coerce_env_val_strict", counting_coerce)
    monkeypatch.setattr(EnvSettingsSource, "_field_is_complex", counting_complex)
    return calls


class TestFieldFacts:
    """pydantic-settings' per-field facts (`_memo`): once per class and source setup, not per load."""

    def test_second_load_asks_pydantic_settings_nothing(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch, counted: dict[str, int]
    ) -> None:
        """A warm load finds its fields' variables and shapes in the memo (0 calls, not 2 per field)."""
        ssm.put_parameter(Name="/warm/url", Value="https://one", Type="String")
        monkeypatch.setenv("APP_URL", "ssm:/warm/url")
        monkeypatch.setenv("APP_LEVEL", "DEBUG")
        monkeypatch.setenv("APP_PORTS", "[1, 2]")
        app = app_class(url=str, level=str, ports=list[int])
        first = app()
        assert counted["extract"] > 0
        counted.update(extract=0, complex=0, coerce=0)
        second = app()
        assert counted == {"extract": 0, "complex": 0, "coerce": 0}
        expected = {"url": "https://one", "level": "DEBUG", "ports": [1, 2]}
        assert first.model_dump() == second.model_dump() == expected

    @pytest.mark.parametrize("strict", [False, True])
    def test_coerced_fields_as_pydantic_settings_coerces_them(
        self, ssm: Any, monkeypatch: pytest.MonkeyPatch, strict: bool, counted: dict[str, int]
    ) -> None:
        """Strict and numeric-Literal fields are still coerced at every load; the others are not asked."""
        ssm.put_parameter(Name="/warm/count", Value="7", Type="String")
        monkeypatch.setenv("APP_COUNT", "ssm:/warm/count")
        monkeypatch.setenv("APP_LEVEL", "2")
        monkeypatch.setenv("APP_FLAG", "true")
        monkeypatch.setenv("APP_NAME", "name")
        level = Literal[Level.ONE, Level.TWO]
        annotations = {"count": int, "level": level, "flag": StrictBool | None, "name": str}
        config = SettingsConfigDict(env_prefix="APP_", strict=strict)
        ours = type("Ours", (AWSBaseSettings,), {"__annotations__": annotations, "model_config": config})
        monkeypatch.setenv("PLAIN_COUNT", "7")
        for name in ("LEVEL", "FLAG", "NAME"):
            monkeypatch.setenv(f"PLAIN_{name}", os.environ[f"APP_{name}"])
        plain_config = SettingsConfigDict(env_prefix="PLAIN_", strict=strict)
        plain = type("Plain", (BaseSettings,), {"__annotations__": annotations, "model_config": plain_config})
        expected = plain().model_dump()
        assert expected == {"count": 7, "level": Level.TWO, "flag": True, "name": "name"}
        assert ours().model_dump() == expected
        counted["coerce"] = 0
        assert ours().model_dump() == expected
        assert counted["coerce"] == (4 if strict else 2)  # level and flag (and all, when strict): each load

    def test_changed_variables_are_seen(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """The memo holds where a field is read from, never what: new values, references, variables count."""
        ssm.put_parameter(Name="/warm/a", Value="value-a", Type="String")
        ssm.put_parameter(Name="/warm/b", Value="value-b", Type="String")
        monkeypatch.setenv("APP_URL", "ssm:/warm/a")
        monkeypatch.setenv("APP_LEVEL", "DEBUG")

        class App(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            url: str
            level: str
            extra: str | None = None

        app: Any = App
        assert app().model_dump() == {"url": "value-a", "level": "DEBUG", "extra": None}
        monkeypatch.setenv("APP_URL", "ssm:/warm/b")
        monkeypatch.setenv("APP_LEVEL", "ssm:/warm/a")
        monkeypatch.setenv("APP_EXTRA", "plain")
        assert app().model_dump() == {"url": "value-b", "level": "value-a", "extra": "plain"}
        monkeypatch.setenv("APP_URL", "plain-url")
        monkeypatch.delenv("APP_EXTRA")
        assert app().model_dump() == {"url": "plain-url", "level": "value-a", "extra": None}

    def test_each_source_setup_has_its_own_facts(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Another prefix (`_env_prefix=`) or case sensitivity is another setup: its own variable names."""
        ssm.put_parameter(Name="/warm/app", Value="from-app", Type="String")
        ssm.put_parameter(Name="/warm/other", Value="from-other", Type="String")
        monkeypatch.setenv("APP_URL", "ssm:/warm/app")
        monkeypatch.setenv("OTHER_URL", "ssm:/warm/other")
        monkeypatch.setenv("other_level", "lower")

        class App(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            url: str = "none"
            level: str = "INFO"

        app: Any = App
        for _ in range(2):
            assert app().url == "from-app"
            assert app(_env_prefix="OTHER_").url == "from-other"
            assert app(_env_prefix="other_", _case_sensitive=True).level == "lower"
            assert app(_env_prefix="OTHER_", _case_sensitive=True).level == "INFO"

    def test_aliases_by_class(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Two classes with the same field names and other aliases each read their own variables."""
        monkeypatch.setenv("FIRST_NAME", "first")
        monkeypatch.setenv("SECOND_NAME", "second")

        class First(AWSBaseSettings):
            name: str = Field(alias="FIRST_NAME")

        class Second(AWSBaseSettings):
            name: str = Field(alias="SECOND_NAME")

        first: Any = First
        second: Any = Second
        for _ in range(2):
            assert (first().name, second().name) == ("first", "second")

    def test_a_subclassed_source_keeps_its_own_methods(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A subclass of EnvSettingsSource may compute the facts otherwise: it is asked at every load."""
        asked: list[str] = []

        class Renamed(EnvSettingsSource):
            def _extract_field_info(
                self, field: FieldInfo, field_name: str, model_config: Any = None
            ) -> list[tuple[str, str, bool]]:
                asked.append(field_name)
                return [(field_name, f"renamed_{field_name}", False)]

        class Settings(BaseSettings):
            name: str = "default"

            @classmethod
            def settings_customise_sources(
                cls, settings_cls: type[BaseSettings], **sources: PydanticBaseSettingsSource
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (AWSSettingsSource(settings_cls, Renamed(settings_cls)),)

        monkeypatch.setenv("RENAMED_NAME", "renamed")
        assert Settings().name == "renamed"
        asked.clear()
        assert Settings().name == "renamed"
        assert "name" in asked

    def test_the_memo_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past MAX_FACTS a memo starts again empty; loads go on giving the same values."""
        monkeypatch.setattr(_memo, "MAX_FACTS", 5)
        fields = {f"f{i}": str for i in range(12)}
        for i in range(12):
            monkeypatch.setenv(f"APP_F{i}", f"v{i}")
        app = app_class(**fields)
        for _ in range(3):
            assert app().model_dump() == {f"f{i}": f"v{i}" for i in range(12)}
        source = EnvSettingsSource(app)
        assert 0 < len(_memo.memo_for(source)) <= 5

    def test_setups_per_class_are_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A prefix per load (one per tenant, say) keeps at most MAX_SETUPS memos for the class."""
        monkeypatch.setattr(_memo, "MAX_SETUPS", 3)
        app: Any = app_class(tenant=str)
        for i in range(8):
            monkeypatch.setenv(f"T{i}_TENANT", f"tenant-{i}")
            assert app(_env_prefix=f"T{i}_").tenant == f"tenant-{i}"
            assert app(_env_prefix=f"T{i}_").tenant == f"tenant-{i}"
        assert 0 < len(_memo._MEMOS[app]) <= 3

    def test_secret_values_stay_hidden(self, sm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """The memo holds no value: a secret fed into a model is read again, hidden, at every load."""
        sm.create_secret(Name="warm/db", SecretString='{"user": "u", "password": "canary-warm-1"}')
        monkeypatch.setenv("APP_DB", "secretsmanager:warm/db")
        app = app_class(db=dict[str, SecretStr])
        for _ in range(2):
            values = app().db
            assert values["password"].get_secret_value() == "canary-warm-1"
            assert "canary-warm-1" not in repr(values)

    def test_a_fact_belongs_to_its_field_object(self) -> None:
        """A new FieldInfo under a known name (a rebuilt model) is a new fact; an incomplete one: none."""

        class Settings(BaseSettings):
            name: str = Field("x", validation_alias="FIRST")

        source = EnvSettingsSource(Settings)
        assert _memo.install(source)
        field = Settings.model_fields["name"]
        assert source._extract_field_info(field, "name") == [("FIRST", "first", False)]
        other = FieldInfo(annotation=str, validation_alias="SECOND")
        assert source._extract_field_info(other, "name") == [("SECOND", "second", False)]
        incomplete = FieldInfo(annotation=str, validation_alias="THIRD")
        incomplete._complete = False
        before = len(_memo.memo_for(source))
        with pytest.warns(Warning, match="incomplete definition"):
            source._extract_field_info(incomplete, "third")
        assert len(_memo.memo_for(source)) == before

    def test_only_a_text_handed_back_untouched_is_remembered(self) -> None:
        """A coercion that compares, reads, replaces or fails on the probe is asked again at every load."""
        field = FieldInfo(annotation=str)

        def fails(field: Any, value: Any) -> Any:
            raise RuntimeError

        assert _memo._keeps_text(lambda field, value: value, field)
        assert not _memo._keeps_text(lambda field, value: value if value != "x" else None, field)
        assert not _memo._keeps_text(lambda field, value: value if value.isdigit() or True else None, field)
        assert not _memo._keeps_text(lambda field, value: str(value), field)
        assert not _memo._keeps_text(fails, field)
