"""The fake node-local caches answer as the documented ones do (routes, statuses, bodies, date formats)."""

from __future__ import annotations

import http.client
import json
import re
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any

import pytest

from pydantic_aws_settings.fetch.agent import agent_for
from pydantic_aws_settings.options import resolve_options
from support.agents import GENERIC_400, FakeLambdaExtension, FakeSecretsManagerAgent

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.loopback import MotoServer

TOKEN = "fake-token-canary-55"


def request(
    url: str, path: str, *, token: str | None = TOKEN, method: str = "GET", **headers: str
) -> tuple[int, str]:
    """One request; the status and the body as text."""
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=10)
    try:
        sent = dict(headers)
        if token is not None:
            sent["X-Aws-Parameters-Secrets-Token"] = token
        connection.request(method, path, headers=sent)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.fixture
def agent(moto_server: MotoServer) -> Iterator[FakeSecretsManagerAgent]:
    """The fake Secrets Manager Agent."""
    with FakeSecretsManagerAgent(moto_server.url, TOKEN) as fake:
        yield fake


@pytest.fixture
def extension(moto_server: MotoServer) -> Iterator[FakeLambdaExtension]:
    """The fake Lambda extension."""
    with FakeLambdaExtension(moto_server.url, TOKEN) as fake:
        yield fake


class TestFakeSecretsManagerAgent:
    """aws-secretsmanager-agent's server.rs and parse.rs, as the notes record them."""

    def test_plain_text_answers(self, agent: FakeSecretsManagerAgent) -> None:
        """/ping without a token; 403, 405, 404, 400 as plain text, in the agent's order of checks."""
        assert request(agent.url, "/ping", token=None) == (200, "healthy")
        assert request(agent.url, "/secretsmanager/get?secretId=x", token="wrong") == (403, "Bad Token")
        assert request(agent.url, "/secretsmanager/get?secretId=x", method="POST") == (405, "Not allowed")
        assert request(agent.url, "/systemsmanager/parameters/get?name=x") == (404, "Not found")
        assert request(agent.url, "/secretsmanager/get?secretId=x&bogus=1") == (
            400,
            "unknown parameter: bogus",
        )
        assert request(agent.url, "/secretsmanager/get") == (400, "missing parameter secretId")
        forwarded = request(agent.url, "/secretsmanager/get?secretId=x", **{"X-Forwarded-For": "10.0.0.1"})
        assert forwarded == (400, "Forwarded")

    def test_success_body(self, agent: FakeSecretsManagerAgent, sm: Any) -> None:
        """CreatedDate a string of epoch seconds with milliseconds; SecretBinary base64; both routes."""
        sm.create_secret(Name="prod/db", SecretString="v")
        sm.create_secret(Name="prod/bin", SecretBinary=b"\x00\x01")
        status, text = request(agent.url, "/secretsmanager/get?secretId=prod%2Fdb")
        body = json.loads(text)
        assert status == 200
        assert set(body) == {"ARN", "Name", "VersionId", "SecretString", "VersionStages", "CreatedDate"}
        assert re.fullmatch(r"\d+\.\d{3}", body["CreatedDate"])
        assert json.loads(request(agent.url, "/v1/prod/bin")[1])["SecretBinary"] == "AAE="
        assert agent.upstream == {"GetSecretValue": 2}

    def test_errors_relayed_with_the_upstream_status(self, agent: FakeSecretsManagerAgent) -> None:
        """AWS's error keeps its status and code, as `{"__type", "message"}`."""
        status, text = request(agent.url, "/secretsmanager/get?secretId=missing")
        assert status in (400, 404)  # AWS's status is 400; moto's, relayed as the agent relays it, 404
        assert json.loads(text)["__type"] == "ResourceNotFoundException"

    def test_expired_entries_are_checked_with_describe_secret(self, moto_server: MotoServer, sm: Any) -> None:
        """With ttl 0 nothing is cached; with a TTL, an expired current version costs DescribeSecret only."""
        sm.create_secret(Name="a", SecretString="v")
        with FakeSecretsManagerAgent(moto_server.url, TOKEN, ttl=1e-9) as fake:
            request(fake.url, "/secretsmanager/get?secretId=a")
            request(fake.url, "/secretsmanager/get?secretId=a")
        assert fake.upstream == {"GetSecretValue": 1, "DescribeSecret": 1}

    def test_connection_limit(self, moto_server: MotoServer, sm: Any) -> None:
        """Beyond max_conn requests at once: 429, plain text."""
        sm.create_secret(Name="a", SecretString="v")
        with FakeSecretsManagerAgent(moto_server.url, TOKEN, max_conn=1) as fake:
            fake.hold = threading.Event()
            first = threading.Thread(target=request, args=(fake.url, "/secretsmanager/get?secretId=a"))
            first.start()
            while fake.in_flight < 1:
                first.join(0.01)
            fake.hold.set()  # the second is answered before it would wait
            assert request(fake.url, "/secretsmanager/get?secretId=a") == (429, "Connection limit exceeded")
            first.join()


