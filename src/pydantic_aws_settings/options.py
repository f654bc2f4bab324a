"""Library options: from keywords, then `model_config`, then environment variables, merged once.

Every option has three spellings: the environment variable `PYDANTIC_AWS_X`, the `model_config` key
`aws_x`, and the `AWSSettingsSource` keyword `aws_x`. A keyword beats `model_config`, which beats the
environment variable. The merge happens once per source and yields a frozen `Options`.

`AWSOptions` is the one list of the keys (and their types): `AWSSettingsConfigDict` extends it and
`AWSSettingsSource` takes it as keywords. `OPTION_SPECS` says, in the same order, how each is read.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic_settings import SettingsConfigDict

# typing_extensions' TypedDict, as SettingsConfigDict is one: a TypedDict extends only TypedDicts of its
# own implementation. pydantic-settings depends on typing_extensions and pydantic has imported it already.
from typing_extensions import TypedDict

from pydantic_aws_settings.errors import AWSSettingsError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "OPTION_KEYS",
    "OPTION_SPECS",
    "AWSOptions",
    "AWSSettingsConfigDict",
    "HiddenText",
    "OptionSpec",
    "Options",
    "RoleArnError",
    "resolve_options",
]


class AWSOptions(TypedDict, total=False):
    """The library's options as `model_config` keys and `AWSSettingsSource` keywords (None: not set).

    Every key is optional and has the same meaning as the environment variable named in the reference.
    """

    aws_region: str | None
    aws_role_arn: str | None
    aws_role_session_name: str | None
    aws_external_id: str | None
    aws_role_duration: int | None
    aws_cache_ttl: float | None
    aws_max_stale: float | None
    aws_import: str | list[str] | None
    aws_connect_timeout: float | None
    aws_read_timeout: float | None
    aws_max_attempts: int | None
    aws_max_workers: int | None
    aws_refresh_ahead: float | None
    aws_throttle_timeout: float | None
    aws_agent_url: str | None
    aws_agent_token: str | None


class AWSSettingsConfigDict(SettingsConfigDict, AWSOptions, total=False):
    """`SettingsConfigDict` with the library's own keys, for type checkers.

    Every key is optional and has the same meaning as the environment variable named in the reference.
    """


#: The option keys, for checking the keywords of `AWSSettingsSource`.
OPTION_KEYS = frozenset(AWSOptions.__annotations__)


class Options(NamedTuple):
    """The merged library options of one source; see the options reference for each one's meaning."""

    region: str | None = None
    role_arn: str | None = None
    role_session_name: str = "pydantic-aws-settings"
    external_id: str | None = None
    role_duration: int = 3600
    cache_ttl: float = 300.0
    max_stale: float = 86400.0
    import_: tuple[str, ...] = ()
    connect_timeout: float = 2.0
    read_timeout: float = 4.0
    max_attempts: int = 3
    max_workers: int = 10
    refresh_ahead: float | None = None
    throttle_timeout: float = 120.0
    agent_url: str | None = None
    agent_token: HiddenText | None = None

    @property
    def refresh_window(self) -> float:
        """Seconds before an entry's freshness ends in which a load refreshes it in the background.

        The option when set (at most the TTL), else a tenth of the TTL.
        """
        if self.refresh_ahead is None:
            return self.cache_ttl / 10
        return min(self.refresh_ahead, self.cache_ttl)


class OptionSpec(NamedTuple):
    """One option: its attribute on `Options`, its environment variable and its parser."""

    attribute: str
    variable: str
    parse: Callable[[str, Any], Any]

    @property
    def config_key(self) -> str:
        """The `model_config` key and source keyword: the variable in lower case, without `PYDANTIC_`."""
        return self.variable.removeprefix("PYDANTIC_").lower()


