"""Loopback fakes of AWS's node-local caches, each backed by moto as the real ones are backed by AWS.

`FakeSecretsManagerAgent` answers as the AWS Secrets Manager Agent / Workload Credentials Provider does
(aws/aws-secretsmanager-agent, server.rs and parse.rs): `/ping`; `/secretsmanager/get` and the `/v1/`
path route; plain-text `403 Bad Token`, `404 Not found`, `405 Not allowed`, `429 Connection limit
exceeded`, `400 Forwarded`, `400 unknown parameter: NAME`; AWS errors relayed with their status as
`{"__type", "message"}`; `CreatedDate` as a JSON string of epoch seconds with milliseconds; binary secrets
base64; a TTL cache refreshed with DescribeSecret first. It has no parameter route: `/systemsmanager/...`
is a 404 like any other path.

`FakeLambdaExtension` answers as the AWS Parameters and Secrets Lambda Extension is documented and was
captured answering: `/systemsmanager/parameters/get` (GetParameter; `version` or `label`, the first one
given wins) and `/secretsmanager/get`; the SDK's response as JSON with ISO-8601 dates, nulls kept and
`ResultMetadata: {}`; every error a `400` with one generic text; TTLs clamped to 300 s.

Both forward to a moto endpoint with boto3 from the test process. Standard library and boto3 only.
"""

from __future__ import annotations

import base64
import collections
import datetime
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from support.http import ServiceHTTPServer, ThreadedHTTPService

__all__ = ["GENERIC_400", "FakeLambdaExtension", "FakeNodeCache", "FakeSecretsManagerAgent"]

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
#: The Lambda extension's text for every 400 (captured answers, 2022).
GENERIC_400 = "an unexpected error occurred while executing request"
_REGION = "us-east-1"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: The headers and the body are two writes: without TCP_NODELAY the body of a second answer on a
    #: kept-alive connection waits for the client's delayed ACK (40 ms), which the real caches do not do.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing."""

    def setup(self) -> None:
        """Count the connection: one handler per connection, for all the requests sent on it."""
        super().setup()
        self.server.service._connected(1)

    def finish(self) -> None:
        """Count the connection as closed."""
        try:
            super().finish()
        finally:
            self.server.service._connected(-1)

    def _handle(self) -> None:
        self.server.service._serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ServiceHTTPServer):
    service: FakeNodeCache
    #: The listen backlog: the real caches accept hundreds of connections at once (the agent's default
    #: `max_conn` is 800), where socketserver's default of 5 drops a burst's SYNs and costs it 1 s each.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet: a client that went away is not a failure of the fake."""


