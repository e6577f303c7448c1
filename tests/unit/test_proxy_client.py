"""gameday's proxy adapter against a real instance of gameday's proxy on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from toxiproxy.api import APIConsumer

from gameday.errors import ProxyError
from gameday.infra.proxy_client import (
    PROXY_URL_ENV,
    ProxyClient,
    ProxyConflict,
    ProxyInfo,
    ProxyNotFound,
    ProxyRejected,
    ProxyUnreachable,
)
from gameday.proxy import RunningServer, run_server


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[RunningServer, str]]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[RunningServer, str]:
        running = await run_server("127.0.0.1", 0, seed=7)
        echo = await asyncio.get_running_loop().create_server(_Echo, "127.0.0.1", 0)
        return running, f"127.0.0.1:{echo.sockets[0].getsockname()[1]}"

    running, echo = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield running, echo
    asyncio.run_coroutine_threadsafe(running.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@pytest.fixture
def client(server: tuple[RunningServer, str]) -> Iterator[ProxyClient]:
    proxy_client = ProxyClient(server[0].api_url, timeout_s=2)
    yield proxy_client
    for name in proxy_client.proxies():
        proxy_client.destroy(name)


@pytest.fixture
def echo(server: tuple[RunningServer, str]) -> str:
    return server[1]


def _round_trip_s(listen: str) -> float:
    host, port = listen.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(b"ping")
        assert sock.recv(4) == b"ping"
        return time.monotonic() - started


def test_create_get_list_destroy(client: ProxyClient, echo: str) -> None:
    created = client.create("api", echo)
    assert created.name == "api" and created.enabled and created.upstream == echo
    assert client.get("api") == created
    assert client.proxies() == {"api": created}
    client.destroy("api")
    with pytest.raises(ProxyNotFound):
        client.get("api")


def test_version(client: ProxyClient) -> None:
    assert client.version().startswith("2.")


def test_errors_are_proxy_errors(client: ProxyClient, echo: str) -> None:
    client.create("dup", echo)
    with pytest.raises(ProxyConflict):
        client.create("dup", echo)
    with pytest.raises(ProxyNotFound):
        client.add_toxic("ghost", "latency")
    with pytest.raises(ProxyRejected, match="invalid toxic type"):
        client.add_toxic("dup", "teleport")
    with pytest.raises(ProxyRejected, match="must be >= 0"):
        client.add_toxic("dup", "latency", attributes={"latency": -5})
    client.add_toxic("dup", "latency")
    with pytest.raises(ProxyConflict, match="toxic already exists"):
        client.add_toxic("dup", "latency")
    assert issubclass(ProxyConflict, ProxyError)


def test_server_error_is_a_proxy_error(client: ProxyClient, echo: str) -> None:
    taken = client.create("first", echo)
    with pytest.raises(ProxyRejected, match="address already in use"):
        client.create("second", echo, listen=taken.listen)


def test_toxic_context_adds_and_always_removes(client: ProxyClient, echo: str) -> None:
    proxy = client.create("slow", echo)
    with client.toxic("slow", "latency", attributes={"latency": 80}) as toxic:
        assert toxic.attributes == {"latency": 80, "jitter": 0}
        assert [t.name for t in client.toxics("slow")] == ["latency_downstream"]
        assert _round_trip_s(proxy.listen) >= 0.080
    assert client.toxics("slow") == []
    assert _round_trip_s(proxy.listen) < 0.05

    with pytest.raises(RuntimeError), client.toxic("slow", "timeout", "upstream"):
        raise RuntimeError("the drill failed")
    assert client.toxics("slow") == []


def test_toxic_context_survives_a_reset_inside(client: ProxyClient, echo: str) -> None:
    client.create("r", echo)
    with client.toxic("r", "latency"):
        client.reset()
    assert client.toxics("r") == []


def test_disable_context(client: ProxyClient, echo: str) -> None:
    proxy = client.create("down", echo)
    with client.disable("down"):
        assert client.get("down").enabled is False
        with pytest.raises(ConnectionRefusedError):
            _round_trip_s(proxy.listen)
    assert client.get("down").enabled is True
    with pytest.raises(KeyError), client.disable("down"):
        raise KeyError("boom")
    assert client.get("down").enabled is True


def test_reset(client: ProxyClient, echo: str) -> None:
    client.create("x", echo)
    client.add_toxic("x", "latency")
    client.set_enabled("x", False)
    client.reset()
    assert client.get("x").enabled is True
    assert client.toxics("x") == []


def test_populate(client: ProxyClient, echo: str) -> None:
    created = client.populate([ProxyInfo("p1", "127.0.0.1:0", echo, True)])
    assert [p.name for p in created] == ["p1"]


def test_two_clients_do_not_share_host_and_port(
    server: tuple[RunningServer, str], echo: str
) -> None:
    good = ProxyClient(server[0].api_url, timeout_s=2)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = probe.getsockname()[1]
    bad = ProxyClient(f"http://127.0.0.1:{nobody}", timeout_s=1)
    saved = APIConsumer.host, APIConsumer.port
    with pytest.raises(ProxyUnreachable):
        bad.proxies()
    assert isinstance(good.proxies(), dict)
    assert (APIConsumer.host, APIConsumer.port) == saved  # nothing leaks process-wide


def test_timeout_applies(echo: str) -> None:
    # A listener that accepts and never answers: the call must give up, not hang.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = ProxyClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout_s=0.3)
        started = time.monotonic()
        with pytest.raises(ProxyUnreachable):
            client.proxies()
        assert time.monotonic() - started < 2


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PROXY_URL_ENV, "http://127.0.0.1:9999")
    client = ProxyClient.from_env()
    assert (client.host, client.port) == ("127.0.0.1", 9999)
    with pytest.raises(ProxyError):
        ProxyClient("ftp://nowhere")
