"""Credentials: every base provider, an assumed role that refreshes itself, and errors that say what to do.

The proxy shows who signed each request: its `Authorization` header names the access key id and the
region of the signature. The role's credentials come from moto's AssumeRole (keys starting `ASIA`); the
base credentials from the environment, a profile, web identity, or the loopback fakes of container
credentials and the instance metadata service. Time is moved with a fake clock, never slept.
"""

from __future__ import annotations

import datetime
import logging
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsConfigDict, AWSSettingsSource, ResolutionError
from pydantic_aws_settings import credentials as creds
from pydantic_aws_settings.credentials import _ahead, _role, _sessions, _speedups
from pydantic_aws_settings.options import resolve_options
from support import proxy as proxy_module
from support.clocks import FakeClock
from support.fake_providers import ContainerCredentialsServer, InstanceMetadataServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from types_boto3_secretsmanager import SecretsManagerClient
    from types_boto3_sts import STSClient

    from support.loopback import MotoServer
    from support.proxy import AWSProxy

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
SECRET = "role-read-secret-value"
CANARY_SECRET_KEY = "canary-base-secret-access-key"


# -- who signed what -----------------------------------------------------------------------------------

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_XML_KEY = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
_XML_EXPIRATION = re.compile(rb"<Expiration>([^<]+)</Expiration>")


@dataclass(frozen=True)
class Signed:
    """One request the proxy received: operation, the key id and region of its signature, the clock then."""

    operation: str
    access_key: str
    region: str
    at: datetime.datetime


@dataclass(frozen=True)
class IssuedBySts:
    """Credentials STS returned: which call, the key id, and when they expire on the library's clock."""

    operation: str
    access_key: str
    expires: datetime.datetime


@dataclass
class Signatures:
    """What the proxy saw, in arrival order: each request's signer, and each set of keys STS issued."""

    signed: list[Signed] = field(default_factory=list)
    issued: list[IssuedBySts] = field(default_factory=list)

    def keys(self, operation: str) -> list[str]:
        """The access key ids that signed each request of an operation."""
        return [s.access_key for s in self.signed if s.operation == operation]

    def regions(self, operation: str) -> list[str]:
        """The signing regions of each request of an operation."""
        return [s.region for s in self.signed if s.operation == operation]

    def role_keys(self) -> list[str]:
        """The key ids AssumeRole issued, in order."""
        return [i.access_key for i in self.issued if i.operation == "AssumeRole"]

    def assert_never_expired(self) -> None:
        """No request was signed with STS credentials at or after their expiry (on the library's clock)."""
        expiry = {i.access_key: i.expires for i in self.issued}
        late = [s for s in self.signed if s.access_key in expiry and s.at >= expiry[s.access_key]]
        assert not late, late