class FakeNodeCache(ThreadedHTTPService):
    """What both fakes share: the token, a moto backend, counts, a TTL cache, and fault knobs.

    Attributes read by tests: `counts` (route -> requests received, the ones refused included),
    `upstream` (AWS operation -> calls sent to moto), `in_flight`/`max_in_flight` (requests handled at
    once), `connections`/`open_connections` (connections accepted in all, and not yet closed),
    `fail_status` (when set, every request after the token check answers it: 500, 502, 504, 429),
    `hold` (when set, requests wait on it before answering: a hang the test ends), `max_conn`,
    `close_after_answer` (when set, each connection is closed after its first answer without a
    `Connection: close`, as a cache does to an idle kept-alive connection it times out).

    Args:
        backend: moto's URL.
        token: the token the header must carry.
        ttl: seconds a value is served from the fake's own cache (0: none).
        max_conn: requests handled at once before `429`.
    """

    handler_class = _Handler
    server_class = _Server
    name: ClassVar[str] = "node-local cache"

    def __init__(self, backend: str, token: str, *, ttl: float = 300.0, max_conn: int = 800) -> None:
        super().__init__()
        self.backend = backend
        self.token = token
        self.ttl = ttl
        self.max_conn = max_conn
        self.counts: collections.Counter[str] = collections.Counter()
        self.upstream: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.connections = 0
        self.open_connections = 0
        self.close_after_answer = False
        self.fail_status: int | None = None
        self.hold: threading.Event | None = None
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._cache: dict[tuple[str, ...], tuple[float, dict[str, Any]]] = {}

    # ---- backend ---------------------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """The fake's own boto3 client of moto (as the real cache has its own credentials)."""
        with self._lock:
            if service not in self._clients:
                import boto3

                session = boto3.session.Session(
                    aws_access_key_id="agent", aws_secret_access_key="agent", region_name=_REGION
                )
                self._clients[service] = session.client(service, endpoint_url=self.backend)
            return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One upstream call, counted by operation."""
        with self._lock:
            self.upstream[operation] += 1
        method = "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")
        response: dict[str, Any] = getattr(self.client(service), method)(**kwargs)
        return response

    def cached(self, key: tuple[str, ...], fetch: Any, refresh: Any = None) -> dict[str, Any]:
        """The value under `key`: cached for `ttl`, else fetched (`refresh(old)` may renew an expired one)."""
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        value = refresh(entry[1]) if entry is not None and refresh is not None else None
        if value is None:
            value = fetch()
        if self.ttl > 0:
            with self._lock:
                self._cache[key] = (now, value)
        return value

    # ---- serving ---------------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(handler.path)
        with self._lock:
            self.counts[parts.path] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            over = self.in_flight > self.max_conn
        counted = True

        def done() -> None:
            # Before the answer is written: a client holding its answer never sees its request in flight.
            nonlocal counted
            if counted:
                counted = False
                with self._lock:
                    self.in_flight -= 1

        try:
            if over:
                done()
                self._send(handler, 429, "Connection limit exceeded")
                return
            if self.hold is not None:
                self.hold.wait(30)
            status, body = self.answer(handler, parts)
            if self.close_after_answer:
                handler.close_connection = True
            done()
            self._send(handler, status, body)
        finally:
            done()

    def _connected(self, change: int) -> None:
        with self._lock:
            self.open_connections += change
            self.connections += max(change, 0)

    def answer(self, handler: BaseHTTPRequestHandler, parts: urllib.parse.SplitResult) -> tuple[int, Any]:
        """The status and body (text, or a JSON-able object) of one request."""
        raise NotImplementedError

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def _client_error(exc: Exception) -> tuple[int, str, str] | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    error = response.get("Error", {})
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400)
    return status, str(error.get("Code") or "ClientError"), str(error.get("Message") or "")


class FakeSecretsManagerAgent(FakeNodeCache):
    """The AWS Secrets Manager Agent (v2) / Workload Credentials Provider, on 127.0.0.1, over moto.

    Args:
        path_prefix: the path route's prefix (the agent's `path_prefix`, default `/v1/`).
        unescaped_errors: build error bodies as agent v2 does, without escaping the message, and quote the
            secret's id in it, so that the body is not valid JSON.
    """

    name = "Secrets Manager Agent"
    _QUERY_KEYS = frozenset({"secretId", "versionId", "versionStage", "refreshNow"})

    def __init__(
        self,
        backend: str,
        token: str,
        *,
        path_prefix: str = "/v1/",
        unescaped_errors: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(backend, token, **kwargs)
        self.path_prefix = path_prefix
        self.unescaped_errors = unescaped_errors

    def answer(self, handler: BaseHTTPRequestHandler, parts: urllib.parse.SplitResult) -> tuple[int, Any]:
        """The agent's checks in its order: ping, token, method, forwarded, route."""
        if parts.path == "/ping" and handler.command == "GET":
            return 200, "healthy"
        if (
            handler.headers.get(TOKEN_HEADER) != self.token
            and handler.headers.get("X-Vault-Token") != self.token
        ):
            return 403, "Bad Token"
        if handler.command != "GET":
            return 405, "Not allowed"
        if handler.headers.get("X-Forwarded-For") is not None:
            return 400, "Forwarded"
        if self.fail_status is not None:
            return self.fail_status, {"__type": "InternalFailure"}
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if parts.path == "/secretsmanager/get":
            query = dict(pairs)
            unknown = [k for k, _ in pairs if k not in self._QUERY_KEYS]
            if unknown:
                return 400, f"unknown parameter: {unknown[0]}"
            if "secretId" not in query:
                return 400, "missing parameter secretId"
            return self._secret(query)
        if parts.path.startswith(self.path_prefix) and len(parts.path) > len(self.path_prefix):
            query = dict(pairs)
            query["secretId"] = parts.path[len(self.path_prefix) :]  # the encoded path, as the agent takes it
            return self._secret(query)
        return 404, "Not found"

    def _secret(self, query: dict[str, str]) -> tuple[int, Any]:
        kwargs = {"SecretId": query["secretId"]}
        if query.get("versionId"):
            kwargs["VersionId"] = query["versionId"]
        if query.get("versionStage"):
            kwargs["VersionStage"] = query["versionStage"]
        key = (kwargs["SecretId"], kwargs.get("VersionId", ""), kwargs.get("VersionStage", ""))

        def fetch() -> dict[str, Any]:
            return self.call("secretsmanager", "GetSecretValue", **kwargs)

        def refresh(old: dict[str, Any]) -> dict[str, Any] | None:
            """DescribeSecret first: the cached version still has the stage asked for, keep it."""
            if "VersionId" in kwargs:
                return old
            described = self.call("secretsmanager", "DescribeSecret", SecretId=kwargs["SecretId"])
            stages = described.get("VersionIdsToStages", {}).get(old.get("VersionId"), [])
            return old if kwargs.get("VersionStage", "AWSCURRENT") in stages else None

        try:
            if query.get("refreshNow") in ("true", "1"):
                response = fetch()
            else:
                response = self.cached(key, fetch, refresh)
        except Exception as exc:  # noqa: BLE001 - relayed as the agent relays AWS's errors
            error = _client_error(exc)
            if error is None:
                return 502, {"__type": "ConnectionError", "message": "connection error"}
            status, code, message = error
            if self.unescaped_errors:  # with a quoted id in the message, as some AWS messages have
                message = f'{message} (id "{kwargs["SecretId"]}")'
                return status, '{"__type":"' + code + '","message":"' + message + '"}'
            return status, {"__type": code, "message": message}
        body: dict[str, Any] = {
            "ARN": response["ARN"],
            "Name": response["Name"],
            "VersionId": response["VersionId"],
        }
        if "SecretString" in response:
            body["SecretString"] = response["SecretString"]
        if "SecretBinary" in response:
            body["SecretBinary"] = base64.b64encode(response["SecretBinary"]).decode()
        if response.get("VersionStages"):
            body["VersionStages"] = response["VersionStages"]
        created = response.get("CreatedDate")
        if isinstance(created, datetime.datetime):
            body["CreatedDate"] = f"{created.timestamp():.3f}"
        return 200, body


