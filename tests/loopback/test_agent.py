"""Loads through a node-local cache (the Secrets Manager Agent, the Lambda extension), AWS behind it.

The fakes (support/agents.py) forward to moto directly, so the loopback proxy (`aws_proxy`) counts only
what the process itself sent to AWS: the fallbacks.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr
from test_resolution import settings_class

from pydantic_aws_settings import ResolutionError, clear_cache
from pydantic_aws_settings._state import state
from support.agents import GENERIC_400, FakeLambdaExtension, FakeSecretsManagerAgent
from support.clocks import FakeClock
from support.interpreter import run_python
from support.logs import collecting

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.loopback import MotoServer

TOKEN = "tok-canary-7f3a"
CANARY = "canary-secret-value-91c2"


@pytest.fixture
def agent(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSecretsManagerAgent]:
    """The Secrets Manager Agent over moto, with the process aimed at it."""
    with FakeSecretsManagerAgent(moto_server.url, TOKEN) as fake:
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
        yield fake


@pytest.fixture
def extension(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLambdaExtension]:
    """The Lambda extension over moto, with the token in AWS_SESSION_TOKEN as in Lambda."""
    with FakeLambdaExtension(moto_server.url, TOKEN) as fake:
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
        yield fake


def _with_default(field: str, annotation: Any, default: Any, **others: Any) -> Any:
    """A settings class (prefix APP_) whose `field` has a default."""
    cls = settings_class(**{field: annotation}, **others)
    return type("Settings", (cls,), {"__annotations__": {field: annotation}, field: default})


def _seed(sm: Any, ssm: Any) -> None:
    sm.create_secret(Name="prod/db", SecretString=json.dumps({"password": CANARY, "host": "db"}))
    sm.create_secret(Name="prod/bin", SecretBinary=b"\x00\xffbytes")
    ssm.put_parameter(Name="/app/url", Value="https://example.test", Type="String")
    ssm.put_parameter(Name="/app/key", Value=CANARY, Type="SecureString")


def _load(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:prod/db#password")
    monkeypatch.setenv("APP_BLOB", "secretsmanager:prod/bin")
    monkeypatch.setenv("APP_URL", "ssm:/app/url")
    monkeypatch.setenv("APP_KEY", "ssm:/app/key")
    cls = settings_class(password=SecretStr, blob=bytes, url=str, key=SecretStr)
    return cls()


class TestSecretsManagerAgent:
    """Secrets through the agent; parameters to AWS, as the agent has no parameter route."""

    def test_secrets_through_the_agent_parameters_to_aws(
        self,
        monkeypatch: pytest.MonkeyPatch,
        sm: Any,
        ssm: Any,
        agent: FakeSecretsManagerAgent,
        aws_proxy: Any,
    ) -> None:
        """One agent request per distinct secret; the 404 on the parameter route sends parameters to AWS.

        The first load asks the parameter route once (a probe, before asking for the other parameters):
        its 404 sends both parameters to AWS in one batch, where they went one by one before.
        """
        _seed(sm, ssm)
        settings = _load(monkeypatch)
        assert settings.password.get_secret_value() == CANARY
        assert settings.blob == b"\x00\xffbytes"
        assert (settings.url, settings.key.get_secret_value()) == ("https://example.test", CANARY)
        assert agent.counts == {"/secretsmanager/get": 2, "/systemsmanager/parameters/get": 1}
        assert agent.upstream == {"GetSecretValue": 2}
        assert aws_proxy.counts == {"GetParameters": 1}  # both parameters in one batch after the probe's 404
        clear_cache()
        _load(monkeypatch)
        # The missing route is remembered: parameters now go to AWS in one batch, without asking the agent.
        assert agent.counts["/systemsmanager/parameters/get"] == 1
        assert aws_proxy.counts == {"GetParameters": 2}
        assert agent.upstream == {"GetSecretValue": 2}  # the agent's own cache served the secrets

    def test_requests_are_concurrent(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent, aws_proxy: Any
    ) -> None:
        """Distinct references are asked at once (held until all have arrived), one request each."""
        names = [f"s{i}" for i in range(5)]
        for name in names:
            sm.create_secret(Name=name, SecretString=name)
            monkeypatch.setenv(f"APP_{name.upper()}", f"secretsmanager:{name}")
        monkeypatch.setenv("APP_AGAIN", "secretsmanager:s0")
        agent.hold = threading.Event()
        cls = settings_class(**dict.fromkeys([*names, "again"], str))
        result: list[Any] = []
        thread = threading.Thread(target=lambda: result.append(cls()))
        thread.start()
        while agent.in_flight < len(names) and thread.is_alive():
            thread.join(0.01)
        agent.hold.set()
        thread.join()
        assert result[0].s4 == "s4"
        assert agent.max_in_flight == len(names)
        assert agent.counts == {"/secretsmanager/get": len(names)}
        assert aws_proxy.counts == {}

    def test_stage_version_and_arn_are_checked(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent, aws_proxy: Any
    ) -> None:
        """Stages and version ids reach the agent; a partial ARN never takes a longer name's secret."""
        arn = sm.create_secret(Name="prod/db", SecretString="v1")["ARN"]
        version = sm.put_secret_value(SecretId="prod/db", SecretString="v2")["VersionId"]
        monkeypatch.setenv("APP_OLD", "secretsmanager:prod/db?stage=AWSPREVIOUS")
        monkeypatch.setenv("APP_NEW", f"secretsmanager:prod/db?version={version}")
        monkeypatch.setenv("APP_BY_ARN", f"secretsmanager:{arn}")
        settings = settings_class(old=str, new=str, by_arn=str)()
        assert (settings.old, settings.new, settings.by_arn) == ("v1", "v2", "v2")
        assert aws_proxy.counts == {}

    def test_token_refused_names_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent, aws_proxy: Any
    ) -> None:
        """A 403 is an error naming PYDANTIC_AWS_AGENT_TOKEN, never showing the token; no AWS fallback."""
        sm.create_secret(Name="prod/db", SecretString=CANARY)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", "wrong-token-canary")
        monkeypatch.setenv("APP_PASSWORD", "secretsmanager:prod/db")
        with pytest.raises(ResolutionError) as caught:
            settings_class(password=SecretStr)()
        text = str(caught.value)
        assert "PYDANTIC_AWS_AGENT_TOKEN" in text
        assert "AgentTokenRefused" in text
        assert "APP_PASSWORD" in text
        assert "wrong-token-canary" not in text
        assert CANARY not in text
        assert TOKEN not in text
        assert aws_proxy.counts == {}

    def test_token_from_a_file(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent, tmp_path: Any
    ) -> None:
        """`file://PATH` is read, in the option and in AWS_TOKEN."""
        sm.create_secret(Name="prod/db", SecretString="v")
        path = tmp_path / "token"
        path.write_text(TOKEN + "\n")
        monkeypatch.setenv("APP_PASSWORD", "secretsmanager:prod/db")
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", f"file://{path}")
        assert settings_class(password=str)().password == "v"
        clear_cache()
        monkeypatch.delenv("PYDANTIC_AWS_AGENT_TOKEN")
        monkeypatch.setenv("AWS_TOKEN", f"file://{path}")
        monkeypatch.setenv("AWS_SESSION_TOKEN", "not-this-one")
        assert settings_class(password=str)().password == "v"

    def test_refused_request_names_the_url_variable(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent, aws_proxy: Any
    ) -> None:
        """A 404 on the secrets route (a URL with a wrong path) is an error naming PYDANTIC_AWS_AGENT_URL."""
        sm.create_secret(Name="prod/db", SecretString=CANARY)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", agent.url + "/wrong")
        monkeypatch.setenv("APP_PASSWORD", "secretsmanager:prod/db")
        with pytest.raises(ResolutionError) as caught:
            settings_class(password=SecretStr)()
        assert "PYDANTIC_AWS_AGENT_URL" in str(caught.value)
        assert "AgentRequestRefused" in str(caught.value)
        assert aws_proxy.counts == {}

    def test_not_found_through_the_agent(
        self, monkeypatch: pytest.MonkeyPatch, agent: FakeSecretsManagerAgent, aws_proxy: Any
    ) -> None:
        """The agent's relayed ResourceNotFoundException is an absence: `optional:` falls back."""
        monkeypatch.setenv("APP_PASSWORD", "optional:secretsmanager:missing")
        monkeypatch.setenv("APP_OTHER", "secretsmanager:missing-too")
        cls = _with_default("password", str | None, None, other=str)
        with pytest.raises(ResolutionError) as caught:
            cls()
        assert "ResourceNotFoundException" in str(caught.value)
        assert "APP_OTHER" in str(caught.value)
        assert "APP_PASSWORD" not in str(caught.value)
        assert aws_proxy.counts == {}

    def test_unescaped_error_body_keeps_the_code(
        self, monkeypatch: pytest.MonkeyPatch, moto_server: MotoServer, aws_proxy: Any
    ) -> None:
        """Agent v2's error JSON is invalid when the message has a quote: the code is still read."""
        with FakeSecretsManagerAgent(moto_server.url, TOKEN, unescaped_errors=True) as fake:
            monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
            monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
            monkeypatch.setenv("APP_PASSWORD", "secretsmanager:missing")
            with pytest.raises(ResolutionError, match="ResourceNotFoundException"):
                settings_class(password=str)()
        assert aws_proxy.counts == {}


