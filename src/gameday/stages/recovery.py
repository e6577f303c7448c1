"""The playbook's recovery steps as executable units, one per action of the scenario
schema's ``RecoveryStep``.

``run_step`` performs a step on the replica and says how it went in a :class:`StepResult`
(it never raises for a step that failed: a failed step is a finding of the drill);
``playbook_command`` is the shell command a human responder would type on this replica to
do the same, for drills run by people. Deciding when to run which step is not done here.
"""

from __future__ import annotations

import shlex
import subprocess
import time

import docker.errors

from gameday.errors import GamedayError
from gameday.infra.operations import (
    connect,
    docker_errors,
    missing_connections,
    proxy_client,
    restarted,
    run_command,
    running_project,
    state_of,
)
from gameday.infra.proxy_client import ProxyClient
from gameday.infra.replica import Replica
from gameday.inputs.project import Command
from gameday.inputs.scenario import (
    CommandStep,
    RecoveryStep,
    RollbackStep,
    ServiceStep,
    SimpleStep,
    WaitStep,
)
from gameday.record import StepRecord
from gameday.stages.faults.command import named_command
from gameday.stages.faults.deploy import rollback
from gameday.stages.faults.link import with_proxy
from gameday.stages.faults.service import STOP_GRACE_S
from gameday.timeline import utcnow

__all__ = ["StepResult", "exec_command_line", "playbook_command", "run_step"]


# What a failing step raises (Docker's and the OS's errors mostly arrive wrapped already);
# anything else is a bug in gameday and is not reported as a finding of the drill.
_STEP_FAILURES = (GamedayError, docker.errors.DockerException, OSError, subprocess.SubprocessError)


# What one recovery step did, and whether it worked: the journal's own record of it.
StepResult = StepRecord


def run_step(step: RecoveryStep, replica: Replica) -> StepResult:
    """Perform ``step`` on ``replica``. A step that fails gives ``ok=False`` and says why."""
    started_at = utcnow()
    try:
        detail, ok = _perform(step, replica), True
    except (
        GamedayError,
        docker.errors.DockerException,
        OSError,
        subprocess.SubprocessError,
    ) as exc:
        detail, ok = str(exc) or type(exc).__name__, False
    return StepResult(
        action=step.action,
        target=_target(step),
        started_at=started_at,
        ended_at=utcnow(),
        ok=ok,
        detail=detail,
    )


def _target(step: RecoveryStep) -> str:
    match step:
        case ServiceStep() | RollbackStep():
            return step.service
        case WaitStep():
            return f"{step.seconds:g} s"
        case CommandStep():
            return step.command
        case SimpleStep(action="heal_partition"):
            return "networks"
        case SimpleStep(action="clear_link_faults"):
            return "proxy links"
    return ""


def _perform(step: RecoveryStep, replica: Replica) -> str:
    """Do the step; what it did, in words."""
    match step:
        case ServiceStep(action="start_service"):
            return _start(replica, step.service)
        case ServiceStep(action="restart_service"):
            container = replica.container(step.service)
            with docker_errors(f"restart {step.service}"):
                container.restart(timeout=STOP_GRACE_S)
            restarted(replica, step.service)
            return f"restarted {step.service}"
        case ServiceStep(action="unpause_service"):
            container = replica.container(step.service)
            if state_of(container) != "paused":
                return f"{step.service} was not paused"
            with docker_errors(f"unpause {step.service}"):
                container.unpause()
            return f"unpaused {step.service}"
        case RollbackStep(action="recreate_service"):
            rollback(replica, step.service)
            return f"recreated {step.service} from the compose file (missing volumes empty)"
        case RollbackStep():
            rollback(replica, step.service)
            return f"recreated {step.service} from the compose file (the previous release)"
        case CommandStep():
            command = named_command(replica, step.command)
            output = run_command(replica, command, step.command)
            return f"ran {step.command} in {command.service}" + (f": {output}" if output else "")
        case SimpleStep(action="heal_partition"):
            return _heal(replica)
        case SimpleStep(action="clear_link_faults"):
            if not with_proxy(replica, "reset the proxy", ProxyClient.reset):
                raise GamedayError("the proxy is not running: no link can be cleared")
            return "removed every toxic and enabled every proxy link"
        case WaitStep():
            time.sleep(step.seconds)
            return f"waited {step.seconds:g} s"
    raise GamedayError(f"no recovery step implements {step!r}")


def _start(replica: Replica, service: str) -> str:
    container = replica.container(service)
    if state_of(container) == "running":
        return f"{service} was already running"
    with docker_errors(f"start {service}"):
        container.start()  # a paused container refuses: unpausing is another step
    restarted(replica, service)
    return f"started {service}"


def _heal(replica: Replica) -> str:
    healed = [
        gap
        for gap in missing_connections(replica)
        if connect(gap.container, gap.network, gap.aliases)
    ]
    for service in dict.fromkeys(gap.service for gap in healed):
        restarted(replica, service)  # its address may be new: the hooks see it again
    if not healed:
        return "no service was partitioned"
    return "reconnected " + ", ".join(f"{gap.service} to {gap.network.name}" for gap in healed)


# -- what a human would type -------------------------------------------------------------------


def playbook_command(step: RecoveryStep, replica: Replica) -> str:
    """The shell command a responder would type to perform ``step`` on this replica."""
    match step:
        case ServiceStep(action="start_service" | "restart_service" as action):
            verb = action.removesuffix("_service")
            command = shlex.join(["docker", verb, _name(replica, step.service)])
            return command + _hooks_after(replica, step.service)
        case ServiceStep():
            return shlex.join(["docker", "unpause", _name(replica, step.service)])
        case RollbackStep():
            project = running_project(replica, step.service)
            variables = [f"{k}={shlex.quote(v)}" for k, v in project.variables().items()]
            up = ["docker", "compose", *project.file_options(), "up", "--detach"]
            up += ["--no-deps", "--force-recreate", step.service]
            return " ".join([*variables, shlex.join(up)]) + _hooks_after(replica, step.service)
        case CommandStep():
            return exec_command_line(replica, named_command(replica, step.command))
        case SimpleStep(action="heal_partition"):
            return _heal_command(replica)
        case SimpleStep(action="clear_link_faults"):
            return shlex.join(["curl", "-fsS", "-X", "POST", f"{proxy_client(replica).url}/reset"])
        case WaitStep():
            return f"sleep {step.seconds:g}"
    return f"# no command for {step.action}"


def exec_command_line(replica: Replica, command: Command) -> str:
    """A named command as the ``docker exec`` line that runs it on this replica."""
    return shlex.join(["docker", "exec", _name(replica, command.service), *command.argv()])


def _name(replica: Replica, service: str) -> str:
    """The service's container name (Compose's own name for it when it has none now)."""
    container = replica.containers().get(service)
    return str(container.name) if container is not None else f"{replica.compose.name}-{service}-1"


def _hooks_after(replica: Replica, service: str) -> str:
    hooks = [exec_command_line(replica, c) for c in replica.project.hooks_after(service)]
    return "".join(" && " + hook for hook in hooks)


def _heal_command(replica: Replica) -> str:
    commands = []
    for gap in missing_connections(replica):
        aliases = [option for alias in gap.aliases for option in ("--alias", alias)]
        connect_command = ["docker", "network", "connect", *aliases, gap.network.name]
        commands.append(shlex.join([*connect_command, str(gap.container.name)]))
    if not commands:
        return "# nothing to heal: every service is on all of its networks"
    return " && ".join(commands)
