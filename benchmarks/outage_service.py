"""One service process of the outage benchmark (run by `benchmarks/outage.py`, which owns the proxy).

`python benchmarks/outage_service.py MODE RATE THREADS SECONDS OUTAGE`, its environment holding the
references and AWS_ENDPOINT_URL, PYTHONPATH choosing the library's version:

- `live` / `settings`: THREADS threads serve RATE loads a second in all, each load `live.get()` or
  `Settings()`. After a first load the process prints `ready` and waits for `go` on stdin (the parent has
  just broken AWS); then it serves for SECONDS, the first OUTAGE of them with AWS broken, and prints one JSON
  line: the latency of every load during the outage, the WARNING and INFO records, the loads served.
  An optional PRE (seconds) comes first, AWS working: the outage is then [PRE, PRE + OUTAGE) of SECONDS
  (the backed-off scenario: entries expire just after PRE). Every attempt is timed and named by its batch
  (operation and first name), every record by its reference, so the parent can count them in any window.
- `asyncio`: one event loop serves RATE requests a second, each `await live.aget()` (`live.get()` where
  the library has no `aget`), while a ticker coroutine that sleeps 5 ms measures how late it wakes: the
  loop's stalls, the largest split by whether a reload was in flight.
- `ticker`: the same ticker alone, on an idle loop, for SECONDS: the stalls the machine causes by itself.
- `cold`: one `Settings()` in a fresh process; prints whether it loaded and how long it took.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from typing import Any

#: HTTP requests this process has sent to AWS (every attempt, retries included), refused ones too.
SENT = [0]
#: When each was sent (perf_counter) and to which batch: the operation and the first name it asked for.
ATTEMPTS: list[tuple[float, str]] = []


def _batch(request: Any) -> str:
    target = dict(request.headers).get("X-Amz-Target", b"")
    operation = (target.decode() if isinstance(target, bytes) else str(target)).rpartition(".")[2]
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    names = body.get("Names") or body.get("SecretIdList") or [body.get("SecretId") or body.get("Name")]
    return f"{operation} {names[0]}"


def _count_requests() -> None:
    import botocore.httpsession

    send = botocore.httpsession.URLLib3Session.send

    def counting(self: Any, request: Any) -> Any:
        SENT[0] += 1
        ATTEMPTS.append((time.perf_counter(), _batch(request)))
        return send(self, request)

    botocore.httpsession.URLLib3Session.send = counting  # type: ignore[method-assign]


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.warnings = 0
        self.infos = 0
        self.records: list[tuple[float, str, str]] = []  # when, level, the reference (first argument)

    def emit(self, record: logging.LogRecord) -> None:
        about = str(record.args[0]) if isinstance(record.args, tuple) and record.args else ""
        self.records.append((time.perf_counter(), record.levelname, about))
        if record.levelno >= logging.WARNING:
            self.warnings += 1
        else:
            self.infos += 1


def _listen(counter: _Count) -> None:
    """Count the library's records from INFO up (its logger would otherwise pass WARNING and up only)."""
    logger = logging.getLogger("pydantic_aws_settings")
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)


def _settings_class() -> Any:
    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict

    from pydantic_aws_settings import AWSBaseSettings
    from scenario import EXPECTED, SENSITIVE

    annotations = {name: SecretStr if name in SENSITIVE else str for name in EXPECTED}
    namespace = {"__annotations__": annotations, "model_config": SettingsConfigDict(env_prefix="BENCH_")}
    return type("Settings", (AWSBaseSettings,), namespace)


def _wait_for_go(counter: _Count) -> float:
    print("ready", flush=True)
    sys.stdin.readline()
    counter.warnings = counter.infos = SENT[0] = 0
    counter.records.clear()
    ATTEMPTS.clear()
    return time.perf_counter()


def _since(start: float, counter: _Count) -> dict[str, Any]:
    """Every attempt and record since `start`, in seconds from it."""
    return {
        "attempts": [(round(t - start, 3), batch) for t, batch in ATTEMPTS if t >= start],
        "records": [(round(t - start, 3), level, about) for t, level, about in counter.records if t >= start],
    }


