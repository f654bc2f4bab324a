"""The node-local caches' shared connections: closed when the last asker leaves, and after a fork.

No endpoint: idle connections are stand-ins that record their closing (the loopback tests count the
real ones at the fake caches).
"""

from __future__ import annotations

from pydantic_aws_settings.fetch._agent_http import Connections
from pydantic_aws_settings.fetch._agent_memory import AgentMemory


class _Idle:
    """A stand-in for a kept-alive `http.client.HTTPConnection` waiting in the pool."""

    def __init__(self, closed: list[_Idle]) -> None:
        self.closed = closed

    def close(self) -> None:
        self.closed.append(self)


def _make() -> Connections:
    return Connections("http://127.0.0.1:2773", "token", 1.0, 4.0)


def test_the_last_asker_to_leave_closes_the_idle_connections() -> None:
    """Two plans of one agent share one pool; its connections close when the last of their askers is done."""
    memory = AgentMemory()
    shared = memory.connections("agent", _make, 2)
    assert memory.connections("agent", _make, 1) is shared  # a second plan joins the same pool
    closed: list[_Idle] = []
    shared._idle.append(_Idle(closed))  # type: ignore[arg-type]
    shared.done()
    shared.done()
    assert closed == []  # one asker is still asking
    shared.done()
    assert len(closed) == 1


def test_a_forked_child_closes_and_forgets_the_parents_connections() -> None:
    """A fork during a load: the child closes the inherited connections and builds a pool of its own."""
    memory = AgentMemory()
    shared = memory.connections("agent", _make, 3)
    closed: list[_Idle] = []
    shared._idle.append(_Idle(closed))  # type: ignore[arg-type]
    memory.after_fork()
    assert len(closed) == 1
    assert memory.connections("agent", _make, 1) is not shared


def test_a_forked_child_closes_the_connections_in_use_at_the_fork() -> None:
    """A fork while another thread's request is on a connection: the child closes its copy of that one too.

    Before, only the idle connections were closed: the child kept the descriptor of the one in use for
    its whole life, so the cache's side of it stayed open after the parent closed it.
    """
    memory = AgentMemory()
    shared = memory.connections("agent", _make, 1)
    closed: list[_Idle] = []
    shared._open = lambda: _Idle(closed)  # type: ignore[assignment,method-assign,return-value]
    in_use, reused = shared._take()  # a parent thread's request, in flight at the fork
    assert not reused
    memory.after_fork()
    assert closed == [in_use]
