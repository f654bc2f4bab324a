"""A long-running service while AWS fails: what each request waits for, how hard AWS is hit, how loud it is.

`make bench-outage` (about 16 minutes; or `.venv/bin/python benchmarks/outage.py --help`) starts moto with
the benchmark's configuration (`scenario.py`: 30 parameters in 3 GetParameters batches, 10 secrets in one
BatchGetSecretValue), puts `fault_proxy.py` in front of it, and runs each scenario in a service process
of its own (`outage_service.py`), once with this tree's `src` ("after") and once with the library as it was
at COMMIT ("before", extracted with `git archive`; default: the commit before the outage work):

- threads: 4 threads serving 50 loads a second, each `live.get()` or `Settings()` with a warm cache, TTL 5 s,
  while AWS is hung, refuses connections, answers 500 or throttles, for `--outage` seconds, then recovers;
- asyncio: one event loop serving 50 `await live.aget()` a second while every AWS answer takes 0.5 s, so
  that each TTL's refresh is slow; a ticker coroutine measures the loop's largest stall;
- cold start: 20 processes start at once against a proxy whose token buckets let SSM and
  BatchGetSecretValue through at 4 requests a second;
- backedoff (about 5 minutes): TTL 60 s and an outage of `--long-outage` seconds
  (default 240), long enough for the backoff to reach its cap, every fault and load at once; attempts per
  batch in the last 2 minutes of the outage (`outage_backedoff.py`).

The timeouts are shortened to keep the run short: PYDANTIC_AWS_CONNECT_TIMEOUT=1, PYDANTIC_AWS_READ_TIMEOUT=1
(attempts stay 3). Attempts are counted in the service process (every HTTP request botocore sends,
refused ones included); the cold start's requests are counted by the proxy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

from pydantic_aws_settings._loopback import MotoServer
from scenario import isolated_environ, references, seed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FAULTS = ("hung", "refused", "500", "throttled")
OPERATIONS = ("GetParameters", "BatchGetSecretValue", "GetSecretValue")
BATCHES = 4
RATE, THREADS, TTL = 50.0, 4, 5
#: Seconds every AWS answer takes in the asyncio scenario: slow, within the 1 s read timeout.
SLOW = 0.5


class Proxy:
    """`fault_proxy.py` in a child process, driven through its control endpoint."""

    def __init__(self, upstream: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "fault_proxy.py"), upstream],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.url, self.control = self.process.stdout.readline().split()

    def call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST `body` (GET without one) to the control endpoint and return its JSON answer."""
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.control + path, data=data)  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            result: dict[str, Any] = json.loads(answer.read())
            return result

    def close(self) -> None:
        """Stop the child: it exits when its stdin closes."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def extract(commit: str) -> str:
    """The library's `src` at `commit`, in a temporary directory (no worktree, nothing left in the repo)."""
    archive = subprocess.run(
        ["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    directory = tempfile.mkdtemp(prefix="outage-before-")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data") if sys.version_info >= (3, 12) else tar.extractall(directory)  # noqa: S202
    return os.path.join(directory, "src")


def environ(proxy: Proxy, src: str) -> dict[str, str]:
    """A service's environment: the references, TTL 5 s, 1 s timeouts, the library from `src`."""
    env = isolated_environ(proxy.url)
    env.update(references())
    env.update(
        PYTHONPATH=os.pathsep.join([src, str(HERE)]),
        PYDANTIC_AWS_CACHE_TTL=str(TTL),
        PYDANTIC_AWS_CONNECT_TIMEOUT="1",
        PYDANTIC_AWS_READ_TIMEOUT="1",
    )
    return env


def service(proxy: Proxy, src: str, mode: str, fault: str, seconds: float, outage: float) -> dict[str, Any]:
    """One service process: warm, AWS broken for `outage` seconds of `seconds`, then its JSON result."""
    args = [
        sys.executable,
        str(HERE / "outage_service.py"),
        mode,
        str(RATE),
        str(THREADS),
        str(seconds),
        str(outage),
    ]
    child = subprocess.Popen(
        args, env=environ(proxy, src), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdin is not None
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the {mode} service did not start")
    proxy.call("/fault", {"kind": fault, "hang": SLOW if fault == "slow" else 30.0})
    child.stdin.write("go\n")
    child.stdin.flush()
    time.sleep(outage)
    if fault != "slow":
        proxy.call("/fault", {"kind": "none"})
    result: dict[str, Any] = json.loads(child.stdout.readline())
    child.wait(timeout=30)
    proxy.call("/fault", {"kind": "none"})
    return result


def cold_start(proxy: Proxy, src: str, processes: int) -> dict[str, Any]:
    """`processes` cold `Settings()` at once; loaded count, requests seen by the proxy, slowest load."""
    proxy.call("/reset", {})
    args = [sys.executable, str(HERE / "outage_service.py"), "cold"]
    children = [
        subprocess.Popen(args, env=environ(proxy, src), stdout=subprocess.PIPE, text=True)
        for _ in range(processes)
    ]
    results = [json.loads(child.communicate(timeout=600)[0]) for child in children]
    counts = proxy.call("/stats")["counts"]
    return {
        "loaded": sum(r["ok"] for r in results),
        "requests": sum(counts.get(op, 0) for op in OPERATIONS),
        "counts": counts,
        "sent": sum(r["sent"] for r in results),
        "slowest": max(r["seconds"] for r in results),
        "errors": sorted({r.get("error", "") for r in results} - {""}),
    }


def ms(values: list[float], q: float) -> str:
    """The `q` quantile of `values` (seconds) in milliseconds; q=1 is the maximum."""
    if not values:
        return "-"
    ordered = sorted(values)
    return f"{1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.1f}"


def row(version: str, name: str, result: dict[str, Any], outage: float) -> str:
    """One Markdown row of the service table."""
    during = result["during"]
    per_minute = 60.0 / outage
    cells = [
        version,
        name,
        ms(during, 0.5),
        ms(during, 0.99),
        ms(during, 1.0),
        f"{len(during) / outage:.1f}",
        f"{result['sent'] * per_minute:.0f}",
        f"{result['sent'] * per_minute / BATCHES:.0f}",
        f"{result['warnings']} / {result['infos']}",
        f"{1000 * result['stall']:.1f}" if "stall" in result else "",
    ]
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    """Run every scenario before and after, and print the tables (Markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default="b6851e3^", help="the commit measured as 'before'")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds AWS stays broken per scenario")
    parser.add_argument("--after-only", action="store_true", help="skip the 'before' runs")
    parser.add_argument("--faults", default=",".join(FAULTS), help="which faults, comma-separated")
    parser.add_argument(
        "--scenarios",
        default="threads,asyncio,cold,backedoff",
        help="which of threads, asyncio, cold, backedoff (comma-separated)",
    )
    parser.add_argument(
        "--long-outage", type=float, default=240.0, help="seconds AWS stays broken in 'backedoff'"
    )
    options = parser.parse_args()
    versions = {"after": str(ROOT / "src")}
    if not options.after_only:
        versions = {"before": extract(options.before), **versions}
    with MotoServer() as moto:
        seed(moto.url)
        proxy = Proxy(moto.url)
        try:
            scenarios = options.scenarios.split(",")
            faults = options.faults.split(",")
            if "threads" in scenarios or "asyncio" in scenarios:
                threaded = faults if "threads" in scenarios else []
                service_table(proxy, versions, threaded, options.outage, asyncio="asyncio" in scenarios)
            if "cold" in scenarios:
                cold_table(proxy, versions)
            if "backedoff" in scenarios:
                backedoff_table(moto.url, versions, faults, options.long_outage)
        finally:
            proxy.close()
            if "before" in versions:
                shutil.rmtree(Path(versions["before"]).parent, ignore_errors=True)


#: The asyncio rows' stalls, split (printed under the table).
ASYNCIO_NOTES: list[str] = []
HEADER = ["version", "scenario", "p50 ms", "p99 ms", "max ms", "loads/s", "attempts/min", "per batch/min"]
HEADER += ["WARNING / INFO records", "loop stall ms"]


def service_table(
    proxy: Proxy, versions: dict[str, str], faults: list[str], outage: float, *, asyncio: bool
) -> None:
    """The service scenarios, one row each."""
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for version, src in versions.items():
        for fault in faults:
            for mode in ("live", "settings"):
                result = service(proxy, src, mode, fault, outage + 2 * TTL, outage)
                name = f"{'live.get()' if mode == 'live' else 'Settings()'}, AWS {fault}"
                print(row(version, name, result, outage), flush=True)
        if not asyncio:
            continue
        idle = subprocess.Popen(
            [sys.executable, str(HERE / "outage_service.py"), "ticker", str(3 * TTL + 3)],
            stdout=subprocess.PIPE,
            text=True,
        )
        result = service(proxy, src, "asyncio", "slow", 3 * TTL, 3 * TTL)
        baseline = json.loads(idle.communicate(timeout=60)[0])["stall"]
        print(row(version, f"asyncio, AWS {SLOW} s slow", result, 3 * TTL), flush=True)
        ASYNCIO_NOTES.append(
            f"{version}: largest stall {1000 * result['stall']:.1f} ms; while a reload was in flight "
            f"{1000 * result.get('stall_reloading', 0.0):.1f} ms, while none was "
            f"{1000 * result.get('stall_idle', 0.0):.1f} ms; in the tick of the largest (5 ms + the stall), "
            f"the loop thread ran {1000 * result.get('stall_cpu', [0, 0])[0]:.1f} ms, the process's other "
            f"threads {1000 * result.get('stall_cpu', [0, 0])[1]:.1f} ms; the most the other threads ran "
            f"in any one tick: {1000 * result.get('busiest_tick', 0.0):.1f} ms; an idle loop in a process of "
            f"its own, at the same time: {1000 * baseline:.1f} ms"
        )
    for note in ASYNCIO_NOTES:
        print(f"- asyncio {note}")


def backedoff_table(upstream: str, versions: dict[str, str], faults: list[str], outage: float) -> None:
    """The long outage, every fault and load at once (see `outage_backedoff.py`)."""
    import outage_backedoff

    proxies = {fault: Proxy(upstream) for fault in faults}
    try:
        print()
        outage_backedoff.run(proxies, versions, environ, outage=outage)
    finally:
        for proxy in proxies.values():
            proxy.close()


def cold_table(proxy: Proxy, versions: dict[str, str]) -> None:
    """The cold start of 20 processes against token buckets, one row per version."""
    head = ["version", "20 cold starts at once, 4 req/s", "loaded", "requests"]
    head += ["GetParameters / BatchGetSecretValue / GetSecretValue", "unthrottled", "slowest s", "errors"]
    print("\n| " + " | ".join(head) + " |")
    print("|---|---|---|---|---|---|---|---|")
    buckets = {"rate": 4, "burst": 4, "operations": ["GetParameters", "BatchGetSecretValue"]}
    proxy.call("/bucket", {"rate": 0})
    alone = {version: cold_start(proxy, src, 1) for version, src in versions.items()}
    for version, src in versions.items():
        proxy.call("/bucket", buckets)
        result = cold_start(proxy, src, 20)
        proxy.call("/bucket", {"rate": 0})
        split = " / ".join(str(result["counts"].get(op, 0)) for op in OPERATIONS)
        unthrottled = f"{20 * alone[version]['requests']} ({alone[version]['loaded']}/1 loaded alone)"
        cells = [version, "", f"{result['loaded']}/20", str(result["requests"]), split, unthrottled]
        cells += [f"{result['slowest']:.1f}", ", ".join(result["errors"]) or "-"]
        print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
