"""Data through a proxy with no toxics arrives byte-identical and in order; adding and
removing toxics while data flows may delay or close, never corrupt or reorder."""

from __future__ import annotations

import socket
import threading
import time

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxytest import ProxyUnderTest, recv_exactly, recv_until_closed

_proxy_settings = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _send_all_then_half_close(
    sock: socket.socket, pieces: list[bytes], pause_s: float = 0.0
) -> None:
    try:
        for piece in pieces:
            sock.sendall(piece)
            if pause_s:
                time.sleep(pause_s)
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # a toxic closed the connection: what arrived is checked by the reader


def test_echo_round_trip(proxy: ProxyUnderTest) -> None:
    with proxy.connect() as sock:
        sock.sendall(b"hello")
        assert recv_exactly(sock, 5) == b"hello"


def test_large_transfer_is_identical(proxy: ProxyUnderTest) -> None:
    payload = bytes(range(256)) * 16 * 1024  # 4 MiB, more than every buffer on the path
    with proxy.connect() as sock:
        writer = threading.Thread(target=_send_all_then_half_close, args=(sock, [payload]))
        writer.start()
        received = recv_until_closed(sock)
        writer.join()
    assert received == payload


@_proxy_settings
@given(pieces=st.lists(st.binary(min_size=1, max_size=70_000), min_size=1, max_size=8))
def test_any_stream_arrives_identical(proxy: ProxyUnderTest, pieces: list[bytes]) -> None:
    with proxy.connect() as sock:
        writer = threading.Thread(target=_send_all_then_half_close, args=(sock, pieces))
        writer.start()
        received = recv_until_closed(sock)
        writer.join()
    assert received == b"".join(pieces)


_toxics = st.sampled_from(
    [
        ("latency", {"latency": 3, "jitter": 2}),
        ("slicer", {"average_size": 64, "size_variation": 32, "delay": 10}),
        ("bandwidth", {"rate": 5000}),
        ("slow_close", {"delay": 5}),
        ("limit_data", {"bytes": 150_000}),
    ]
)


@_proxy_settings
@given(
    pieces=st.lists(st.binary(min_size=1, max_size=20_000), min_size=5, max_size=25),
    changes=st.lists(
        st.tuples(_toxics, st.sampled_from(["upstream", "downstream"])), min_size=1, max_size=4
    ),
)
def test_changing_toxics_while_data_flows_never_corrupts(
    proxy: ProxyUnderTest,
    pieces: list[bytes],
    changes: list[tuple[tuple[str, dict[str, int]], str]],
) -> None:
    sent = b"".join(pieces)
    with proxy.connect(timeout_s=10) as sock:
        # Pauses between pieces so that the toxics change while data is in flight.
        writer = threading.Thread(target=_send_all_then_half_close, args=(sock, pieces, 0.002))
        writer.start()
        added: list[str] = []
        for index, ((type_, attributes), stream) in enumerate(changes):
            name = f"t{index}"
            requests.post(
                f"{proxy.api}/proxies/{proxy.name}/toxics",
                json={"name": name, "type": type_, "stream": stream, "attributes": attributes},
                timeout=5,
            ).raise_for_status()
            added.append(name)
            if index % 2:
                proxy.remove_toxic(added.pop(0))
        for name in added:
            proxy.remove_toxic(name)
        try:
            received = recv_until_closed(sock)
        except ConnectionResetError:
            received = b""
        writer.join()
    # Toxics may delay or close early; what arrives is always a prefix of what was sent.
    assert sent.startswith(received)
    if not any(type_ == "limit_data" for (type_, _), _ in changes):
        assert received == sent
