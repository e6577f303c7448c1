"""The container operations that fault injection, fault revert and recovery steps share.

Every operation acts on one run's own containers and networks, found through the
:class:`~gameday.infra.replica.Replica` by gameday's labels, and turns Docker's and Compose's
errors into :class:`~gameday.errors.FaultError` here, at the edge. No fault logic lives
here: only "do this to the replica, and say clearly when it did not work".
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import docker.errors
import yaml
from docker.models.containers import Container
from docker.models.networks import Network
from docker.models.volumes import Volume

from gameday.errors import FaultError, ReplicaError
from gameday.infra import ownership
from gameday.infra.compose import ComposeProject
from gameday.infra.docker_engine import client
from gameday.infra.proxy_client import PROXY_URL_ENV, ProxyClient
from gameday.infra.replica import Replica
from gameday.inputs.project import Command

__all__ = [
    "Detached",
    "aliases_of",
    "compose_config",
    "compose_recreate",
    "connect",
    "docker_errors",
    "ensure_running",
    "exec_checked",
    "is_connected",
    "missing_connections",
    "network",
    "proxy_client",
    "restarted",
    "run_command",
    "running_project",
    "service_networks",
    "state_of",
    "volumes_of",
]

COMPOSE_TIMEOUT_S = 60.0


@contextlib.contextmanager
def docker_errors(what: str) -> Iterator[None]:
    """Turn docker-py's errors inside the block into a FaultError that says ``what`` failed."""
    try:
        yield
    except docker.errors.DockerException as exc:
        explanation = getattr(exc, "explanation", None) or str(exc)
        raise FaultError(f"{what}: {explanation}") from exc


def state_of(container: Container) -> str:
    """The container's current status ('running', 'paused', 'exited', ...)."""
    with docker_errors(f"inspect {container.name}"):
        container.reload()
    return str(container.attrs["State"]["Status"])


def restarted(replica: Replica, service: str) -> None:
    """After ``service``'s container (re)started, was recreated or reconnected: run the
    project's hooks for it (a load balancer that resolves its backends only when it loads
    its configuration must load it again, for example)."""
    for command in replica.project.hooks_after(service):
        target = replica.containers().get(command.service)
        if target is None or state_of(target) != "running":
            continue  # it runs its own start-up when it starts
        run_command(replica, command, f"hook after {service}")


def run_command(replica: Replica, command: Command, what: str) -> str:
    """Run one of the project's named commands; its output, or a FaultError."""
    try:
        output = replica.exec(command.service, command.argv(), retry_while=command.retry_while)
    except ReplicaError as exc:
        raise FaultError(f"{what}: {exc}") from exc
    if command.expect_output is not None and output != command.expect_output:
        raise FaultError(f"{what}: expected the output {command.expect_output!r}, got {output!r}")
    return output


def ensure_running(replica: Replica, service: str) -> str:
    """Unpause or start ``service`` as needed; says what it did ('' when it was running)."""
    container = replica.container(service)
    state = state_of(container)
    if state == "running":
        return ""
    if state == "paused":
        with docker_errors(f"unpause {service}"):
            container.unpause()
        return "unpaused"
    with docker_errors(f"start {service}"):
        container.start()
    restarted(replica, service)
    return "started"


def exec_checked(
    container: Container,
    command: Sequence[str],
    what: str,
    *,
    detach: bool = False,
) -> str:
    """Run ``command`` in ``container``; its output, or a FaultError when it failed."""
    with docker_errors(what):
        result = container.exec_run(list(command), detach=detach)
    if detach:
        return ""
    output = (result.output or b"").decode(errors="replace").strip()
    if result.exit_code != 0:
        raise FaultError(f"{what}: exit code {result.exit_code}: {output[-500:]}")
    return output


def proxy_client(replica: Replica) -> ProxyClient:
    """The client of this replica's network-fault proxy: ``GAMEDAY_PROXY_URL`` when set
    (a real Toxiproxy put in its place), else the proxy service's published API port."""
    override = os.environ.get(PROXY_URL_ENV)
    if override:
        return ProxyClient(override)
    spec = replica.project.spec.proxy
    if spec is None:
        raise FaultError("the project has no proxy (proxy: in gameday.yml): no link faults")
    return ProxyClient(replica.endpoint(spec.service).url)


# -- networks ------------------------------------------------------------------------------


def network(replica: Replica, name: str) -> Network:
    """The run's Docker network that the compose file calls ``name`` (e.g. 'data')."""
    selector = [
        f"{ownership.LABEL_RUN}={replica.run_id}",
        f"{ownership.LABEL_MANAGED}=true",
        f"com.docker.compose.network={name}",
    ]
    with docker_errors(f"find network {name!r}"):
        found = client().networks.list(filters={"label": selector})
    if not found:
        raise FaultError(f"replica {replica.compose.name} has no network {name!r}")
    return found[0]


