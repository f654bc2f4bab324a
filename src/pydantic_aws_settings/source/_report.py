"""What a load tells its callers: `Origin`, `LoadReport`, `recording()` and `PlannedReference`.

Imported with the package (`Origin` is a public name); the computing of origins is in `_origins`.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference

__all__ = ["LoadReport", "Origin", "OriginKind", "PlannedReference", "recording", "recording_origins"]

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
        references: every reference the loads fetched (for `LiveSettings` to know when to look again).
        options: the options of the last load that fetched anything.
    """

    origins: dict[str, Origin] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)
    options: Options | None = None


RECORDER: ContextVar[LoadReport | None] = ContextVar("pydantic_aws_settings_report", default=None)


@contextlib.contextmanager
def recording() -> Iterator[LoadReport]:
    """Record, for the loads inside the block (in this thread or task), a `LoadReport`."""
    report = LoadReport()
    token = RECORDER.set(report)
    try:
        yield report
    finally:
        RECORDER.reset(token)


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
