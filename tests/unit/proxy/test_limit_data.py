"""limit_data lets its byte count through, then closes the connection."""

from __future__ import annotations

import time

from proxytest import Background, ProxyUnderTest, recv_until_closed


def test_closes_after_the_byte_count(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("limit_data", "downstream", bytes=1000)
    payload = bytes(range(250)) * 20
    with proxy.connect() as sock:
        sock.sendall(payload)
        assert recv_until_closed(sock) == payload[:1000]


def test_counts_across_writes(proxy: ProxyUnderTest, background: Background) -> None:
    proxy.add_toxic("limit_data", "upstream", bytes=10)
    background.arrivals.clear()
    with proxy.connect() as sock:
        sock.sendall(b"12345")
        time.sleep(0.02)
        sock.sendall(b"67890abc")
        # The whole connection closes at the limit, so the echo of the tail may not return.
        assert b"1234567890".startswith(recv_until_closed(sock))
    # The upstream may read the last bytes just after the client saw the close.
    deadline = time.monotonic() + 1.0
    while sum(size for _, size in background.arrivals) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert sum(size for _, size in background.arrivals) == 10
