"""The disaster fault: one service's container and its data are gone.

It removes the service's container and the named volumes the compose file mounts into it
(only volumes of this replica's own compose project, found by their labels), as a lost
machine or a deleted disk would. Reverting recreates the service through Compose, which
gives it empty volumes, and then runs the fault's ``restore`` command (the project's own
restore from backup), so that a drill killed half-way leaves a working replica. A service
that runs again (the drill's recovery recreated it) needs nothing undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.infra.operations import (
    compose_recreate,
    docker_errors,
    ensure_running,
    run_command,
    volumes_of,
)
from gameday.infra.replica import Replica
from gameday.inputs.scenario import DestroyServiceFault
from gameday.stages.faults.command import named_command

__all__ = ["ServiceDestruction", "data_volumes"]


def data_volumes(replica: Replica, service: str) -> tuple[str, ...]:
    """The named volumes the compose file mounts into ``service``."""
    info = replica.project.topology.services.get(service)
    return info.named_volumes() if info is not None else ()


@dataclass(frozen=True)
class ServiceDestruction:
    """A service's container and its named volumes removed."""

    spec: DestroyServiceFault
    spec_type: ClassVar[type[DestroyServiceFault]] = DestroyServiceFault

    def describe(self) -> str:
        return f"destroy {self.spec.service} and its data"

    def inject(self, replica: Replica) -> None:
        service = self.spec.service
        container = replica.containers().get(service)
        if container is not None:
            with docker_errors(f"remove {service}'s container"):
                container.remove(force=True)
        for volume in volumes_of(replica, data_volumes(replica, service)):
            with docker_errors(f"remove {service}'s volume {volume.name}"):
                volume.remove(force=True)

    def revert(self, replica: Replica) -> None:
        service = self.spec.service
        if replica.containers().get(service) is not None:
            ensure_running(replica, service)
            return
        compose_recreate(replica, service)
        if self.spec.restore is not None:
            command = named_command(replica, self.spec.restore)
            run_command(replica, command, f"restore {service} ({self.spec.restore})")
