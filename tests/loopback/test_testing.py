"""`pydantic_aws_settings.testing.FakeAWS` and the `fake_aws` fixture: the contract, its arguments.

AWS's semantics in the fake are tested in `test_fake_aws.py`; the reference grammar end to end against
the fake in `test_resolution_fake.py` (the moto tests, run again).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, ResolutionError, _state, clear_cache
from pydantic_aws_settings.testing import FakeAWS


class Database(BaseModel):
    """A model filled from a JSON secret."""

    host: str
    password: SecretStr


def settings_class(**annotations: Any) -> type[AWSBaseSettings]:
    """An `AWSBaseSettings` class with prefix APP_ and the given field annotations."""
    config = SettingsConfigDict(env_prefix="APP_")
    return type("Settings", (AWSBaseSettings,), {"__annotations__": annotations, "model_config": config})


def failures(error: pytest.ExceptionInfo[ResolutionError]) -> dict[str, str]:
    """Field -> code of a ResolutionError."""
    return {failure.field: failure.code for failure in error.value.failures}


class TestContract:
    """The contract's example, its promises about the cache, and no network, botocore or credentials."""

    def test_the_contract_example(self, monkeypatch: pytest.MonkeyPatch, aws_proxy: Any) -> None:
        """Secrets, String, StringList, SecureString, rotate, fail, requests: as the contract shows them."""
        monkeypatch.setenv("APP_DATABASE", "secretsmanager:prod/db")
        monkeypatch.setenv("APP_API_URL", "ssm:/prod/api/url")
        monkeypatch.setenv("APP_HOSTS", "ssm:/prod/hosts")
        monkeypatch.setenv("APP_KEY", "ssm:/prod/key")
        cls = settings_class(database=Database, api_url=str, hosts=list[str], key=SecretStr)
        with FakeAWS(
            secrets={"prod/db": {"host": "db", "password": "pw"}},
            parameters={"/prod/api/url": "https://api", "/prod/hosts": ["a", "b"], "/prod/key": "k"},
            secure={"/prod/key"},
        ) as aws:
            settings = cls()
            assert (settings.database.host, settings.api_url, settings.hosts) == (
                "db",
                "https://api",
                ["a", "b"],
            )  # type: ignore[attr-defined]
            assert settings.key.get_secret_value() == "k"  # type: ignore[attr-defined]
            aws.rotate("prod/db", {"host": "db", "password": "pw2"})
            aws.fail("ssm", "ThrottlingException")
            assert aws.requests["secretsmanager"] == 1
            assert aws.requests == {"secretsmanager": 1, "ssm": 1}
            clear_cache()
            with pytest.raises(ResolutionError) as caught:
                cls()
            assert set(failures(caught).values()) == {"ThrottlingException"}
            assert "Rate exceeded" in str(caught.value)
            aws.fail("ssm", None)
            assert cls().database.password.get_secret_value() == "pw2"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {}  # nothing reached the loopback endpoint that AWS_ENDPOINT_URL names

    def test_cache_cleared_on_entry_and_exit(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A value cached inside one FakeAWS is not served inside the next; leaving removes the fake."""
        monkeypatch.setenv("APP_TOKEN", "secretsmanager:prod/token")
        cls = settings_class(token=str)
        with FakeAWS(secrets={"prod/token": "first"}):
            assert cls().token == "first"  # type: ignore[attr-defined]
        assert _state.state().client_factory is None
        assert len(_state.state().cache) == 0
        with FakeAWS(secrets={"prod/token": "second"}):
            assert cls().token == "second"  # type: ignore[attr-defined]

    def test_no_botocore_no_credentials_no_region(self, tmp_path: Any) -> None:
        """A load in a fresh process with no AWS variable, and a role, imports neither botocore nor boto3."""
        code = """
            import json, os, sys
            from pydantic_settings import SettingsConfigDict
            import pydantic_aws_settings
            imported = "pydantic_aws_settings.testing" in sys.modules
            from pydantic_aws_settings import AWSBaseSettings
            from pydantic_aws_settings.testing import FakeAWS

            class Settings(AWSBaseSettings):
                model_config = SettingsConfigDict(env_prefix="APP_")
                token: str
                url: str

            role = "arn:aws:iam::123456789012:role/reader"  # not assumed: no STS either
            os.environ.update(APP_TOKEN="secretsmanager:prod/token", APP_URL="ssm:/prod/url")
            os.environ["PYDANTIC_AWS_ROLE_ARN"] = role
            with FakeAWS(secrets={"prod/token": "t"}, parameters={"/prod/url": "u"}):
                settings = Settings()
            modules = {m: m in sys.modules for m in ("boto3", "botocore", "moto", "pytest")}
            print(json.dumps({"values": [settings.token, settings.url], "testing": imported, **modules}))
        """
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYDANTIC_AWS_"))}
        environ.update(HOME=str(tmp_path), AWS_EC2_METADATA_DISABLED="true")  # no ~/.aws; no metadata
        run = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            env=environ,
            check=True,
        )
        assert json.loads(run.stdout) == {
            "values": ["t", "u"],
            "testing": False,
            "boto3": False,
            "botocore": False,
            "moto": False,
            "pytest": False,
        }

    def test_repr_shows_no_value(self) -> None:
        """The fake's repr counts what it holds, and shows none of it."""
        text = repr(FakeAWS(secrets={"a": "canary-secret"}, parameters={"/b": "canary-param"}))
        assert "canary" not in text
        assert "1 secrets" in text
        assert "1 parameters" in text


class TestArguments:
    """What FakeAWS, rotate, fail and client refuse."""

    @pytest.mark.parametrize(
        ("arguments", "error"),
        [
            ({"parameters": {"/a": "x"}, "secure": {"/b"}}, ValueError),
            ({"parameters": {"/a": "x"}, "secure": "/a"}, TypeError),
            ({"parameters": {"/a": ["x"]}, "secure": {"/a"}}, ValueError),
            ({"parameters": {"/a": ["x,y"]}}, TypeError),
            ({"parameters": {"/a": 1}}, TypeError),
            ({"secrets": {"a": 1}}, TypeError),
        ],
    )
    def test_bad_values(self, arguments: dict[str, Any], error: type[Exception]) -> None:
        """A value AWS could not hold is refused when the fake is made."""
        with pytest.raises(error):
            FakeAWS(**arguments)

    def test_bad_calls(self) -> None:
        """An unknown name, service, or a value a parameter cannot hold."""
        aws = FakeAWS(parameters={"/p": "x"})
        with pytest.raises(KeyError):
            aws.rotate("nothing", "x")
        with pytest.raises(TypeError):
            aws.rotate("/p", {"a": 1})
        for call in (lambda: aws.fail("s3", "X"), lambda: aws.client("sts")):
            with pytest.raises(ValueError, match="service"):
                call()
        aws.fail("ssm", "SomethingElse")
        with pytest.raises(Exception, match=r"SomethingElse.*FakeAWS\.fail"):
            aws.client("ssm").get_parameters(Names=["/p"])


@pytest.mark.fake_aws(secrets={"prod/token": "from-marker"}, parameters={"/prod/url": "https://u"})
def test_fixture_and_marker(fake_aws: FakeAWS, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pytest11 plugin's `fake_aws` fixture holds what the test's marker names."""
    monkeypatch.setenv("APP_TOKEN", "secretsmanager:prod/token")
    monkeypatch.setenv("APP_URL", "ssm:/prod/url")
    settings = settings_class(token=str, url=str)()
    assert (settings.token, settings.url) == ("from-marker", "https://u")  # type: ignore[attr-defined]
    assert fake_aws.requests == {"secretsmanager": 1, "ssm": 1}


def test_fixture_without_marker(fake_aws: FakeAWS) -> None:
    """Without a marker the fixture's fake is empty, and entered."""
    assert _state.state().client_factory is not None
    assert fake_aws.client("ssm").get_parameters(Names=["/x"])["InvalidParameters"] == ["/x"]


def test_public_surface() -> None:
    """`testing` exports FakeAWS only, and documents it and each of its public methods."""
    import inspect

    from pydantic_aws_settings import testing

    assert testing.__all__ == ["FakeAWS"]
    for member in (FakeAWS, FakeAWS.rotate, FakeAWS.fail, FakeAWS.client):
        assert inspect.getdoc(member), member
