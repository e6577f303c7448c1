"""The one error hierarchy of gameday.

Every error that gameday means a user to read is a ``GamedayError``; the CLI prints its
message and exits with its ``exit_code``, never with a traceback. Foreign errors (docker,
subprocess, httpx, yaml) are wrapped at the edge where they happen.

    GamedayError
    ├── InputError                 bad input from the user: exit 2
    │   ├── ProjectError           the project file (gameday.yml) is missing or invalid
    │   ├── PlaybookError          the playbook's Markdown cannot be read for its sections
    │   ├── ScenarioError          a scenario file is invalid (file, line, field)
    │   ├── ComposeFileError       the replica's compose file is unreadable or invalid
    │   ├── ReportError            a journal cannot be read as one (file, field)
    │   └── NamespaceRefused       a Kubernetes drill would touch a namespace not allowed
    ├── EnvironmentProblem         the machine cannot run a drill: exit 3
    │   ├── DockerUnavailable      no engine and no way to start one
    │   └── ImageBuildError        an image of the replica could not be built
    ├── ReplicaError               the replica did not come up or misbehaved: exit 3
    │   └── ServiceUnhealthy       a service never became healthy (with its last log lines)
    ├── FaultError                 a fault could not be injected or reverted: exit 3
    ├── ProxyError                 the network-fault proxy refused a request: exit 3
    │   ├── ProxyNotFound          no proxy or toxic of that name (HTTP 404)
    │   ├── ProxyConflict          one of that name exists already (HTTP 409)
    │   ├── ProxyRejected          the request was refused as invalid, or failed
    │   └── ProxyUnreachable       no answer from the proxy's API in time
    └── DrillFailed                a drill ran and failed its grade: exit 1 (pytest)

The network-fault proxy (``gameday.proxy``) runs on its own inside the replica's proxy
image, where this package is absent: its errors (``ApiError``, ``StartupError``) are its
own, and ``gameday proxy serve`` maps them onto this tree.
"""

from __future__ import annotations

__all__ = [
    "ComposeFileError",
    "DockerUnavailable",
    "DrillFailed",
    "EnvironmentProblem",
    "FaultError",
    "GamedayError",
    "ImageBuildError",
    "InputError",
    "NamespaceRefused",
    "PlaybookError",
    "ProjectError",
    "ProxyConflict",
    "ProxyError",
    "ProxyNotFound",
    "ProxyRejected",
    "ProxyUnreachable",
    "ReplicaError",
    "ReportError",
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


class ReportError(InputError):
    """A journal cannot be read or is not a journal; the message names the file and field."""


class NamespaceRefused(InputError):
    """A drill would touch a namespace that is not explicitly allowed."""


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


class ProxyNotFound(ProxyError):
    """The proxy or toxic named does not exist (HTTP 404)."""


class ProxyConflict(ProxyError):
    """A proxy or toxic of that name already exists (HTTP 409)."""


class ProxyRejected(ProxyError):
    """The proxy refused the request as invalid, or failed it (HTTP 4xx/5xx)."""


class ProxyUnreachable(ProxyError):
    """No answer from the proxy's API within the timeout."""


class DrillFailed(GamedayError):
    """A drill ran and failed its grade; the message lists the reasons (the pytest plugin
    raises it for a failed scenario)."""

    exit_code = 1
