"""`gameday report` on journals an adversary wrote: exit 2 and one line, never a traceback."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from reportjournals import drill_json, journal_json

from gameday.adapters.cli import main
from gameday.stages.report.store import load_history

HUGE = int("9" * 400)


@pytest.fixture(autouse=True)
def _keep_sigterm() -> Iterator[None]:
    """main() installs its SIGTERM handler; the test process keeps its own."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def gameday(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in this process: its exit status and what it wrote to stderr."""
    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    return status, capsys.readouterr().err


def report(capsys: pytest.CaptureFixture[str], reports: Path, run_dir: Path) -> tuple[int, str]:
    return gameday(capsys, "report", str(run_dir), "--reports", str(reports))


def write(reports: Path, text: str) -> Path:
    run_dir = reports / "run-1"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "journal.json").write_text(text)
    return run_dir


def changed(change: Callable[[dict[str, Any]], object]) -> str:
    journal = journal_json("run-1")
    change(journal)
    return json.dumps(journal)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            changed(lambda j: j["scenarios"][0].update(lost_writes=HUGE)),
            "field 'scenarios[0].lost_writes' must be a number of at most 1e15",
        ),
        (
            changed(lambda j: j["scenarios"][0].update(mttd_s=HUGE)),
            "field 'scenarios[0].mttd_s' must be a number of at most 1e15",
        ),
        (_nested(100_000), "nested too deeply to be a journal"),
        (
            changed(lambda j: j["scenarios"][0].update(requests=-100)),
            "field 'scenarios[0].requests' must be a count of 0 or more, not the number -100",
        ),
        (
            changed(lambda j: j["scenarios"].append(j["scenarios"][0])),
            "field 'scenarios[1].name': scenario 'database-outage' is in the journal twice",
        ),
    ],
    ids=["huge lost_writes", "huge mttd_s", "deep", "negative requests", "scenario twice"],
)
def test_a_bad_journal_is_one_line_naming_file_and_field(
    capsys: pytest.CaptureFixture[str], reports: Path, text: str, message: str
) -> None:
    run_dir = write(reports, text)
    status, err = report(capsys, reports, run_dir)
    assert status == 2
    assert err.startswith(f"gameday: error: {run_dir.resolve() / 'journal.json'}: {message}")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert load_history(reports / "history.sqlite").runs == ()


def test_a_load_bucket_at_the_end_of_time_reports(
    capsys: pytest.CaptureFixture[str], reports: Path
) -> None:
    def far(journal: dict[str, Any]) -> None:
        journal["scenarios"][0]["load_series"][-1]["start"] = "9999-12-31T23:59:59+00:00"

    status, err = report(capsys, reports, write(reports, changed(far)))
    assert (status, err) == (0, "")


def test_a_run_folder_that_cannot_be_written_is_exit_2_and_not_in_the_history(
    capsys: pytest.CaptureFixture[str], reports: Path
) -> None:
    run_dir = write(reports, json.dumps(journal_json("run-1", drill_json())))
    (run_dir / "index.html").mkdir()  # the tests run as root: no permission stops a write
    status, err = report(capsys, reports, run_dir)
    assert status == 2
    assert err.startswith(f"gameday: error: {run_dir.resolve() / 'index.html'}: cannot write")
    assert len(err.strip().splitlines()) == 1
    assert load_history(reports / "history.sqlite").runs == ()
