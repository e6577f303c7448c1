"""One human drill, run twice on the bundled replica: once from the terminal (keys on
stdin), once from the game-day console (the page's own HTTP actions, as its script sends
them). The responders do the same things at the same moments: acknowledge when
DatabaseDown fires, run the recovery command gameday printed for this replica, mark
mitigated. The two journals must grade alike: the same checks, applicable alike; what the responders
decided (acknowledgement, recovery, the playbook's clocks) passed or failed alike; and the
system's own figures (p95, error rate, MTTD) graded differently only where the two runs
measured different figures, since two runs of a real stack never measure the same p95.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.docker

REPO = Path(__file__).parents[2]
SCENARIO = REPO / "scenarios" / "database-outage.yml"


class Drill:
    """`gameday run --responder human` in a subprocess, its output read line by line."""

    def __init__(self, reports: Path, *, web: bool) -> None:
        gameday = Path(sys.executable).with_name("gameday")
        self.process = subprocess.Popen(
            [
                *(str(gameday), "run", str(SCENARIO), "--responder", "human"),
                *(["--web"] if web else []),
                *("--time-box", "150", "--reports", str(reports)),
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.reports = reports
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout_s: float = 180) -> re.Match[str]:
        while True:
            try:
                line = self.lines.get(timeout=timeout_s)
            except queue.Empty:
                said = "\n".join(self.output[-40:])
                raise AssertionError(
                    f"no line matched {pattern!r} within {timeout_s:g} s; the drill said:\n{said}"
                ) from None
            found = re.search(pattern, line)
            if found:
                return found

    def recovery_command(self) -> str:
        return self.wait_for(r"^\s*(docker start gameday-\S+postgres\S*)\s*$").group(1)

    def keys(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=240)

    def journal(self) -> dict:
        drill: dict = json.loads(next(self.reports.glob("*/journal.json")).read_text())[
            "scenarios"
        ][0]
        return drill

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=240)


def run(command: str) -> None:
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def from_the_terminal(reports: Path) -> dict:
    drill = Drill(reports, web=False)
    try:
        command = drill.recovery_command()
        drill.wait_for(r"ALERT firing: DatabaseDown")
        drill.keys("a\n")
        drill.wait_for(r"acknowledged")
        run(command)
        drill.keys("m\n")
        status = drill.close()
        assert status in (0, 1, 5), "\n".join(drill.output[-40:])
        return drill.journal()
    finally:
        drill.kill()


def from_the_page(reports: Path) -> dict:
    drill = Drill(reports, web=True)
    try:
        url = drill.wait_for(r"console: (http://127\.0\.0\.1:\d+)/\?token=(\S+)")
        base, token = url.group(1), url.group(2)
        with httpx.Client(base_url=base, params={"token": token}, trust_env=False) as page:
            joined = page.post("/api/join", json={"name": "Rita", "role": "responder"})
            assert joined.status_code == 200, joined.text
            me = joined.json()["id"]

            def act(action: str) -> None:
                answer = page.post("/api/action", json={"participant": me, "action": action})
                assert answer.status_code == 200, answer.text

            command = drill.recovery_command()
            drill.wait_for(r"ALERT firing: DatabaseDown")
            act("acknowledge")
            run(command)
            act("mitigate")
            drill.wait_for(r"press Enter to close it", timeout_s=240)
        status = drill.close()
        assert status in (0, 1, 5), "\n".join(drill.output[-40:])
        return drill.journal()
    finally:
        drill.kill()


def grades(drill: dict) -> list[tuple[str, bool, bool]]:
    return sorted((c["id"], c["passed"], c["applicable"]) for c in drill["checks"])


# The checks whose result the responders decide: when they acknowledged, when their recovery
# brought the steady state back, and the playbook's clocks they kept.
RESPONDERS_DECIDE = re.compile(r"^(mtta|mttr|kpi:mttr|clock:.+)$")


def disagreements(page: dict, keys: dict) -> list[str]:
    """How the two journals' checks disagree, worded for the assertion's message."""
    mine = {c["id"]: c for c in page["checks"]}
    theirs = {c["id"]: c for c in keys["checks"]}
    if mine.keys() != theirs.keys():
        return [f"checks differ: page {sorted(mine)}, terminal {sorted(theirs)}"]
    found = []
    for check_id, a in sorted(mine.items()):
        b = theirs[check_id]
        if a["applicable"] != b["applicable"]:
            found.append(f"{check_id}: applicable {a['applicable']} vs {b['applicable']}")
        elif a["passed"] != b["passed"]:
            measured_alike = a["measured"] == b["measured"]
            if RESPONDERS_DECIDE.match(check_id) or measured_alike:
                found.append(
                    f"{check_id}: page {a['passed']} ({a['measured']}), "
                    f"terminal {b['passed']} ({b['measured']})"
                )
    return found


def test_the_page_and_the_terminal_grade_one_drill_alike(tmp_path: Path) -> None:
    keys = from_the_terminal(tmp_path / "terminal")
    page = from_the_page(tmp_path / "page")
    if "inconclusive" in (keys["verdict"], page["verdict"]):
        pytest.skip("the host was saturated during one of the runs: they cannot be compared")
    differ = disagreements(page, keys)
    assert differ == [], "\n".join([*differ, f"page: {page['host']}", f"terminal: {keys['host']}"])
    if grades(page) == grades(keys):
        assert page["verdict"] == keys["verdict"]
    assert ("mtta", True, True) in grades(page)
    assert ("mtta", True, True) in grades(keys)
    who = [e["subject"] for e in page["events"] if e["kind"] == "acknowledged"]
    assert who == ["Rita (responder)"]
