"""FakeAWS against moto: what a test that loads a 40-field Settings costs with each (issue 17).

The configuration is the benchmark's (`scenario.py`): 30 SSM parameters (5 SecureString) and 10 secrets
(3 JSON, read by key), one field each. Two things are timed, each as the median of `--rounds` x
`--runs` runs (the backends take turns, so that a busy machine slows them alike):

- a whole test: start the fake AWS, seed the configuration, load the settings (cold cache), stop it;
- the load alone: seeded once, then the cache cleared before each load.

Against three backends: `FakeAWS`; moto's in-process mock (`mock_aws`, as docs/how-to/testing-with-moto.md
sets it up); moto's server on loopback (as this project's own tests use it, reset between tests).

    .venv/bin/python benchmarks/fake_vs_moto.py [--runs 10] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, _state, clear_cache
from pydantic_aws_settings.testing import FakeAWS
from scenario import (
    EXPECTED,
    JSON_KEY,
    JSON_SECRETS,
    PARAMETER_NAMES,
    SECRET_NAMES,
    SECURE,
    SENSITIVE,
    isolated_environ,
    references,
    revealed,
)

if TYPE_CHECKING:
    from collections.abc import Callable

Settings: type[AWSBaseSettings] = type(
    "Settings",
    (AWSBaseSettings,),
    {
        "__annotations__": {name: SecretStr if name in SENSITIVE else str for name in EXPECTED},
        "model_config": SettingsConfigDict(env_prefix="BENCH_"),
    },
)


def load() -> None:
    """Load the settings and check every value."""
    assert revealed(Settings().model_dump()) == EXPECTED


def secrets() -> dict[str, Any]:
    """Secret name -> value: a JSON object read by key for the first ones, text for the others."""
    values: dict[str, Any] = {}
    for i, name in enumerate(SECRET_NAMES):
        value = EXPECTED[f"s{i:02d}"]
        values[name] = {"username": f"user-{i:02d}", JSON_KEY: value} if i < JSON_SECRETS else value
    return values


def fake() -> FakeAWS:
    """A FakeAWS holding the configuration."""
    parameters = {name: EXPECTED[f"p{i:02d}"] for i, name in enumerate(PARAMETER_NAMES)}
    return FakeAWS(secrets=secrets(), parameters=parameters, secure=set(PARAMETER_NAMES[:SECURE]))


def fake_test() -> None:
    """One test through FakeAWS."""
    with fake():
        load()


class Seeder:
    """Seeds moto with the configuration through boto3 clients built once (as a test suite reuses them).

    Args:
        endpoint: moto's server, or None for AWS's own endpoints (which moto's mock intercepts).
    """

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        """A boto3 client, built on first use."""
        if service not in self._clients:
            import boto3

            session = boto3.session.Session(region_name="us-east-1")
            self._clients[service] = session.client(service, endpoint_url=self.endpoint)
        return self._clients[service]

    def __call__(self) -> None:
        """Create every parameter and secret of the configuration, as `fake()` holds them."""
        ssm, sm = self.client("ssm"), self.client("secretsmanager")
        for i, name in enumerate(PARAMETER_NAMES):
            kind = "SecureString" if i < SECURE else "String"
            ssm.put_parameter(Name=name, Value=EXPECTED[f"p{i:02d}"], Type=kind)
        for name, value in secrets().items():
            sm.create_secret(Name=name, SecretString=value if isinstance(value, str) else json.dumps(value))


def moto_test(seeder: Seeder) -> None:
    """One test through moto's in-process mock, with the cache cleared on both sides."""
    from moto import mock_aws

    with mock_aws():
        clear_cache()
        seeder()
        load()
        clear_cache()


def server_test(server: Any, seeder: Seeder) -> None:
    """One test against moto's server: reset it, seed it, load with a cold cache."""
    server.reset()
    clear_cache()
    seeder()
    load()


def timed(sink: list[float], run: Callable[[], None], runs: int) -> None:
    """Append the wall time of `runs` runs of `run` to `sink`, after one run not counted (first clients)."""
    run()
    for _ in range(runs):
        start = time.perf_counter()
        run()
        sink.append(time.perf_counter() - start)


def cold_load() -> None:
    """The load alone, with a cold cache."""
    clear_cache()
    load()


def _environ(values: dict[str, str]) -> None:
    """Make os.environ exactly `values`, and drop the library's clients, built for the previous one."""
    os.environ.clear()
    os.environ.update(values)
    _state.reset()


def measure(runs: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median milliseconds of a whole test and of the load alone, per backend.

    The backends take turns, `rounds` times `runs` runs each, so that a machine busy with something else
    for a while slows them all alike.
    """
    from moto import mock_aws

    from pydantic_aws_settings._loopback import MotoServer

    times: dict[str, dict[str, list[float]]] = {
        name: {"test": [], "load": []} for name in ("FakeAWS", "moto (mock_aws)", "moto (server)")
    }
    original = dict(os.environ)
    plain = {k: v for k, v in original.items() if not k.startswith(("AWS_", "PYDANTIC_AWS_"))}
    plain.update(references())
    keys = {k: v for k, v in isolated_environ("http://unused").items() if k.startswith("AWS_")}
    del keys["AWS_ENDPOINT_URL"]  # moto's mock intercepts AWS's own endpoints only
    try:
        with MotoServer() as server:
            mocked, served = Seeder(None), Seeder(server.url)
            for _ in range(rounds):
                _environ(plain)  # FakeAWS needs no AWS variable at all
                timed(times["FakeAWS"]["test"], fake_test, runs)
                with fake():
                    timed(times["FakeAWS"]["load"], cold_load, runs)
                _environ({**plain, **keys})
                timed(times["moto (mock_aws)"]["test"], lambda: moto_test(mocked), runs)
                with mock_aws():
                    mocked()
                    timed(times["moto (mock_aws)"]["load"], cold_load, runs)
                _environ({**plain, **keys, "AWS_ENDPOINT_URL": server.url})
                timed(times["moto (server)"]["test"], lambda: server_test(server, served), runs)
                timed(times["moto (server)"]["load"], cold_load, runs)
    finally:
        _environ(original)
    return {
        name: {kind: statistics.median(values) * 1000 for kind, values in row.items()}
        for name, row in times.items()
    }


def main() -> None:
    """Measure and print the medians, and how many times faster FakeAWS is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per backend and round")
    parser.add_argument("--rounds", type=int, default=5, help="turns the backends take")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    arguments = parser.parse_args()
    results = measure(arguments.runs, arguments.rounds)
    if arguments.json:
        print(json.dumps(results, indent=2))
        return
    base = results["FakeAWS"]
    print(f"A 40-field Settings, median of {arguments.runs * arguments.rounds} runs (ms):")
    print(f"{'backend':<18}{'whole test':>12}{'x FakeAWS':>11}{'load alone':>12}{'x FakeAWS':>11}")
    for name, row in results.items():
        test_ratio, load_ratio = row["test"] / base["test"], row["load"] / base["load"]
        print(f"{name:<18}{row['test']:>12.2f}{test_ratio:>10.1f}x{row['load']:>12.2f}{load_ratio:>10.1f}x")


if __name__ == "__main__":
    main()
