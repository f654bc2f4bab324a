"""Where each field's value came from in a load, and each variable as the user spelled it.

Imported on a source's first load, not with the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource, SecretsSettingsSource

from pydantic_aws_settings.source._compat import env_names, read_env_file
from pydantic_aws_settings.source._report import Origin

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

    from pydantic_aws_settings.source._records import _Plan
    from pydantic_aws_settings.source._report import OriginKind

__all__ = ["origins", "spelling"]


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


def _present(values: Any, keys: list[str]) -> bool:
    """Whether a layer's values hold a dotted path (`database.host` in `{"database": {"host": ...}}`)."""
    for key in keys:
        if not isinstance(values, dict) or key not in values:
            return False
        values = values[key]
    return True


def _leaves(
    settings_cls: type[BaseSettings],
    results: list[tuple[OriginKind, PydanticBaseSettingsSource | None, dict[str, Any]]],
    plan: _Plan,
) -> dict[str, Origin]:
    """The own origin of each leaf a nested variable fed (`database.host` from `APP_DATABASE__HOST`).

    The layers are read from the lowest precedence up: a layer that holds a leaf takes it from the
    layers below (its own nested variable, if it has one, wins within it, as pydantic-settings merges).
    """
    found: dict[str, Origin] = {}
    for kind, source, values in reversed(results):
        for dotted in [d for d in found if _present(values, d.split("."))]:
            del found[dotted]
        if kind not in ("env", "dotenv") or not isinstance(source, EnvSettingsSource):
            continue
        delimiter = source.env_nested_delimiter
        if not delimiter:
            continue
        for name, info in settings_cls.model_fields.items():
            for env_name in env_names(source, info, name):
                prefix = f"{env_name}{delimiter}"
                for var in (v for v in source.env_vars if v.startswith(prefix)):
                    dotted = ".".join([name, *var[len(prefix) :].split(delimiter, source.maxsplit)])
                    use = next((u for u in plan.uses if u.path == dotted and u.decoder is source), None)
                    if use is not None and use.resolved:
                        found[dotted] = Origin(kind, use.describe(), use.text, use.sensitive)
                    elif use is None:
                        found[dotted] = Origin(kind, spelling(source, var))
    return found


def origins(
    settings_cls: type[BaseSettings],
    results: list[tuple[OriginKind, PydanticBaseSettingsSource | None, dict[str, Any]]],
    plan: _Plan,
) -> dict[str, Origin]:
    """Where each value came from: each top-level field's highest layer, and each nested variable's leaf.

    Keyed by field name, and by dotted path (`database.host`) where a leaf has an origin of its own (a
    nested variable overriding one key of a secret); a leaf without one has its field's.
    """
    found: dict[str, Origin] = _leaves(settings_cls, results, plan)
    for name, info in settings_cls.model_fields.items():
        keys = {name, info.alias} if isinstance(info.alias, str) else {name}
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
