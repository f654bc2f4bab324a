"""The reference-resolution tests of `test_resolution.py`, run again through each node-local cache.

Every test class of that module is collected here again, with the loopback environment's `aws_env`
wrapped: the same moto and proxy, plus a fake node-local cache over moto that the process is aimed at
(`PYDANTIC_AWS_AGENT_URL`), once the Secrets Manager Agent and once the Lambda extension. The same values,
errors and fallbacks must come out.

`aws_proxy` still counts what the *process* sent to AWS. Through a cache that count is different by
design (the cache sends it), so the few tests that pin the process's AWS requests exactly are left out
here, by name (`_COUNTING`, checked below to be exactly those); `test_agent.py` pins the requests
through each cache instead.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from support.agents import FakeLambdaExtension, FakeSecretsManagerAgent

if TYPE_CHECKING:
    from collections.abc import Iterator

    from support.loopback import MotoServer
    from support.proxy import AWSProxy

TOKEN = "resolution-agent-token"

#: The tests that assert the process's own AWS requests (`aws_proxy.counts` / `.requests`) for a load
#: the cache serves: through a cache, by design, the process sends none of them.
_COUNTING = {
    kind: {
        "test_whole_json_secret_fills_a_model",
        "test_stage_selects_previous_version",
        "test_full_and_partial_arn",
        "test_string_and_secure_string",
        "test_markers_resolve_when_nothing_else_supplies",
    }
    for kind in ("agent", "extension")
}


def _reference_module() -> Any:
    """`test_resolution`, imported as pytest imports it (its directory on sys.path, its bare name)."""
    if "test_resolution" not in sys.modules:
        path = next(Path(__file__).parent.rglob("test_resolution.py"))
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
    return importlib.import_module("test_resolution")


_REFERENCE = _reference_module()
globals().update(
    {name: value for name, value in vars(_REFERENCE).items() if hasattr(value, "_fixture_function_marker")}
)
_CLASSES = {
    name: value
    for name, value in vars(_REFERENCE).items()
    if name.startswith("Test") and isinstance(value, type)
}


@pytest.fixture
def aws_env(
    request: pytest.FixtureRequest,
    isolated_env: None,
    monkeypatch: pytest.MonkeyPatch,
    moto_server: MotoServer,
    aws_proxy: AWSProxy,
) -> Iterator[AWSProxy]:
    """The loopback environment (as support/endpoint.py's), and a node-local cache the process is aimed at."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_proxy.url)
    moto_server.reset()
    aws_proxy.reset()
    param = getattr(request, "param", "agent")  # the module's own test below is not parametrised
    kind = FakeSecretsManagerAgent if param == "agent" else FakeLambdaExtension
    with kind(moto_server.url, TOKEN) as cache:
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_URL", cache.url)
        monkeypatch.setenv("PYDANTIC_AWS_AGENT_TOKEN", TOKEN)
        yield aws_proxy
    aws_proxy.clear_faults()


def _through(kind: str) -> dict[str, type]:
    """Each reference class as a subclass that runs through `kind`, without the tests that pin counts."""
    classes = {}
    for name, cls in _CLASSES.items():
        left_out = dict.fromkeys(sorted(_COUNTING[kind] & set(vars(cls))))
        mark = pytest.mark.parametrize("aws_env", [kind], indirect=True)
        classes[f"{name}Via{kind.capitalize()}"] = type(
            f"{name}Via{kind.capitalize()}", (cls,), {**left_out, "pytestmark": [mark]}
        )
    return classes


globals().update(_through("agent"))
globals().update(_through("extension"))


def test_every_reference_test_is_collected_here() -> None:
    """The reference module's classes are all here, and the tests left out exist and pin counts."""
    assert len(_CLASSES) >= 6
    for kind in ("agent", "extension"):
        assert all(f"{name}Via{kind.capitalize()}" in globals() for name in _CLASSES)
        for test in _COUNTING[kind]:
            owner = next(cls for cls in _CLASSES.values() if test in vars(cls))
            assert "aws_proxy.counts" in inspect.getsource(getattr(owner, test))
