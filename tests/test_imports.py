"""boto3 is imported only when a reference has to be fetched."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run_python(code: str, env: dict[str, str] | None = None) -> dict[str, bool]:
    """Run code in a fresh interpreter and return the JSON it prints."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, env=env
    )
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


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

    def test_load_without_references_does_not_import_boto3(self, aws_proxy: object) -> None:
        """A load whose values are all plain imports neither boto3 nor botocore and sends no request."""
        import os

        env = {**os.environ, "APP_NAME": "plain", "APP_PORT": "8080"}
        loaded = run_python(
            """
            import json, sys
            from typing import Annotated
            from pydantic_settings import SettingsConfigDict
            from pydantic_aws_settings import AWSBaseSettings, Parameter

            class Settings(AWSBaseSettings):
                model_config = SettingsConfigDict(env_prefix="APP_")
                name: str
                port: int
                url: Annotated[str, Parameter("/never")] = "unused"

            Settings(url="given")
            print(json.dumps({m: m in sys.modules for m in ("boto3", "botocore")}))
            """,
            env,
        )
        assert loaded == {"boto3": False, "botocore": False}
        assert aws_proxy.counts == {}  # type: ignore[attr-defined]

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
