"""The console script as a user runs it: a subprocess with the test's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["SCRIPT", "run_cli"]

#: The `pydantic-aws-settings` console script of the interpreter running the tests.
SCRIPT = Path(sys.executable).with_name("pydantic-aws-settings")


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the console script with the test's environment (aimed at the loopback proxy) plus `env`."""
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
