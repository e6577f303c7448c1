"""Starting the server: where its API may listen, and what a bad start says."""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from gameday.proxy import ConfigError, run_server

FD_LIMIT = 64


def test_the_api_stays_on_loopback_unless_allowed() -> None:
    async def start() -> None:
        await run_server("0.0.0.0", 0)

    with pytest.raises(ConfigError, match=r"API address '0.0.0.0:0'.*--allow-remote"):
        asyncio.run(start())


def test_allow_remote_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    async def start_and_stop() -> str:
        server = await run_server("0.0.0.0", 0, allow_remote=True)
        await server.stop()
        return server.api_host

    with caplog.at_level(logging.WARNING, logger="gameday.proxy"):
        assert asyncio.run(start_and_stop()) == "0.0.0.0"
    assert "anyone who reaches it can change the proxies" in caplog.text


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def _wait_for_api(api: str) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(f"{api}/version", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def test_out_of_descriptors_the_log_has_a_line_not_a_flood(tmp_path: Path) -> None:
    # Connections beyond the process's descriptors: accept() fails with EMFILE on every
    # listener, every second. That used to be a traceback each time (57 MB a minute with
    # 10,000 proxies); now it is one line, and the API answers once the flood is gone.
    port = _free_port()
    log_file = tmp_path / "stderr.log"
    with log_file.open("w") as stderr_sink:  # a file, not a pipe: a pipe fills and blocks
        server = subprocess.Popen(
            [sys.executable, "-m", "gameday.proxy", "--port", str(port)],
            stderr=stderr_sink,
            preexec_fn=_few_descriptors,
        )
    api = f"http://127.0.0.1:{port}"
    flood: list[socket.socket] = []
    try:
        _wait_for_api(api)
        listens = []
        for index in range(5):
            body = {"name": f"p{index}", "upstream": f"127.0.0.1:{_free_port()}"}
            created = requests.post(f"{api}/proxies", json=body, timeout=5)
            assert created.status_code == 201, created.text
            listens.append(int(created.json()["listen"].rsplit(":", 1)[1]))
        for listen in listens:
            flood += [socket.create_connection(("127.0.0.1", listen)) for _ in range(FD_LIMIT)]
        time.sleep(2.5)  # asyncio retries accept() every second
        for sock in flood:
            sock.close()
        _wait_for_api(api)
    finally:
        for sock in flood:
            sock.close()
        server.terminate()
        server.wait(timeout=10)
    stderr = log_file.read_text()
    assert "Traceback" not in stderr
    assert stderr.count("cannot accept connections: Too many open files") == 1, stderr
    assert len(stderr.splitlines()) < 30, stderr
