"""Service faults: stop, kill, pause or restart one service's container.

Revert brings the container back to running: start it after a stop or a kill, unpause it
after a pause; a restart needs nothing undone beyond making sure it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.infra.operations import docker_errors, ensure_running, restarted, state_of
from gameday.infra.replica import Replica
from gameday.inputs.scenario import ServiceFault

__all__ = ["STOP_GRACE_S", "ServiceDisruption"]

# The grace period of `docker stop`. PostgreSQL answers SIGTERM with a smart shutdown that
# waits for every pooled client to leave, so a long grace only delays the same kill.
STOP_GRACE_S = 3


@dataclass(frozen=True)
class ServiceDisruption:
    """A stop, kill, pause or restart of one service's container."""

    spec: ServiceFault
    spec_type: ClassVar[type[ServiceFault]] = ServiceFault

    def describe(self) -> str:
        verb = self.spec.type.removesuffix("_service")
        return f"{verb} {self.spec.service}"

    def inject(self, replica: Replica) -> None:
        service = self.spec.service
        container = replica.container(service)
        with docker_errors(self.describe()):
            match self.spec.type:
                case "stop_service":
                    container.stop(timeout=STOP_GRACE_S)
                case "kill_service":
                    if state_of(container) in ("running", "paused"):
                        container.kill()
                case "pause_service":
                    if state_of(container) == "running":
                        container.pause()
                case "restart_service":
                    container.restart(timeout=STOP_GRACE_S)
                    restarted(replica, service)

    def revert(self, replica: Replica) -> None:
        ensure_running(replica, self.spec.service)
