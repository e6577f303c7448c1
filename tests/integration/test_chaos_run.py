"""``chaos run`` of a generated experiment on a replica kept as ``gameday up`` keeps one:
Chaos Toolkit's verdict is in its journal, gameday's grade in reports/."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from host_verdicts import skip_if_the_host_decided

from gameday.infra import ownership
from gameday.infra.replica import Replica
from gameday.inputs.project import Project

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
CHAOS = Path(sys.executable).parent / "chaos"


# The brief's drill, and one whose alert (RedisDown) is another exporter's.
DRILLS = {
    "database-outage": ("DatabaseDown", 15, 45),
    "cache-failure": ("RedisDown", 15, 45),
}


@pytest.mark.parametrize("name", sorted(DRILLS))
def test_chaos_runs_the_experiment_and_gameday_grades_it(
    tmp_path: Path, name: str, bundled_project: Project
) -> None:
    alert_name, mttd_s, mttr_s = DRILLS[name]
    replica = Replica(bundled_project, persistent=True, progress=print)
    try:
        replica.start()
        chaos_journal = tmp_path / "chaos-journal.json"
        reports = tmp_path / "reports"
        done = subprocess.run(
            [
                str(CHAOS),
                "--no-version-check",
                "--log-file",
                str(tmp_path / "chaostoolkit.log"),
                "run",
                "--journal-path",
                str(chaos_journal),
                "--var",
                f"gameday_replica={replica.run_id}",
                "--var",
                f"gameday_reports={reports}",
                f"experiments/{name}.json",
            ],
            cwd=REPO,  # the experiment names its scenario file relative to the repository
            capture_output=True,
            text=True,
            timeout=600,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output

        record = json.loads(chaos_journal.read_text())
        assert record["status"] == "completed", output
        assert record["deviated"] is False, output
        before, after = record["steady_states"]["before"], record["steady_states"]["after"]
        assert before["steady_state_met"] is True
        assert after["steady_state_met"] is True
        assert [r["status"] for r in record["run"]] == ["succeeded"] * 3, record["run"]
        alert = record["run"][1]
        assert alert["activity"]["name"] == f"{alert_name}-fires-within-{mttd_s}s"
        assert 0 < alert["output"] <= mttd_s

        journal = json.loads((reports / "latest" / "journal.json").read_text())
        (drill,) = journal["scenarios"]
        assert drill["name"] == name
        skip_if_the_host_decided(drill["verdict"], drill["inconclusive"])
        assert drill["passed"] is True, drill["reasons"]
        assert 0 < drill["mttd_s"] <= mttd_s
        assert 0 < drill["mttr_s"] <= mttr_s
        assert drill["lost_writes"] == 0
        assert journal["responder"] == "auto"  # the scenario's own responder ran the steps
        assert (reports / "latest" / "index.html").exists()
        kinds = [event["kind"] for event in drill["events"]]
        for kind in (
            "steady_state_verified",
            "fault_injected",
            "alert_firing",
            "recovery_step",
            "steady_state_back",
            "fault_reverted",
        ):
            assert kind in kinds, kinds
    finally:
        replica.stop()
    assert replica.run_id not in ownership.find_runs()
