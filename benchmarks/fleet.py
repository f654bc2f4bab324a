# ruff: noqa: S311 - the random draws of a simulation, not of anything secret
"""The fleet benchmark: N instances of one configuration against the account's quotas (`make bench-fleet`).

1. A scaled real run (`fleet_real`): `--real` fresh interpreters (default 32) load the configuration at
   once against moto behind a proxy whose token buckets are the account's quotas divided by
   `--scale` (default 10: SSM 4 requests a second); the model (`fleet_model`) replays the same N, quotas
   and measured start times, and both are reported side by side.
2. The model at full scale (`--instances`, default 1000): a simultaneous cold start and the hour after it
   at the default TTL, pre-forked workers that share their parent's cache, a rolling start, and one
   agent per node of 16 processes.

The report goes to stdout and, unless `--no-write`, to docs/explanation/fleet.md with the chart fleet.png.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fleet_model as model
import fleet_process as proc
from fleet_floor import busiest_over_mean
from fleet_page import SSM_BATCH, chart, page

if TYPE_CHECKING:
    from collections.abc import Sequence

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "explanation" / "fleet.md"
NODE = 16
CORES = os.cpu_count() or 2
HOUR = 3600.0
SSM = ("GetParameters", "GetParameter", "GetParametersByPath")
SCENARIOS = (
    "simultaneous",
    "forked",
    "rolling",
    "agent-ideal",
    "agent",
)


def progress(message: str) -> None:
    """A line on stderr, so that stdout is the report alone."""
    print(message, file=sys.stderr, flush=True)


def cold(fleet: model.Fleet, instances: int) -> dict[str, Any]:
    """The cold start: until the last instance is up (or gave up)."""
    up = max(fleet.started, default=0.0)
    end = max(up, max((t for t, _, _ in fleet.log), default=0.0)) if fleet.failed else up
    window = model.summary(fleet, 0.0, end + 1.0)
    ssm = model.summary(fleet, 0.0, end + 1.0, SSM)
    kms = model.per_second(fleet.kms, 0.0, end + 1.0)
    return {
        "instances": instances,
        "up": up,
        "failed": fleet.failed,
        "requests": sum(window["requests"].values()),
        "by_op": dict(window["requests"]),
        "throttles": sum(window["throttles"].values()),
        "ssm_requests": sum(ssm["requests"].values()),
        "busiest": window["busiest"],
        "kms_peak": max(kms),
        "kms_mean": sum(kms) / len(kms),
        "ssm_bins": ssm["bins"],
        "throttled_bins": model.per_second(
            [t for t, op, ok in fleet.log if op in SSM and not ok], 0.0, end + 1.0
        ),
    }


def steady(fleet: model.Fleet, start: float, quota: float) -> dict[str, Any]:
    """The hour after `start`: mean and busiest second of SSM requests, and of all AWS requests."""
    ssm = model.summary(fleet, start, start + HOUR, SSM)
    every = model.summary(fleet, start, start + HOUR)
    tens = model.per_second([t for t, op, _ in fleet.log if op in SSM], start, start + HOUR, 10.0)
    kms = model.per_second(fleet.kms, start, start + HOUR)
    return {
        "mean": ssm["mean"],
        "busiest": ssm["busiest"],
        "ratio": ssm["busiest"] / ssm["mean"] if ssm["mean"] else math.nan,
        "ratio10": max(tens) / (sum(tens) / len(tens)) if sum(tens) else math.nan,
        "share": ssm["mean"] / quota,
        "throttles": sum(ssm["throttles"].values()),
        "ssm_requests": sum(ssm["requests"].values()),
        "aws_requests": sum(every["requests"].values()),
        "kms_mean": sum(kms) / len(kms),
        "kms_peak": max(kms),
        "bins": ssm["bins"],
        # The floor (fleet_floor): the expected busiest/mean of a random stream of the same mean.
        "floor": busiest_over_mean(ssm["mean"], len(ssm["bins"]), SSM_BATCH),
        "floor10": busiest_over_mean(10 * ssm["mean"], len(tens), SSM_BATCH),
        "floor_single": busiest_over_mean(ssm["mean"], len(ssm["bins"])),
        "floor_single10": busiest_over_mean(10 * ssm["mean"], len(tens)),
    }


def simulate(instances: int, starts: str, seed: int) -> model.Fleet:
    """One fleet of the model; `starts`: simultaneous, rolling, forked, agent-ideal or agent."""
    fleet = model.Fleet()
    rng = random.Random(seed)
    targets, decrypted = model.configuration()

    def new_process(targets: list[Any] = targets) -> proc.Process:
        return proc.Process(fleet, random.Random(rng.random()), targets, decrypted)

    until = 200.0 + HOUR + 400.0
    nodes = math.ceil(instances / NODE)
    if starts in ("simultaneous", "rolling"):
        spread = 1.0 if starts == "simultaneous" else 300.0
        for _ in range(instances):
            fleet.spawn(proc.lifetime(new_process(), spread * rng.random(), until))
    elif starts == "forked":
        for node in range(nodes):
            workers = min(NODE, instances - node * NODE)
            fleet.spawn(proc.forked(new_process(), workers, until, rng.random()))
    elif starts == "agent-ideal":  # the model: the node's cache is one fetcher of the library's plan
        for _ in range(nodes):
            fleet.spawn(proc.lifetime(new_process(), rng.random(), until))
    else:  # the Secrets Manager Agent as it is: secrets through it, parameters still from every process
        ssm_only = [t for t in targets if t.service == "ssm"]
        for i in range(instances):
            delay = rng.random()
            fleet.spawn(proc.lifetime(new_process(ssm_only), delay, until))
            if i % NODE == 0:
                fleet.spawn(proc.agent_node(fleet, targets, delay, until))
    fleet.run(until)
    return fleet


def scaled(real_instances: int, scale: float, seed: int) -> dict[str, Any]:
    """The real run and the model's replay of it, side by side."""
    import fleet_real

    quotas = {name: rate / scale for name, rate in model.QUOTAS.items()}
    progress(f"real run: {real_instances} processes, SSM quota {quotas['ssm']:g}/s ...")
    real = fleet_real.run(real_instances, quotas)
    fleet = model.Fleet(log=list(real.log), started=list(real.ended), failed=real.failed, quotas=quotas)
    measured = cold(fleet, real_instances)
    # The model starts each instance when its real process sent its first request, and takes for its
    # round trip the median time from a process's last request to its load's end (which is one round trip
    # plus the settling, on a machine whose cores the processes share).
    # The processes share this machine's cores: each attempt costs client CPU. The model gives each attempt
    # the share of a core that the real run's busiest second shows (2 cores / its requests that second).
    rtt = statistics.median(real.last_to_end) if real.last_to_end else 0.03
    cpu = CORES / max(1, measured["busiest"])
    replay = model.Fleet(quotas=quotas, rtt=rtt, cpu=cpu, cores=CORES)
    rng = random.Random(seed)
    targets, decrypted = model.configuration()
    for first in real.first_request:
        process = proc.Process(replay, random.Random(rng.random()), targets, decrypted)
        replay.spawn(process.start(first))
    replay.run(1e9)
    spread = (min(real.first_request), max(real.first_request)) if real.first_request else (0.0, 0.0)
    minimum = 3 * real_instances / quotas["ssm"]
    return {
        "real": measured,
        "model": cold(replay, real_instances),
        "minimum": minimum,
        "rtt": rtt,
        "cpu": cpu,
        "spread": spread,
        "quotas": quotas,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scaled real run, the model's scenarios, print the report and write the page and chart."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="instances of the full-scale model")
    parser.add_argument("--real", type=int, default=32, help="processes of the scaled real run (0: skip)")
    parser.add_argument(
        "--scale", type=float, default=10.0, help="the real run's quotas: AWS's divided by this"
    )
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--no-write", action="store_true", help="print only: leave the docs page and chart")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"instances": args.instances, "node": NODE}
    results["scaled"] = scaled(args.real, args.scale, args.seed) if args.real else None
    for name in SCENARIOS:
        progress(f"model: {name}, {args.instances} instances ...")
        fleet = simulate(args.instances, name, args.seed)
        start = cold(fleet, args.instances)
        results[name] = {"cold": start, "steady": steady(fleet, start["up"], model.QUOTAS["ssm"])}
    text = page(results)
    print(text)
    if not args.no_write:
        PAGE.write_text(text)
        chart(results, PAGE.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
