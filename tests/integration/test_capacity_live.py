"""`gameday capacity` on the real replica, in short steps: the capacity file it writes, and
the backend it stopped started again and healthy. Figures under load vary from run to run,
so the test holds them to sanity (a rate carried, every step recorded), not to each other."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gameday.adapters.cli import cli
from gameday.infra.replica import Replica
from gameday.inputs.capacity import read_capacity
from gameday.stages.faults.ledger import Ledger
from gameday.stages.steady_state import health_problems

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
# Short steps, and a latency limit that a busy shared machine still keeps at 5 requests/s
# (the gateway trying a stopped backend again every 2 s costs some requests 1 s).
QUICK = ["--rates", "5,10", "--step-s", "3", "--warmup-s", "1", "--p95-ms", "2000"]


def started_at(replica: Replica, service: str) -> str:
    return str(replica.container(service).attrs["State"]["StartedAt"])


def test_capacity_with_both_backends_and_with_one(replica: Replica, tmp_path: Path) -> None:
    out = tmp_path / "capacity.json"
    common = ["--project", str(REPO / "gameday.yml"), "--replica", replica.run_id, "--out"]
    runner = CliRunner()
    before = started_at(replica, "backend-2")

    both = runner.invoke(cli, ["capacity", *common, str(out), *QUICK])
    assert both.exit_code == 0, both.output
    one = runner.invoke(cli, ["capacity", *common, str(out), *QUICK, "--without", "backend-2"])
    assert one.exit_code == 0, one.output

    record = read_capacity(out)
    assert record is not None
    assert (record.p95_ms, record.max_error_rate) == (2000, 0.01)
    assert [c.name for c in record.conditions] == ["all services", "without backend-2"]
    for condition in record.conditions:
        assert condition.capacity_per_s > 0, condition.limit
        assert condition.steps[0].rate_per_s == 5
        assert {s.rate_per_s for s in condition.steps} <= {5, 10}
        assert all(s.requests > 0 and s.sent_per_s > 0 for s in condition.steps)
        assert condition.machine.cpu_count
        assert (condition.step_s, condition.warmup_s) == (3, 1)
    assert record.conditions[1].without == ["backend-2"]
    assert "capacity without backend-2: " in one.output
    assert "capacity all services: " in one.output  # the file's other condition, kept

    # backend-2 was stopped and started again, is healthy, and no fault is left recorded.
    assert started_at(replica, "backend-2") != before
    assert replica.container("backend-2").status == "running"
    assert health_problems(replica) == []
    assert Ledger().entries(replica.run_id) == []
