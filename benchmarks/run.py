"""Load-time benchmark: pydantic-aws-settings against its peers, on a loopback AWS endpoint.

Starts moto's server on loopback behind the tests' counting, latency-injecting proxy (in a process of its
own, see remote_proxy.py), seeds a realistic configuration (30 SSM parameters of which 5 SecureString,
10 secrets of which 3 JSON read by key) and measures, side by side in one run and at each injected
latency, the requests each loader sends and its wall time (median, min and max of several runs):
pydantic-aws-settings cold, with its clients reused and warm; Powertools for AWS Lambda's `parameters`;
pydantic-settings' own AWS sources; plain pydantic-settings reading the same values from the environment;
and the floor of any cold load (a first boto3 client and one round trip). Then whole processes
(interpreter start to settings loaded) and import costs. Last, loads through AWS's node-local caches
(agent_bench.py): the fakes of the tests in a process of their own (remote_agent.py), our cold load
through each against 40 concurrent localhost round trips to the same fake (agent_floor.py), and whole
processes through them beside Powertools'.

The Markdown report goes to stdout and into docs/explanation/performance.md (between the bench markers),
the chart to docs/explanation/performance.png; progress goes to stderr.

Run: `make bench` (installs the `bench` extra), or `.venv/bin/python benchmarks/run.py [--quick]`.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import scenario
from pydantic_aws_settings._loopback import MotoServer
from remote_agent import RemoteAgents
from remote_proxy import RemoteProxy

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from agent_bench import AgentLoads
    from loaders import Loader

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE = ROOT / "docs" / "explanation" / "performance.md"
CHART = ROOT / "docs" / "explanation" / "performance.png"


_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """Report progress on stderr, so that stdout holds only the Markdown report."""
    print(f"[{time.perf_counter() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


# -- measurements ----------------------------------------------------------------------------------


@dataclass
class Series:
    """The loads of one loader in one state at one latency.

    Attributes:
        times: wall time of each load, in seconds.
        totals: requests sent by each load.
        counts: requests per operation, summed over the loads.
        peak: the most requests in flight at once during any load.
        waves: the most waves (busy periods of the endpoint) of any load: 1 when all its requests
            overlapped, as many as requests when each waited for the previous one's answer.
    """

    times: list[float] = field(default_factory=list)
    totals: list[int] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    peak: int = 0
    waves: int = 0

    @property
    def median(self) -> float:
        """Median wall time, in seconds."""
        return statistics.median(self.times)

    def per_load(self) -> dict[str, float]:
        """Requests per load, by operation."""
        return {op: n / len(self.times) for op, n in sorted(self.counts.items())}

    def requests(self) -> str:
        """Requests per load, as `4 (3 GetParameters + 1 BatchGetSecretValue)`."""
        per_load = self.per_load()
        total = sum(per_load.values())
        if not per_load:
            return "0"
        parts = " + ".join(f"{n:g} {op}" for op, n in per_load.items())
        varies = "" if min(self.totals) == max(self.totals) else f", {min(self.totals)}-{max(self.totals)}"
        return f"{total:g} ({parts}{varies})"


def record(proxy: RemoteProxy, series: Series, seconds: float) -> None:
    """Add one load's wall time and the requests the proxy saw during it to a series."""
    proxy.stats()
    series.times.append(seconds)
    series.totals.append(sum(proxy.counts.values()))
    series.counts.update(proxy.counts)
    series.peak = max(series.peak, proxy.max_in_flight)
    series.waves = max(series.waves, proxy.waves)


def timed_load(
    proxy: RemoteProxy, latency: float, load: Callable[[], Any], series: Series, *, collect: bool = True
) -> Any:
    """One timed load, with its requests counted by the proxy; return what the load returned.

    `collect` first collects the garbage of earlier loads (a discarded botocore session is a large
    cyclic structure), so that no load pays for a collection of what another left behind.
    """
    proxy.prepare(latency)
    if collect:
        gc.collect()
    start = time.perf_counter()
    result = load()
    elapsed = time.perf_counter() - start
    record(proxy, series, elapsed)
    return result


def check(loader: str, result: Any) -> None:
    """Fail loudly when a loader did not load the configuration's values."""
    values = result.model_dump()
    if scenario.revealed(values) != scenario.EXPECTED:
        raise SystemExit(f"{loader} loaded other values than the configuration's")


def floor_load() -> None:
    """The floor of any cold load: a first boto3 session and client, and one round trip."""
    import boto3

    client = boto3.session.Session().client("ssm")
    client.get_parameter(Name=scenario.PARAMETER_NAMES[-1])


