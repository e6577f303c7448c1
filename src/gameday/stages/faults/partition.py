"""The network partition fault: cut services off one of the replica's Docker networks
(``docker network disconnect``), so that their peers see timeouts.

Revert connects them again with the DNS aliases Compose gave them (the service name, the
container name and the compose file's own aliases), so that the others find them by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.errors import FaultError
from gameday.infra.operations import (
    aliases_of,
    compose_config,
    connect,
    docker_errors,
    is_connected,
    network,
    restarted,
    service_networks,
)
from gameday.infra.replica import Replica
from gameday.inputs.scenario import PartitionFault

__all__ = ["Partition"]


@dataclass(frozen=True)
class Partition:
    """Services disconnected from one network of the replica."""

    spec: PartitionFault
    spec_type: ClassVar[type[PartitionFault]] = PartitionFault

    def describe(self) -> str:
        return f"partition {', '.join(self.spec.services)} from the {self.spec.network} network"

    def inject(self, replica: Replica) -> None:
        net = network(replica, self.spec.network)
        containers = replica.containers()
        for service in self.spec.services:
            container = containers.get(service)
            if container is None or not is_connected(container, net):
                raise FaultError(
                    f"{self.describe()}: {service} is not on the {self.spec.network} network"
                )
        for service in self.spec.services:
            with docker_errors(f"disconnect {service} from {net.name}"):
                net.disconnect(containers[service])

    def revert(self, replica: Replica) -> None:
        net = network(replica, self.spec.network)
        containers = replica.containers()
        cut_off = [
            service
            for service in self.spec.services
            if service in containers and not is_connected(containers[service], net)
        ]
        if not cut_off:
            return
        config = compose_config(replica)
        for service in cut_off:
            container = containers[service]
            aliases = service_networks(config, service).get(self.spec.network, [])
            connect(container, net, aliases_of(service, container, aliases))
        for service in cut_off:
            restarted(replica, service)  # its address may be new: hooks see it again
