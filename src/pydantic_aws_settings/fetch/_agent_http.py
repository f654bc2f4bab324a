"""The connections of the requests to a node-local cache: kept alive, shared, closed when none is asking.

A load asks the cache once per distinct reference, from at most `PYDANTIC_AWS_MAX_WORKERS` threads at
once. Opening a connection per request (40 for 40 references) costs each request a connect, a name
lookup and a close, on both sides of the loopback, for nothing: the caches speak HTTP/1.1 and keep
connections alive. So the requests share one `Connections` per cache (on the process state, see
`_agent_memory`): a request takes an idle connection or opens one, and gives it back once it has read
the whole answer, so that a load opens at most as many connections as it has requests in flight at
once, whichever service group they are in. The plans of the loads join it (`join`) and their askers
leave it (`done`); when the last one leaves, every connection is closed: nothing is kept between
loads, so no connection idles into a forked child or a restored snapshot.

A kept-alive connection that the cache closed in the meantime (its idle timeout, a restart) fails on
reuse with a `ConnectionError` before any answer; the request is then sent once more on a new
connection. Any other failure is the caller's (`fetch.agent` falls back to AWS).
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
import weakref
from typing import NamedTuple

__all__ = ["Connections"]

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name, not a token


class _Answer(NamedTuple):
    status: int
    body: bytes


class Connections:
    """The kept-alive connections to one cache, shared by the askers of the loads that use it.

    Args:
        url: the cache's base URL.
        token: the token header's value.
        connect_timeout / read_timeout: the timeouts of the loads that share these connections.
    """

    def __init__(self, url: str, token: str, connect_timeout: float, read_timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self._https = parts.scheme.lower() == "https"
        self._netloc = parts.netloc
        self._base = parts.path
        self._token = token
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._lock = threading.Lock()
        self._idle: list[http.client.HTTPConnection] = []
        self._every: weakref.WeakSet[http.client.HTTPConnection] = weakref.WeakSet()  # idle or in use
        self._users = 0

    def join(self, askers: int) -> None:
        """A plan's `askers` will use these connections; each calls `done` when it has finished."""
        with self._lock:
            self._users += askers

    def get(self, path: str) -> tuple[int, bytes]:
        """One GET of `path`; raises OSError or `http.client.HTTPException` when the cache cannot answer."""
        connection, reused = self._take()
        try:
            answer = self._exchange(connection, path)
        except ConnectionError:
            connection.close()
            if not reused:
                raise
            # The cache closed the idle connection before this request reached it: once more, afresh.
            connection = self._opened()
            try:
                answer = self._exchange(connection, path)
            except BaseException:
                connection.close()
                raise
        except BaseException:
            connection.close()
            raise
        return answer

    def done(self) -> None:
        """An asker has finished; when none is left, every idle connection is closed."""
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def abandon(self) -> None:
        """In a forked child: close the inherited connections (the child's descriptors only), lock-free.

        Those a parent thread was using at the fork too: nothing in the child will give them back.
        """
        inherited, self._idle = [*self._idle, *self._every], []
        for connection in inherited:
            connection.close()
        self._lock = threading.Lock()
        self._users = 0

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._opened(), False

    def _opened(self) -> http.client.HTTPConnection:
        connection = self._open()
        with self._lock:
            self._every.add(connection)
        return connection

    def _open(self) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        connection = kind(self._netloc, timeout=self._connect_timeout)
        try:
            connection.connect()
        except BaseException:
            connection.close()
            raise
        if connection.sock is not None:
            connection.sock.settimeout(self._read_timeout)
        return connection

    def _exchange(self, connection: http.client.HTTPConnection, path: str) -> _Answer:
        """Send the GET and read the whole answer; give the connection back if the cache keeps it open."""
        connection.request("GET", self._base + path, headers={TOKEN_HEADER: self._token})
        response = connection.getresponse()
        body = response.read()
        if response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return _Answer(response.status, body)
