"""The history: one row per run whatever happens, and slower runs flagged."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from reportjournals import T0, XSS, WriteRun, drill_json, journal_json

from gameday.stages.report import ReportError, publish_run, record_run, render_history, render_run
from gameday.stages.report.history import Timing, slower, trends
from gameday.stages.report.store import load_history


def run_of(index: int, mttd_s: float | None, mttr_s: float | None) -> dict[str, Any]:
    start = T0 + timedelta(days=91 * index)  # one game day a quarter
    return journal_json(
        f"q{index}", drill_json(start=start, mttd_s=mttd_s, mttr_s=mttr_s), start=start
    )


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_recording_a_run_twice_keeps_one_copy(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    journal = journal_json("run-1", drill_json(), drill_json("cache-failure", alert="RedisDown"))
    record_run(journal, db)
    record_run(journal, db)
    assert (count(db, "runs"), count(db, "drills"), count(db, "detections")) == (1, 2, 2)


def test_recording_a_run_again_replaces_what_was_recorded(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(journal_json("run-1", drill_json(), drill_json("cache-failure")), db)
    record_run(journal_json("run-1", drill_json(mttd_s=5.5)), db)
    history = load_history(db)
    assert [d.scenario for d in history.drills] == ["database-outage"]
    assert history.drills[0].mttd_s == 5.5
    assert history.drills[0].alert_mttd_s == {"DatabaseDown": 5.5}
    assert history.drills[0].alert_config_s == {"DatabaseDown": 3.0}


def test_what_is_recorded_reads_back(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "history.sqlite"
    record_run(journal_json("run-1", drill_json(mttd_s=None, mttr_s=None, lost_writes=1)), db)
    (run,) = load_history(db).runs
    (drill,) = load_history(db).drills
    assert run.run_id == "run-1" and not run.passed and run.started_at == T0
    assert drill.mttd_s is None and drill.mttr_s is None and drill.lost_writes == 1
    assert drill.alert_passed == {"DatabaseDown": False}
    assert drill.reasons[0] == "DatabaseDown never fired"
    assert drill.playbook.drill == "Database outage simulation"


def test_an_invalid_journal_is_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    journal = journal_json("run-1")
    del journal["scenarios"][0]["started_at"]
    with pytest.raises(ReportError, match=r"'scenarios\[0\]\.started_at' is missing"):
        record_run(journal, db)
    assert not db.exists() or count(db, "runs") == 0


def test_a_journal_that_is_not_an_object_is_a_report_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="the top level must be an object, not a list"):
        record_run([], tmp_path / "history.sqlite")  # type: ignore[arg-type]


def test_a_file_that_is_not_a_database_is_a_report_error(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    db.write_text("not sqlite at all, but long enough to have a header" * 20)
    with pytest.raises(ReportError, match="cannot use the history database"):
        record_run(journal_json(), db)


def test_a_database_from_a_newer_gameday_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ReportError, match="newer gameday"):
        load_history(db)


@pytest.mark.parametrize(
    ("previous", "current", "flagged"),
    [
        (10.0, 12.0, False),  # exactly 20% slower: not flagged
        (10.0, 12.1, True),
        (10.0, 5.0, False),
        (10.0, None, True),  # never reached after it had been
        (None, 30.0, False),
        (None, None, False),
    ],
)
def test_slower_means_more_than_twenty_percent(
    previous: float | None, current: float | None, flagged: bool
) -> None:
    assert slower(previous, current) is flagged


def test_a_slower_quarter_stands_out(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    for i, (mttd, mttr) in enumerate([(3.0, 20.0), (3.3, 21.0), (4.5, 21.5), (4.4, 30.0)]):
        record_run(run_of(i, mttd, mttr), db)
    (trend,) = trends(load_history(db))
    assert [p.run_id for p in trend.points] == ["q0", "q1", "q2", "q3"]
    assert [p.mttd.slower for p in trend.points] == [False, False, True, False]
    assert [p.mttr.slower for p in trend.points] == [False, False, False, True]
    assert trend.points[2].mttd.change == "+36%"
    assert trend.latest.slower
    assert Timing(None, 4.4, first=False).change == "was 4.4 s"


def test_the_history_page_lists_runs_trends_and_regressions(
    reports: Path, write_run: WriteRun
) -> None:
    db = reports / "history.sqlite"
    for i, (mttd, mttr) in enumerate([(3.0, 20.0), (3.3, 21.0), (4.5, 21.5)]):
        journal = run_of(i, mttd, mttr)
        if i != 1:  # q1's report was deleted: listed, not linked
            render_run(write_run(journal))
        record_run(journal, db)
    page = render_history(reports)
    assert page == reports / "index.html"
    html = page.read_text()
    assert html.index('data-run="q2"') < html.index('data-run="q0"')  # newest first
    assert 'href="q0/index.html"' in html and 'href="q2/index.html"' in html
    assert 'href="q1/index.html"' not in html and "(report not found)" in html
    assert html.count('data-slower="true"') == 1
    assert "+36% slower" in html
    assert 'id="regressions"' in html
    assert "MTTD 4.5 s, was 3.3 s (+36%)" in " ".join(html.split())
    assert html.count('class="sparkline"') == 2
    assert 'class="regression"' in html
    assert 'id="coverage"' in html and 'data-coverage="DatabaseDown"' in html
    assert "<script" not in html


def test_a_run_that_never_recovers_is_flagged(reports: Path) -> None:
    db = reports / "history.sqlite"
    record_run(run_of(0, 3.0, 20.0), db)
    record_run(run_of(1, None, None), db)
    html = render_history(reports).read_text()
    assert "MTTD never reached, was 3.0 s" in " ".join(html.split())
    assert "MTTR never reached, was 20 s" in " ".join(html.split())


def test_an_empty_history_renders(reports: Path) -> None:
    html = render_history(reports).read_text()
    assert "No run recorded yet" in html
    assert not (reports / "history.sqlite").exists()


def test_the_history_page_escapes_what_runs_recorded(reports: Path) -> None:
    drill = drill_json(mttd_s=None)
    drill["title"] = XSS
    drill["reasons"] = [XSS]
    record_run(journal_json("run-1", drill), reports / "history.sqlite")
    html = render_history(reports).read_text()
    assert XSS not in html and "&lt;script&gt;" in html


def test_a_journal_read_from_disk_records_as_is(reports: Path, write_run: WriteRun) -> None:
    run_dir = write_run(journal_json("from-disk"))
    journal = json.loads((run_dir / "journal.json").read_text())
    record_run(journal, reports / "history.sqlite")
    assert [r.run_id for r in load_history(reports / "history.sqlite").runs] == ["from-disk"]


# -- publishing: the run's files, the history and its page agree whatever fails -----------


def runs_in(db: Path) -> list[str]:
    return [r.run_id for r in load_history(db).runs]


def test_publishing_writes_the_report_records_the_run_and_writes_the_page(
    reports: Path, write_run: WriteRun
) -> None:
    run_dir = write_run(journal_json("run-1"))
    page = publish_run(run_dir, reports)
    assert page == run_dir / "index.html" and page.is_file()
    assert (run_dir / "postmortem-database-outage.md").is_file()
    assert runs_in(reports / "history.sqlite") == ["run-1"]
    assert 'data-run="run-1"' in (reports / "index.html").read_text()


def test_a_run_folder_that_cannot_be_written_is_not_recorded(
    reports: Path, write_run: WriteRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = write_run(journal_json("run-1"))
    write_text = Path.write_text

    def refuse_in_run_dir(self: Path, *args: Any, **kwargs: Any) -> int:
        if self.parent == run_dir:
            raise PermissionError(13, "Permission denied", str(self))
        return write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", refuse_in_run_dir)
    with pytest.raises(ReportError, match=r"run-1/index\.html: cannot write the report"):
        publish_run(run_dir, reports)
    assert runs_in(reports / "history.sqlite") == []
    assert not (reports / "index.html").exists()
    assert not list(run_dir.glob(".*.tmp"))


def test_a_history_page_that_cannot_be_written_leaves_the_history_as_it_was(
    reports: Path, write_run: WriteRun
) -> None:
    publish_run(write_run(journal_json("run-1", drill_json(mttd_s=3.6))), reports)
    (reports / "index.html").unlink()
    (reports / "index.html").mkdir()  # root writes anywhere: a folder in the page's place
    run_dir = write_run(journal_json("run-1", drill_json(mttd_s=5.5)))
    with pytest.raises(ReportError, match=r"reports/index\.html: cannot write the report"):
        publish_run(run_dir, reports)
    (drill,) = load_history(reports / "history.sqlite").drills
    assert drill.mttd_s == 3.6
    write_run(journal_json("run-2"))
    with pytest.raises(ReportError):
        publish_run(reports / "run-2", reports)
    assert runs_in(reports / "history.sqlite") == ["run-1"]


def test_a_scenario_twice_is_named_not_blamed_on_the_database(
    reports: Path, write_run: WriteRun
) -> None:
    run_dir = write_run(journal_json("dup", drill_json(), drill_json()))
    with pytest.raises(ReportError) as caught:
        publish_run(run_dir, reports)
    message = str(caught.value)
    assert str(run_dir / "journal.json") in message
    assert "scenario 'database-outage' is in the journal twice" in message
    assert "UNIQUE" not in message and "history database" not in message


def inconclusive(journal: dict[str, Any]) -> dict[str, Any]:
    for drill in journal["scenarios"]:
        drill["passed"], drill["verdict"] = False, "inconclusive"
        drill["inconclusive"] = ["the host was saturated"]
    journal["passed"], journal["verdict"] = False, "inconclusive"
    return journal


def test_an_inconclusive_drill_is_kept_but_never_flagged_or_compared(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(run_of(0, 4.0, 10.0), db)
    record_run(inconclusive(run_of(1, 9.0, 40.0)), db)  # a busy host: much slower
    record_run(run_of(2, 4.2, 10.5), db)
    history = load_history(db)
    assert [d.outcome for d in history.drills] == ["passed", "inconclusive", "passed"]
    (trend,) = trends(history)
    busy, after = trend.points[1], trend.points[2]
    assert busy.verdict == "inconclusive" and not busy.slower
    # The run after is compared with the last conclusive one (4.0 s), not with 9.0 s.
    assert after.mttd.before == 4.0 and not after.slower


def test_a_version_1_history_reads_its_drills_as_passed_or_failed(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(run_of(0, 4.0, 10.0), db)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE verdicts")
        conn.execute("PRAGMA user_version = 1")
    (drill,) = load_history(db).drills  # the missing table is created on opening
    assert drill.verdict == "" and drill.outcome == "passed"


def test_a_version_2_history_has_no_procedures_until_it_records_some(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(run_of(0, 4.0, 10.0), db)
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE procedures")
        conn.execute("PRAGMA user_version = 2")
    (drill,) = load_history(db).drills  # the missing table is created on opening
    assert drill.playbook.procedures == ()
    proved = drill_json("disaster-recovery", procedures=("Regular Testing", "Regular Testing"))
    record_run(journal_json("run-2", proved, start=T0 + timedelta(days=1)), db)
    assert load_history(db).drills[-1].playbook.procedures == ("Regular Testing",)
