"""Code run in a fresh interpreter (this one's ``sys.executable``), for what a new process imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

__all__ = ["run_python"]


def run_python(code: str, env: dict[str, str] | None = None) -> dict[str, bool]:
    """Run code in a fresh interpreter and return the JSON it prints."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True, env=env
    )
    loaded: dict[str, bool] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded
