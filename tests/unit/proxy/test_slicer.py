"""slicer splits each write into pieces of average_size +/- size_variation bytes."""

from __future__ import annotations

import time

from proxytest import Background, ProxyUnderTest, recv_exactly


def test_upstream_writes_arrive_in_slices(proxy: ProxyUnderTest, background: Background) -> None:
    proxy.add_toxic("slicer", "upstream", average_size=10, size_variation=4, delay=3000)
    background.arrivals.clear()
    payload = bytes(range(200))
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        elapsed_s = time.monotonic() - started
    sizes = [size for _, size in background.arrivals]
    assert sum(sizes) == len(payload)
    # The 3 ms pauses keep the pieces apart, so the upstream sees each one on its own.
    assert len(sizes) >= 12
    assert max(sizes) <= 14
    assert elapsed_s >= 12 * 0.003
