"""Bad input gets Toxiproxy's status code and a clear message; the server keeps serving."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from proxytest import Background, ProxyUnderTest, recv_exactly


@pytest.fixture
def survivor(proxy: ProxyUnderTest) -> Iterator[ProxyUnderTest]:
    """A proxy that must still serve after each bad request."""
    yield proxy
    with proxy.connect() as sock:
        sock.sendall(b"alive")
        assert recv_exactly(sock, 5) == b"alive"


def _post_toxic(proxy: ProxyUnderTest, body: Any) -> requests.Response:
    return requests.post(f"{proxy.api}/proxies/{proxy.name}/toxics", json=body, timeout=5)


def _error(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    message: str = body["error"]
    return message


def test_unknown_toxic_type(survivor: ProxyUnderTest) -> None:
    assert _error(_post_toxic(survivor, {"type": "teleport"}), 400) == "invalid toxic type"


def test_invalid_stream(survivor: ProxyUnderTest) -> None:
    response = _post_toxic(survivor, {"type": "latency", "stream": "sideways"})
    assert "stream was invalid" in _error(response, 400)


@pytest.mark.parametrize("value", ["100", 1.5, True, None, [1]])
def test_wrong_attribute_type(survivor: ProxyUnderTest, value: object) -> None:
    response = _post_toxic(survivor, {"type": "latency", "attributes": {"latency": value}})
    message = _error(response, 400)
    assert message.startswith("bad request body:") and "'latency'" in message


@pytest.mark.parametrize(
    ("type_", "attribute"),
    [
        ("latency", "latency"),
        ("latency", "jitter"),
        ("timeout", "timeout"),
        ("slow_close", "delay"),
        ("bandwidth", "rate"),
        ("limit_data", "bytes"),
    ],
)
def test_negative_values(survivor: ProxyUnderTest, type_: str, attribute: str) -> None:
    response = _post_toxic(survivor, {"type": type_, "attributes": {attribute: -1}})
    assert f"'{attribute}' must be >= 0" in _error(response, 400)


@pytest.mark.parametrize(
    ("type_", "attribute"),
    [("latency", "latency"), ("timeout", "timeout"), ("slow_close", "delay"), ("slicer", "delay")],
)
def test_values_beyond_int64_are_a_400(
    survivor: ProxyUnderTest, type_: str, attribute: str
) -> None:
    # 10**400 ms used to pass, and then fail on the first connection: ms / 1000 overflows.
    base = {"average_size": 1} if type_ == "slicer" else {}
    too_big = {**base, attribute: 10**400}
    response = _post_toxic(survivor, {"type": type_, "attributes": too_big})
    assert "must be <= 9223372036854775807" in _error(response, 400)
    largest = {**base, attribute: 2**63 - 1}
    allowed = _post_toxic(survivor, {"type": type_, "attributes": largest})
    assert allowed.status_code == 200, allowed.text
    requests.delete(f"{survivor.api}/proxies/{survivor.name}/toxics/{type_}_downstream", timeout=5)


def test_toxicity_out_of_range(survivor: ProxyUnderTest) -> None:
    response = _post_toxic(survivor, {"type": "latency", "toxicity": 1.5})
    assert "toxicity" in _error(response, 400)


def test_slicer_sizes_that_cannot_work(survivor: ProxyUnderTest) -> None:
    response = _post_toxic(survivor, {"type": "slicer", "attributes": {"average_size": 0}})
    assert "average_size" in _error(response, 400)


def test_duplicate_toxic(survivor: ProxyUnderTest) -> None:
    assert _post_toxic(survivor, {"type": "latency"}).status_code == 200
    assert _error(_post_toxic(survivor, {"type": "latency"}), 409) == "toxic already exists"


def test_toxic_on_missing_proxy(background: Background) -> None:
    response = requests.post(f"{background.api}/proxies/ghost/toxics", json={}, timeout=5)
    assert _error(response, 404) == "proxy not found"


def test_duplicate_proxy(survivor: ProxyUnderTest, background: Background) -> None:
    body = {"name": survivor.name, "listen": "127.0.0.1:0", "upstream": background.echo_address}
    response = requests.post(f"{background.api}/proxies", json=body, timeout=5)
    assert _error(response, 409) == "proxy already exists"


def test_listen_address_in_use(survivor: ProxyUnderTest, background: Background) -> None:
    body = {
        "name": "squatter",
        "listen": f"127.0.0.1:{survivor.port}",
        "upstream": background.echo_address,
    }
    response = requests.post(f"{background.api}/proxies", json=body, timeout=5)
    message = _error(response, 500)  # Toxiproxy passes the listen error through as 500
    assert "address already in use" in message and str(survivor.port) in message
    assert requests.get(f"{background.api}/proxies/squatter", timeout=5).status_code == 404


@pytest.mark.parametrize("path", ["/proxies", "/populate", "/proxies/{name}/toxics"])
def test_malformed_json(survivor: ProxyUnderTest, path: str) -> None:
    url = survivor.api + path.format(name=survivor.name)
    response = requests.post(url, data=b"{not json", timeout=5)
    assert _error(response, 400).startswith("bad request body:")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"upstream": "127.0.0.1:1"}, "name"), ({"name": "x"}, "upstream")],
)
def test_missing_fields(background: Background, body: dict[str, str], field: str) -> None:
    response = requests.post(f"{background.api}/proxies", json=body, timeout=5)
    assert _error(response, 400) == f"missing required field: {field}"


def test_populate_error_keeps_body_shape(background: Background) -> None:
    response = requests.post(f"{background.api}/populate", json=[{"name": "x"}], timeout=5)
    assert response.status_code == 400
    assert response.json() == {
        "error": "missing required field: upstream at proxy 1",
        "status": 400,
        "proxies": [],
    }


def test_unreachable_upstream_closes_the_client(background: Background) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    body = {"name": "dead-end", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{dead}"}
    created = requests.post(f"{background.api}/proxies", json=body, timeout=5).json()
    port = int(created["listen"].rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        assert sock.recv(10) == b""
    requests.delete(f"{background.api}/proxies/dead-end", timeout=5)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"listen": "0.0.0.0:0"}, "--allow-remote"),
        ({"listen": "[::]:0"}, "--allow-remote"),
        ({"listen": "127.0.0.1:99999"}, "0..65535"),
        ({"upstream": "203.0.113.5:5432"}, "--allow-public-upstreams"),
        ({"upstream": "127.0.0.1"}, "missing port"),
        ({"name": "x" * 100_000}, "longer than 255"),
        ({"name": "a/b"}, "slash"),
    ],
)
def test_unsafe_or_invalid_proxies_are_refused(
    background: Background, change: dict[str, str], reason: str
) -> None:
    body = {"name": "unsafe", "listen": "127.0.0.1:0", "upstream": background.echo_address}
    body.update(change)
    response = requests.post(f"{background.api}/proxies", json=body, timeout=5)
    assert reason in _error(response, 400)
    assert len(response.content) < 500  # a 100,000-character name is not echoed back
    assert "unsafe" not in requests.get(f"{background.api}/proxies", timeout=5).json()


def test_a_toxic_name_with_a_slash_is_refused(survivor: ProxyUnderTest) -> None:
    response = _post_toxic(survivor, {"type": "latency", "name": "a/b"})
    assert "slash" in _error(response, 400)


@pytest.mark.parametrize("path", ["/proxies", "/populate", "/proxies/{name}/toxics"])
def test_deeply_nested_json_is_a_400(survivor: ProxyUnderTest, path: str) -> None:
    url = survivor.api + path.format(name=survivor.name)
    response = requests.post(url, data=b"[" * 100_000 + b"]" * 100_000, timeout=5)
    assert "nested too deeply" in _error(response, 400)


def test_a_broken_chunked_body_is_a_400(survivor: ProxyUnderTest) -> None:
    port = int(survivor.api.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"zz\r\n{}\r\n0\r\n\r\n"
        )
        head, _, body = _read_response(sock).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request"), head
    assert b"application/json" in head
    assert json.loads(body)["status"] == 400


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),  # a TLS hello
    ],
)
def test_what_is_not_http_gets_a_json_400_and_no_traceback(
    survivor: ProxyUnderTest, request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    port = int(survivor.api.rsplit(":", 1)[1])
    with caplog.at_level(logging.DEBUG), socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(request_bytes)
        head, _, body = _read_response(sock).partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request"), head
    assert b"application/json" in head
    error = json.loads(body)
    assert error["status"] == 400 and error["error"].startswith("bad HTTP request")
    assert not [record for record in caplog.records if record.exc_info]


def test_populate_that_fails_part_way_lists_what_it_created(
    survivor: ProxyUnderTest, background: Background
) -> None:
    upstream = background.echo_address
    body = [
        {"name": "made", "listen": "127.0.0.1:0", "upstream": upstream},
        {"name": "blocked", "listen": f"127.0.0.1:{survivor.port}", "upstream": upstream},
        {"name": "never", "listen": "127.0.0.1:0", "upstream": upstream},
    ]
    response = requests.post(f"{background.api}/populate", json=body, timeout=5)
    try:
        assert response.status_code == 500, response.text
        answer = response.json()
        assert "address already in use" in answer["error"] and answer["status"] == 500
        assert [proxy["name"] for proxy in answer["proxies"]] == ["made"]
        listed = requests.get(f"{background.api}/proxies", timeout=5).json()
        assert "made" in listed and "blocked" not in listed and "never" not in listed
    finally:
        requests.delete(f"{background.api}/proxies/made", timeout=5)


def test_a_client_that_leaves_mid_body_is_no_traceback(
    survivor: ProxyUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    port = int(survivor.api.rsplit(":", 1)[1])
    with caplog.at_level(logging.DEBUG):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            time.sleep(0.2)  # the handler is reading the body now
        time.sleep(0.2)  # and learns that the client is gone
    assert not [record for record in caplog.records if record.exc_info]
