"""A disabled proxy refuses connections and drops the ones it had; enabling restores it."""

from __future__ import annotations

import socket

import pytest
import requests
from proxytest import ProxyUnderTest, recv_exactly


def _set_enabled(proxy: ProxyUnderTest, enabled: bool) -> None:
    response = requests.post(
        f"{proxy.api}/proxies/{proxy.name}", json={"enabled": enabled}, timeout=5
    )
    assert response.status_code == 200 and response.json()["enabled"] is enabled


def test_disabled_refuses_and_drops(proxy: ProxyUnderTest) -> None:
    with proxy.connect() as live:
        live.sendall(b"1")
        assert recv_exactly(live, 1) == b"1"
        _set_enabled(proxy, False)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        assert live.recv(10) == b""  # the open connection was closed too
    _set_enabled(proxy, True)
    with proxy.connect() as sock:
        sock.sendall(b"back")
        assert recv_exactly(sock, 4) == b"back"
