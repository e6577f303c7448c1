"""The read replica for real: a streaming standby of the bundled replica's PostgreSQL that
outlives its primary's outage, takes the writes once promoted (the failover drill, its lost
writes counted on the promoted copy), and clones itself again when the old primary is back,
so the next drill starts on a primary with a streaming standby."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from host_verdicts import skip_if_the_host_decided
from test_drills import assert_nothing_injected, what_happened

from gameday.errors import ReplicaError
from gameday.infra.replica import Replica
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_scenario
from gameday.stages.journal import Journal, write_journal
from gameday.stages.run import run_drill
from gameday.timeline import utcnow
from gameday.waiting import poll

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
PROJECT = load_project(ROOT / "gameday.yml")
FAILOVER = load_scenario(ROOT / "scenarios" / "database-failover.yml", PROJECT)


def ask(replica: Replica, service: str, sql: str) -> str:
    """One value from ``service``'s own PostgreSQL server."""
    argv = ["psql", "-h", "/run/postgresql", "-U", "postgres", "-d", "labelmint", "-tAXq"]
    return replica.exec(service, [*argv, "-c", sql], retry_while="too many clients").strip()


def standby_streams(replica: Replica) -> bool:
    """Whether the primary, `postgres`, has a standby streaming from it."""
    try:
        count = ask(replica, "postgres", "SELECT count(*) FROM pg_stat_replication")
        in_recovery = ask(replica, "postgres-standby", "SELECT pg_is_in_recovery()")
    except ReplicaError:  # a server that is not up yet: not streaming
        return False
    return count == "1" and in_recovery == "t"


def test_the_standby_streams_and_outlives_its_primarys_outage(replica: Replica) -> None:
    assert standby_streams(replica)
    replica.container("postgres").stop(timeout=10)
    try:
        # Longer than the standby's watchdog takes to look (2 s) several times over: the
        # standby keeps its copy and stays a read-only standby, ready to be promoted.
        held = poll(
            lambda: ask(replica, "postgres-standby", "SELECT pg_is_in_recovery()"),
            lambda answer: answer != "t",
            timeout_s=8,
            interval_s=1,
        )
        assert not held.ok, f"the standby answered {held.last!r} while its primary was down"
        assert int(ask(replica, "postgres-standby", "SELECT count(*) FROM pg_class")) > 0
    finally:
        replica.container("postgres").start()
    back = poll(lambda: standby_streams(replica), bool, timeout_s=60, interval_s=1)
    assert back.ok, "the standby did not stream again after its primary came back"


def test_the_failover_drill_counts_lost_writes_on_the_promoted_standby(
    replica: Replica, tmp_path: Path
) -> None:
    result = run_drill(replica, FAILOVER, progress=print)
    journal = Journal(
        run_id="test", started_at=result.started_at, ended_at=utcnow(), results=(result,)
    )
    record = json.loads(write_journal(journal, tmp_path).read_text())["scenarios"][0]
    assert_nothing_injected(replica)
    steps = {s["target"]: s for s in record["recovery_steps"]}
    assert steps["promote-standby"]["ok"], steps["promote-standby"]["detail"]
    assert steps["standby-writable"]["ok"], steps["standby-writable"]["detail"]
    checks = {c["id"]: c for c in record["checks"]}
    assert checks["rpo"]["label"] == "RPO" and checks["data"]["applicable"]
    # The load kept writing after the promotion, and the data check asked the promoted copy:
    # had it run after the old primary came back, every write since the failover would
    # count as lost.
    assert record["acknowledged_writes"] > 0
    skip_if_the_host_decided(record["verdict"], record["inconclusive"])
    assert record["reasons"] == [], f"{record['reasons']}\n{what_happened(record)}"
    assert record["lost_writes"] <= FAILOVER.targets.lost_writes
    # The revert brought the old primary back, and the promoted copy cloned it again: the
    # replica is back to a primary and a streaming standby for the next drill.
    back = poll(lambda: standby_streams(replica), bool, timeout_s=60, interval_s=1)
    assert back.ok, "after the failover drill the standby did not stream from postgres again"
    assert ask(replica, "postgres", "SELECT pg_is_in_recovery()") == "f"
