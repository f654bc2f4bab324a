"""The reference grammar: which strings name a secret or a parameter, parsed into frozen values.

A value is a reference when it starts with `secretsmanager:`, `ssm:` or `optional:`, or is a bare
Secrets Manager secret ARN or SSM parameter ARN. Any other value is plain and is used as it is.
A value that starts like a reference but does not parse raises `InvalidReferenceError`; it is never
passed through as plain text. Prefixes are case-sensitive, and a value that looks like a misspelt
reference (`SSM:x`, `ssm;x`, `secretmanager:x`, `parameter:x`, `"ssm:x"`, a secret ARN in an unknown
partition: see `_near_miss`) raises `InvalidReferenceError` too, naming the form it probably meant.
`plain:TEXT` is the escape: a plain value, `TEXT` (`unescape` gives it), whatever `TEXT` looks like.

| written | parsed as |
|---|---|
| `secretsmanager:NAME` | `SecretReference(secret_id=NAME)` |
| `secretsmanager:NAME#KEY` | `key=KEY`: one top-level key of a JSON secret |
| `secretsmanager:NAME?stage=STAGE` | `stage=STAGE` |
| `secretsmanager:NAME?version=VERSION_ID` | `version=VERSION_ID` |
| `secretsmanager:NAME#KEY?stage=STAGE` | key and stage (or version): the canonical order |
| `secretsmanager:NAME?stage=STAGE#KEY` | the same, also accepted |
| `secretsmanager:SECRET_ARN` | a full or partial ARN as `secret_id`; `#KEY`, `?query` as after NAME |
| `SECRET_ARN[:KEY[:STAGE[:VERSION_ID]]]` | ECS `valueFrom` form, `bare_arn=True`; empty parts: `None` |
| `ssm:NAME` | `ParameterReference(name=NAME)` |
| `ssm:NAME:SELECTOR` | `selector=SELECTOR`: a version number (`3`) or a label (`prod`) |
| `ssm:NAME#KEY`, `ssm:NAME:SELECTOR#KEY` | `key=KEY`: one top-level key of a JSON parameter |
| `ssm:/PATH/` | every parameter below the path (`is_path`); no selector, no key |
| `ssm:PARAMETER_ARN[:SELECTOR][#KEY]` | `name` is the ARN, without the selector |
| `PARAMETER_ARN[:SELECTOR][#KEY]` | the same, `bare_arn=True` |
| `optional:REF` | REF with `optional=True` |
| `arn:P:ssm:...` of a resource other than `parameter/` | plain value (`None`) |
| an ARN of any other service, any other string | plain value (`None`) |
| `plain:TEXT` | plain value (`None`): `TEXT` as it is (`unescape`) |
| a near miss: `SSM:x`, `ssm;x`, `secretmanager:x`, `parameter:x`, ... | `InvalidReferenceError` |

`SECRET_ARN` is `arn:P:secretsmanager:REGION:ACCOUNT:secret:NAME` (NAME with or without the random
suffix: a full or partial ARN), `PARAMETER_ARN` is `arn:P:ssm:REGION:ACCOUNT:parameter/NAME`, and `P`
is a partition: `aws`, `aws-cn`, `aws-us-gov`, `aws-iso`, `aws-iso-b`, `aws-iso-e`, `aws-iso-f` or
`aws-eusc`. After `secretsmanager:`, nothing but `#KEY` or `?query` may follow the ARN's NAME.

| part | rule |
|---|---|
| secret NAME | 1 to 512 of `A-Za-z0-9/_+=.@-` (AWS's charset); 519 in an ARN (with the suffix) |
| secret KEY | non-empty; no `#` or `?` (in the bare ARN form: no `:`), otherwise any characters |
| STAGE, VERSION_ID | 1 to 256 of `A-Za-z0-9_.+@-`; at most one of the two |
| query | exactly one of `stage=STAGE` or `version=VERSION_ID` |
| parameter NAME | 1 to 2048 of `A-Za-z0-9_.-/`, no `//`; need not start with `/` (`ssm:myparam`) |
| parameter path | a NAME that starts and ends with `/` (`ssm:/` is every parameter) |
| SELECTOR | 1 to 100 of `A-Za-z0-9_.-` |
| parameter KEY | non-empty, no `#`, otherwise any characters |
| REGION, ACCOUNT | `[a-z0-9-]+`, 12 digits |

Errors name a bad character by its repr and its 0-based position in the text as written (including any
`optional:` prefix). `format_reference` prints the canonical text, so that
`parse_reference(format_reference(r)) == r` for every valid reference `r`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from pydantic_aws_settings.errors import InvalidReferenceError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "ParameterReference",
    "Reference",
    "SecretReference",
    "format_reference",
    "looks_like_reference",
    "parse_reference",
]

_PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
_SECRET_ARN_PREFIXES = tuple(f"arn:{partition}:secretsmanager:" for partition in _PARTITIONS)
_SSM_ARN_PREFIXES = tuple(f"arn:{partition}:ssm:" for partition in _PARTITIONS)
_REFERENCE_PREFIXES = ("secretsmanager:", "ssm:", "optional:", *_SECRET_ARN_PREFIXES, *_SSM_ARN_PREFIXES)
#: The escape: `plain:TEXT` is the plain value `TEXT`, whatever `TEXT` looks like.
ESCAPE = "plain:"
_PREFIXES = (*_REFERENCE_PREFIXES, ESCAPE)
_LEADS = "\"' \t\n\r"
_STEMS = ("se", "sc", "ss", "sy", "pa", "op", "aw", "ar")
#: The first two characters (in any case) of every near miss (`_near_miss`): the names it knows, or
#: quotes or whitespace. A value that starts otherwise is plain without a closer look.
_STARTS = frozenset(
    {a + b for stem in _STEMS for a in (stem[0], stem[0].upper()) for b in (stem[1], stem[1].upper())}
    | {lead + after for lead in _LEADS for after in _LEADS + "spoaSPOA"}
)
_FIRST = frozenset(start[0] for start in _STARTS)

_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]+")
_SECRET_NAME_MAX = 512
_SECRET_ARN_NAME_MAX = 512 + 7  # the name and the "-AbCdEf" suffix Secrets Manager appends in ARNs
_VERSION_VALUE = re.compile(r"[A-Za-z0-9_.+@-]+")
_VERSION_VALUE_MAX = 256
_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_./-]+")
_PARAMETER_NAME_MAX = 2048
_SELECTOR = re.compile(r"[A-Za-z0-9_.-]+")
_SELECTOR_MAX = 100
_REGION = re.compile(r"[a-z0-9-]+")
_ACCOUNT = re.compile(r"[0-9]{12}")
_KEY_OR_QUERY = re.compile(r"[#?]")

_SECRET_ARN_SHAPE = "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME"  # noqa: S105 - not a password
_PARAMETER_ARN_SHAPE = "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME"
_QUERY_SHAPE = "?stage=STAGE or ?version=VERSION_ID"
_NAME_HINTS = {":": " (use #KEY for a JSON key)"}
_BARE_NAME_HINTS = {
    "#": " (the bare ARN form takes :KEY:STAGE:VERSION_ID)",
    "?": " (the bare ARN form takes :KEY:STAGE:VERSION_ID)",
}


@dataclass(frozen=True, slots=True)
class SecretReference:
    """A reference to a Secrets Manager secret, or to one top-level key of a JSON secret.

    Attributes:
        secret_id: the secret's name, partial ARN or full ARN, exactly as written (without `#KEY` or
            `?query`, and in the bare ARN form without the `:KEY:STAGE:VERSION_ID` parts).
        key: the top-level JSON key to extract, or `None` for the whole value.
        stage: the version stage to fetch (`None`: Secrets Manager's default, `AWSCURRENT`).
        version: the version id to fetch.
        optional: when the secret or key does not exist, the field falls back to the next source.
        bare_arn: written as a bare ARN in the ECS `valueFrom` form, and printed back that way.
    """

    secret_id: str
    key: str | None = None
    stage: str | None = None
    version: str | None = None
    optional: bool = False
    bare_arn: bool = False

    @property
    def service(self) -> Literal["secretsmanager"]:
        """The AWS service that holds the value."""
        return "secretsmanager"

    @property
    def is_arn(self) -> bool:
        """Whether `secret_id` is a (full or partial) ARN."""
        return self.secret_id.startswith("arn:")

    @property
    def region(self) -> str | None:
        """The region named by the ARN, or `None` when `secret_id` is a name."""
        return _arn_region(self.secret_id)

    def target(self) -> SecretReference:
        """What must be fetched for this reference: the secret version it reads, as a reference.

        Returns:
            The reference without `#KEY`, `optional:` and the bare-ARN spelling: two references that differ
            only in those share one fetch and one cached value.
        """
        if self.key is None and not self.optional and not self.bare_arn:
            return self
        return SecretReference(self.secret_id, None, self.stage, self.version)

    def __str__(self) -> str:
        return format_reference(self)


@dataclass(frozen=True, slots=True)
class ParameterReference:
    """A reference to an SSM parameter, to one top-level key of a JSON parameter, or to a path.

    Attributes:
        name: the parameter's name, its path (ending in `/`) or its ARN, as written, without the
            selector and `#KEY`.
        selector: SSM's version number (`"3"`) or label (`"prod"`), as in `name:3` or `name:prod`.
        key: the top-level JSON key to extract, or `None` for the whole value.
        optional: when the parameter or key does not exist, the field falls back to the next source.
        bare_arn: written as a bare parameter ARN, and printed back that way.
    """

    name: str
    selector: str | None = None
    key: str | None = None
    optional: bool = False
    bare_arn: bool = False

    @property
    def service(self) -> Literal["ssm"]:
        """The AWS service that holds the value."""
        return "ssm"

    @property
    def is_arn(self) -> bool:
        """Whether `name` is a parameter ARN."""
        return self.name.startswith("arn:")

    @property
    def is_path(self) -> bool:
        """Whether this names every parameter below a path (`ssm:/PATH/`) rather than one parameter."""
        return self.name.endswith("/") and not self.is_arn

    @property
    def region(self) -> str | None:
        """The region named by the ARN, or `None` when `name` is not an ARN."""
        return _arn_region(self.name)

    def target(self) -> ParameterReference:
        """What must be fetched for this reference: the parameter (with its selector) or path, as a reference.

        Returns:
            The reference without `#KEY`, `optional:` and the bare-ARN spelling: two references that differ
            only in those share one fetch and one cached value.
        """
        if self.key is None and not self.optional and not self.bare_arn:
            return self
        return ParameterReference(self.name, self.selector)

    def api_name(self) -> str:
        """The name as sent to SSM's GetParameters.

        Returns:
            `name:selector` when there is a selector, else the name.
        """
        return f"{self.name}:{self.selector}" if self.selector is not None else self.name

    def __str__(self) -> str:
        return format_reference(self)


Reference: TypeAlias = SecretReference | ParameterReference
"""A parsed reference: a Secrets Manager secret or an SSM parameter."""


def looks_like_reference(text: str) -> bool:
    """Tell cheaply whether a value starts like a reference.

    A prefix test, fast enough to run on every environment value: `secretsmanager:`, `ssm:`,
    `optional:`, a Secrets Manager or SSM ARN of a known partition, the escape `plain:`, or a near miss
    (a misspelt prefix, see `parse_reference`). A value for which this is `False` is plain as it is;
    one for which it is `True` may still be plain (an SSM document ARN, an escaped value) or malformed.

    Args:
        text: the value as written.

    Returns:
        Whether `parse_reference` has to look at the value.
    """
    if text.startswith(_PREFIXES):
        return True
    # `_suspect`, inlined: this runs on every environment value of every load (a one-character slice
    # builds no string).
    return text[:1] in _FIRST and text[:2] in _STARTS and _near_miss(text) is not None


def _suspect(text: str) -> bool:
    """Whether a value that is not a reference starts like a near miss (`_near_miss` looks closer)."""
    return text[:1] in _FIRST and text[:2] in _STARTS


def _near_miss(text: str) -> str | None:
    """`_near_miss.near_miss`, imported on first use: most processes never see a near miss."""
    from pydantic_aws_settings._near_miss import near_miss

    return near_miss(text)


def unescape(text: str) -> str | None:
    """The plain value of an escaped text: `plain:TEXT` is `TEXT`, whatever `TEXT` looks like.

    The escape lets an operator pass on a value that would otherwise be taken as a reference or refused
    as a near miss (`plain:SSM:x` is the plain value `SSM:x`). `parse_reference` returns `None` for it.

    Args:
        text: the value as written.

    Returns:
        The text after `plain:`, or `None` when the text is not escaped (it is used as it is, or parsed).
    """
    return text[len(ESCAPE) :] if text.startswith(ESCAPE) else None


def parse_reference(text: str, variable: str | None = None) -> Reference | None:
    """Parse a value into a reference.

    Args:
        text: the value as written.
        variable: where the value came from (an environment variable, ...), named in the error.

    Returns:
        The reference, or `None` when the value is plain (an escaped `plain:TEXT` included: its value
        is `unescape(text)`).

    Raises:
        InvalidReferenceError: the value has the form of a reference but is malformed, or is a near miss:
            it looks like a misspelt reference (`SSM:x`, `ssm;x`, `secretmanager:x`, `parameter:x`,
            quoted, a secret ARN of an unknown partition, ...); the reason names the form it probably
            meant.
    """
    if not text.startswith(_PREFIXES):
        if _suspect(text):
            reason = _near_miss(text)
            if reason is not None:
                raise InvalidReferenceError(text, reason, variable)
        return None
    try:
        return _parse(text, 0, optional=False)
    except _Invalid as exc:
        raise InvalidReferenceError(text, exc.reason, variable) from None


def format_reference(ref: Reference) -> str:
    """Print a reference in its canonical text form.

    `NAME#KEY?stage=STAGE` for secrets; bare ARNs are printed back as bare ARNs, without trailing
    empty parts. `parse_reference(format_reference(ref)) == ref` for every valid reference.

    Args:
        ref: the reference.

    Returns:
        The text that parses back into `ref`.
    """
    prefix = "optional:" if ref.optional else ""
    if isinstance(ref, SecretReference):
        if ref.bare_arn:
            parts = [ref.key or "", ref.stage or "", ref.version or ""]
            while parts and not parts[-1]:
                parts.pop()
            return prefix + ":".join([ref.secret_id, *parts])
        text = f"{prefix}secretsmanager:{ref.secret_id}"
        if ref.key is not None:
            text += f"#{ref.key}"
        query = [f"stage={ref.stage}"] if ref.stage is not None else []
        if ref.version is not None:
            query.append(f"version={ref.version}")
        if query:
            text += "?" + "&".join(query)
        return text
    text = prefix if ref.bare_arn else f"{prefix}ssm:"
    text += ref.api_name()
    if ref.key is not None:
        text += f"#{ref.key}"
    return text


class _Invalid(Exception):
    """Internal: why a reference is malformed; `parse_reference` turns it into `InvalidReferenceError`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _arn_region(arn: str) -> str | None:
    if not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 4)
    return parts[3] if len(parts) > 4 else None