def round_trip(client: Any) -> Callable[[], None]:
    """One GetParameter on an existing client: the round trip alone."""

    def load() -> None:
        client.get_parameter(Name=scenario.PARAMETER_NAMES[-1])

    return load


def floor_botocore() -> None:
    """The same floor without boto3's session layer: a botocore session and client (as ours builds them)."""
    import botocore.session

    client = botocore.session.Session().create_client("ssm")
    client.get_parameter(Name=scenario.PARAMETER_NAMES[-1])


def floor_two_clients() -> None:
    """Two clients (SSM, Secrets Manager) of one new session, created serially, and one round trip."""
    import boto3

    session = boto3.session.Session()
    client = session.client("ssm")
    session.client("secretsmanager")
    client.get_parameter(Name=scenario.PARAMETER_NAMES[-1])


@dataclass
class LatencyResults:
    """Everything measured at one latency, by (loader key, state)."""

    latency: float
    series: dict[tuple[str, str], Series] = field(default_factory=dict)

    def get(self, key: str, state: str) -> Series | None:
        """The series of a loader in a state, if measured."""
        return self.series.get((key, state))


def measure_latency(
    proxy: RemoteProxy,
    latency: float,
    loaders: Sequence[Loader],
    runs: int,
    warm_loads: int,
    rtt: Callable[[], None],
) -> LatencyResults:
    """Measure every loader in every state at one latency, the loaders interleaved run by run.

    Interleaving spreads the machine's load drift over all loaders instead of penalising whichever
    ran while a neighbour was busy.
    """
    results = LatencyResults(latency)

    def series(key: str, state: str) -> Series:
        return results.series.setdefault((key, state), Series())

    for run in range(runs):
        progress(f"  {latency * 1000:.0f} ms: run {run + 1}/{runs}")
        timed_load(proxy, latency, rtt, series("rtt", "cold"))
        timed_load(proxy, latency, floor_load, series("floor", "cold"))
        timed_load(proxy, latency, floor_two_clients, series("floor2", "cold"))
        timed_load(proxy, latency, floor_botocore, series("floor_core", "cold"))
        for loader in loaders:
            if loader.cold is not None:
                loader.cold()
                check(loader.label, timed_load(proxy, latency, loader.load, series(loader.key, "cold")))
            if loader.cache_only is not None:
                loader.cache_only()
                check(loader.label, timed_load(proxy, latency, loader.load, series(loader.key, "cache")))
            if loader.warm:
                loader.load()  # whatever the state before, a warm load follows a load
                gc.collect()
                warm = series(loader.key, "warm")
                for _ in range(1 if loader.warm_note else warm_loads):
                    check(loader.label, timed_load(proxy, latency, loader.load, warm, collect=False))
    return results


@dataclass
class Interleaved:
    """Warm loads of ours and of plain pydantic-settings, alternated in one loop."""

    loads: int
    cpu_ours: float
    cpu_plain: float
    wall_ours: list[float]
    wall_plain: list[float]

    @property
    def cpu_ratio(self) -> float:
        """Process time of ours over plain's, summed over the loop."""
        return self.cpu_ours / self.cpu_plain

    @property
    def wall_ratio(self) -> float:
        """Median wall time of ours over plain's."""
        return statistics.median(self.wall_ours) / statistics.median(self.wall_plain)


def interleaved_warm(ours: Callable[[], Any], plain: Callable[[], Any], loads: int) -> Interleaved:
    """Alternate warm loads of ours and plain, summing process time and keeping each wall time.

    The order flips every iteration, so that neither always runs with the other's leftovers in the CPU's
    caches.
    """
    ours()
    plain()
    cpu = {"ours": 0.0, "plain": 0.0}
    wall: dict[str, list[float]] = {"ours": [], "plain": []}
    pair = (("plain", plain), ("ours", ours))
    gc.collect()
    for i in range(loads):
        for name, load in pair if i % 2 == 0 else pair[::-1]:
            c0, w0 = time.process_time(), time.perf_counter()
            load()
            c1, w1 = time.process_time(), time.perf_counter()
            cpu[name] += c1 - c0
            wall[name].append(w1 - w0)
    return Interleaved(loads, cpu["ours"], cpu["plain"], wall["ours"], wall["plain"])


# -- whole processes and imports -------------------------------------------------------------------


def child_environ(endpoint: str, directory: str) -> dict[str, str]:
    """The environment of a whole-process child: isolated, aimed at the proxy, both prefixes set.

    PYTHONDONTWRITEBYTECODE is dropped so that the warm-up run leaves compiled bytecode behind, as an
    installed application has it.
    """
    environ = scenario.isolated_environ(endpoint, directory)
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    environ.update(scenario.references())
    environ.update(scenario.plain_values())
    return environ


