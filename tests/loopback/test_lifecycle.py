"""Fork, freeze and snapshot restore, on the keep-alive loopback endpoint, with real child processes.

Each child is a real `os.fork()` of the test process that sends its result over a pipe and leaves with
`os._exit`; the parent reaps it within a bound and kills it if it did not finish (a hang), so no child
outlives its test. The proxy numbers its client connections: a connection that carries requests of two
workers is a socket two processes share, whose answers can reach the wrong one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, _state
from pydantic_aws_settings._clock import FreezeProofClock
from pydantic_aws_settings.cache import ValueCache
from support.clocks import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest
    from types_boto3_secretsmanager import SecretsManagerClient

    from support.proxy import AWSProxy

ROLE = "arn:aws:iam::123456789012:role/lifecycle"
WORKERS = 4
#: Seconds a child may take before it counts as hung and is killed.
BOUND = 60.0
_FETCHES = ("GetSecretValue", "BatchGetSecretValue")


def app_class(**annotations: Any) -> type[AWSBaseSettings]:
    """A settings class with prefix APP_."""
    return type(
        "App",
        (AWSBaseSettings,),
        {"__annotations__": annotations, "model_config": SettingsConfigDict(env_prefix="APP_")},
    )


@dataclass
class Child:
    """A forked child: its pid and the read end of the pipe its result comes over."""

    pid: int
    results: int


def spawn(work: Callable[[], Any]) -> Child:
    """Fork a child that runs `work` and sends its JSON result (or the error's type) over a pipe."""
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns that forking a threaded process may deadlock
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: it never returns into pytest
        try:
            os.close(read)
            payload = json.dumps({"result": work()})
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which asserts on it
            payload = json.dumps({"error": type(exc).__name__})
        try:
            os.write(write, payload.encode())
        finally:
            os._exit(0)
    os.close(write)
    return Child(pid, read)


def reap(child: Child, timeout: float = BOUND) -> dict[str, Any] | None:
    """The child's message, or None when it did not finish within `timeout` (it is then killed)."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    finished = False
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([child.results], [], [], left)
        if not ready:
            break
        chunk = os.read(child.results, 65536)
        if not chunk:
            finished = True
            break
        chunks.append(chunk)
    if not finished:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGKILL)
    os.waitpid(child.pid, 0)
    os.close(child.results)
    message: dict[str, Any] | None = json.loads(b"".join(chunks)) if finished and chunks else None
    return message


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until `condition` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def shared_requests(proxy: AWSProxy) -> int:
    """Requests that came on a client connection carrying requests of more than one worker."""
    tags: dict[int, set[str]] = defaultdict(set)
    marked: list[tuple[int, set[str]]] = []
    for (_, body), connection in zip(proxy.requests, proxy.request_connections, strict=True):
        text = json.dumps(body)
        mine = set(re.findall(r"life/w(\d)", text)) | set(re.findall(r'"W(\d)"', text))
        tags[connection] |= mine
        marked.append((connection, mine))
    return sum(1 for connection, _ in marked if len(tags[connection]) > 1)


def load_quietly(cls: type[AWSBaseSettings]) -> None:
    """Load in a parent thread; its outcome is not what the test checks."""
    with contextlib.suppress(Exception):
        cls()


class TestFork:
    """A forked child never uses its parent's connections, locks or fetches in flight."""

    def test_preloaded_workers_each_get_their_own_answers(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As gunicorn --preload: a parent loads, then 4 workers load at once, refreshing at a short TTL."""
        sm.create_secret(Name="life/common", SecretString="common")
        sm.create_secret(Name="life/staged", SecretString="current")
        for i in range(WORKERS):
            sm.create_secret(Name=f"life/w{i}", SecretString=f"own-{i}")
            sm.put_secret_value(SecretId="life/staged", SecretString=f"staged-{i}", VersionStages=[f"W{i}"])
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0.3")
        monkeypatch.setenv("APP_COMMON", "secretsmanager:life/common")

        def aim(i: int) -> None:
            os.environ["APP_OWN"] = f"secretsmanager:life/w{i}"
            os.environ["APP_STAGED"] = f"secretsmanager:life/staged?stage=W{i}"

        app = app_class(common=str, own=str, staged=str)
        monkeypatch.setenv("APP_OWN", "")
        monkeypatch.setenv("APP_STAGED", "")
        aim(0)
        assert app().own == "own-0"  # type: ignore[attr-defined]
        go_read, go_write = os.pipe()

        def worker(i: int) -> Callable[[], dict[str, int]]:
            def run() -> dict[str, int]:
                aim(i)
                os.read(go_read, 1)
                counts = {"loads": 0, "wrong": 0, "errors": 0}
                cache = _state.state().cache
                fetches: set[float] = set()  # when this worker's entries were fetched: one per fetch
                until, deadline = time.monotonic() + 1.5, time.monotonic() + BOUND / 2
                # 1.5 s of loads, and on a slow machine more, until the worker has fetched 3 times
                while time.monotonic() < until or (len(fetches) < 3 and time.monotonic() < deadline):
                    with cache._lock:
                        fetches.update(entry.fetched_at for entry in cache._entries.values())
                    try:
                        got = app()
                    except Exception:  # noqa: BLE001 - counted: an answer of another process can be any error
                        counts["errors"] += 1
                        continue
                    counts["loads"] += 1
                    mine = (got.common, got.own, got.staged) == ("common", f"own-{i}", f"staged-{i}")  # type: ignore[attr-defined]
                    counts["wrong"] += not mine
                    time.sleep(0.002)
                return counts

            return run

        try:
            children = [spawn(worker(i)) for i in range(WORKERS)]
            os.write(go_write, b"x" * WORKERS)  # all at the same moment
            messages = [reap(child) for child in children]
        finally:
            os.close(go_read)
            os.close(go_write)
        assert [m is None for m in messages] == [False] * WORKERS  # no hang
        results = [m["result"] for m in messages if m is not None]
        assert [r["wrong"] for r in results] == [0] * WORKERS
        assert [r["errors"] for r in results] == [0] * WORKERS
        assert all(r["loads"] > 0 for r in results)
        assert shared_requests(aws_proxy) == 0
        refreshes = sum(aws_proxy.counts[op] for op in _FETCHES)
        assert refreshes > 2 * WORKERS  # the workers refreshed, several times, not only loaded once

    def test_fork_while_a_fetch_is_in_flight(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The child does not wait for the parent's fetch: it fetches for itself and gets the value."""
        sm.create_secret(Name="life/slow", SecretString="slow-value")
        monkeypatch.setenv("APP_OWN", "secretsmanager:life/slow")
        app = app_class(own=str)
        for operation in _FETCHES:
            aws_proxy.inject_hang(operation, BOUND, times=1)
        parent = threading.Thread(target=load_quietly, args=(app,), daemon=True)
        parent.start()
        try:
            wait_for(lambda: aws_proxy.in_flight >= 1)
            message = reap(spawn(lambda: app().own))  # type: ignore[attr-defined]
        finally:
            aws_proxy.clear_faults()
            parent.join(BOUND)
        assert message == {"result": "slow-value"}

    def test_fork_while_a_background_refresh_is_in_flight(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The parent's refresh ahead hangs; the child serves the cached value at once and refreshes itself.

        The child neither waits for the parent's refresh (it is not running there) nor believes one is in
        flight: its own background refresh brings the rotated value.
        """
        clock = FakeClock()
        monkeypatch.setattr(_state.state(), "cache", ValueCache(timer=clock, rng=lambda: 0.0))
        sm.create_secret(Name="life/ahead", SecretString="old-value")
        monkeypatch.setenv("APP_OWN", "secretsmanager:life/ahead")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "300")
        monkeypatch.setenv("PYDANTIC_AWS_REFRESH_AHEAD", "30")
        app = app_class(own=str)
        assert app().own == "old-value"  # type: ignore[attr-defined]
        sm.put_secret_value(SecretId="life/ahead", SecretString="new-value")
        clock.advance(280.0)  # inside the refresh-ahead window
        for operation in _FETCHES:
            aws_proxy.inject_hang(operation, BOUND, times=1)
        assert app().own == "old-value"  # type: ignore[attr-defined]  # at once; the refresh hangs
        wait_for(lambda: aws_proxy.in_flight >= 1)

        def child() -> list[str]:
            first = app().own  # type: ignore[attr-defined]
            deadline = time.monotonic() + 20
            while (value := app().own) != "new-value" and time.monotonic() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.01)
            return [first, value]

        try:
            message = reap(spawn(child))
        finally:
            aws_proxy.clear_faults()
        assert message == {"result": ["old-value", "new-value"]}

    def test_fork_while_an_assume_role_is_in_flight(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The child does not wait for the parent's AssumeRole: it assumes the role itself and loads."""
        sm.create_secret(Name="life/role", SecretString="role-value")
        monkeypatch.setenv("APP_OWN", "secretsmanager:life/role")
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        app = app_class(own=str)
        aws_proxy.inject_hang("AssumeRole", BOUND, times=1)
        parent = threading.Thread(target=load_quietly, args=(app,), daemon=True)
        parent.start()
        try:
            wait_for(lambda: aws_proxy.counts["AssumeRole"] >= 1)
            message = reap(spawn(lambda: app().own))  # type: ignore[attr-defined]
        finally:
            aws_proxy.clear_faults()
            parent.join(BOUND)
        assert message == {"result": "role-value"}
        assert aws_proxy.counts["AssumeRole"] >= 2  # the child's own


class TestFreezeAndRestore:
    """Cache ages hold in wall-clock time across a stopped process and a snapshot restore."""

    def test_a_process_stopped_past_the_ttl_fetches_on_its_first_load_after(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SIGSTOP past a 1 s TTL, then SIGCONT: the next load fetches (2 requests in all)."""
        sm.create_secret(Name="life/frozen", SecretString="frozen-value")
        monkeypatch.setenv("APP_OWN", "secretsmanager:life/frozen")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "1")
        app = app_class(own=str)
        loaded_read, loaded_write = os.pipe()
        go_read, go_write = os.pipe()

        def run() -> list[str]:
            first = app().own  # type: ignore[attr-defined]
            os.write(loaded_write, b"1")
            os.read(go_read, 1)
            return [first, app().own]  # type: ignore[attr-defined]

        try:
            child = spawn(run)
            ready, _, _ = select.select([loaded_read], [], [], BOUND)
            assert ready
            os.kill(child.pid, signal.SIGSTOP)
            time.sleep(1.5)  # past the TTL, while the child is stopped
            fetched_before = sum(aws_proxy.counts[op] for op in _FETCHES)
            os.kill(child.pid, signal.SIGCONT)
            os.write(go_write, b"1")
            message = reap(child)
        finally:
            for fd in (loaded_read, loaded_write, go_read, go_write):
                os.close(fd)
        assert message == {"result": ["frozen-value", "frozen-value"]}
        assert (fetched_before, sum(aws_proxy.counts[op] for op in _FETCHES)) == (1, 2)

    def test_restore_hook_refetches_on_new_connections(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Called directly: the next load fetches, fresh though the entry was, on a new connection."""
        sm.create_secret(Name="life/snap", SecretString="snap-value")
        monkeypatch.setenv("APP_OWN", "secretsmanager:life/snap")
        app = app_class(own=str)
        assert app().own == "snap-value"  # type: ignore[attr-defined]
        app()
        assert (sum(aws_proxy.counts[op] for op in _FETCHES), aws_proxy.connections) == (1, 1)
        _state._after_restore()
        assert app().own == "snap-value"  # type: ignore[attr-defined]
        assert (sum(aws_proxy.counts[op] for op in _FETCHES), aws_proxy.connections) == (2, 2)

    def test_restore_after_the_wall_clock_moved_serves_stale_while_aws_fails(
        self, sm: SecretsManagerClient, aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A snapshot restored 10 minutes later, its monotonic clock unmoved: the value is kept stale.

        The hook and the wall clock both make the entry due; the endpoint fails, so it is served stale.
        """
        mono, wall = FakeClock(), FakeClock(1_700_000_000.0)
        cache: ValueCache[Any] = ValueCache(
            timer=FreezeProofClock(mono, wall), background=lambda work: work()
        )
        monkeypatch.setattr(_state.state(), "cache", cache)
        sm.create_secret(Name="life/snap", SecretString="snap-value")
        monkeypatch.setenv("APP_OWN", "secretsmanager:life/snap")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "300")
        monkeypatch.setenv("PYDANTIC_AWS_MAX_STALE", "3600")
        app = app_class(own=str)
        app()
        wall.advance(600.0)
        _state._after_restore()
        for operation in _FETCHES:
            aws_proxy.inject(operation, "InternalFailure", status=500)
        assert app().own == "snap-value"  # type: ignore[attr-defined]
        assert sum(aws_proxy.counts[op] for op in _FETCHES) > 1
