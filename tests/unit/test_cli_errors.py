"""The CLI's promise: one clear message and a non-zero exit, never a traceback."""

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


def gameday(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gameday", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_no_docker_engine_is_one_clear_message_and_exit_3(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    done = gameday("status", env=env)
    assert done.returncode == 3
    assert "gameday: error: no Docker engine answers" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_unreadable_compose_file_is_bad_input_exit_2(tmp_path: Path) -> None:
    done = gameday("up", "--check", "--compose-file", str(tmp_path / "missing.yml"))
    assert done.returncode == 2
    assert f"{tmp_path / 'missing.yml'}: cannot read the compose file" in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_command_is_a_usage_error() -> None:
    done = gameday("explode")
    assert done.returncode == 2
    assert "No such command 'explode'" in done.stderr


# -- gameday proxy serve: what it cannot start with is one line, exit 2 or 3 --------------

PROXY_CASES = {
    # case: (arguments, exit code, what the one line says)
    "port too large": (["--port", "99999"], 2, "API port 99999 is out of range"),
    "negative port": (["--port", "-1"], 2, "API port -1 is out of range"),
    "port in use": (["--port", "{taken}"], 3, "Address already in use"),
    "address not local": (
        ["--host", "203.0.113.5", "--allow-remote"],
        3,
        "cannot listen on 203.0.113.5:0: Cannot assign requested address",
    ),
    "beyond loopback": (["--host", "0.0.0.0"], 2, "--allow-remote"),
    "bad JSON": (["--config", "{dir}/bad.json"], 2, "bad.json: invalid JSON at line 1 column 2"),
    "binary": (["--config", "{dir}/binary.json"], 2, "binary.json: not UTF-8 text"),
    "an object": (["--config", "{dir}/object.json"], 2, "object.json: expected a JSON list"),
    "missing file": (["--config", "{dir}/none.json"], 2, "none.json: cannot read it"),
    "listen in use": (["--config", "{dir}/in-use.json"], 3, "bind: address already in use"),
}


@pytest.fixture(scope="module")
def proxy_configs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The folder of the config files of PROXY_CASES, and a port that is taken."""
    folder = tmp_path_factory.mktemp("proxy-config")
    with socket.create_server(("127.0.0.1", 0)) as squatter:
        taken = squatter.getsockname()[1]
        write_proxy_configs(folder, taken)
        yield {"dir": str(folder), "taken": str(taken)}


@pytest.fixture
def watchdog() -> Iterator[None]:
    """In-process runs of a server: if one did start, fail instead of serving for ever."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise AssertionError("the server started and kept running")

    previous = signal.signal(signal.SIGALRM, expire)
    sigterm = signal.getsignal(signal.SIGTERM)  # gameday.cli.main replaces it
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
    signal.signal(signal.SIGTERM, sigterm)


@pytest.mark.usefixtures("watchdog")
@pytest.mark.parametrize("case", PROXY_CASES)
def test_proxy_serve_that_cannot_start_says_why_in_one_line(
    case: str, proxy_configs: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from gameday.cli import main

    args, exit_code, says = PROXY_CASES[case]
    with pytest.raises(SystemExit) as exited:
        main(["proxy", "serve", "--port", "0", *(arg.format(**proxy_configs) for arg in args)])
    stderr = capsys.readouterr().err
    assert exited.value.code == exit_code, stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("gameday: error: "), stderr
    assert says in errors[0]


def test_proxy_serve_with_a_bad_port_is_one_line_in_a_real_process() -> None:
    done = gameday("proxy", "serve", "--port", "99999")
    assert done.returncode == 2
    assert done.stderr == "gameday: error: API port 99999 is out of range: it must be 0..65535\n"


def write_proxy_configs(folder: Path, taken: int) -> None:
    (folder / "bad.json").write_text("{bad")
    (folder / "binary.json").write_bytes(b"\xff\xfe\x00\x01binary")
    (folder / "object.json").write_text('{"name": "a"}')
    in_use = [{"name": "a", "listen": f"127.0.0.1:{taken}", "upstream": "postgres:5432"}]
    (folder / "in-use.json").write_text(json.dumps(in_use))
