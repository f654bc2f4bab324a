"""`pydantic-aws-settings demo`: the whole library against a loopback AWS endpoint, in one command.

It starts moto's server on 127.0.0.1 (the `demo` extra installs it), seeds a JSON database secret, an API
key, a plain parameter, a StringList and a SecureString, sets the environment variables the way an
operator would, loads an example `Settings` through the real library and prints each field, where its
value came from and the value, secrets masked. Then it stops the endpoint. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings._state import reset
from pydantic_aws_settings.cli.check import render_table, rows_for
from pydantic_aws_settings.markers import Parameter
from pydantic_aws_settings.source import AWSBaseSettings, recording_origins

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from pydantic_aws_settings.cli._common import Subparsers

__all__ = ["OPERATOR_ENVIRONMENT", "DemoSettings", "add_parser", "demo", "run", "seed"]


class Database(BaseModel):
    """The database connection, filled from one JSON secret."""

    host: str
    port: int = 5432
    username: str
    password: SecretStr


class DemoSettings(AWSBaseSettings):
    """The example settings of the demo and the README."""

    model_config = SettingsConfigDict(env_prefix="DEMO_", env_nested_delimiter="__")

    database: Database
    stripe_key: SecretStr
    api_url: Annotated[str, Parameter("/demo/api/url")]
    allowed_hosts: list[str]
    signing_key: SecretStr
    log_level: str = "INFO"
    workers: int = 4


#: The environment an operator would set for `DemoSettings`.
OPERATOR_ENVIRONMENT = {
    "DEMO_DATABASE": "secretsmanager:demo/database",
    "DEMO_STRIPE_KEY": "secretsmanager:demo/stripe#api_key",
    "DEMO_ALLOWED_HOSTS": "ssm:/demo/app/allowed_hosts",
    "DEMO_SIGNING_KEY": "ssm:/demo/app/signing_key",
    "DEMO_LOG_LEVEL": "DEBUG",
}

_FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def seed(endpoint_url: str) -> None:
    """Create the demo's secrets and parameters at an endpoint."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id="demo",
        aws_secret_access_key="demo",  # noqa: S106 - the loopback endpoint takes any key
        region_name="us-east-1",
    )
    secrets = session.client("secretsmanager", endpoint_url=endpoint_url)
    ssm = session.client("ssm", endpoint_url=endpoint_url)
    database = {"host": "db.internal", "port": 5433, "username": "app", "password": "demo-db-password"}
    secrets.create_secret(Name="demo/database", SecretString=json.dumps(database))
    secrets.create_secret(Name="demo/stripe", SecretString=json.dumps({"api_key": "sk_demo_not_a_real_key"}))
    ssm.put_parameter(Name="/demo/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name="/demo/app/allowed_hosts", Value="example.com,www.example.com", Type="StringList")
    ssm.put_parameter(Name="/demo/app/signing_key", Value="demo-signing-key", Type="SecureString")


def _lines(endpoint_url: str) -> Iterator[str]:
    yield f"loopback AWS endpoint (moto) at {endpoint_url}; seeded 2 secrets and 3 parameters"
    yield "operator's environment:"
    for name, value in OPERATOR_ENVIRONMENT.items():
        yield f"  {name}={value}"
    with recording_origins() as origins:
        settings = DemoSettings()
    yield ""
    yield render_table(rows_for(settings, origins))


def demo() -> int:
    """Run the demo; return the exit status."""
    from unittest import mock

    from pydantic_aws_settings._loopback import MotoServer

    server = MotoServer()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - say why, plainly
        print(
            f"demo: could not start moto's server ({exc});"
            " install the demo extra: pip install 'pydantic-aws-settings[demo]'"
        )
        return 1
    try:
        seed(server.url)
        environment = {**_FAKE_CREDENTIALS, **OPERATOR_ENVIRONMENT, "AWS_ENDPOINT_URL": server.url}
        with mock.patch.dict(os.environ, environment):
            reset()
            for line in _lines(server.url):
                print(line)
            reset()
    finally:
        server.stop()
    return 0


def add_parser(subparsers: Subparsers) -> None:
    """Add the `demo` command."""
    sub = subparsers.add_parser(
        "demo",
        help="start a loopback AWS endpoint, seed examples, load an example Settings (needs the demo extra)",
        description=(
            "Start moto's server on 127.0.0.1, seed example secrets and parameters, load an example"
            " settings class and print the same table as check. Needs moto's server:"
            " pip install 'pydantic-aws-settings[demo]'."
        ),
    )
    sub.set_defaults(run=run, parser=sub)


def run(args: argparse.Namespace) -> int:
    """Run `demo`; return the exit status."""
    return demo()
