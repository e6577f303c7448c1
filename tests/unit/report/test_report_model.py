"""Reading journals: lenient about what a drill may lack, precise about what is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reportjournals import drill_json, journal_json, real_journal

from gameday.errors import InputError
from gameday.report import ReportError
from gameday.report.model import parse_journal, read_journal


def test_the_builder_writes_the_shape_the_real_journal_has() -> None:
    real = real_journal()
    built = journal_json()
    assert set(built) == set(real)
    assert set(built["scenarios"][0]) == set(real["scenarios"][0])
    assert set(built["scenarios"][0]["checks"][0]) == set(real["scenarios"][0]["checks"][0])
    assert set(built["scenarios"][0]["events"][0]) == set(real["scenarios"][0]["events"][0])
    assert set(built["scenarios"][0]["targets"]) == set(real["scenarios"][0]["targets"])
    assert set(built["scenarios"][0]["playbook"]) == set(real["scenarios"][0]["playbook"])


def test_a_real_journal_reads_back() -> None:
    run = parse_journal(real_journal("r1"))
    (drill,) = run.drills
    assert run.run_id == "r1"
    assert drill.name == "database-outage"
    assert drill.alert_mttd_s == {"DatabaseDown": 4.2}
    assert drill.mttd_floor_s == {"DatabaseDown": 3.0}
    assert drill.noise == ("HighResponseTime",)
    assert len(drill.load_series) == 30
    assert drill.injected_at is not None and drill.injected_at.tzinfo is not None


def test_a_missing_journal_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"journal\.json: no journal here"):
        read_journal(tmp_path / "journal.json")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text('{\n  "run_id": "x",\n  oops\n}')
    with pytest.raises(ReportError, match=r"journal\.json:3: not valid JSON"):
        read_journal(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda j: j.pop("run_id"), "field 'run_id' is missing"),
        (lambda j: j.update(scenarios={}), "field 'scenarios' must be a list, not a dict"),
        (
            lambda j: j["scenarios"][0].update(mttr_s="slow"),
            "field 'scenarios\\[0\\].mttr_s' must be a number or null, not the string 'slow'",
        ),
        (
            lambda j: j["scenarios"][0].update(started_at="yesterday"),
            "field 'scenarios\\[0\\].started_at' must be an ISO 8601 time",
        ),
        (
            lambda j: j["scenarios"][0]["events"][2].pop("at"),
            "field 'scenarios\\[0\\].events\\[2\\].at' is missing",
        ),
        (
            lambda j: j["scenarios"][0].update(notes=[1]),
            "field 'scenarios\\[0\\].notes\\[0\\]' must be a string",
        ),
    ],
)
def test_an_invalid_field_is_named(change: object, message: str, tmp_path: Path) -> None:
    journal = journal_json()
    change(journal)  # type: ignore[operator]
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(journal))
    with pytest.raises(ReportError, match=message) as caught:
        read_journal(path)
    assert str(path) in str(caught.value)


def test_a_report_error_is_bad_input() -> None:
    assert issubclass(ReportError, InputError)
    assert ReportError.exit_code == 2


def test_a_journal_that_is_not_an_object() -> None:
    with pytest.raises(ReportError, match="the top level must be an object, not a list"):
        parse_journal([], "j.json")


def test_load_rows_with_missing_keys_or_nulls_are_read() -> None:
    drill = drill_json(load_keys=("start", "requests"))
    drill["load_series"][3]["requests"] = None
    drill["load_series"].append({"requests": 5})  # no time: cannot be placed, left out
    drill["load_series"].append({"at": drill["ended_at"], "count": 10, "error_rate": 0.5})
    run = parse_journal(journal_json("x", drill))
    series = run.drills[0].load_series
    assert series[0].p95_ms is None and series[0].errors is None
    assert series[3].requests is None and series[3].error_rate is None
    assert series[-1].requests == 10 and series[-1].errors == 5
    assert series[-1].error_rate == 0.5
