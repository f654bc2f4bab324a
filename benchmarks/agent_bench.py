"""The benchmark's loads through a node-local cache, against 40 concurrent localhost round trips.

Both fakes of the tests (the Lambda extension, which serves secrets and single parameters, and the
Secrets Manager Agent, which serves secrets only) run in a process of their own (remote_agent.py),
backed by the benchmark's moto, their caches warm: a node whose cache another process has filled, as
in a fleet. In one loop, run by run, the benchmark times:

- the floors (agent_floor.py): the same 40 requests a load sends to the Lambda extension, sent at once
  by a few good clients, reading the answers and nothing more;
- a cold load of pydantic-aws-settings through each fake: the process state cleared (no cache, no
  connection, no client), then the 40 references loaded and validated; the requests each fake received,
  the most it handled at once and the connections it accepted; and what reached AWS (the counting
  proxy, at the run's AWS latency: the Secrets Manager Agent has no parameter route, so a new process
  asks it, meets the 404 and fetches the parameters from AWS).

The whole process through the agent is timed with the others by run.py (`child.py agent`).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import agent_floor
import scenario
from remote_agent import TOKEN

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from remote_agent import RemoteAgents
    from remote_proxy import RemoteProxy
    from run import Series

#: The fakes, as the report names them.
FAKE_NAMES = {
    "extension": "Lambda extension (secrets and parameters)",
    "sm_agent": "Secrets Manager Agent (secrets only)",
}
FLOOR_NAMES = {
    "threads": "40 threads, a connection and a request each",
    "pool": "a pool of 40 threads, a connection per request",
    "keepalive": "10 threads, a kept-alive connection each, 4 requests one after the other",
    "asyncio": "asyncio: one event loop, 40 connections",
}


@dataclass
class AgentLoads:
    """Everything measured through the fakes.

    Attributes:
        latency: the AWS latency (the proxy's) while they were measured; the fakes add none.
        floors: the floors' loads, by key of `agent_floor.FLOORS`.
        ours: our cold loads, by fake.
        agent_counts: requests each of our loads sent to its fake, by route, summed over the loads.
        agent_peak: the most requests the fake handled at once during one of our loads.
        connections: the most connections the fake accepted during one of our loads.
    """

    latency: float
    floors: dict[str, Series] = field(default_factory=dict)
    ours: dict[str, Series] = field(default_factory=dict)
    agent_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    agent_peak: dict[str, int] = field(default_factory=dict)
    connections: dict[str, int] = field(default_factory=dict)

    def best_floor(self) -> tuple[str, Series]:
        """The floor with the lowest median."""
        return min(self.floors.items(), key=lambda item: item[1].median)


def agent_settings(url: str, token: str) -> Any:
    """The benchmark's settings class (prefix BENCH_) loading through the cache at `url`."""
    from pydantic import SecretStr

    from pydantic_aws_settings import AWSBaseSettings, AWSSettingsConfigDict

    annotations = {name: SecretStr if name in scenario.SENSITIVE else str for name in scenario.EXPECTED}
    config = AWSSettingsConfigDict(env_prefix="BENCH_", aws_agent_url=url, aws_agent_token=token)
    return type("ThroughAgent", (AWSBaseSettings,), {"__annotations__": annotations, "model_config": config})


class _Run(Protocol):
    """What this module uses of run.py (which runs as `__main__`, so it is passed in, not imported)."""

    Series: type[Series]

    def child_environ(self, endpoint: str, directory: str) -> dict[str, str]: ...

    def whole_processes(
        self,
        proxy: RemoteProxy,
        latency: float,
        children: Sequence[str],
        runs: int,
        environ: dict[str, str],
        extra: dict[str, dict[str, str]] | None = None,
        imported: dict[str, set[str]] | None = None,
    ) -> dict[str, Series]: ...

    def record(self, proxy: RemoteProxy, series: Series, seconds: float) -> None: ...

    def check(self, loader: str, result: Any) -> None: ...

    def progress(self, message: str) -> None: ...


def measure_agents(
    run_py: _Run, proxy: RemoteProxy, agents: RemoteAgents, latency: float, runs: int
) -> AgentLoads:
    """The floors and our cold loads through each fake, interleaved run by run, after a warm-up."""
    from pydantic_aws_settings._state import reset

    token = TOKEN
    Series, record, check, progress = run_py.Series, run_py.record, run_py.check, run_py.progress

    results = AgentLoads(latency)
    floors = {key: make(agents.urls["extension"], token) for key, make in agent_floor.FLOORS.items()}
    classes = {name: agent_settings(agents.urls[name], token) for name in FAKE_NAMES}
    for name, cls in classes.items():  # fills the fakes' caches; checks the values
        reset()
        check(f"through the {FAKE_NAMES[name]}", cls())
    for load in floors.values():
        load()
    for run in range(runs):
        progress(f"  through the agents: run {run + 1}/{runs}")
        for key, load in floors.items():
            gc.collect()
            start = time.perf_counter()
            load()
            results.floors.setdefault(key, Series()).times.append(time.perf_counter() - start)
        for name, cls in classes.items():
            reset()
            proxy.prepare(latency)
            agents.prepare()
            gc.collect()
            start = time.perf_counter()
            settings = cls()
            elapsed = time.perf_counter() - start
            record(proxy, results.ours.setdefault(name, Series()), elapsed)
            check(f"through the {FAKE_NAMES[name]}", settings)
            seen = agents.stats()[name]
            results.agent_counts[name] = dict(seen.counts + Counter(results.agent_counts.get(name, {})))
            results.agent_peak[name] = max(results.agent_peak.get(name, 0), seen.max_in_flight)
            results.connections[name] = max(results.connections.get(name, 0), seen.connections)
    reset()
    return results


def _ms(seconds: float) -> str:
    from report import ms

    return ms(seconds)


def paired_with_best(results: AgentLoads, name: str) -> float:
    """Our load through `name` over the run's fastest floor, run by run (the median of the ratios)."""
    ours = results.ours[name].times
    best = [min(series.times[i] for series in results.floors.values()) for i in range(len(ours))]
    return statistics.median(a / b for a, b in zip(ours, best, strict=True))


def table(results: AgentLoads) -> list[str]:
    """The floors and our cold loads through each fake."""
    key, best = results.best_floor()
    lines = [
        f"#### Cold loads through a node-local cache (its cache warm; AWS at {results.latency * 1000:g} ms "
        "per request)",
        "",
        "| load | requests to the cache | to AWS | peak in flight at the cache | connections "
        "| median ms | min ms | max ms | x best floor |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for floor, series in results.floors.items():
        lines.append(
            f"| floor: {FLOOR_NAMES[floor]} | 40 | 0 | | | {_ms(series.median)} | {_ms(min(series.times))} "
            f"| {_ms(max(series.times))} | {series.median / best.median:.2f} |"
        )
    for name, series in results.ours.items():
        loads = len(series.times)
        counts = results.agent_counts.get(name, {})
        routes = " + ".join(f"{n / loads:g} {route}" for route, n in sorted(counts.items()))
        lines.append(
            f"| **pydantic-aws-settings**, cold, through the {FAKE_NAMES[name]} | {routes} "
            f"| {series.requests()} | {results.agent_peak.get(name, 0)} | {results.connections.get(name, 0)} "
            f"| {_ms(series.median)} | {_ms(min(series.times))} | {_ms(max(series.times))} "
            f"| {series.median / best.median:.2f} |"
        )
    lines.extend(
        [
            "",
            f"The floors send the 40 requests a load sends to the Lambda extension, to the same fake, "
            f"concurrently, and only read the answers; the best here is {FLOOR_NAMES[key]}. *x best "
            "floor* divides the row's median by the best floor's; the target compares run by run with "
            "the fastest floor of each run. *connections*: the most a load opened. A cold load is a "
            "new process's first: it asks for one parameter alone before the others, to learn whether "
            "the cache serves parameters (the Secrets Manager Agent answers 404, and the parameters go "
            "to AWS in batches).",
        ]
    )
    return lines


def target_rows(
    results: AgentLoads, processes: dict[float, dict[str, Series]], leaked: list[str]
) -> list[tuple[str, str, str, bool | None]]:
    """The targets of issue 16 measured here: the cold load against its floor, the whole process."""
    from report import paired

    rows: list[tuple[str, str, str, bool | None]] = []
    key, best = results.best_floor()
    for name, series in results.ours.items():
        ratio = paired_with_best(results, name)
        ok: bool | None = ratio <= 1.5 if name == "extension" else None
        rows.append(
            (
                f"cold load of the 40 references through the {FAKE_NAMES[name]}, against 40 concurrent "
                "localhost round trips to the same fake",
                f"{ratio:.2f}x the run's fastest floor, run by run ({_ms(series.median)} ms against "
                f"{_ms(best.median)} ms, {FLOOR_NAMES[key]}); {series.requests()} requests to AWS",
                "<= 1.5x" if name == "extension" else "",
                ok,
            )
        )
    for latency, children in processes.items():
        powertools = children.get("powertools")
        for child, name in (("agent", "extension"), ("agent_sm", "sm_agent")):
            ours = children.get(child)
            if ours is None or powertools is None:
                continue
            ratio = paired(ours, powertools)
            gated = child == "agent"
            rows.append(
                (
                    f"whole process through the {FAKE_NAMES[name]}, against Powertools' whole process "
                    f"(AWS at {latency * 1000:g} ms)",
                    f"{ratio:.2f}x, run by run ({_ms(ours.median)} ms against {_ms(powertools.median)} ms)",
                    "<= 0.6x" if gated else "",
                    ratio <= 0.6 if gated else None,
                )
            )
    rows.append(
        (
            "boto3 and botocore after a whole process through the Lambda extension",
            "imported: " + ", ".join(leaked) if leaked else "neither boto3 nor botocore imported",
            "not imported",
            not leaked,
        )
    )
    return rows


def section(
    results: AgentLoads,
    processes: dict[float, dict[str, Series]],
    leaked: list[str],
    *,
    with_targets: bool = True,
) -> list[str]:
    """The report's section on the node-local caches (with its own targets table for `--agent-only`)."""
    from report import process_table, verdict

    lines = ["### Through a node-local cache", ""]
    if with_targets:
        lines.extend(["| target | measured | goal | |", "|---|---|---|---|"])
        lines.extend(
            f"| {what} | {measured} | {goal} | {verdict(ok) if goal else ''} |"
            for what, measured, goal, ok in target_rows(results, processes, leaked)
        )
        lines.append("")
        for latency, children in processes.items():
            lines.extend([*process_table(latency, children), ""])
    lines.extend(table(results))
    return lines


def agent_environ(agents: RemoteAgents) -> dict[str, dict[str, str]]:
    """The variables that point the `agent` and `agent_sm` whole-process children at a fake."""
    return {
        child: {"PYDANTIC_AWS_AGENT_URL": agents.urls[fake], "PYDANTIC_AWS_AGENT_TOKEN": TOKEN}
        for child, fake in (("agent", "extension"), ("agent_sm", "sm_agent"))
    }


def agent_only(
    run_py: _Run, args: argparse.Namespace, proxy: RemoteProxy, agents: RemoteAgents, directory: str
) -> int:
    """`run.py --agent-only`: the loads through the caches, whole processes beside Powertools', printed."""
    loads = measure_agents(run_py, proxy, agents, args.agent_latency / 1000, args.agent_runs)
    processes, imported = {}, {}
    for latency_ms in args.process_latency:
        run_py.progress(f"whole processes at {latency_ms:g} ms per request")
        processes[latency_ms / 1000] = run_py.whole_processes(
            proxy,
            latency_ms / 1000,
            ["powertools", "agent", "agent_sm"],
            args.process_runs,
            run_py.child_environ(proxy.url, directory),
            agent_environ(agents),
            imported,
        )
    print("\n".join(section(loads, processes, sorted(imported.get("agent", set())))))
    return 0
