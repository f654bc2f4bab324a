"""The benchmark's configuration: what is seeded at the endpoint, and how each loader names it.

Standard library only (boto3 is imported inside `seed`): the whole-process children import this module
too, and it must cost them nothing that a real application would not pay.

The configuration is the one of issue 4: 30 SSM parameters (5 SecureString) and 10 Secrets Manager
secrets (3 JSON objects of which one key is read). pydantic-settings' AWSSecretsManagerSettingsSource can
only read a secret holding a JSON object whose keys are field names, so it reads a parallel set of ten
secrets (`bench-ps/sNN`, each `{"sNN": value}`) holding the same values: same count, same sizes.
"""

from __future__ import annotations

import json
import os
from typing import Any

PARAMETERS = 30
SECURE = 5
SECRETS = 10
JSON_SECRETS = 3
REGION = "us-east-1"

#: The SSM path holding every parameter (pydantic-settings' source reads it as a whole).
PATH = "/bench/app"
PARAMETER_NAMES = [f"{PATH}/p{i:02d}" for i in range(PARAMETERS)]
SECRET_NAMES = [f"bench/s{i:02d}" for i in range(SECRETS)]
#: The secrets pydantic-settings' source reads: one JSON object per secret, keyed by field name.
PS_SECRET_NAMES = [f"bench-ps/s{i:02d}" for i in range(SECRETS)]
#: The key read from each JSON secret.
JSON_KEY = "password"

#: Field name -> expected value, for checking that every loader read the same configuration.
EXPECTED: dict[str, str] = {
    **{f"p{i:02d}": f"value-{i:02d}-{'secure' if i < SECURE else 'plain'}" for i in range(PARAMETERS)},
    **{f"s{i:02d}": f"{'pw' if i < JSON_SECRETS else 'secret'}-{i:02d}" for i in range(SECRETS)},
}
SENSITIVE = frozenset({f"p{i:02d}" for i in range(SECURE)} | {f"s{i:02d}" for i in range(SECRETS)})


def references() -> dict[str, str]:
    """The operator's environment for pydantic-aws-settings: one reference per field, prefix BENCH_."""
    environ = {f"BENCH_P{i:02d}": f"ssm:{name}" for i, name in enumerate(PARAMETER_NAMES)}
    for i, name in enumerate(SECRET_NAMES):
        suffix = f"#{JSON_KEY}" if i < JSON_SECRETS else ""
        environ[f"BENCH_S{i:02d}"] = f"secretsmanager:{name}{suffix}"
    return environ


def plain_values() -> dict[str, str]:
    """The same values, already resolved, for plain pydantic-settings under its own prefix PLAIN_."""
    return {f"PLAIN_{field.upper()}": value for field, value in EXPECTED.items()}


def seed(endpoint: str) -> None:
    """Create every parameter and secret at the endpoint (moto itself, not the counting proxy)."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION
    )
    ssm = session.client("ssm", endpoint_url=endpoint)
    sm = session.client("secretsmanager", endpoint_url=endpoint)
    for i, name in enumerate(PARAMETER_NAMES):
        kind = "SecureString" if i < SECURE else "String"
        ssm.put_parameter(Name=name, Value=EXPECTED[f"p{i:02d}"], Type=kind)
    for i, (name, ps_name) in enumerate(zip(SECRET_NAMES, PS_SECRET_NAMES, strict=True)):
        field = f"s{i:02d}"
        value = EXPECTED[field]
        if i < JSON_SECRETS:
            body = json.dumps({"username": f"user-{i:02d}", JSON_KEY: value, "host": "db.internal"})
            sm.create_secret(Name=name, SecretString=body)
        else:
            sm.create_secret(Name=name, SecretString=value)
        sm.create_secret(Name=ps_name, SecretString=json.dumps({field: value}))


def isolated_environ(endpoint: str, directory: str | None = None) -> dict[str, str]:
    """A copy of os.environ without AWS_*/PYDANTIC_AWS_* settings, aimed at `endpoint` with dummy keys.

    The shared config and credentials files are empty files in `directory` (a new temporary directory
    when None), so no profile of the machine interferes.
    """
    if directory is None:
        import tempfile

        directory = tempfile.mkdtemp(prefix="bench-aws-")
    config = os.path.join(directory, "config")
    credentials = os.path.join(directory, "credentials")
    for path in (config, credentials):
        with open(path, "w"):
            pass
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PYDANTIC_AWS_", "POWERTOOLS_", "BENCH_", "PLAIN_"))
        and k != "PYDANTIC_SETTINGS_DEBUG"
    }
    environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=config,
        AWS_SHARED_CREDENTIALS_FILE=credentials,
        AWS_RETRY_MODE="standard",
        AWS_MAX_ATTEMPTS="3",
        AWS_ENDPOINT_URL=endpoint,
    )
    return environ


def revealed(values: dict[str, Any]) -> dict[str, Any]:
    """A model dump with SecretStr values revealed, for comparison with EXPECTED."""
    return {k: (v.get_secret_value() if hasattr(v, "get_secret_value") else v) for k, v in values.items()}
