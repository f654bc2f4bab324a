"""Load: 64 threads load settings in a loop while the cache expires over and over and faults come and go.

A driver thread moves the cache's clock past the TTL every tick (each tick is one expiry of every
entry), rotates one secret now and then, and switches faults on and off: Secrets Manager throttled,
5xx, hung (read timeouts); SSM 5xx, access denied, KMS unable to decrypt. After one warm-up load, a
stale value exists for every reference, so no load may raise. The test checks that:

- no exception escapes any load, and every load returns values that were current at some point;
- no thread is stuck (every thread ends soon after the driver stops);
- requests are bounded by single flight: never two fetches of one batch at once, and at most one
  successful fetch of each batch per expiry (a failed refresh is retried after a backoff, in the
  background, while every load gets the stale value);
- no value leaks into any log record (every logger at DEBUG, botocore's included), exception or repr.

The numbers are printed (run with `-s` to see them) and recorded as properties of the test; the
Reliability page quotes one run.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest  # noqa: TC002 - the fixtures it types are pytest's own
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, _state
from pydantic_aws_settings.cache import ValueCache
from pydantic_aws_settings.fetch import Fetched
from pydantic_aws_settings.fetch import secretsmanager as sm_fetch
from pydantic_aws_settings.fetch import ssm as ssm_fetch
from support.clocks import FakeClock
from support.logs import collecting

if TYPE_CHECKING:
    from collections.abc import Callable

THREADS = 64
DURATION = 3.0  # seconds the threads load for
TICK = 0.1  # seconds between two expiries of the whole cache
PHASE = 2  # ticks a fault (or its absence) lasts
FAULT_WAIT = 2.0  # seconds a fault may last longer, until a refresh has failed on it
JOIN_TIMEOUT = 15.0  # seconds a thread may take to finish its last load once the driver stops

MARK = "CANARY-9e4b"  # every secret value holds it; no text the library produces may
PASSWORD = f"{MARK}-db-password"
SIGNING_KEY = f"{MARK}-signing-key"
URL = "https://load.example.com"


def api_key(version: int) -> str:
    """The value of the rotated secret at a version."""
    return f"{MARK}-api-key-v{version}"


class Loaded(AWSBaseSettings):
    """Two secrets (one BatchGetSecretValue) and two parameters (one GetParameters)."""

    model_config = SettingsConfigDict(env_prefix="APP_")
    password: SecretStr
    api_key: SecretStr
    signing_key: SecretStr
    url: str


#: The faults the driver cycles through, each followed by a phase without one.
FAULTS: list[tuple[str, Callable[[Any], None]]] = [
    # Both calls: a throttled batch alone is replaced by GetSecretValue and would not fail the refresh.
    (
        "SM throttled",
        lambda p: [p.inject(op, "ThrottlingException") for op in ("BatchGetSecretValue", "GetSecretValue")],
    ),
    ("SSM 5xx", lambda p: p.inject("GetParameters", "InternalServerError", status=500)),
    ("SM hung", lambda p: p.inject_hang("BatchGetSecretValue", 5.0)),
    ("SSM access denied", lambda p: p.inject("GetParameters", "AccessDeniedException")),
    ("SM 5xx", lambda p: p.inject("BatchGetSecretValue", "InternalServiceError", status=500)),
    ("SSM KMS failure", lambda p: p.inject("GetParameters", "InvalidKeyId")),
]


@dataclass
class Flights:
    """Fetches of each batch the library runs: how many, most of one target at once, how many worked."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    started: Counter[str] = field(default_factory=Counter)
    succeeded: Counter[str] = field(default_factory=Counter)
    finished: Counter[str] = field(default_factory=Counter)  # ended, whether they worked or not
    running: Counter[Any] = field(default_factory=Counter)  # fetches in flight, by target
    most: Counter[str] = field(default_factory=Counter)  # the most fetches of one target at once, by batch

    def wrap(self, name: str, fetch: Callable[..., dict[Any, Any]]) -> Callable[..., dict[Any, Any]]:
        """Count the calls of a batch fetch function (its second argument: the targets it fetches)."""

        def counted(*args: Any) -> dict[Any, Any]:
            targets = list(args[1])
            with self.lock:
                self.started[name] += 1
                self.running.update(targets)
                self.most[name] = max(self.most[name], *(self.running[t] for t in targets))
            outcomes: dict[Any, Any] | None = None
            try:
                outcomes = fetch(*args)
            finally:
                with self.lock:  # ended and, if so, worked: counted together
                    self.running.subtract(targets)
                    self.finished[name] += 1
                    if outcomes is not None and all(isinstance(o, Fetched) for o in outcomes.values()):
                        self.succeeded[name] += 1
            return outcomes

        return counted


