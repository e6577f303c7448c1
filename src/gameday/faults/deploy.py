"""The bad deploy fault: a broken release of one backend goes out.

The backend is recreated through Compose with an override that sets ``APP_VERSION`` to
``2-bad`` and a wrong database password, so the new release cannot use its database and
answers /health with 503. Rolling back recreates it from the compose file alone (the
previous release); the fault's revert does that only while the bad release still runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gameday.faults.operations import compose_recreate
from gameday.replica import Replica
from gameday.scenario import BadDeployFault

__all__ = ["BAD_VERSION", "BadDeploy", "release_of", "rollback"]

BAD_VERSION = "2-bad"
# Not the database's password (the compose file's is "gameday"): the release cannot log in.
BAD_DB_PASSWORD = "released-with-a-stale-secret"


def release_of(replica: Replica, service: str) -> str | None:
    """The APP_VERSION the backend's container was created with (None: no container, or
    the image's default)."""
    container = replica.containers().get(service)
    if container is None:
        return None
    for variable in container.attrs["Config"].get("Env") or []:
        name, _, value = str(variable).partition("=")
        if name == "APP_VERSION":
            return value
    return None


def rollback(replica: Replica, service: str) -> None:
    """Recreate ``service`` from the compose file alone (the release before the bad one)."""
    compose_recreate(replica, service)


@dataclass(frozen=True)
class BadDeploy:
    """A backend recreated as a release that cannot reach its database."""

    spec: BadDeployFault
    spec_type: ClassVar[type[BadDeployFault]] = BadDeployFault

    def describe(self) -> str:
        return f"deploy broken release {BAD_VERSION} of {self.spec.service}"

    def inject(self, replica: Replica) -> None:
        environment = {"APP_VERSION": BAD_VERSION, "DB_PASSWORD": BAD_DB_PASSWORD}
        override = {"services": {self.spec.service: {"environment": environment}}}
        compose_recreate(replica, self.spec.service, override)

    def revert(self, replica: Replica) -> None:
        service = self.spec.service
        if service not in replica.containers() or release_of(replica, service) == BAD_VERSION:
            rollback(replica, service)
