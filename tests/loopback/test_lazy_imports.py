"""A load with no reference imports neither boto3 nor botocore, and sends no request to the endpoint."""

from __future__ import annotations

from support.interpreter import run_python


class TestLazyImportsOnLoopback:
    """The one lazy-import check that needs the proxy: it counts that nothing was sent."""

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
