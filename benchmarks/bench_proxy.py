"""Benchmark of gameday's network-fault proxy against direct loopback, in the same run.

Prints, for direct and proxied traffic (no toxics): round-trip latency per small request
(p50, p99, in microseconds) and what the proxy adds, bulk throughput (MB/s) and new
connections per second, with ratios. Not a test: run it by hand,

    .venv/bin/python benchmarks/bench_proxy.py [--quick]

Upstream servers and the proxy each run in their own process; all traffic is on
127.0.0.1 and every loop is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
SRC = Path(__file__).resolve().parent.parent / "src"


# --- upstream servers (run in a child process) -------------------------------------------


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


class _Sink(asyncio.BufferedProtocol):
    """Counts bytes; on EOF answers with the count (8 bytes) and closes."""

    def __init__(self) -> None:
        self.buffer = memoryview(bytearray(1 << 20))
        self.count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.count += nbytes

    def eof_received(self) -> bool:
        self.transport.write(self.count.to_bytes(8, "big"))
        return False


async def _run_upstreams() -> None:
    loop = asyncio.get_running_loop()
    echo = await loop.create_server(_Echo, HOST, 0)
    sink = await loop.create_server(_Sink, HOST, 0)
    ports = [echo.sockets[0].getsockname()[1], sink.sockets[0].getsockname()[1]]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin


# --- measurements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    p50_us: float
    p99_us: float
    throughput_mb_s: float
    connections_per_s: float


def _round_trips_us(port: int, count: int, size: int = 64) -> list[float]:
    payload = b"r" * size
    samples = []
    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for index in range(count + 200):
            started = time.perf_counter_ns()
            sock.sendall(payload)
            got = 0
            while got < size:
                got += len(sock.recv(size - got))
            if index >= 200:  # the first requests warm caches up
                samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def _throughput_mb_s(port: int, total_mb: int) -> float:
    block = b"\x5a" * (1 << 20)
    with socket.create_connection((HOST, port)) as sock:
        started = time.perf_counter()
        for _ in range(total_mb):
            sock.sendall(block)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while len(answer) < 8:
            chunk = sock.recv(8 - len(answer))
            if not chunk:
                break
            answer += chunk
        elapsed = time.perf_counter() - started
    received = int.from_bytes(answer, "big")
    assert received == total_mb << 20, f"sink got {received} bytes"
    return total_mb * 1.048576 / elapsed


def _connections_per_s(port: int, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        with socket.create_connection((HOST, port)) as sock:
            sock.sendall(b"c")
            assert sock.recv(1) == b"c"
    return count / (time.perf_counter() - started)


def _measure(echo_port: int, sink_port: int, quick: bool) -> Figures:
    samples = _round_trips_us(echo_port, 2000 if quick else 10_000)
    quantiles = statistics.quantiles(samples, n=100)
    return Figures(
        p50_us=statistics.median(samples),
        p99_us=quantiles[98],
        throughput_mb_s=_throughput_mb_s(sink_port, 256 if quick else 1024),
        connections_per_s=_connections_per_s(echo_port, 500 if quick else 2000),
    )


# --- processes and proxy API ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _api(url: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def _start_proxy(api_port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    cmd = [sys.executable, "-m", "gameday.proxy", "--host", HOST, "--port", str(api_port)]
    process = subprocess.Popen([*cmd, "--log-level", "WARNING"], env=env)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, api_port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the proxy did not start within 10 s")


def _listen_port(proxy: dict[str, object]) -> int:
    return int(str(proxy["listen"]).rsplit(":", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, smaller transfer")
    args = parser.parse_args()

    upstreams = subprocess.Popen(
        [sys.executable, __file__, "--upstreams"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert upstreams.stdout is not None and upstreams.stdin is not None
    echo_port, sink_port = json.loads(upstreams.stdout.readline())
    api_port = _free_port()
    proxy = _start_proxy(api_port)
    try:
        api = f"http://{HOST}:{api_port}"
        proxied_echo = _api(
            f"{api}/proxies",
            {"name": "echo", "listen": f"{HOST}:0", "upstream": f"{HOST}:{echo_port}"},
        )
        proxied_sink = _api(
            f"{api}/proxies",
            {"name": "sink", "listen": f"{HOST}:0", "upstream": f"{HOST}:{sink_port}"},
        )
        direct = _measure(echo_port, sink_port, args.quick)
        proxied = _measure(_listen_port(proxied_echo), _listen_port(proxied_sink), args.quick)
    finally:
        proxy.terminate()
        proxy.wait(10)
        upstreams.stdin.close()
        upstreams.wait(10)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, loopback {HOST}")
    print(f"{'':28}{'direct':>12}{'proxied':>12}{'added/ratio':>14}")
    print(
        f"{'round trip p50 (us)':28}{direct.p50_us:12.1f}{proxied.p50_us:12.1f}"
        f"{proxied.p50_us - direct.p50_us:+14.1f}"
    )
    print(
        f"{'round trip p99 (us)':28}{direct.p99_us:12.1f}{proxied.p99_us:12.1f}"
        f"{proxied.p99_us - direct.p99_us:+14.1f}"
    )
    print(
        f"{'throughput (MB/s)':28}{direct.throughput_mb_s:12.0f}"
        f"{proxied.throughput_mb_s:12.0f}"
        f"{proxied.throughput_mb_s / direct.throughput_mb_s:14.2f}"
    )
    print(
        f"{'new connections per s':28}{direct.connections_per_s:12.0f}"
        f"{proxied.connections_per_s:12.0f}"
        f"{proxied.connections_per_s / direct.connections_per_s:14.2f}"
    )
    added_p50 = proxied.p50_us - direct.p50_us
    ratio = proxied.throughput_mb_s / direct.throughput_mb_s
    print(
        f"goal p50 added < 150 us: {'met' if added_p50 < 150 else 'NOT met'}; "
        f"goal throughput >= 0.5x direct: {'met' if ratio >= 0.5 else 'NOT met'}"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--upstreams"]:
        asyncio.run(_run_upstreams())
    else:
        main()