@pytest.fixture
def signatures(aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch) -> Signatures:
    """Record the signer of every request through the proxy, and the keys of every STS answer."""
    record = Signatures()
    classify = proxy_module._classify
    forward = aws_proxy._forward

    def classify_and_record(handler: Any, body: bytes) -> tuple[str, Any, bool]:
        operation, parsed, is_json = classify(handler, body)
        found = _CREDENTIAL.search(handler.headers.get("Authorization", ""))
        key, region = (found.group(1), found.group(2)) if found else ("unsigned", "")
        record.signed.append(Signed(operation, key, region, creds.registry().clock()))
        return operation, parsed, is_json

    def forward_and_record(handler: Any, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        status, headers, payload = forward(handler, body)
        action = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"))).get("Action", "")
        key, expiration = _XML_KEY.search(payload), _XML_EXPIRATION.search(payload)
        if status == 200 and action.startswith("AssumeRole") and key and expiration:
            real = datetime.datetime.fromisoformat(expiration.group(1).decode().replace("Z", "+00:00"))
            lifetime = real - datetime.datetime.now(datetime.timezone.utc)
            record.issued.append(
                IssuedBySts(action, key.group(1).decode(), creds.registry().clock() + lifetime)
            )
        return status, headers, payload

    monkeypatch.setattr(proxy_module, "_classify", classify_and_record)
    monkeypatch.setattr(aws_proxy, "_forward", forward_and_record)
    return record


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Put the refresh windows of the library on a fake clock (its `utcnow`: real time plus the moves)."""
    fake = FakeClock()
    monkeypatch.setattr(creds.registry(), "clock", fake.utcnow)
    return fake


# -- settings and environments -------------------------------------------------------------------------


class AppSettings(AWSBaseSettings):
    """One secret, from APP_SECRET; the role and the cache come from the environment."""

    model_config = SettingsConfigDict(env_prefix="APP_")

    secret: str


@pytest.fixture
def app_secret(sm: SecretsManagerClient) -> str:
    """The secret AppSettings reads, in the default account (where moto puts the role's calls too)."""
    return sm.create_secret(Name="app/secret", SecretString=SECRET)["ARN"]


@pytest.fixture
def role_env(monkeypatch: pytest.MonkeyPatch, app_secret: str) -> None:
    """AppSettings reads its secret as ROLE, with the value cache off."""
    monkeypatch.setenv("APP_SECRET", "secretsmanager:app/secret")
    monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
    monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0")


def _drop_env_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the environment keys the isolated test environment sets, so the chain looks further."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def web_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Base credentials from web identity: AWS_ROLE_ARN and a token file, no keys."""
    _drop_env_keys(monkeypatch)
    token = tmp_path / "web-identity-token"
    token.write_text("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln")
    monkeypatch.setenv("AWS_ROLE_ARN", f"arn:aws:iam::{ACCOUNT}:role/web-identity")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    return token


@pytest.fixture
def container(monkeypatch: pytest.MonkeyPatch) -> Iterator[ContainerCredentialsServer]:
    """Base credentials from a loopback container credentials endpoint, no keys."""
    _drop_env_keys(monkeypatch)
    with ContainerCredentialsServer(authorization="container-auth-token") as server:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", server.full_uri)
        monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token")
        yield server


@pytest.fixture
def instance_metadata(monkeypatch: pytest.MonkeyPatch) -> Iterator[InstanceMetadataServer]:
    """Base credentials from a loopback instance metadata service (IMDSv2), no keys."""
    _drop_env_keys(monkeypatch)
    with InstanceMetadataServer() as server:
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "false")
        monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", server.endpoint)
        yield server


def _load_error(settings_cls: type[BaseSettings] = AppSettings) -> str:
    """Load, expecting a ResolutionError; return its message."""
    with pytest.raises(ResolutionError) as caught:
        settings_cls()
    return str(caught.value)


# -- tests ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("role_env")
class TestEachBaseProviderAssumesTheRole:
    """Whatever the default chain finds, it signs only AssumeRole; the role's keys sign every fetch."""

    @staticmethod
    def _assert_role_signed_the_fetch(signatures: Signatures, base_key: str) -> None:
        """AssumeRole was signed by the base key, the fetch by the key AssumeRole returned."""
        assert signatures.keys("AssumeRole") == [base_key]
        assert signatures.keys("BatchGetSecretValue") == signatures.role_keys()
        assert signatures.role_keys()[0].startswith("ASIA")

    def test_environment_keys(self, aws_proxy: AWSProxy, signatures: Signatures) -> None:
        """Keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY assume the role, which reads the secret."""
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1}
        self._assert_role_signed_the_fetch(signatures, "testing")

    def test_shared_config_profile(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """The static keys of AWS_PROFILE in the shared credentials file assume the role."""
        _drop_env_keys(monkeypatch)
        (tmp_path / "aws_credentials").write_text(
            "[p]\naws_access_key_id = AKIAPROFILE000000001\naws_secret_access_key = profile-secret\n"
        )
        monkeypatch.setenv("AWS_PROFILE", "p")
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1}
        self._assert_role_signed_the_fetch(signatures, "AKIAPROFILE000000001")

    def test_web_identity(self, web_identity: Path, aws_proxy: AWSProxy, signatures: Signatures) -> None:
        """AssumeRoleWithWebIdentity gives the base credentials, which assume the role."""
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRoleWithWebIdentity": 1, "AssumeRole": 1, "BatchGetSecretValue": 1}
        assert signatures.keys("AssumeRoleWithWebIdentity") == ["unsigned"]
        web_key = next(i.access_key for i in signatures.issued if i.operation == "AssumeRoleWithWebIdentity")
        self._assert_role_signed_the_fetch(signatures, web_key)

    def test_container_credentials(
        self, container: ContainerCredentialsServer, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """Credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI, fetched with its token, assume the role."""
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1}
        assert [r.headers.get("authorization") for r in container.requests] == ["container-auth-token"]
        self._assert_role_signed_the_fetch(signatures, container.issued[0].access_key)

    def test_instance_metadata_service(
        self, instance_metadata: InstanceMetadataServer, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """IMDSv2 (a session token, then the role's credentials) gives the keys that assume the role."""
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1}
        paths = [(r.method, r.path) for r in instance_metadata.requests]
        assert paths == [
            ("PUT", "/latest/api/token"),
            ("GET", "/latest/meta-data/iam/security-credentials/"),
            ("GET", "/latest/meta-data/iam/security-credentials/app-instance-role"),
        ]
        assert instance_metadata.token_ttls == ["21600"]
        self._assert_role_signed_the_fetch(signatures, instance_metadata.issued[0].access_key)


class TestWithoutARole:
    """Without a role, boto3's default chain signs the fetches itself, resolved once."""

    def test_container_credentials_sign_every_fetch(
        self,
        monkeypatch: pytest.MonkeyPatch,
        app_secret: str,
        container: ContainerCredentialsServer,
        aws_proxy: AWSProxy,
        signatures: Signatures,
    ) -> None:
        """Three loads: one request to the container endpoint, no STS, every fetch signed by its keys."""
        monkeypatch.setenv("APP_SECRET", "secretsmanager:app/secret")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0")
        for _ in range(3):
            assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"BatchGetSecretValue": 3}
        assert len(container.requests) == 1
        assert signatures.keys("BatchGetSecretValue") == [container.issued[0].access_key] * 3


