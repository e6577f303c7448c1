"""The pytest plugin on the real replica: ``pytest`` (in a subprocess, as CI runs it)
drills one playbook scenario that must pass (the cache failure: quick, and its alert is
RedisDown) and one that must fail, and the JUnit XML and
the journal say so with the measured numbers."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from gameday.infra.replica import Replica

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
# The pytest11 entry point loads the plugin when gameday is installed; `-p` would load it twice.
PLUGIN = (
    ()
    if "gameday.adapters.pytest_plugin" in {ep.value for ep in entry_points(group="pytest11")}
    else ("-p", "gameday.adapters.pytest_plugin")
)


@dataclass(frozen=True)
class Session:
    output: str
    returncode: int
    cases: dict[str, ET.Element]
    journal: dict[str, object]


@pytest.fixture(scope="module")
def session(replica: Replica, tmp_path_factory: pytest.TempPathFactory) -> Session:
    work = tmp_path_factory.mktemp("plugin-live")
    (work / "scenarios").mkdir()
    (work / "must-fail").mkdir()
    shutil.copy(REPO / "scenarios" / "cache-failure.yml", work / "scenarios")
    shutil.copy(REPO / "tests" / "scenarios" / "alert-cannot-fire.yml", work / "must-fail")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *PLUGIN,
            "-p",
            "no:cacheprovider",
            "--gameday-replica",
            replica.run_id,
            "--gameday-project",
            str(REPO / "gameday.yml"),
            "--gameday-reports",
            "reports",
            "--junitxml",
            "junit.xml",
            "scenarios/cache-failure.yml",
            "must-fail/alert-cannot-fire.yml",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert (work / "junit.xml").exists(), output
    root = ET.parse(work / "junit.xml").getroot()
    cases = {case.get("name", ""): case for case in root.iter("testcase")}
    journal = json.loads((work / "reports" / "latest" / "journal.json").read_text())
    return Session(output, done.returncode, cases, journal)


def properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}


def test_the_cache_failure_drill_passes_with_its_measurements(session: Session) -> None:
    case = session.cases["cache-failure"]
    assert case.find("failure") is None, session.output
    measured = properties(case)
    assert set(measured) == {"mttd_s", "mttr_s", "p95_ms", "error_rate", "lost_writes"}
    assert 0 < float(measured["mttd_s"]) <= 15
    assert 0 < float(measured["mttr_s"]) <= 45
    assert 0 < float(measured["p95_ms"]) <= 800
    assert 0 <= float(measured["error_rate"]) <= 0.01
    assert measured["lost_writes"] == "0"


def test_the_drill_that_must_fail_fails_with_its_reason(session: Session) -> None:
    assert session.returncode == 1, session.output
    case = session.cases["alert-cannot-fire"]
    failure = case.find("failure")
    assert failure is not None, session.output
    assert "DatabaseDown never fired" in (failure.text or "")
    assert properties(case)["mttd_s"] == ""  # never measured
    assert "drill alert-cannot-fire (" in session.output
    assert "  - DatabaseDown never fired" in session.output
    assert "Traceback" not in session.output


def test_the_journal_holds_both_drills(session: Session, replica: Replica) -> None:
    # A run of its own on the kept replica: a second session would not overwrite it.
    assert session.journal["run_id"] != replica.run_id
    scenarios = session.journal["scenarios"]
    assert isinstance(scenarios, list)
    verdicts = {s["name"]: s["passed"] for s in scenarios}
    assert verdicts == {"cache-failure": True, "alert-cannot-fire": False}


def test_the_attached_replica_is_left_running(session: Session, replica: Replica) -> None:
    assert Replica.health_of(replica.container("gateway")) == "healthy"
