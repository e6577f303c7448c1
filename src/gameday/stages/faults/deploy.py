"""The bad deploy fault: a broken release of one service goes out.

The service is recreated through Compose with an override that merges the scenario's
``environment`` over its compose definition (a new version, a stale secret), so the new
release starts but misbehaves. Rolling back recreates it from the compose file alone (the
previous release); the fault's revert does that only while the bad release still runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.infra.operations import compose_recreate
from gameday.infra.replica import Replica
from gameday.inputs.scenario import BadDeployFault

__all__ = ["BadDeploy", "environment_of", "rollback"]


def environment_of(replica: Replica, service: str) -> dict[str, str] | None:
    """The environment the service's container was created with (None: no container)."""
    container = replica.containers().get(service)
    if container is None:
        return None
    variables = container.attrs["Config"].get("Env") or []
    return dict(str(variable).partition("=")[::2] for variable in variables)


def rollback(replica: Replica, service: str) -> None:
    """Recreate ``service`` from the compose file alone (the release before the bad one)."""
    compose_recreate(replica, service)


@dataclass(frozen=True)
class BadDeploy:
    """A service recreated as a release with a broken environment."""

    spec: BadDeployFault
    spec_type: ClassVar[type[BadDeployFault]] = BadDeployFault

    def describe(self) -> str:
        changed = ", ".join(sorted(self.spec.environment))
        return f"deploy a broken release of {self.spec.service} ({changed} changed)"

    def inject(self, replica: Replica) -> None:
        override = {"services": {self.spec.service: {"environment": dict(self.spec.environment)}}}
        compose_recreate(replica, self.spec.service, override)

    def revert(self, replica: Replica) -> None:
        environment = environment_of(replica, self.spec.service)
        if environment is None or self.is_running_in(environment):
            rollback(replica, self.spec.service)

    def is_running_in(self, environment: dict[str, str]) -> bool:
        """Whether a container with ``environment`` is the bad release."""
        return all(environment.get(k) == v for k, v in self.spec.environment.items())
