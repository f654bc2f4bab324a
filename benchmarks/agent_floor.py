"""Floors of a load through a node-local cache: the benchmark's 40 requests, sent at once by good clients.

Each floor sends the very requests a load of the configuration sends to the Lambda extension (30
`GET /systemsmanager/parameters/get`, 10 `GET /secretsmanager/get`, with the token header) to the same
fake, all concurrently, reads every answer whole, and nothing more: no JSON, no validation. Several
reasonable clients are measured, since which one is fastest depends on the machine:

- `threads`: 40 threads started at once, each with its own `http.client` connection and one request;
- `pool`: a pool of 40 worker threads (`concurrent.futures`), one `http.client` connection per request;
- `keepalive`: 10 threads with one kept-alive connection each, 4 requests one after the other on it;
- `asyncio`: one event loop, 40 connections (`asyncio.open_connection`), the requests written and the
  answers read concurrently.

Standard library only.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from scenario import PARAMETER_NAMES, SECRET_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"  # noqa: S105 - a header name


def paths() -> list[str]:
    """The 40 requests a load of the configuration sends to the Lambda extension."""

    def q(value: str) -> str:
        return urllib.parse.quote(value, safe="")

    return [
        *(f"/systemsmanager/parameters/get?name={q(n)}&withDecryption=true" for n in PARAMETER_NAMES),
        *(f"/secretsmanager/get?secretId={q(n)}" for n in SECRET_NAMES),
    ]


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _one(host: str, port: int, path: str, token: str) -> None:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", path, headers={TOKEN_HEADER: token})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"the fake answered HTTP {response.status} for {path}")
    finally:
        connection.close()


def threads(url: str, token: str) -> Callable[[], None]:
    """40 threads at once, one connection and one request each."""
    host, port = _address(url)
    todo = paths()

    def load() -> None:
        workers = [threading.Thread(target=_one, args=(host, port, p, token)) for p in todo]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return load


def pool(url: str, token: str) -> Callable[[], None]:
    """A pool of 40 threads, one connection per request."""
    host, port = _address(url)
    todo = paths()

    def load() -> None:
        with ThreadPoolExecutor(max_workers=len(todo)) as executor:
            for future in [executor.submit(_one, host, port, p, token) for p in todo]:
                future.result()

    return load


def keepalive(url: str, token: str, connections: int = 10) -> Callable[[], None]:
    """`connections` threads, each sending its share of the requests on one kept-alive connection."""
    host, port = _address(url)
    todo = paths()
    shares = [todo[i::connections] for i in range(connections)]

    def serial(share: list[str]) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        try:
            for path in share:
                connection.request("GET", path, headers={TOKEN_HEADER: token})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"the fake answered HTTP {response.status} for {path}")
        finally:
            connection.close()

    def load() -> None:
        workers = [threading.Thread(target=serial, args=(share,)) for share in shares]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return load


async def _fetch(host: str, port: int, path: str, token: str) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{TOKEN_HEADER}: {token}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        length = next(
            int(line.partition(b":")[2])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        if status != b"200":
            raise RuntimeError(f"the fake answered HTTP {status.decode()} for {path}")
    finally:
        writer.close()


def asyncio_floor(url: str, token: str) -> Callable[[], None]:
    """One event loop, 40 connections, the requests concurrent."""
    host, port = _address(url)
    todo = paths()

    async def all_of_them() -> None:
        await asyncio.gather(*(_fetch(host, port, p, token) for p in todo))

    def load() -> None:
        asyncio.run(all_of_them())

    return load


#: The floors, by key: how each builds its load from the fake's URL and the token.
FLOORS: dict[str, Callable[[str, str], Callable[[], None]]] = {
    "threads": threads,
    "pool": pool,
    "keepalive": keepalive,
    "asyncio": asyncio_floor,
}
