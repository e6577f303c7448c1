"""A game-day drill with people responding, driven by a script: acknowledge, run the
recovery command the screen showed, mark mitigated; gameday keeps time and grades. The
second drill keeps the playbook's communication clocks, compressed a hundred times, and
posts the status page late."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import pytest
from host_verdicts import skip_if_the_host_decided

from gameday.adapters.responders import HumanResponder
from gameday.infra.replica import Replica
from gameday.inputs.scenario import Clocks, Scenario, load_scenario
from gameday.stages.journal import DrillResult
from gameday.stages.run import run_drill
from gameday.timeline import EventKind

pytestmark = pytest.mark.docker

SCENARIO = Path(__file__).parents[2] / "scenarios" / "database-outage.yml"


class Screen:
    """What the responders would see: collects the lines the responder writes."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.lines.extend(text.splitlines())
        return len(text)

    def flush(self) -> None:
        pass

    def wait_for(self, predicate: str, timeout_s: float = 60.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines:
                    if predicate in line:
                        return line
            time.sleep(0.1)
        raise AssertionError(f"the screen never showed {predicate!r}:\n" + "\n".join(self.lines))

    def line_after(self, marker: str) -> str:
        with self._lock:
            return self.lines[self.lines.index(marker) + 1].strip()


def test_people_respond_by_the_playbook_and_gameday_grades_them(replica: Replica) -> None:
    scenario = load_scenario(SCENARIO, replica.project)
    read_fd, write_fd = os.pipe()
    keys = os.fdopen(read_fd, "r")
    typing = os.fdopen(write_fd, "w")
    screen = Screen()
    responder = HumanResponder(keys, screen, time_box_s=120)  # type: ignore[arg-type]
    outcome: dict[str, DrillResult] = {}

    def drill() -> None:
        outcome["result"] = run_drill(replica, scenario, progress=print, responder=responder)

    runner = threading.Thread(target=drill)
    runner.start()
    try:
        screen.wait_for("=== INCIDENT DRILL")
        screen.wait_for("ALERT firing: DatabaseDown")
        typing.write("a\n")
        typing.flush()
        screen.wait_for("acknowledged")
        command = screen.line_after("  # start_service postgres")
        assert command.startswith("docker start gameday-")
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        typing.write("n started <b>postgres</b> by hand\n")
        typing.write("m\n")
        typing.flush()
        runner.join(timeout=180)
        assert not runner.is_alive(), "the drill did not end"
    finally:
        typing.close()
        if runner.is_alive():
            runner.join(timeout=180)
    result = outcome["result"]
    kinds = [e.kind for e in result.events]
    assert EventKind.ACKNOWLEDGED in kinds
    skip_if_the_host_decided(result.verdict, result.grade.inconclusive)
    assert EventKind.MITIGATED in kinds
    assert result.steps == ()  # gameday recovered nothing itself
    notes = [e.detail for e in result.events if e.kind == EventKind.NOTE]
    assert "started <b>postgres</b> by hand" in notes
    m = result.measurements
    assert m.mtta_s is not None and m.mttd_s is not None and m.mttr_s is not None
    assert 0 < m.mttd_s <= m.mtta_s < m.mttr_s
    assert any(c.id == "mtta" and c.passed for c in result.grade.checks)
    assert result.passed, result.grade.reasons


def _recover_by_hand(screen: Screen) -> None:
    command = screen.line_after("  # start_service postgres")
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _drill_with_keys(
    replica: Replica, scenario: Scenario, script: Callable[[Screen, TextIO], None]
) -> DrillResult:
    """Run ``scenario`` with people whose keystrokes ``script(screen, typing)`` writes."""
    read_fd, write_fd = os.pipe()
    keys = os.fdopen(read_fd, "r")
    typing = os.fdopen(write_fd, "w")
    screen = Screen()
    responder = HumanResponder(keys, screen, time_box_s=120)  # type: ignore[arg-type]
    outcome: dict[str, DrillResult] = {}

    def drill() -> None:
        outcome["result"] = run_drill(replica, scenario, progress=print, responder=responder)

    runner = threading.Thread(target=drill)
    runner.start()
    try:
        script(screen, typing)
        runner.join(timeout=180)
        assert not runner.is_alive(), "the drill did not end"
    finally:
        typing.close()
        if runner.is_alive():
            runner.join(timeout=180)
    return outcome["result"]


def test_a_status_page_posted_late_fails_its_clock_with_the_reason(replica: Replica) -> None:
    # The playbook's 5 minutes for the status page become 3 s.
    scenario = load_scenario(SCENARIO, replica.project).model_copy(
        update={"clocks": Clocks(scale=0.01)}
    )

    def people(screen: Screen, typing: TextIO) -> None:
        screen.wait_for("c status-page")  # the clocks are listed with their keys
        screen.wait_for("CLOCK OVERDUE: status page posted was due by T+3.0 s")
        typing.write("c status-page\n")
        typing.flush()
        screen.wait_for("] status page posted (T+")
        screen.wait_for("ALERT firing: DatabaseDown")
        typing.write("a\n")
        typing.flush()
        _recover_by_hand(screen)
        typing.write("m\n")
        typing.flush()

    result = _drill_with_keys(replica, scenario, people)
    marked = [e for e in result.events if e.kind == EventKind.CLOCK_MARKED]
    assert [e.subject for e in marked] == ["status-page"]
    reminded = [e.detail for e in result.events if e.kind == EventKind.CLOCK_REMINDED]
    assert "overdue: status page posted by T+3.0 s" in reminded
    check = next(c for c in result.grade.checks if c.id == "clock:status-page")
    assert not check.passed and check.applicable
    assert re.fullmatch(
        r"status page posted after \d+(\.\d)? s, over its 3\.0 s clock", check.reason
    )
    assert check.reason in result.grade.reasons
    assert not result.passed
    # The journal carries the clock as the report reads it.
    record = result.record()
    assert record.check("clock:status-page") == check
    assert any(e.kind == "clock_marked" for e in record.events)
