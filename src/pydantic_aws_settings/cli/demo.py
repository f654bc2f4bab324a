"""`pydantic-aws-settings demo`: the whole library against a loopback AWS endpoint, in one command.

It starts moto's server on 127.0.0.1 (the `demo` extra installs it), seeds a JSON database secret, an API
key, a plain parameter, a StringList and a SecureString, sets the environment variables the way an
operator would, loads an example `Settings` through the real library and prints each field, where its
value came from and the value, secrets masked. Then it stops the endpoint. Nothing leaves the machine.

`demo --serve` keeps the endpoint up instead, seeded as well with every secret and parameter the docs'
examples read (:func:`seed_docs`), and prints the variables to export in another terminal
(:func:`exports`); Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, SecretStr
from pydantic_settings import SettingsConfigDict

from pydantic_aws_settings._state import reset
from pydantic_aws_settings.cli.check import render_table, rows_for
from pydantic_aws_settings.markers import Parameter
from pydantic_aws_settings.source import AWSBaseSettings, recording_origins

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from pydantic_aws_settings._loopback import MotoServer
    from pydantic_aws_settings.cli._common import Subparsers

__all__ = [
    "OPERATOR_ENVIRONMENT",
    "SHARED_ACCOUNT_ROLE",
    "DemoSettings",
    "add_parser",
    "demo",
    "exports",
    "run",
    "seed",
    "seed_docs",
    "serve",
]


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


#: The role of the docs' other account (111122223333), which may read `shared/payments`.
SHARED_ACCOUNT_ROLE = "arn:aws:iam::111122223333:role/shared-secrets-reader"


def _clients(endpoint_url: str, *services: str, keys: dict[str, Any] | None = None) -> list[Any]:
    """Clients of the loopback endpoint, with the demo's dummy keys or the given temporary ones."""
    import boto3

    keys = keys or {"AccessKeyId": "demo", "SecretAccessKey": "demo", "SessionToken": None}
    session = boto3.session.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
        region_name="us-east-1",
    )
    # The stubs type client() per service name literal; here the name is a loop variable.
    return [session.client(service, endpoint_url=endpoint_url) for service in services]  # type: ignore[call-overload]


def seed(endpoint_url: str) -> None:
    """Create the demo's secrets and parameters at an endpoint."""
    secrets, ssm = _clients(endpoint_url, "secretsmanager", "ssm")
    database = {"host": "db.internal", "port": 5433, "username": "app", "password": "demo-db-password"}
    secrets.create_secret(Name="demo/database", SecretString=json.dumps(database))
    secrets.create_secret(Name="demo/stripe", SecretString=json.dumps({"api_key": "sk_demo_not_a_real_key"}))
    ssm.put_parameter(Name="/demo/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name="/demo/app/allowed_hosts", Value="example.com,www.example.com", Type="StringList")
    ssm.put_parameter(Name="/demo/app/signing_key", Value="demo-signing-key", Type="SecureString")


def seed_docs(endpoint_url: str) -> None:
    """Create every secret and parameter the docs' examples read, the other account's secret included.

    The tutorial's `prod/db` and two parameters, the how-tos' `prod/stripe` and the worker's configuration
    (`prod/worker` and `/prod/worker/...`), and `shared/payments` in account 111122223333, created through
    :data:`SHARED_ACCOUNT_ROLE` as the cross-account how-to reads it.
    """
    secrets, ssm, sts = _clients(endpoint_url, "secretsmanager", "ssm", "sts")
    database = {"host": "db.internal", "port": 5432, "username": "app", "password": "docs-db-password"}
    secrets.create_secret(Name="prod/db", SecretString=json.dumps(database))
    secrets.create_secret(Name="prod/stripe", SecretString=json.dumps({"api_key": "sk_docs"}))
    ssm.put_parameter(Name="/prod/api/url", Value="https://api.example.com", Type="String")
    ssm.put_parameter(Name="/prod/app/allowed_hosts", Value="example.com,www.example.com", Type="StringList")
    # A worker's configuration, read whole by the bulk import and migration examples.
    worker = {"stripe_key": "sk_docs", "webhook_secret": "whsec_docs"}
    secrets.create_secret(Name="prod/worker", SecretString=json.dumps(worker))
    queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    ssm.put_parameter(Name="/prod/worker/queue_url", Value=queue_url, Type="String")
    ssm.put_parameter(Name="/prod/worker/concurrency", Value="8", Type="String")
    ssm.put_parameter(Name="/prod/worker/signing_key", Value="docs-signing-key", Type="SecureString")
    limits = json.dumps({"max_items": 50, "beta": True})
    ssm.put_parameter(Name="/prod/worker/limits", Value=limits, Type="String")
    keys = sts.assume_role(RoleArn=SHARED_ACCOUNT_ROLE, RoleSessionName="docs-seed")["Credentials"]
    shared = _clients(endpoint_url, "secretsmanager", keys=keys)[0]
    shared.create_secret(Name="shared/payments", SecretString=json.dumps({"api_key": "sk_shared"}))


def exports(endpoint_url: str) -> dict[str, str]:
    """The variables that point boto3 (and so the library) at a loopback endpoint, with dummy keys."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def _lines(endpoint_url: str) -> Iterator[str]:
    yield f"loopback AWS endpoint (moto) at {endpoint_url}; seeded 2 secrets and 3 parameters"
    yield "operator's environment:"
    for name, value in OPERATOR_ENVIRONMENT.items():
        yield f"  {name}={value}"
    with recording_origins() as origins:
        settings = DemoSettings()
    yield ""
    yield render_table(rows_for(settings, origins))


def _start() -> MotoServer | None:
    """Start moto's server, or say why not and return None."""
    from pydantic_aws_settings._loopback import MotoServer

    server = MotoServer()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - say why, plainly
        print(
            f"demo: could not start moto's server ({exc});"
            " install the demo extra: pip install 'pydantic-aws-settings[demo]'"
        )
        return None
    return server


def serve() -> int:
    """Keep a seeded endpoint up, print the variables to export, and stop on Ctrl-C or SIGTERM."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    server = _start()
    if server is None:
        return 1
    try:
        seed(server.url)
        seed_docs(server.url)
        print(
            f"# loopback AWS endpoint (moto) at {server.url}, seeded with the demo's and the docs' examples."
        )
        print("# In another terminal, export these; Ctrl-C here stops the endpoint.")
        for name, value in exports(server.url).items():
            print(f"export {name}={value}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            if not server.running:
                print("demo: moto's server stopped unexpectedly", file=sys.stderr)
                return 1
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("# endpoint stopped")
    return 0


def demo() -> int:
    """Run the demo; return the exit status."""
    from unittest import mock

    server = _start()
    if server is None:
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
            " pip install 'pydantic-aws-settings[demo]'. With --serve, keep the endpoint up instead, seeded"
            " with the docs' examples too, and print the variables to export in another terminal."
        ),
    )
    sub.add_argument(
        "--serve",
        action="store_true",
        help="keep the seeded endpoint up and print the variables to export; Ctrl-C or SIGTERM stops it",
    )
    sub.set_defaults(run=run, parser=sub)


def run(args: argparse.Namespace) -> int:
    """Run `demo` (or `demo --serve`); return the exit status."""
    return serve() if args.serve else demo()
