"""The CLI's promise: one clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gameday.cli import main
from gameday.docker_engine import client


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


# -- in this process: what the CLI says when the machine or gameday itself fails -----------
#
# Every test here that names `run` or `build` also takes Docker away entirely (no `docker`
# on PATH, DOCKER_HOST at a socket that does not exist): were the check it tests missing,
# nothing could start a replica.

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "database-outage.yml"


@pytest.fixture(autouse=True)
def _keep_sigterm() -> Iterator[None]:
    """main() installs its SIGTERM handler; the test process keeps its own."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.fixture
def no_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    client.cache_clear()


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in this process: its exit status and what it wrote to stderr."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    return status, capsys.readouterr().err


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("[")]  # progress
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("command", [["build"], ["run", str(SCENARIO)]])
def test_no_docker_command_is_exit_3_saying_how_to_install_it(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    status, err = in_process(capsys, *command)
    assert status == 3
    line = one_line(err)
    assert line.startswith("gameday: error: no `docker` command on PATH")
    assert "install Docker" in line and "scripts/setup.sh" in line


@pytest.mark.usefixtures("no_docker")
@pytest.mark.parametrize("command", [["build"], ["run", str(SCENARIO)]])
def test_a_binary_compose_file_is_exit_2_expecting_utf8_yaml(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_bytes(b"services:\n\xff\xfe\x00\x89PNG\r\n")
    status, err = in_process(capsys, *command, "--compose-file", str(compose))
    assert status == 2
    assert one_line(err) == (
        f"gameday: error: {compose}: expected UTF-8 YAML, but byte 10 is not UTF-8 "
        "(is it a binary file?)"
    )


def test_k8s_plan_without_the_chaos_extra_is_exit_3_with_the_pip_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "chaosk8s", None)  # `import chaosk8s` now fails
    monkeypatch.setenv("GAMEDAY_K8S_ALLOWED_NAMESPACES", "shop-staging")
    status, err = in_process(capsys, "k8s", "plan", "--namespace", "shop-staging")
    assert status == 3
    line = one_line(err)
    assert "[chaos] extra" in line and "pip install 'gameday[chaos]'" in line
