"""The CLI's promise: one clear message and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
