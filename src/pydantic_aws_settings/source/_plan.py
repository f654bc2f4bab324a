"""The I/O-free first half of a load: the references among the variables, the imports and the markers.

Imported on a source's first load, not with the package. Facts about a settings class that every load
would otherwise recompute (the warm path is a few microseconds per field) are remembered per class.
"""

from __future__ import annotations

import functools
import sys
import weakref
from typing import TYPE_CHECKING, Any

from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

from pydantic_aws_settings.errors import Failure, InvalidReferenceError
from pydantic_aws_settings.references import (
    ParameterReference,
    Reference,
    SecretReference,
    looks_like_reference,
    parse_reference,
    unescape,
)
from pydantic_aws_settings.source._compat import (
    _MappingSource,
    annotation_is_complex,
    env_names,
    field_is_complex,
    set_current_state,
)
from pydantic_aws_settings.source._origins import spelling
from pydantic_aws_settings.source._records import _Import, _Plan, _Use

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic.fields import FieldInfo
    from pydantic_settings import BaseSettings

    from pydantic_aws_settings.source._report import OriginKind
    from pydantic_aws_settings.source._source import AWSSettingsSource

__all__ = ["kind_of", "plan"]


_ENV_NAMES: weakref.WeakKeyDictionary[type, dict[tuple[Any, ...], list[tuple[str, FieldInfo, list[str]]]]] = (
    weakref.WeakKeyDictionary()
)
_MARKED: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


def _marker_types() -> tuple[type, ...]:
    """The marker classes, if their module was ever imported: if not, no field can hold a marker.

    The package imports `markers` only when `Parameter` or `SecretsManager` is first asked for, so that
    a process without markers does not build their classes.
    """
    markers = sys.modules.get("pydantic_aws_settings.markers")
    return (markers.Parameter, markers.SecretsManager) if markers is not None else ()


def _has_markers(settings_cls: type[BaseSettings]) -> bool:
    """Whether any field of the class declares a `Parameter` or `SecretsManager` marker (remembered)."""
    marked = _MARKED.get(settings_cls)
    if marked is None:
        kinds = _marker_types()
        marked = _MARKED[settings_cls] = bool(kinds) and any(
            isinstance(m, kinds) for info in settings_cls.model_fields.values() for m in info.metadata
        )
    return marked


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Reference | None:
    """`parse_reference`, remembered per text (errors are raised again each time, never cached)."""
    return parse_reference(text)


def _field_env_names(
    settings_cls: type[BaseSettings], source: EnvSettingsSource
) -> list[tuple[str, FieldInfo, list[str]]]:
    """Each field with the variable names a source reads it from, computed once per class and source setup."""
    names = _ENV_NAMES.setdefault(settings_cls, {})
    key = (type(source), source.env_prefix, source.case_sensitive, getattr(source, "env_prefix_target", None))
    found = names.get(key)
    if found is None:
        found = names[key] = [
            (name, info, env_names(source, info, name)) for name, info in settings_cls.model_fields.items()
        ]
    return found


def _in_state(aws: AWSSettingsSource, name: str, info: FieldInfo) -> bool:
    state = aws.current_state
    return name in state or (isinstance(info.alias, str) and info.alias in state)


def kind_of(source: EnvSettingsSource) -> OriginKind:
    """The origin kind of an operator variable source: dotenv or env."""
    return "dotenv" if isinstance(source, DotEnvSettingsSource) else "env"


def _parsed(text: str, path: str, describe: Callable[[], str], failures: list[Failure]) -> Reference | None:
    """A variable's text parsed as a reference, None for a plain value; a malformed one is a failure."""
    try:
        return _parse(text)
    except InvalidReferenceError as exc:
        failures.append(Failure(path, describe(), text, "InvalidReference", exc.reason))
        return None


def _scan(
    aws: AWSSettingsSource,
    source: EnvSettingsSource,
    uses: list[_Use],
    failures: list[Failure],
    supplied: set[str],
) -> dict[str, Any]:
    """Note the references among the variables that feed a field; return the mapping to substitute."""
    env_vars: dict[str, Any] = dict(source.env_vars)
    if not env_vars:  # a dotenv source without a file: nothing to scan
        return env_vars
    kind = kind_of(source)
    delimiter = source.env_nested_delimiter
    state = aws.current_state  # `_in_state`, inlined: this loop runs on every field of every load
    for name, info, names in _field_env_names(aws.settings_cls, source):
        if state and (name in state or (isinstance(info.alias, str) and info.alias in state)):
            continue
        for env_name in names:
            value = env_vars.get(env_name)
            if value is None:
                continue
            ref = None
            if isinstance(value, str) and looks_like_reference(value):
                describe = functools.partial(spelling, source, env_name)
                try:  # `_parsed`, inlined
                    ref = _parse(value)
                except InvalidReferenceError as exc:
                    failures.append(Failure(name, describe(), value, "InvalidReference", exc.reason))
                if ref is not None:
                    uses.append(_Use(name, kind, describe, value, ref, env_vars, env_name, info, source))
                else:
                    _plain(env_vars, env_name, value)
            elif isinstance(value, str) and _too_deep(value) and _decodes(source, info):
                failures.append(_deep(name, functools.partial(spelling, source, env_name)))
            if ref is None or not ref.optional:
                supplied.add(name)
            break
        if not delimiter:
            continue
        for env_name in names:
            prefix = f"{env_name}{delimiter}"
            for var, value in list(env_vars.items()):
                if not (var.startswith(prefix) and isinstance(value, str)):
                    continue
                keys = var[len(prefix) :].split(delimiter, source.maxsplit)
                dotted = ".".join([name, *keys])
                describe = functools.partial(spelling, source, var)
                if not looks_like_reference(value):
                    if _too_deep(value) and _decodes(source, _nested(source, info, keys)):
                        failures.append(_deep(dotted, describe))
                    continue
                target = _nested(source, info, keys)
                ref = _parsed(value, dotted, describe, failures)
                if ref is not None:
                    uses.append(_Use(dotted, kind, describe, value, ref, env_vars, var, target, source))
                else:
                    _plain(env_vars, var, value)
    return env_vars


