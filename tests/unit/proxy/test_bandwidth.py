"""bandwidth holds the transfer to its rate (KB/s, 1 KB = 1000 bytes) within 10%."""

from __future__ import annotations

import socket
import threading
import time

from proxytest import ProxyUnderTest, recv_exactly


def test_downstream_rate_is_held_within_ten_percent(proxy: ProxyUnderTest) -> None:
    rate_kb_s = 600
    size = 600_000  # one second at the rate
    proxy.add_toxic("bandwidth", "downstream", rate=rate_kb_s)
    payload = b"b" * size
    with proxy.connect(timeout_s=10) as sock:
        started = time.monotonic()
        writer = threading.Thread(target=sock.sendall, args=(payload,))
        writer.start()
        assert recv_exactly(sock, size) == payload
        elapsed_s = time.monotonic() - started
        writer.join()
    expected_s = size / (rate_kb_s * 1000)
    assert abs(elapsed_s - expected_s) / expected_s < 0.10, elapsed_s


def test_upstream_toxic_does_not_slow_downstream_only(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("bandwidth", "upstream", rate=100)
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"y" * 20_000)
        sock.shutdown(socket.SHUT_WR)
        assert recv_exactly(sock, 20_000) == b"y" * 20_000
        assert 0.18 <= time.monotonic() - started < 0.30
