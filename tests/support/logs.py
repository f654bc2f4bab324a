"""Every log record of the process, at DEBUG, into a handler of the test's choosing."""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["all_records_to"]

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
