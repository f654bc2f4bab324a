"""What every command shares: the program's name, usage errors, and finding a settings class."""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

if TYPE_CHECKING:
    import argparse

    class Subparsers(Protocol):
        """What a command's `add_parser` adds its sub-parser to (what `add_subparsers()` returns)."""

        def add_parser(
            self,
            name: str,
            *,
            help: str | None = ...,
            description: str | None = ...,
            usage: str | None = ...,
            formatter_class: type[argparse.HelpFormatter] = ...,
        ) -> argparse.ArgumentParser: ...

    class Command(Protocol):
        """A command module: it adds its sub-parser, and runs with the parsed arguments."""

        def add_parser(self, subparsers: Subparsers) -> None:
            """Add the command's sub-parser, with `set_defaults(run=run, parser=sub)`."""

        def run(self, args: argparse.Namespace) -> int:
            """Run the command; return the exit status."""


__all__ = ["PROG", "UsageError", "load_class"]

PROG = "pydantic-aws-settings"


class UsageError(Exception):
    """The command line asked for something that cannot be done (exit status 2)."""


def load_class(spec: str) -> type[BaseSettings]:
    """Import `MODULE:CLASS` (from the current directory too) and check that it is a settings class.

    Raises:
        UsageError: the spec is not `MODULE:CLASS`; the module cannot be imported, for any reason (not
            found, a syntax error, any exception while it runs, `sys.exit`), named with the error's type
            and message (a validation error's without its inputs); or the class is not there or is
            not a settings class.
    """
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise UsageError(f"expected MODULE:CLASS, got {spec!r}")
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # whatever stops the import is reported, as a usage error
        raise UsageError(f"cannot import {module_name!r}: {_import_error_text(exc)}") from exc
    found: Any = module
    for part in class_name.split("."):
        found = getattr(found, part, None)
        if found is None:
            raise UsageError(f"{module_name!r} has no {class_name!r}")
    if not (isinstance(found, type) and issubclass(found, BaseSettings)):
        raise UsageError(f"{spec} is not a pydantic-settings BaseSettings class")
    return found


def _import_error_text(exc: BaseException) -> str:
    """What stopped an import, in one line or a few: the error's type and message, never inputs."""
    if isinstance(exc, ValidationError):  # settings loaded at import time: the inputs may be secrets
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(model)'}: {e['msg']}" for e in errors)
        return f"ValidationError for {exc.title}: {where}"
    if isinstance(exc, ModuleNotFoundError | SettingsError):  # names the module, or fields and variables
        return str(exc)
    return f"{type(exc).__name__}: {exc}"
