"""Options are finite values the platform can represent: anything else is an error naming where it was set.

`PYDANTIC_AWS_READ_TIMEOUT=inf` or `1e12` used to be accepted, and then every field of every load failed
with `timestamp out of range for platform time_t` (a socket timeout), naming no variable.
"""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings import AWSBaseSettings, AWSSettingsError, AWSSettingsSource
from pydantic_aws_settings.options import resolve_options
from pydantic_aws_settings.testing import FakeAWS

#: Each option that is a number, with the largest value it accepts (documented in the options reference).
MAXIMA = {
    "PYDANTIC_AWS_ROLE_DURATION": 43_200,
    "PYDANTIC_AWS_CACHE_TTL": 315_360_000,
    "PYDANTIC_AWS_MAX_STALE": 315_360_000,
    "PYDANTIC_AWS_CONNECT_TIMEOUT": 86_400,
    "PYDANTIC_AWS_READ_TIMEOUT": 86_400,
    "PYDANTIC_AWS_MAX_ATTEMPTS": 100,
    "PYDANTIC_AWS_MAX_WORKERS": 1_000,
    "PYDANTIC_AWS_REFRESH_AHEAD": 315_360_000,
    "PYDANTIC_AWS_THROTTLE_TIMEOUT": 86_400,
}
ATTRIBUTES = {
    "PYDANTIC_AWS_ROLE_DURATION": "role_duration",
    "PYDANTIC_AWS_CACHE_TTL": "cache_ttl",
    "PYDANTIC_AWS_MAX_STALE": "max_stale",
    "PYDANTIC_AWS_CONNECT_TIMEOUT": "connect_timeout",
    "PYDANTIC_AWS_READ_TIMEOUT": "read_timeout",
    "PYDANTIC_AWS_MAX_ATTEMPTS": "max_attempts",
    "PYDANTIC_AWS_MAX_WORKERS": "max_workers",
    "PYDANTIC_AWS_REFRESH_AHEAD": "refresh_ahead",
    "PYDANTIC_AWS_THROTTLE_TIMEOUT": "throttle_timeout",
}
SECONDS = [name for name in MAXIMA if name not in ("PYDANTIC_AWS_MAX_ATTEMPTS", "PYDANTIC_AWS_MAX_WORKERS")]


class TestBounds:
    """Every numeric option has a finite maximum; past it, or infinite, it is refused before any request."""

    @pytest.mark.parametrize("variable", SECONDS)
    @pytest.mark.parametrize("text", ["inf", "Infinity", "-inf", "1e12", "1e400", "nan"])
    def test_unrepresentable_seconds_name_the_variable(self, variable: str, text: str) -> None:
        """`inf`, `1e12`, a float overflow or NaN is an AWSSettingsError naming the variable."""
        with pytest.raises(AWSSettingsError, match=variable):
            resolve_options({}, {}, {variable: text})

    @pytest.mark.parametrize("variable", list(MAXIMA))
    def test_the_maximum_is_accepted_and_one_more_is_not(self, variable: str) -> None:
        """The documented maximum is the largest value accepted; the message says what the maximum is."""
        maximum = MAXIMA[variable]
        assert getattr(resolve_options({}, {}, {variable: str(maximum)}), ATTRIBUTES[variable]) == maximum
        with pytest.raises(AWSSettingsError, match=f"{variable}: must be at most {maximum}"):
            resolve_options({}, {}, {variable: str(maximum + 1)})

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("aws_read_timeout", float("inf")),
            ("aws_cache_ttl", 1e12),
            ("aws_max_stale", 10**400),
            ("aws_max_workers", float("inf")),
            ("aws_max_workers", 10**12),
            ("aws_role_duration", float("nan")),
        ],
    )
    def test_config_values_are_bounded_too(self, key: str, value: object) -> None:
        """A model_config key or keyword is held to the same bounds, and an error names the key."""
        with pytest.raises(AWSSettingsError, match=key):
            resolve_options({}, {key: value}, {})
        with pytest.raises(AWSSettingsError, match=key):
            resolve_options({key: value}, {}, {})

    def test_a_load_fails_before_any_request(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`Settings()` with READ_TIMEOUT=inf raises the option's error and sends nothing."""

        class Settings(AWSBaseSettings):
            model_config = SettingsConfigDict(env_prefix="APP_")
            url: str

        monkeypatch.setenv("APP_URL", "ssm:/bounds/url")
        monkeypatch.setenv("PYDANTIC_AWS_READ_TIMEOUT", "inf")
        with FakeAWS(parameters={"/bounds/url": "https://example"}) as aws:
            with pytest.raises(AWSSettingsError, match="PYDANTIC_AWS_READ_TIMEOUT"):
                Settings()
            with pytest.raises(AWSSettingsError, match="aws_cache_ttl"):
                AWSSettingsSource(Settings, aws_cache_ttl=float("inf"))
            assert sum(aws.requests.values()) == 0
