"""A threaded HTTP server on 127.0.0.1 as a :class:`LoopbackService`: what the proxy and the fakes share.

A subclass names its request handler (``handler_class``) and, if it needs one, its server class; the
handlers reach the service as ``self.server.service``. Standard library only, and no pytest: the
benchmarks import this module too.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar, TypeVar

from support.loopback import LoopbackService

__all__ = ["ServiceHTTPServer", "ThreadedHTTPService"]

_HOST = "127.0.0.1"
_Threaded = TypeVar("_Threaded", bound="ThreadedHTTPService")


class ServiceHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server (daemon handler threads) that knows the service it serves."""

    daemon_threads = True
    service: ThreadedHTTPService


class ThreadedHTTPService(LoopbackService):
    """Binds a free port on 127.0.0.1 and serves ``handler_class`` in a daemon thread until stopped."""

    handler_class: ClassVar[type[BaseHTTPRequestHandler]]
    server_class: ClassVar[type[ServiceHTTPServer]] = ServiceHTTPServer

    def __init__(self) -> None:
        self._server: ServiceHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; only valid once started."""
        if self._server is None:
            raise RuntimeError(f"the {type(self).__name__} is not started")
        return f"http://{_HOST}:{self._server.server_address[1]}"

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._server is not None

    def start(self: _Threaded) -> _Threaded:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread; nothing happens if already running.

        Returns:
            This service, started.
        """
        if self._server is not None:
            return self
        server = self.server_class((_HOST, 0), self.handler_class)
        server.service = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (after :meth:`_before_stop`) and close the listening socket; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._before_stop()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def _before_stop(self) -> None:
        """Wake whatever would hold a handler thread past the shutdown; by default nothing does."""
