"""What each resolved reference becomes: a value for its field, or the field values of an import entry.

Imported on a source's first load, not with the package.
"""

from __future__ import annotations

import json
import types
import weakref
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

from pydantic import AliasChoices, AliasPath, Json, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import NoDecode, SettingsError

from pydantic_aws_settings._redact import hide
from pydantic_aws_settings.errors import Failure
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from pydantic_aws_settings.source._compat import (
    _MappingSource,
    _StringListText,
    annotation_is_complex,
    decodes,
    field_is_complex,
)
from pydantic_aws_settings.values import extract, json_text, json_too_deep, key_names

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings, EnvSettingsSource

    from pydantic_aws_settings.fetch import Outcome
    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference
    from pydantic_aws_settings.source._records import _Import, _Plan, _Use

__all__ = ["apply", "apply_all", "import_values", "mask_sensitive"]

#: Per class, the shape of each target: (needs JSON, may the JSON fail), by (field path, is a mapping source).
_SHAPES: weakref.WeakKeyDictionary[type, dict[tuple[str, bool], tuple[bool, bool]]] = (
    weakref.WeakKeyDictionary()
)


def _shape(decoder: EnvSettingsSource, path: str, target: Any) -> tuple[bool, bool]:
    """`_is_complex` for a field path of the decoder's class, computed once per class and path."""
    shapes = _SHAPES.setdefault(decoder.settings_cls, {})
    key = (path, isinstance(decoder, _MappingSource))
    shape = shapes.get(key)
    if shape is None:
        shape = shapes[key] = _is_complex(decoder, target)
    return shape


def _is_complex(decoder: EnvSettingsSource, target: Any) -> tuple[bool, bool]:
    """(needs JSON, may the JSON fail) for a field, a nested field or a raw nested type."""
    if isinstance(target, FieldInfo):
        return field_is_complex(decoder, target)
    if target is None:
        return False, True
    return annotation_is_complex(target), True


#: The types a whole JSON object is a mistake for: one value, not a mapping (bool is an int).
_SCALARS: tuple[type, ...] = (str, bytes, SecretStr, SecretBytes, int, float, Decimal)

#: Per class, whether each field path takes one scalar value (so a whole JSON object is a mistake).
_SCALAR_PATHS: weakref.WeakKeyDictionary[type, dict[str, bool]] = weakref.WeakKeyDictionary()


def _takes_scalar(annotation: Any, metadata: list[Any]) -> bool:
    """Whether a type takes one scalar value: `str`, `SecretStr`, bytes, numbers, or a union of them.

    `Annotated[..., NoDecode]` (the documented escape: the whole text, as it is) and `Json` are not.
    """
    # `Json` is a special form to mypy, a class at run time (what isinstance sees).
    if any(m is NoDecode or isinstance(m, (NoDecode, Json)) for m in metadata):  # type: ignore[misc]
        return False
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *meta = get_args(annotation)
        return _takes_scalar(inner, [*metadata, *meta])
    if origin is Union or origin is types.UnionType:
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        return bool(args) and all(_takes_scalar(arg, []) for arg in args)
    return isinstance(annotation, type) and issubclass(annotation, _SCALARS)


def _scalar_target(use: _Use) -> bool:
    """`_takes_scalar` for a use's target (a field, a nested field or a raw nested type), once per path."""
    paths = _SCALAR_PATHS.setdefault(use.decoder.settings_cls, {})
    scalar = paths.get(use.path)
    if scalar is None:
        target = use.target_field
        if isinstance(target, FieldInfo):
            # A field behind an AliasPath reads inside the JSON itself (pydantic walks the path).
            walks = isinstance(target.validation_alias, AliasPath) or (
                isinstance(target.validation_alias, AliasChoices)
                and any(isinstance(choice, AliasPath) for choice in target.validation_alias.choices)
            )
            scalar = not walks and _takes_scalar(target.annotation, list(target.metadata))
        else:
            scalar = target is not None and _takes_scalar(target, [])
        paths[use.path] = scalar
    return scalar


