"""The disaster-recovery drill for real: PostgreSQL's container and data volume destroyed,
restored from the backup service's newest pg_dump; RTO and RPO in the journal. And a DR
drill killed before its recovery: the next run's ledger revert recreates PostgreSQL and
restores its data, so the replica works again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_drills import assert_nothing_injected

from gameday.infra.operations import volumes_of
from gameday.infra.replica import Replica
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_scenario
from gameday.stages.faults.ledger import Ledger, revert_leftovers
from gameday.stages.journal import Journal, write_journal
from gameday.stages.run import run_drill
from gameday.timeline import utcnow
from gameday.waiting import poll

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
PROJECT = load_project(ROOT / "gameday.yml")
SCENARIO = load_scenario(ROOT / "scenarios" / "disaster-recovery.yml", PROJECT)
COUNT_TASKS = [
    "psql", "-h", "/run/postgresql", "-U", "postgres", "-d", "labelmint", "-tAXq", "-c",
    "SELECT count(*) FROM tasks",
]  # fmt: skip


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger of the test's own, never the user's."""
    monkeypatch.setenv("GAMEDAY_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def data_volume_ids(replica: Replica) -> set[str]:
    """PostgreSQL's data volume, by name and creation time (a volume's id is its name)."""
    return {f"{v.name}@{v.attrs['CreatedAt']}" for v in volumes_of(replica, ["pgdata"])}


def test_the_disaster_recovery_drill_grades_rto_and_rpo(
    replica: Replica, tmp_path: Path, state_dir: Path
) -> None:
    volume_before = data_volume_ids(replica)
    result = run_drill(replica, SCENARIO, progress=print)
    journal = Journal(
        run_id="test", started_at=result.started_at, ended_at=utcnow(), results=(result,)
    )
    record = json.loads(write_journal(journal, tmp_path).read_text())["scenarios"][0]
    # The database really was destroyed: its data volume is a new one.
    assert data_volume_ids(replica) and data_volume_ids(replica) != volume_before
    checks = {c["id"]: c for c in record["checks"]}
    assert checks["rto"]["label"] == "RTO"
    assert checks["rpo"]["label"] == "RPO"
    assert record["targets"]["rto_s"] == SCENARIO.targets.rto_s
    assert record["targets"]["rpo_s"] == SCENARIO.targets.rpo_s
    assert record["mttr_s"] is not None
    assert record["rpo_s"] is not None
    if record["lost_writes"]:
        assert record["lost_writes_span_s"] is not None
    if record["verdict"] != "inconclusive":  # a saturated host decides no timing
        assert record["reasons"] == [], record["reasons"]
        assert checks["rto"]["passed"] and checks["rpo"]["passed"]
        assert record["mttr_s"] <= (SCENARIO.targets.rto_s or 0)
        assert record["rpo_s"] <= (SCENARIO.targets.rpo_s or 0)
        assert record["lost_writes"] <= SCENARIO.targets.lost_writes
    steps = {s["target"]: s for s in record["recovery_steps"]}
    assert steps["restore-database"]["ok"], steps["restore-database"]["detail"]
    assert "restored labelmint-" in steps["restore-database"]["detail"]
    # The restore brought the acknowledged tasks back, not an empty database.
    assert (
        int(replica.exec("postgres", COUNT_TASKS))
        >= record["acknowledged_writes"] - (record["lost_writes"])
    )
    assert_nothing_injected(replica)


def test_a_killed_disaster_recovery_drill_is_reverted_by_the_next_run(
    replica: Replica, state_dir: Path
) -> None:
    drill = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from gameday.infra.replica import Replica
        from gameday.inputs.project import load_project
        from gameday.inputs.scenario import DestroyServiceFault
        from gameday.stages.faults import build_fault
        from gameday.stages.faults.ledger import injected

        project = load_project(Path({str(replica.project.source)!r}))
        replica = Replica.attach({replica.run_id!r}, project)
        fault = build_fault(DestroyServiceFault(
            type="destroy_service", service="postgres", restore="restore-database"))
        with injected([fault], replica):
            print("injected", flush=True)
            time.sleep(60)
        """
    )
    tasks_before = int(replica.exec("postgres", COUNT_TASKS))
    # The restore can only give back what a backup holds: wait for one that finished after
    # the count (a write the test before made just now may be newer than the newest backup).
    counted = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    newer = poll(
        lambda: replica.exec("backup", ["cat", "/var/lib/postgresql/LATEST"]).strip(),
        lambda latest: latest > counted,
        timeout_s=30,
        interval_s=0.5,
    )
    assert newer.ok, f"no backup finished after {counted}; the newest: {newer.last}"
    env = {**os.environ, "GAMEDAY_STATE_DIR": str(state_dir)}
    child = subprocess.Popen(
        [sys.executable, "-c", drill], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "injected"
        child.kill()  # SIGKILL: no finally block runs, nothing is reverted
        child.wait()
        assert "postgres" not in replica.containers()
        assert data_volume_ids(replica) == set()
        (entry,) = Ledger(state_dir).entries(replica.run_id)

        reverted = revert_leftovers(replica, ledger=Ledger(state_dir))

        assert reverted == [entry]
        assert Ledger(state_dir).entries() == []
        assert replica.container("postgres").status in ("created", "running")
        # Restored from the newest backup, taken after the count: the tasks are back.
        assert int(replica.exec("postgres", COUNT_TASKS)) == tasks_before
        healthy = poll(
            lambda: Replica.health_of(replica.container("postgres")),
            lambda health: health == "healthy",
            timeout_s=30,
            interval_s=0.5,
        )
        assert healthy.ok, f"postgres is {healthy.last} after the revert"
    finally:
        child.kill()
        child.wait()


def test_a_restore_that_finds_no_backup_says_why(replica: Replica) -> None:
    from gameday.errors import ReplicaError

    # The restore pointed at an empty directory: it refuses, says why, and changes nothing.
    tasks_before = int(replica.exec("postgres", COUNT_TASKS))
    with pytest.raises(ReplicaError, match="restore: no backup in /tmp"):
        replica.exec("backup", ["env", "BACKUP_DIR=/tmp", "sh", "/opt/backup/restore.sh"])
    assert int(replica.exec("postgres", COUNT_TASKS)) == tasks_before
