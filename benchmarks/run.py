"""Load-time benchmark: pydantic-aws-settings cold and warm against plain pydantic-settings.

Starts moto's server on loopback behind the tests' counting, latency-injecting proxy, seeds a realistic
configuration (30 SSM parameters of which 5 SecureString, 10 secrets of which 3 JSON read by key) and
prints, for each injected latency, the requests each loader sent and its wall time (median, min, max of
several runs), with the ratio to the plain pydantic-settings floor.

Run: `make bench` (or `.venv/bin/python benchmarks/run.py --runs 15`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, _reset_process_state, clear_cache
from pydantic_aws_settings._loopback import MotoServer
from support.proxy import AWSProxy

if TYPE_CHECKING:
    from collections.abc import Callable

PARAMETERS = 30
SECURE = 5
SECRETS = 10
JSON_SECRETS = 3


def seed(endpoint: str) -> dict[str, str]:
    """Create the configuration at the endpoint; return the operator's environment for it."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    ssm = session.client("ssm", endpoint_url=endpoint)
    sm = session.client("secretsmanager", endpoint_url=endpoint)
    environ: dict[str, str] = {}
    for i in range(PARAMETERS):
        kind = "SecureString" if i < SECURE else "String"
        ssm.put_parameter(Name=f"/bench/app/p{i:02d}", Value=f"value-{i}", Type=kind)
        environ[f"BENCH_P{i:02d}"] = f"ssm:/bench/app/p{i:02d}"
    for i in range(SECRETS):
        if i < JSON_SECRETS:
            sm.create_secret(
                Name=f"bench/s{i:02d}", SecretString=json.dumps({"password": f"pw-{i}", "user": "u"})
            )
            environ[f"BENCH_S{i:02d}"] = f"secretsmanager:bench/s{i:02d}#password"
        else:
            sm.create_secret(Name=f"bench/s{i:02d}", SecretString=f"secret-{i}")
            environ[f"BENCH_S{i:02d}"] = f"secretsmanager:bench/s{i:02d}"
    return environ


def settings_classes() -> tuple[type[BaseSettings], type[BaseSettings]]:
    """The same fields as an AWSBaseSettings and as a plain BaseSettings."""
    annotations: dict[str, Any] = {f"p{i:02d}": SecretStr if i < SECURE else str for i in range(PARAMETERS)}
    annotations.update({f"s{i:02d}": SecretStr for i in range(SECRETS)})
    config = SettingsConfigDict(env_prefix="BENCH_")
    ours = type("Ours", (AWSBaseSettings,), {"__annotations__": annotations, "model_config": config})
    plain = type("Plain", (BaseSettings,), {"__annotations__": dict(annotations), "model_config": config})
    return ours, plain


def measure(load: Callable[[], object], before: Callable[[], None], runs: int) -> list[float]:
    """Wall times of `runs` loads, each preceded by `before` (not timed)."""
    times = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
    return times


def row(name: str, times: list[float], requests: float, floor: float) -> str:
    """One Markdown table row: median, min, max in ms, requests per load, ratio to the floor."""
    median = statistics.median(times)
    return (
        f"| {name} | {requests:g} | {median * 1000:.2f} | {min(times) * 1000:.2f} | {max(times) * 1000:.2f} "
        f"| {median / floor:.2f} |"
    )


def main() -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="loads per configuration (default 11)")
    parser.add_argument("--latency", type=float, nargs="*", default=[0.0, 0.02], help="seconds per request")
    args = parser.parse_args()

    with MotoServer() as moto, AWSProxy(moto.url) as proxy:
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench",
            AWS_SECRET_ACCESS_KEY="bench",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_EC2_METADATA_DISABLED="true",
            AWS_ENDPOINT_URL=proxy.url,
        )
        references = seed(moto.url)
        ours, plain = settings_classes()
        # The plain floor reads the same values, already resolved, from the environment.
        os.environ.update(references)
        ours()  # warm moto's first request per service
        values = ours().model_dump()
        plain_environ = {
            f"BENCH_{k.upper()}": (v.get_secret_value() if isinstance(v, SecretStr) else v)
            for k, v in values.items()
        }
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.runs} runs each")
        print(
            f"configuration: {PARAMETERS} parameters ({SECURE} SecureString),"
            f" {SECRETS} secrets ({JSON_SECRETS} JSON by key)"
        )
        for latency in args.latency:
            proxy.latency = latency
            os.environ.update(plain_environ)
            floor_times = measure(plain, lambda: None, args.runs)
            floor = statistics.median(floor_times)
            os.environ.update(references)

            proxy.reset()
            proxy.latency = latency
            cold = measure(ours, _reset_process_state, args.runs)
            cold_requests = sum(proxy.counts.values()) / args.runs
            cold_counts = dict(proxy.counts)
            cold_peak = proxy.max_in_flight

            proxy.reset()
            proxy.latency = latency
            warm_cache_only = measure(ours, clear_cache, args.runs)
            warm_cache_requests = sum(proxy.counts.values()) / args.runs

            proxy.reset()
            proxy.latency = latency
            ours()
            proxy.reset()
            warm = measure(ours, lambda: None, args.runs)
            warm_requests = sum(proxy.counts.values()) / args.runs

            print(f"\n### {latency * 1000:.0f} ms per request\n")
            print("| loader | requests | median ms | min ms | max ms | x plain |")
            print("|---|---|---|---|---|---|")
            print(row("plain pydantic-settings (values in env)", floor_times, 0, floor))
            print(row("pydantic-aws-settings warm (cached)", warm, warm_requests, floor))
            print(
                row(
                    "pydantic-aws-settings cold cache, clients reused",
                    warm_cache_only,
                    warm_cache_requests,
                    floor,
                )
            )
            print(row("pydantic-aws-settings cold (new clients, empty cache)", cold, cold_requests, floor))
            per_load = {op: n / args.runs for op, n in sorted(cold_counts.items())}
            print(f"\ncold requests per load: {per_load}; peak requests in flight: {cold_peak}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