def _whole_object(use: _Use, value: str) -> FetchFailure | None:
    """The failure of a JSON object fed whole into a scalar field, naming its keys (never a value)."""
    try:
        document = json.loads(value)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    leaf = use.path.rsplit(".", 1)[-1].lower()
    key = next((k for k in sorted(document) if leaf.endswith(str(k).lower())), "KEY")
    what = "secret" if use.ref.service == "secretsmanager" else "parameter"
    base, mark, query = use.text.partition("?")
    text = f"{base}:{key}" if use.ref.bare_arn else f"{base}#{key}{mark}{query}"
    return FetchFailure(
        "WholeJSONObject",
        f"the field takes one value, and the {what} is a JSON object{key_names(document)}: take one key "
        f"with #KEY ({text}), or annotate the field Annotated[str, NoDecode] to take the whole JSON",
    )


#: Below this length no JSON text is nested deeply enough to exhaust Python's recursion limit.
_DEEP_LENGTH = 200


def _value_for(use: _Use, fetched: Fetched) -> tuple[Any, FetchFailure | None]:
    """What a reference resolved to, as the environment would carry it for the target field."""
    value, problem = extract(use.ref, fetched)
    if problem is not None:
        return None, problem
    needs_json, may_fail = _shape(use.decoder, use.path, use.target_field)
    if (
        use.ref.key is None
        and not isinstance(fetched.data, dict)
        and isinstance(value, str)
        and value.lstrip()[:1] == "{"
        and _scalar_target(use)
    ):
        problem = _whole_object(use, value)
        if problem is not None:
            return None, problem
    if (
        fetched.kind == "StringList"
        and needs_json
        and isinstance(value, str)
        and decodes(use.decoder, use.path, use.target_field)
    ):
        value = json.dumps(value.split(","))
    if needs_json and isinstance(value, (str, bytes)) and json_too_deep(value):
        return None, FetchFailure(
            "InvalidJSON", "the field needs JSON, and the value is JSON nested too deeply to decode"
        )
    if needs_json and isinstance(value, (str, bytes)) and (not may_fail or len(value) >= _DEEP_LENGTH):
        try:
            use.decoder.decode_complex_value(use.path, use.target_field, value)
        except RecursionError:
            return None, FetchFailure(
                "InvalidJSON", "the field needs JSON, and the value is JSON nested too deeply to decode"
            )
        except (ValueError, UnicodeDecodeError):
            if not may_fail:
                return None, FetchFailure(
                    "InvalidJSON", "the field needs a JSON object or array, and the value is not JSON"
                )
    return value, None


def _explained(problem: FetchFailure, ref: Reference, options: Options | None) -> str:
    """A failure's detail; for a reference that does not exist, where it was looked for, in plain words."""
    if options is None or not problem.not_found or problem.code == "KeyNotFound":
        return problem.message
    from pydantic_aws_settings.source._where import not_found_text

    return not_found_text(ref, options, problem)


def apply(
    use: _Use, outcome: Fetched | FetchFailure, failures: list[Failure], options: Options | None = None
) -> None:
    """Write a resolved value into its sink, drop it for an optional fallback, or record a failure.

    A reference that does not exist is reported with where it was looked for (region, account,
    credentials), when the load's `options` are given.
    """
    if isinstance(outcome, Fetched):
        value, problem = _value_for(use, outcome)
    else:
        value, problem = None, outcome
    if problem is None:
        use.sensitive = isinstance(outcome, Fetched) and outcome.sensitive
        use.sink[use.sink_key] = hide(value) if use.sensitive else value  # masked in every repr from here on
        use.resolved = True
        return
    use.sink.pop(use.sink_key, None)
    if use.ref.optional and problem.not_found:
        return
    failures.append(
        Failure(use.path, use.describe(), use.text, problem.code, _explained(problem, use.ref, options))
    )


