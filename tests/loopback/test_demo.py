"""`pydantic-aws-settings demo` (`make demo`) prints the masked table from a loopback endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
