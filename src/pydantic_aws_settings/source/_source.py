"""`AWSSettingsSource` (a load as plan -> resolve -> apply -> layers -> merge) and `AWSBaseSettings`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pydantic_aws_settings.errors import ResolutionError
from pydantic_aws_settings.options import OPTION_KEYS, AWSSettingsConfigDict, Options, resolve_options
from pydantic_aws_settings.source._report import RECORDER, PlannedReference

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo
    from typing_extensions import Unpack

    from pydantic_aws_settings.fetch import Outcome
    from pydantic_aws_settings.options import AWSOptions
    from pydantic_aws_settings.references import Reference
    from pydantic_aws_settings.source._records import _Plan
    from pydantic_aws_settings.source._report import OriginKind

    #: One layer of a load: its kind, the source (None for an import entry) and the values it gave.
    _Result = tuple[OriginKind, PydanticBaseSettingsSource | None, dict[str, Any]]

__all__ = ["AWSBaseSettings", "AWSSettingsSource", "aws_sources_of"]


def _resolve(refs: list[Reference], options: Options) -> list[Outcome]:
    """The outcome of each reference, in the order of `refs`: the load's one call to the resolver.

    The references are recorded for `LiveSettings` (`recording()`).
    """
    if not refs:
        return []
    from pydantic_aws_settings.resolver import resolve

    outcomes = resolve(refs, options)
    report = RECORDER.get()
    if report is not None:
        report.references.extend(refs)
        report.options = options
    return outcomes


#: pydantic-settings' own variable sources, whose result from no variables is known to be empty.
_PLAIN_ENV_SOURCES = (EnvSettingsSource, DotEnvSettingsSource)


def _run_layers(plan: _Plan) -> list[_Result]:
    """Each layer's values, highest precedence first.

    The operator sources run on the replaced variables (or as they are), then come the import entries
    (the later first), then the markers.
    """
    from pydantic_aws_settings.source._compat import env_vars_as
    from pydantic_aws_settings.source._plan import kind_of

    results: list[_Result] = []
    for source, env_vars in plan.layers:
        if env_vars is None or not isinstance(source, EnvSettingsSource):  # the plan ran it already
            results.append(("source", source, plan.static[id(source)]))
        elif not env_vars and type(source) in _PLAIN_ENV_SOURCES:
            # pydantic-settings' own sources give nothing from no variables, but would still look
            # every field up in them (a dotenv source without a file: a third of a warm load).
            results.append((kind_of(source), source, {}))
        else:
            # Only a secret's or SecureString's value is masked (`_apply.apply`): without one here, the
            # source's value methods need no wrapping to keep it so.
            hidden = any(use.sensitive and use.sink is env_vars for use in plan.uses)
            with env_vars_as(source, env_vars, hidden=hidden) as env_source:
                results.append((kind_of(env_source), env_source, env_source()))
    results.extend(("import", None, entry.values) for entry in reversed(plan.imports))
    markers = plan.markers
    results.append(("declared", markers, markers() if markers is not None and markers.env_vars else {}))
    return results


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
        **options: the library's options, below (see the options reference); a keyword beats
            `model_config`, which beats the environment variable.

    Keyword Args:
        aws_region (str | None): region for references that do not carry one.
        aws_role_arn (str | None): role to assume for every fetch.
        aws_role_session_name (str | None): session name of the assumed role.
        aws_external_id (str | None): external id for the assumed role.
        aws_role_duration (int | None): seconds per role session.
        aws_cache_ttl (float | None): seconds a fetched value stays fresh (0: no cache).
        aws_max_stale (float | None): seconds past the TTL a value is served when a refresh fails.
        aws_import (str | list[str] | None): bulk import references.
        aws_connect_timeout (float | None): seconds to connect to AWS.
        aws_read_timeout (float | None): seconds to wait for an answer.
        aws_max_attempts (int | None): requests per call, retries included.
        aws_max_workers (int | None): concurrent requests per load at most.
        aws_refresh_ahead (float | None): seconds before expiry a used entry is refreshed in the background.
        aws_throttle_timeout (float | None): seconds a load with nothing to fall back on retries throttles.
        aws_agent_url (str | None): base URL of a node-local cache (Secrets Manager Agent, Lambda extension).
        aws_agent_token (str | None): token sent to that cache (a `file://PATH` is read from the file).

    Raises:
        TypeError: a keyword that is not an option.

    The source is not shared between threads: pydantic-settings builds new sources for every load. The
    values it fetches are shared process-wide through the cache.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *sources: PydanticBaseSettingsSource,
        **options: Unpack[AWSOptions],
    ) -> None:
        super().__init__(settings_cls)
        unknown = options.keys() - OPTION_KEYS
        if unknown:
            raise TypeError(f"AWSSettingsSource() got an unexpected keyword argument {min(unknown)!r}")
        self.options: Options = resolve_options(options, settings_cls.model_config)
        self.sources: tuple[PydanticBaseSettingsSource, ...] = sources or (
            EnvSettingsSource(settings_cls),
            DotEnvSettingsSource(settings_cls),
        )

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Not used: this source resolves all fields at once in `__call__`."""
        return None, field_name, False

    def _plan(self) -> _Plan:
        """Everything a load needs, found without any I/O to AWS: references, imports, markers, layers."""
        from pydantic_aws_settings.source._plan import plan

        return plan(self)

    def references(self) -> list[PlannedReference]:
        """The references a load would fetch now, without fetching them (for IAM policies and tooling).

        Raises:
            ResolutionError: some references are malformed (each named, as a load would report them).
        """
        plan = self._plan()
        if plan.failures:
            raise ResolutionError(plan.failures, self.settings_cls.__name__)
        found = [PlannedReference(use.path, use.describe(), use.text, use.ref) for use in plan.uses]
        found += [PlannedReference("(import)", "PYDANTIC_AWS_IMPORT", e.text, e.ref) for e in plan.imports]
        return found

    def __call__(self) -> dict[str, Any]:
        """Resolve every reference of the load at once and return the field values, by precedence."""
        from pydantic_aws_settings.source import _apply

        plan = self._plan()
        _apply.apply_all(self.settings_cls, plan, _resolve(plan.references(), self.options))
        if plan.failures:
            raise ResolutionError(plan.failures, self.settings_cls.__name__)
        results = _run_layers(plan)
        merged = self._merge(plan, results)
        self._record(plan, results)
        return merged

    def _merge(self, plan: _Plan, results: list[_Result]) -> dict[str, Any]:
        """The layers' values merged, higher precedence winning key by key (nested mappings merged).

        Whatever a secret or SecureString fed is masked in every repr (`mask_sensitive`): pydantic-settings'
        debug dump, and the locals of a traceback (pydantic's validation holds this mapping).
        """
        from pydantic_aws_settings.source._apply import mask_sensitive
        from pydantic_aws_settings.source._compat import deep_update

        merged: dict[str, Any] = {}
        for _, _, values in reversed(results):
            merged = deep_update(merged, values)
        mask_sensitive(self.settings_cls, merged, plan)
        return merged

    def _record(self, plan: _Plan, results: list[_Result]) -> None:
        """Note where each field came from, for the `recording()` block the load runs in (if any)."""
        report = RECORDER.get()
        if report is not None:
            from pydantic_aws_settings.source._origins import origins

            report.origins.update(origins(self.settings_cls, results, plan))

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


def aws_sources_of(settings_cls: type[BaseSettings]) -> list[AWSSettingsSource]:
    """The `AWSSettingsSource`s among the sources a load of the class builds (nothing is fetched).

    The one way `check`, `iam-policy` and `invalidate_field` find a class's sources, with the keywords
    (`aws_import=`, ...) its own `settings_customise_sources` gave them.
    """
    from pydantic_aws_settings.source._compat import sources_of

    return [source for source in sources_of(settings_cls) if isinstance(source, AWSSettingsSource)]
