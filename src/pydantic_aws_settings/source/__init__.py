"""`AWSSettingsSource` and `AWSBaseSettings`: fields, environment, dotenv, import and markers, by precedence.

How a load works, in one pass:

1. The operator sources (by default pydantic-settings' own environment and dotenv sources, with every
   option they were built with) are scanned for the variables that feed a field. A value that is a
   reference is noted; any other value stays as it is.
2. `PYDANTIC_AWS_IMPORT` and the `Annotated` markers add their references. A marker is skipped when an
   init argument or an operator source supplies its field.
3. Every reference of the load goes to the resolver at once: one concurrent wave of batched requests
   (or none, when the cache has them all).
4. Each reference's text is replaced by what it resolved to (a `#KEY` extracted, a StringList turned into
   a JSON list for a list field, a path into a JSON object), and pydantic-settings' own sources run on the
   replaced values, so aliases, prefixes, nesting and JSON decoding behave exactly as without AWS.
5. Every failure is reported together in one `ResolutionError`.

Precedence, highest first: init arguments > environment > dotenv > (secrets directory) >
`PYDANTIC_AWS_IMPORT` > markers > defaults.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from pydantic_aws_settings.errors import Failure, InvalidReferenceError, ResolutionError
from pydantic_aws_settings.fetch import Fetched, FetchFailure
from pydantic_aws_settings.options import AWSSettingsConfigDict, Options, resolve_options
from pydantic_aws_settings.references import (
    ParameterReference,
    Reference,
    SecretReference,
    looks_like_reference,
    parse_reference,
)
from pydantic_aws_settings.source._compat import (
    _MappingSource,
    _StringListText,
    annotation_is_complex,
    decodes,
    deep_update,
    env_names,
    env_vars_as,
    field_is_complex,
    read_env_file,
    set_current_state,
    sources_of,
)
from pydantic_aws_settings.values import extract, json_text

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pydantic_aws_settings.resolver import Target

__all__ = [
    "AWSBaseSettings",
    "AWSSettingsSource",
    "LoadReport",
    "Origin",
    "PlannedReference",
    "recording",
    "recording_origins",
    "sources_of",
]

OriginKind = Literal["env", "dotenv", "secrets", "import", "declared", "source"]


class Origin(NamedTuple):
    """Where a field's value came from in the last load of a source (for `check` and debugging).

    Attributes:
        kind: env, dotenv, secrets (a secrets directory), import, declared (a marker) or source (another
            source passed to `AWSSettingsSource`).
        variable: the variable or place, as the user spelled it.
        reference: the reference, when the value was fetched.
        sensitive: whether the value came from Secrets Manager or a SecureString.
    """

    kind: OriginKind
    variable: str | None = None
    reference: str | None = None
    sensitive: bool = False


@dataclass
class LoadReport:
    """What the loads inside `recording()` did: where each field came from, and what they fetched.

    Attributes:
        origins: top-level field -> where its value came from; fields missing came from init
            arguments or defaults.
        targets: every cache target the loads needed (for `LiveSettings` to know when to look again).
        options: the options of the last load that fetched anything.
    """

    origins: dict[str, Origin] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    options: Options | None = None


_RECORDER: ContextVar[LoadReport | None] = ContextVar("pydantic_aws_settings_report", default=None)


@contextlib.contextmanager
def recording() -> Iterator[LoadReport]:
    """Record, for the loads inside the block (in this thread or task), a `LoadReport`."""
    report = LoadReport()
    token = _RECORDER.set(report)
    try:
        yield report
    finally:
        _RECORDER.reset(token)


@contextlib.contextmanager
def recording_origins() -> Iterator[dict[str, Origin]]:
    """Collect, for the loads inside the block, where each top-level field's value came from.

    Fields missing from the mapping came from init arguments or defaults. Used by the `check` command.
    """
    with recording() as report:
        yield report.origins


class PlannedReference(NamedTuple):
    """A reference a load would fetch: for which field, from where, as written and as parsed."""

    field: str
    variable: str
    text: str
    reference: Reference


class _Plan:
    """The I/O-free first half of a load.

    `layers` and `static` end up holding resolved values (the mappings a load writes them into, and what
    other sources returned): they stay out of the repr, which a traceback may print. (Plain classes
    rather than dataclasses: building a dataclass costs about a millisecond of every process's import.)
    """

    __slots__ = ("failures", "imports", "layers", "markers", "static", "uses")

    def __init__(self) -> None:
        self.layers: list[tuple[PydanticBaseSettingsSource, dict[str, Any] | None]] = []
        self.static: dict[int, dict[str, Any]] = {}
        self.uses: list[_Use] = []
        self.failures: list[Failure] = []
        self.imports: list[tuple[str, Reference]] = []
        self.markers: _MappingSource | None = None

    def __repr__(self) -> str:
        return (
            f"_Plan(uses={self.uses!r}, failures={self.failures!r}, imports={self.imports!r}, "
            f"markers={self.markers!r})"
        )


class _Use:
    """One reference that feeds (part of) a field from one place, and where its resolved value goes.

    `sink` (the mapping the resolved value is written into) and `decoder` stay out of the repr.
    """

    __slots__ = (
        "decoder",
        "describe",
        "kind",
        "path",
        "ref",
        "resolved",
        "sensitive",
        "sink",
        "sink_key",
        "target",
        "target_field",
        "text",
    )

    def __init__(
        self,
        path: str,
        kind: OriginKind,
        describe: Callable[[], str],
        text: str,
        ref: Reference | None,
        sink: dict[str, Any],
        sink_key: str,
        target_field: Any,
        decoder: EnvSettingsSource,
    ) -> None:
        self.path = path
        self.kind = kind
        self.describe = describe
        self.text = text
        self.ref = ref
        self.sink = sink
        self.sink_key = sink_key
        self.target_field = target_field
        self.decoder = decoder
        self.target: Target | None = None
        self.resolved = False
        self.sensitive = False

    def __repr__(self) -> str:
        return (
            f"_Use(path={self.path!r}, kind={self.kind!r}, text={self.text!r}, ref={self.ref!r}, "
            f"sink_key={self.sink_key!r}, target={self.target!r}, resolved={self.resolved!r}, "
            f"sensitive={self.sensitive!r})"
        )

    @property
    def reference(self) -> Reference:
        """The parsed reference (a use is kept only once its text parsed as one)."""
        if self.ref is None:  # pragma: no cover - _note keeps parsed uses only
            raise AssertionError(self.text)
        return self.ref


class _HiddenStr(str):
    """A fetched secret on its way to validation: its `repr` is masked.

    pydantic-settings logs every source's values with `repr` when `PYDANTIC_SETTINGS_DEBUG` is on;
    validation turns this back into a plain `str` for `str`, `SecretStr` and every typed field.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'**********'"


class _HiddenBytes(bytes):
    """The bytes counterpart of `_HiddenStr`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "b'**********'"


def _settings_dump_enabled() -> bool:
    """Whether pydantic-settings will log every source's values (its `PYDANTIC_SETTINGS_DEBUG` switch)."""
    if os.environ.get("PYDANTIC_SETTINGS_DEBUG", "").strip().lower() not in ("1", "true", "yes", "on"):
        return False
    return logging.getLogger("pydantic_settings").isEnabledFor(logging.DEBUG)


def _hide(value: Any) -> Any:
    """Mask the repr of every string and bytes leaf of a value."""
    if isinstance(value, str):
        return _HiddenStr(value)
    if isinstance(value, bytes):
        return _HiddenBytes(value)
    if isinstance(value, dict):
        return {key: _hide(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide(item) for item in value]
    return value


# Facts about a settings class that every load would otherwise recompute (the warm path is a few
# microseconds per field): per class, the shape of each target and the variable names of each field.
_SHAPES: weakref.WeakKeyDictionary[type, dict[tuple[str, bool], tuple[bool, bool]]] = (
    weakref.WeakKeyDictionary()
)
_ENV_NAMES: weakref.WeakKeyDictionary[type, dict[tuple[Any, ...], list[tuple[str, FieldInfo, list[str]]]]] = (
    weakref.WeakKeyDictionary()
)


_MARKED: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()
#: pydantic-settings' own variable sources, whose result from no variables is known to be empty.
_PLAIN_ENV_SOURCES = (EnvSettingsSource, DotEnvSettingsSource)


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


def _shape(decoder: EnvSettingsSource, path: str, target: Any) -> tuple[bool, bool]:
    """`_is_complex` for a field path of the decoder's class, computed once per class and path."""
    shapes = _SHAPES.setdefault(decoder.settings_cls, {})
    key = (path, isinstance(decoder, _MappingSource))
    shape = shapes.get(key)
    if shape is None:
        shape = shapes[key] = _is_complex(decoder, target)
    return shape


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


def _is_complex(decoder: EnvSettingsSource, target: Any) -> tuple[bool, bool]:
    """(needs JSON, may the JSON fail) for a field, a nested field or a raw nested type."""
    if isinstance(target, FieldInfo):
        return field_is_complex(decoder, target)
    if target is None:
        return False, True
    return annotation_is_complex(target), True


class AWSSettingsSource(PydanticBaseSettingsSource):
    """The pydantic-settings source that resolves AWS references, for `settings_customise_sources`.

    It stands in for the environment and dotenv sources (and wraps any others given to it), so that every
    reference of a load is resolved in one concurrent wave:

    ```python
    class Settings(BaseSettings):
        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                       file_secret_settings):
            return (init_settings,
                    AWSSettingsSource(settings_cls, env_settings, dotenv_settings, file_secret_settings))
    ```

    Args:
        settings_cls: the settings class.
        *sources: the operator sources it wraps, highest precedence first. Environment and dotenv
            sources (any `EnvSettingsSource`) have their references resolved; other sources are used as
            they are. Default: pydantic-settings' environment and dotenv sources for `settings_cls`.
        aws_region: see the options reference; a keyword beats `model_config`, which beats the
            environment variable. The same holds for every `aws_*` keyword.
        aws_role_arn: role to assume for every fetch.
        aws_role_session_name: session name of the assumed role.
        aws_external_id: external id for the assumed role.
        aws_role_duration: seconds per role session.
        aws_cache_ttl: seconds a fetched value stays fresh (0: no cache).
        aws_max_stale: seconds past the TTL a value is served when a refresh fails.
        aws_import: bulk import references.
        aws_connect_timeout: seconds to connect to AWS.
        aws_read_timeout: seconds to wait for an answer.
        aws_max_attempts: requests per call, retries included.
        aws_max_workers: concurrent requests per load at most.

    The source is not shared between threads: pydantic-settings builds new sources for every load. The
    values it fetches are shared process-wide through the cache.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *sources: PydanticBaseSettingsSource,
        aws_region: str | None = None,
        aws_role_arn: str | None = None,
        aws_role_session_name: str | None = None,
        aws_external_id: str | None = None,
        aws_role_duration: int | None = None,
        aws_cache_ttl: float | None = None,
        aws_max_stale: float | None = None,
        aws_import: str | list[str] | None = None,
        aws_connect_timeout: float | None = None,
        aws_read_timeout: float | None = None,
        aws_max_attempts: int | None = None,
        aws_max_workers: int | None = None,
    ) -> None:
        super().__init__(settings_cls)
        keywords = {
            "aws_region": aws_region,
            "aws_role_arn": aws_role_arn,
            "aws_role_session_name": aws_role_session_name,
            "aws_external_id": aws_external_id,
            "aws_role_duration": aws_role_duration,
            "aws_cache_ttl": aws_cache_ttl,
            "aws_max_stale": aws_max_stale,
            "aws_import": aws_import,
            "aws_connect_timeout": aws_connect_timeout,
            "aws_read_timeout": aws_read_timeout,
            "aws_max_attempts": aws_max_attempts,
            "aws_max_workers": aws_max_workers,
        }
        self.options: Options = resolve_options(keywords, settings_cls.model_config)
        self.sources: tuple[PydanticBaseSettingsSource, ...] = sources or (
            EnvSettingsSource(settings_cls),
            DotEnvSettingsSource(settings_cls),
        )

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Not used: this source resolves all fields at once in `__call__`."""
        return None, field_name, False

    # -- scanning ------------------------------------------------------------------------------------

    def _in_state(self, name: str, info: FieldInfo) -> bool:
        state = self.current_state
        return name in state or (isinstance(info.alias, str) and info.alias in state)

    @staticmethod
    def _kind_of(source: EnvSettingsSource) -> OriginKind:
        return "dotenv" if isinstance(source, DotEnvSettingsSource) else "env"

    @staticmethod
    def _spelling(source: EnvSettingsSource, env_name: str) -> str:
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

    def _note(self, uses: list[_Use], failures: list[Failure], use: _Use) -> Reference | None:
        """Parse a use's text; keep it when it is a reference, record a failure when it is malformed."""
        try:
            ref = _parse(use.text)
        except InvalidReferenceError as exc:
            failures.append(Failure(use.path, use.describe(), use.text, "InvalidReference", exc.reason))
            return None
        if ref is not None:
            use.ref = ref
            uses.append(use)
        return ref

    def _scan(
        self, source: EnvSettingsSource, uses: list[_Use], failures: list[Failure], supplied: set[str]
    ) -> dict[str, Any]:
        """Note the references among the variables that feed a field; return the mapping to substitute."""
        env_vars: dict[str, Any] = dict(source.env_vars)
        if not env_vars:  # a dotenv source without a file: nothing to scan
            return env_vars
        kind = self._kind_of(source)
        delimiter = source.env_nested_delimiter
        for name, info, names in _field_env_names(self.settings_cls, source):
            if self._in_state(name, info):
                continue
            for env_name in names:
                value = env_vars.get(env_name)
                if value is None:
                    continue
                ref = None
                if isinstance(value, str) and looks_like_reference(value):
                    describe = functools.partial(self._spelling, source, env_name)
                    use = _Use(name, kind, describe, value, None, env_vars, env_name, info, source)
                    ref = self._note(uses, failures, use)
                if ref is None or not ref.optional:
                    supplied.add(name)
                break
            if not delimiter:
                continue
            for env_name in names:
                prefix = f"{env_name}{delimiter}"
                for var, value in env_vars.items():
                    if not (
                        var.startswith(prefix) and isinstance(value, str) and looks_like_reference(value)
                    ):
                        continue
                    keys = var[len(prefix) :].split(delimiter, source.maxsplit)
                    target: Any = info
                    for key in keys:
                        target = source.next_field(target, key, source.case_sensitive)
                    dotted = ".".join([name, *keys])
                    describe = functools.partial(self._spelling, source, var)
                    self._note(
                        uses,
                        failures,
                        _Use(dotted, kind, describe, value, None, env_vars, var, target, source),
                    )
        return env_vars

    def _markers(self, uses: list[_Use], supplied: set[str]) -> _MappingSource | None:
        """The declared markers of fields nothing above supplies, as uses feeding a mapping source."""
        if not _has_markers(self.settings_cls):
            return None
        from pydantic_aws_settings.markers import Parameter, SecretsManager  # imported: a field has one

        source = _MappingSource(self.settings_cls, "")
        sink: dict[str, Any] = {}
        source.env_vars = sink
        for name, info in self.settings_cls.model_fields.items():
            if name in supplied or self._in_state(name, info):
                continue
            marker = next((m for m in info.metadata if isinstance(m, (Parameter, SecretsManager))), None)
            if marker is None:
                continue
            env_name = env_names(source, info, name)[0]
            where = f"declared on {self.settings_cls.__name__}.{name}"
            ref: Reference = marker.reference
            describe = functools.partial(str, where)
            uses.append(_Use(name, "declared", describe, str(ref), ref, sink, env_name, info, source))
        return source

    def _imports(self, failures: list[Failure]) -> list[tuple[str, Reference]]:
        """The references of `PYDANTIC_AWS_IMPORT`, checked for the forms bulk import takes."""
        found: list[tuple[str, Reference]] = []
        for text in self.options.import_:
            try:
                ref = parse_reference(text)
            except InvalidReferenceError as exc:
                failures.append(
                    Failure("(import)", "PYDANTIC_AWS_IMPORT", text, "InvalidReference", exc.reason)
                )
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
            found.append((text, ref))
        return found

    # -- resolving -----------------------------------------------------------------------------------

    def _value_for(self, use: _Use, fetched: Fetched) -> tuple[Any, FetchFailure | None]:
        """What a reference resolved to, as the environment would carry it for the target field."""
        value, problem = extract(use.reference, fetched)
        if problem is not None:
            return None, problem
        needs_json, may_fail = _shape(use.decoder, use.path, use.target_field)
        if (
            fetched.kind == "StringList"
            and needs_json
            and isinstance(value, str)
            and decodes(use.decoder, use.path, use.target_field)
        ):
            value = json.dumps(value.split(","))
        if needs_json and not may_fail and isinstance(value, (str, bytes)):
            try:
                use.decoder.decode_complex_value(use.path, use.target_field, value)
            except (ValueError, UnicodeDecodeError):
                return None, FetchFailure(
                    "InvalidJSON", "the field needs a JSON object or array, and the value is not JSON"
                )
        return value, None

    def _apply(self, use: _Use, outcome: Fetched | FetchFailure, failures: list[Failure]) -> None:
        """Write a resolved value into its sink, drop it for an optional fallback, or record a failure."""
        if isinstance(outcome, Fetched):
            value, problem = self._value_for(use, outcome)
        else:
            value, problem = None, outcome
        if problem is None:
            use.sink[use.sink_key] = value
            use.resolved = True
            use.sensitive = isinstance(outcome, Fetched) and outcome.sensitive
            return
        use.sink.pop(use.sink_key, None)
        if use.reference.optional and problem.not_found:
            return
        failures.append(Failure(use.path, use.describe(), use.text, problem.code, problem.message))

    def _import_values(
        self, text: str, ref: Reference, outcome: Fetched | FetchFailure, failures: list[Failure]
    ) -> dict[str, Any]:
        """The field values a bulk import entry supplies."""

        def fail(code: str, detail: str) -> dict[str, Any]:
            failures.append(Failure("(import)", "PYDANTIC_AWS_IMPORT", text, code, detail))
            return {}

        if isinstance(outcome, FetchFailure):
            self._import_sensitive.append(False)
            if ref.optional and outcome.not_found:
                return {}
            return fail(outcome.code, outcome.message)
        self._import_sensitive.append(outcome.sensitive)
        data = outcome.data
        if isinstance(data, dict):
            source = _MappingSource(self.settings_cls, "/")
            mapping: dict[str, Any] = {
                name.lower(): _StringListText(item.data) if item.kind == "StringList" else item.data
                for name, item in data.items()
            }
        else:
            try:
                document = json.loads(data)
            except (ValueError, UnicodeDecodeError):
                return fail("InvalidJSON", "bulk import needs a JSON object, and the secret is not JSON")
            if not isinstance(document, dict):
                return fail("NotJSONObject", "bulk import needs a JSON object")
            source = _MappingSource(self.settings_cls, None)
            mapping = {str(k).lower(): json_text(v) for k, v in document.items()}
        source.env_vars = mapping
        try:
            values = source()
        except SettingsError as exc:
            return fail("InvalidJSON", str(exc).replace("_MappingSource", "PYDANTIC_AWS_IMPORT"))
        return values

    def _plan(self) -> _Plan:
        """Everything a load needs, found without any I/O to AWS: references, imports, markers, layers."""
        plan = _Plan()
        supplied: set[str] = set()
        for source in self.sources:
            set_current_state(source, self.current_state)
            if isinstance(source, EnvSettingsSource):
                plan.layers.append((source, self._scan(source, plan.uses, plan.failures, supplied)))
            else:
                plan.layers.append((source, None))
        plan.static = {id(source): source() for source, env_vars in plan.layers if env_vars is None}
        for values in plan.static.values():
            supplied.update(values)
        plan.imports = self._imports(plan.failures)
        plan.markers = self._markers(plan.uses, supplied)
        return plan

    def references(self) -> list[PlannedReference]:
        """The references a load would fetch now, without fetching them (for IAM policies and tooling).

        Raises:
            ResolutionError: some references are malformed (each named, as a load would report them).
        """
        plan = self._plan()
        if plan.failures:
            raise ResolutionError(plan.failures, self.settings_cls.__name__)
        found = [PlannedReference(use.path, use.describe(), use.text, use.reference) for use in plan.uses]
        found += [
            PlannedReference("(import)", "PYDANTIC_AWS_IMPORT", text, ref) for text, ref in plan.imports
        ]
        return found

    def __call__(self) -> dict[str, Any]:
        """Resolve every reference of the load at once and return the field values, by precedence."""
        plan = self._plan()
        uses, failures, imports, markers = plan.uses, plan.failures, plan.imports, plan.markers
        layers, static = plan.layers, plan.static
        self._import_sensitive: list[bool] = []

        refs: list[Reference] = [use.reference for use in uses] + [ref for _, ref in imports]
        outcomes: dict[Target, Fetched | FetchFailure] = {}
        targets: list[Target] = []
        if refs:
            from pydantic_aws_settings.credentials import identity_for
            from pydantic_aws_settings.resolver import resolve, target_for

            identity = identity_for(self.options)
            targets = [target_for(ref, self.options, identity) for ref in refs]
            for use, target in zip(uses, targets, strict=False):
                use.target = target
            outcomes = resolve(targets, self.options)
            report = _RECORDER.get()
            if report is not None:
                report.targets.extend(targets)
                report.options = self.options
        for use in uses:
            if use.target is not None:
                self._apply(use, outcomes[use.target], failures)
        import_targets = targets[len(uses) :]
        imported = [
            self._import_values(text, ref, outcomes[target], failures)
            for (text, ref), target in zip(imports, import_targets, strict=True)
        ]
        if failures:
            raise ResolutionError(failures, self.settings_cls.__name__)

        results: list[
            tuple[OriginKind, PydanticBaseSettingsSource | None, dict[str, Any]]
        ] = []  # highest first
        for source, env_vars in layers:
            if env_vars is None:
                results.append(("source", source, static[id(source)]))
                continue
            assert isinstance(source, EnvSettingsSource)  # noqa: S101 - layers pair env sources with mappings
            if not env_vars and type(source) in _PLAIN_ENV_SOURCES:
                # pydantic-settings' own sources give nothing from no variables, but would still look
                # every field up in them (a dotenv source without a file: a third of a warm load).
                results.append((self._kind_of(source), source, {}))
                continue
            with env_vars_as(source, env_vars):
                results.append((self._kind_of(source), source, source()))
        for _values in reversed(imported):  # later import entries win over earlier ones
            results.append(("import", None, _values))
        results.append(("declared", markers, markers() if markers is not None and markers.env_vars else {}))
        merged: dict[str, Any] = {}
        for _, _, values in reversed(results):
            merged = deep_update(merged, values)
        if _settings_dump_enabled():
            self._mask_sensitive(merged, uses, imports, imported)
        report = _RECORDER.get()
        if report is not None:
            report.origins.update(self._origins(results, uses, imports, imported))
        return merged

    def _mask_sensitive(
        self,
        merged: dict[str, Any],
        uses: list[_Use],
        imports: list[tuple[str, Reference]],
        imported: list[dict[str, Any]],
    ) -> None:
        """Mask the repr of every value under a field that a secret or SecureString fed (in place)."""
        tops = {use.path.split(".")[0] for use in uses if use.sensitive}
        for values, sensitive in zip(imported, self._import_sensitive, strict=False):
            if sensitive:
                tops.update(values)
        hidden = {key for key in tops if key in merged}
        for name, info in self.settings_cls.model_fields.items():
            if name in tops and isinstance(info.alias, str) and info.alias in merged:
                hidden.add(info.alias)
        for key in hidden:
            merged[key] = _hide(merged[key])

    def _variables_of(self, source: EnvSettingsSource, info: FieldInfo, name: str) -> str:
        """The variable a field's plain value came from, or its first nested variable and how many more."""
        names = env_names(source, info, name)
        present = next((e for e in names if e in source.env_vars), None)
        if present is not None:
            return self._spelling(source, present)
        delimiter = source.env_nested_delimiter
        nested = sorted(
            var for e in names for var in source.env_vars if delimiter and var.startswith(f"{e}{delimiter}")
        )
        if not nested:
            return self._spelling(source, names[0] if names else name)
        more = f" and {len(nested) - 1} more" if len(nested) > 1 else ""
        return f"{self._spelling(source, nested[0])}{more}"

    def _origins(
        self,
        results: list[tuple[OriginKind, PydanticBaseSettingsSource | None, dict[str, Any]]],
        uses: list[_Use],
        imports: list[tuple[str, Reference]],
        imported: list[dict[str, Any]],
    ) -> dict[str, Origin]:
        """Where each top-level field's value came from: the highest layer that supplied it."""
        origins: dict[str, Origin] = {}
        for name, info in self.settings_cls.model_fields.items():
            keys = {name, info.alias} if isinstance(info.alias, str) else {name}
            for kind, source, values in results:
                if not keys & set(values):
                    continue
                if kind == "import":
                    index = next(i for i, v in reversed(list(enumerate(imported))) if keys & set(v))
                    text, _ = imports[index]
                    origins[name] = Origin(
                        "import", "PYDANTIC_AWS_IMPORT", text, self._import_sensitive[index]
                    )
                    break
                if kind == "source":
                    label = "secrets" if isinstance(source, SecretsSettingsSource) else "source"
                    origins[name] = Origin(label, type(source).__name__)  # type: ignore[arg-type]
                    break
                mine = [
                    u
                    for u in uses
                    if u.kind == kind
                    and u.resolved
                    and u.path.split(".")[0] == name
                    and (kind == "declared" or u.decoder is source)
                ]
                if mine:
                    sensitive = any(u.sensitive for u in mine)
                    origins[name] = Origin(kind, mine[0].describe(), mine[0].text, sensitive)
                elif isinstance(source, EnvSettingsSource) and kind != "declared":
                    origins[name] = Origin(kind, self._variables_of(source, info, name))
                break
        return origins

    def __repr__(self) -> str:
        sources = ", ".join(type(source).__name__ for source in self.sources)
        role = f", role={self.options.role_arn!r}" if self.options.role_arn else ""
        name = self.settings_cls.__name__
        return f"AWSSettingsSource({name}, sources=[{sources}], region={self.options.region!r}{role})"


class AWSBaseSettings(BaseSettings):
    """A `BaseSettings` whose environment, dotenv, `PYDANTIC_AWS_IMPORT` and markers resolve AWS references.

    Its sources are `(init_settings, AWSSettingsSource(settings_cls, env_settings, dotenv_settings,
    file_secret_settings))`; wherever no reference is involved it behaves exactly as `BaseSettings`.
    Its config defaults to `hide_input_in_errors=True`, so that pydantic's validation errors never repeat
    a fetched value.
    """

    # Annotated as BaseSettings has it, so subclasses keep writing `model_config = SettingsConfigDict(...)`.
    model_config: ClassVar[SettingsConfigDict] = AWSSettingsConfigDict(hide_input_in_errors=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Resolve references in the environment and dotenv sources; keep init arguments on top."""
        return (
            init_settings,
            AWSSettingsSource(settings_cls, env_settings, dotenv_settings, file_secret_settings),
        )
