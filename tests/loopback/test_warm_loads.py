"""Warm loads: what a load remembers across loads is keyed on what it depends on, and bounded.

A warm load (every reference in the cache) repeats per-class work; the memos that spare it must never
hide a change: a variable's new value, another prefix, a subclassed source, a new field.
"""

from __future__ import annotations

import os
import pickle
from enum import IntEnum
from typing import Any, Literal

import pytest
from pydantic import Field, SecretStr, StrictBool
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource, _redact, resolver
from pydantic_aws_settings.references import parse_reference
from pydantic_aws_settings.source import _compat, _memo


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


class TestTargets:
    """Each reference's cache key (`resolver.targets_for`): built once, again for a new identity or region."""

    def test_a_warm_load_builds_no_target(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """The second load reuses the first load's targets (fails before: one new Target per reference)."""
        built: list[Any] = []

        class Counted(resolver.Target):
            def __new__(cls, *args: Any) -> Any:
                built.append(args)
                return super().__new__(cls, *args)

        monkeypatch.setattr(resolver, "Target", Counted)
        monkeypatch.setattr(resolver, "_TARGETS", {})
        ssm.put_parameter(Name="/warm/a", Value="value-a", Type="String")
        monkeypatch.setenv("APP_A", "ssm:/warm/a")
        monkeypatch.setenv("APP_C", "optional:ssm:/warm/a")
        app = app_class(a=str, c=str)
        assert app().model_dump() == {"a": "value-a", "c": "value-a"}
        assert len(built) == 2
        assert app().model_dump() == {"a": "value-a", "c": "value-a"}
        assert len(built) == 2

    def test_another_region_is_another_target(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """A region option changed between loads reads the other region's parameter."""
        import boto3

        west = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
        west_ssm = west.client("ssm", region_name="eu-west-1", endpoint_url=ssm.meta.endpoint_url)
        ssm.put_parameter(Name="/warm/where", Value="east", Type="String")
        west_ssm.put_parameter(Name="/warm/where", Value="west", Type="String")
        monkeypatch.setenv("APP_WHERE", "ssm:/warm/where")
        app = app_class(where=str)
        monkeypatch.setenv("PYDANTIC_AWS_REGION", "us-east-1")
        assert app().where == "east"
        monkeypatch.setenv("PYDANTIC_AWS_REGION", "eu-west-1")
        assert app().where == "west"
        monkeypatch.setenv("PYDANTIC_AWS_REGION", "us-east-1")
        assert app().where == "east"

    def test_another_identity_is_another_target(
        self, ssm: Any, aws_proxy: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Other credentials (a changed AWS_ACCESS_KEY_ID) fetch again: values never cross identities."""
        ssm.put_parameter(Name="/warm/who", Value="value", Type="String")
        monkeypatch.setenv("APP_WHO", "ssm:/warm/who")
        app = app_class(who=str)
        app()
        app()
        assert aws_proxy.counts == {"GetParameters": 1}
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "other-key")
        app()
        app()
        assert aws_proxy.counts == {"GetParameters": 2}

    def test_the_memo_is_bounded(self, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past MAX_TARGETS the memo starts again empty; loads go on giving the same values."""
        monkeypatch.setattr(resolver, "MAX_TARGETS", 3)
        for i in range(7):
            ssm.put_parameter(Name=f"/warm/p{i}", Value=f"v{i}", Type="String")
            monkeypatch.setenv(f"APP_P{i}", f"ssm:/warm/p{i}")
        app = app_class(**{f"p{i}": str for i in range(7)})
        for _ in range(3):
            assert app().model_dump() == {f"p{i}": f"v{i}" for i in range(7)}
        assert 0 < len(resolver._TARGETS) <= 3

    def test_a_target_hashes_as_its_tuple(self) -> None:
        """The hash worked out once is the tuple's, through _replace and a pickle too."""
        ref = parse_reference("ssm:/warm/x")
        target = resolver.Target(None, "us-east-1", ref)  # type: ignore[arg-type]
        assert hash(target) == hash((None, "us-east-1", ref))
        assert target == (None, "us-east-1", ref)
        moved = target._replace(region="eu-west-1")
        assert hash(moved) == hash((None, "eu-west-1", ref))
        copied = pickle.loads(pickle.dumps(target))  # noqa: S301 - our own object
        assert copied == target
        assert hash(copied) == hash(target)
        assert type(copied) is resolver.Target


class TestWrapping:
    """A layer's value methods are wrapped to keep secrets masked only when the layer holds one."""

    @pytest.fixture
    def wraps(self, monkeypatch: pytest.MonkeyPatch) -> list[str]:
        """The methods wrapped by `keeping_hidden`, in order."""
        wrapped: list[str] = []
        original = _redact.keeping_hidden

        def counting(method: Any) -> Any:
            wrapped.append(method.__name__)
            return original(method)

        monkeypatch.setattr(_redact, "keeping_hidden", counting)
        return wrapped

    def test_no_secret_no_wrapping(self, ssm: Any, monkeypatch: pytest.MonkeyPatch, wraps: list[str]) -> None:
        """Plain parameters and values only: nothing to keep masked (fails before: 3 wrappers a load)."""
        ssm.put_parameter(Name="/warm/plain", Value='{"a": 1}', Type="String")
        monkeypatch.setenv("APP_CONFIG", "ssm:/warm/plain")
        monkeypatch.setenv("APP_LEVEL", "DEBUG")
        app = app_class(config=dict[str, int], level=str)
        assert app().model_dump() == {"config": {"a": 1}, "level": "DEBUG"}
        assert wraps == []

    def test_a_secret_wraps_its_layer(
        self, sm: Any, monkeypatch: pytest.MonkeyPatch, wraps: list[str]
    ) -> None:
        """A secret's JSON decoded by pydantic-settings stays masked: the layer's methods are wrapped."""
        sm.create_secret(Name="warm/json", SecretString='{"password": "canary-wrap-1", "port": 5432}')
        monkeypatch.setenv("APP_DB", "secretsmanager:warm/json")
        monkeypatch.setenv("APP_LEVEL", "DEBUG")
        app = app_class(db=dict[str, Any], level=str)
        source = AWSSettingsSource(app)
        source._set_current_state({})
        values = source()
        assert "canary-wrap-1" not in repr(values)
        assert "5432" not in repr(values)
        assert values["db"]["password"] == "canary-wrap-1"
        assert sorted(wraps) == sorted(_compat._VALUE_METHODS)