def import_values(
    settings_cls: type[BaseSettings],
    entry: _Import,
    outcome: Fetched | FetchFailure,
    failures: list[Failure],
    options: Options | None = None,
) -> None:
    """Fill in the field values a bulk import entry supplies, or record why it supplies none."""
    problem: FetchFailure | None
    if isinstance(outcome, FetchFailure):
        problem = None if entry.ref.optional and outcome.not_found else outcome
    else:
        entry.sensitive = outcome.sensitive
        entry.values, problem = _import_mapping(settings_cls, outcome)
        if entry.sensitive:
            entry.values = {key: hide(item) for key, item in entry.values.items()}
    if problem is not None:
        detail = _explained(problem, entry.ref, options)
        failures.append(Failure("(import)", "PYDANTIC_AWS_IMPORT", entry.text, problem.code, detail))


_NOT_JSON = "bulk import needs a JSON object, and the secret is not JSON"


def _import_mapping(
    settings_cls: type[BaseSettings], fetched: Fetched
) -> tuple[dict[str, Any], FetchFailure | None]:
    """The field values of a path's parameters or of a JSON secret's keys, or why there are none."""
    data = fetched.data
    if isinstance(data, dict):
        source = _MappingSource(settings_cls, "/")
        mapping: dict[str, Any] = {
            name.lower(): _StringListText(item.data) if item.kind == "StringList" else item.data
            for name, item in data.items()
        }
    else:
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            problem = FetchFailure(
                "InvalidJSON", "bulk import needs a JSON object, and the secret is not JSON"
            )
            return {}, problem
        if not isinstance(document, dict):
            return {}, FetchFailure("NotJSONObject", "bulk import needs a JSON object")
        source = _MappingSource(settings_cls, None)
        mapping = {str(k).lower(): json_text(v) for k, v in document.items()}
    source.env_vars = mapping
    try:
        return source(), None
    except SettingsError as exc:
        return {}, FetchFailure("InvalidJSON", str(exc).replace("_MappingSource", "PYDANTIC_AWS_IMPORT"))


def apply_all(settings_cls: type[BaseSettings], plan: _Plan, outcomes: list[Outcome]) -> None:
    """Apply each outcome (in the order of `plan.references()`) to its use or import entry."""
    count = len(plan.uses)
    for use, outcome in zip(plan.uses, outcomes[:count], strict=True):
        apply(use, outcome, plan.failures, plan.options)
    for entry, outcome in zip(plan.imports, outcomes[count:], strict=True):
        import_values(settings_cls, entry, outcome, plan.failures, plan.options)


#: Per class, each field's lower-cased top-level keys (`field_keys`), for `mask_sensitive`.
_KEYS: weakref.WeakKeyDictionary[type, dict[str, frozenset[str]]] = weakref.WeakKeyDictionary()


def _lowered_keys(settings_cls: type[BaseSettings]) -> dict[str, frozenset[str]]:
    """Each field's keys as pydantic looks it up, lower-cased, computed once per class."""
    keys = _KEYS.get(settings_cls)
    if keys is None:
        from pydantic_aws_settings.source._origins import field_keys

        keys = _KEYS[settings_cls] = {
            name: frozenset(key.lower() for key in field_keys(name, info))
            for name, info in settings_cls.model_fields.items()
        }
    return keys


def mask_sensitive(settings_cls: type[BaseSettings], merged: dict[str, Any], plan: _Plan) -> None:
    """Mask the repr of every value under a field that a secret or SecureString fed (in place).

    A field's value sits under whichever key pydantic would look it up by (`field_keys`: its name, alias,
    `validation_alias`, each `AliasChoices` choice, an `AliasPath`'s first step), in any case.
    """
    fed = {use.path.split(".")[0] for use in plan.uses if use.sensitive}
    imported = [key.lower() for entry in plan.imports if entry.sensitive for key in entry.values]
    if not fed and not imported:
        return
    keys = _lowered_keys(settings_cls)
    lowered = set(imported).union(*(keys[name] for name in fed if name in keys))
    for key in merged:
        if key.lower() in lowered:
            merged[key] = hide(merged[key])