def _plain(env_vars: dict[str, Any], env_name: str, text: str) -> None:
    """A plain value that is not a reference: the escape `plain:TEXT` becomes TEXT (in the load's copy)."""
    value = unescape(text)
    if value is not None:
        env_vars[env_name] = value


#: Below this length no JSON text is nested deeply enough to exhaust Python's recursion limit.
_DEEP_LENGTH = 200


def _too_deep(text: str) -> bool:
    """Whether a plain value is JSON nested too deeply to decode (pydantic-settings: a RecursionError)."""
    if len(text) < _DEEP_LENGTH or text.lstrip()[:1] not in ("[", "{"):
        return False
    from pydantic_aws_settings.values import json_too_deep

    return json_too_deep(text)


def _deep(path: str, describe: Callable[[], str]) -> Failure:
    """The failure of a plain value nested too deeply (the value itself is never repeated)."""
    detail = "the field needs JSON, and the value is JSON nested too deeply to decode"
    return Failure(path, describe(), "(a plain value)", "InvalidJSON", detail)


def _nested(source: EnvSettingsSource, info: FieldInfo, keys: list[str]) -> Any:
    """The field (or raw type, or None) a nested variable's keys lead to, as pydantic-settings finds it."""
    target: Any = info
    for key in keys:
        target = source.next_field(target, key, source.case_sensitive)
    return target


def _decodes(source: EnvSettingsSource, target: Any) -> bool:
    """Whether pydantic-settings decodes a (nested) field's value as JSON (asked only of a rare value)."""
    from pydantic.fields import FieldInfo

    if isinstance(target, FieldInfo):
        return field_is_complex(source, target)[0]
    return target is not None and annotation_is_complex(target)


def _markers(aws: AWSSettingsSource, uses: list[_Use], supplied: set[str]) -> _MappingSource | None:
    """The declared markers of fields nothing above supplies, as uses feeding a mapping source."""
    settings_cls = aws.settings_cls
    if not _has_markers(settings_cls):
        return None
    from pydantic_aws_settings.markers import Parameter, SecretsManager  # imported: a field has one

    source = _MappingSource(settings_cls, "")
    sink: dict[str, Any] = {}
    source.env_vars = sink
    for name, info in settings_cls.model_fields.items():
        if name in supplied or _in_state(aws, name, info):
            continue
        marker = next((m for m in info.metadata if isinstance(m, (Parameter, SecretsManager))), None)
        if marker is None:
            continue
        env_name = env_names(source, info, name)[0]
        where = f"declared on {settings_cls.__name__}.{name}"
        ref: Reference = marker.reference
        describe = functools.partial(str, where)
        uses.append(_Use(name, "declared", describe, str(ref), ref, sink, env_name, info, source))
    return source


def _imports(aws: AWSSettingsSource, failures: list[Failure]) -> list[_Import]:
    """The entries of `PYDANTIC_AWS_IMPORT`, checked for the forms bulk import takes."""
    found: list[_Import] = []
    for text in aws.options.import_:
        try:
            ref = _parse(text)
        except InvalidReferenceError as exc:
            failures.append(Failure("(import)", "PYDANTIC_AWS_IMPORT", text, "InvalidReference", exc.reason))
            continue
        usable = (isinstance(ref, ParameterReference) and ref.is_path) or (
            isinstance(ref, SecretReference) and ref.key is None
        )
        if ref is None or not usable:
            failures.append(
                Failure(
                    "(import)",
                    "PYDANTIC_AWS_IMPORT",
                    text,
                    "InvalidReference",
                    "bulk import takes ssm:/PATH/ or secretsmanager:NAME references",
                )
            )
            continue
        found.append(_Import(text, ref))
    return found


def plan(aws: AWSSettingsSource) -> _Plan:
    """Everything a load needs, found without any I/O to AWS: references, imports, markers, layers."""
    planned = _Plan(aws.options)
    supplied: set[str] = set()
    for source in aws.sources:
        set_current_state(source, aws.current_state)
        if isinstance(source, EnvSettingsSource):
            planned.layers.append((source, _scan(aws, source, planned.uses, planned.failures, supplied)))
        else:
            planned.layers.append((source, None))
    planned.static = {id(source): source() for source, env_vars in planned.layers if env_vars is None}
    for values in planned.static.values():
        supplied.update(values)
    planned.imports = _imports(aws, planned.failures)
    planned.markers = _markers(aws, planned.uses, supplied)
    return planned
