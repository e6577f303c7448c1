"""Every fault type on the real replica: injected, its effect seen from where it is felt,
reverted, and the effect gone. Every test leaves the replica healthy, as it found it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from fault_probes import (
    CONNECTS,
    REDIS_PING,
    ROUND_TRIP,
    app_refused,
    backend_health,
    clean_links,
    fault,
    held_sessions,
    holder_processes,
    link_state,
    pg_ready,
    poll,
    psql,
    python_in,
    redis_cli,
    run_in,
    state,
    wait_healthy,
)
from pydantic import TypeAdapter

from gameday.infra.replica import Replica
from gameday.inputs.scenario import FaultSpec
from gameday.stages.faults import build_fault
from gameday.stages.faults.ledger import Ledger, injected, revert_leftovers

pytestmark = pytest.mark.docker

# The bundled bad-deploy scenario's release: a new version with a stale database password.
BAD_RELEASE = {"APP_VERSION": "2-bad", "DB_PASSWORD": "released-with-a-stale-secret"}

SPEC = TypeAdapter(FaultSpec)


def spec(**fields: object) -> FaultSpec:
    return SPEC.validate_python(fields)


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of the test's own, never the user's."""
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_stop_postgres(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="stop_service", service="postgres")):
        assert state(replica, "postgres") == "exited"
        assert not pg_ready(replica)
    poll(lambda: pg_ready(replica), "postgres accepts connections again")
    wait_healthy(replica, "postgres", "backend-1", "backend-2")


def test_kill_redis(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="kill_service", service="redis")):
        assert state(replica, "redis") == "exited"
        assert replica.container("redis").attrs["State"]["ExitCode"] == 137
    poll(lambda: run_in(replica, "redis", "redis-cli", "ping")[1] == "PONG", "redis answers")
    wait_healthy(replica, "redis")


def test_pause_redis(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="pause_service", service="redis")):
        assert state(replica, "redis") == "paused"
        assert python_in(replica, "backend-1", REDIS_PING, "redis", "6379") == "down"
    assert python_in(replica, "backend-1", REDIS_PING, "redis", "6379") == "up"


def test_restart_backend(replica: Replica, state_dir: Path) -> None:
    before = replica.container("backend-2").attrs["State"]["StartedAt"]
    with fault(replica, state_dir, spec(type="restart_service", service="backend-2")):
        assert state(replica, "backend-2") == "running"
        assert replica.container("backend-2").attrs["State"]["StartedAt"] != before
    assert state(replica, "backend-2") == "running"
    poll(lambda: backend_health(replica, "backend-2")[0] == 200, "backend-2 serves again", 30)
    wait_healthy(replica, "backend-2")


def test_partition_cuts_one_backend_off_the_data_network(replica: Replica, state_dir: Path) -> None:
    def reaches_proxy(backend: str) -> str:
        return python_in(replica, backend, CONNECTS, "proxy", "8474")

    with fault(replica, state_dir, spec(type="partition", services=["backend-1"], network="data")):
        assert reaches_proxy("backend-1") == "down"
        assert reaches_proxy("backend-2") == "up"
    assert reaches_proxy("backend-1") == "up"
    # Reconnected under its compose name, so its peers still find it by name.
    assert python_in(replica, "proxy", CONNECTS, "backend-1", "8000") == "up"


def test_latency_toxic_slows_the_link_by_the_set_amount(replica: Replica, state_dir: Path) -> None:
    def round_trip_ms() -> float:
        return float(python_in(replica, "backend-1", ROUND_TRIP, "proxy", "15432"))

    baseline = min(round_trip_ms() for _ in range(3))
    latency = spec(
        type="link_toxic",
        links=["backend-1-postgres"],
        toxic="latency",
        attributes={"latency": 300},
    )
    with fault(replica, state_dir, latency):
        assert link_state(replica)["backend-1-postgres"][1] == ["gameday-latency-downstream"]
        slowed = round_trip_ms()
        assert 300 <= slowed - baseline + 5 < 600, (baseline, slowed)
        # The other backend's link is untouched.
        assert float(python_in(replica, "backend-2", ROUND_TRIP, "proxy", "25432")) < 200
    assert round_trip_ms() < baseline + 150
    assert clean_links(replica)


def test_link_down_refuses_the_link_and_comes_back(replica: Replica, state_dir: Path) -> None:
    with fault(replica, state_dir, spec(type="link_down", links=["backend-1-redis"])):
        assert link_state(replica)["backend-1-redis"][0] is False
        assert python_in(replica, "backend-1", REDIS_PING, "proxy", "16379") == "down"
        assert python_in(replica, "backend-2", REDIS_PING, "proxy", "26379") == "up"
    assert python_in(replica, "backend-1", REDIS_PING, "proxy", "16379") == "up"
    assert clean_links(replica)


