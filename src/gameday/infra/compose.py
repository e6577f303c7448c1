"""The replica's compose project: which file, which project name, which variables.

A :class:`ComposeProject` turns one run into the arguments of testcontainers'
``DockerCompose``: the project's compose files, and a per-run env file that sets
``COMPOSE_PROJECT_NAME`` and the ``GAMEDAY_*`` variables the compose files read (a free
127.0.0.1 port for every ``GAMEDAY_PORT_*`` variable among them). Two runs never share a
project name, so two replicas can run side by side.
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
from gameday.errors import ComposeFileError
from gameday.infra.docker_engine import require_docker_cli

__all__ = ["BASE_IMAGE", "ComposeProject"]

BASE_IMAGE = "gameday-base:bookworm"


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


@dataclass
class ComposeProject:
    """One replica's compose project."""

    run_id: str
    lease: str
    compose_files: list[Path]
    # The GAMEDAY_PORT_* variables the compose files read: each gets a free host port.
    port_variables: tuple[str, ...] = ()
    # Services a drill cannot do without (monitoring, the load's target).
    required_services: tuple[str, ...] = ()
    image_tag: str = __version__
    extra_env: dict[str, str] = field(default_factory=dict)
    # Compose files merged over ``compose_file`` (a fault's broken release, for example);
    # ``config`` reads them, testcontainers' ``docker_compose`` does not.
    override_files: list[Path] = field(default_factory=list)
    # Host ports on 127.0.0.1 by variable, chosen once per replica: a restarted container
    # keeps its address, so a drill that restarts the load's target does not lose it
    # (Docker would pick a new random port at every start).
    ports: dict[str, int] = field(default_factory=dict)
    _env_dir: Path | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        return f"gameday-{self.run_id}"

    @property
    def compose_file(self) -> Path:
        """The first compose file (the one that names the project's directory)."""
        return self.compose_files[0]

    def variables(self) -> dict[str, str]:
        return {
            "COMPOSE_PROJECT_NAME": self.name,
            "GAMEDAY_RUN_ID": self.run_id,
            "GAMEDAY_LEASE": self.lease,
            "GAMEDAY_IMAGE_TAG": self.image_tag,
            "GAMEDAY_BASE_IMAGE": os.environ.get("GAMEDAY_BASE_IMAGE", BASE_IMAGE),
            **{variable: str(port) for variable, port in self.host_ports().items()},
            **self.extra_env,
        }

    def host_ports(self) -> dict[str, int]:
        """The 127.0.0.1 port of each GAMEDAY_PORT_* variable (chosen now if not yet)."""
        missing = [v for v in self.port_variables if v not in self.ports]
        self.ports.update(zip(missing, _free_ports(len(missing)), strict=True))
        return self.ports

    def file_options(self) -> list[str]:
        """``-f FILE`` for every compose file, overrides last."""
        files = [*self.compose_files, *self.override_files]
        return [option for file in files for option in ("-f", str(file))]

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
            compose_file_name=[str(file.resolve()) for file in self.compose_files],
            env_file=str(self.env_file()),
            wait=False,
            build=False,
        )

    def check_file(self) -> None:
        for file in self.compose_files:
            try:
                text = file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ComposeFileError(
                    f"{file}: cannot read the compose file ({exc.strerror})"
                ) from exc
            except UnicodeDecodeError as exc:
                raise ComposeFileError(
                    f"{file}: expected UTF-8 YAML, but byte {exc.start} is not UTF-8 "
                    "(is it a binary file?)"
                ) from exc
            if not text.strip():
                raise ComposeFileError(f"{file}: the compose file is empty")

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
                *self.file_options(),
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
        missing = [s for s in self.required_services if s not in services]
        if missing:
            raise ComposeFileError(
                f"{self.compose_file}: field 'services' lacks {', '.join(missing)}: "
                f"the project's drills need {', '.join(self.required_services)}"
            )
        return config

    def discard_env(self) -> None:
        if self._env_dir is not None:
            for child in self._env_dir.iterdir():
                child.unlink()
            self._env_dir.rmdir()
            self._env_dir = None
