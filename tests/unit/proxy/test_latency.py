"""latency adds its delay, within jitter, in the direction it is set on."""

from __future__ import annotations

import time

from proxytest import Background, ProxyUnderTest, recv_exactly


def _round_trip_s(proxy: ProxyUnderTest, payload: bytes = b"ping") -> float:
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(payload)
        assert recv_exactly(sock, len(payload)) == payload
        return time.monotonic() - started


def test_downstream_latency_delays_the_answer(proxy: ProxyUnderTest) -> None:
    assert _round_trip_s(proxy) < 0.05
    proxy.add_toxic("latency", "downstream", latency=100)
    assert 0.100 <= _round_trip_s(proxy) < 0.160


def test_upstream_latency_delays_the_request_not_the_answer(
    proxy: ProxyUnderTest, background: Background
) -> None:
    proxy.add_toxic("latency", "upstream", latency=100)
    background.arrivals.clear()
    with proxy.connect() as sock:
        sent_at = time.monotonic()
        sock.sendall(b"ping")
        assert recv_exactly(sock, 4) == b"ping"
        answered_at = time.monotonic()
    arrived_at = background.arrivals[0][0]
    assert 0.100 <= arrived_at - sent_at < 0.160
    assert answered_at - arrived_at < 0.040


def test_jitter_stays_within_bounds(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("latency", "downstream", latency=60, jitter=30)
    trips = [_round_trip_s(proxy) for _ in range(12)]
    assert all(0.030 <= trip < 0.130 for trip in trips), trips
    assert max(trips) - min(trips) > 0.005  # jitter does vary the delay


def test_latency_counts_from_arrival_not_per_chunk(proxy: ProxyUnderTest) -> None:
    proxy.add_toxic("latency", "downstream", latency=100)
    with proxy.connect() as sock:
        started = time.monotonic()
        for _ in range(5):
            sock.sendall(b"x" * 10)
            time.sleep(0.005)
        assert recv_exactly(sock, 50) == b"x" * 50
        # Five chunks are delayed together, not 5 x 100 ms one after another.
        assert time.monotonic() - started < 0.250
