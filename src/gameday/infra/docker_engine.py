"""The one place gameday opens a Docker client, and checks for the Docker CLI.

Everything else asks :func:`client` for it, so that "no engine" always ends in the same
clear :class:`~gameday.errors.DockerUnavailable`, never in a traceback from docker-py.
Compose (through testcontainers, and ``compose config``) runs the ``docker`` executable:
:func:`require_docker_cli` says so clearly where it is missing, before compose runs.
"""

from __future__ import annotations

import functools
import shutil

import docker
import docker.errors

from gameday.errors import DockerUnavailable

__all__ = ["client", "require_docker_cli"]

_CLI_HINT = (
    "gameday runs the replica with `docker compose`: install Docker with its Compose "
    "plugin, or run scripts/setup.sh (which installs both when run as root)"
)

_HINT = (
    "start one (for example `make setup`, which installs and starts dockerd when run as "
    "root), or point DOCKER_HOST at a running engine"
)


@functools.cache
def client() -> docker.DockerClient:
    """Return a Docker client that has answered a ping, or raise DockerUnavailable."""
    try:
        c = docker.from_env(timeout=120)
        c.ping()
    except docker.errors.DockerException as exc:
        raise DockerUnavailable(f"no Docker engine answers ({_short(exc)}): {_HINT}") from exc
    return c


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def require_docker_cli() -> str:
    """The path of the ``docker`` executable, or DockerUnavailable (exit 3) saying how
    to get it: without it every compose call fails with FileNotFoundError: 'docker'."""
    found = shutil.which("docker")
    if found is None:
        raise DockerUnavailable(f"no `docker` command on PATH: {_CLI_HINT}")
    return found
