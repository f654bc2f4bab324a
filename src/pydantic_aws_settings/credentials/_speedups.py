"""botocore's cold start made cheaper: a plain-dict JSON loader, one-service availability, shared data.

Sessions built here read and parse botocore's data files (service models, endpoint rules) once per
process, not once per session, and faster than botocore's own loader.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.session import Session


class _JSONFileLoader:
    """botocore's JSON file loader, parsing into plain dicts instead of `OrderedDict`s.

    botocore parses its data files (a megabyte of endpoint data, the service models) with
    `object_pairs_hook=OrderedDict`, a habit from before dicts kept their order; parsing into plain
    dicts takes half the time, about 25 ms of a cold start for SSM and Secrets Manager. botocore's
    `Loader` takes a file loader as an argument and calls only these two methods on it; they find the
    same files in the same order (`.json`, then `.json.gz`) as its own.
    """

    _OPENERS: tuple[tuple[str, Callable[..., Any]], ...] = ((".json", open), (".json.gz", gzip.open))

    def exists(self, file_path: str) -> bool:
        """Whether the data file exists (the path is without its `.json` or `.json.gz`)."""
        return any(os.path.isfile(file_path + extension) for extension, _ in self._OPENERS)

    def load_file(self, file_path: str) -> Any:
        """The parsed data file (the path is without its extension), or None when there is none."""
        for extension, opener in self._OPENERS:
            full_path = file_path + extension
            if os.path.isfile(full_path):
                with opener(full_path, "rb") as data:
                    return json.loads(data.read().decode("utf-8"))
        return None


class _AvailableServices(Sequence[str]):
    """The services a data loader has data of, asked about one service at a time.

    Before it loads a service's model, botocore checks that the service is among all those it has data
    for, which it finds by listing and testing every one of over 400 data directories, once for the
    models and once for the endpoint rules: about 20 ms of a cold start for an answer about one service.
    Membership here looks at that service's directory only (botocore's `list_api_versions`, which is
    what the full list is made of); listing, indexing or counting makes botocore's full list.
    """

    def __init__(self, loader: Any, type_name: str, scan: Callable[[], list[str]]) -> None:
        self._loader = loader
        self._type_name = type_name
        self._scan = scan
        self._names: list[str] | None = None

    def __contains__(self, name: object) -> bool:
        from botocore.exceptions import DataNotFoundError

        if not isinstance(name, str):
            return False
        try:
            return bool(self._loader.list_api_versions(name, self._type_name))
        except DataNotFoundError:
            return False

    def _all(self) -> list[str]:
        if self._names is None:
            self._names = self._scan()
        return self._names

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())


@functools.cache
def _loader_class() -> type[Any]:
    """The `Loader` of botocore, answering "does this service exist" without listing every service."""
    from botocore.loaders import Loader

    class _Loader(Loader):
        # botocore itself only asks "is this service among them" (and returns it from a session's
        # get_available_services, which nothing calls on these private sessions).
        def list_available_services(self, type_name: str) -> _AvailableServices:  # type: ignore[override]
            # Not cached under botocore's key for this method: the full scan below is, by botocore.
            scan: Callable[[], list[str]] = lambda: Loader.list_available_services(self, type_name)  # noqa: E731
            return _AvailableServices(self, type_name, scan)

    return _Loader


def _data_loader(data_path: str | None) -> Any:
    """The data loader botocore builds from `data_path`, with the plain-dict file loader."""
    paths = None
    if data_path:
        paths = [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)]
    return _loader_class()(extra_search_paths=paths, file_loader=_JSONFileLoader())


def _botocore_session(profile: str | None, shared: Session | None = None) -> Session:
    """A new botocore session of a profile whose STS clients use the regional endpoint.

    Its data loader parses botocore's data files into plain dicts (see `_JSONFileLoader`). With `shared`,
    the new session reuses its data loader, which depends on neither the credentials nor the profile,
    only on the data path (`AWS_DATA_PATH`, a profile's `data_path`): botocore's loader keeps what it
    parsed (service models, endpoint rules, partitions), so they are read and parsed once per process.
    """
    import botocore.session

    core = botocore.session.Session(profile=profile)
    # STS at the regional endpoint, whatever AWS_STS_REGIONAL_ENDPOINTS or the profile says.
    core.set_config_variable("sts_regional_endpoints", "regional")
    data_path = core.get_config_variable("data_path")
    if shared is not None and data_path == shared.get_config_variable("data_path"):
        core.register_component("data_loader", shared.get_component("data_loader"))
    else:
        core.register_component("data_loader", _data_loader(data_path))
    return core
