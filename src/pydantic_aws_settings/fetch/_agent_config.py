"""Where a load's node-local cache listens and how to ask it: the URL, the token and where it came from.

The token follows the option (`PYDANTIC_AWS_AGENT_TOKEN`, a value or `file://PATH`), then the agent's
own chain (`AWS_TOKEN`, its EC2 token file, `AWS_SESSION_TOKEN`, `AWS_CONTAINER_AUTHORIZATION_TOKEN`).
An `Agent` never shows its token in a `repr`; errors name where the token came from, never the token.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, NamedTuple

from pydantic_aws_settings.fetch._agent_answers import NOWHERE as _NOWHERE
from pydantic_aws_settings.fetch._agent_answers import TOKEN_VARIABLE as _TOKEN

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic_aws_settings.options import Options

__all__ = ["TOKEN_FILE", "Agent", "agent_for"]

#: Where the Secrets Manager Agent's EC2 install script writes its token.
TOKEN_FILE = "/var/run/awssmatoken"  # noqa: S105 - a path, not a token


class Agent(NamedTuple):
    """Where the node-local cache listens and how to ask it.

    Attributes:
        url: the base URL, without a trailing slash.
        token: the token for the header (None: none was found).
        token_source: where the token came from (a variable or file), named in errors.
        connect_timeout / read_timeout: the load's timeouts.
    """

    url: str
    token: str | None
    token_source: str
    connect_timeout: float
    read_timeout: float

    def __repr__(self) -> str:
        return f"Agent(url={self.url!r}, token=<hidden>, token_source={self.token_source!r})"


def _read(value: str, where: str) -> tuple[str | None, str]:
    if not value.startswith("file://"):
        return value, where
    path = value.removeprefix("file://")
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip() or None, f"{where} (file {path})"
    except OSError as exc:
        return None, f"{where} (file {path} unreadable: {exc.strerror})"


def _token(options: Options, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The token and where it came from: the option, else the agent's own chain, plus its token file."""
    if options.agent_token is not None:
        return _read(str(options.agent_token), _TOKEN)
    if environ.get("AWS_TOKEN", "").strip():
        return _read(environ["AWS_TOKEN"].strip(), "AWS_TOKEN")
    if os.path.isfile(TOKEN_FILE):
        return _read(f"file://{TOKEN_FILE}", "the agent's token file")
    for variable in ("AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"):
        if environ.get(variable, "").strip():
            return environ[variable].strip(), variable
    return None, _NOWHERE


def agent_for(options: Options, environ: Mapping[str, str] = os.environ) -> Agent:
    """The agent a load with these options asks (`options.agent_url` must be set)."""
    if not options.agent_url:
        raise ValueError("no agent URL in these options")
    token, source = _token(options, environ)
    return Agent(options.agent_url, token, source, options.connect_timeout, options.read_timeout)
