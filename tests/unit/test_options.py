"""Library options: a keyword beats model_config, which beats the environment variable."""

from __future__ import annotations

import inspect
import re
from typing import get_type_hints

import pytest
from pydantic_settings import BaseSettings

from pydantic_aws_settings import AWSSettingsConfigDict, AWSSettingsError, AWSSettingsSource
from pydantic_aws_settings.options import OPTION_KEYS, OPTION_SPECS, AWSOptions, Options, resolve_options

ROLE = "arn:aws:iam::123456789012:role/app"


class TestOptions:
    """Merging and checking the options."""

    def test_defaults(self) -> None:
        """With nothing set, the contract's defaults apply."""
        assert resolve_options({}, {}, {}) == Options()
        assert (Options().cache_ttl, Options().max_stale, Options().role_duration) == (300, 86400, 3600)

    def test_keyword_beats_config_beats_environment(self) -> None:
        """Each spelling wins over the ones below it."""
        environ = {"PYDANTIC_AWS_CACHE_TTL": "10"}
        assert resolve_options({}, {}, environ).cache_ttl == 10
        assert resolve_options({}, {"aws_cache_ttl": 20}, environ).cache_ttl == 20
        assert resolve_options({"aws_cache_ttl": 30}, {"aws_cache_ttl": 20}, environ).cache_ttl == 30

    def test_empty_config_value_opts_out_of_an_environment_role(self) -> None:
        """`aws_role_arn=""` in model_config means no role, whatever the variable says; None defers."""
        environ = {"PYDANTIC_AWS_ROLE_ARN": ROLE}
        assert resolve_options({}, {"aws_role_arn": ""}, environ).role_arn is None
        assert resolve_options({}, {"aws_role_arn": None}, environ).role_arn == ROLE

    def test_region_falls_back_to_aws_region(self) -> None:
        """PYDANTIC_AWS_REGION wins; without it, AWS_REGION."""
        assert resolve_options({}, {}, {"AWS_REGION": "eu-west-1"}).region == "eu-west-1"
        environ = {"AWS_REGION": "eu-west-1", "PYDANTIC_AWS_REGION": "us-west-2"}
        assert resolve_options({}, {}, environ).region == "us-west-2"

    def test_import_list(self) -> None:
        """PYDANTIC_AWS_IMPORT is split on commas, blanks dropped; a list in model_config works too."""
        environ = {"PYDANTIC_AWS_IMPORT": " ssm:/a/ ,, secretsmanager:b "}
        assert resolve_options({}, {}, environ).import_ == ("ssm:/a/", "secretsmanager:b")
        assert resolve_options({}, {"aws_import": ["ssm:/c/"]}, {}).import_ == ("ssm:/c/",)

    @pytest.mark.parametrize(
        ("environ", "named"),
        [
            ({"PYDANTIC_AWS_CACHE_TTL": "soon"}, "PYDANTIC_AWS_CACHE_TTL"),
            ({"PYDANTIC_AWS_CACHE_TTL": "-1"}, "PYDANTIC_AWS_CACHE_TTL"),
            ({"PYDANTIC_AWS_ROLE_DURATION": "600"}, "PYDANTIC_AWS_ROLE_DURATION"),
            ({"PYDANTIC_AWS_MAX_ATTEMPTS": "1.5"}, "PYDANTIC_AWS_MAX_ATTEMPTS"),
            ({"PYDANTIC_AWS_READ_TIMEOUT": "nan"}, "PYDANTIC_AWS_READ_TIMEOUT"),
        ],
    )
    def test_bad_values_name_the_variable(self, environ: dict[str, str], named: str) -> None:
        """A bad value is an AWSSettingsError naming where it was set."""
        with pytest.raises(AWSSettingsError, match=named):
            resolve_options({}, {}, environ)

    def test_bad_config_value_names_the_key(self) -> None:
        """A bad model_config value names the key."""
        with pytest.raises(AWSSettingsError, match="aws_max_stale"):
            resolve_options({}, {"aws_max_stale": "forever"}, {})

    def test_every_option_has_three_spellings(self) -> None:
        """Each option's config key is its variable in lower case without PYDANTIC_; `AWSOptions` has each."""
        for spec in OPTION_SPECS:
            assert spec.variable.startswith("PYDANTIC_AWS_")
            assert spec.config_key == spec.variable.lower().removeprefix("pydantic_")
        assert list(AWSOptions.__annotations__) == [spec.config_key for spec in OPTION_SPECS]
        assert set(AWSSettingsConfigDict.__optional_keys__) >= OPTION_KEYS == set(AWSOptions.__annotations__)

    def test_every_option_is_documented_as_a_source_keyword(self) -> None:
        """`AWSSettingsSource`'s docstring lists each `AWSOptions` key with its type, in order."""
        doc = inspect.cleandoc(AWSSettingsSource.__doc__ or "")  # Python 3.13 dedents docstrings itself
        listed = re.findall(r"^ {4}(aws_\w+) \((.*?)\):", doc, re.MULTILINE)
        assert listed == [(key, str(kind)) for key, kind in get_type_hints(AWSOptions).items()]

    def test_an_unknown_source_keyword_is_an_error(self) -> None:
        """A misspelt keyword is a TypeError, as for any function, not an option silently ignored."""

        class Settings(BaseSettings):
            pass

        with pytest.raises(TypeError, match="aws_regoin"):
            AWSSettingsSource(Settings, aws_regoin="eu-west-1")  # type: ignore[call-arg]
        assert AWSSettingsSource(Settings, aws_region=" eu-west-1 ").options.region == "eu-west-1"