@pytest.mark.usefixtures("role_env")
class TestTheRoleIsAssumedOnce:
    """One AssumeRole per process and identity, not per load; sessions are shared by loads and threads."""

    def test_three_loads_without_cache_assume_once(self, aws_proxy: AWSProxy, signatures: Signatures) -> None:
        """Three loads with the cache off make three fetches and exactly one AssumeRole."""
        for _ in range(3):
            assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 3}
        assert signatures.keys("BatchGetSecretValue") == signatures.role_keys() * 3

    def test_the_role_session_gets_its_credentials_from_its_credential_provider(self) -> None:
        """The public credential_provider component, not a private attribute, gives the role's keys."""
        assert AppSettings().secret == SECRET
        (session,) = creds.registry()._roles.values()
        provider = session.get_component("credential_provider")
        (given,) = provider.providers
        assert session.get_credentials() is given.load()
        assert session.get_credentials().method == "assume-role"

    def test_concurrent_cold_loads_assume_once(self, aws_proxy: AWSProxy) -> None:
        """Eight threads loading at once in a cold process wait for one AssumeRole."""
        aws_proxy.set_latency("AssumeRole", 0.1)
        barrier = threading.Barrier(8)
        values: list[str] = []

        def load() -> None:
            barrier.wait()
            values.append(AppSettings().secret)

        threads = [threading.Thread(target=load) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert values == [SECRET] * 8
        assert aws_proxy.counts["AssumeRole"] == 1  # the fetches themselves may share a single flight

    def test_session_name_external_id_and_duration_are_sent(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy
    ) -> None:
        """The role options reach AssumeRole, and the role's session is who GetCallerIdentity reports."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_SESSION_NAME", "billing-worker")
        monkeypatch.setenv("PYDANTIC_AWS_EXTERNAL_ID", "ext-1234")
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_DURATION", "1800")
        assert AppSettings().secret == SECRET
        sts = creds.client_for("sts", None, resolve_options())
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/app/billing-worker"
        (body,) = [body for operation, body in aws_proxy.requests if operation == "AssumeRole"]
        assert (body["RoleArn"], body["RoleSessionName"], body["ExternalId"], body["DurationSeconds"]) == (
            ROLE,
            "billing-worker",
            "ext-1234",
            "1800",
        )
        assert aws_proxy.counts["AssumeRole"] == 1


ROLE_A = "arn:aws:iam::111111111111:role/shared-secrets-reader"
ROLE_B = "arn:aws:iam::222222222222:role/app-secrets-reader"


class SharedSettings(AWSBaseSettings):
    """Reads as ROLE_A, named in model_config."""

    model_config = AWSSettingsConfigDict(env_prefix="SHARED_", aws_role_arn=ROLE_A)

    token: str


class AppSecrets(BaseSettings):
    """Reads as ROLE_B, named as a keyword of AWSSettingsSource."""

    model_config = SettingsConfigDict(env_prefix="APPB_")

    token: str

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The AWS source over the environment, with its own role."""
        return (init_settings, AWSSettingsSource(settings_cls, env_settings, aws_role_arn=ROLE_B))


class DefaultSettings(AWSBaseSettings):
    """Reads with the base credentials, no role."""

    model_config = SettingsConfigDict(env_prefix="PLAIN_")

    token: str


def _seed_in_account(sts: STSClient, moto_server: MotoServer, account: str, value: str) -> None:
    """Create the secret `shared/token` in another account, through a role of that account."""
    import boto3

    found = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/seeder", RoleSessionName="seeder")
    keys = found["Credentials"]
    boto3.client(
        "secretsmanager",
        endpoint_url=moto_server.url,
        region_name="us-east-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    ).create_secret(Name="shared/token", SecretString=value)


class TestRolesPerSettingsClass:
    """Settings classes with different roles read different accounts, and never each other's values."""

    def test_each_class_reads_its_own_account(
        self,
        monkeypatch: pytest.MonkeyPatch,
        sts: STSClient,
        sm: SecretsManagerClient,
        moto_server: MotoServer,
        aws_proxy: AWSProxy,
        signatures: Signatures,
    ) -> None:
        """One secret name in three accounts: each class gets its account's value, from the cache too."""
        _seed_in_account(sts, moto_server, "111111111111", "value-of-account-a")
        _seed_in_account(sts, moto_server, "222222222222", "value-of-account-b")
        sm.create_secret(Name="shared/token", SecretString="value-of-the-base-account")
        for prefix in ("SHARED", "APPB", "PLAIN"):
            monkeypatch.setenv(f"{prefix}_TOKEN", "secretsmanager:shared/token")

        for _ in range(2):  # the second round comes from the cache, still per identity
            assert SharedSettings().token == "value-of-account-a"
            assert AppSecrets().token == "value-of-account-b"
            assert DefaultSettings().token == "value-of-the-base-account"

        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 3}
        bodies = [body["RoleArn"] for operation, body in aws_proxy.requests if operation == "AssumeRole"]
        assert bodies == [ROLE_A, ROLE_B]
        key_a, key_b = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == [key_a, key_b, "testing"]


class TestRegion:
    """An ARN's region wins for a fetch; STS uses the option's or the chain's region, regionally."""

    def test_arn_region_for_the_fetch_option_region_for_sts(
        self, monkeypatch: pytest.MonkeyPatch, app_secret: str, signatures: Signatures
    ) -> None:
        """PYDANTIC_AWS_REGION=eu-west-1 signs AssumeRole for eu-west-1, the ARN's fetch for us-east-1."""
        monkeypatch.setenv("APP_SECRET", app_secret)
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        monkeypatch.setenv("PYDANTIC_AWS_REGION", "eu-west-1")
        assert AppSettings().secret == SECRET
        assert signatures.regions("AssumeRole") == ["eu-west-1"]
        assert signatures.regions("BatchGetSecretValue") == ["us-east-1"]

    def test_sts_falls_back_to_the_chain_region(
        self, monkeypatch: pytest.MonkeyPatch, app_secret: str, signatures: Signatures
    ) -> None:
        """With no region option, AssumeRole is signed for boto3's own region (AWS_DEFAULT_REGION)."""
        monkeypatch.delenv("AWS_REGION")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-2")
        monkeypatch.setenv("APP_SECRET", app_secret)
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        assert AppSettings().secret == SECRET
        assert signatures.regions("AssumeRole") == ["ap-southeast-2"]
        assert signatures.regions("BatchGetSecretValue") == ["us-east-1"]

    def test_sts_endpoint_is_regional_when_legacy_is_set(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """AWS_STS_REGIONAL_ENDPOINTS=legacy sends plain boto3 to the global endpoint, but not the library."""
        import boto3

        monkeypatch.delenv("AWS_ENDPOINT_URL")
        monkeypatch.setenv("AWS_STS_REGIONAL_ENDPOINTS", "legacy")
        plain = boto3.session.Session().client("sts", region_name="us-east-1")
        options = resolve_options()
        session = creds.registry()._base_session(creds.identity_for(options))
        ours = _sessions._sts_client(session, "us-east-1", options)
        assert plain.meta.endpoint_url == "https://sts.amazonaws.com"
        assert ours.meta.endpoint_url == "https://sts.us-east-1.amazonaws.com"


@pytest.mark.usefixtures("role_env")
class TestRefreshBeforeExpiry:
    """The role's credentials refresh themselves before they expire, on the library's clock."""

    def test_far_from_expiry_nothing_is_refreshed(self, clock: FakeClock, aws_proxy: AWSProxy) -> None:
        """Loads 2000 s into an hour's session use the same credentials."""
        AppSettings()
        clock.advance(2000)
        AppSettings()
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 2}

    def test_advisory_window_refreshes_before_the_request(
        self, clock: FakeClock, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """With 800 s left (under 15 minutes), a load refreshes first and signs with the new keys."""
        AppSettings()
        clock.advance(2800)
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 2}
        first, second = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == [first, second]
        signatures.assert_never_expired()

    def test_past_expiry_no_request_uses_the_expired_keys(
        self, clock: FakeClock, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """After the session has expired (a suspended process), the next load refreshes before signing."""
        AppSettings()
        clock.advance(3700)
        assert AppSettings().secret == SECRET
        AppSettings()
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 3}
        first, second = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == [first, second, second]
        signatures.assert_never_expired()

    def test_short_sessions_scale_the_windows(
        self, monkeypatch: pytest.MonkeyPatch, clock: FakeClock, aws_proxy: AWSProxy
    ) -> None:
        """A 900 s session is not refreshed on every call (15 minutes ahead), but under 225 s left."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_DURATION", "900")
        AppSettings()
        AppSettings()
        clock.advance(600)
        AppSettings()
        assert aws_proxy.counts["AssumeRole"] == 1
        clock.advance(100)
        AppSettings()
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 4}

    def test_refresh_windows(self) -> None:
        """The windows are botocore's 15 and 10 minutes from an hour up, a quarter and a sixth below."""
        assert _role._refresh_windows(43200) == (900, 600)
        assert _role._refresh_windows(3600) == (900, 600)
        assert _role._refresh_windows(1800) == (450, 300)
        assert _role._refresh_windows(900) == (225, 150)

    @staticmethod
    def _read_from_threads(count: int) -> None:
        """Read the secret from `count` threads at once, with the library's own client (no single flight)."""
        client = creds.client_for("secretsmanager", None, resolve_options())
        barrier = threading.Barrier(count)
        values: list[str] = []

        def read() -> None:
            barrier.wait()
            values.append(client.get_secret_value(SecretId="app/secret")["SecretString"])

        threads = [threading.Thread(target=read) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert values == [SECRET] * count

    def test_advisory_refresh_lets_other_threads_keep_signing(
        self, clock: FakeClock, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """In the advisory window one thread refreshes; the others sign with the current keys meanwhile."""
        AppSettings()
        clock.advance(2800)
        aws_proxy.set_latency("AssumeRole", 0.3)
        self._read_from_threads(4)
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 1, "GetSecretValue": 4}
        first, second = signatures.role_keys()
        assert sorted(signatures.keys("GetSecretValue")) == sorted([first] * 3 + [second])
        signatures.assert_never_expired()

    def test_mandatory_refresh_makes_every_thread_wait(
        self, clock: FakeClock, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """Past expiry, concurrent requests all wait for one refresh and sign with the new keys."""
        AppSettings()
        clock.advance(3700)
        aws_proxy.set_latency("AssumeRole", 0.1)
        self._read_from_threads(4)
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 1, "GetSecretValue": 4}
        first, second = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == [first]
        assert signatures.keys("GetSecretValue") == [second] * 4
        signatures.assert_never_expired()

    def test_short_base_credentials_are_refreshed_before_assume_role(
        self,
        container: ContainerCredentialsServer,
        clock: FakeClock,
        aws_proxy: AWSProxy,
        signatures: Signatures,
    ) -> None:
        """Container keys that live 5 minutes are renewed by botocore before each AssumeRole is signed."""
        container.lifetime = 300
        for _ in range(3):
            AppSettings()
        clock.advance(3700)
        AppSettings()
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 4}
        issued = [i.access_key for i in container.issued]
        # The chain's first fetch, then a renewal before each AssumeRole: none signed with an older key.
        assert signatures.keys("AssumeRole") == issued[1:]
        now = datetime.datetime.now(datetime.timezone.utc)
        assert all(i.expiration > now for i in container.issued)


class TwoServices(AWSBaseSettings):
    """A secret and a parameter: two clients to build, two groups of requests in one load."""

    model_config = SettingsConfigDict(env_prefix="APP_")

    secret: str
    flag: str


@pytest.fixture
def two_services(role_env: None, ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """TwoServices reads a secret and a parameter as ROLE."""
    ssm.put_parameter(Name="/app/flag", Value="on", Type="String")
    monkeypatch.setenv("APP_FLAG", "ssm:/app/flag")


def _while_building(monkeypatch: pytest.MonkeyPatch, wait: Callable[[str], None]) -> None:
    """Call `wait(service)` whenever a client of a fetched service is being built (STS's are not)."""
    import botocore.session

    create_client = botocore.session.Session.create_client

    def slow_create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name != "sts":
            wait(service_name)
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", slow_create_client)


def _prefetched(
    assume: Callable[[], dict[str, str]], clock: Callable[[], datetime.datetime] = _ahead.utcnow
) -> Any:
    """A role's first AssumeRole started ahead, counted in flight by the process's registry."""
    return _ahead._Prefetched(assume, clock, creds.registry()._in_flight)


@pytest.mark.usefixtures("two_services")
class TestAssumeRoleAhead:
    """A role's first AssumeRole travels while the clients are built, and is still sent exactly once."""

    def test_assume_role_is_sent_while_the_clients_are_built(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """Each fetch client waits, while it is built, to see AssumeRole arrive: it does without a fetch."""
        seen: list[tuple[str, int]] = []

        def wait(service: str) -> None:
            arrived = threading.Event()
            for _ in range(500):  # 5 s at most; AssumeRole arrives in milliseconds
                if aws_proxy.counts["AssumeRole"]:
                    arrived.set()
                    break
                arrived.wait(0.01)
            seen.append((service, aws_proxy.counts["AssumeRole"]))

        _while_building(monkeypatch, wait)
        settings = TwoServices()
        assert (settings.secret, settings.flag) == (SECRET, "on")
        assert sorted(seen) == [("secretsmanager", 1), ("ssm", 1)]
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1, "GetParameters": 1}
        (role_key,) = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == signatures.keys("GetParameters") == [role_key]

    def test_its_failure_fails_the_whole_load_once(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy
    ) -> None:
        """The second client is built after the first fetch took the error: it shares it, no second call."""
        monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "1")
        aws_proxy.inject("AssumeRole", code="AccessDenied", status=403, message="not authorized")
        failed = threading.Event()
        prefetched_call = _ahead._Prefetched.__call__

        def call_and_signal(self: Any) -> dict[str, str]:
            try:
                return prefetched_call(self)
            finally:
                failed.set()

        monkeypatch.setattr(_ahead._Prefetched, "__call__", call_and_signal)
        built: list[str] = []

        def wait(service: str) -> None:
            if built:  # the second client: once the first group's request has taken the error
                assert failed.wait(5)
            built.append(service)

        _while_building(monkeypatch, wait)
        with pytest.raises(ResolutionError) as caught:
            TwoServices()
        assert {f.field: f.code for f in caught.value.failures} == {
            "secret": "AccessDenied",
            "flag": "AccessDenied",
        }
        assert str(caught.value).count("STS denied AssumeRole") == 1  # explained once, for both fields
        assert aws_proxy.counts == {"AssumeRole": 1}

        aws_proxy.clear_faults()  # the next load tries again, and succeeds
        assert TwoServices().flag == "on"
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 1, "GetParameters": 1}

    def test_a_result_nobody_took_in_time_is_dropped(self, clock: FakeClock) -> None:
        """A prefetched result older than PREFETCH_VALID on the library's clock: the refresh calls again."""
        calls: list[int] = []

        def assume() -> dict[str, str]:
            calls.append(len(calls))
            return {"access_key": f"key-{len(calls)}"}

        late = _prefetched(assume, clock.utcnow)
        late.join(5)
        clock.advance(creds.PREFETCH_VALID)
        assert late() == {"access_key": "key-2"}  # the old result was dropped, STS asked again
        assert late() == {"access_key": "key-3"}  # and every later refresh asks STS itself

        timely = _prefetched(assume, clock.utcnow)
        assert timely() == {"access_key": "key-4"}  # waits for the call in flight if need be
        assert calls == [0, 1, 2, 3]

    def test_its_error_goes_to_the_load_that_built_the_session_only(self) -> None:
        """The same load gets the prefetch's error; another load (or none) asks STS for itself."""

        def failing_then_working(calls: list[int]) -> Callable[[], dict[str, str]]:
            def assume() -> dict[str, str]:
                calls.append(len(calls))
                if len(calls) == 1:
                    raise creds.CredentialsError("AccessDenied", "the first call fails")
                return {"access_key": f"key-{len(calls)}"}

            return assume

        load, other = object(), object()
        calls: list[int] = []
        built = creds.for_load(load, lambda: _prefetched(failing_then_working(calls)))
        with pytest.raises(creds.CredentialsError, match="the first call fails"):
            creds.for_load(load, built)
        assert creds.for_load(load, built) == {"access_key": "key-2"}  # a later refresh tries again

        calls = []
        built = creds.for_load(load, lambda: _prefetched(failing_then_working(calls)))
        assert creds.for_load(other, built) == {"access_key": "key-2"}
        assert calls == [0, 1]

    def test_a_forked_process_does_not_wait_for_a_thread_it_does_not_have(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """In a child forked while the AssumeRole was in flight, the refresh asks STS itself."""
        release = threading.Event()
        calls: list[str] = []

        def assume() -> dict[str, str]:
            calls.append(threading.current_thread().name)
            if len(calls) == 1:
                release.wait(10)  # the parent's call, still in flight when the child refreshes
            return {"access_key": f"key-{len(calls)}"}

        prefetched = _prefetched(assume)
        import os

        parent = os.getpid()
        monkeypatch.setattr(os, "getpid", lambda: parent + 1)  # as in the child of a fork
        try:
            assert prefetched() == {"access_key": "key-2"}  # at once, not after the 10 s hang
        finally:
            release.set()
            prefetched.join(5)
        assert calls == ["pydantic-aws-settings-assume-role", threading.current_thread().name]

    def test_reset_waits_for_an_assume_role_in_flight(self) -> None:
        """After reset, no AssumeRole started before it can still reach the endpoint."""
        release = threading.Event()
        done: list[bool] = []

        def assume() -> dict[str, str]:
            release.wait(10)
            done.append(True)
            return {"access_key": "key"}

        _prefetched(assume)
        threading.Timer(0.1, release.set).start()
        creds.reset()
        assert done == [True]
        assert not creds.registry()._in_flight


@pytest.mark.usefixtures("role_env")
class TestFailedRefresh:
    """A failed refresh is harmless in the advisory window and a clear error in the mandatory one."""

    def test_advisory_failure_keeps_loading_with_current_keys(
        self,
        monkeypatch: pytest.MonkeyPatch,
        clock: FakeClock,
        aws_proxy: AWSProxy,
        signatures: Signatures,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """STS down with 800 s left: the load succeeds with the current keys, and a warning is logged."""
        monkeypatch.setenv("PYDANTIC_AWS_MAX_ATTEMPTS", "1")
        AppSettings()
        clock.advance(2800)
        aws_proxy.inject("AssumeRole", code="ServiceUnavailable", status=503, message="try later")
        with caplog.at_level(logging.WARNING, logger="botocore.credentials"):
            assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 2}
        (first,) = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == [first, first]
        (record,) = [r for r in caplog.records if "advisory" in r.getMessage()]
        assert record.exc_info is not None
        assert ROLE in str(record.exc_info[1])

    def test_mandatory_failure_is_a_resolution_error_naming_the_role(
        self, clock: FakeClock, aws_proxy: AWSProxy, signatures: Signatures
    ) -> None:
        """STS denies the refresh with 500 s left: no request is signed, and the error names the role."""
        AppSettings()
        clock.advance(3100)
        aws_proxy.inject("AssumeRole", code="AccessDenied", status=403, message="not authorized")
        message = _load_error()
        assert "secret (from APP_SECRET = 'secretsmanager:app/secret'): AccessDenied" in message
        assert ROLE in message
        assert "sts:AssumeRole" in message
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 1}

        aws_proxy.clear_faults()
        assert AppSettings().secret == SECRET  # the next load refreshes and recovers
        first, second = signatures.role_keys()
        assert signatures.keys("BatchGetSecretValue") == [first, second]
        signatures.assert_never_expired()


