"""The one place gameday opens a Docker client.

Everything else asks :func:`client` for it, so that "no engine" always ends in the same
clear :class:`~gameday.errors.DockerUnavailable`, never in a traceback from docker-py.
"""

from __future__ import annotations

import functools

import docker
import docker.errors

from gameday.errors import DockerUnavailable

__all__ = ["client"]

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