def _parse(text: str, start: int, *, optional: bool) -> Reference | None:
    if text.startswith("secretsmanager:", start):
        return _parse_secret(text, start + len("secretsmanager:"), optional)
    if text.startswith("ssm:", start):
        return _parse_parameter(text, start + len("ssm:"), optional)
    if text.startswith("optional:", start):
        if optional:
            raise _Invalid("`optional:` given twice")
        inner = start + len("optional:")
        if text.startswith(_REFERENCE_PREFIXES, inner):
            reference = _parse(text, inner, optional=True)
            if reference is not None:
                return reference
        why = _near_miss(text[inner:]) if _suspect(text[inner:]) else None
        raise _Invalid("optional: must be followed by a reference" + (f": {why}" if why else ""))
    if text.startswith(_SECRET_ARN_PREFIXES, start):
        return _parse_bare_secret(text, start, optional)
    if text.startswith(_SSM_ARN_PREFIXES, start):
        if _is_parameter_arn(text, start):
            return _parse_parameter_arn(text, start, optional, bare=True)
        why = _near_miss(text[start:])  # `parameters/x`, no account: a parameter ARN that does not parse
        if why is not None:
            raise _Invalid(why)
    return None


# --- checks -------------------------------------------------------------------------------------------


def _check(
    value: str,
    offset: int,
    pattern: re.Pattern[str],
    what: str,
    max_len: int,
    hints: Mapping[str, str] | None = None,
) -> None:
    """Check `value` (found at `offset` in the text) against a charset and a maximum length."""
    if pattern.fullmatch(value) is None:
        for index, char in enumerate(value):
            if pattern.fullmatch(char) is None:
                hint = hints.get(char, "") if hints else ""
                raise _Invalid(f"bad character {char!r} at position {offset + index} in the {what}{hint}")
        raise _Invalid(f"empty {what}")
    if len(value) > max_len:
        raise _Invalid(f"{what} longer than {max_len} characters")


