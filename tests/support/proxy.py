"""A counting, delaying, fault-injecting HTTP reverse proxy for a loopback AWS endpoint (moto).

Every request is classified by AWS operation (``X-Amz-Target`` for JSON services such as Secrets Manager
and SSM, the ``Action`` form field for query services such as STS, else the path), counted, delayed,
then either answered with an injected fault or forwarded upstream. Standard library only, and no pytest:
the benchmarks import this module too (``benchmarks/remote_proxy.py`` runs it in a process of its own).
"""

from __future__ import annotations

import collections
import http.client
import json
import sys
import threading
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

from support.http import ServiceHTTPServer, ThreadedHTTPService

__all__ = ["AWSProxy"]

_Proxy = TypeVar("_Proxy", bound="AWSProxy")
# Hop-by-hop headers (RFC 9110 7.6.1) are never forwarded in either direction.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
_FORM = "application/x-www-form-urlencoded"


@dataclass
class _Fault:
    """One injected fault: an AWS error answer, or a hang that ends with the connection closed."""

    code: str = ""
    status: int = 400
    message: str = ""
    remaining: int | None = None
    hang: float | None = None


class _Handler(BaseHTTPRequestHandler):
    """Handles one client connection for :class:`AWSProxy` (HTTP/1.1, kept alive, Nagle off)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _ProxyServer
    connection_number = 0

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the proxy is quiet."""

    def setup(self) -> None:
        """Number this client connection as the proxy accepts it."""
        super().setup()
        self.connection_number = self.server.service._accepted()

    def _handle(self) -> None:
        """Count, delay, then fault or forward one request."""
        self.server.service._serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class _ProxyServer(ServiceHTTPServer):
    """A threading HTTP server that knows its :class:`AWSProxy`."""

    service: AWSProxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client went away (a read timeout, a closed pool); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class AWSProxy(ThreadedHTTPService):
    """A threaded reverse proxy on ``127.0.0.1`` that counts, delays and fails AWS calls on demand.

    Attributes are read by tests and benchmarks: ``counts`` (operation -> requests), ``requests``
    (``(operation, body)`` in arrival order, the body parsed from JSON or the form, else ``{}``),
    ``in_flight`` and ``max_in_flight`` (requests being handled at once, including the delay and the
    upstream call), ``waves`` (busy periods: how many times a request arrived while none was in flight,
    so that requests sent one after the other are as many waves, and overlapping ones a single wave),
    ``latency`` (seconds slept before every request, unless an operation has its own
    from :meth:`set_latency`), ``connections`` (client connections accepted) and
    ``request_connections`` (the number of the client connection each of ``requests`` came on; numbers
    are never reused, even across :meth:`reset`). Injected faults are counted like any request.

    Client connections are kept alive across responses (HTTP/1.1 persistent connections, as AWS's
    endpoints keep them): moto's ``Connection: close`` is hop-by-hop and never reaches the client, and
    the upstream connection of each handler thread is reused whenever the upstream allows it.

    Args:
        upstream: The URL of the real endpoint, for example a :class:`MotoServer`'s ``url``.
        upstream_timeout: Seconds to wait for the upstream to answer.
        keep_alive: False closes every client connection after its response, as moto itself does.
    """

    handler_class = _Handler
    server_class = _ProxyServer

    def __init__(self, upstream: str, upstream_timeout: float = 30.0, *, keep_alive: bool = True) -> None:
        super().__init__()
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream = upstream
        self.upstream_timeout = upstream_timeout
        self.keep_alive = keep_alive
        self._upstream_host = parsed.hostname
        self._upstream_port = parsed.port or 80
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stopping = threading.Event()
        self._release = threading.Event()  # set, then replaced, to end the hangs in progress
        self.counts: collections.Counter[str] = collections.Counter()
        self.requests: list[tuple[str, Any]] = []
        self.request_connections: list[int] = []
        self.connections = 0
        self._numbered = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.waves = 0
        self.latency = 0.0
        self._op_latency: dict[str, float] = {}
        self._faults: dict[str, _Fault] = {}

    # ---- lifecycle -------------------------------------------------------------------------------

    def start(self: _Proxy) -> _Proxy:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread.

        Returns:
            This proxy, started.
        """
        self._stopping.clear()  # a proxy stopped before delays nothing after a new start
        return super().start()

    def _before_stop(self) -> None:
        """Wake the handlers sleeping in a delay or a hang, so the shutdown does not wait for them."""
        self._stopping.set()
        self._release.set()

    def __repr__(self) -> str:
        return f"{super().__repr__()} -> {self.upstream}"

    # ---- knobs -----------------------------------------------------------------------------------

    def set_latency(self, operation: str, seconds: float) -> None:
        """Delay every request for ``operation`` by ``seconds``, overriding the global ``latency``.

        Args:
            operation: An operation name such as ``GetParameters``.
            seconds: The delay before the request is answered or forwarded.
        """
        with self._lock:
            self._op_latency[operation] = seconds

    def inject(
        self,
        operation: str,
        code: str = "ThrottlingException",
        status: int = 400,
        message: str = "Rate exceeded",
        times: int | None = None,
    ) -> None:
        """Answer ``operation`` with an AWS error instead of forwarding it.

        JSON services get ``{"__type": code, "message": message}``; query services (STS) get the XML
        ``ErrorResponse``. A later call for the same operation replaces this one.

        Args:
            operation: An operation name such as ``GetSecretValue``.
            code: The AWS error code botocore will report.
            status: The HTTP status.
            message: The error message.
            times: How many requests fail before the operation works again; None for all of them.
        """
        with self._lock:
            self._faults[operation] = _Fault(code=code, status=status, message=message, remaining=times)

    def inject_hang(self, operation: str, seconds: float, times: int | None = None) -> None:
        """Make ``operation`` sleep ``seconds`` and then close the connection without any answer.

        Args:
            operation: An operation name such as ``GetParameter``.
            seconds: How long to hold the request; longer than the client's read timeout to provoke one.
            times: How many requests hang before the operation works again; None for all of them.
        """
        with self._lock:
            self._faults[operation] = _Fault(hang=seconds, remaining=times)

    def clear_faults(self) -> None:
        """Remove every injected fault and hang, and end the hangs in progress (their connections close)."""
        with self._lock:
            self._faults.clear()
            release, self._release = self._release, threading.Event()
        release.set()

    def reset(self) -> None:
        """Clear counts, recorded requests, ``connections``, ``max_in_flight``, ``waves``, every knob."""
        self.clear_faults()
        with self._lock:
            self.counts.clear()
            self.requests.clear()
            self.request_connections.clear()
            self.connections = 0
            self.max_in_flight = 0
            self.waves = 0
            self.latency = 0.0
            self._op_latency.clear()

    # ---- request handling ------------------------------------------------------------------------

    def _accepted(self) -> int:
        """Count a new client connection and return its number."""
        with self._lock:
            self.connections += 1
            self._numbered += 1
            return self._numbered

    def _serve(self, handler: _Handler) -> None:
        """Handle one request from ``handler``: classify, count, delay, then fault or forward."""
        with self._lock:
            if self.in_flight == 0:
                self.waves += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        counted = True

        def done() -> None:
            # Before the answer is written: a client that has its answer never sees its request in flight.
            nonlocal counted
            if counted:
                counted = False
                with self._lock:
                    self.in_flight -= 1

        try:
            body = _read_body(handler)
            operation, parsed, is_json = _classify(handler, body)
            with self._lock:
                self.counts[operation] += 1
                self.requests.append((operation, parsed))
                self.request_connections.append(handler.connection_number)
                delay = self._op_latency.get(operation, self.latency)
                fault = self._take_fault(operation)
                release = self._release
            if delay > 0:
                self._stopping.wait(delay)
            if fault is not None and fault.hang is not None:
                release.wait(fault.hang)
                handler.close_connection = True
                return
            if fault is not None:
                status, headers, payload = _error_response(fault, is_json=is_json)
            else:
                status, headers, payload = self._forward(handler, body)
            if not self.keep_alive:
                handler.close_connection = True
            done()
            _write_response(handler, status, headers, payload)
        finally:
            done()

    def _take_fault(self, operation: str) -> _Fault | None:
        """Return the fault for ``operation`` and use up one of its times; call with the lock held."""
        fault = self._faults.get(operation)
        if fault is None:
            return None
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[operation]
        return fault

    def _forward(self, handler: _Handler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request upstream on this thread's kept-alive connection; reconnect once on failure."""
        headers = {
            name: value
            for name, value in handler.headers.items()
            if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"
        }
        # The client's Host header is kept: SigV4 signed it, and moto checks signatures when its IAM is on.
        headers["Content-Length"] = str(len(body))
        while True:
            connection = self._upstream_connection()
            reused = connection.sock is not None
            try:
                connection.request(handler.command, handler.path, body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.HTTPException, OSError) as exc:
                connection.close()
                self._local.connection = None
                if reused:  # the upstream closed a kept-alive connection: try once more on a new one
                    continue
                message = f"upstream {self.upstream} failed: {type(exc).__name__}"
                return 502, [("Content-Type", "text/plain")], message.encode()
            if response.will_close:  # moto answers every request with Connection: close
                connection.close()
                self._local.connection = None
            return response.status, response.getheaders(), payload

    def _upstream_connection(self) -> http.client.HTTPConnection:
        """Return this handler thread's upstream connection, creating it if needed."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(
                self._upstream_host, self._upstream_port, timeout=self.upstream_timeout
            )
            self._local.connection = connection
        return connection


def _read_body(handler: _Handler) -> bytes:
    """Read the request body, by Content-Length or chunked transfer coding."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def _classify(handler: _Handler, body: bytes) -> tuple[str, Any, bool]:
    """Return the operation, the parsed body and whether the service speaks JSON (else query/XML)."""
    target = handler.headers.get("X-Amz-Target")
    if target:
        try:
            parsed: Any = json.loads(body) if body else {}
        except ValueError:
            parsed = {}
        return target.rpartition(".")[2], parsed, True
    content_type = handler.headers.get("Content-Type", "")
    query = urllib.parse.urlsplit(handler.path).query
    form: dict[str, str] = {}
    if content_type.startswith(_FORM):
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif query:
        form = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if "Action" in form:
        return form["Action"], form, False
    return urllib.parse.urlsplit(handler.path).path, form, True


def _error_response(fault: _Fault, *, is_json: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    """Build the AWS error answer for ``fault`` in the JSON or the query (XML) protocol."""
    if is_json:
        payload = json.dumps({"__type": fault.code, "message": fault.message}).encode()
        return fault.status, [("Content-Type", "application/x-amz-json-1.1")], payload
    error_type = "Receiver" if fault.status >= 500 else "Sender"
    xml = (
        "<ErrorResponse><Error>"
        f"<Type>{error_type}</Type><Code>{_xml_escape(fault.code)}</Code>"
        f"<Message>{_xml_escape(fault.message)}</Message>"
        "</Error><RequestId>x</RequestId></ErrorResponse>"
    )
    return fault.status, [("Content-Type", "text/xml")], xml.encode()


def _xml_escape(text: str) -> str:
    """Escape the characters that are special in XML text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _write_response(handler: _Handler, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
    """Write status line, headers and body in one write, with a correct Content-Length."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines.extend(
        f"{name}: {value}"
        for name, value in headers
        if name.lower() not in _HOP_BY_HOP and name.lower() != "content-length"
    )
    lines.append(f"Content-Length: {len(payload)}")
    if handler.close_connection:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    handler.wfile.write(head if handler.command == "HEAD" else head + payload)