@pytest.mark.usefixtures("app_secret")
class TestCredentialErrors:
    """Each credentials failure is a ResolutionError that names the provider or role and what to do."""

    @pytest.fixture(autouse=True)
    def _reference(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("APP_SECRET", "secretsmanager:app/secret")

    def test_no_base_credentials_a_role(self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy) -> None:
        """No provider has credentials: the error names the role, each provider tried, and the remedies."""
        _drop_env_keys(monkeypatch)
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        message = _load_error()
        assert "NoCredentialsError: no AWS credentials to assume role " + ROLE in message
        for tried in ("AWS_ACCESS_KEY_ID", "profile 'default'", "AWS_WEB_IDENTITY_TOKEN_FILE"):
            assert tried in message
        assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in message
        assert "instance metadata service (turned off by AWS_EC2_METADATA_DISABLED)" in message
        assert "AWS_PROFILE" in message
        assert aws_proxy.counts == {}

    def test_no_base_credentials_no_role(self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy) -> None:
        """Without a role, the same error says what the chain tried; the next load looks again."""
        _drop_env_keys(monkeypatch)
        assert "NoCredentialsError: no AWS credentials to sign requests" in _load_error()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_access_denied_on_assume_role(self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy) -> None:
        """AccessDenied names the role, the base provider and the policies to fix, and holds no key."""
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET_KEY)
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        aws_proxy.inject("AssumeRole", code="AccessDenied", status=403, message="User is not authorized")
        message = _load_error()
        assert f"AccessDenied: STS denied AssumeRole on role {ROLE}" in message
        assert "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)" in message
        assert "trust policy" in message
        assert "PYDANTIC_AWS_EXTERNAL_ID or aws_external_id" in message  # either way of setting it
        assert CANARY_SECRET_KEY not in message
        assert aws_proxy.counts == {"AssumeRole": 1}

        aws_proxy.clear_faults()
        assert AppSettings().secret == SECRET  # a failed AssumeRole is not remembered
        assert aws_proxy.counts == {"AssumeRole": 2, "BatchGetSecretValue": 1}

    def test_expired_web_identity_token_for_the_role(
        self, monkeypatch: pytest.MonkeyPatch, web_identity: Path, aws_proxy: AWSProxy
    ) -> None:
        """An expired token names the token file and the role, and AssumeRole is never sent."""
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        aws_proxy.inject("AssumeRoleWithWebIdentity", code="ExpiredTokenException", message="Token expired")
        message = _load_error()
        assert f"ExpiredTokenException: could not assume role {ROLE}" in message
        assert f"AWS_WEB_IDENTITY_TOKEN_FILE ({web_identity}) was rejected as expired" in message
        assert "must keep a current token" in message
        assert aws_proxy.counts == {"AssumeRoleWithWebIdentity": 1}  # AssumeRole is never sent

    def test_expired_web_identity_token_without_a_role(self, web_identity: Path, aws_proxy: AWSProxy) -> None:
        """Without a role, the expired token is explained the same way, and no fetch is sent."""
        token = web_identity
        aws_proxy.inject("AssumeRoleWithWebIdentity", code="ExpiredTokenException", message="Token expired")
        message = _load_error()
        expected = f"ExpiredTokenException: the web identity token in AWS_WEB_IDENTITY_TOKEN_FILE ({token})"
        assert expected in message
        assert aws_proxy.counts == {"AssumeRoleWithWebIdentity": 1}  # no fetch is sent

    def test_unreachable_container_endpoint(
        self, monkeypatch: pytest.MonkeyPatch, container: ContainerCredentialsServer
    ) -> None:
        """A container endpoint that refuses connections is named, with what to do."""
        import botocore.utils

        # botocore pauses a second between its three tries of the endpoint: not what is tested here.
        monkeypatch.setattr(botocore.utils.ContainerMetadataFetcher, "SLEEP_TIME", 0)
        container.stop()
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        message = _load_error()
        expected = f"default credential chain failed while looking for credentials to assume role {ROLE}"
        assert expected in message
        assert "container-role" in message