def _text(variable: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise AWSSettingsError(f"{variable}: expected a string, got {type(value).__name__}")
    return value.strip() or None


class HiddenText(str):
    """A text that is a credential (the agent's token): its `repr` never shows it; `str()` does."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<hidden>'"


def _agent_url(variable: str, value: Any) -> str | None:
    """An http(s) base URL, without a trailing slash: where the node-local cache listens."""
    text = _text(variable, value)
    if text is None:
        return None
    scheme, _, rest = text.partition("://")
    if scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise AWSSettingsError(f"{variable}: expected a URL like http://localhost:2773, got {text!r}")
    return text.rstrip("/")


def _agent_token(variable: str, value: Any) -> HiddenText | None:
    """The agent's token as set (a `file://PATH` is read when used): never shown in a repr or an error."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise AWSSettingsError(f"{variable}: expected a string, got {type(value).__name__}")
    return HiddenText(value.strip()) if value.strip() else None


def _number(minimum: float, *, integer: bool = False) -> Callable[[str, Any], Any]:
    def parse(variable: str, value: Any) -> float | int:
        try:
            number = int(value) if integer else float(value)
        except (TypeError, ValueError):
            kind = "a whole number" if integer else "a number of seconds"
            raise AWSSettingsError(f"{variable}: expected {kind}, got {value!r}") from None
        if number < minimum or number != number:  # NaN is not a duration
            raise AWSSettingsError(f"{variable}: must be at least {minimum}, got {value!r}")
        return number

    return parse


def _import_list(variable: str, value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise AWSSettingsError(f"{variable}: expected references separated by commas")
    return tuple(item.strip() for item in items if item.strip())


OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("region", "PYDANTIC_AWS_REGION", _text),
    OptionSpec("role_arn", "PYDANTIC_AWS_ROLE_ARN", _text),
    OptionSpec("role_session_name", "PYDANTIC_AWS_ROLE_SESSION_NAME", _text),
    OptionSpec("external_id", "PYDANTIC_AWS_EXTERNAL_ID", _text),
    # botocore refuses role sessions shorter than 900 s (STS's minimum) before sending the request.
    OptionSpec("role_duration", "PYDANTIC_AWS_ROLE_DURATION", _number(900, integer=True)),
    OptionSpec("cache_ttl", "PYDANTIC_AWS_CACHE_TTL", _number(0)),
    OptionSpec("max_stale", "PYDANTIC_AWS_MAX_STALE", _number(0)),
    OptionSpec("import_", "PYDANTIC_AWS_IMPORT", _import_list),
    OptionSpec("connect_timeout", "PYDANTIC_AWS_CONNECT_TIMEOUT", _number(0.001)),
    OptionSpec("read_timeout", "PYDANTIC_AWS_READ_TIMEOUT", _number(0.001)),
    OptionSpec("max_attempts", "PYDANTIC_AWS_MAX_ATTEMPTS", _number(1, integer=True)),
    OptionSpec("max_workers", "PYDANTIC_AWS_MAX_WORKERS", _number(1, integer=True)),
    OptionSpec("refresh_ahead", "PYDANTIC_AWS_REFRESH_AHEAD", _number(0)),
    OptionSpec("throttle_timeout", "PYDANTIC_AWS_THROTTLE_TIMEOUT", _number(0)),
    OptionSpec("agent_url", "PYDANTIC_AWS_AGENT_URL", _agent_url),
    OptionSpec("agent_token", "PYDANTIC_AWS_AGENT_TOKEN", _agent_token),
)


class RoleArnError(AWSSettingsError):
    """The role to assume is not an IAM role ARN; raised before any request, naming where it was set.

    Attributes:
        role: the role as given.
    """

    def __init__(self, where: str, role: str, problem: str) -> None:
        self.role = role
        super().__init__(f"{where}: {problem}; set it to the ARN of the role to assume")


def _check_role(where: str, role: str) -> None:
    """Refuse a role that is not an IAM role ARN (STS would refuse it at the first request, unnamed)."""
    from pydantic_aws_settings._role_arn import role_arn_problem

    problem = role_arn_problem(role)
    if problem is not None:
        raise RoleArnError(where, role, problem)


def resolve_options(
    keywords: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Options:
    """Merge the options: a keyword (not None) beats a `model_config` key, which beats the environment.

    Raises:
        AWSSettingsError: an option has a value of the wrong kind, or the role is not an IAM role ARN
            (`RoleArnError`); the message names where it was set.
    """
    keywords = keywords or {}
    config = config or {}
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in OPTION_SPECS:
        key = spec.config_key
        if keywords.get(key) is not None:
            raw, where = keywords[key], f"{key}="
        elif config.get(key) is not None:
            raw, where = config[key], f"model_config[{key!r}]"
        elif environ.get(spec.variable, "").strip():
            raw, where = environ[spec.variable], spec.variable
        else:
            continue
        parsed = spec.parse(where, raw)
        if spec.attribute == "role_arn" and parsed is not None:
            _check_role(where, parsed)
        if parsed is not None:
            values[spec.attribute] = parsed
    if values.get("region") is None:
        region = environ.get("AWS_REGION", "").strip()
        if region:
            values["region"] = region
    return Options(**values)
