"""The node-local cache's answers, read: relayed AWS errors, values checked against their questions, refusals.

A 200 answer is used only when it is the secret (name, full or partial ARN), version and stage, or the
parameter, version and label, that was asked for: the same checks as the AWS fetchers' (they are reused).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic_aws_settings.fetch import Fetched, FetchFailure, Outcome, incomplete, mismatched

__all__ = [
    "NOWHERE",
    "TOKEN_VARIABLE",
    "URL_VARIABLE",
    "aws_error",
    "bad_token",
    "no_token",
    "refused",
    "value_of",
]

URL_VARIABLE = "PYDANTIC_AWS_AGENT_URL"
TOKEN_VARIABLE = "PYDANTIC_AWS_AGENT_TOKEN"  # noqa: S105 - a variable name
#: The token's source when none was found.
NOWHERE = "no variable or file"


def aws_error(text: str) -> FetchFailure | None:
    """An AWS error the agent relays as `{"__type": CODE, "message": ...}`, parsed tolerantly."""
    if not text.startswith("{"):
        return None
    try:
        body = json.loads(text)
    except ValueError:  # agent v2 does not escape quotes in the message: keep the code at least
        code = text.partition('"__type"')[2].partition('"')[2].partition('"')[0]
        return FetchFailure(code, "(unparseable message)") if code else None
    if not isinstance(body, dict) or not isinstance(body.get("__type"), str):
        return None
    code = body["__type"].rpartition("#")[2]
    return FetchFailure(code, f"{body.get('message') or body.get('Message') or ''} (through the agent)")


def value_of(target: Any, body: bytes) -> Outcome:
    """A 200 answer's value, once checked to be what was asked for."""
    try:
        answer = json.loads(body)
    except ValueError:
        return incomplete("the node-local cache answered 200 with a body that is not JSON")
    if not isinstance(answer, dict):
        return incomplete("the node-local cache answered 200 without an object")
    if target.service == "secretsmanager":
        from pydantic_aws_settings.fetch import secretsmanager

        entry = {k: v for k, v in answer.items() if v is not None}
        if isinstance(entry.get("SecretBinary"), str):
            try:
                entry["SecretBinary"] = base64.b64decode(entry["SecretBinary"], validate=True)
            except (binascii.Error, ValueError):
                return incomplete("the node-local cache answered a SecretBinary that is not base64")
        return secretsmanager._outcome(target, entry, "the agent's GetSecretValue")
    from pydantic_aws_settings.fetch import ssm

    parameter = answer.get("Parameter")
    if not isinstance(parameter, dict):
        return incomplete("the node-local cache answered without the Parameter")
    if not ssm._answers(target, parameter):
        return mismatched("the node-local cache answered with another parameter or version")
    fetched = ssm._fetched(parameter)
    if isinstance(fetched, Fetched) and fetched.kind not in ("String", "StringList", "SecureString"):
        return incomplete("the node-local cache answered a parameter of an unknown type")
    return fetched


def no_token(url: str, token_source: str) -> FetchFailure:
    """No token for the agent: an error naming the variable to set."""
    tried = "" if token_source == NOWHERE else f" ({token_source} gave none)"
    return FetchFailure(
        "AgentTokenMissing",
        f"no token for the node-local cache at {url}{tried}: set {TOKEN_VARIABLE} to the token it expects",
    )


def bad_token(url: str, token_source: str) -> FetchFailure:
    """A token that cannot be sent in a header (a line break, a control or non-ASCII character), unshown."""
    return FetchFailure(
        "AgentTokenInvalid",
        f"the token for the node-local cache at {url} from {token_source} is not a valid header value "
        f"(a line break, or a character that is not printable ASCII): set {TOKEN_VARIABLE} to the token "
        "it expects",
    )


def refused(url: str, token_source: str, status: int, text: str) -> FetchFailure:
    """The agent refused the token or the request: a configuration error naming what to fix."""
    said = text[:80] if len(text) < 200 else "(a long answer)"  # the agent's plain texts are short
    if status == 403:
        return FetchFailure(
            "AgentTokenRefused",
            f"the node-local cache at {url} refused the token from {token_source} "
            f"(HTTP 403 {said!r}): set {TOKEN_VARIABLE} to the token it expects",
        )
    return FetchFailure(
        "AgentRequestRefused",
        f"the node-local cache at {url} refused the request (HTTP {status} {said!r}): "
        f"check that {URL_VARIABLE} is the base URL of a Secrets Manager Agent or the Lambda extension",
    )
