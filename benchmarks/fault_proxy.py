"""The outage benchmark's proxy, in a process of its own: the tests' AWSProxy behind a TCP front door.

`python benchmarks/fault_proxy.py UPSTREAM` prints two URLs on one line: the front door (for
AWS_ENDPOINT_URL) and a control endpoint. The front door forwards raw TCP to an `AWSProxy` (the very proxy
the tests count requests with, `tests/support/proxy.py`, imported, not edited); closing it makes every
connection refused, reopening it on the same port ends the outage. The control endpoint takes JSON:

- `POST /fault {"kind": "hung"|"refused"|"500"|"throttled"|"slow"|"none", "hang": seconds}`: AWS's state
  from now on (`slow`: every answer delayed by `hang` seconds);
- `POST /bucket {"rate": per_second, "burst": n, "operations": [...]}`: a token bucket per operation
  (SSM's and BatchGetSecretValue's quotas): a request that finds no token is answered ThrottlingException;
  `rate` 0 removes the buckets;
- `POST /reset`: counts to zero; `GET /stats`: counts per operation (throttled answers included).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The operations the benchmark's configuration uses.
OPERATIONS = ("GetParameters", "GetParameter", "BatchGetSecretValue", "GetSecretValue")


class _Front:
    """A TCP listener on a fixed loopback port that pipes each connection to `backend`; closable."""

    def __init__(self, backend: tuple[str, int]) -> None:
        self.backend = backend
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            listener.close()  # new connections are refused
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:  # and the clients' kept-alive ones are cut, as when a host goes away
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.backend)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.add(client)
            for one, other in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(one, other), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        source.close()


class _Bucket:
    """A token bucket: `rate` tokens a second, at most `burst` held."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def _serve(upstream: str) -> None:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.http import ThreadedHTTPService
    from support.proxy import AWSProxy, _Fault

    class BucketProxy(AWSProxy):
        """AWSProxy whose operations may be rate limited by token buckets."""

        buckets: dict[str, _Bucket] = {}  # noqa: RUF012 - one proxy per process
        throttled = 0

        def _take_fault(self, operation: str) -> _Fault | None:
            bucket = self.buckets.get(operation)
            if bucket is not None and not bucket.take():
                self.throttled += 1
                return _Fault(code="ThrottlingException", message="Rate exceeded")
            return super()._take_fault(operation)

    class Control(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _answer(self, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            self._answer({"counts": dict(proxy.counts), "throttled": proxy.throttled})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if self.path == "/reset":
                with proxy._lock:
                    proxy.counts.clear()
                    proxy.requests.clear()
                    proxy.throttled = 0
            elif self.path == "/bucket":
                rate = float(body.get("rate", 0))
                ops = body.get("operations", OPERATIONS)
                proxy.buckets = (
                    {op: _Bucket(rate, float(body.get("burst", rate))) for op in ops} if rate else {}
                )
            elif self.path == "/fault":
                set_fault(body.get("kind", "none"), float(body.get("hang", 30.0)))
            self._answer({})

    def set_fault(kind: str, hang: float) -> None:
        proxy.clear_faults()
        proxy.latency = hang if kind == "slow" else 0.0
        front.open()
        for op in OPERATIONS:
            if kind == "hung":
                proxy.inject_hang(op, hang)
            elif kind == "500":
                proxy.inject(op, "InternalFailure", status=500, message="internal error")
            elif kind == "throttled":
                proxy.inject(op, "ThrottlingException", message="Rate exceeded")
        if kind == "refused":
            front.close()

    class ControlService(ThreadedHTTPService):
        handler_class = Control

    with BucketProxy(upstream) as proxy, ControlService() as control:
        host, port = proxy.url.removeprefix("http://").split(":")
        front = _Front((host, int(port)))
        print(f"http://127.0.0.1:{front.port}", control.url, flush=True)
        sys.stdin.read()  # until the parent closes it


if __name__ == "__main__":
    _serve(sys.argv[1])