class TestFakeLambdaExtension:
    """The extension as documented and captured: ISO dates, nulls kept, generic 400s."""

    def test_parameter_body(self, extension: FakeLambdaExtension, ssm: Any) -> None:
        """The GetParameter response with ISO-8601 dates and ResultMetadata; decrypted on request."""
        ssm.put_parameter(Name="/a/key", Value="plain", Type="SecureString")
        status, text = request(
            extension.url, "/systemsmanager/parameters/get?name=%2Fa%2Fkey&withDecryption=true"
        )
        body = json.loads(text)
        assert status == 200
        assert body["ResultMetadata"] == {}
        assert body["Parameter"]["Value"] == "plain"
        assert "T" in body["Parameter"]["LastModifiedDate"]
        assert "SourceResult" in body["Parameter"]
        ciphertext = json.loads(request(extension.url, "/systemsmanager/parameters/get?name=%2Fa%2Fkey")[1])
        assert ciphertext["Parameter"]["Value"] != "plain"

    def test_secret_body_and_generic_errors(self, extension: FakeLambdaExtension, sm: Any) -> None:
        """CreatedDate ISO, SecretBinary null kept; missing names and bad routes a generic 400 / 404."""
        sm.create_secret(Name="s", SecretString="v")
        body = json.loads(request(extension.url, "/secretsmanager/get?secretId=s")[1])
        assert body["SecretBinary"] is None
        assert "T" in body["CreatedDate"]
        assert request(extension.url, "/secretsmanager/get?secretId=missing") == (400, GENERIC_400)
        assert request(extension.url, "/systemsmanager/parameters/get?name=%2Fmissing") == (400, GENERIC_400)
        assert request(extension.url, "/secretsmanager/get?secretId=s", token="bad")[0] == 403

    def test_ttl_is_clamped(self, moto_server: MotoServer) -> None:
        """TTLs above 300 s are cut to 300, as the extension does."""
        assert FakeLambdaExtension(moto_server.url, TOKEN, ttl=3600).ttl == 300


class TestTokenIsNeverShown:
    """The token option and the agent it configures hide the token in their repr."""

    def test_reprs(self) -> None:
        """Options and Agent reprs never hold the token."""
        options = resolve_options(
            {}, {}, {"PYDANTIC_AWS_AGENT_URL": "http://localhost:2773/", "PYDANTIC_AWS_AGENT_TOKEN": TOKEN}
        )
        assert options.agent_url == "http://localhost:2773"
        assert TOKEN not in repr(options)
        assert TOKEN not in repr(agent_for(options, {}))
        assert agent_for(options, {}).token == TOKEN

    @pytest.mark.parametrize("url", ["localhost:2773", "ftp://x", "http://", "http:///path"])
    def test_bad_urls_name_the_variable(self, url: str) -> None:
        """A URL that is not http(s)://HOST is an error naming the variable."""
        from pydantic_aws_settings import AWSSettingsError

        with pytest.raises(AWSSettingsError, match="PYDANTIC_AWS_AGENT_URL"):
            resolve_options({}, {}, {"PYDANTIC_AWS_AGENT_URL": url})

    def test_default_token_chain(self, tmp_path: Any) -> None:
        """AWS_TOKEN (file:// read) before AWS_SESSION_TOKEN before AWS_CONTAINER_AUTHORIZATION_TOKEN."""
        options = resolve_options({}, {}, {"PYDANTIC_AWS_AGENT_URL": "http://localhost:2773"})
        path = tmp_path / "t"
        path.write_text(" from-file \n")
        environ = {"AWS_SESSION_TOKEN": "session", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container"}
        assert agent_for(options, {**environ, "AWS_TOKEN": f"file://{path}"}).token == "from-file"
        assert agent_for(options, environ).token == "session"
        assert agent_for(options, {"AWS_CONTAINER_AUTHORIZATION_TOKEN": "container"}).token == "container"
        assert agent_for(options, {}).token is None