def _check_key(key: str | None, forbidden: str) -> None:
    if key is None:
        return
    if not key:
        raise _Invalid("`#` with no key")
    for char in forbidden:
        if char in key:
            raise _Invalid(f"a key may not contain `{char}`")


def _check_arn_head(parts: list[str], offset: int) -> None:
    """Check the partition, region and account of an ARN split on `:` (at least 5 parts)."""
    partition, region, account = parts[1], parts[3], parts[4]
    if partition not in _PARTITIONS:
        raise _Invalid(f"unknown partition {partition!r} in the ARN")
    if not region:
        raise _Invalid("no region in the ARN")
    region_at = offset + len(parts[0]) + len(partition) + len(parts[2]) + 3
    _check(region, region_at, _REGION, "region", 64)
    if _ACCOUNT.fullmatch(account) is None:
        raise _Invalid(f"the account in the ARN must be 12 digits, not {account!r}")


def _check_parameter_name(name: str, offset: int) -> None:
    _check(name, offset, _PARAMETER_NAME, "parameter name", _PARAMETER_NAME_MAX)
    double = name.find("//")
    if double >= 0:
        raise _Invalid(f"'//' at position {offset + double} in the parameter name")


def _check_selector(selector: str | None, offset: int) -> None:
    if selector is None:
        return
    if not selector:
        raise _Invalid("`:` with no version or label")
    colon = selector.find(":")
    if colon >= 0:
        raise _Invalid(f"a second `:` at position {offset + colon} (one :VERSION or :LABEL only)")
    _check(selector, offset, _SELECTOR, "version or label", _SELECTOR_MAX)


