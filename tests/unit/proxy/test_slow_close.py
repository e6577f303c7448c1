"""slow_close passes data at once but delays the end of the stream."""

from __future__ import annotations

import socket
import time

from proxytest import ProxyUnderTest, recv_exactly


def test_close_waits_for_the_delay(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("slow_close", "downstream", delay=300)
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"bye")
        assert recv_exactly(sock, 3) == b"bye"
        assert time.monotonic() - started < 0.1
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(10) == b""
        assert 0.300 <= time.monotonic() - started < 0.400


def test_removing_the_toxic_releases_the_held_close(proxy: ProxyUnderTest) -> None:
    toxic = proxy.add_toxic("slow_close", "downstream", delay=10_000)
    with proxy.connect() as sock:
        sock.sendall(b"x")
        assert recv_exactly(sock, 1) == b"x"
        sock.shutdown(socket.SHUT_WR)
        time.sleep(0.05)  # the echo's close is now held by the toxic
        started = time.monotonic()
        proxy.remove_toxic(toxic["name"])  # finishing the connection must not break the API
        assert sock.recv(10) == b""
        assert time.monotonic() - started < 0.5
