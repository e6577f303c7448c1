"""Data and EOF that arrive before a connection is linked (its upstream is still being
dialled) are passed on, on every event loop.

The proxy image runs Debian bookworm's Python 3.11.2. Before CPython 3.11.4 (gh-103607) a
selector transport starts reading right after ``connection_made`` even if the protocol
paused it there. The proxy used to rely on that pause, so in the image a client that spoke
first (``PING`` to redis) lost its bytes and never got an answer. ``legacy_loop`` brings
back the old behaviour on a newer Python, so these tests catch the bug on the host too.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from asyncio import selector_events
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from proxytest import Background, ProxyUnderTest, recv_exactly, recv_until_closed

from gameday.proxy.link import Connection
from gameday.proxy.proxy import Proxy

DIAL_DELAY_S = 0.2  # long enough for the client's data and FIN to reach the proxy first


def _add_reader_before_3_11_4(self: Any, fd: int, callback: Any, *args: Any) -> None:
    # CPython 3.11.2's _SelectorTransport._add_reader: no is_reading() check, so the
    # reader that __init__ schedules after connection_made undoes a pause made there.
    if self._closing:
        return
    self._loop._add_reader(fd, callback, *args)


@pytest.fixture(params=["current", "legacy"])
def loop_kind(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, background: Background
) -> str:
    """Run the test on this Python's selector loop, and again as on Python 3.11.2."""
    if request.param == "legacy":
        if not isinstance(background.loop, selector_events.BaseSelectorEventLoop):
            pytest.skip("the legacy behaviour is emulated for the selector loop only")
        monkeypatch.setattr(
            selector_events._SelectorTransport, "_add_reader", _add_reader_before_3_11_4
        )
    return str(request.param)


@pytest.fixture
def slow_dial(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every proxy waits DIAL_DELAY_S before it dials its upstream."""
    dial = Proxy._dial

    async def dial_later(self: Proxy, connection: Connection) -> None:
        await asyncio.sleep(DIAL_DELAY_S)
        await dial(self, connection)

    monkeypatch.setattr(Proxy, "_dial", dial_later)


def test_client_speaks_first(proxy: ProxyUnderTest, loop_kind: str) -> None:
    for _ in range(3):
        with proxy.connect(timeout_s=3) as sock:
            sock.sendall(b"PING\r\n")
            assert recv_exactly(sock, 6) == b"PING\r\n"


@pytest.mark.usefixtures("slow_dial")
def test_data_and_eof_before_the_upstream_is_connected(
    proxy: ProxyUnderTest, loop_kind: str
) -> None:
    with proxy.connect(timeout_s=3) as sock:
        sock.sendall(b"early ")
        sock.sendall(b"bytes")
        sock.shutdown(socket.SHUT_WR)
        assert recv_until_closed(sock) == b"early bytes"


@pytest.mark.usefixtures("slow_dial")
def test_early_data_goes_through_the_toxics(proxy: ProxyUnderTest, loop_kind: str) -> None:
    proxy.add_toxic("slicer", "upstream", average_size=2, size_variation=1, delay=100)
    payload = bytes(range(256)) * 4
    with proxy.connect(timeout_s=3) as sock:
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload


@pytest.mark.usefixtures("slow_dial")
def test_more_early_data_than_one_read(proxy: ProxyUnderTest, loop_kind: str) -> None:
    # The proxy stops reading after its first read; the rest waits in the kernel.
    payload = bytes(range(256)) * 4096  # 1 MiB, more than the proxy's read buffer
    with proxy.connect(timeout_s=5) as sock:

        def send_all() -> None:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)

        writer = threading.Thread(target=send_all)
        writer.start()
        received = recv_until_closed(sock)
        writer.join()
    assert received == payload


class _Greeter(asyncio.Protocol):
    """An upstream that speaks first, as soon as it accepts (as SMTP or MySQL do)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"HELLO\r\n")

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


@pytest.fixture
def greeter(background: Background) -> Iterator[str]:
    async def start() -> asyncio.Server:
        return await asyncio.get_running_loop().create_server(_Greeter, "127.0.0.1", 0)

    server = background.run(start())
    yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    server.close()


def test_upstream_speaks_first(
    background: Background, greeter: str, loop_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Link only after the greeting has surely been read from the upstream socket.
    connected = Connection.connected

    def connected_later(self: Connection, *args: Any) -> None:
        asyncio.get_running_loop().call_later(DIAL_DELAY_S, connected, self, *args)

    monkeypatch.setattr(Connection, "connected", connected_later)

    response = requests.post(
        f"{background.api}/proxies",
        json={"name": "greeter", "listen": "127.0.0.1:0", "upstream": greeter},
        timeout=5,
    )
    assert response.status_code == 201, response.text
    try:
        port = int(response.json()["listen"].rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            assert recv_exactly(sock, 7) == b"HELLO\r\n"
            sock.sendall(b"PING\r\n")
            assert recv_exactly(sock, 6) == b"PING\r\n"
    finally:
        requests.delete(f"{background.api}/proxies/greeter", timeout=5)
