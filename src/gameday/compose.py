"""The replica's compose project: which file, which project name, which variables.

A :class:`ComposeProject` turns one run into the arguments of testcontainers'
``DockerCompose``: the compose file, and a per-run env file that sets
``COMPOSE_PROJECT_NAME`` and the ``GAMEDAY_*`` variables the compose file reads. Two runs
never share a project name, so two replicas can run side by side.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from testcontainers.compose import DockerCompose

from gameday import __version__
from gameday.docker_engine import require_docker_cli
from gameday.errors import ComposeFileError

__all__ = ["DEFAULT_COMPOSE_FILE", "PUBLISHED", "REQUIRED_SERVICES", "ComposeProject"]

DEFAULT_COMPOSE_FILE = Path(__file__).parent / "stack" / "docker-compose.drill.yml"
BASE_IMAGE = "gameday-base:bookworm"
# A drill needs these to inject load and watch detection; other services are free.
REQUIRED_SERVICES = ("gateway", "prometheus", "alertmanager")

# The services the host may talk to, and their container ports: the compose file
# publishes each on 127.0.0.1 at ${GAMEDAY_PORT_<SERVICE>}.
PUBLISHED = {
    "gateway": 8080,
    "prometheus": 9090,
    "alertmanager": 9093,
    "proxy": 8474,
    "backend-1": 8000,
    "backend-2": 8000,
}


def _port_variable(service: str) -> str:
    return "GAMEDAY_PORT_" + service.upper().replace("-", "_")


def _free_ports(count: int) -> list[int]:
    """``count`` different ports on 127.0.0.1 that nothing listens on now.

    The sockets stay open until all are chosen: closed one by one, the kernel may hand
    out the same port twice.
    """
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            probe = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            probe.bind(("127.0.0.1", 0))
            ports.append(int(probe.getsockname()[1]))
        return ports


# Ryuk (testcontainers' reaper) is an image pull, which fails offline; gameday reaps by
# label instead (ownership.py). Inside a container-like sandbox testcontainers would also
# guess the bridge gateway as host: all our traffic must go to 127.0.0.1.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_HOST_OVERRIDE", "localhost")


@dataclass
class ComposeProject:
    """One replica's compose project."""

    run_id: str
    lease: str
    compose_file: Path = DEFAULT_COMPOSE_FILE
    image_tag: str = __version__
    extra_env: dict[str, str] = field(default_factory=dict)
    # Compose files merged over ``compose_file`` (a fault's broken release, for example);
    # ``config`` reads them, testcontainers' ``docker_compose`` does not.
    override_files: list[Path] = field(default_factory=list)
    # Host ports on 127.0.0.1, chosen once per replica: a restarted container keeps its
    # address, so a drill that restarts the gateway does not lose it (Docker would pick a
    # new random port at every start).
    ports: dict[str, int] = field(default_factory=dict)
    _env_dir: Path | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"gameday-{self.run_id}"

    def variables(self) -> dict[str, str]:
        return {
            "COMPOSE_PROJECT_NAME": self.name,
            "GAMEDAY_RUN_ID": self.run_id,
            "GAMEDAY_LEASE": self.lease,
            "GAMEDAY_IMAGE_TAG": self.image_tag,
            "GAMEDAY_BASE_IMAGE": os.environ.get("GAMEDAY_BASE_IMAGE", BASE_IMAGE),
            **{_port_variable(service): str(port) for service, port in self.host_ports().items()},
            **self.extra_env,
        }

    def host_ports(self) -> dict[str, int]:
        """The 127.0.0.1 port of each published service (chosen now if not yet)."""
        missing = [service for service in PUBLISHED if service not in self.ports]
        self.ports.update(zip(missing, _free_ports(len(missing)), strict=True))
        return self.ports

    def env_file(self) -> Path:
        if self._env_dir is None:
            self._env_dir = Path(tempfile.mkdtemp(prefix=f"gameday-{self.run_id}-"))
        path = self._env_dir / "drill.env"
        self._write_env(path)
        return path

    def _write_env(self, path: Path) -> None:
        path.write_text("".join(f"{k}={v}\n" for k, v in self.variables().items()))

    def docker_compose(self) -> DockerCompose:
        """testcontainers' DockerCompose for this project (images are built beforehand)."""
        self.check_file()
        require_docker_cli()
        return DockerCompose(
            context=str(self.compose_file.parent),
            compose_file_name=self.compose_file.name,
            env_file=str(self.env_file()),
            wait=False,
            build=False,
        )

    def check_file(self) -> None:
        try:
            text = self.compose_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ComposeFileError(
                f"{self.compose_file}: cannot read the compose file ({exc.strerror})"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ComposeFileError(
                f"{self.compose_file}: expected UTF-8 YAML, but byte {exc.start} is not "
                "UTF-8 (is it a binary file?)"
            ) from exc
        if not text.strip():
            raise ComposeFileError(f"{self.compose_file}: the compose file is empty")

    def config(self) -> dict[str, Any]:
        """The compose file as Compose resolves it, or a ComposeFileError saying why not."""
        self.check_file()
        require_docker_cli()
        # A throwaway env file: config() is also called on replicas this process only
        # looks at, whose env file nobody would remove.
        with tempfile.TemporaryDirectory(prefix="gameday-config-") as scratch:
            env_file = Path(scratch) / "drill.env"
            self._write_env(env_file)
            cmd = [
                "docker",
                "compose",
                "-f",
                str(self.compose_file),
                *[option for file in self.override_files for option in ("-f", str(file))],
                "--env-file",
                str(env_file),
                "config",
                "--format",
                "json",
            ]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            detail = result.stderr.strip() or result.stdout.strip()
            raise ComposeFileError(f"{self.compose_file}: not a valid compose file: {detail}")
        config: dict[str, Any] = json.loads(result.stdout)
        services = config.get("services") or {}
        missing = [s for s in REQUIRED_SERVICES if s not in services]
        if missing:
            raise ComposeFileError(
                f"{self.compose_file}: field 'services' lacks {', '.join(missing)}: "
                f"a drill replica needs {', '.join(REQUIRED_SERVICES)}"
            )
        return config

    def discard_env(self) -> None:
        if self._env_dir is not None:
            for child in self._env_dir.iterdir():
                child.unlink()
            self._env_dir.rmdir()
            self._env_dir = None