# --- Secrets Manager ----------------------------------------------------------------------------------


def _parse_secret(text: str, start: int, optional: bool) -> SecretReference:
    body = text[start:]
    if not body:
        raise _Invalid("no name after secretsmanager:")
    found = _KEY_OR_QUERY.search(body)
    cut = found.start() if found else len(body)
    secret_id = body[:cut]
    if not secret_id:
        raise _Invalid("no secret name")
    if secret_id.startswith("arn:"):
        _check_secret_arn(secret_id, start)
    else:
        _check(secret_id, start, _SECRET_NAME, "secret name", _SECRET_NAME_MAX, _NAME_HINTS)
    key, stage, version = _parse_secret_tail(body[cut:], start + cut)
    return SecretReference(secret_id, key=key, stage=stage, version=version, optional=optional)


def _check_secret_arn(arn: str, offset: int) -> None:
    """Check a secret ARN written after `secretsmanager:`; nothing may follow its NAME but `#` or `?`."""
    parts = arn.split(":", 6)
    if len(parts) < 3:
        raise _Invalid(f"malformed ARN (expected {_SECRET_ARN_SHAPE})")
    if parts[2] != "secretsmanager":
        raise _Invalid(f"an ARN of another service ({parts[2]!r}), not a secret")
    if len(parts) < 6:
        raise _Invalid(f"malformed ARN (expected {_SECRET_ARN_SHAPE})")
    _check_arn_head(parts, offset)
    _check_secret_resource(parts, offset)
    if ":" in parts[6]:
        raise _Invalid("a `:` after the secret name: use #KEY, or the bare ARN form")
    _check_secret_arn_name(parts[6], offset + len(arn) - len(parts[6]), {})


