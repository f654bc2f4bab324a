"""The outage benchmark's long scenario: a service backed off for minutes (`outage.py --scenarios backedoff`).

The threaded scenario's TTL of 5 s caps the backoff at 5 s (it is never longer than the TTL) and its outage
is over before a backoff could grow, so it cannot show the steady state. Here the TTL is 60 s, so the
backoff can reach its cap of 60 s; the services warm their caches, serve with AWS working for PRE seconds,
and AWS breaks just before the entries' refresh window opens (a life of 54 to 60 s, refresh ahead in its
last tenth: at 48 s at the earliest). The outage then lasts long enough for the backoff to double up to its
cap (1 + 2 + ... + 32 s, jittered, plus the failed rounds themselves) and stay there for WINDOW seconds,
in which the attempts are counted per batch. Every fault and both loads (`live.get()`, `Settings()`) run
at once, as processes of their own, each fault behind a proxy of its own: counts do not suffer from a busy
machine, and the whole scenario takes PRE + OUTAGE seconds (about 5 minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outage import Proxy

#: The TTL (the backoff's cap is min(60 s, TTL)), seconds of AWS working first, and the loads' pace.
TTL, PRE, RATE, THREADS = 60, 45.0, 10.0, 2
#: The default outage, and the last seconds of it in which the service is counted as backed off.
OUTAGE, WINDOW = 240.0, 120.0
#: Attempts of one batch closer than this belong to one refresh round (botocore's retries of one call).
ROUND_GAP = 10.0

HEADER = [
    "version",
    "scenario",
    "p99 ms",
    "max ms",
    "attempts/min per batch, whole outage",
    "rounds / attempts per batch/min, last 2 min",
    "most attempts of one batch in 60 s",
    "attempts/min, last 2 min, all batches",
    "WARNINGs (references)",
    "INFOs",
]


def run(
    proxies: dict[str, Proxy],
    versions: dict[str, str],
    environ: Any,
    *,
    outage: float = OUTAGE,
    window: float = WINDOW,
) -> None:
    """Every (version, fault, load) at once; print one Markdown row each."""
    children: dict[tuple[str, str, str], subprocess.Popen[str]] = {}
    for version, src in versions.items():
        for fault, proxy in proxies.items():
            for mode in ("live", "settings"):
                env = environ(proxy, src)
                env["PYDANTIC_AWS_CACHE_TTL"] = str(TTL)
                args = [str(RATE), str(THREADS), str(PRE + outage + 2), str(outage), str(PRE)]
                children[(version, fault, mode)] = subprocess.Popen(
                    [sys.executable, str(_service()), mode, *args],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
    for key, child in children.items():
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the {key} service did not start")
    for child in children.values():
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    time.sleep(PRE)
    for fault, proxy in proxies.items():
        proxy.call("/fault", {"kind": fault, "hang": 30.0})
    time.sleep(outage)
    for proxy in proxies.values():
        proxy.call("/fault", {"kind": "none"})
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for (version, fault, mode), child in children.items():
        assert child.stdout is not None
        result = json.loads(child.stdout.readline())
        child.wait(timeout=30)
        name = f"{'live.get()' if mode == 'live' else 'Settings()'}, AWS {fault}"
        print(row(version, name, result, outage, window), flush=True)


def _service() -> Any:
    from outage import HERE

    return HERE / "outage_service.py"


def row(version: str, name: str, result: dict[str, Any], outage: float, window: float) -> str:
    """One Markdown row: latencies, attempts per batch (whole outage, last `window` s), records."""
    from outage import ms

    start, end = PRE, PRE + outage
    batches: dict[str, list[float]] = defaultdict(list)
    for at, batch in result["attempts"]:
        if start <= at < end:
            batches[batch].append(at)
    count = max(len(batches), 1)
    whole = sum(map(len, batches.values())) * 60 / outage / count
    late = {b: [t for t in times if t >= end - window] for b, times in batches.items()}
    attempts = sum(map(len, late.values())) * 60 / window / count
    rounds = sum(_rounds(times) for times in late.values()) * 60 / window / count
    most = max((_most_in_a_minute(times) for times in late.values()), default=0)
    warned: dict[str, int] = defaultdict(int)
    infos = 0
    for _, level, about in result["records"]:
        if level == "WARNING":
            warned[about] += 1
        elif level == "INFO":
            infos += 1
    cells = [
        version,
        f"{name} ({count} {'batches' if count > 1 else 'batch'})",
        ms(result["during"], 0.99),
        ms(result["during"], 1.0),
        f"{whole:.1f}",
        f"{rounds:.1f} / {attempts:.1f}",
        str(most),
        f"{sum(map(len, late.values())) * 60 / window:.1f}",
        f"{sum(warned.values())} ({len(warned)}, at most {max(warned.values(), default=0)} each)",
        str(infos),
    ]
    return "| " + " | ".join(cells) + " |"


def _rounds(times: list[float]) -> int:
    return sum(1 for i, t in enumerate(times) if i == 0 or t - times[i - 1] > ROUND_GAP)


def _most_in_a_minute(times: list[float]) -> int:
    return max((sum(1 for u in times if t <= u < t + 60) for t in times), default=0)
