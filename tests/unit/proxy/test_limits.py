"""The server's bounds, reached on a server whose limits are small: connections that send
no request are closed, a flood of them cannot lock the API, a body has a size and a
deadline, and the number of proxies is bounded. Every refusal is Toxiproxy's JSON."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests
from proxytest import Background, start_background, stop_background

from gameday.proxy.limits import Limits

LIMITS = Limits(
    max_proxies=3,
    max_body_bytes=4096,
    max_api_connections=8,
    header_timeout_s=0.3,
    body_timeout_s=0.3,
)


@pytest.fixture(scope="module")
def small() -> Iterator[Background]:
    bg, thread = start_background(limits=LIMITS)
    yield bg
    stop_background(bg, thread)


@pytest.fixture
def api(small: Background) -> Iterator[str]:
    yield small.api
    for name in requests.get(f"{small.api}/proxies", timeout=5).json():
        requests.delete(f"{small.api}/proxies/{name}", timeout=5)


def _connect(small: Background) -> socket.socket:
    return socket.create_connection(("127.0.0.1", small.server.api_port), timeout=5)


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:  # aborted: an RST rather than a FIN
        return True


def _answer(sock: socket.socket) -> tuple[int, dict[str, object]]:
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"application/json" in head, head
    return int(head.split()[1]), json.loads(body)


def test_connections_that_send_no_request_are_closed(small: Background) -> None:
    partial = [b"", b"GET /vers", b"POST /proxies HTTP/1.1\r\nHost: x\r\n"]
    socks = [_connect(small) for _ in partial]
    try:
        for sock, data in zip(socks, partial, strict=True):
            sock.sendall(data)
        started = time.monotonic()
        assert all(_closed_by_server(sock) for sock in socks)
        assert time.monotonic() - started < LIMITS.header_timeout_s + 2
    finally:
        for sock in socks:
            sock.close()


def test_a_kept_alive_connection_that_goes_quiet_is_closed(small: Background) -> None:
    with _connect(small) as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b"2.12.0" not in answer:  # the head and the body may come apart
            answer += sock.recv(65536)
        assert _closed_by_server(sock)


def test_a_flood_of_idle_connections_does_not_lock_the_api_out(small: Background) -> None:
    flood = [_connect(small) for _ in range(LIMITS.max_api_connections * 4)]
    try:
        response = requests.get(f"{small.api}/version", timeout=5)
        assert response.status_code == 200
    finally:
        for sock in flood:
            sock.close()


def test_a_body_that_does_not_come_is_a_408(small: Background) -> None:
    with _connect(small) as sock:
        sock.sendall(b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        status, body = _answer(sock)
    assert status == 408 and body["status"] == 408
    assert "not received within 0.3 s" in str(body["error"])


def test_a_body_too_large_is_a_413(api: str) -> None:
    too_large = b"[" + b"0," * LIMITS.max_body_bytes + b"0]"
    response = requests.post(f"{api}/populate", data=too_large, timeout=5)
    assert response.status_code == 413
    assert response.json()["error"] == "request body too large: at most 4096 bytes"

    def chunks() -> Iterator[bytes]:  # no Content-Length: aiohttp counts as it reads
        for _ in range(10):
            yield b" " * 1000

    response = requests.post(f"{api}/proxies", data=chunks(), timeout=5)
    assert response.status_code == 413 and response.json()["status"] == 413


def test_the_number_of_proxies_is_bounded(api: str, small: Background) -> None:
    def spec(name: str) -> dict[str, str]:
        return {"name": name, "listen": "127.0.0.1:0", "upstream": small.echo_address}

    for name in ("a", "b", "c"):
        assert requests.post(f"{api}/proxies", json=spec(name), timeout=5).status_code == 201
    refused = requests.post(f"{api}/proxies", json=spec("d"), timeout=5)
    assert refused.status_code == 400
    assert refused.json()["error"] == "too many proxies: the server holds at most 3"
    requests.delete(f"{api}/proxies/c", timeout=5)
    populate = requests.post(f"{api}/populate", json=[spec("a"), spec("x"), spec("y")], timeout=5)
    assert populate.status_code == 400 and populate.json()["proxies"] == []
    assert sorted(requests.get(f"{api}/proxies", timeout=5).json()) == ["a", "b"]