@pytest.mark.usefixtures("app_secret")
class TestEndpointChanges:
    """Clients and role sessions are kept per endpoint: a process pointed elsewhere gets new ones."""

    @pytest.fixture
    def second(self, moto_server: MotoServer) -> Iterator[AWSProxy]:
        """Another proxy in front of the same moto server: another endpoint, the same data."""
        with proxy_module.AWSProxy(moto_server.url) as other:
            yield other

    def test_a_new_aws_endpoint_url_gets_new_clients(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy, second: AWSProxy
    ) -> None:
        """AWS_ENDPOINT_URL changed between two loads: the second load's fetch goes to the new endpoint."""
        monkeypatch.setenv("APP_SECRET", "secretsmanager:app/secret")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0")
        assert AppSettings().secret == SECRET
        monkeypatch.setenv("AWS_ENDPOINT_URL", second.url)
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == second.counts == {"BatchGetSecretValue": 1}

    def test_a_service_endpoint_and_the_sts_endpoint(
        self, monkeypatch: pytest.MonkeyPatch, aws_proxy: AWSProxy, second: AWSProxy
    ) -> None:
        """AWS_ENDPOINT_URL_SECRETS_MANAGER moves the fetches; AWS_ENDPOINT_URL_STS a new AssumeRole."""
        monkeypatch.setenv("APP_SECRET", "secretsmanager:app/secret")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0")
        monkeypatch.setenv("PYDANTIC_AWS_ROLE_ARN", ROLE)
        assert AppSettings().secret == SECRET
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", second.url)
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1}
        assert second.counts == {"BatchGetSecretValue": 1}

        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", second.url)
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts == {"AssumeRole": 1, "BatchGetSecretValue": 1}
        assert second.counts == {"AssumeRole": 1, "BatchGetSecretValue": 2}


