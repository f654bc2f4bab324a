"""The tests' counting, latency-injecting proxy (AWSProxy), run in a process of its own.

In the benchmark's own process the proxy's threads would take the GIL from the loader being measured:
every request's forwarding, reading and writing would count against the loader, and more so against a
loader whose requests are concurrent. AWS does its work elsewhere, so the proxy does too.

`python benchmarks/remote_proxy.py UPSTREAM` serves the proxy and a small control endpoint on loopback and
prints both URLs on one line. `RemoteProxy` starts it and drives it: `prepare(latency)` clears the counts
and sets the delay before a load, `stats()` reads the counts and the peak of requests in flight after it.

The child imports the tests' own code on purpose: `tests/support/` (put on `sys.path`) gives it the very
proxy the tests count requests with (`support.proxy.AWSProxy`) and the threaded server it and the
control endpoint are built on (`support.http`), so the benchmark's counts mean what the tests' do.
`RemoteProxy` is a `LoopbackService` like the moto server, the proxy and the fakes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_aws_settings._loopback import LoopbackService

if TYPE_CHECKING:
    from support.proxy import AWSProxy

HERE = Path(__file__).resolve().parent


class RemoteChild(LoopbackService):
    """A loopback service run in a child process, with a control endpoint: stopped by closing its stdin."""

    _control = ""
    _process: subprocess.Popen[str] | None = None

    def stop(self) -> None:
        """Close the child's stdin, which stops it; kill it if it has not exited after 10 s."""
        process, self._process = self._process, None
        if process is not None:
            assert process.stdin is not None
            process.stdin.close()  # the child stops when its stdin closes
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _call(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self._control}{path}", data=data)  # noqa: S310 - loopback
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            answer: dict[str, Any] = json.loads(response.read())
            return answer


class RemoteProxy(RemoteChild):
    """An AWSProxy in a child process, in front of `upstream`; `url` is the proxy's, for AWS_ENDPOINT_URL.

    Attributes:
        counts: requests per operation since the last `prepare`, as of the last `stats`.
        max_in_flight: the most requests in flight at once since the last `prepare`, as of `stats`.
        waves: busy periods since the last `prepare` (requests sent one after the other: one each;
            overlapping requests: one), as of `stats`.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self._url = ""
        self._control = ""
        self._process: subprocess.Popen[str] | None = None
        self.counts: Counter[str] = Counter()
        self.max_in_flight = 0
        self.waves = 0

    @property
    def url(self) -> str:
        """The proxy's URL, for AWS_ENDPOINT_URL; only valid once started."""
        if not self.running:
            raise RuntimeError("the remote proxy is not started")
        return self._url

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> RemoteProxy:
        """Start the child and read the proxy's and the control endpoint's URLs from its first line."""
        if self._process is not None:
            return self
        self._process = subprocess.Popen(
            [sys.executable, str(HERE / "remote_proxy.py"), self.upstream],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self._url, self._control = self._process.stdout.readline().split()
        return self

    def prepare(self, latency: float) -> None:
        """Clear counts and the peak; delay every request by `latency` seconds from now on."""
        self._call("/prepare", {"latency": latency})
        self.counts = Counter()
        self.max_in_flight = 0
        self.waves = 0

    def stats(self) -> None:
        """Read the counts, the peak and the waves since `prepare` into this object."""
        answer = self._call("/stats")
        self.counts = Counter(answer["counts"])
        self.max_in_flight = int(answer["max_in_flight"])
        self.waves = int(answer["waves"])


class _Control(BaseHTTPRequestHandler):
    """The control endpoint's handler: GET /stats and POST /prepare, for the proxy of its server."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    @property
    def proxy(self) -> AWSProxy:
        """The proxy this endpoint controls."""
        proxy: AWSProxy = self.server.service.proxy  # type: ignore[attr-defined]
        return proxy

    def _answer(self, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """/stats: counts, peak and waves."""
        proxy = self.proxy
        self._answer(
            {"counts": dict(proxy.counts), "max_in_flight": proxy.max_in_flight, "waves": proxy.waves}
        )

    def do_POST(self) -> None:
        """/prepare: reset, then set the latency."""
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.proxy.reset()
        self.proxy.latency = float(body.get("latency", 0.0))
        self._answer({})


def _serve(upstream: str) -> None:
    """The child: the proxy, and a control server for it, until stdin closes."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.http import ThreadedHTTPService
    from support.proxy import AWSProxy

    class Control(ThreadedHTTPService):
        """The control endpoint of one proxy."""

        handler_class = _Control

        def __init__(self, proxy: AWSProxy) -> None:
            super().__init__()
            self.proxy = proxy

    with AWSProxy(upstream) as proxy, Control(proxy) as control:
        print(proxy.url, control.url, flush=True)
        sys.stdin.read()  # until the parent closes it


if __name__ == "__main__":
    _serve(sys.argv[1])
