"""boto3 is imported only when a reference has to be fetched."""

from __future__ import annotations

from support.interpreter import run_python


class TestLazyImports:
    """The package and reference-free loads leave boto3 and botocore unimported."""

    def test_import_does_not_import_boto3(self) -> None:
        """`import pydantic_aws_settings` pulls in neither boto3 nor botocore."""
        loaded = run_python(
            """
            import json, sys
            import pydantic_aws_settings
            print(json.dumps({m: m in sys.modules for m in ("boto3", "botocore")}))
            """
        )
        assert loaded == {"boto3": False, "botocore": False}

    def test_markers_and_live_settings_are_imported_when_first_used(self) -> None:
        """`Parameter`, `SecretsManager` and `LiveSettings` are built on first use; a load needs none."""
        loaded = run_python(
            """
            import json, sys
            from pydantic_settings import SettingsConfigDict
            import pydantic_aws_settings
            from pydantic_aws_settings import AWSBaseSettings

            seen = {}
            def note(when):
                for module in ("markers", "live"):
                    seen[f"{module} {when}"] = f"pydantic_aws_settings.{module}" in sys.modules

            note("after import")

            class Settings(AWSBaseSettings):
                model_config = SettingsConfigDict(env_prefix="APP_")
                name: str = "plain"

            Settings()
            note("after a load")
            from pydantic_aws_settings import Parameter
            note("after from-import")
            seen["same class"] = Parameter is pydantic_aws_settings.markers.Parameter
            lazy = {"LiveSettings", "Parameter", "SecretsManager"}
            seen["listed"] = lazy <= set(dir(pydantic_aws_settings))
            print(json.dumps(seen))
            """
        )
        assert loaded == {
            "markers after import": False,
            "live after import": False,
            "markers after a load": False,
            "live after a load": False,
            "markers after from-import": True,
            "live after from-import": False,
            "same class": True,
            "listed": True,
        }