def whole_processes(
    proxy: RemoteProxy,
    latency: float,
    children: Sequence[str],
    runs: int,
    environ: dict[str, str],
    extra: dict[str, dict[str, str]] | None = None,
    imported: dict[str, set[str]] | None = None,
) -> dict[str, Series]:
    """Time `child.py NAME` from launch to loaded, the children interleaved run by run.

    `extra` adds variables to some children's environment (the agent's URL and token); `imported`, when
    given, collects which of boto3 and botocore each child had imported once loaded.
    """
    results = {name: Series() for name in children}
    command = [sys.executable, str(HERE / "child.py")]
    environs = {name: {**environ, **(extra or {}).get(name, {})} for name in children}
    for name in children:  # warm-up: compiled bytecode, the OS's file cache, moto's first requests
        subprocess.run([*command, name], env=environs[name], check=True, capture_output=True)
    for run in range(runs):
        progress(f"  whole process, {latency * 1000:.0f} ms: run {run + 1}/{runs}")
        for name in children:
            proxy.prepare(latency)
            start = time.time()
            done = subprocess.run(
                [*command, name], env=environs[name], check=True, capture_output=True, text=True
            )
            loaded, *modules = done.stdout.split()
            record(proxy, results[name], float(loaded) - start)
            if imported is not None:
                imported.setdefault(name, set()).update(modules)
    return results


@dataclass
class ImportCost:
    """Cumulative import times of a module, one per run, in seconds.

    Attributes:
        module: what was imported.
        after: what the same process imported first (its cost is then not counted), or "".
        times: the module's cumulative time in each run.
        own: for each of the module's submodules, its self time in each run.
    """

    module: str
    after: str
    times: list[float] = field(default_factory=list)
    own: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """Median cumulative import time, in seconds."""
        return statistics.median(self.times)


def import_time(cost: ImportCost, environ: dict[str, str]) -> None:
    """Run `python -X importtime -c "import AFTER; import MODULE"` once and add its times to `cost`."""
    code = f"import {cost.after}; import {cost.module}" if cost.after else f"import {cost.module}"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=environ,
        check=True,
        capture_output=True,
        text=True,
    )
    found = False
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.partition(":")[2].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        name = parts[2].strip()
        if name == cost.module or name.startswith(f"{cost.module}."):
            cost.own.setdefault(name, []).append(int(parts[0]) / 1e6)
        if parts[2].rstrip() == f" {cost.module}":  # top level: one space, no indent
            cost.times.append(int(parts[1]) / 1e6)
            found = True
    if not found:
        raise RuntimeError(f"no top-level import time for {cost.module} in -X importtime's output")


def import_costs(
    modules: Sequence[tuple[str, str]], runs: int, environ: dict[str, str]
) -> dict[str, ImportCost]:
    """Import times of each (module, imported first), interleaved run by run, after a warm-up run."""
    costs = {f"{after}>{module}": ImportCost(module, after) for module, after in modules}
    for cost in costs.values():
        import_time(ImportCost(cost.module, cost.after), environ)
    for run in range(runs):
        progress(f"  imports: run {run + 1}/{runs}")
        for cost in costs.values():
            import_time(cost, environ)
    return costs


