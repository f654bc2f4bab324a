"""`pydantic-aws-settings demo` (`make demo`) prints the masked table from a loopback endpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pydantic_aws_settings.cli import MASK
from pydantic_aws_settings.cli.demo import OPERATOR_ENVIRONMENT

SCRIPT = Path(sys.executable).parent / "pydantic-aws-settings"
SEEDED_SECRETS = ("demo-db-password", "sk_demo_not_a_real_key", "demo-signing-key")


class TestDemo:
    """The demo starts its own endpoint, loads through the real library and masks the secrets."""

    def test_demo_prints_origins_and_masked_values(self) -> None:
        """Exit 0; each row with its origin; plain values shown, secrets masked, seeded secrets absent."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYDANTIC_AWS_"))}
        result = subprocess.run(
            [str(SCRIPT), "demo"], capture_output=True, text=True, timeout=120, env=environ, check=False
        )
        assert result.returncode == 0, result.stderr
        out = result.stdout
        for variable in OPERATOR_ENVIRONMENT:
            assert variable in out
        assert "https://api.example.com" in out  # a plain parameter, shown
        assert '["example.com", "www.example.com"]' in out  # a StringList into a list field
        assert "declared" in out  # the marker's origin
        assert "default" in out
        assert out.count(MASK) >= 6  # the database model's four fields, the Stripe key, the SecureString
        for secret in SEEDED_SECRETS:
            assert secret not in out
            assert secret not in result.stderr


class TestDemoServe:
    """`demo --serve` keeps a seeded endpoint up, prints what to export, and stops cleanly on SIGTERM."""

    @pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
    def test_serve_prints_exports_that_load_the_docs_settings_and_stops_on_a_signal(
        self, stop: signal.Signals
    ) -> None:
        """The export lines point a new process at the docs' secrets; the signal stops the server and moto."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYDANTIC_AWS_"))}
        process = subprocess.Popen(
            [str(SCRIPT), "demo", "--serve"], stdout=subprocess.PIPE, text=True, env=environ
        )
        assert process.stdout is not None
        try:
            exported: dict[str, str] = {}
            for line in process.stdout:
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").strip().partition("=")
                    exported[name] = value
                if "AWS_EC2_METADATA_DISABLED" in exported:
                    break
            assert set(exported) >= {
                "AWS_ENDPOINT_URL",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_REGION",
            }
            port = exported["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
            program = (
                "from pydantic import SecretStr\n"
                "from pydantic_aws_settings import AWSBaseSettings, AWSSettingsConfigDict\n"
                "class Settings(AWSBaseSettings):\n"
                "    model_config = AWSSettingsConfigDict(env_prefix='APP_')\n"
                "    db_password: SecretStr\n"
                "    api_url: str\n"
                "    stripe_key: SecretStr\n"
                "s = Settings()\n"
                "assert s.db_password.get_secret_value() == 'docs-db-password'\n"
                "assert s.stripe_key.get_secret_value() == 'sk_docs'\n"
                "print(s.api_url)\n"
            )
            loaded = subprocess.run(
                [sys.executable, "-c", program],
                env={
                    **environ,
                    **exported,
                    "APP_DB_PASSWORD": "secretsmanager:prod/db#password",
                    "APP_API_URL": "ssm:/prod/api/url",
                    "APP_STRIPE_KEY": "secretsmanager:prod/stripe#api_key",
                },
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert loaded.returncode == 0, loaded.stderr
            assert loaded.stdout == "https://api.example.com\n"
            process.send_signal(stop)
            rest = process.stdout.read()
            assert process.wait(timeout=30) == 0
            assert "endpoint stopped" in rest
            moto = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
            assert f"-p {port}" not in moto  # no stray moto_server
        finally:
            if process.poll() is None:  # a failed assertion: SIGTERM first, so that moto stops too
                process.terminate()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            process.stdout.close()
