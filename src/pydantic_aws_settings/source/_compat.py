"""The one seam between the source and pydantic-settings: every private API it uses, each behind a name.

Each function says which private name it reaches and was checked against pydantic-settings
`CHECKED_AGAINST`; on an upgrade this is the one file to read again (`test_parity` checks that every name
still exists). Besides the privates: `sources_of` (public route), a local `deep_update` (instead of
pydantic's private one) and `_MappingSource`, pydantic-settings' environment logic run on a mapping of ours.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from pydantic_settings import (
    DotEnvSettingsSource,
    EnvSettingsSource,
    InitSettingsSource,
    SecretsSettingsSource,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

__all__ = [
    "CHECKED_AGAINST",
    "PRIVATE_NAMES",
    "annotation_is_complex",
    "decodes",
    "deep_update",
    "env_names",
    "env_vars_as",
    "field_is_complex",
    "read_env_file",
    "set_current_state",
    "sources_of",
]

#: The pydantic-settings release every private use below was checked against.
CHECKED_AGAINST = "2.16.3"

#: (module, dotted name) of each private API used here, for a test to check after an upgrade.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("pydantic_settings", "PydanticBaseSettingsSource._set_current_state"),
    ("pydantic_settings.sources", "PydanticBaseEnvSettingsSource._extract_field_info"),
    ("pydantic_settings", "EnvSettingsSource._field_is_complex"),
    ("pydantic_settings", "EnvSettingsSource._coerce_env_val_strict"),
    ("pydantic_settings", "EnvSettingsSource._load_env_vars"),
    ("pydantic_settings", "DotEnvSettingsSource._static_read_env_file"),
    ("pydantic_settings.sources.utils", "_annotation_is_complex"),
    ("pydantic_settings.sources", "PydanticBaseEnvSettingsSource._replace_field_names_case_insensitively"),
    ("pydantic_settings.sources", "PydanticBaseEnvSettingsSource._replace_env_none_type_values"),
)


def set_current_state(source: PydanticBaseSettingsSource, state: dict[str, Any]) -> None:
    """Hand a source the values of the sources above it, as pydantic-settings does before calling it.

    Private: `PydanticBaseSettingsSource._set_current_state` (checked against 2.16.3).
    """
    source._set_current_state(state)


def env_names(source: EnvSettingsSource, info: FieldInfo, name: str) -> list[str]:
    """The variable names a source reads a field from, in its order (prefix, aliases, case applied).

    Private: `PydanticBaseEnvSettingsSource._extract_field_info` (checked against 2.16.3).
    """
    return [env_name for _, env_name, _ in source._extract_field_info(info, name)]


def field_is_complex(source: EnvSettingsSource, info: FieldInfo) -> tuple[bool, bool]:
    """(needs JSON, may the JSON fail) for a field: pydantic-settings' own rule, reused.

    Private: `EnvSettingsSource._field_is_complex` (checked against 2.16.3).
    """
    return source._field_is_complex(info)


def annotation_is_complex(annotation: Any) -> bool:
    """Whether a raw (nested) type is read from JSON.

    Private: `pydantic_settings.sources.utils._annotation_is_complex` (checked against 2.16.3).
    """
    from pydantic_settings.sources.utils import _annotation_is_complex

    return _annotation_is_complex(annotation, [])


def read_env_file(path: Path, encoding: str | None) -> Mapping[str, str | None]:
    """A dotenv file's variables with their names as written (for showing a variable as spelt).

    Private: `DotEnvSettingsSource._static_read_env_file` (checked against 2.16.3).
    """
    return DotEnvSettingsSource._static_read_env_file(path, encoding=encoding, case_sensitive=True)


#: The methods a variable source turns one value into another with: for a run of ours, each keeps a secret's
#: value masked (`keep_hidden`), so that no mapping of the source shows it in a traceback's locals.
_VALUE_METHODS = (
    "decode_complex_value",
    "_replace_field_names_case_insensitively",
    "_replace_env_none_type_values",
)


@contextlib.contextmanager
def env_vars_as(
    source: EnvSettingsSource, env_vars: Mapping[str, Any], *, hidden: bool = True
) -> Iterator[EnvSettingsSource]:
    """Run a source on other variables than the ones it read, and put its own back afterwards.

    `env_vars` is a plain attribute that `EnvSettingsSource.__call__` reads (checked against 2.16.3); the
    `_VALUE_METHODS` (private but the first) are wrapped for the run with instance attributes, unless
    `hidden` is False (no value of `env_vars` is masked, so none has to stay so), and so are the per-field
    facts of pydantic-settings' own sources (`_memo`).
    """
    from pydantic_aws_settings.source._memo import MEMO_METHODS, install

    own = vars(source)
    saved = {name: own[name] for name in (*_VALUE_METHODS, *MEMO_METHODS) if name in own}  # usually none
    original = source.env_vars
    source.env_vars = env_vars
    if hidden:
        from pydantic_aws_settings._redact import keeping_hidden

        for name in _VALUE_METHODS:
            setattr(source, name, keeping_hidden(getattr(source, name)))
    install(source)  # pydantic-settings' per-field facts, remembered across loads
    try:
        yield source
    finally:
        source.env_vars = original
        for name in (*_VALUE_METHODS, *MEMO_METHODS):
            if name in saved:
                setattr(source, name, saved[name])
            else:
                own.pop(name, None)


def deep_update(mapping: dict[str, Any], *updates: dict[str, Any]) -> dict[str, Any]:
    """A copy of `mapping` with each update merged in, nested dicts merged key by key (later wins).

    What pydantic-settings merges its sources with (`pydantic._internal._utils.deep_update`), written out.
    """
    updated = mapping.copy()
    for update in updates:
        for key, value in update.items():
            current = updated.get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                updated[key] = deep_update(current, value)
            else:
                updated[key] = value
    return updated


def sources_of(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:
    """The sources a load of the class reads, as its own `settings_customise_sources` composes them.

    pydantic-settings' public sources are built as `BaseSettings` builds them for a load without init
    arguments (each from the class's `model_config`), then handed to the class's hook. Nothing is
    fetched; building them reads dotenv files, nothing else.
    """
    return settings_cls.settings_customise_sources(
        settings_cls,
        init_settings=InitSettingsSource(settings_cls, init_kwargs={}),
        env_settings=EnvSettingsSource(settings_cls),
        dotenv_settings=DotEnvSettingsSource(settings_cls),
        file_secret_settings=SecretsSettingsSource(settings_cls),
    )


class _StringListText(str):
    """The text of a StringList parameter in a bulk import: its items where the field is complex, else text.

    SSM stores a StringList as comma-joined text, which is not the JSON a list field reads from a
    variable; a direct reference converts it knowing its field, an import through `_MappingSource`.
    """

    __slots__ = ()


class _Probe:
    """Not JSON: what `decodes` hands pydantic-settings to see whether it would decode a field."""


def decodes(source: EnvSettingsSource, field_name: str, field: Any) -> bool:
    """Whether pydantic-settings decodes a complex field's text as JSON (not with `NoDecode`, say).

    Asked of pydantic-settings itself, so that its rules (`NoDecode`, `enable_decoding`, `ForceDecode`)
    hold as they are: it hands back what it does not decode, and fails on what it tries to.
    """
    probe = _Probe()
    try:
        return EnvSettingsSource.decode_complex_value(source, field_name, field, probe) is not probe
    except Exception:  # noqa: BLE001 - json.loads of the probe: it decodes
        return True


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment logic run on a mapping of ours (imports and markers), prefix-free.

    Private: overrides `EnvSettingsSource._load_env_vars` and the `_VALUE_METHODS`, which keep a secret's
    value masked as `env_vars_as` does (checked against 2.16.3).
    """

    def __init__(self, settings_cls: type[BaseSettings], nested_delimiter: str | None) -> None:
        super().__init__(
            settings_cls,
            case_sensitive=False,
            env_prefix="",
            env_nested_delimiter=nested_delimiter,
            env_ignore_empty=False,
        )

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {}

    def decode_complex_value(self, field_name: str, field: FieldInfo | None, value: Any) -> Any:
        """A StringList's items where pydantic-settings would decode JSON, else as pydantic-settings does."""
        from pydantic_aws_settings._redact import keep_hidden

        if isinstance(value, _StringListText):
            return value.split(",") if decodes(self, field_name, field) else str(value)
        # Typed to take a FieldInfo; pydantic-settings passes None for a raw nested type and handles it.
        return keep_hidden(value, super().decode_complex_value(field_name, field, value))  # type: ignore[arg-type]

    def _replace_field_names_case_insensitively(self, field: FieldInfo, field_values: dict[str, Any]) -> Any:
        from pydantic_aws_settings._redact import keep_hidden

        return keep_hidden(field_values, super()._replace_field_names_case_insensitively(field, field_values))

    def _replace_env_none_type_values(self, field_value: dict[str, Any]) -> Any:
        from pydantic_aws_settings._redact import keep_hidden

        return keep_hidden(field_value, super()._replace_env_none_type_values(field_value))
