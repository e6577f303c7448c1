"""Helpers for the proxy's tests: a real proxy server and a real echo upstream, both on
127.0.0.1, running on an event loop in a background thread so that tests can drive them
with blocking sockets and the synchronous toxiproxy-python client.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests

from gameday.proxy import RunningServer, run_server

T = TypeVar("T")

_names = itertools.count(1)


class EchoProtocol(asyncio.Protocol):
    """Echoes every byte and closes after the client half-closes; notes arrival times."""

    def __init__(self, arrivals: list[tuple[float, int]]) -> None:
        self.arrivals = arrivals
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.arrivals.append((time.monotonic(), len(data)))
        assert self.transport is not None
        self.transport.write(data)

    def eof_received(self) -> bool:
        return False  # close once our echo is flushed: the client sees EOF


@dataclass
class Background:
    """An event loop in a thread, with the proxy server and an echo upstream on it."""

    loop: asyncio.AbstractEventLoop
    server: RunningServer
    echo_port: int
    arrivals: list[tuple[float, int]] = field(default_factory=list)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    @property
    def api(self) -> str:
        return self.server.api_url

    @property
    def echo_address(self) -> str:
        return f"127.0.0.1:{self.echo_port}"


def start_background(
    seed: int | None = 1234, **options: Any
) -> tuple[Background, threading.Thread]:
    """Start the server (``options`` go to run_server) and an echo upstream."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    arrivals: list[tuple[float, int]] = []

    async def start() -> tuple[RunningServer, int]:
        server = await run_server("127.0.0.1", 0, seed=seed, **options)
        echo = await asyncio.get_running_loop().create_server(
            lambda: EchoProtocol(arrivals), "127.0.0.1", 0
        )
        return server, echo.sockets[0].getsockname()[1]

    server, echo_port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    return Background(loop, server, echo_port, arrivals), thread


def stop_background(background: Background, thread: threading.Thread) -> None:
    background.run(background.server.stop())
    background.loop.call_soon_threadsafe(background.loop.stop)
    thread.join(timeout=5)


@dataclass(frozen=True)
class ProxyUnderTest:
    name: str
    port: int
    api: str

    def connect(self, timeout_s: float = 5.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s)

    def add_toxic(
        self, type_: str, stream: str = "downstream", toxicity: float = 1.0, **attributes: int
    ) -> dict[str, Any]:
        response = requests.post(
            f"{self.api}/proxies/{self.name}/toxics",
            json={"type": type_, "stream": stream, "toxicity": toxicity, "attributes": attributes},
            timeout=5,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def remove_toxic(self, name: str) -> None:
        response = requests.delete(f"{self.api}/proxies/{self.name}/toxics/{name}", timeout=5)
        assert response.status_code == 204, response.text


def recv_until_closed(sock: socket.socket, limit: int = 1 << 26) -> bytes:
    """Everything the peer sends until it closes (or resets: then raises)."""
    parts = []
    total = 0
    while total < limit:
        data = sock.recv(1 << 16)
        if not data:
            break
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    parts = []
    remaining = size
    while remaining:
        data = sock.recv(min(remaining, 1 << 16))
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)