@dataclass
class Results:
    """What the loading threads saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    loads: int = 0
    exceptions: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    slowest: float = 0.0


def _drive(
    aws_proxy: Any, sm: Any, clock: FakeClock, flights: Flights
) -> tuple[Results, int, list[str], list[str]]:
    """Warm up, run the loading threads and the driver for DURATION; return what happened.

    Returns:
        The threads' results, the number of expiries, the faults switched on, the threads still alive.
    """
    first = Loaded()  # the warm-up: from here on a stale value exists for every reference
    assert first.api_key.get_secret_value() == api_key(0)
    versions = [api_key(0)]  # every value the rotated secret has had
    results = Results()
    stop = threading.Event()

    def load_loop() -> None:
        local_loads, slowest = 0, 0.0
        try:
            while not stop.is_set():
                time.sleep(0)  # let the driver in: a service does other work between two loads
                started = time.perf_counter()
                try:
                    settings = Loaded()
                except Exception as exc:  # noqa: BLE001 - counted and shown: none may escape
                    with results.lock:
                        results.exceptions.append(f"{type(exc).__name__}: {str(exc)[:300]}")
                        if MARK in str(exc) + repr(exc):
                            results.leaks.append(type(exc).__name__)
                    continue
                slowest = max(slowest, time.perf_counter() - started)
                local_loads += 1
                seen = (
                    settings.password.get_secret_value(),
                    settings.signing_key.get_secret_value(),
                    settings.url,
                )
                if (
                    seen != (PASSWORD, SIGNING_KEY, URL)
                    or settings.api_key.get_secret_value() not in versions
                ):
                    with results.lock:
                        results.wrong.append(repr(settings))
                if local_loads % 200 == 1 and MARK in repr(settings) + str(settings):
                    with results.lock:
                        results.leaks.append("repr")
        finally:
            with results.lock:
                results.loads += local_loads
                results.slowest = max(results.slowest, slowest)

    threads = [threading.Thread(target=load_loop, name=f"load-{i}", daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    tick = expiries = phase = 0
    faults: list[str] = []
    injected_at, failed_before = 0.0, 0

    def failed() -> int:
        # Ended without every value: a fetch still in flight has not failed (yet).
        with flights.lock:
            return sum(flights.finished.values()) - sum(flights.succeeded.values())

    while time.perf_counter() - started < DURATION:
        time.sleep(TICK)
        tick += 1
        clock.now += 301  # past the default TTL of 300 s: every entry expires
        expiries += 1
        if tick % PHASE:
            continue
        # A fault lasts until a refresh has failed on it (at most FAULT_WAIT): the loads no longer wait for a
        # refresh, so under load a refresh can take longer than a phase, and a fault no request met
        # would leave the stale path untried.
        met = failed() > failed_before
        if phase % 2 and not met and time.perf_counter() - injected_at < FAULT_WAIT:
            continue
        aws_proxy.clear_faults()  # also ends a hang in progress
        phase += 1
        if phase % 2:
            name, inject = FAULTS[(phase // 2) % len(FAULTS)]
            injected_at, failed_before = time.perf_counter(), failed()
            inject(aws_proxy)
            faults.append(name)
        else:  # a rotation, which the next successful fetch must bring
            versions.append(api_key(len(versions)))
            sm.put_secret_value(SecretId="load/api", SecretString=versions[-1])
    stop.set()
    aws_proxy.clear_faults()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    return results, expiries, faults, [thread.name for thread in threads if thread.is_alive()]


def test_load_with_expiries_and_faults(
    sm: Any,
    ssm: Any,
    aws_proxy: Any,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Callable[[str, object], None],
) -> None:
    """64 threads, 3 s, an expiry every 0.1 s, a fault every other 0.2 s: no exception, bounded requests."""
    sm.create_secret(Name="load/db", SecretString=f'{{"password": "{PASSWORD}"}}')
    sm.create_secret(Name="load/api", SecretString=api_key(0))
    ssm.put_parameter(Name="/load/signing", Value=SIGNING_KEY, Type="SecureString")
    ssm.put_parameter(Name="/load/url", Value=URL, Type="String")
    monkeypatch.setenv("APP_PASSWORD", "secretsmanager:load/db#password")
    monkeypatch.setenv("APP_API_KEY", "secretsmanager:load/api")
    monkeypatch.setenv("APP_SIGNING_KEY", "ssm:/load/signing")
    monkeypatch.setenv("APP_URL", "ssm:/load/url")
    # No retries (the fault matrix tests them): a fault fails the refresh at once, and a hung request after
    # 0.25 s, so that the stale path is taken in every fault phase.
    monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "0.25")
    clock = FakeClock()
    monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.0))
    flights = Flights()
    monkeypatch.setattr(sm_fetch, "fetch_batch", flights.wrap("BatchGetSecretValue", sm_fetch.fetch_batch))
    monkeypatch.setattr(ssm_fetch, "fetch_names", flights.wrap("GetParameters", ssm_fetch.fetch_names))

    # Scanned from the warm-up on (the seeding above is the test's own client, not the library's).
    with collecting() as scan:
        results, expiries, faults, stuck = _drive(aws_proxy, sm, clock, flights)
        # A background refresh may still be in flight (its thread is the cache's, not the test's): let it
        # end before the requests are counted against the flights.
        deadline = time.perf_counter() + JOIN_TIMEOUT
        while any(count > 0 for count in flights.running.values()) and time.perf_counter() < deadline:
            time.sleep(0.01)

    requests = sum(aws_proxy.counts.values())
    scan_leaks = scan.containing(MARK)
    leaks = len(results.leaks) + len(scan_leaks)
    stale = sum(
        record.name == "pydantic_aws_settings" and str(record.msg).startswith("serving a stale")
        for record in scan.records
    )
    numbers = {
        "threads": THREADS,
        "seconds": DURATION,
        "expiries": expiries,
        "faults": len(faults),
        "loads": results.loads,
        "requests": requests,
        "requests_by_operation": dict(aws_proxy.counts),
        "flights": dict(flights.started),
        "successful_flights": dict(flights.succeeded),
        "most_flights_at_once": dict(flights.most),
        "stale_values_served": stale,
        "exceptions": len(results.exceptions),
        "log_records": len(scan.records),
        "leaks": leaks,
        "slowest_load_s": round(results.slowest, 3),
    }
    print(f"\nload test: {numbers}")
    for name, value in numbers.items():
        record_property(name, value)

    assert stuck == []
    assert results.exceptions == []
    assert results.wrong == []
    assert leaks == 0, (results.leaks, scan_leaks)
    assert any(record.name.startswith("botocore") for record in scan.records), (
        "botocore's DEBUG records were scanned"
    )
    assert faults, "the driver switched faults on"
    assert results.loads > THREADS  # every thread loaded, most of them many times
    # Single flight: one fetch of each target at a time, whatever 64 threads ask for (a load's targets
    # go in one batch; a retry after a backoff is per target, so two batches may overlap, never a target).
    assert flights.most == {"BatchGetSecretValue": 1, "GetParameters": 1}
    # At most one successful fetch of each batch per expiry (and one for the warm-up).
    for operation in ("BatchGetSecretValue", "GetParameters"):
        assert 0 < flights.succeeded[operation] <= expiries + 1
    # One request per flight (PYDANTIC_AWS_MAX_ATTEMPTS=1): requests are bounded by the flights, except
    # that a throttled batch call is replaced by one GetSecretValue per id (2 ids in the batch).
    replaced = aws_proxy.counts.get("GetSecretValue", 0)
    assert requests - replaced == sum(flights.started.values())
    assert replaced <= 2 * flights.started["BatchGetSecretValue"]
    assert stale > 0, "the stale path was taken"
