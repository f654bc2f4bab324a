"""The tests' fakes of AWS's node-local caches, run in a process of their own, for the benchmark.

A real node-local cache (the Secrets Manager Agent, the Lambda extension) is a process of its own; run
in the benchmark's process, the fakes' threads would take the GIL from the load being measured, and
from the floor it is compared with, in a way the real ones do not. So they run in a child, as the
counting proxy does (remote_proxy.py).

`python benchmarks/remote_agent.py BACKEND TOKEN` serves, backed by moto at BACKEND, the tests'
`FakeLambdaExtension` (secrets and single parameters) and `FakeSecretsManagerAgent` (secrets only; its
parameter route is a 404), both expecting TOKEN, and a small control endpoint, and prints the three URLs
on one line. `RemoteAgents` starts it and drives it: `prepare()` clears the fakes' counts before a load,
`stats()` reads the requests each fake received and the most it handled at once after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remote_proxy import RemoteChild

if TYPE_CHECKING:
    from support.agents import FakeNodeCache

HERE = Path(__file__).resolve().parent
#: The token both fakes expect (the benchmark's processes send it as PYDANTIC_AWS_AGENT_TOKEN).
TOKEN = "bench-agent-token"  # noqa: S105 - a dummy token for loopback fakes
#: The fakes, by the key the benchmark names them with.
FAKES = ("extension", "sm_agent")


@dataclass
class AgentStats:
    """What one fake saw since the last `prepare`.

    Attributes:
        counts: requests received, by route.
        max_in_flight: the most requests it handled at once.
        upstream: calls it sent to moto, by operation (its own cache missed).
        connections: connections it accepted.
    """

    counts: Counter[str] = field(default_factory=Counter)
    max_in_flight: int = 0
    upstream: Counter[str] = field(default_factory=Counter)
    connections: int = 0


class RemoteAgents(RemoteChild):
    """Both fakes in a child process, backed by `backend`; `urls` maps `FAKES` to their base URLs."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.urls: dict[str, str] = {}
        self._control = ""
        self._process: subprocess.Popen[str] | None = None
        self.seen: dict[str, AgentStats] = {name: AgentStats() for name in FAKES}

    @property
    def url(self) -> str:
        """The Lambda extension's URL (the fake that serves both secrets and parameters)."""
        if not self.running:
            raise RuntimeError("the remote agents are not started")
        return self.urls["extension"]

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> RemoteAgents:
        """Start the child and read the fakes' and the control endpoint's URLs from its first line."""
        if self._process is not None:
            return self
        self._process = subprocess.Popen(
            [sys.executable, str(HERE / "remote_agent.py"), self.backend, TOKEN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        *urls, self._control = self._process.stdout.readline().split()
        self.urls = dict(zip(FAKES, urls, strict=True))
        return self

    def prepare(self) -> None:
        """Clear both fakes' counts and peaks."""
        self._call("/prepare", {})
        self.seen = {name: AgentStats() for name in FAKES}

    def stats(self) -> dict[str, AgentStats]:
        """Read what each fake saw since `prepare` into `seen`, and return it."""
        answer = self._call("/stats")
        self.seen = {
            name: AgentStats(
                Counter(answer[name]["counts"]),
                int(answer[name]["max_in_flight"]),
                Counter(answer[name]["upstream"]),
                int(answer[name]["connections"]),
            )
            for name in FAKES
        }
        return self.seen


class _Control(BaseHTTPRequestHandler):
    """GET /stats and POST /prepare, for the fakes of its server."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    @property
    def fakes(self) -> dict[str, FakeNodeCache]:
        """The fakes this endpoint controls, by name."""
        fakes: dict[str, FakeNodeCache] = self.server.service.fakes  # type: ignore[attr-defined]
        return fakes

    def _answer(self, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        """/stats: per fake, the requests by route, the peak in flight and the upstream calls."""
        self._answer(
            {
                name: {
                    "counts": dict(fake.counts),
                    "max_in_flight": fake.max_in_flight,
                    "upstream": dict(fake.upstream),
                    "connections": fake.connections,
                }
                for name, fake in self.fakes.items()
            }
        )

    def do_POST(self) -> None:
        """/prepare: clear the counts and peaks."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        for fake in self.fakes.values():
            fake.counts.clear()
            fake.upstream.clear()
            fake.max_in_flight = 0
            fake.connections = 0
        self._answer({})


def _serve(backend: str, token: str) -> None:
    """The child: both fakes and a control server for them, until stdin closes."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from support.agents import FakeLambdaExtension, FakeSecretsManagerAgent
    from support.http import ThreadedHTTPService

    class Control(ThreadedHTTPService):
        """The control endpoint of the fakes."""

        handler_class = _Control

        def __init__(self, fakes: dict[str, FakeNodeCache]) -> None:
            super().__init__()
            self.fakes = fakes

    with (
        FakeLambdaExtension(backend, token) as extension,
        FakeSecretsManagerAgent(backend, token) as sm_agent,
        Control({"extension": extension, "sm_agent": sm_agent}) as control,
    ):
        print(extension.url, sm_agent.url, control.url, flush=True)
        sys.stdin.read()  # until the parent closes it


if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2])
