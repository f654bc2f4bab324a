"""A loopback proxy enforcing the account's quotas: a token bucket per quota, `ThrottlingException` beyond.

Built on the tests' threaded server (`support.http.ThreadedHTTPService`, put on `sys.path` as
`benchmarks/remote_proxy.py` does) and forwarding the way `support.proxy.AWSProxy` does; the buckets are the
model's own (`fleet_model.TokenBucket`), so the real run and the model throttle by one rule. Every request
is logged as `(seconds since start, operation, answered)`, and by process (the `app/` part of botocore's
User-Agent, which each child sets through `AWS_SDK_UA_APP_ID`) as `(seconds, operation)` in `by_app`.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fleet_model import QUOTA_OF, TokenBucket
from support.http import ThreadedHTTPService

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""

    def do_POST(self) -> None:
        service: QuotaProxy = self.server.service  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2] or self.path
        agent = self.headers.get("User-Agent", "")
        app = agent.partition(" app/")[2].partition(" ")[0]
        if service.admit(operation, app):
            upstream = http.client.HTTPConnection(service.host, service.port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request("POST", self.path, body=body, headers=headers)
            response = upstream.getresponse()
            status, payload = response.status, response.read()
            reply = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            upstream.close()
        else:
            status, reply = 400, [("Content-Type", "application/x-amz-json-1.1")]
            payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        self.send_response(status)
        for name, value in reply:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class QuotaProxy(ThreadedHTTPService):
    """Forwards to `upstream` while each operation's quota has a token; answers ThrottlingException beyond."""

    handler_class = _Handler

    def __init__(self, upstream: str, quotas: dict[str, float]) -> None:
        super().__init__()
        parsed = urllib.parse.urlsplit(upstream)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.buckets = {name: TokenBucket(rate) for name, rate in quotas.items()}
        self.log: list[tuple[float, str, bool]] = []
        self.by_app: dict[str, list[tuple[float, str]]] = {}
        self.origin = time.monotonic()
        self._lock = threading.Lock()

    def restart_clock(self) -> None:
        """Forget the log and refill the buckets; times are counted from now."""
        with self._lock:
            self.log.clear()
            self.by_app.clear()
            self.origin = time.monotonic()
            for bucket in self.buckets.values():
                bucket.tokens, bucket.at = bucket.burst, 0.0

    def admit(self, operation: str, app: str = "") -> bool:
        """Whether the operation's quota has a token now; logs the request either way."""
        with self._lock:
            now = time.monotonic() - self.origin
            bucket = self.buckets.get(QUOTA_OF.get(operation, operation))
            ok = bucket is None or bucket.take(now)
            self.log.append((now, operation, ok))
            self.by_app.setdefault(app, []).append((now, operation))
            return ok
