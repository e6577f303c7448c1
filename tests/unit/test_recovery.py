"""Recovery steps without Docker: the commands a human responder is shown, and a failed
step reported as a result rather than raised."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import cast

import pytest
from pydantic import TypeAdapter

from gameday.errors import ReplicaError
from gameday.infra.compose import ComposeProject
from gameday.infra.replica import Endpoint, Replica
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import RecoveryStep
from gameday.stages.recovery import playbook_command, run_step

STEP = TypeAdapter(RecoveryStep)
RUN = "20260101-000000-fake"
BUNDLED_PROJECT_FILE = Path(__file__).resolve().parents[2] / "gameday.yml"


@cache
def bundled() -> Project:
    return load_project(BUNDLED_PROJECT_FILE)


def bundled_compose() -> ComposeProject:
    return ComposeProject(RUN, "pid:h:1:1", compose_files=bundled().compose_files)


def reload_gateway() -> str:
    """The bundled project's hook after a backend restarts, as a responder types it."""
    run = bundled().spec.commands["reload-gateway"].run
    assert isinstance(run, str)
    return shlex.join(["docker", "exec", f"gameday-{RUN}-gateway-1", "sh", "-c", run])


@dataclass
class FakeContainer:
    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeReplica:
    """Names, labels and addresses of a replica (and the bundled project), and nothing
    that acts."""

    run_id: str = RUN
    project: Project = field(default_factory=bundled)
    compose: ComposeProject = field(default_factory=bundled_compose)

    def containers(self) -> dict[str, FakeContainer]:
        services = ("gateway", "backend-1", "postgres", "redis", "proxy")
        lease = {"io.gameday.lease": "persistent"}
        return {s: FakeContainer(f"gameday-{RUN}-{s}-1", lease) for s in services}

    def container(self, service: str) -> FakeContainer:
        raise ReplicaError(f"replica has no service {service!r}")

    def endpoint(self, service: str) -> Endpoint:
        return Endpoint("127.0.0.1", 40000)


def command(step: dict[str, object]) -> str:
    return playbook_command(STEP.validate_python(step), cast(Replica, FakeReplica()))


def test_restarting_a_backend_also_runs_the_projects_hook_that_reloads_the_gateway() -> None:
    assert "nginx -s reload" in reload_gateway()
    assert command({"action": "restart_service", "service": "backend-1"}) == (
        f"docker restart gameday-{RUN}-backend-1-1 && {reload_gateway()}"
    )
    assert command({"action": "restart_service", "service": "gateway"}) == (
        f"docker restart gameday-{RUN}-gateway-1"
    )


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"action": "start_service", "service": "redis"}, f"docker start gameday-{RUN}-redis-1"),
        (
            {"action": "unpause_service", "service": "postgres"},
            f"docker unpause gameday-{RUN}-postgres-1",
        ),
        (
            {"action": "command", "command": "flush-cache"},
            f"docker exec gameday-{RUN}-redis-1 redis-cli FLUSHALL",
        ),
        ({"action": "clear_link_faults"}, "curl -fsS -X POST http://127.0.0.1:40000/reset"),
        ({"action": "wait", "seconds": 30}, "sleep 30"),
    ],
)
def test_simple_commands(step: dict[str, object], expected: str) -> None:
    assert command(step) == expected


def test_terminating_idle_sessions_is_one_psql_in_the_postgres_container() -> None:
    words = shlex.split(command({"action": "command", "command": "terminate-idle-sessions"}))
    assert words[:3] == ["docker", "exec", f"gameday-{RUN}-postgres-1"]
    assert "psql" in words
    assert "pg_terminate_backend" in words[-1]
    assert "pg_backend_pid()" in words[-1]  # never its own session


def test_a_rollback_recreates_from_the_compose_file_with_the_running_lease() -> None:
    text = command({"action": "rollback", "service": "backend-1"})
    compose, reload = text.split(" && ")
    words = shlex.split(compose)
    assert f"GAMEDAY_RUN_ID={RUN}" in words
    assert "GAMEDAY_LEASE=persistent" in words  # the containers', not this process's
    assert words[words.index("compose") :][-5:] == [
        "up",
        "--detach",
        "--no-deps",
        "--force-recreate",
        "backend-1",
    ]
    assert "override" not in compose
    assert words[words.index("compose") + 1 : words.index("compose") + 3] == [
        "-f",
        str(bundled().compose_files[0]),
    ]
    assert reload == reload_gateway()


def test_a_failing_step_is_a_result_not_an_exception() -> None:
    step = STEP.validate_python({"action": "start_service", "service": "postgres"})
    result = run_step(step, cast(Replica, FakeReplica()))
    assert not result.ok
    assert result.action == "start_service"
    assert result.target == "postgres"
    assert "no service 'postgres'" in result.detail
    assert result.started_at <= result.ended_at


def test_a_wait_step_waits() -> None:
    result = run_step(
        STEP.validate_python({"action": "wait", "seconds": 0.05}), cast(Replica, FakeReplica())
    )
    assert result.ok
    assert result.target == "0.05 s"
    assert (result.ended_at - result.started_at).total_seconds() >= 0.05
