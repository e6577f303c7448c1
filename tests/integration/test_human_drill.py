"""A game-day drill with people responding, driven by a script: acknowledge, run the
recovery command the screen showed, mark mitigated; gameday keeps time and grades."""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
import time
from pathlib import Path

import pytest

from gameday.adapters.responders import HumanResponder
from gameday.infra.replica import Replica
from gameday.inputs.scenario import load_scenario
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
    assert EventKind.MITIGATED in kinds
    assert result.steps == ()  # gameday recovered nothing itself
    notes = [e.detail for e in result.events if e.kind == EventKind.NOTE]
    assert "started <b>postgres</b> by hand" in notes
    m = result.measurements
    assert m.mtta_s is not None and m.mttd_s is not None and m.mttr_s is not None
    assert 0 < m.mttd_s <= m.mtta_s < m.mttr_s
    assert any(c.id == "mtta" and c.passed for c in result.grade.checks)
    assert result.passed, result.grade.reasons
