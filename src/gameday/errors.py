"""The one error hierarchy of gameday.

Every error that gameday means a user to read is a ``GamedayError``; the CLI prints its
message and exits with its ``exit_code``, never with a traceback. Foreign errors (docker,
subprocess, httpx, yaml) are wrapped at the edge where they happen.

    GamedayError
    ├── InputError                 bad input from the user: exit 2
    │   ├── ProjectError           the project file (gameday.yml) is missing or invalid
    │   ├── PlaybookError          the playbook's Markdown cannot be read for its sections
    │   ├── ScenarioError          a scenario file is invalid (file, line, field)
    │   └── ComposeFileError       the replica's compose file is unreadable or invalid
    ├── EnvironmentProblem         the machine cannot run a drill: exit 3
    │   ├── DockerUnavailable      no engine and no way to start one
    │   └── ImageBuildError        an image of the replica could not be built
    ├── ReplicaError               the replica did not come up or misbehaved: exit 3
    │   └── ServiceUnhealthy       a service never became healthy (with its last log lines)
    ├── FaultError                 a fault could not be injected or reverted: exit 3
    └── ProxyError                 the network-fault proxy refused a request: exit 3
"""

from __future__ import annotations

__all__ = [
    "ComposeFileError",
    "DockerUnavailable",
    "EnvironmentProblem",
    "FaultError",
    "GamedayError",
    "ImageBuildError",
    "InputError",
    "PlaybookError",
    "ProjectError",
    "ProxyError",
    "ReplicaError",
    "ScenarioError",
    "ServiceUnhealthy",
]


class GamedayError(Exception):
    """Base of every error gameday raises on purpose."""

    exit_code = 3


class InputError(GamedayError):
    """The user gave gameday something it cannot use."""

    exit_code = 2


class ProjectError(InputError):
    """The project file is missing or invalid; the message names the file, line and field."""


class PlaybookError(InputError):
    """The playbook cannot be read for its sections, alerts and drills (file and line)."""


class ScenarioError(InputError):
    """A scenario file is invalid; the message names the file, the line and the field."""


class ComposeFileError(InputError):
    """The replica's compose file cannot be read or is not a valid drill replica."""


class EnvironmentProblem(GamedayError):
    """The machine lacks something a drill needs."""


class DockerUnavailable(EnvironmentProblem):
    """No Docker engine answers and gameday may not start one."""


class ImageBuildError(EnvironmentProblem):
    """An image of the replica failed to build."""


class ReplicaError(GamedayError):
    """The replica failed to come up, or failed while it ran."""


class ServiceUnhealthy(ReplicaError):
    """A service of the replica never became healthy."""

    def __init__(self, service: str, reason: str, last_logs: str = "") -> None:
        self.service = service
        self.reason = reason
        self.last_logs = last_logs
        message = f"service {service!r} {reason}"
        if last_logs.strip():
            tail = "\n".join("    " + line for line in last_logs.rstrip().splitlines())
            message += f"\n  its last log lines:\n{tail}"
        super().__init__(message)


class FaultError(GamedayError):
    """A fault could not be injected or reverted."""


class ProxyError(GamedayError):
    """The network-fault proxy answered with an error."""
