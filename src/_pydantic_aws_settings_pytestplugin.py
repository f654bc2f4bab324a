"""The pytest plugin of pydantic-aws-settings: the `fake_aws` fixture (`pydantic_aws_settings.testing`).

pytest loads it through the `pytest11` entry point; nothing else imports it, so pytest is imported only
then. It is a top-level module, outside the package (as hypothesis does with `_hypothesis_pytestplugin`):
pytest loads entry-point plugins before coverage starts, and a plugin inside the package would import
`pydantic_aws_settings` with it, which would then go unmeasured, and would cost every pytest run the
package's import. The package is imported only when a test asks for the fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic_aws_settings.testing import FakeAWS

__all__ = ["fake_aws"]


def pytest_configure(config: pytest.Config) -> None:
    """Declare the `fake_aws` marker, which seeds the fixture's `FakeAWS`."""
    config.addinivalue_line(
        "markers",
        "fake_aws(secrets=None, parameters=None, secure=(), region='us-east-1'): "
        "what the fake_aws fixture's FakeAWS holds (pydantic-aws-settings)",
    )


@pytest.fixture
def fake_aws(request: pytest.FixtureRequest) -> Iterator[FakeAWS]:
    """A `FakeAWS` entered for the test: every load reads it, the cache is cleared before and after.

    It holds what the test's `@pytest.mark.fake_aws(secrets=..., parameters=..., secure=...)` marker
    names (the arguments of `FakeAWS`), or nothing; `fake_aws.client(service)` seeds more.
    """
    from pydantic_aws_settings.testing import FakeAWS

    marker = request.node.get_closest_marker("fake_aws")
    arguments = {} if marker is None else dict(marker.kwargs)
    with FakeAWS(**arguments) as aws:
        yield aws