class TestUnreachable:
    """An agent that cannot serve falls back to AWS, with one WARNING."""

    @pytest.mark.parametrize("status", [500, 502, 504, 429])
    def test_server_errors_fall_back_with_one_warning(
        self,
        monkeypatch: pytest.MonkeyPatch,
        sm: Any,
        agent: FakeSecretsManagerAgent,
        aws_proxy: Any,
        status: int,
    ) -> None:
        """5xx and 429: each reference from AWS, one WARNING; the agent rests, then is retried; one INFO."""
        from pydantic_aws_settings.fetch import agent as backend

        clock = FakeClock()
        monkeypatch.setattr(state().agents, "clock", clock)
        sm.create_secret(Name="a", SecretString="va")
        sm.create_secret(Name="b", SecretString=CANARY)
        monkeypatch.setenv("APP_A", "secretsmanager:a")
        monkeypatch.setenv("APP_B", "secretsmanager:b")
        agent.fail_status = status
        cls = settings_class(a=str, b=SecretStr)
        with collecting() as records:
            assert cls().a == "va"  # both asked of the agent, then of AWS one by one
            assert aws_proxy.counts == {"BatchGetSecretValue": 2}
            clear_cache()
            clock.advance(backend.RETRY_AFTER - 1)
            cls()  # the agent rests: one batch to AWS, the agent not asked
            assert aws_proxy.counts == {"BatchGetSecretValue": 3}
            assert agent.counts == {"/secretsmanager/get": 2}
            clear_cache()
            clock.advance(2)
            cls()  # retried, failing again: no second WARNING
        assert agent.counts == {"/secretsmanager/get": 4}
        assert aws_proxy.counts == {"BatchGetSecretValue": 5}
        ours = [r for r in records.records if r.name == "pydantic_aws_settings" and r.levelno >= logging.INFO]
        warnings = [r for r in ours if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "PYDANTIC_AWS_AGENT_URL" in warnings[0].getMessage()
        agent.fail_status = None
        clear_cache()
        clock.advance(backend.RETRY_AFTER)
        with collecting() as records:
            cls()
        ours = [r for r in records.records if r.name == "pydantic_aws_settings" and r.levelno >= logging.INFO]
        assert [r.levelno for r in ours] == [logging.INFO]
        assert aws_proxy.counts == {"BatchGetSecretValue": 5}
        assert agent.counts == {"/secretsmanager/get": 6}
        assert all(CANARY not in text for text in records.texts)

    def test_refused_connection_falls_back(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, moto_server: MotoServer, aws_proxy: Any
    ) -> None:
        """Nothing listening (the extension during INIT): AWS serves the load."""
        fake = FakeSecretsManagerAgent(moto_server.url, TOKEN).start()
        url = fake.url
        fake.stop()
        sm.create_secret(Name="a", SecretString="va")
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", url)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
        monkeypatch.setenv("APP_A", "secretsmanager:a")
        assert settings_class(a=str)().a == "va"
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_read_timeout_falls_back(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent, aws_proxy: Any
    ) -> None:
        """An agent that accepts and never answers: the read timeout sends the reference to AWS."""
        sm.create_secret(Name="a", SecretString="va")
        monkeypatch.setenv("APP_A", "secretsmanager:a")
        monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "0.2")
        agent.hold = threading.Event()
        try:
            assert settings_class(a=str)().a == "va"
        finally:
            agent.hold.set()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_connection_limit_falls_back(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, moto_server: MotoServer, aws_proxy: Any
    ) -> None:
        """The agent's 429 (max_conn) sends the extra references to AWS; the others come from the agent."""
        with FakeSecretsManagerAgent(moto_server.url, TOKEN, max_conn=1) as fake:
            monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
            monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
            for name in ("a", "b", "c"):
                sm.create_secret(Name=name, SecretString=name)
                monkeypatch.setenv(f"APP_{name.upper()}", f"secretsmanager:{name}")
            fake.hold = threading.Event()
            cls = settings_class(a=str, b=str, c=str)
            result: list[Any] = []
            thread = threading.Thread(target=lambda: result.append(cls()))
            thread.start()
            while aws_proxy.counts["BatchGetSecretValue"] < 2 and thread.is_alive():
                thread.join(0.01)
            fake.hold.set()
            thread.join()
        assert (result[0].a, result[0].b, result[0].c) == ("a", "b", "c")
        assert aws_proxy.counts == {"BatchGetSecretValue": 2}
        assert fake.upstream == {"GetSecretValue": 1}


