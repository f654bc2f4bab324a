"""Whether a text is the ARN of an IAM role that can be assumed: one check for the options and the CLI.

A role ARN is `arn:PARTITION:iam::ACCOUNT:role/NAME` or `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`:
a known partition, no region, a 12-digit account, an optional path (`/` separated, printable ASCII) and a
name of 1 to 64 of `A-Za-z0-9+=,.@_-` (IAM's rules). STS refuses anything else only once a request is
made, with a message that does not say which setting was wrong, so the library checks before any.
"""

from __future__ import annotations

import re

from pydantic_aws_settings.references import _PARTITIONS

__all__ = ["ROLE_ARN_SHAPE", "role_arn_problem"]

#: How a role ARN is written, for messages.
ROLE_ARN_SHAPE = "arn:aws:iam::ACCOUNT:role/NAME"

_ACCOUNT = re.compile(r"[0-9]{12}")
_ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
_ROLE_PATH = re.compile(r"/(?:[\x21-\x7e]+/)?")


def role_arn_problem(text: str) -> str | None:
    """Why a text is not the ARN of an IAM role, or `None` when it is one.

    Args:
        text: the value as given (an option, a command-line argument).

    Returns:
        A short reason that ends with the expected shape (`'app-config' is not an ARN (expected
        arn:aws:iam::ACCOUNT:role/NAME)`), or `None`.
    """
    why = _why(text)
    return None if why is None else f"{why} (expected {ROLE_ARN_SHAPE})"


def _why(text: str) -> str | None:
    if not text.startswith("arn:"):
        return f"{text!r} is not an ARN"
    parts = text.split(":", 5)
    if len(parts) < 6:
        return f"{text!r} is not a complete ARN"
    _, partition, service, region, account, resource = parts
    if partition not in _PARTITIONS:
        return f"unknown partition {partition!r} in {text!r}"
    if service == "sts" and resource.startswith("assumed-role/"):
        return f"{text!r} is an assumed-role session, not the role: give the role's IAM ARN"
    if service != "iam" or not resource.startswith("role/"):
        return f"{text!r} is not an IAM role ARN"
    if region:
        return f"an IAM ARN has no region, and {text!r} names {region!r}"
    if _ACCOUNT.fullmatch(account) is None:
        return f"the account in {text!r} must be 12 digits"
    path, _, name = resource[len("role") :].rpartition("/")
    if _ROLE_NAME.fullmatch(name) is None:
        return f"no valid role name in {text!r} (1 to 64 of A-Z a-z 0-9 + = , . @ _ -)"
    if len(path) > 512 or _ROLE_PATH.fullmatch(path + "/") is None:
        return f"a malformed role path in {text!r}"
    return None