class FakeLambdaExtension(FakeNodeCache):
    """The AWS Parameters and Secrets Lambda Extension, on 127.0.0.1, over moto.

    Args:
        token: the function's `AWS_SESSION_TOKEN`, which the header must carry.
        ttl: `SSM_PARAMETER_STORE_TTL` / `SECRETS_MANAGER_TTL`, clamped to 300 as the extension does.
    """

    name = "Lambda extension"

    def __init__(self, backend: str, token: str, *, ttl: float = 300.0, **kwargs: Any) -> None:
        super().__init__(backend, token, ttl=min(ttl, 300.0), **kwargs)

    def answer(self, handler: BaseHTTPRequestHandler, parts: urllib.parse.SplitResult) -> tuple[int, Any]:
        """Token, method, route; every failure of a request a generic 400."""
        if handler.headers.get(TOKEN_HEADER) != self.token:
            return 403, "bad session token or header key"
        if handler.command != "GET":
            return 405, "Not allowed"
        if self.fail_status is not None:
            return self.fail_status, GENERIC_400 if self.fail_status == 400 else "Internal Server Error"
        pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        query = dict(pairs)
        try:
            if parts.path == "/systemsmanager/parameters/get" and query.get("name"):
                return 200, self._parameter(query, [k for k, _ in pairs])
            if parts.path == "/secretsmanager/get" and query.get("secretId"):
                return 200, self._secret(query)
        except Exception:  # noqa: BLE001 - the extension says the same for every failure
            return 400, GENERIC_400
        if parts.path in ("/systemsmanager/parameters/get", "/secretsmanager/get"):
            return 400, GENERIC_400
        return 404, "Not found"

    def _parameter(self, query: dict[str, str], order: list[str]) -> dict[str, Any]:
        selector = next((k for k in order if k in ("version", "label")), None)  # the first one given wins
        name = query["name"] + (f":{query[selector]}" if selector else "")
        decrypt = query.get("withDecryption", "").lower() == "true"
        response = self.cached(
            ("ssm", name, str(decrypt)),
            lambda: self.call("ssm", "GetParameter", Name=name, WithDecryption=decrypt),
        )
        fields = (
            "ARN",
            "DataType",
            "LastModifiedDate",
            "Name",
            "Selector",
            "SourceResult",
            "Type",
            "Value",
            "Version",
        )
        parameter = {f: _iso(response["Parameter"].get(f)) for f in fields}
        return {"Parameter": parameter, "ResultMetadata": {}}

    def _secret(self, query: dict[str, str]) -> dict[str, Any]:
        kwargs = {"SecretId": query["secretId"]}
        for arg, name in (("versionStage", "VersionStage"), ("versionId", "VersionId")):
            if query.get(arg):
                kwargs[name] = query[arg]
                break  # one of the two, the first given
        response = self.cached(
            ("sm", *(f"{k}={v}" for k, v in sorted(kwargs.items()))),
            lambda: self.call("secretsmanager", "GetSecretValue", **kwargs),
        )
        binary = response.get("SecretBinary")
        return {
            "ARN": response["ARN"],
            "CreatedDate": _iso(response.get("CreatedDate")),
            "Name": response["Name"],
            "SecretBinary": base64.b64encode(binary).decode() if binary is not None else None,
            "SecretString": response.get("SecretString"),
            "VersionId": response["VersionId"],
            "VersionStages": response.get("VersionStages"),
            "ResultMetadata": {},
        }


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value
