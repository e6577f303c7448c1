"""reset_peer ends the connection with a TCP RST, at once or after its timeout."""

from __future__ import annotations

import time

import pytest
from proxytest import ProxyUnderTest


def test_resets_at_first_data(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("reset_peer", "upstream", timeout=0)
    with proxy.connect() as sock:
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)


def test_resets_after_timeout(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("reset_peer", "downstream", timeout=200)
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(100)
        assert 0.200 <= time.monotonic() - started < 0.300