def _threads(
    mode: str, rate: float, threads: int, seconds: float, outage: float, pre: float = 0.0
) -> dict[str, Any]:
    settings_cls = _settings_class()
    if mode == "live":
        from pydantic_aws_settings import LiveSettings

        live = LiveSettings(settings_cls)
        load = live.get
    else:
        load = settings_cls
    load()
    counter = _Count()
    _listen(counter)
    start = _wait_for_go(counter)
    during: list[float] = []
    after: list[float] = []
    interval = threads / rate

    def serve(offset: float) -> None:
        slot = start + offset
        while True:
            slot = max(slot + interval, time.perf_counter())  # a late load does not make the next ones early
            time.sleep(max(0.0, slot - time.perf_counter()))
            began = time.perf_counter()
            if began - start >= seconds:
                return
            load()
            (during if pre <= began - start < pre + outage else after).append(time.perf_counter() - began)

    workers = [threading.Thread(target=serve, args=(i / rate,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    sent = sum(pre <= t - start < pre + outage for t, _ in ATTEMPTS)
    return {
        "during": during,
        "after": after,
        "warnings": counter.warnings,
        "infos": counter.infos,
        "sent": sent,
        **_since(start, counter),
    }


def _asyncio(rate: float, seconds: float, outage: float) -> dict[str, Any]:
    import asyncio

    from pydantic_aws_settings import LiveSettings

    live = LiveSettings(_settings_class())
    counter = _Count()
    _listen(counter)
    call = getattr(live, "aget", None)

    async def main() -> dict[str, Any]:
        await (call() if call is not None else asyncio.to_thread(live.get))
        start = await asyncio.to_thread(_wait_for_go, counter)
        stalls: list[float] = []
        reloading: list[float] = []  # the stalls during which a background reload was in flight
        worst = [0.0, 0.0, 0.0]  # the largest stall; CPU time of the loop thread, of the others, in its tick
        busiest = [0.0]  # the most CPU time the other threads used in any one tick
        latencies: list[float] = []

        async def ticker() -> None:
            while time.perf_counter() - start < seconds:
                before, cpu, own = time.perf_counter(), time.process_time(), time.thread_time()
                busy = getattr(live, "_reloading", False)
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - before - 0.005)
                if busy or getattr(live, "_reloading", False):
                    reloading.append(stalls[-1])
                loop_cpu = time.thread_time() - own
                others = time.process_time() - cpu - loop_cpu  # the reload's threads: the GIL they held
                busiest[0] = max(busiest[0], others)
                if stalls[-1] >= worst[0]:  # the CPU of its tick: the loop thread's, the other threads'
                    worst[:] = [stalls[-1], loop_cpu, others]

        async def requests() -> None:
            slot = start
            while (now := time.perf_counter()) - start < seconds:
                slot = max(slot + 1 / rate, now)
                await asyncio.sleep(max(0.0, slot - time.perf_counter()))
                began = time.perf_counter()
                if call is not None:
                    await call()
                else:
                    live.get()  # what an async def handler did before aget existed
                latencies.append(time.perf_counter() - began)

        await asyncio.gather(ticker(), requests())
        return {
            "during": latencies,
            "after": [],
            "stall": max(stalls),
            "stall_reloading": max(reloading, default=0.0),
            "stall_idle": max(set(stalls) - set(reloading), default=0.0),
            "stall_cpu": worst[1:],
            "busiest_tick": busiest[0],
            "warnings": counter.warnings,
            "infos": counter.infos,
            "sent": SENT[0],
        }

    return asyncio.run(main())


def _ticker(seconds: float) -> dict[str, Any]:
    """An idle event loop's largest stall over `seconds`: what the machine alone costs a loop."""
    import asyncio

    async def main() -> float:
        largest, start = 0.0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            largest = max(largest, time.perf_counter() - before - 0.005)
        return largest

    return {"stall": asyncio.run(main())}


def _cold() -> dict[str, Any]:
    began = time.perf_counter()
    try:
        _settings_class()()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        # The failures' codes (never a value), so that a failed cold start says why: throttled past
        # THROTTLE_TIMEOUT, a timeout, ...
        codes = sorted({failure.code for failure in getattr(exc, "failures", [])})
        return {
            "ok": False,
            "seconds": time.perf_counter() - began,
            "error": f"{type(exc).__name__}({', '.join(codes)})" if codes else type(exc).__name__,
            "sent": SENT[0],
        }
    return {"ok": True, "seconds": time.perf_counter() - began, "sent": SENT[0]}


def main() -> None:
    """Run the MODE given on the command line and print its JSON result."""
    mode = sys.argv[1]
    _count_requests()
    if mode == "cold":
        result = _cold()
    elif mode == "ticker":
        result = _ticker(float(sys.argv[2]))
    else:
        rate, threads, seconds, outage, pre = (float(arg) for arg in [*sys.argv[2:7], "0"][:5])
        if mode == "asyncio":
            result = _asyncio(rate, seconds, outage)
        else:
            result = _threads(mode, rate, int(threads), seconds, outage, pre)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