class TestDataLoader:
    """botocore's data files are parsed into plain dicts: the same data, in half the time."""

    @pytest.mark.parametrize(
        "name", ["endpoints", "ssm/2014-11-06/service-2", "secretsmanager/2017-10-17/service-2"]
    )
    def test_the_same_data_as_botocore_reads(self, name: str) -> None:
        """Each data file the fetches need parses to what botocore's own file loader gives."""
        import botocore
        from botocore.loaders import JSONFileLoader

        path = f"{botocore.__path__[0]}/data/{name}"
        ours = _speedups._JSONFileLoader().load_file(path)
        assert type(ours) is dict
        assert ours == JSONFileLoader().load_file(path)
        assert list(ours) == list(JSONFileLoader().load_file(path))  # in the same order

    def test_json_before_json_gz_and_none_without_either(self, tmp_path: Path) -> None:
        """A plain `.json` is preferred to a `.json.gz`, as botocore does; a missing file is None."""
        import gzip

        (tmp_path / "both.json").write_text('{"from": "json"}')
        with gzip.open(tmp_path / "both.json.gz", "wt") as compressed:
            compressed.write('{"from": "gz"}')
        with gzip.open(tmp_path / "gz.json.gz", "wt") as compressed:
            compressed.write('{"from": "gz"}')
        loader = _speedups._JSONFileLoader()
        assert loader.load_file(str(tmp_path / "both")) == {"from": "json"}
        assert loader.load_file(str(tmp_path / "gz")) == {"from": "gz"}
        assert loader.load_file(str(tmp_path / "none")) is None
        assert [loader.exists(str(tmp_path / n)) for n in ("both", "gz", "none")] == [True, True, False]

    def test_which_services_exist_without_listing_them_all(self) -> None:
        """Membership asks one service's directory; listing gives botocore's own full list."""
        from botocore.loaders import Loader

        ours = _speedups._data_loader(None)
        services = ours.list_available_services("service-2")
        assert "ssm" in services
        assert "secretsmanager" in services
        assert "no-such-service" not in services
        assert 42 not in services
        assert ours._cache == {  # only the two services asked about were looked at
            ("list_api_versions", "ssm", "service-2"): ["2014-11-06"],
            ("list_api_versions", "secretsmanager", "service-2"): ["2017-10-17"],
        }
        everything = Loader().list_available_services("service-2")
        assert list(services) == everything
        assert len(services) == len(everything)
        assert (services[0], services[-2:]) == (everything[0], everything[-2:])

    def test_an_unknown_service_is_still_botocore_s_error(self) -> None:
        """A client of a service botocore has no data for fails as it would with botocore's own loader."""
        from botocore.exceptions import UnknownServiceError

        session = _speedups._botocore_session(None)
        with pytest.raises(UnknownServiceError) as caught:
            session.create_client("no-such-service", region_name="us-east-1")
        assert "Unknown service: 'no-such-service'. Valid service names are: " in str(caught.value)
        assert ", secretsmanager, " in str(caught.value)

    @pytest.mark.usefixtures("app_secret")
    def test_aws_data_path_is_searched_first(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, aws_proxy: AWSProxy
    ) -> None:
        """AWS_DATA_PATH comes before botocore's own data, as botocore's loader has it; loads still work."""
        monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
        monkeypatch.setenv("APP_SECRET", "secretsmanager:app/secret")
        assert AppSettings().secret == SECRET
        (session,) = creds.registry()._bases.values()
        loader = session.get_component("data_loader")
        assert loader.search_paths[0] == str(tmp_path)
        assert isinstance(loader.file_loader, _speedups._JSONFileLoader)