def _check_secret_resource(parts: list[str], offset: int) -> None:
    if parts[5] != "secret":
        raise _Invalid(f"not a secret ARN (resource type {parts[5]!r})")
    if len(parts) < 7 or not parts[6] or parts[6].startswith(":"):
        raise _Invalid("no secret name in the ARN")


def _check_secret_arn_name(name: str, offset: int, hints: Mapping[str, str]) -> None:
    _check(name, offset, _SECRET_NAME, "secret name", _SECRET_ARN_NAME_MAX, hints)


def _parse_secret_tail(tail: str, offset: int) -> tuple[str | None, str | None, str | None]:
    """Parse what follows a secret's name: `#KEY`, `?query`, both, or nothing."""
    if not tail:
        return None, None, None
    key: str | None = None
    query: str | None = None
    rest = tail[1:]
    if tail[0] == "#":
        mark = rest.find("?")
        key, query = (rest, None) if mark < 0 else (rest[:mark], rest[mark + 1 :])
        query_at = offset + mark + 2
    else:
        mark = rest.find("#")
        query, key = (rest, None) if mark < 0 else (rest[:mark], rest[mark + 1 :])
        query_at = offset + 1
    _check_key(key, "#?")
    if query is None:
        return key, None, None
    stage, version = _parse_query(query, query_at)
    return key, stage, version


