"""One whole process: interpreter start to settings loaded, cold, for one loader.

`python benchmarks/child.py LOADER` imports only what LOADER needs, loads the benchmark's configuration
once (the environment points boto3 at the proxy and, for ours, holds the references), checks the values,
and prints the wall-clock time at which the settings were loaded, for the parent to subtract its own
time of launch from. LOADER is `bare` (the interpreter alone), `plain` (pydantic-settings from the
environment), `floor` (plain, then a first boto3 client and one GetParameter: what any loader built on
pydantic-settings and boto3 pays at least), `ours` or `powertools` (get_parameters_by_name +
get_secrets_by_name), or `agent` / `agent_sm`: ours, with the environment pointing it at a node-local
cache (PYDANTIC_AWS_AGENT_URL). After the time it prints which of boto3 and botocore were imported.
"""

from __future__ import annotations

import time


def _annotations() -> dict[str, type]:
    from pydantic import SecretStr

    from scenario import EXPECTED, SENSITIVE

    return {name: SecretStr if name in SENSITIVE else str for name in EXPECTED}


def _ours() -> object:
    from pydantic_settings import SettingsConfigDict

    from pydantic_aws_settings import AWSBaseSettings

    namespace = {"__annotations__": _annotations(), "model_config": SettingsConfigDict(env_prefix="BENCH_")}
    return type("Settings", (AWSBaseSettings,), namespace)()


def _plain() -> object:
    from pydantic_settings import BaseSettings, SettingsConfigDict

    namespace = {"__annotations__": _annotations(), "model_config": SettingsConfigDict(env_prefix="PLAIN_")}
    return type("Settings", (BaseSettings,), namespace)()


def _floor() -> object:
    """The floor of any pydantic-settings loader that reads AWS: plain settings, boto3, 1 round trip."""
    settings = _plain()
    import boto3

    from scenario import PARAMETER_NAMES

    boto3.session.Session().client("ssm").get_parameter(Name=PARAMETER_NAMES[-1])
    return settings


def _powertools() -> object:
    import json

    from aws_lambda_powertools.utilities import parameters
    from pydantic import BaseModel

    from scenario import JSON_KEY, JSON_SECRETS, PARAMETER_NAMES, SECRET_NAMES

    params = parameters.get_parameters_by_name({name: {} for name in PARAMETER_NAMES}, decrypt=True)
    secrets = parameters.get_secrets_by_name(SECRET_NAMES)
    values: dict[str, object] = {f"p{i:02d}": params[name] for i, name in enumerate(PARAMETER_NAMES)}
    for i, name in enumerate(SECRET_NAMES):
        value = secrets[name]
        values[f"s{i:02d}"] = json.loads(str(value))[JSON_KEY] if i < JSON_SECRETS else value
    model = type("Settings", (BaseModel,), {"__annotations__": _annotations()})
    return model(**values)


def main() -> None:
    """Load with the loader named on the command line and print when it was loaded."""
    import sys

    which = sys.argv[1]
    if which == "bare":
        print(time.time())
        return
    loaders = {"ours": _ours, "plain": _plain, "floor": _floor, "powertools": _powertools}
    loaders.update(agent=_ours, agent_sm=_ours)  # the environment names the cache
    settings = loaders[which]()
    loaded = time.time()
    imported = [m for m in ("boto3", "botocore") if m in sys.modules]
    from scenario import EXPECTED, revealed

    if revealed(settings.model_dump()) != EXPECTED:  # type: ignore[attr-defined]
        raise SystemExit(f"{which}: the values loaded are not the configuration's")
    print(loaded, *imported)


if __name__ == "__main__":
    main()