@pytest.mark.usefixtures("role_env")
def test_every_request_names_the_library_in_its_user_agent(
    aws_proxy: AWSProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS sees (and CloudTrail records) which library read the secret, the AssumeRole included."""
    from pydantic_aws_settings import __version__

    agents: list[tuple[str, str]] = []
    classify = proxy_module._classify

    def classify_and_record(handler: Any, body: bytes) -> tuple[str, Any, bool]:
        operation, parsed, is_json = classify(handler, body)
        agents.append((operation, handler.headers.get("User-Agent", "")))
        return operation, parsed, is_json

    monkeypatch.setattr(proxy_module, "_classify", classify_and_record)
    assert AppSettings().secret == SECRET
    assert sorted(operation for operation, _ in agents) == ["AssumeRole", "BatchGetSecretValue"]
    assert all(f"pydantic-aws-settings/{__version__}" in agent for _, agent in agents), agents


@pytest.mark.usefixtures("role_env")
class TestClientRegistry:
    """The process's sessions and clients have one owner, which a reset or a fork empties."""

    def test_one_registry_per_process(self) -> None:
        """registry() gives the same instance every time; a reset empties it and keeps it."""
        first = creds.registry()
        assert AppSettings().secret == SECRET
        creds.reset()
        assert creds.registry() is first
        assert not first._clients

    def test_after_fork_drops_everything_without_joining(self, aws_proxy: AWSProxy) -> None:
        """A forked child drops the parent's sessions, clients, lock and AssumeRole threads at once."""
        assert AppSettings().secret == SECRET
        registry = creds.registry()
        client = creds.client_for("secretsmanager", None, resolve_options())
        release = threading.Event()

        def assume() -> dict[str, str]:
            release.wait(10)
            return {"access_key": "key"}

        _prefetched(assume)
        registry._lock.acquire()  # as if a thread of the parent held it when the process forked
        started = time.perf_counter()
        try:
            registry.after_fork()
        finally:
            release.set()
        assert time.perf_counter() - started < 1  # not the 10 s of the AssumeRole in flight
        held = (registry._in_flight, registry._clients, registry._roles, registry._bases)
        assert [len(each) for each in held] == [0, 0, 0, 0]
        assert not registry._lock.locked()
        assert creds.client_for("secretsmanager", None, resolve_options()) is not client
        assert AppSettings().secret == SECRET
        assert aws_proxy.counts["AssumeRole"] == 2  # the child's own role session assumed the role again


class TestIdentity:
    """The identity keys sessions and cached values: role options and the base credentials' environment."""

    def test_another_access_key_is_another_identity(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Another access key id is another identity, and the key id never appears in its repr."""
        first = creds.identity_for(resolve_options())
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAOTHERKEY00000001")
        second = creds.identity_for(resolve_options())
        assert first != second
        assert "AKIAOTHERKEY00000001" not in repr(second)

    def test_role_options_make_the_identity(self) -> None:
        """Role, external id, session name and duration each make a different identity."""
        make: Callable[..., creds.Identity] = lambda **kw: creds.identity_for(resolve_options(kw))  # noqa: E731
        base = make(aws_role_arn=ROLE)
        assert base == make(aws_role_arn=ROLE)
        others = [
            make(),
            make(aws_role_arn=ROLE_A),
            make(aws_role_arn=ROLE, aws_external_id="x"),
            make(aws_role_arn=ROLE, aws_role_session_name="other"),
            make(aws_role_arn=ROLE, aws_role_duration=900),
        ]
        assert len({base, *others}) == 6

    def test_the_environment_is_an_argument(self) -> None:
        """A given environment is read instead of the process's: its profile and key make the identity."""
        given = {"AWS_PROFILE": "billing", "AWS_ACCESS_KEY_ID": "AKIAOTHERKEY00000001"}
        identity = creds.identity_for(resolve_options(), environ=given)
        assert identity.profile == "billing"
        assert identity != creds.identity_for(resolve_options())  # the process's: no profile, key "testing"
        assert identity == creds.identity_for(resolve_options(), environ=dict(given))