def _parse_query(query: str, offset: int) -> tuple[str | None, str | None]:
    if not query:
        raise _Invalid(f"`?` with no query (expected {_QUERY_SHAPE})")
    if "#" in query:
        raise _Invalid("more than one `#KEY`")
    pairs = re.split(r"[?&]", query)
    if len(pairs) > 1:
        names = {pair.partition("=")[0] for pair in pairs}
        if {"stage", "version"} <= names:
            raise _Invalid("both a stage and a version: give one")
        raise _Invalid(f"more than one query parameter (expected {_QUERY_SHAPE})")
    name, equals, value = query.partition("=")
    if not equals:
        raise _Invalid(f"malformed query {query!r} (expected {_QUERY_SHAPE})")
    if name not in ("stage", "version"):
        raise _Invalid(f"unknown query parameter {name!r} (expected stage or version)")
    if not value:
        raise _Invalid(f"empty {name}")
    _check(value, offset + len(name) + 1, _VERSION_VALUE, name, _VERSION_VALUE_MAX)
    return (value, None) if name == "stage" else (None, value)


def _parse_bare_secret(text: str, start: int, optional: bool) -> SecretReference:
    """Parse `arn:P:secretsmanager:REGION:ACCOUNT:secret:NAME[:KEY[:STAGE[:VERSION_ID]]]`."""
    parts = text[start:].split(":")
    if len(parts) < 6:
        raise _Invalid(f"malformed ARN (expected {_SECRET_ARN_SHAPE}[:KEY[:STAGE[:VERSION_ID]]])")
    _check_arn_head(parts, start)
    _check_secret_resource(parts, start)
    name_at = start + sum(len(part) + 1 for part in parts[:6])
    _check_secret_arn_name(parts[6], name_at, _BARE_NAME_HINTS)
    extra = parts[7:]
    if len(extra) > 3:
        raise _Invalid("more than :KEY:STAGE:VERSION_ID after the secret name")
    extra += [""] * (3 - len(extra))
    key, stage, version = (part or None for part in extra)
    extra_at = name_at + len(parts[6]) + 1
    if stage is not None:
        _check(stage, extra_at + len(extra[0]) + 1, _VERSION_VALUE, "stage", _VERSION_VALUE_MAX)
    if version is not None:
        version_at = extra_at + len(extra[0]) + len(extra[1]) + 2
        _check(version, version_at, _VERSION_VALUE, "version id", _VERSION_VALUE_MAX)
    if stage is not None and version is not None:
        raise _Invalid("both a stage and a version id: give one")
    secret_id = ":".join(parts[:7])
    return SecretReference(secret_id, key, stage, version, optional=optional, bare_arn=True)


