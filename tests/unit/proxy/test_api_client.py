"""Every call of toxiproxy-python against our server, as it would run against Toxiproxy."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
from proxytest import Background, recv_exactly, start_background, stop_background
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists


@pytest.fixture(scope="module")
def own_server() -> Iterator[Background]:
    # A server of its own: destroy_all and reset touch every proxy.
    bg, thread = start_background()
    yield bg
    stop_background(bg, thread)


@pytest.fixture
def client(own_server: Background) -> Iterator[Toxiproxy]:
    saved = APIConsumer.host, APIConsumer.port
    APIConsumer.host, APIConsumer.port = "127.0.0.1", own_server.server.api_port
    toxiproxy = Toxiproxy()
    yield toxiproxy
    toxiproxy.destroy_all()
    APIConsumer.host, APIConsumer.port = saved


def _echo(listen: str, payload: bytes = b"hi") -> bytes:
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        return recv_exactly(sock, len(payload))


def test_running_and_version(client: Toxiproxy) -> None:
    assert client.running()
    assert json.loads(client.version())["version"].startswith("2.")


def test_create_list_get_destroy(client: Toxiproxy, own_server: Background) -> None:
    proxy = client.create(upstream=own_server.echo_address, name="db")
    assert proxy.name == "db" and proxy.enabled is True
    assert proxy.upstream == own_server.echo_address
    assert proxy.listen.startswith("127.0.0.1:") and not proxy.listen.endswith(":0")
    assert _echo(proxy.listen) == b"hi"
    assert set(client.proxies()) == {"db"}
    assert client.get_proxy("db").listen == proxy.listen
    assert client.get_proxy("nope") is None
    assert client.destroy(proxy) is True
    assert client.proxies() == {}


def test_create_twice_raises_proxy_exists(client: Toxiproxy, own_server: Background) -> None:
    client.create(upstream=own_server.echo_address, name="dup")
    with pytest.raises(ProxyExists):
        client.create(upstream=own_server.echo_address, name="dup")


def test_populate_creates_and_keeps(client: Toxiproxy, own_server: Background) -> None:
    specs = [
        {"name": "a", "listen": "127.0.0.1:0", "upstream": own_server.echo_address},
        {"name": "b", "listen": "127.0.0.1:0", "upstream": own_server.echo_address},
    ]
    created = client.populate(specs)
    assert sorted(p.name for p in created) == ["a", "b"]
    assert all(_echo(p.listen) == b"hi" for p in created)


def test_toxics_add_list_get_destroy(client: Toxiproxy, own_server: Background) -> None:
    proxy = client.create(upstream=own_server.echo_address, name="tox")
    proxy.add_toxic(type="latency", attributes={"latency": 50, "jitter": 5})
    proxy.add_toxic(type="bandwidth", stream="upstream", name="slow", attributes={"rate": 9})
    toxics = proxy.toxics()
    assert set(toxics) == {"latency_downstream", "slow"}
    latency = proxy.get_toxic("latency_downstream")
    assert latency.type == "latency" and latency.stream == "downstream"
    assert latency.toxicity == 1.0
    assert latency.attributes == {"latency": 50, "jitter": 5}
    assert proxy.get_toxic("missing") is None
    assert proxy.destroy_toxic("slow") is True
    assert set(proxy.toxics()) == {"latency_downstream"}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("slow")


def test_invalid_toxic_raises(client: Toxiproxy, own_server: Background) -> None:
    proxy = client.create(upstream=own_server.echo_address, name="bad")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")


def test_disable_enable_and_down(client: Toxiproxy, own_server: Background) -> None:
    proxy = client.create(upstream=own_server.echo_address, name="flappy")
    proxy.disable()
    assert client.get_proxy("flappy").enabled is False
    with pytest.raises(ConnectionRefusedError):
        _echo(proxy.listen)
    proxy.enable()
    assert _echo(proxy.listen) == b"hi"
    with proxy.down(), pytest.raises(ConnectionRefusedError):
        _echo(proxy.listen)
    assert _echo(proxy.listen) == b"hi"


def test_reset_enables_and_clears_toxics(client: Toxiproxy, own_server: Background) -> None:
    proxy = client.create(upstream=own_server.echo_address, name="resettable")
    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    proxy.disable()
    assert client.reset() is True
    again = client.get_proxy("resettable")
    assert again.enabled is True
    assert again.toxics() == {}
    assert _echo(again.listen) == b"hi"
