"""The records of one load: `_Plan` (built by `_plan`), a `_Use` per reference, an `_Import` per entry.

Plain classes with `__slots__` rather than dataclasses: building a dataclass costs about a millisecond of
every process's import. Their reprs leave out every resolved value, since a traceback may print them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_settings import EnvSettingsSource, PydanticBaseSettingsSource

    from pydantic_aws_settings.errors import Failure
    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference
    from pydantic_aws_settings.source._compat import _MappingSource
    from pydantic_aws_settings.source._report import OriginKind

__all__ = ["_Import", "_Plan", "_Use"]


class _Plan:
    """The I/O-free first half of a load.

    `layers` and `static` end up holding resolved values (the mappings a load writes them into, and what
    other sources returned): they stay out of the repr, which a traceback may print. (Plain classes
    rather than dataclasses: building a dataclass costs about a millisecond of every process's import.)
    """

    __slots__ = ("failures", "imports", "layers", "markers", "options", "static", "uses")

    def __init__(self, options: Options | None = None) -> None:
        self.options = options
        self.layers: list[tuple[PydanticBaseSettingsSource, dict[str, Any] | None]] = []
        self.static: dict[int, dict[str, Any]] = {}
        self.uses: list[_Use] = []
        self.failures: list[Failure] = []
        self.imports: list[_Import] = []
        self.markers: _MappingSource | None = None

    def __repr__(self) -> str:
        return (
            f"_Plan(uses={self.uses!r}, failures={self.failures!r}, imports={self.imports!r}, "
            f"markers={self.markers!r})"
        )

    def references(self) -> list[Reference]:
        """Every reference the load resolves: the uses' first, then the import entries', in order.

        The load's one call before it fetches: references that need a region the load does not have are
        dropped here, each recorded as a `NoRegion` failure (`_where.require_region`), so no request is sent.
        """
        from pydantic_aws_settings.source._where import require_region

        require_region(self)
        return [use.ref for use in self.uses] + [entry.ref for entry in self.imports]


class _Use:
    """One reference that feeds (part of) a field from one place, and where its resolved value goes.

    Made only once its text parsed as a reference. `sink` (the mapping the resolved value is written
    into) and `decoder` stay out of the repr.
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
        "target_field",
        "text",
    )

    def __init__(
        self,
        path: str,
        kind: OriginKind,
        describe: Callable[[], str],
        text: str,
        ref: Reference,
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
        self.resolved = False
        self.sensitive = False

    def __repr__(self) -> str:
        return (
            f"_Use(path={self.path!r}, kind={self.kind!r}, text={self.text!r}, ref={self.ref!r}, "
            f"sink_key={self.sink_key!r}, resolved={self.resolved!r}, sensitive={self.sensitive!r})"
        )


class _Import:
    """One `PYDANTIC_AWS_IMPORT` entry and, once applied, the field values it supplies.

    `sensitive`: whether a secret or SecureString supplied them. `values` stays out of the repr.
    """

    __slots__ = ("ref", "sensitive", "text", "values")

    def __init__(self, text: str, ref: Reference) -> None:
        self.text = text
        self.ref = ref
        self.values: dict[str, Any] = {}
        self.sensitive = False

    def __repr__(self) -> str:
        return f"_Import(text={self.text!r}, ref={self.ref!r}, sensitive={self.sensitive!r})"
