"""``python -m gameday.proxy`` fails as ``gameday proxy serve`` does: one line on stderr,
exit 2 for bad input and 3 for the machine, never a traceback."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from gameday.proxy.__main__ import main


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        yield squatter.getsockname()[1]


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """If a server did start, fail instead of serving for ever."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise AssertionError("the server started and kept running")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--port", "0", *argv])
    lines = capsys.readouterr().err.splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("gameday proxy: error: "), lines
    return code, errors[0]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--port", "99999"], "API port 99999 is out of range"),
        (["--port", "-1"], "API port -1 is out of range"),
        (["--host", "0.0.0.0"], "--allow-remote"),
        (["--host", "::"], "--allow-remote"),
    ],
)
def test_bad_options_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = _fails(argv, capsys)
    assert code == 2 and says in line


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{bad", "invalid JSON"),
        (b"\xff\xfe\x00\x01", "not UTF-8 text"),
        (b'{"name": "a"}', "expected a JSON list of proxies"),
    ],
)
def test_a_bad_config_exits_2(
    tmp_path: Path, content: bytes, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "proxies.json"
    config.write_bytes(content)
    code, line = _fails(["--config", str(config)], capsys)
    assert code == 2 and str(config) in line and says in line


def test_a_port_in_use_exits_3(taken: int, capsys: pytest.CaptureFixture[str]) -> None:
    code, line = _fails(["--port", str(taken)], capsys)
    assert code == 3 and f"cannot listen on 127.0.0.1:{taken}: Address already in use" in line


def test_a_listen_address_in_use_exits_3(
    tmp_path: Path, taken: int, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "proxies.json"
    spec = {"name": "a", "listen": f"127.0.0.1:{taken}", "upstream": "postgres:5432"}
    config.write_text(json.dumps([spec]))
    code, line = _fails(["--config", str(config)], capsys)
    assert code == 3
    assert f"listen tcp 127.0.0.1:{taken}: bind: address already in use" in line


def test_an_address_that_is_not_local_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, line = _fails(["--host", "203.0.113.5", "--allow-remote"], capsys)
    assert code == 3 and "Cannot assign requested address" in line


def test_in_a_real_process_there_is_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "proxies.json"
    config.write_text("[1, 2")
    done = subprocess.run(
        [sys.executable, "-m", "gameday.proxy", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"gameday proxy: error: proxies config {config}: invalid JSON")
    assert len(done.stderr.splitlines()) == 1
