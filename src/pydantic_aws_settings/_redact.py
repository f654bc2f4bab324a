"""Keep secrets out of botocore's own DEBUG records.

At DEBUG, botocore logs every response body (`botocore.parsers`) and every request it sends
(`botocore.endpoint`): Secrets Manager's `SecretString`, SSM's decrypted `Value`, STS's
`SecretAccessKey` and `SessionToken`, a web identity token. A request signed with temporary
credentials (an assumed role) carries their session token in its `X-Amz-Security-Token` header, which
`botocore.endpoint` logs with the request and `botocore.auth` in the canonical request. Once the
library builds its first client, a filter on those loggers replaces any such record's message with a
redaction note. Records without those fields pass untouched, and the filter costs nothing unless DEBUG is
on for botocore (a logger runs its filters only for records it is enabled for). It protects every
botocore client of the process, not only the library's.

It also holds the masks for the other way a value could reach a log: pydantic-settings' own dump of every
source's values when `PYDANTIC_SETTINGS_DEBUG` is on (`settings_dump_enabled`, `hide`).
"""

from __future__ import annotations

import logging
import os
from typing import Any

__all__ = ["REDACTED", "HiddenBytes", "HiddenStr", "hide", "install", "settings_dump_enabled"]

REDACTED = "<redacted by pydantic-aws-settings: the record held a secret value or credential>"

_MARKERS = (
    "SecretString",
    "SecretBinary",
    '"Value"',
    "'Value'",
    "<Value>",
    "SecretAccessKey",
    "SessionToken",
    "WebIdentityToken",
    "Token=",
    "X-Amz-Security-Token",
    "x-amz-security-token",
)
_LOGGERS = (
    "botocore.parsers",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.auth",
    "botocore.httpsession",
)


class RedactingFilter(logging.Filter):
    """Replace the message of a record that would show a secret value or credential."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drop a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is left to logging's own handling
            return True
        if any(marker in message for marker in _MARKERS):
            head = message.split(":", 1)[0] if ":" in message[:60] else "botocore record"
            record.msg = f"{head}: {REDACTED}"
            record.args = ()
        return True


_FILTER = RedactingFilter()


def install() -> None:
    """Attach the filter to botocore's loggers that show bodies (idempotent)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


class HiddenStr(str):
    """A fetched secret on its way to validation: its `repr` is masked.

    pydantic-settings logs every source's values with `repr` when `PYDANTIC_SETTINGS_DEBUG` is on;
    validation turns this back into a plain `str` for `str`, `SecretStr` and every typed field.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


class HiddenBytes(bytes):
    """The bytes counterpart of `HiddenStr`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "b'**********'"


def settings_dump_enabled() -> bool:
    """Whether pydantic-settings will log every source's values (its `PYDANTIC_SETTINGS_DEBUG` switch)."""
    if os.environ.get("PYDANTIC_SETTINGS_DEBUG", "").strip().lower() not in ("1", "true", "yes", "on"):
        return False
    return logging.getLogger("pydantic_settings").isEnabledFor(logging.DEBUG)


def hide(value: Any) -> Any:
    """Mask the repr of every string and bytes leaf of a value."""
    if isinstance(value, str):
        return HiddenStr(value)
    if isinstance(value, bytes):
        return HiddenBytes(value)
    if isinstance(value, dict):
        return {key: hide(item) for key, item in value.items()}
    if isinstance(value, list):
        return [hide(item) for item in value]
    return value
