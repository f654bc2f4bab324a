"""One load fetches each distinct reference once, in the fewest batches, sent concurrently."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import create_model

from pydantic_aws_settings import AWSBaseSettings


@pytest.fixture
def fifty(ssm: Any, sm: Any, monkeypatch: pytest.MonkeyPatch) -> type[AWSBaseSettings]:
    """25 parameters and 25 secrets, each named by an environment variable; returns the settings class."""
    for i in range(25):
        ssm.put_parameter(
            Name=f"/bulk/p{i:02d}", Value=f"param-{i}", Type="SecureString" if i % 5 == 0 else "String"
        )
        sm.create_secret(Name=f"bulk/s{i:02d}", SecretString=f"secret-{i}")
        monkeypatch.setenv(f"P{i:02d}", f"ssm:/bulk/p{i:02d}")
        monkeypatch.setenv(f"S{i:02d}", f"secretsmanager:bulk/s{i:02d}")
    fields: dict[str, Any] = {f"p{i:02d}": (str, ...) for i in range(25)}
    fields.update({f"s{i:02d}": (str, ...) for i in range(25)})
    return create_model("Fifty", __base__=AWSBaseSettings, **fields)


class TestBatching:
    """Request counts and concurrency of a cold load."""

    def test_fifty_references_in_five_concurrent_requests(
        self, fifty: type[AWSBaseSettings], aws_proxy: Any
    ) -> None:
        """25 parameters and 25 secrets: 3 GetParameters and 2 BatchGetSecretValue, overlapping in time."""
        aws_proxy.latency = 0.05
        settings = fifty()
        assert settings.p07 == "param-7"  # type: ignore[attr-defined]
        assert settings.s24 == "secret-24"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"GetParameters": 3, "BatchGetSecretValue": 2}
        assert aws_proxy.max_in_flight >= 2
        sizes = sorted(len(body.get("Names") or body.get("SecretIdList")) for _, body in aws_proxy.requests)
        assert sizes == [5, 5, 10, 10, 20]  # parameters 10+10+5, secrets 20+5
        assert all("Filters" not in body for _, body in aws_proxy.requests)

    def test_duplicate_references_are_fetched_once(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, aws_proxy: Any
    ) -> None:
        """Three fields reading keys of one secret, and a fourth reading it whole, cost one request."""
        sm.create_secret(Name="one", SecretString='{"a": "1", "b": "2", "c": "3"}')
        for name, ref in {"A": "one#a", "B": "one#b", "C": "one#c", "WHOLE": "one"}.items():
            monkeypatch.setenv(name, f"secretsmanager:{ref}")
        cls = create_model(
            "Dup", __base__=AWSBaseSettings, a=(str, ...), b=(str, ...), c=(str, ...), whole=(dict, ...)
        )
        settings = cls()
        assert (settings.a, settings.b, settings.c) == ("1", "2", "3")  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}

    def test_second_load_is_served_from_the_cache(self, fifty: type[AWSBaseSettings], aws_proxy: Any) -> None:
        """A second load within the TTL sends no request."""
        fifty()
        aws_proxy.reset()
        assert fifty().s03 == "secret-3"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {}

    def test_batch_denied_falls_back_to_get_secret_value(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, aws_proxy: Any
    ) -> None:
        """When BatchGetSecretValue is denied, each secret is read with GetSecretValue instead."""
        sm.create_secret(Name="x", SecretString="vx")
        sm.create_secret(Name="y", SecretString="vy")
        monkeypatch.setenv("X", "secretsmanager:x")
        monkeypatch.setenv("Y", "secretsmanager:y")
        aws_proxy.inject("BatchGetSecretValue", "AccessDeniedException", status=400, message="not allowed")
        cls = create_model("Denied", __base__=AWSBaseSettings, x=(str, ...), y=(str, ...))
        settings = cls()
        assert (settings.x, settings.y) == ("vx", "vy")  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetSecretValue": 2}

    def test_batch_denial_is_forgotten_after_a_while(
        self, monkeypatch: pytest.MonkeyPatch, sm: Any, aws_proxy: Any
    ) -> None:
        """A denied batch call is retried once DENIAL_MEMORY has passed, in case the policy now grants it."""
        from pydantic_aws_settings._state import state
        from pydantic_aws_settings.fetch.secretsmanager import DENIAL_MEMORY, DenialMemory

        now = [0.0]
        monkeypatch.setattr(state(), "denials", DenialMemory(clock=lambda: now[0]))
        sm.create_secret(Name="x", SecretString="vx")
        monkeypatch.setenv("X", "secretsmanager:x")
        monkeypatch.setenv("PYDANTIC_AWS_CACHE_TTL", "0")
        cls = create_model("Once", __base__=AWSBaseSettings, x=(str, ...))
        aws_proxy.inject("BatchGetSecretValue", "AccessDeniedException", times=1)
        cls()
        cls()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetSecretValue": 2}
        now[0] = DENIAL_MEMORY - 0.001
        cls()
        assert aws_proxy.counts == {"BatchGetSecretValue": 1, "GetSecretValue": 3}
        now[0] = DENIAL_MEMORY
        aws_proxy.reset()
        assert cls().x == "vx"  # type: ignore[attr-defined]
        assert aws_proxy.counts == {"BatchGetSecretValue": 1}
