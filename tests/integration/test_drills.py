"""Every bundled scenario, run for real on the replica and checked through its journal;
and the two scenarios that must fail, failing for the right reason with nothing left
injected. This is the CI regression use of gameday, end to end."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from host_verdicts import skip_if_the_host_decided

from gameday.infra.replica import Replica
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_all, load_scenario
from gameday.stages.faults.ledger import Ledger
from gameday.stages.journal import Journal, write_journal
from gameday.stages.run import run_drill
from gameday.timeline import utcnow

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
PROJECT = load_project(ROOT / "gameday.yml")
SCENARIOS = load_all([ROOT / "scenarios"], PROJECT)
MUST_FAIL = ROOT / "tests" / "scenarios"


def assert_nothing_injected(replica: Replica) -> None:
    """The replica is as a drill found it: every container running and on its networks,
    no proxy toxics or disabled links, no fault in the ledger."""
    for service, container in replica.containers().items():
        container.reload()
        assert container.status == "running", f"{service} is {container.status}"
    for name in ("backend-1", "backend-2"):
        networks = replica.container(name).attrs["NetworkSettings"]["Networks"]
        assert {n.rsplit("_", 1)[-1] for n in networks} == {"app", "data"}
    proxies = httpx.get(f"{replica.endpoint('proxy').url}/proxies").json()
    for proxy in proxies.values():
        assert proxy["enabled"], f"{proxy['name']} left disabled"
        assert proxy["toxics"] == [], f"{proxy['name']} left with toxics"
    assert Ledger().entries(replica.run_id) == []


def what_happened(record: dict[str, Any]) -> str:
    """A drill's journal record, told in a few lines for a failing test's message: its
    events (seconds from the drill's start), how long each recovery step took, and the
    host's figures. A drill that failed on a machine no one can log in to explains itself."""
    start = _at(record["started_at"])
    lines = [
        f"  {_at(e['at']) - start:7.1f} s  {e['kind']} {e['subject']}".rstrip()
        for e in record["events"]
        if e["kind"] not in ("alert_pending", "recovery_step")
    ]
    for step in record["recovery_steps"]:
        took = _at(step["ended_at"]) - _at(step["started_at"])
        lines.append(f"  step {step['action']} {step['target']}: {took:.1f} s, ok={step['ok']}")
    lines.append(f"  host: {record['host']}")
    return "\n".join(["what the drill saw:", *lines])


def _at(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_every_bundled_scenario_passes_on_the_replica(
    replica: Replica, scenario: object, tmp_path: Path
) -> None:
    from gameday.inputs.scenario import Scenario

    assert isinstance(scenario, Scenario)
    result = run_drill(replica, scenario, progress=print)
    journal = Journal(
        run_id="test", started_at=result.started_at, ended_at=utcnow(), results=(result,)
    )
    record = json.loads(write_journal(journal, tmp_path).read_text())["scenarios"][0]
    assert_nothing_injected(replica)
    skip_if_the_host_decided(record["verdict"], record["inconclusive"])
    assert record["reasons"] == [], f"{record['reasons']}\n{what_happened(record)}"
    assert record["passed"] is True
    assert record["name"] == scenario.name
    assert record["mttd_s"] is not None and record["mttd_s"] <= scenario.targets.mttd_s
    assert record["mttr_s"] is not None and record["mttr_s"] <= scenario.targets.mttr_s
    # Only a disaster-recovery drill may lose the writes since its last backup.
    assert record["lost_writes"] <= scenario.targets.lost_writes
    assert record["acknowledged_writes"] > 0
    kinds = [e["kind"] for e in record["events"]]
    for kind in (
        "fault_injected",
        "alert_firing",
        "recovery_started",
        "steady_state_back",
        "fault_reverted",
    ):
        assert kind in kinds, f"no {kind} event"
    assert kinds.index("fault_injected") < kinds.index("alert_firing")


def test_a_recovery_that_does_not_fix_the_fault_fails_on_the_steady_state(
    replica: Replica,
) -> None:
    scenario = load_scenario(MUST_FAIL / "recovery-does-not-fix.yml", PROJECT)
    result = run_drill(replica, scenario, progress=print)
    assert not result.passed
    assert_nothing_injected(replica)
    skip_if_the_host_decided(result.verdict, result.grade.inconclusive)
    assert result.measurements.alert_mttd_s["DatabaseDown"] is not None  # detection worked
    assert any(r.startswith("steady state never came back") for r in result.grade.reasons), (
        result.grade.reasons
    )


def test_an_alert_that_cannot_fire_fails_with_its_name(replica: Replica) -> None:
    scenario = load_scenario(MUST_FAIL / "alert-cannot-fire.yml", PROJECT)
    result = run_drill(replica, scenario, progress=print)
    assert not result.passed
    assert_nothing_injected(replica)
    skip_if_the_host_decided(result.verdict, result.grade.inconclusive)
    assert "DatabaseDown never fired" in result.grade.reasons
