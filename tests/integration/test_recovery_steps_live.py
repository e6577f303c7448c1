"""Every recovery step of the playbook on the real replica: each one fixes the fault it is
meant for while that fault is still recorded as in effect, and the commands shown to a
human responder do the same when typed into a shell."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from fault_probes import (
    CONNECTS,
    REDIS_PING,
    app_refused,
    backend_health,
    clean_links,
    fault,
    held_sessions,
    link_state,
    pg_ready,
    poll,
    python_in,
    redis_cli,
    run_in,
    state,
    wait_healthy,
)
from pydantic import TypeAdapter

from gameday.infra.replica import Replica
from gameday.inputs.scenario import FaultSpec, RecoveryStep
from gameday.stages.recovery import StepResult, playbook_command, run_step

pytestmark = pytest.mark.docker

# The bundled bad-deploy scenario's release: a new version with a stale database password.
BAD_RELEASE = {"APP_VERSION": "2-bad", "DB_PASSWORD": "released-with-a-stale-secret"}

FAULT = TypeAdapter(FaultSpec)
STEP = TypeAdapter(RecoveryStep)


def spec(**fields: object) -> FaultSpec:
    return FAULT.validate_python(fields)


def step(**fields: object) -> RecoveryStep:
    return STEP.validate_python(fields)


def run_ok(replica: Replica, **fields: object) -> StepResult:
    result = run_step(step(**fields), replica)
    assert result.ok, result.detail
    return result


def type_in_shell(command: str) -> None:
    """What a responder does with the command gameday shows them."""
    done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command}\n{done.stderr}"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_start_service_brings_back_a_killed_database(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="kill_service", service="postgres")):
        assert not pg_ready(replica)
        result = run_ok(replica, action="start_service", service="postgres")
        assert (result.action, result.target) == ("start_service", "postgres")
        poll(lambda: pg_ready(replica), "postgres accepts connections")
    wait_healthy(replica, "postgres")


def test_restart_service_brings_back_the_load_balancer(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="kill_service", service="gateway")):
        assert state(replica, "gateway") == "exited"
        run_ok(replica, action="restart_service", service="gateway")

        def served() -> bool:
            try:
                return httpx.get(f"{replica.endpoint('gateway').url}/health", timeout=2).is_success
            except httpx.HTTPError:
                return False

        poll(served, "the gateway serves the backends again")
    wait_healthy(replica, "gateway")


def test_unpause_service_thaws_a_frozen_cache(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="pause_service", service="redis")):
        result = run_ok(replica, action="unpause_service", service="redis")
        assert result.detail == "unpaused redis"
        assert python_in(replica, "backend-1", REDIS_PING, "redis", "6379") == "up"


def test_the_unpause_command_a_human_types_does_the_same(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="pause_service", service="redis")):
        type_in_shell(playbook_command(step(action="unpause_service", service="redis"), replica))
        assert state(replica, "redis") == "running"


def test_flush_cache_empties_redis(replica: Replica) -> None:
    redis_cli(replica, "SET", "gameday:stale", "1")
    run_ok(replica, action="command", command="flush-cache")
    assert redis_cli(replica, "DBSIZE") == "0"


def test_heal_partition_reconnects_every_service_with_its_names(
    replica: Replica, state_dir: Path
) -> None:
    cut_backend_1 = spec(type="partition", services=["backend-1"], network="data")
    cut_backend_2 = spec(type="partition", services=["backend-2"], network="app")
    with fault(replica, state_dir, cut_backend_1, cut_backend_2):
        assert python_in(replica, "backend-1", CONNECTS, "proxy", "15432") == "down"
        result = run_ok(replica, action="heal_partition")
        assert "backend-1" in result.detail
        assert "backend-2" in result.detail
        assert python_in(replica, "backend-1", CONNECTS, "proxy", "15432") == "up"
        # The gateway finds backend-2 by its name again (and reloaded to learn its address).
        code, _ = run_in(replica, "gateway", "curl", "-fsS", "http://backend-2:8000/health")
        assert code == 0
        assert run_ok(replica, action="heal_partition").detail == "no service was partitioned"


def test_the_heal_command_a_human_types_does_the_same(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="partition", services=["redis"], network="data")):
        command = playbook_command(step(action="heal_partition"), replica)
        assert command.startswith("docker network connect --alias redis ")
        type_in_shell(command)
        assert python_in(replica, "proxy", CONNECTS, "redis", "6379") == "up"


def test_clear_link_faults_removes_every_toxic_and_enables_every_link(
    replica: Replica, state_dir: Path
) -> None:
    latency = spec(
        type="link_toxic",
        links=["backend-1-postgres"],
        toxic="latency",
        attributes={"latency": 500},
    )
    down = spec(type="link_down", links=["backend-2-redis"])
    with fault(replica, state_dir, latency, down):
        assert not clean_links(replica)
        run_ok(replica, action="clear_link_faults")
        assert clean_links(replica), link_state(replica)


def test_terminate_idle_connections_frees_the_held_sessions(
    replica: Replica, state_dir: Path
) -> None:
    with fault(
        replica,
        state_dir,
        spec(
            type="connection_exhaustion", service="postgres", database="labelmint", connections=40
        ),
    ):
        assert held_sessions(replica) > 0
        result = run_ok(replica, action="command", command="terminate-idle-sessions")
        assert result.detail.startswith("ran terminate-idle-sessions in postgres")
        poll(lambda: held_sessions(replica) == 0, "no held session is left")
        assert app_refused(replica) == ""
    wait_healthy(replica, "backend-1", "backend-2")


def test_rollback_backend_brings_back_the_previous_release(
    replica: Replica, state_dir: Path
) -> None:
    with fault(
        replica,
        state_dir,
        spec(
            type="bad_deploy",
            service="backend-2",
            environment={"APP_VERSION": "2-bad", "DB_PASSWORD": "released-with-a-stale-secret"},
        ),
    ):
        poll(lambda: backend_health(replica, "backend-2")[1] == "2-bad", "the bad release runs")
        run_ok(replica, action="rollback", service="backend-2")
        poll(lambda: backend_health(replica, "backend-2") == (200, "1"), "release 1 serves", 30)
    wait_healthy(replica, "backend-2")


def test_unpausing_a_running_service_changes_nothing(replica: Replica) -> None:
    result = run_ok(replica, action="unpause_service", service="postgres")
    assert result.detail == "postgres was not paused"


def test_a_step_that_does_not_fit_the_fault_fails_without_raising(
    replica: Replica, state_dir: Path
) -> None:
    with fault(replica, state_dir, spec(type="pause_service", service="redis")):
        result = run_step(step(action="start_service", service="redis"), replica)
        assert not result.ok
        assert "paused" in result.detail
