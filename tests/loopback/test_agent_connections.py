"""How many requests a load has in flight at a node-local cache, and on how many connections.

The benchmark's configuration (30 parameters, 10 secrets) through the Lambda extension: as many
requests in flight at once as `PYDANTIC_AWS_MAX_WORKERS` allows, one per distinct reference, on kept-alive
connections that the load's two service groups share (no more connections than requests in flight), all
closed once the load is done; a connection the cache closed while idle is replaced without a fallback.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr
from test_resolution import settings_class

from pydantic_aws_settings import clear_cache
from support.agents import FakeLambdaExtension, FakeNodeCache, FakeSecretsManagerAgent
from support.logs import collecting

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.loopback import MotoServer

TOKEN = "tok-canary-0c41"
CANARY = "canary-secret-value-5d7e"
PARAMETERS = 30
SECRETS = 10


@pytest.fixture
def extension(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLambdaExtension]:
    """The Lambda extension over moto, with the process aimed at it."""
    with FakeLambdaExtension(moto_server.url, TOKEN) as fake:
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
        yield fake


def _forty(monkeypatch: pytest.MonkeyPatch, sm: Any, ssm: Any) -> Any:
    """Seed 30 parameters (5 SecureString) and 10 secrets; a settings class with a field for each."""
    fields: dict[str, Any] = {}
    for i in range(PARAMETERS):
        secure = i < 5
        ssm.put_parameter(
            Name=f"/app/p{i:02d}",
            Value=CANARY if secure else f"v{i}",
            Type="SecureString" if secure else "String",
        )
        monkeypatch.setenv(f"APP_P{i:02d}", f"ssm:/app/p{i:02d}")
        fields[f"p{i:02d}"] = SecretStr if secure else str
    for i in range(SECRETS):
        sm.create_secret(Name=f"app/s{i:02d}", SecretString=CANARY)
        monkeypatch.setenv(f"APP_S{i:02d}", f"secretsmanager:app/s{i:02d}")
        fields[f"s{i:02d}"] = SecretStr
    return settings_class(**fields)


def _until(condition: Any) -> None:
    """Wait for a condition of the fake's counts (at most 10 s; the test's asserts say what was reached)."""
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)


@pytest.mark.parametrize("workers", [10, 4])
def test_forty_references_as_many_in_flight_as_workers_on_as_many_connections(
    monkeypatch: pytest.MonkeyPatch,
    sm: Any,
    ssm: Any,
    extension: FakeLambdaExtension,
    aws_proxy: Any,
    workers: int,
) -> None:
    """40 references: `workers` requests in flight at once, on `workers` connections, closed after the load.

    The first requests are held at the fake until `workers` of them have arrived, so that the peak is
    reached; every later request reuses one of those connections, across both service groups.
    """
    monkeypatch.setenv("PYDANTIC_AWS_MAX_WORKERS", str(workers))
    cls = _forty(monkeypatch, sm, ssm)
    cls()  # the process's first load probes the parameter route with one request first
    clear_cache()  # the process now knows the route: the next load asks for every parameter at once
    extension.counts.clear()
    extension.max_in_flight = extension.connections = 0
    extension.hold = threading.Event()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(cls()))
    thread.start()
    _until(lambda: extension.in_flight >= workers or not thread.is_alive())
    extension.hold.set()
    thread.join()
    settings = result[0]
    assert settings.p00.get_secret_value() == CANARY
    assert (settings.p29, settings.s09.get_secret_value()) == ("v29", CANARY)
    assert extension.max_in_flight == workers
    assert extension.connections == workers
    assert extension.counts == {"/systemsmanager/parameters/get": PARAMETERS, "/secretsmanager/get": SECRETS}
    assert aws_proxy.counts == {}
    _until(lambda: extension.open_connections == 0)
    assert extension.open_connections == 0  # the last asker closed every connection


def test_a_connection_the_cache_closed_is_replaced_without_falling_back(
    monkeypatch: pytest.MonkeyPatch, sm: Any, extension: FakeLambdaExtension, aws_proxy: Any
) -> None:
    """The cache closes each connection after one answer, silently: each request is sent again afresh."""
    monkeypatch.setenv("PYDANTIC_AWS_MAX_WORKERS", "1")  # one asker: each request would reuse the last one's
    names = ["a", "b", "c"]
    for name in names:
        sm.create_secret(Name=name, SecretString=f"v{name}")
        monkeypatch.setenv(f"APP_{name.upper()}", f"secretsmanager:{name}")
    extension.close_after_answer = True
    with collecting() as records:
        settings = settings_class(**dict.fromkeys(names, str))()
    assert (settings.a, settings.b, settings.c) == ("va", "vb", "vc")
    assert extension.counts == {"/secretsmanager/get": 3}
    assert extension.connections == 3
    assert aws_proxy.counts == {}
    ours = [r for r in records.records if r.name == "pydantic_aws_settings" and r.levelno >= logging.WARNING]
    assert ours == []


@pytest.fixture
def sm_agent(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSecretsManagerAgent]:
    """The Secrets Manager Agent over moto, with the process aimed at it."""
    with FakeSecretsManagerAgent(moto_server.url, TOKEN) as fake:
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", fake.url)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
        yield fake


@pytest.mark.parametrize("which", ["extension", "sm_agent"])
def test_a_new_process_probes_the_parameter_route_once(
    monkeypatch: pytest.MonkeyPatch, sm: Any, ssm: Any, aws_proxy: Any, which: str, request: Any
) -> None:
    """The first load asks for one parameter alone, then for the others (extension) or AWS in batches.

    Without the probe, the Secrets Manager Agent received all 30 parameters, answered 30 404s, and each
    parameter went to AWS alone: 30 GetParameters where 3 do.
    """
    cache: FakeNodeCache = request.getfixturevalue(which)
    cls = _forty(monkeypatch, sm, ssm)
    assert cls().p29 == "v29"
    if which == "extension":
        assert cache.counts == {"/systemsmanager/parameters/get": PARAMETERS, "/secretsmanager/get": SECRETS}
        assert aws_proxy.counts == {}
    else:
        assert cache.counts == {"/systemsmanager/parameters/get": 1, "/secretsmanager/get": SECRETS}
        assert aws_proxy.counts == {"GetParameters": 3}


def test_the_probe_of_a_first_load_keeps_to_the_worker_limit(
    monkeypatch: pytest.MonkeyPatch, sm: Any, ssm: Any, extension: FakeLambdaExtension
) -> None:
    """MAX_WORKERS=1 on a process's first load: the parameter-route probe is never in flight beside a request.

    The secrets' group comes first; the probe of the parameters' group ran on the load's own thread while the
    pool was already asking for a secret: two requests in flight, one over the limit.
    """
    monkeypatch.setenv("PYDANTIC_AWS_MAX_WORKERS", "1")
    sm.create_secret(Name="app/s00", SecretString=CANARY)
    ssm.put_parameter(Name="/app/p00", Value="v0", Type="String")
    monkeypatch.setenv("APP_S00", "secretsmanager:app/s00")
    monkeypatch.setenv("APP_P00", "ssm:/app/p00")
    cls = settings_class(s00=SecretStr, p00=str)
    extension.hold = threading.Event()
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(cls()))
    thread.start()
    _until(lambda: extension.in_flight >= 1 or not thread.is_alive())
    time.sleep(0.3)  # room for a second request to arrive, if the load sent one
    extension.hold.set()
    thread.join()
    assert result[0].p00 == "v0"
    assert extension.counts == {"/systemsmanager/parameters/get": 1, "/secretsmanager/get": 1}
    assert extension.max_in_flight == 1


def test_an_agent_that_never_answers_costs_each_asker_one_timeout(
    monkeypatch: pytest.MonkeyPatch, sm: Any, sm_agent: FakeSecretsManagerAgent, aws_proxy: Any
) -> None:
    """The agent accepts and never answers: each asker waits for it once, then sends what is left to AWS.

    Before, an asker asked the hung agent for every target it took, one read timeout each, and sent
    each to AWS alone: with one worker, 6 secrets cost 6 timeouts in a row and 6 BatchGetSecretValue.
    """
    monkeypatch.setenv("PYDANTIC_AWS_MAX_WORKERS", "1")  # one asker: it takes every secret in turn
    monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "0.3")
    names = [f"h{i}" for i in range(6)]
    for name in names:
        sm.create_secret(Name=name, SecretString=f"v{name}")
        monkeypatch.setenv(f"APP_{name.upper()}", f"secretsmanager:{name}")
    sm_agent.hold = threading.Event()
    try:
        with collecting() as records:
            settings = settings_class(**dict.fromkeys(names, str))()
    finally:
        sm_agent.hold.set()
    assert [getattr(settings, name) for name in names] == [f"v{name}" for name in names]
    assert sm_agent.counts == {"/secretsmanager/get": 1}  # once per asker, not once per secret
    assert aws_proxy.counts == {"BatchGetSecretValue": 1}  # the asker's rest in one batch
    ours = [r for r in records.records if r.name == "pydantic_aws_settings" and r.levelno >= logging.WARNING]
    assert len(ours) == 1