def boto3_after_import(environ: dict[str, str]) -> list[str]:
    """Which of boto3 and botocore `import pydantic_aws_settings` leaves in sys.modules."""
    code = (
        "import sys, pydantic_aws_settings; "
        "print(' '.join(m for m in ('boto3', 'botocore') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=environ, check=True, capture_output=True, text=True
    )
    return done.stdout.split()


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Results:
    """Everything one run measured, for the report."""

    args: argparse.Namespace
    latencies: list[LatencyResults]
    interleaved: Interleaved
    processes: dict[float, dict[str, Series]]
    imports: dict[str, ImportCost]
    boto3_imported: list[str]
    agents: AgentLoads | None = None
    #: Which of boto3 and botocore the whole processes through the Lambda extension imported.
    agent_imported: list[str] = field(default_factory=list)
    seconds: float = 0.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer runs of everything)")
    parser.add_argument("--runs", type=int, help="loads per loader and state (default 9, quick 3)")
    parser.add_argument("--warm-loads", type=int, help="warm loads per run (default 20, quick 5)")
    parser.add_argument("--process-runs", type=int, help="whole processes per loader (default 7, quick 3)")
    parser.add_argument("--import-runs", type=int, help="-X importtime runs per module (default 9, quick 3)")
    parser.add_argument(
        "--interleaved", type=int, help="alternated warm loads of ours and plain (default 2000, quick 300)"
    )
    parser.add_argument(
        "--latency", type=float, nargs="+", default=[0.0, 20.0], help="ms per request (default 0 20)"
    )
    parser.add_argument(
        "--process-latency", type=float, nargs="+", default=[20.0], help="ms per request, whole processes"
    )
    parser.add_argument(
        "--agent-runs", type=int, help="cold loads through each node-local cache (default 21, quick 7)"
    )
    parser.add_argument(
        "--agent-latency", type=float, default=20.0, help="ms per AWS request, loads through the caches"
    )
    parser.add_argument("--agent-only", action="store_true", help="only the loads through the caches")
    parser.add_argument("--no-write", action="store_true", help="print only: leave the docs page and chart")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "runs": (9, 3),
        "warm_loads": (20, 5),
        "process_runs": (7, 3),
        "import_runs": (9, 3),
        "interleaved": (2000, 300),
        "agent_runs": (21, 7),
    }
    for name, (full, short) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, short if quick else full)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, print the report, write the docs page and the chart."""
    args = parse_args(argv)
    began = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-aws-") as directory,
        MotoServer() as moto,
        RemoteProxy(moto.url) as proxy,
        RemoteAgents(moto.url) as agents,
    ):
        progress(f"moto at {moto.url}, proxy at {proxy.url}, node-local caches at {agents.urls}; seeding")
        scenario.seed(moto.url)
        environ = scenario.isolated_environ(proxy.url, directory)
        environ.update(scenario.references())
        environ.update(scenario.plain_values())
        os.environ.clear()
        os.environ.update(environ)

        import loaders  # after the environment: nothing of boto3's is built before it is set

        for loader in loaders.LOADERS:  # warm moto's first request per operation; check every loader
            if loader.cold is not None:
                loader.cold()
            check(loader.label, loader.load())
        floor_load()
        import boto3

        rtt = round_trip(boto3.session.Session().client("ssm"))
        rtt()
        # Everything built so far (modules, models, classes) is out of the collector's way from now on:
        # a collection before each load then costs what earlier loads left, not the whole heap.
        gc.collect()
        gc.freeze()

        import agent_bench

        if args.agent_only:
            return agent_bench.agent_only(sys.modules[__name__], args, proxy, agents, directory)
        measured = []
        for latency_ms in args.latency:
            progress(f"in-process loads at {latency_ms:g} ms per request")
            measured.append(
                measure_latency(proxy, latency_ms / 1000, loaders.LOADERS, args.runs, args.warm_loads, rtt)
            )
        progress(f"interleaved warm loads, ours and plain: {args.interleaved} each")
        proxy.prepare(0.0)
        interleaved = interleaved_warm(loaders.Ours, loaders.Plain, args.interleaved)

        progress(f"through the node-local caches, AWS at {args.agent_latency:g} ms per request")
        agent_loads = agent_bench.measure_agents(
            sys.modules[__name__], proxy, agents, args.agent_latency / 1000, args.agent_runs
        )

        children_env = child_environ(proxy.url, directory)
        processes = {}
        agent_imported: dict[str, set[str]] = {}
        for latency_ms in args.process_latency:
            progress(f"whole processes at {latency_ms:g} ms per request")
            processes[latency_ms / 1000] = whole_processes(
                proxy,
                latency_ms / 1000,
                ["bare", "plain", "floor", "ours", "powertools", "agent", "agent_sm"],
                args.process_runs,
                children_env,
                agent_bench.agent_environ(agents),
                agent_imported,
            )
        progress("import costs")
        modules = [
            ("pydantic_settings", ""),
            ("pydantic_aws_settings", ""),
            ("pydantic_aws_settings", "pydantic_settings"),
            ("boto3", ""),
            ("boto3", "botocore.session"),
            ("aws_lambda_powertools.utilities.parameters", ""),
        ]
        imports = import_costs(modules, args.import_runs, children_env)
        leaked = boto3_after_import(children_env)

    results = Results(args, measured, interleaved, processes, imports, leaked, agent_loads)
    results.agent_imported = sorted(agent_imported.get("agent", set()))
    results.seconds = time.perf_counter() - began

    import report

    markdown = report.render(results)
    print(markdown)
    if not args.no_write:
        report.write_page(PAGE, markdown)
        report.chart(results, CHART)
        progress(f"wrote {PAGE.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    progress(f"done in {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
