"""Loopback fakes of two base credential providers: container credentials and the EC2 metadata service.

botocore's default chain reaches them the way it reaches the real ones, by the environment:
`AWS_CONTAINER_CREDENTIALS_FULL_URI` for :class:`ContainerCredentialsServer` and
`AWS_EC2_METADATA_SERVICE_ENDPOINT` for :class:`InstanceMetadataServer`. Each answer carries new keys
(numbered, so tests can tell which signed a request) that expire after ``lifetime`` seconds. Every
request is recorded. Standard library only, and no pytest.
"""

from __future__ import annotations

import datetime
import json
import secrets
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from support.http import ServiceHTTPServer, ThreadedHTTPService

__all__ = ["ContainerCredentialsServer", "InstanceMetadataServer", "Issued", "Request"]


@dataclass(frozen=True)
class Issued:
    """Credentials a fake handed out: the key id (which the signed requests show) and when they expire."""

    access_key: str
    expiration: datetime.datetime


@dataclass(frozen=True)
class Request:
    """One request a fake received: method, path, and the headers in lower case."""

    method: str
    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the fake that owns the server; one request per connection."""

    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: the fakes are quiet."""

    def _handle(self) -> None:
        fake = self.server.service
        request = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        with fake.lock:
            fake.requests.append(request)
        status, content_type, body = fake.answer(request)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = _handle


class _Server(ServiceHTTPServer):
    service: _FakeProvider


class _FakeProvider(ThreadedHTTPService):
    """A threaded HTTP server on 127.0.0.1 that answers with new temporary credentials each time."""

    handler_class = _Handler
    server_class = _Server

    def __init__(self, lifetime: float = 3600.0, prefix: str = "AKIAFAKE") -> None:
        super().__init__()
        self.lifetime = lifetime
        self.prefix = prefix
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.issued: list[Issued] = []

    def issue(self) -> dict[str, str]:
        """New credentials, in the JSON shape both providers use, recorded in ``issued``."""
        with self.lock:
            number = len(self.issued) + 1
            expiration = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
            expiration += datetime.timedelta(seconds=self.lifetime)
            issued = Issued(f"{self.prefix}{number:08d}", expiration)
            self.issued.append(issued)
        return {
            "AccessKeyId": issued.access_key,
            "SecretAccessKey": secrets.token_hex(20),
            "Token": secrets.token_hex(32),
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def answer(self, request: Request) -> tuple[int, str, bytes]:
        """(status, content type, body) for a request."""
        raise NotImplementedError


class ContainerCredentialsServer(_FakeProvider):
    """The ECS/EKS container credentials endpoint: GET the credentials path, optionally with a token.

    Args:
        lifetime: seconds each issued set of credentials is valid.
        authorization: when set, the ``Authorization`` header every request must carry
            (``AWS_CONTAINER_AUTHORIZATION_TOKEN``); others get 401.
    """

    PATH = "/v2/credentials/task-role"

    def __init__(self, lifetime: float = 3600.0, authorization: str | None = None) -> None:
        super().__init__(lifetime, prefix="AKIACONTAINER")
        self.authorization = authorization

    @property
    def full_uri(self) -> str:
        """The value for ``AWS_CONTAINER_CREDENTIALS_FULL_URI``."""
        return self.url + self.PATH

    def answer(self, request: Request) -> tuple[int, str, bytes]:
        """Credentials at the path, for the right token; 401 or 404 otherwise."""
        if request.method != "GET" or request.path != self.PATH:
            return 404, "text/plain", b"not found"
        if self.authorization is not None and request.headers.get("authorization") != self.authorization:
            return 401, "application/json", b'{"code": "Unauthorized"}'
        body = dict(self.issue(), RoleArn="arn:aws:iam::123456789012:role/task-role")
        return 200, "application/json", json.dumps(body).encode()


class InstanceMetadataServer(_FakeProvider):
    """The EC2 instance metadata service, IMDSv2 only: a session token first, then the role's credentials.

    ``PUT /latest/api/token`` needs ``X-aws-ec2-metadata-token-ttl-seconds`` (else 400) and returns a
    token; every GET needs ``X-aws-ec2-metadata-token`` with that token (else 401).
    ``GET /latest/meta-data/iam/security-credentials/`` names the role, and ``.../ROLE`` returns its
    credentials.

    Args:
        lifetime: seconds each issued set of credentials is valid.
        role_name: the instance profile's role.
    """

    CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/"
    TOKEN_PATH = "/latest/api/token"

    def __init__(self, lifetime: float = 3600.0, role_name: str = "app-instance-role") -> None:
        super().__init__(lifetime, prefix="AKIAINSTANCE")
        self.role_name = role_name
        self.tokens: list[str] = []
        self.token_ttls: list[str] = []

    @property
    def endpoint(self) -> str:
        """The value for ``AWS_EC2_METADATA_SERVICE_ENDPOINT``."""
        return self.url + "/"

    def answer(self, request: Request) -> tuple[int, str, bytes]:
        """A token, the role name or the role's credentials; 400, 401, 404 or 405 otherwise."""
        if request.path == self.TOKEN_PATH:
            if request.method != "PUT":
                return 405, "text/plain", b"method not allowed"
            ttl = request.headers.get("x-aws-ec2-metadata-token-ttl-seconds")
            if not ttl or not ttl.isdigit():
                return 400, "text/plain", b"missing or invalid token TTL"
            token = secrets.token_urlsafe(16)
            with self.lock:
                self.tokens.append(token)
                self.token_ttls.append(ttl)
            return 200, "text/plain", token.encode()
        if request.method != "GET":
            return 405, "text/plain", b"method not allowed"
        with self.lock:
            known = request.headers.get("x-aws-ec2-metadata-token") in self.tokens
        if not known:
            return 401, "text/plain", b"unauthorized"
        if request.path == self.CREDENTIALS_PATH:
            return 200, "text/plain", self.role_name.encode()
        if request.path == self.CREDENTIALS_PATH + self.role_name:
            now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            body = dict(self.issue(), Code="Success", LastUpdated=now, Type="AWS-HMAC")
            return 200, "application/json", json.dumps(body).encode()
        return 404, "text/plain", b"not found"
