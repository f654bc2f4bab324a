"""The scaled real run: dozens of fresh interpreters loading the configuration at once, behind a quota proxy.

moto's server (`pydantic_aws_settings._loopback.MotoServer`) is seeded with the benchmark's configuration
(`scenario.seed`: 30 parameters of which 5 SecureString, 10 secrets); `fleet_proxy.QuotaProxy` sits in
front of it with the quotas scaled down; N `fleet_child.py` processes are launched at once, each pointed at
the proxy. What comes back is what the model needs to replay the same run: when each load began and
ended, whether it failed, and every request the proxy saw.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import scenario
from fleet_proxy import QuotaProxy
from pydantic_aws_settings._loopback import MotoServer

HERE = Path(__file__).resolve().parent


@dataclass
class RealRun:
    """The outcome of one scaled real run; times in seconds from the launch of the first process."""

    instances: int
    quotas: dict[str, float]
    began: list[float] = field(default_factory=list)
    ended: list[float] = field(default_factory=list)
    failed: int = 0
    log: list[tuple[float, str, bool]] = field(default_factory=list)
    #: When each process sent its first request, and the time from its last request to its load's end.
    first_request: list[float] = field(default_factory=list)
    last_to_end: list[float] = field(default_factory=list)


def run(instances: int, quotas: dict[str, float], timeout: float = 240.0) -> RealRun:
    """Launch `instances` children at once against moto behind a QuotaProxy, wait for all, collect."""
    result = RealRun(instances, quotas)
    with MotoServer() as moto, QuotaProxy(moto.url, quotas) as proxy, tempfile.TemporaryDirectory() as home:
        scenario.seed(moto.url)
        environ = scenario.isolated_environ(proxy.url, home)
        environ.update(scenario.references())
        environ["PYTHONPATH"] = str(HERE)
        command = [sys.executable, str(HERE / "fleet_child.py")]
        # One warm-up child outside the count: compiled bytecode and the OS's file cache, as an installed
        # application has them; then the buckets are refilled and the clock restarted.
        subprocess.run(command, env=environ, check=True, capture_output=True, timeout=timeout)
        proxy.restart_clock()
        launched = time.time()
        children = [
            subprocess.Popen(
                command,
                env={**environ, "AWS_SDK_UA_APP_ID": f"fleet-{i}"},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            for i in range(instances)
        ]
        ends: dict[str, float] = {}
        for i, child in enumerate(children):
            out, _ = child.communicate(timeout=timeout)
            fields = out.split()
            if child.returncode != 0 or len(fields) < 3:
                result.failed += 1
            if len(fields) >= 2:
                result.began.append(float(fields[0]) - launched)
                if child.returncode == 0:
                    result.ended.append(float(fields[1]) - launched)
                    ends[f"fleet-{i}"] = float(fields[1]) - launched
        # The proxy's clock started a moment before the launch: shift its log onto the launch's clock.
        shift = launched - (time.time() - (time.monotonic() - proxy.origin))
        result.log = [(t - shift, op, ok) for t, op, ok in proxy.log]
        for app, requests in proxy.by_app.items():
            if requests:
                result.first_request.append(requests[0][0] - shift)
                if app in ends:
                    result.last_to_end.append(ends[app] - (requests[-1][0] - shift))
    return result
