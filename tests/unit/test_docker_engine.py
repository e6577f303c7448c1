"""The Docker CLI check: a missing `docker` says how to get it, before compose runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from gameday.errors import DockerUnavailable, EnvironmentProblem
from gameday.infra.docker_engine import require_docker_cli


def test_no_docker_on_path_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DockerUnavailable, match="no `docker` command on PATH") as caught:
        require_docker_cli()
    assert isinstance(caught.value, EnvironmentProblem) and caught.value.exit_code == 3
    assert "install Docker" in str(caught.value) and "scripts/setup.sh" in str(caught.value)


def test_the_docker_on_path_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert require_docker_cli() == str(docker)
