"""A busy host decides nothing: beside a CPU hog on both cores (Debian's stress-ng), a drill
is passed or inconclusive, never failed, and a drill that fails on its own merits is called
inconclusive on such a host instead of blaming the playbook.

This is the real measurement the grade's rule stands on: the host record of each drill
says how busy the machine was, from Linux's own figures.

(Named to run after the other drills: its session replica must not sit beside the tests
that bring up replicas of their own.)
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from host_verdicts import host_cause

from gameday.infra.replica import Replica
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_scenario
from gameday.stages.grading import CPU_BUSY_LIMIT
from gameday.stages.run import run_drill

pytestmark = pytest.mark.docker

ROOT = Path(__file__).parents[2]
PROJECT = load_project(ROOT / "gameday.yml")


@pytest.fixture
def cpu_hog() -> Iterator[None]:
    stress = shutil.which("stress-ng")
    if stress is None:
        pytest.fail("stress-ng is missing: scripts/setup.sh --test installs it")
    hog = subprocess.Popen(
        [stress, "--cpu", "2", "--timeout", "600s", "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        hog.terminate()
        hog.wait(timeout=30)


def test_beside_a_cpu_hog_a_drill_is_passed_or_inconclusive(
    replica: Replica, cpu_hog: None
) -> None:
    scenario = load_scenario(ROOT / "scenarios" / "network-latency.yml", PROJECT)
    result = run_drill(replica, scenario, progress=print)
    host = result.measurements.host
    assert host is not None and host.cpu_busy is not None
    assert host.cpu_busy >= CPU_BUSY_LIMIT, host  # the hog left no idle CPU
    assert result.verdict in ("passed", "inconclusive"), result.grade.reasons
    if result.verdict == "inconclusive":
        assert all(host_cause(why) for why in result.grade.inconclusive)


def test_a_failing_drill_on_a_saturated_host_is_inconclusive_not_failed(
    replica: Replica, cpu_hog: None
) -> None:
    scenario = load_scenario(ROOT / "tests" / "scenarios" / "recovery-does-not-fix.yml", PROJECT)
    result = run_drill(replica, scenario, progress=print)
    assert result.verdict == "inconclusive", result.grade.reasons
    assert not result.passed
    (why, *_) = result.grade.inconclusive
    # A CPU hog may show as saturation, as a load generator behind its schedule, or both
    # (grading.host_strain, in that order): each names the host, never the playbook.
    assert all(host_cause(reason) for reason in result.grade.inconclusive)
    # What was measured is still there for the report, marked as such: the steady state
    # that never came back, or, on a host too busy for one even before the fault, that.
    assert any(
        "steady state never came back" in r or "not in its steady state before the fault" in r
        for r in result.grade.reasons
    ), result.grade.reasons
    record = result.record()
    assert record.verdict == "inconclusive" and record.inconclusive == (why, *_)
