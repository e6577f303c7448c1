"""The proxy in its real image (``gameday/proxy:<version>``, built by ``gameday build``): Debian
bookworm's Python 3.11.2 and python3-aiohttp 3.8, not the host's Python.

Two containers share a private network: the image as shipped (its own CMD) and, from the
same image, a tiny echo server as the upstream. The test reaches the proxy only through
ports published on 127.0.0.1. It creates a proxy through the API, checks that bytes come
back unchanged (the client speaks first, as a redis client does: this used to hang in the
image), then adds a latency toxic and checks that it delays them. Everything created here
carries gameday's ownership labels and is removed at the end, also on failure.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import docker
import docker.errors
import httpx
import pytest
from docker.models.containers import Container

import gameday

pytestmark = pytest.mark.docker

IMAGE = f"gameday/proxy:{gameday.__version__}"
LABELS = {
    "io.gameday.managed": "true",
    "io.gameday.run": "proxy-image-test",
    "io.gameday.lease": "manual",
}
API_PORT = 8474  # the image's CMD
LISTEN_PORT = 16379
ECHO_PORT = 7000
LATENCY_MS = 300

# The upstream: echoes every byte; says "ready" once it listens.
ECHO_SERVER = f"""
import asyncio

class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
    def data_received(self, data):
        self.transport.write(data)

async def main():
    await asyncio.get_running_loop().create_server(Echo, "0.0.0.0", {ECHO_PORT})
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""

T = TypeVar("T")


def _wait_for(what: str, check: Callable[[], T | None], timeout_s: float = 30.0) -> T:
    """Poll ``check`` until it returns something truthy; its errors count as not yet."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        else:
            if result:
                return result
            last = result
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout_s:g}s (last: {last!r})")


@dataclass
class ProxyContainer:
    container: Any
    api: httpx.Client
    listen_port: int  # the proxy's listener, published on 127.0.0.1

    def round_trip(self, payload: bytes) -> tuple[bytes, float]:
        """Connect, send ``payload`` at once (before the proxy can have dialled its upstream,
        as a redis client's PING is), and read the echo: what came back and how long."""
        with socket.create_connection(("127.0.0.1", self.listen_port), timeout=10) as sock:
            started = time.monotonic()
            writer = threading.Thread(target=_send, args=(sock, payload))
            writer.start()
            received = bytearray()
            while len(received) < len(payload):
                data = sock.recv(1 << 16)
                if not data:
                    break
                received += data
            elapsed = time.monotonic() - started
            writer.join()
        return bytes(received), elapsed

    def logs(self) -> str:
        return str(self.container.logs(tail=30).decode(errors="replace"))


def _send(sock: socket.socket, payload: bytes) -> None:
    with contextlib.suppress(OSError):  # the reader reports what went wrong
        sock.sendall(payload)


def _published_port(container: Any, port: int) -> int:
    container.reload()
    return int(container.ports[f"{port}/tcp"][0]["HostPort"])


@pytest.fixture(scope="module")
def proxy_container() -> Iterator[ProxyContainer]:
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"no Docker engine answers: {exc}")
    try:
        client.images.get(IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(f"{IMAGE} is missing: run `gameday build` first")

    run = uuid.uuid4().hex[:8]
    created: list[Any] = []  # removed in reverse order: containers, then the network
    try:
        network = client.networks.create(f"gd-proxy-image-test-{run}", labels=LABELS)
        created.append(network)
        common: dict[str, Any] = {"detach": True, "labels": LABELS, "network": network.name}
        echo = client.containers.run(
            IMAGE, ["python3", "-c", ECHO_SERVER], name=f"gd-proxy-image-echo-{run}", **common
        )
        created.append(echo)
        proxy = client.containers.run(
            IMAGE,  # its own CMD: the API on 0.0.0.0:8474
            name=f"gd-proxy-image-proxy-{run}",
            # Docker picks free host ports, on loopback only.
            ports={
                f"{API_PORT}/tcp": ("127.0.0.1", None),
                f"{LISTEN_PORT}/tcp": ("127.0.0.1", None),
            },
            **common,
        )
        created.append(proxy)
        _wait_for("echo upstream ready", lambda: b"ready" in echo.logs())
        api_port = _published_port(proxy, API_PORT)
        listen_port = _published_port(proxy, LISTEN_PORT)
        # trust_env=False: no proxy from the environment may come between us and loopback.
        with httpx.Client(
            base_url=f"http://127.0.0.1:{api_port}", timeout=10.0, trust_env=False
        ) as api:
            try:
                _wait_for("proxy API", lambda: api.get("/version").status_code == 200)
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}\nproxy logs:\n{proxy.logs(tail=30).decode()}"
                ) from None
            response = api.post(
                "/proxies",
                json={
                    "name": "echo",
                    "listen": f"0.0.0.0:{LISTEN_PORT}",
                    "upstream": f"{echo.name}:{ECHO_PORT}",
                },
            )
            assert response.status_code == 201, response.text
            yield ProxyContainer(proxy, api, listen_port)
    finally:
        for resource in reversed(created):
            with contextlib.suppress(docker.errors.NotFound):
                if isinstance(resource, Container):
                    resource.remove(force=True, v=True)
                else:
                    resource.remove()


def test_image_runs_debian_python(proxy_container: ProxyContainer) -> None:
    # The point of this module: the proxy's Python and aiohttp are Debian's, not the host's.
    code, output = proxy_container.container.exec_run(
        ["python3", "-c", "import sys, aiohttp; print(sys.version_info[:2], aiohttp.__version__)"]
    )
    assert code == 0, output.decode()
    assert output.decode().startswith("(3, "), output.decode()


def test_bytes_round_trip(proxy_container: ProxyContainer) -> None:
    for _ in range(5):
        received, elapsed = proxy_container.round_trip(b"PING\r\n")
        assert received == b"PING\r\n", proxy_container.logs()
        assert elapsed < LATENCY_MS / 1000
    payload = bytes(range(256)) * 4096  # 1 MiB: more than every buffer on the path
    received, _ = proxy_container.round_trip(payload)
    assert received == payload, proxy_container.logs()


def test_latency_toxic_delays_the_bytes(proxy_container: ProxyContainer) -> None:
    api = proxy_container.api
    response = api.post(
        "/proxies/echo/toxics",
        json={"type": "latency", "stream": "downstream", "attributes": {"latency": LATENCY_MS}},
    )
    assert response.status_code == 200, response.text
    try:
        received, elapsed = proxy_container.round_trip(b"PING\r\n")
        assert received == b"PING\r\n", proxy_container.logs()
        assert LATENCY_MS / 1000 <= elapsed < LATENCY_MS / 1000 + 1.0
    finally:
        deleted = api.delete(f"/proxies/echo/toxics/{response.json()['name']}")
        assert deleted.status_code == 204, deleted.text
    received, elapsed = proxy_container.round_trip(b"PING\r\n")
    assert received == b"PING\r\n"
    assert elapsed < LATENCY_MS / 1000
