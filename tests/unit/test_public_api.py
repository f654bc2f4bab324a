"""The public surface is pinned: changing it is a decision, never an accident."""

from __future__ import annotations

import inspect

import pydantic_settings

import pydantic_aws_settings

EXPECTED = [
    "AWSBaseSettings",
    "AWSSettingsConfigDict",
    "AWSSettingsError",
    "AWSSettingsSource",
    "Failure",
    "InvalidReferenceError",
    "LiveSettings",
    "Origin",
    "Parameter",
    "ParameterReference",
    "ResolutionError",
    "SecretReference",
    "SecretsManager",
    "clear_cache",
    "format_reference",
    "invalidate",
    "invalidate_field",
    "parse_reference",
]


class TestPublicApi:
    """`__all__` is sorted, complete, documented, and the error tree is as the contract says."""

    def test_all_is_pinned_and_sorted(self) -> None:
        """`__all__` is exactly the expected names, in sorted order."""
        assert pydantic_aws_settings.__all__ == EXPECTED
        assert sorted(EXPECTED) == EXPECTED

    def test_every_public_name_exists_and_has_a_docstring(self) -> None:
        """Each exported name resolves and carries its own docstring."""
        for name in EXPECTED:
            member = getattr(pydantic_aws_settings, name)
            assert inspect.getdoc(member), name

    def test_error_tree(self) -> None:
        """ResolutionError and InvalidReferenceError are pydantic-settings SettingsErrors, and ValueErrors."""
        for error in (pydantic_aws_settings.ResolutionError, pydantic_aws_settings.InvalidReferenceError):
            assert issubclass(error, pydantic_aws_settings.AWSSettingsError)
            assert issubclass(error, pydantic_settings.SettingsError)
            assert issubclass(error, ValueError)

    def test_base_settings_defaults(self) -> None:
        """AWSBaseSettings is a BaseSettings that hides inputs in validation errors."""
        assert issubclass(pydantic_aws_settings.AWSBaseSettings, pydantic_settings.BaseSettings)
        assert pydantic_aws_settings.AWSBaseSettings.model_config["hide_input_in_errors"] is True