class TestLambdaExtension:
    """Secrets and single parameters through the extension; paths to AWS."""

    def test_everything_but_paths_through_the_extension(
        self,
        monkeypatch: pytest.MonkeyPatch,
        sm: Any,
        ssm: Any,
        extension: FakeLambdaExtension,
        aws_proxy: Any,
    ) -> None:
        """Secrets (binary too) and parameters (SecureString decrypted) from the extension, no AWS call."""
        _seed(sm, ssm)
        settings = _load(monkeypatch)
        assert settings.password.get_secret_value() == CANARY
        assert settings.blob == b"\x00\xffbytes"
        assert (settings.url, settings.key.get_secret_value()) == ("https://example.test", CANARY)
        assert extension.counts == {"/secretsmanager/get": 2, "/systemsmanager/parameters/get": 2}
        assert aws_proxy.counts == {}

    def test_paths_go_to_aws(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any, extension: FakeLambdaExtension, aws_proxy: Any
    ) -> None:
        """`ssm:/PATH/` is never asked of the cache."""
        ssm.put_parameter(Name="/app/a", Value="1", Type="String")
        monkeypatch.setenv("APP_ALL", "ssm:/app/")
        assert settings_class(all=dict)().all == {"a": "1"}
        assert extension.counts == {}
        assert aws_proxy.counts == {"GetParametersByPath": 1}

    def test_versions_and_labels(
        self, monkeypatch: pytest.MonkeyPatch, ssm: Any, extension: FakeLambdaExtension, aws_proxy: Any
    ) -> None:
        """`:VERSION` and `:LABEL` reach the extension and are checked in its answer."""
        ssm.put_parameter(Name="/app/p", Value="one", Type="String")
        ssm.put_parameter(Name="/app/p", Value="two", Type="String", Overwrite=True)
        ssm.label_parameter_version(Name="/app/p", ParameterVersion=1, Labels=["old"])
        monkeypatch.setenv("APP_V1", "ssm:/app/p:1")
        monkeypatch.setenv("APP_OLD", "ssm:/app/p:old")
        monkeypatch.setenv("APP_NOW", "ssm:/app/p")
        settings = settings_class(v1=str, old=str, now=str)()
        assert (settings.v1, settings.old, settings.now) == ("one", "one", "two")
        assert aws_proxy.counts == {}

    def test_generic_400_asks_aws(
        self, monkeypatch: pytest.MonkeyPatch, extension: FakeLambdaExtension, aws_proxy: Any
    ) -> None:
        """The extension's 400 says nothing definite: AWS's answer decides (here: optional falls back)."""
        monkeypatch.setenv("APP_URL", "optional:ssm:/missing")
        cls = _with_default("url", str, "fallback")
        assert cls().url == "fallback"
        assert extension.counts == {"/systemsmanager/parameters/get": 1}
        assert aws_proxy.counts == {"GetParameters": 1}
        assert GENERIC_400.startswith("an unexpected error occurred")

    def test_without_a_token_no_request(
        self, monkeypatch: pytest.MonkeyPatch, extension: FakeLambdaExtension, aws_proxy: Any
    ) -> None:
        """No token anywhere (SnapStart has no AWS_SESSION_TOKEN): an error naming the variable."""
        monkeypatch.delenv("AWS_SESSION_TOKEN")
        monkeypatch.setenv("APP_URL", "ssm:/app/url")
        with pytest.raises(ResolutionError, match="PYDANTIC_AWS_AGENT_TOKEN"):
            settings_class(url=str)()
        assert extension.counts == {}
        assert aws_proxy.counts == {}

    @pytest.mark.parametrize("kind", ["ssm", "secretsmanager"])
    def test_a_token_that_is_no_header_value_is_named_not_shown(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, ssm: Any, extension: FakeLambdaExtension, kind: str
    ) -> None:
        """A token with a line break inside (a file of two lines): an error naming its source, without it.

        Before, http.client refused the header with a ValueError that quotes the value; on the parameter
        route's probe (a new process's first load of a parameter) the plan's failure took the exception's
        text, and the token was printed in the ResolutionError.
        """
        _seed(sm, ssm)
        monkeypatch.delenv("AWS_SESSION_TOKEN")
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", f"{TOKEN}\nsecond-line")
        monkeypatch.setenv("APP_X", "ssm:/app/url" if kind == "ssm" else "secretsmanager:prod/bin")
        with collecting() as records, pytest.raises(ResolutionError) as caught:
            settings_class(x=str)()
        assert "PYDANTIC_AWS_AGENT_TOKEN" in str(caught.value)
        assert TOKEN not in str(caught.value)
        assert not [text for text in records.texts if TOKEN in text]
        assert extension.counts == {}


