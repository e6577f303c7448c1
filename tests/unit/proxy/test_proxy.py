"""The collection of proxies: an update that is refused changes nothing, and a reset takes
every toxic away even when a proxy cannot listen again (a drill's clean-up relies on it)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from proxytest import Background, recv_exactly, start_background, stop_background


@pytest.fixture(scope="module")
def own_server() -> Iterator[Background]:
    # A server of its own: reset touches every proxy.
    bg, thread = start_background()
    yield bg
    stop_background(bg, thread)


@pytest.fixture
def api(own_server: Background) -> Iterator[str]:
    yield own_server.api
    for name in requests.get(f"{own_server.api}/proxies", timeout=5).json():
        requests.delete(f"{own_server.api}/proxies/{name}", timeout=5)


def _create(api: str, own_server: Background, name: str) -> dict[str, Any]:
    body = {"name": name, "listen": "127.0.0.1:0", "upstream": own_server.echo_address}
    response = requests.post(f"{api}/proxies", json=body, timeout=5)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _toxic(api: str, name: str) -> None:
    body = {"type": "latency", "attributes": {"latency": 1}}
    response = requests.post(f"{api}/proxies/{name}/toxics", json=body, timeout=5)
    assert response.status_code == 200, response.text


def _show(api: str, name: str) -> dict[str, Any]:
    shown: dict[str, Any] = requests.get(f"{api}/proxies/{name}", timeout=5).json()
    return shown


def _echoes(listen: str) -> bool:
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"ok")
        return recv_exactly(sock, 2) == b"ok"


def test_a_bad_listen_update_changes_nothing(api: str, own_server: Background) -> None:
    _create(api, own_server, "a")
    _toxic(api, "a")
    before = _show(api, "a")
    response = requests.post(f"{api}/proxies/a", json={"listen": "localhost"}, timeout=5)
    assert response.status_code == 400
    assert "missing port" in response.json()["error"]
    assert _show(api, "a") == before  # still enabled, same address, same toxic
    assert _echoes(before["listen"])
    assert requests.post(f"{api}/reset", timeout=5).status_code == 204


def test_an_update_to_a_taken_port_goes_back(api: str, own_server: Background) -> None:
    a = _create(api, own_server, "a")
    b = _create(api, own_server, "b")
    response = requests.post(f"{api}/proxies/a", json={"listen": b["listen"]}, timeout=5)
    assert response.status_code == 500  # the machine's refusal, passed on as Toxiproxy does
    assert "address already in use" in response.json()["error"]
    assert _show(api, "a") == a
    assert _echoes(a["listen"])


def test_reset_removes_every_toxic_even_if_a_proxy_cannot_listen(
    api: str, own_server: Background
) -> None:
    stuck = _create(api, own_server, "stuck")
    _create(api, own_server, "fine")
    _toxic(api, "stuck")
    _toxic(api, "fine")
    requests.post(f"{api}/proxies/stuck", json={"enabled": False}, timeout=5)
    host, port = stuck["listen"].rsplit(":", 1)
    with socket.create_server((host, int(port))):  # someone else takes its port meanwhile
        response = requests.post(f"{api}/reset", timeout=5)
        assert response.status_code == 500
        body = response.json()
        assert body["status"] == 500
        assert "every toxic was removed" in body["error"] and "proxy stuck" in body["error"]
        assert _show(api, "fine")["toxics"] == [] and _show(api, "fine")["enabled"]
        assert _show(api, "stuck")["toxics"] == [] and not _show(api, "stuck")["enabled"]
    assert requests.post(f"{api}/reset", timeout=5).status_code == 204
    assert _show(api, "stuck")["enabled"]
    assert _echoes(stuck["listen"])