def test_cache_flush_empties_redis(replica: Replica, state_dir: Path) -> None:
    redis_cli(replica, "SET", "gameday:probe", "1")
    assert int(redis_cli(replica, "DBSIZE")) > 0
    with fault(replica, state_dir, spec(type="command", command="flush-cache")):
        assert redis_cli(replica, "DBSIZE") == "0"


def test_connection_exhaustion_holds_the_sessions_asked_for_until_reverted(
    replica: Replica, state_dir: Path
) -> None:
    # 5 fit beside the backends' pools and the exporter's sessions, whatever they hold now.
    with fault(
        replica,
        state_dir,
        spec(type="connection_exhaustion", service="postgres", database="labelmint", connections=5),
    ):
        assert held_sessions(replica) == 5
        states = psql(
            replica,
            "SELECT DISTINCT state FROM pg_stat_activity "
            "WHERE application_name = 'gameday-exhaust'",
        )
        assert states == "idle"
    assert held_sessions(replica) == 0
    assert holder_processes(replica) == 0


def test_connection_exhaustion_takes_every_slot_the_server_has_for_it(
    replica: Replica, state_dir: Path
) -> None:
    # More than the 30 ordinary slots: the fault holds what the other clients leave (how
    # many depends on the pools of the moment), and the server turns the rest away, as it
    # turns away an application that asks for one more at that moment.
    since = int(time.time())
    with fault(
        replica,
        state_dir,
        spec(
            type="connection_exhaustion", service="postgres", database="labelmint", connections=40
        ),
    ):
        held = held_sessions(replica)
        assert 0 < held < 40
        refused = replica.container("postgres").logs(since=since).decode(errors="replace")
        assert "FATAL:  remaining connection slots are reserved" in refused, refused[-2000:]
    assert held_sessions(replica) == 0
    assert holder_processes(replica) == 0
    assert app_refused(replica) == ""


def answered(replica: Replica, backend: str) -> tuple[int, str] | None:
    health = backend_health(replica, backend)
    return health if health[0] else None


def test_bad_deploy_serves_a_broken_release_until_reverted(
    replica: Replica, state_dir: Path
) -> None:
    with fault(
        replica,
        state_dir,
        spec(
            type="bad_deploy",
            service="backend-1",
            environment={"APP_VERSION": "2-bad", "DB_PASSWORD": "released-with-a-stale-secret"},
        ),
    ):
        answer = poll(lambda: answered(replica, "backend-1"), "the new release answers /health")
        assert answer == (503, "2-bad")
        assert backend_health(replica, "backend-2") == (200, "1")
    poll(lambda: backend_health(replica, "backend-1") == (200, "1"), "release 1 is back", 30)
    wait_healthy(replica, "backend-1")


def test_ctrl_c_inside_a_drill_leaves_nothing_injected(replica: Replica, state_dir: Path) -> None:
    faults = [
        build_fault(spec(type="link_down", links=["backend-2-redis"])),
        build_fault(
            spec(
                type="link_toxic",
                links=["backend-2-postgres"],
                toxic="latency",
                attributes={"latency": 100},
            )
        ),
        build_fault(spec(type="pause_service", service="redis")),
    ]
    with pytest.raises(KeyboardInterrupt), injected(faults, replica, ledger=Ledger(state_dir)):
        assert not clean_links(replica)
        assert state(replica, "redis") == "paused"
        raise KeyboardInterrupt
    assert clean_links(replica)
    assert state(replica, "redis") == "running"
    assert Ledger(state_dir).entries() == []


def test_a_killed_drill_s_faults_are_reverted_by_the_next_run(
    replica: Replica, state_dir: Path
) -> None:
    drill = textwrap.dedent(
        f"""
        import time
        from gameday.stages.faults import build_fault
        from gameday.stages.faults.ledger import injected
        from pathlib import Path
        from gameday.inputs.project import load_project
        from gameday.infra.replica import Replica
        from gameday.inputs.scenario import LinkDownFault

        project = load_project(Path({str(replica.project.source)!r}))
        replica = Replica.attach({replica.run_id!r}, project)
        fault = build_fault(LinkDownFault(type="link_down", links=["backend-2-postgres"]))
        with injected([fault], replica):
            print("injected", flush=True)
            time.sleep(60)
        """
    )
    env = {**os.environ, "GAMEDAY_STATE_DIR": str(state_dir)}
    child = subprocess.Popen(
        [sys.executable, "-c", drill], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "injected"
        child.kill()  # SIGKILL: no finally block runs, nothing is reverted
        child.wait()
        assert link_state(replica)["backend-2-postgres"][0] is False
        (entry,) = Ledger(state_dir).entries(replica.run_id)

        reverted = revert_leftovers(replica, ledger=Ledger(state_dir))

        assert reverted == [entry]
        assert clean_links(replica)
        assert Ledger(state_dir).entries() == []
    finally:
        child.kill()
        child.wait()
        build_fault(spec(type="link_down", links=["backend-2-postgres"])).revert(replica)