class TestNoBotocore:
    """A load the cache serves wholly is standard library and the package only."""

    def test_served_wholly_by_the_extension_imports_no_botocore_and_needs_no_credentials(
        self, sm: Any, ssm: Any, extension: FakeLambdaExtension, aws_proxy: Any
    ) -> None:
        """A fresh interpreter with no AWS keys, region or endpoint: values load, botocore unimported."""
        _seed(sm, ssm)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYDANTIC_AWS_"))}
        env.update(
            {
                "PYDANTIC_AWS_AGENT_URL": extension.url,
                "AWS_SESSION_TOKEN": TOKEN,
                "AWS_EC2_METADATA_DISABLED": "true",
                "APP_PASSWORD": "secretsmanager:prod/db#password",
                "APP_BLOB": "secretsmanager:prod/bin",
                "APP_KEY": "ssm:/app/key",
            }
        )
        loaded = run_python(
            f"""
            import json, sys
            from pydantic import SecretStr
            from pydantic_settings import SettingsConfigDict
            from pydantic_aws_settings import AWSBaseSettings

            class Settings(AWSBaseSettings):
                model_config = SettingsConfigDict(env_prefix="APP_")
                password: SecretStr
                blob: bytes
                key: SecretStr

            s = Settings()
            ok = s.password.get_secret_value() == {CANARY!r} and s.key.get_secret_value() == {CANARY!r}
            print(json.dumps({{"values": ok, **{{m: m in sys.modules for m in ("boto3", "botocore")}}}}))
            """,
            env,
        )
        assert loaded == {"values": True, "boto3": False, "botocore": False}
        assert extension.counts == {"/secretsmanager/get": 2, "/systemsmanager/parameters/get": 1}
        assert aws_proxy.counts == {}


