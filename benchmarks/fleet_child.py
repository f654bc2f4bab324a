"""One instance of the scaled real run: a fresh interpreter that loads the benchmark's Settings once.

Prints the wall-clock times at which the load began and ended; exits 1 when the load failed (a failed start).
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    """Load the configuration (30 parameters, 10 secrets) through the environment's references."""
    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict

    from pydantic_aws_settings import AWSBaseSettings
    from scenario import EXPECTED, SENSITIVE, revealed

    fields = {name: SecretStr if name in SENSITIVE else str for name in EXPECTED}
    namespace = {"__annotations__": fields, "model_config": SettingsConfigDict(env_prefix="BENCH_")}
    cls = type("Settings", (AWSBaseSettings,), namespace)
    began = time.time()
    try:
        settings = cls()
    except Exception as exc:  # noqa: BLE001 - a failed start, reported by its type only
        print(began, time.time(), type(exc).__name__)
        return 1
    ended = time.time()
    ok = revealed(settings.model_dump()) == EXPECTED
    print(began, ended, "ok" if ok else "wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