def volumes_of(replica: Replica, names: Sequence[str]) -> list[Volume]:
    """The run's Docker volumes that the compose file calls ``names`` (e.g. 'pgdata'):
    only volumes of this replica's own compose project, found by their labels."""
    found: list[Volume] = []
    for name in names:
        selector = [
            f"{ownership.LABEL_RUN}={replica.run_id}",
            f"{ownership.LABEL_MANAGED}=true",
            f"com.docker.compose.project={replica.compose.name}",
            f"com.docker.compose.volume={name}",
        ]
        with docker_errors(f"find volume {name!r}"):
            found.extend(client().volumes.list(filters={"label": selector}))
    return found


def service_networks(config: Mapping[str, object], service: str) -> dict[str, list[str]]:
    """The networks the resolved compose ``config`` puts ``service`` on, each with the
    aliases the compose file gives it there."""
    services = config.get("services")
    spec = services.get(service) if isinstance(services, dict) else None
    networks = spec.get("networks") if isinstance(spec, dict) else None
    if not isinstance(networks, dict):
        return {}
    found: dict[str, list[str]] = {}
    for name, options in networks.items():
        aliases = options.get("aliases") if isinstance(options, dict) else None
        found[str(name)] = [str(a) for a in aliases] if isinstance(aliases, list) else []
    return found


def aliases_of(service: str, container: Container, extra: Sequence[str] = ()) -> list[str]:
    """The DNS names Compose gives a container on its networks: the service name, the
    container name and the compose file's own aliases."""
    return list(dict.fromkeys([service, str(container.name), *extra]))


def is_connected(container: Container, net: Network) -> bool:
    with docker_errors(f"inspect {container.name}"):
        container.reload()
    attached = container.attrs["NetworkSettings"]["Networks"] or {}
    return any(n == net.name or e.get("NetworkID") == net.id for n, e in attached.items())


def connect(container: Container, net: Network, aliases: Sequence[str]) -> bool:
    """Connect ``container`` to ``net`` with ``aliases`` unless it is already on it;
    whether it connected it."""
    if is_connected(container, net):
        return False
    try:
        net.connect(container, aliases=list(aliases))
    except docker.errors.APIError as exc:
        # Raced with another healer: being connected is what we wanted.
        if "already exists" in str(exc) and is_connected(container, net):
            return False
        raise FaultError(f"connect {container.name} to {net.name}: {exc.explanation}") from exc
    return True


@dataclass(frozen=True)
class Detached:
    """A service that is off a network its compose config puts it on."""

    service: str
    container: Container
    network: Network
    aliases: tuple[str, ...]


def compose_config(replica: Replica) -> dict[str, Any]:
    """The replica's resolved compose config. Read through a copy of its project, whose env
    file is removed at once: an attached replica would otherwise leave one per call."""
    project = replace(replica.compose, override_files=[])
    try:
        return project.config()
    finally:
        project.discard_env()


def missing_connections(replica: Replica) -> list[Detached]:
    """Every (service, network) pair of the compose config that Docker does not have."""
    config = compose_config(replica)
    networks: dict[str, Network] = {}
    missing = []
    for service, container in sorted(replica.containers().items()):
        for name, extra in service_networks(config, service).items():
            if name not in networks:
                networks[name] = network(replica, name)
            if not is_connected(container, networks[name]):
                aliases = tuple(aliases_of(service, container, extra))
                missing.append(Detached(service, container, networks[name], aliases))
    return missing


# -- compose -------------------------------------------------------------------------------


def compose_recreate(
    replica: Replica, service: str, override: Mapping[str, object] | None = None
) -> None:
    """Recreate one service through Compose, with ``override`` merged over the compose file
    (a mapping like a compose file's), or from the compose file alone.

    The project keeps the lease of the running containers: a recreated container with
    another lease would make a kept replica look like a dead run's leftover.
    """
    project = running_project(replica, service)
    with tempfile.TemporaryDirectory(prefix="gameday-override-") as scratch:
        if override is not None:
            file = Path(scratch) / "override.yml"
            file.write_text(yaml.safe_dump(dict(override), sort_keys=False))
            project.override_files = [file]
        command = _compose_up_command(project, service)
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, check=False, timeout=COMPOSE_TIMEOUT_S
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FaultError(f"recreate {service}: {shlex.join(command)}: {exc}") from exc
        finally:
            project.discard_env()
    if result.returncode != 0:
        detail = (result.stderr.strip() or result.stdout.strip())[-800:]
        raise FaultError(f"recreate {service}: compose failed: {detail}")
    restarted(replica, service)


def _compose_up_command(project: ComposeProject, service: str) -> list[str]:
    return [
        "docker",
        "compose",
        *project.file_options(),
        "--env-file",
        str(project.env_file()),
        "up",
        "--detach",
        "--no-deps",
        "--force-recreate",
        service,
    ]


def running_project(replica: Replica, service: str) -> ComposeProject:
    """A copy of the replica's project whose lease is the one its containers carry."""
    lease = replica.compose.lease
    containers = replica.containers()
    for name in (service, *containers):
        if name in containers:
            lease = containers[name].labels.get(ownership.LABEL_LEASE, lease)
            break
    return replace(replica.compose, lease=lease, override_files=[])