class _WrongSecretAgent(FakeSecretsManagerAgent):
    """An agent that answers every secret request with the secret `prod/db-old`."""

    def _secret(self, query: dict[str, str]) -> tuple[int, Any]:
        return super()._secret({**query, "secretId": "prod/db-old"})


class TestAboveTheAgent:
    """The library's cache and answer checks stay in front of the agent."""

    def test_cache_and_single_flight_above_the_agent(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent
    ) -> None:
        """Concurrent loads and later loads within the TTL send one agent request in all."""
        sm.create_secret(Name="a", SecretString="va")
        monkeypatch.setenv("APP_A", "secretsmanager:a")
        cls = settings_class(a=str)
        agent.hold = threading.Event()
        threads = [threading.Thread(target=cls) for _ in range(4)]
        for thread in threads:
            thread.start()
        while agent.in_flight < 1:
            threads[0].join(0.01)
        agent.hold.set()
        for thread in threads:
            thread.join()
        assert cls().a == "va"
        assert agent.counts == {"/secretsmanager/get": 1}

    def test_an_answer_about_another_secret_is_not_used(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, moto_server: MotoServer, aws_proxy: Any
    ) -> None:
        """`prod/db` answered with `prod/db-old`: a mismatched answer, never the value, never "missing"."""
        arn = sm.create_secret(Name="prod/db", SecretString="right")["ARN"]
        sm.create_secret(Name="prod/db-old", SecretString=CANARY)
        with _WrongSecretAgent(moto_server.url, TOKEN) as fake:
            monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
            monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
            monkeypatch.setenv("APP_A", f"optional:secretsmanager:{arn.rsplit('-', 1)[0]}")
            with pytest.raises(ResolutionError, match="MismatchedAnswer") as caught:
                _with_default("a", str, "default")()
        assert CANARY not in str(caught.value)
        assert aws_proxy.counts == {}

    def test_no_value_or_token_in_any_record(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, ssm: Any, extension: FakeLambdaExtension
    ) -> None:
        """At DEBUG, every logger of the process's side: neither a value nor the token is in a record."""
        _seed(sm, ssm)
        with collecting("%(threadName)s|%(name)s %(message)s") as records:
            _load(monkeypatch)
        # The fake's own botocore logs the values it reads from moto, on the fake's handler threads.
        ours = [text for text in records.texts if "process_request_thread" not in text.split("|", 1)[0]]
        assert ours
        assert not [text for text in ours if CANARY in text or TOKEN in text]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_child_does_not_inherit_a_held_lock(
    monkeypatch: pytest.MonkeyPatch, sm: Any, agent: FakeSecretsManagerAgent
) -> None:
    """A fork while another thread holds the agent module's lock: the child still loads through the agent."""
    sm.create_secret(Name="a", SecretString="va")
    monkeypatch.setenv("APP_A", "secretsmanager:a")
    cls = settings_class(a=str)
    with state().agents.lock:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: load, report, leave without running the parent's cleanup
            signal.alarm(20)  # a child stuck on the inherited lock dies, and the parent reads nothing
            try:
                os.write(write, cls().a.encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
    assert answer == b"va"


def test_an_unreadable_token_file_is_named(
    monkeypatch: pytest.MonkeyPatch, agent: FakeSecretsManagerAgent, tmp_path: Any, aws_proxy: Any
) -> None:
    """`PYDANTIC_AWS_AGENT_TOKEN=file://PATH` that cannot be read: the error names the variable and path."""
    missing = tmp_path / "no-such-token"
    monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", f"file://{missing}")
    monkeypatch.setenv("APP_A", "secretsmanager:a")
    with pytest.raises(ResolutionError, match="AgentTokenMissing") as caught:
        settings_class(a=str)()
    assert f"PYDANTIC_AWS_AGENT_TOKEN (file {missing} unreadable" in str(caught.value)
    assert agent.counts == {}
    assert aws_proxy.counts == {}
