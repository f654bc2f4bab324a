"""Warm loads: each reference's cache key is built once, and a layer is wrapped only when it holds a secret.

The memos here never hide a change: another identity or region builds another key, and a layer into
which a secret's value was written keeps that value masked.
"""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsSource, _redact, resolver
from pydantic_aws_settings.references import parse_reference
from pydantic_aws_settings.source import _compat


def app_class(name: str = "App", **annotations: Any) -> type[AWSBaseSettings]:
    """A settings class with prefix APP_."""
    return type(
        name,
        (AWSBaseSettings,),
        {"__annotations__": annotations, "model_config": SettingsConfigDict(env_prefix="APP_")},
    )


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
