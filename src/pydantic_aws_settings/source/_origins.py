"""Where each field's value came from in a load, and each variable as the user spelled it.

Imported on a source's first load, not with the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, AliasPath
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource, SecretsSettingsSource

from pydantic_aws_settings.source._compat import env_names, read_env_file
from pydantic_aws_settings.source._report import Origin

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

    from pydantic_aws_settings.source._records import _Plan
    from pydantic_aws_settings.source._report import OriginKind

__all__ = ["field_keys", "origins", "spelling"]


def field_keys(name: str, info: FieldInfo) -> frozenset[str]:
    """Every top-level key a source's values may hold a field under, as pydantic looks the field up.

    The name, the `alias`, and each of `validation_alias`'s names: a string, each choice of an
    `AliasChoices`, and the first step of an `AliasPath` (alone or among the choices). pydantic-settings
    keys a field's value by one of them (for `AliasChoices`, its first choice, whichever variable was set).
    """
    keys = {name}
    if isinstance(info.alias, str):
        keys.add(info.alias)
    alias = info.validation_alias
    choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
    for choice in choices:
        first = choice.path[0] if isinstance(choice, AliasPath) else choice
        if isinstance(first, str):
            keys.add(first)
    return frozenset(keys)


def spelling(source: EnvSettingsSource, env_name: str) -> str:
    """The variable as the user wrote it (the source keeps names lower-cased when case-insensitive)."""
    if isinstance(source, DotEnvSettingsSource):
        files = source.env_file if isinstance(source.env_file, (list, tuple)) else [source.env_file]
        for env_file in reversed([f for f in files if f is not None]):
            path = Path(env_file).expanduser()
            if path.is_file():
                found = read_env_file(path, source.env_file_encoding)
                spelled = next((k for k in found if k.lower() == env_name.lower()), None)
                if spelled:
                    return f"{spelled} (in {env_file})"
        return f"{env_name.upper()} (in a dotenv file)"
    if source.case_sensitive:
        return env_name
    return next((k for k in os.environ if k.lower() == env_name), env_name.upper())


def _variables_of(source: EnvSettingsSource, info: FieldInfo, name: str) -> str:
    """The variable a field's plain value came from, or its first nested variable and how many more."""
    names = env_names(source, info, name)
    present = next((e for e in names if e in source.env_vars), None)
    if present is not None:
        return spelling(source, present)
    delimiter = source.env_nested_delimiter
    nested = sorted(
        var for e in names for var in source.env_vars if delimiter and var.startswith(f"{e}{delimiter}")
    )
    if not nested:
        return spelling(source, names[0] if names else name)
    more = f" and {len(nested) - 1} more" if len(nested) > 1 else ""
    return f"{spelling(source, nested[0])}{more}"


def origins(
    settings_cls: type[BaseSettings],
    results: list[tuple[OriginKind, PydanticBaseSettingsSource | None, dict[str, Any]]],
    plan: _Plan,
) -> dict[str, Origin]:
    """Where each top-level field's value came from: the highest layer that supplied it."""
    found: dict[str, Origin] = {}
    for name, info in settings_cls.model_fields.items():
        keys = field_keys(name, info)
        for kind, source, values in results:
            if not keys & set(values):
                continue
            if kind == "import":
                entry = next(e for e in reversed(plan.imports) if keys & set(e.values))
                found[name] = Origin("import", "PYDANTIC_AWS_IMPORT", entry.text, entry.sensitive)
                break
            if kind == "source":
                label: OriginKind = "secrets" if isinstance(source, SecretsSettingsSource) else "source"
                found[name] = Origin(label, type(source).__name__)
                break
            mine = [
                u
                for u in plan.uses
                if u.kind == kind
                and u.resolved
                and u.path.split(".")[0] == name
                and (kind == "declared" or u.decoder is source)
            ]
            if mine:
                sensitive = any(u.sensitive for u in mine)
                found[name] = Origin(kind, mine[0].describe(), mine[0].text, sensitive)
            elif isinstance(source, EnvSettingsSource) and kind != "declared":
                found[name] = Origin(kind, _variables_of(source, info, name))
            break
    return found