# --- SSM Parameter Store ------------------------------------------------------------------------------


def _parse_parameter(text: str, start: int, optional: bool) -> ParameterReference:
    body = text[start:]
    if not body:
        raise _Invalid("no name after ssm:")
    if body.startswith("arn:"):
        return _parse_parameter_arn(text, start, optional, bare=False)
    main, hash_mark, key_text = body.partition("#")
    key = key_text if hash_mark else None
    name, colon, selector_text = main.partition(":")
    selector = selector_text if colon else None
    if not name:
        raise _Invalid("no parameter name")
    _check_parameter_name(name, start)
    if name.endswith("/"):
        if not name.startswith("/"):
            raise _Invalid("a path (ending in `/`) must start with `/`")
        if selector is not None:
            raise _Invalid("a path (ending in `/`) takes no :VERSION or :LABEL")
        if key is not None:
            raise _Invalid("a path (ending in `/`) takes no #KEY")
    _check_selector(selector, start + len(name) + 1)
    _check_key(key, "#")
    return ParameterReference(name, selector, key, optional=optional)


def _resource_type(resource: str) -> str:
    return re.split(r"[/:#]", resource, maxsplit=1)[0]


def _is_parameter_arn(text: str, start: int) -> bool:
    """Whether the bare ssm ARN at `start` names a parameter (any other resource type is plain)."""
    parts = text[start:].split(":", 5)
    return len(parts) == 6 and _resource_type(parts[5]) == "parameter"


def _parse_parameter_arn(text: str, start: int, optional: bool, *, bare: bool) -> ParameterReference:
    """Parse `arn:P:ssm:REGION:ACCOUNT:parameter/NAME[:SELECTOR][#KEY]` at `start`."""
    arn = text[start:]
    parts = arn.split(":", 5)
    if len(parts) >= 3 and parts[2] != "ssm":
        raise _Invalid(f"an ARN of another service ({parts[2]!r}), not a parameter")
    if len(parts) < 6:
        raise _Invalid(f"malformed ARN (expected {_PARAMETER_ARN_SHAPE})")
    resource = parts[5]
    resource_type = _resource_type(resource)
    if resource_type != "parameter":
        raise _Invalid(f"not a parameter ARN (resource type {resource_type!r})")
    _check_arn_head(parts, start)
    main, hash_mark, key_text = resource.partition("#")
    key = key_text if hash_mark else None
    if not main.startswith("parameter/"):
        raise _Invalid(f"malformed ARN (expected {_PARAMETER_ARN_SHAPE})")
    name_at = start + len(arn) - len(resource) + len("parameter/")
    name, colon, selector_text = main[len("parameter/") :].partition(":")
    selector = selector_text if colon else None
    if not name:
        raise _Invalid("no parameter name in the ARN")
    if name.startswith("/"):
        raise _Invalid(f"'//' at position {name_at - 1} in the parameter ARN")
    if name.endswith("/"):
        raise _Invalid("a parameter ARN cannot name a path (use ssm:/PATH/)")
    _check_parameter_name(name, name_at)
    _check_selector(selector, name_at + len(name) + 1)
    _check_key(key, "#")
    return ParameterReference(arn[: name_at - start + len(name)], selector, key, optional, bare_arn=bare)
