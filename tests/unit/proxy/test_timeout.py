"""timeout holds all data and closes after its time; 0 holds forever."""

from __future__ import annotations

import socket
import time

import pytest
from proxytest import ProxyUnderTest, recv_exactly


def test_holds_data_then_closes(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("timeout", "downstream", timeout=300)
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"anyone there?")
        assert sock.recv(100) == b""  # nothing came back: the connection was closed
        assert 0.300 <= time.monotonic() - started < 0.400


def test_zero_holds_forever_until_removed(proxy: ProxyUnderTest) -> None:
    toxic = proxy.add_toxic("timeout", "downstream", timeout=0)
    with proxy.connect(timeout_s=0.5) as sock:
        sock.sendall(b"lost")
        with pytest.raises(socket.timeout):
            sock.recv(100)
        proxy.remove_toxic(toxic["name"])
        # The held data was swallowed, as in Toxiproxy; the connection itself lives on.
        sock.sendall(b"after")
        assert recv_exactly(sock, 5) == b"after"


def test_upstream_timeout_swallows_requests(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("timeout", "upstream", timeout=200)
    with proxy.connect() as sock:
        sock.sendall(b"request")
        assert sock.recv(100) == b""
