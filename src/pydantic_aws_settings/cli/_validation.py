"""A validation error as `check` prints it, each error naming where its value came from.

Each error's location, message and type, and the variable (and the reference when the value was
fetched), never the input itself.

pydantic's `ValidationError` names fields only; the operator fixes variables. Each error's location is
matched, longest first, against the origins the load recorded (`recording_origins`: keyed by top-level
field, or by dotted path where the source records a leaf's own origin). A required field that nothing
supplied names the variables that would supply it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pydantic_settings import EnvSettingsSource

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic import ValidationError
    from pydantic_settings import BaseSettings

    from pydantic_aws_settings.source import Origin

__all__ = ["validation_text"]


def validation_text(
    exc: ValidationError,
    origins: Mapping[str, Origin] | None = None,
    settings_cls: type[BaseSettings] | None = None,
) -> str:
    """A validation error without the input values, each error naming where its value came from.

    Args:
        exc: the error.
        origins: where the load's values came from, as `recording_origins` collected them.
        settings_cls: the class that was loaded, to name the variables a missing field is read from.

    Returns:
        `N validation error(s) for CLASS`, then one line per error: `  LOCATION: MESSAGE [type=TYPE]`,
        followed by `(from VARIABLE = 'REFERENCE')`, `(from VARIABLE)`, or for a missing field
        `(set VARIABLE)` when it is known (the most specific variable first), or the reference whose
        JSON object lacks it.
    """
    lines = [f"{exc.error_count()} validation error(s) for {exc.title}"]
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        location = ".".join(str(part) for part in error["loc"]) or "(model)"
        where = _where(error["loc"], error["type"], origins or {}, settings_cls)
        lines.append(f"  {location}: {error['msg']} [type={error['type']}]{where}")
    return "\n".join(lines)


def _where(
    loc: Sequence[int | str],
    kind: str,
    origins: Mapping[str, Origin],
    settings_cls: type[BaseSettings] | None,
) -> str:
    parts = [str(part) for part in loc]
    if len(parts) > 1 and settings_cls is not None:
        # A nested key set by its own variable (`APP_DB__PORT`), which the origin of `db` may not name.
        nested = _variables(settings_cls, parts)[len(_variables(settings_cls, parts[:1])) :]
        present = {name.upper() for name in os.environ}
        own = next((name for name in nested if name.upper() in present), None)
        if own is not None:
            return f" (from {own})"
    for end in range(len(parts), 0, -1):
        origin = origins.get(".".join(parts[:end]))
        # A missing key of a model that variables fill: the variable to set, not a sibling's. A missing
        # key of a fetched JSON object: the reference that lacks it.
        if origin is not None and (kind != "missing" or end == len(parts) or origin.reference):
            place = origin.variable or origin.kind
            reference = f" = {origin.reference!r}" if origin.reference else ""
            return f" (from {place}{reference})"
    if kind == "missing" and settings_cls is not None and parts:
        names = _variables(settings_cls, parts)[::-1]  # the most specific first
        if names:
            return f" (set {' or '.join(names)})"
    return ""


def _variables(settings_cls: type[BaseSettings], parts: list[str]) -> list[str]:
    """The environment variables that would supply a field (dotted below a top-level field), in order."""
    name = parts[0]
    info = settings_cls.model_fields.get(name) or next(
        (f for f in settings_cls.model_fields.values() if f.alias == name), None
    )
    if info is None:
        return []
    try:
        source: Any = EnvSettingsSource(settings_cls)
        # Private API of pydantic-settings (>= 2.15), as the settings source uses it: the variable
        # names of a field, the prefix, alias and case rules applied.
        found = [env_name for _, env_name, _ in source._extract_field_info(info, name)]
    except Exception:  # noqa: BLE001 - a hint only: without it the error still names the field
        return []
    spell = (lambda text: text) if source.case_sensitive else str.upper
    names = [spell(env_name) for env_name in found]
    delimiter = source.env_nested_delimiter
    if len(parts) > 1 and delimiter:
        names += [spell(delimiter.join([env_name, *parts[1:]])) for env_name in found]
    return names
