"""A moto server on 127.0.0.1, run as a subprocess: the real AWS endpoint of the demo, tests and benchmarks.

:class:`LoopbackService` is what every loopback server of the project shares (this one, and the tests'
proxy and fake credential providers, which are threads of the test process: ``tests/support/http.py``):
a URL, start and stop, and use as a context manager. Standard library only, and no pytest: the demo and
the benchmarks import this module too.
"""

from __future__ import annotations

import abc
import http.client
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["LoopbackService", "MotoServer", "MotoServerError", "free_port"]

_HOST = "127.0.0.1"
_Service = TypeVar("_Service", bound="LoopbackService")
_Moto = TypeVar("_Moto", bound="MotoServer")


class LoopbackService(abc.ABC):
    """A server on 127.0.0.1 with a URL, started and stopped by its user, and a context manager.

    ``with Service() as service:`` starts it and stops it at the end of the block; ``start`` returns the
    service itself, so ``service = Service().start()`` works too.
    """

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The service's ``http://127.0.0.1:PORT`` URL; only valid once started."""

    @property
    @abc.abstractmethod
    def running(self) -> bool:
        """Whether the service is serving."""

    @abc.abstractmethod
    def start(self: _Service) -> _Service:
        """Start serving on a free port (nothing happens if already running) and return this service."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""

    def __enter__(self: _Service) -> _Service:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url if self.running else 'stopped'})"


class MotoServerError(RuntimeError):
    """The moto server could not be started or did not answer."""


def free_port(host: str = _HOST) -> int:
    """Return a TCP port that is free on ``host`` right now (the OS picks it by a bind to port 0).

    Args:
        host: The address to bind.

    Returns:
        A port number; another process may take it before it is used, so callers retry on failure.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _http(url: str, *, method: str, timeout: float) -> bytes:
    """Send one request with an empty body to a loopback ``http://`` URL and return the response body."""
    if not url.startswith("http://"):
        raise ValueError(f"only http:// URLs are expected here, got {url!r}")
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - scheme checked above
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
        body: bytes = response.read()
        return body


# Runs the moto_server script (argv[1]) with a thread that ends the process when its standard input reaches
# end of file: the parent holds the other end of that pipe, so a parent killed with SIGKILL (which runs no
# cleanup) still takes its server with it instead of leaving it listening.
_DIE_WITH_PARENT = """
import os, runpy, sys, threading
def _watch():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=_watch, daemon=True).start()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _python_beside(script: Path) -> str:
    """The interpreter of a console script's environment (the one beside it), else this one."""
    for name in ("python", "python3"):
        candidate = script.parent / name
        if candidate.exists():
            return str(candidate)
    return sys.executable


class MotoServer(LoopbackService):
    """``moto_server -H 127.0.0.1 -p PORT`` in a subprocess, started on a free port and polled until ready.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. The server's stderr (one line
    per request) goes to a temporary file, never to a pipe that nobody reads, and is quoted in the
    error raised when the server dies while starting.

    Args:
        startup_timeout: Seconds to wait for ``GET /moto-api/data.json`` to answer.
        executable: The ``moto_server`` script; by default the one next to ``sys.executable``.
    """

    def __init__(self, startup_timeout: float = 30.0, executable: Path | None = None) -> None:
        self.startup_timeout = startup_timeout
        self.executable = executable or Path(sys.executable).parent / "moto_server"
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The endpoint URL, ``http://127.0.0.1:PORT``; only valid once started."""
        if self.port is None:
            raise MotoServerError("the moto server is not started")
        return f"http://{_HOST}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the subprocess is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self: _Moto) -> _Moto:
        """Start the server on a free port and wait until it answers; retry on a new port if one was taken.

        Returns:
            This server, started.

        Raises:
            MotoServerError: The server died (its stderr is quoted) or did not answer in time.
        """
        if self.running:
            return self
        if not self.executable.exists():
            raise MotoServerError(f"{self.executable} not found: install 'moto[server]' here")
        attempts = 3
        for attempt in range(1, attempts + 1):
            try:
                self._launch(free_port())
            except MotoServerError:  # most likely the port was taken between bind and launch
                self.stop()
                if attempt == attempts:
                    raise
            else:
                break
        return self

    def _launch(self, port: int) -> None:
        """Start one subprocess on ``port`` and poll it until ready."""
        self.port = port
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        command = [_python_beside(self.executable), "-c", _DIE_WITH_PARENT, str(self.executable)]
        self._process = subprocess.Popen(  # noqa: S603 - our own moto_server script, fixed arguments
            [*command, "-H", _HOST, "-p", str(port)],
            stdin=subprocess.PIPE,  # never written: its end of file tells the server that we are gone
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._process.poll() is not None:
                raise MotoServerError(
                    f"moto_server exited with code {self._process.returncode} while starting on port "
                    f"{port}; stderr:\n{self._read_stderr()}"
                )
            try:
                _http(f"{self.url}/moto-api/data.json", method="GET", timeout=1.0)
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise MotoServerError(
                        f"moto_server did not answer on {self.url} within {self.startup_timeout} s; "
                        f"stderr:\n{self._read_stderr()}"
                    ) from None
                time.sleep(0.05)
            else:
                return

    def _read_stderr(self) -> str:
        """Return the last 4000 characters the server wrote to stderr."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")[-4000:]

    def reset(self) -> None:
        """Wipe all of moto's state (``POST /moto-api/reset``), which takes about a millisecond."""
        _http(f"{self.url}/moto-api/reset", method="POST", timeout=10.0)

    def stop(self) -> None:
        """Terminate the server, wait for it, kill it if it does not exit; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5.0)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5.0)
            else:
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
