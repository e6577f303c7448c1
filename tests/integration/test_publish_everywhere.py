"""One publish step for every adapter: a drill run by ``gameday run``, one run through the
pytest plugin and one run by ``chaos run`` all land in the same history, and the history
page lists the three side by side.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from gameday.infra.replica import Replica
from gameday.inputs.project import Project
from gameday.record import SCHEMA_VERSION

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PLUGIN = (
    ()
    if "gameday.adapters.pytest_plugin" in {ep.value for ep in entry_points(group="pytest11")}
    else ("-p", "gameday.adapters.pytest_plugin")
)


@pytest.fixture(scope="module")
def kept(bundled_project: Project) -> Iterator[Replica]:
    replica = Replica(bundled_project, persistent=True, progress=print)
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()


def run(args: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode in ok, output[-4000:]
    return output


def test_cli_pytest_and_chaos_runs_share_one_history(kept: Replica, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    scenario = "scenarios/service-down.yml"
    run(
        [
            str(BIN / "gameday"),
            "run",
            scenario,
            "--replica",
            kept.run_id,
            "--reports",
            str(reports),
        ],
        cwd=REPO,
        ok=(0, 5),  # what is published is the run, passed or (on a busy host) inconclusive
    )
    run(
        [
            sys.executable,
            "-m",
            "pytest",
            *PLUGIN,
            "-p",
            "no:cacheprovider",
            scenario,
            "--gameday-replica",
            kept.run_id,
            "--gameday-reports",
            str(reports),
            "--rootdir",
            str(REPO),
        ],
        cwd=REPO,
    )
    run(
        [
            str(BIN / "chaos"),
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaos.log"),
            "run",
            "--journal-path",
            str(tmp_path / "chaos-journal.json"),
            "--var",
            f"gameday_replica={kept.run_id}",
            "--var",
            f"gameday_reports={reports}",
            "experiments/load-balancer-failure.json",
        ],
        cwd=REPO,
    )

    with sqlite3.connect(reports / "history.sqlite") as db:
        runs = [row[0] for row in db.execute("SELECT run_id FROM runs ORDER BY started_at")]
        responders = {row[0] for row in db.execute("SELECT responder FROM runs")}
    assert len(runs) == 3, runs
    assert kept.run_id not in runs  # each run has an id of its own
    assert "auto" in responders
    page = (reports / "index.html").read_text()
    for run_id in runs:
        assert run_id in page
        journal = json.loads((reports / run_id / "journal.json").read_text())
        assert journal["schema_version"] == SCHEMA_VERSION and journal["project"] == "labelmint"
        assert (reports / run_id / "index.html").is_file()
