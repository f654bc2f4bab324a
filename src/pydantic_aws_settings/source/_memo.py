"""pydantic-settings' per-field facts, remembered across loads for the runs of its own variable sources.

pydantic-settings works out, for every field of every load, the variables it reads the field from
(`_extract_field_info`, twice per field), whether its value is JSON (`_field_is_complex`) and whether its
text is validated in advance (`_coerce_env_val_strict`, for strict and numeric-enum fields): about half of
a warm load of ours, for facts that depend only on the class, the field and the source's setup. A run
of one of pydantic-settings' own sources (`EnvSettingsSource`, `DotEnvSettingsSource`, never a subclass,
which may compute them otherwise) asks them of these memos instead (`install`).

A memo is kept per class (weakly) and per source setup: the source's type, prefix, prefix target and
case sensitivity, and the class config's alias and strict switches, read at every load. A field is known
by its `FieldInfo` object itself (kept with the fact, so that a new field object is a new fact); an
incomplete field (an unresolved forward reference) is never remembered, so that pydantic-settings still
warns about it. Each memo holds at most `MAX_FACTS` facts, and a class at most `MAX_SETUPS` memos; past
that they start again empty.

Whether pydantic-settings would coerce a field's text is asked of pydantic-settings itself, once, with a
probe (`_Probe`): a text that notes being looked at. A method that hands the probe back untouched keeps
every text of that field as it is, and from then on is not asked again for it; any other answer (a look,
another value, an exception) sends every text of that field to the method, at every load.

Private: wraps `PydanticBaseEnvSettingsSource._extract_field_info`, `EnvSettingsSource._field_is_complex`
and `EnvSettingsSource._coerce_env_val_strict` (checked against 2.16.3, see `_compat.PRIVATE_NAMES`).
"""

from __future__ import annotations

import weakref
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource

__all__ = ["MAX_FACTS", "MAX_SETUPS", "MEMO_METHODS", "install", "memo_for"]

#: The most facts one memo (one class and source setup) holds before it starts again empty.
MAX_FACTS = 1024
#: The most source setups remembered per class before its memos start again empty.
MAX_SETUPS = 32
#: The methods `install` puts memoised versions of on a source.
MEMO_METHODS = ("_extract_field_info", "_field_is_complex", "_coerce_env_val_strict")
#: The sources whose own methods are known to compute these facts from the class, field and setup alone.
_MEMOISED_TYPES = (EnvSettingsSource, DotEnvSettingsSource)

#: One memo: (id of the field, its name, or _COMPLEX or _KEEPS) -> (the field, the fact).
_Memo = dict[tuple[int, "str | int"], tuple[Any, Any]]
#: The second part of the key of a field's complexity, and of whether its text is kept as it is.
_COMPLEX, _KEEPS = 0, 1

_MEMOS: weakref.WeakKeyDictionary[type, dict[tuple[Any, ...], _Memo]] = weakref.WeakKeyDictionary()


def _setup(source: EnvSettingsSource) -> tuple[Any, ...]:
    """What the facts depend on besides the field: the source's setup, the class config's alias switches."""
    config = source.config
    return (
        type(source),
        source.env_prefix,
        getattr(source, "env_prefix_target", None),  # not before pydantic-settings 2.16
        source.case_sensitive,
        config.get("validate_by_alias"),
        config.get("validate_by_name"),
        config.get("populate_by_name"),
        config.get("strict"),
    )


def memo_for(source: EnvSettingsSource) -> _Memo:
    """The memo of a source's class and setup: (id of the field, method) -> (the field, the fact)."""
    memos = _MEMOS.get(source.settings_cls)
    if memos is None:
        memos = _MEMOS[source.settings_cls] = {}
    key = _setup(source)
    memo = memos.get(key)
    if memo is None:
        if len(memos) >= MAX_SETUPS:  # a prefix per tenant, say: the class's memos start again empty
            memos.clear()
        memo = memos[key] = {}
    return memo


class _Probe(str):
    """A field's text that notes whether a method looked at it (compared, or asked anything of it)."""

    looked = False

    def __getattribute__(self, name: str) -> Any:
        if name != "looked":
            object.__setattr__(self, "looked", True)
        return super().__getattribute__(name)

    def __eq__(self, other: object) -> bool:
        self.looked = True
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        self.looked = True
        return str.__ne__(self, other)

    __hash__ = str.__hash__


def _keeps_text(coerce: Any, field: FieldInfo) -> bool:
    """Whether a source's `_coerce_env_val_strict` hands a field's text back as it is, without a look."""
    probe = _Probe("0")
    try:
        kept = coerce(field, probe) is probe
    except Exception:  # noqa: BLE001 - whatever went wrong, the method is asked at every load
        return False
    return kept and not probe.looked


def _remember(memo: _Memo, key: tuple[int, str | int], field: Any, fact: Any) -> None:
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
    coerce = source._coerce_env_val_strict

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
        key = (id(field), _COMPLEX)
        known = memo.get(key)
        if known is not None and known[0] is field:
            fact: tuple[bool, bool] = known[1]
            return fact
        fact = is_complex(field)
        _remember(memo, key, field, fact)
        return fact

    def _coerce_env_val_strict(field: FieldInfo | None, value: Any) -> Any:
        if not isinstance(field, FieldInfo):  # a raw nested type: nothing to remember it by
            return coerce(field, value)
        key = (id(field), _KEEPS)
        known = memo.get(key)
        if known is None or known[0] is not field:
            known = (field, _keeps_text(coerce, field))
            _remember(memo, key, field, known[1])
        return value if known[1] else coerce(field, value)

    source._extract_field_info = _extract_field_info  # type: ignore[method-assign]
    source._field_is_complex = _field_is_complex  # type: ignore[method-assign]
    source._coerce_env_val_strict = _coerce_env_val_strict  # type: ignore[method-assign]
    return True
