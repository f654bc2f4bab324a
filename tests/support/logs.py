"""Every log record of the process, at DEBUG, into a handler of the test's choosing; one such handler."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RecordCollector", "all_records_to", "collecting"]

H = TypeVar("H", bound=logging.Handler)


@contextlib.contextmanager
def all_records_to(handler: H) -> Iterator[H]:
    """Put the root logger at DEBUG with `handler` attached for the block (botocore's records included)."""
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


class RecordCollector(logging.Handler):
    """Keeps every record it handles, and its text as a handler would print it (traceback included).

    Args:
        fmt: The format of :attr:`texts`.

    Attributes:
        records: The records, in the order they were emitted.
        texts: Each record formatted with ``fmt``, its exception's traceback included.
    """

    def __init__(self, fmt: str = "%(name)s %(message)s") -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter(fmt))
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record and its formatted text (``handle`` holds the handler's lock around this)."""
        self.records.append(record)
        self.texts.append(self.format(record))

    def containing(self, text: str) -> list[str]:
        """The first 200 characters of each formatted record that contains ``text``."""
        return [line[:200] for line in self.texts if text in line]


@contextlib.contextmanager
def collecting(fmt: str = "%(name)s %(message)s") -> Iterator[RecordCollector]:
    """Every logger at DEBUG into a new :class:`RecordCollector`, for the duration of the block."""
    with all_records_to(RecordCollector(fmt)) as collector:
        yield collector
