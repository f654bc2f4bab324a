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

It also holds the masks for the other ways a value could reach a log: pydantic-settings' own dump of every
source's values when `PYDANTIC_SETTINGS_DEBUG` is on, and the locals of a traceback's frames, which error
trackers record (`capture_locals`). A value a secret fed is held, from the moment it is fetched, as one of
the `Hidden*` types (`hide`), whose `repr` is masked.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "REDACTED",
    "HiddenBytes",
    "HiddenDict",
    "HiddenList",
    "HiddenStr",
    "hide",
    "install",
    "keep_hidden",
    "keeping_hidden",
]

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

    pydantic-settings logs every source's values with `repr` when `PYDANTIC_SETTINGS_DEBUG` is on, and an
    error tracker every frame's locals; validation turns this back into a plain `str` for `str`,
    `SecretStr` and every typed field.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


class HiddenBytes(bytes):
    """The bytes counterpart of `HiddenStr`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "b'**********'"


class HiddenDict(dict[Any, Any]):
    """A JSON object a secret fed, on its way to validation: its `repr` shows the keys, every leaf masked.

    Numbers, booleans and nulls cannot be given a masked `repr` of their own (`bool` cannot even be
    subclassed), so the mapping that holds them masks them. pydantic validates it as any dict: a model,
    `dict[...]` or TypedDict field gets its own plain values. `copy()` stays hidden (pydantic-settings
    merges sources with it).
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{key!r}: {_masked(item)}" for key, item in self.items()) + "}"

    def copy(self) -> HiddenDict:
        """A shallow copy, still hidden."""
        return HiddenDict(self)


class HiddenList(list[Any]):
    """A JSON array a secret fed: its `repr` masks every item, whatever its type (see `HiddenDict`)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "[" + ", ".join(_masked(item) for item in self) + "]"

    def copy(self) -> HiddenList:
        """A shallow copy, still hidden."""
        return HiddenList(self)


_HIDDEN = (HiddenStr, HiddenBytes, HiddenDict, HiddenList)


def _masked(item: Any) -> str:
    """The repr of a hidden value's item: its own masked repr, or the mask for a number, bool or None."""
    return repr(item) if isinstance(item, _HIDDEN) else "'**********'"


def hide(value: Any) -> Any:
    """The value with every leaf's repr masked, whatever its type: str and bytes as such, containers whole.

    A dict or list becomes a `HiddenDict` or `HiddenList` (their items hidden too), which masks the numbers,
    booleans and nulls in it; a top-level number or None, which no repr can hide, is returned as it is
    (values arrive as text, so a fetched one is never that).
    """
    if isinstance(value, _HIDDEN):
        return value
    if isinstance(value, str):
        return HiddenStr(value)
    if isinstance(value, bytes):
        return HiddenBytes(value)
    if isinstance(value, dict):
        return HiddenDict({key: hide(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return HiddenList(hide(item) for item in value)
    return value


def keep_hidden(value: Any, decoded: Any) -> Any:
    """What a source decoded (JSON) from a value: hidden, as `hide` does, when the value was hidden.

    `json.loads` of a `HiddenStr` gives plain objects; the decoded value of a secret stays masked this way
    in every mapping that holds it afterwards (a source's result, a traceback's locals).
    """
    return hide(decoded) if isinstance(value, _HIDDEN) else decoded


def keeping_hidden(method: Callable[..., Any]) -> Callable[..., Any]:
    """A method of a source that turns its last argument into a new value, keeping that value hidden."""

    def call(*args: Any) -> Any:
        return keep_hidden(args[-1], method(*args))

    return call
