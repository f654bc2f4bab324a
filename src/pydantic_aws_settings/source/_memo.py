"""pydantic-settings' per-field facts, remembered across loads for the runs of its own variable sources.

pydantic-settings works out, for every field of every load, the variables it reads the field from
(`_extract_field_info`, twice per field) and whether its value is JSON (`_field_is_complex`): about a third
of a warm load of ours, for facts that depend only on the class, the field and the source's setup. A run
of one of pydantic-settings' own sources (`EnvSettingsSource`, `DotEnvSettingsSource`, never a subclass,
which may compute them otherwise) asks them of these memos instead (`install`).

A memo is kept per class (weakly) and per source setup: the source's type, prefix, prefix target and
case sensitivity, and the class config's alias switches, read at every load. A field is known by its
`FieldInfo` object itself (kept with the fact, so that a new field object is a new fact); an incomplete
field (an unresolved forward reference) is never remembered, so that pydantic-settings still warns about
it. Each memo holds at most `MAX_FACTS` facts; past that it starts again empty.

Private: wraps `PydanticBaseEnvSettingsSource._extract_field_info` and `EnvSettingsSource._field_is_complex`
(checked against 2.16.3, see `_compat.PRIVATE_NAMES`).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["MAX_FACTS", "MEMO_METHODS", "install", "memo_for"]

#: The most facts one memo (one class and source setup) holds before it starts again empty.
MAX_FACTS = 1024
#: The methods `install` puts memoised versions of on a source.
MEMO_METHODS = ("_extract_field_info", "_field_is_complex")
#: The sources whose own methods are known to compute these facts from the class, field and setup alone.
_MEMOISED_TYPES = (EnvSettingsSource, DotEnvSettingsSource)

#: One memo: (id of the field, its name or None for its complexity) -> (the field, the fact).
_Memo = dict[tuple[int, "str | None"], tuple[Any, Any]]

_MEMOS: weakref.WeakKeyDictionary[type, dict[tuple[Any, ...], _Memo]] = weakref.WeakKeyDictionary()


def _setup(source: EnvSettingsSource) -> tuple[Any, ...]:
    """What the facts depend on besides the field: the source's setup, the class config's alias switches."""
    config = source.config
    return (
        type(source),
        source.env_prefix,
        source.env_prefix_target,
        source.case_sensitive,
        config.get("validate_by_alias"),
        config.get("validate_by_name"),
        config.get("populate_by_name"),
    )


def memo_for(source: EnvSettingsSource) -> _Memo:
    """The memo of a source's class and setup: (id of the field, method) -> (the field, the fact)."""
    memos = _MEMOS.get(source.settings_cls)
    if memos is None:
        memos = _MEMOS[source.settings_cls] = {}
    key = _setup(source)
    memo = memos.get(key)
    if memo is None:
        memo = memos[key] = {}
    return memo


def _remember(memo: _Memo, key: tuple[int, str | None], field: Any, fact: Any) -> None:
    """Keep a fact of a complete field, within the bound."""
    if not getattr(field, "_complete", True):
        return
    if len(memo) >= MAX_FACTS:
        memo.clear()
    memo[key] = (field, fact)


def install(source: EnvSettingsSource) -> bool:
    """Put memoised `MEMO_METHODS` on one of pydantic-settings' own sources (instance attributes).

    Returns whether it did: not for a subclass, whose methods may differ. The caller removes them after
    the run (`delattr`), as it does its other wrappers.
    """
    if type(source) not in _MEMOISED_TYPES:
        return False
    memo = memo_for(source)
    extract = source._extract_field_info
    is_complex = source._field_is_complex

    def _extract_field_info(
        field: FieldInfo, field_name: str, model_config: Any = None
    ) -> list[tuple[str, str, bool]]:
        if model_config is not None:  # a nested model's field, read with its own config
            return extract(field, field_name, model_config)
        key = (id(field), field_name)
        known = memo.get(key)
        if known is not None and known[0] is field:
            return list(known[1])
        found = extract(field, field_name)
        _remember(memo, key, field, tuple(found))
        return found

    def _field_is_complex(field: FieldInfo) -> tuple[bool, bool]:
        key = (id(field), None)  # the field's complexity (names are strings)
        known = memo.get(key)
        if known is not None and known[0] is field:
            fact: tuple[bool, bool] = known[1]
            return fact
        fact = is_complex(field)
        _remember(memo, key, field, fact)
        return fact

    source._extract_field_info = _extract_field_info  # type: ignore[method-assign]
    source._field_is_complex = _field_is_complex  # type: ignore[method-assign]
    return True
