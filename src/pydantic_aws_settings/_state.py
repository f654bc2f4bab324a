"""The process state, in one place: the value cache, the clients and sessions, the denial memory.

Every object a load keeps between loads lives on the one `ProcessState` that `state()` builds on first
use (so that importing the package builds nothing) and `reset()` drops. Nothing else in the package keeps
a module global that a test or a forked process would have to reset. The calls users make on it
(`clear_cache`, `invalidate`, `invalidate_field`) are defined here too.

Lifecycle hooks, installed once when the state is first built:
- `os.register_at_fork(after_in_child=...)`: a forked child (gunicorn `--preload`, uWSGI, Celery
  prefork, `multiprocessing` with fork) drops every session, client, connection pool, lock and fetch or
  AssumeRole in flight it inherited, without waiting for the parent's threads (none came along), keeps
  its cached values, and moves each one's end to a random point before its TTL's end (sibling workers
  do not refresh in step).
- `snapshot_restore_py.register_after_restore(...)`, where that module imports (Lambda SnapStart): the
  restored process drops its sessions, clients and connections (none survives a restore), and marks
  every cached entry for refresh, keeping its value for stale-if-error.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic_settings import BaseSettings

    from pydantic_aws_settings.cache import ValueCache
    from pydantic_aws_settings.options import Options
    from pydantic_aws_settings.references import Reference
    from pydantic_aws_settings.resolver import Target

    #: (service, region, options) -> a client with the botocore methods the fetchers call.
    ClientFactory = Callable[[str, str | None, Options], Any]

__all__ = ["ProcessState", "clear_cache", "invalidate", "invalidate_field", "reset", "state"]


class ProcessState:
    """What a process keeps between loads.

    Attributes:
        cache: the values every load shares (keyed by `resolver.Target`).
        clients: botocore's sessions and clients, by identity, region and endpoint.
        denials: the clients whose BatchGetSecretValue was denied, and when.
        agents: the node-local caches found unreachable, or without the parameter route.
        client_factory: what builds the client of a service in a region for a load's options, when not
            botocore's (`credentials.client_for`): the seam an in-memory fake of AWS plugs into.
    """

    __slots__ = ("agents", "cache", "client_factory", "clients", "denials")

    def __init__(self) -> None:
        from pydantic_aws_settings.cache import ValueCache
        from pydantic_aws_settings.credentials import ClientRegistry
        from pydantic_aws_settings.fetch._agent_memory import AgentMemory
        from pydantic_aws_settings.fetch.secretsmanager import DenialMemory

        self.agents = AgentMemory()
        self.cache: ValueCache[Target] = ValueCache()
        self.clients = ClientRegistry()
        self.denials = DenialMemory()
        self.client_factory: ClientFactory | None = None

    def __repr__(self) -> str:
        return f"ProcessState(cache={self.cache!r}, clients={self.clients!r}, denials={self.denials!r})"


_STATE: ProcessState | None = None
_LOCK = threading.Lock()
_HOOKED = False


def state() -> ProcessState:
    """The process state, built on first use."""
    current = _STATE
    if current is None:
        with _LOCK:
            current = _build()
    return current


def _build() -> ProcessState:
    global _STATE
    if _STATE is None:
        _STATE = ProcessState()
        _install_hooks()
    return _STATE


def _install_hooks() -> None:
    """Register the fork hook and, where `snapshot_restore_py` imports, the SnapStart hook, once."""
    global _HOOKED
    if _HOOKED:
        return
    _HOOKED = True
    os.register_at_fork(after_in_child=_after_fork_in_child)
    try:
        import snapshot_restore_py  # type: ignore[import-not-found]  # only in Lambda's Python runtimes
    except ImportError:
        return
    snapshot_restore_py.register_after_restore(_after_restore)


def _after_fork_in_child() -> None:
    """In a forked child: nothing of the parent's connections, locks, threads or fetches in flight.

    Cached values and their remembered absences stay; each entry gets an end of its own (`cache.after_fork`).
    """
    global _LOCK
    _LOCK = threading.Lock()
    current = _STATE
    if current is not None:
        current.clients.after_fork()
        current.cache.after_fork()
        current.denials.after_fork()
        current.agents.after_fork()


def _after_restore() -> None:
    """In a process restored from a SnapStart snapshot: new connections, and every entry due for refresh.

    The snapshot's threads were restored with it, so its locks and fetches in flight stay theirs; its
    connections, though, are dead, and its values as old as the snapshot.
    """
    current = _STATE
    if current is not None:
        current.clients.after_fork()
        current.cache.after_restore()


def reset() -> None:
    """Drop cached values, sessions, clients and remembered denials (tests; an environment that changed).

    A role's first AssumeRole still in flight is waited for (see `ClientRegistry.reset`), so that it does
    not reach the endpoint after the reset.
    """
    global _STATE
    with _LOCK:
        old, _STATE = _STATE, None
    if old is not None:
        old.clients.reset()


def clear_cache() -> None:
    """Drop every cached value, so the next load fetches everything again."""
    if _STATE is not None:
        _STATE.cache.clear()


def invalidate(reference: str | Reference) -> int:
    """Drop the cached value a reference reads, for every identity and region; return how many went.

    References that differ only by `#KEY` or `optional:` share one cached value, so
    `invalidate("secretsmanager:prod/db#password")` makes the next load read all of `prod/db` again.

    Raises:
        InvalidReferenceError: the text is not a reference.
    """
    from pydantic_aws_settings.errors import InvalidReferenceError
    from pydantic_aws_settings.references import parse_reference

    ref = parse_reference(reference) if isinstance(reference, str) else reference
    if ref is None:
        raise InvalidReferenceError(str(reference), "not a reference")
    if _STATE is None:
        return 0
    wanted = ref.target()
    return _STATE.cache.invalidate(lambda key: key.ref == wanted)


def invalidate_field(settings_cls: type[BaseSettings], field: str) -> int:
    """Drop the cached values that feed one field (dotted for a nested one) as the environment says now.

    For an application whose database rejected a password that was just rotated: invalidate the field,
    load again, and the new password is fetched. When no reference names the field directly, the bulk
    import entries are dropped, since one of them may supply it. Returns how many entries went.

    Raises:
        ValueError: the class has no such field (or the nested model no such key), naming it and the
            known ones: a misspelt name would otherwise drop nothing, or the bulk import entries, silently.
    """
    import typing

    from pydantic import BaseModel

    from pydantic_aws_settings.source import AWSSettingsSource, aws_sources_of

    model: type[BaseModel] | None = settings_cls
    for depth, part in enumerate(field.split(".")):
        if model is None:  # below a dict or any other type: any key may be there
            break
        info = model.model_fields.get(part)
        if info is None:
            known = ", ".join(sorted(model.model_fields)) or "none"
            where = settings_cls.__name__ + "".join(f".{p}" for p in field.split(".")[:depth])
            raise ValueError(f"{where} has no field {part!r} (invalidate_field({field!r})); known: {known}")
        kinds = [info.annotation, *typing.get_args(info.annotation)]  # `Model | None` too
        models = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        model = models[0] if len(models) == 1 else None

    # The class's own sources (a keyword such as `aws_import=` lives on them); a class that composes
    # none is planned with the default source, as before.
    aws_sources = aws_sources_of(settings_cls)
    planned = [p for s in aws_sources or [AWSSettingsSource(settings_cls)] for p in s.references()]
    direct = [p for p in planned if p.field == field or p.field.startswith(f"{field}.")]
    chosen = direct or [p for p in planned if p.variable == "PYDANTIC_AWS_IMPORT"]
    return sum(invalidate(p.reference) for p in chosen)
