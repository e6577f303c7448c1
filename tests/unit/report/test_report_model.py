"""Reading journals: lenient about what a drill may lack, precise about what is wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from reportjournals import drill_json, journal_json, real_journal

from gameday.errors import InputError
from gameday.record import SCHEMA_VERSION
from gameday.stages.report import ReportError
from gameday.stages.report.model import parse_journal, read_journal


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
    timing = drill.timing("DatabaseDown")
    assert timing is not None and timing.config_most_s == 5.0
    assert timing.production_most_s == 121.1
    assert drill.production_mttr_s == (105.4, 136.4)
    assert drill.verdict == "passed" and run.verdict == "passed"
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


def test_load_rows_with_missing_values_or_nulls_are_read() -> None:
    drill = drill_json(load_keys=("start", "requests"))
    drill["load_series"][3]["requests"] = None
    run = parse_journal(journal_json("x", drill))
    series = run.drills[0].load_series
    assert series[0].p95_ms is None and series[0].errors is None
    assert series[3].requests is None and series[3].error_rate is None


def test_a_load_row_without_its_time_is_named() -> None:
    # One schema: the writer names a bucket's time "start", and the reader guesses no other.
    drill = drill_json()
    drill["load_series"].append({"at": drill["ended_at"], "requests": 5})
    with pytest.raises(
        ReportError, match=r"'scenarios\[0\]\.load_series\[\d+\]\.start' is missing"
    ):
        parse_journal(journal_json("x", drill), "j.json")


# -- what a hostile or corrupt journal holds: always a ReportError naming the field --------

HUGE = int("9" * 400)


def read_changed(change: Callable[[dict[str, Any]], object], tmp_path: Path) -> None:
    """Write a valid journal changed by ``change`` and read it back."""
    journal = journal_json()
    change(journal)
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(journal))
    read_journal(path)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lost_writes", HUGE),
        ("mttd_s", HUGE),
        ("requests", -HUGE),
        ("p95_ms", 1e300),
    ],
)
def test_a_number_too_large_for_a_float_is_named(field: str, value: float, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=rf"field 'scenarios\[0\]\.{field}' must be a number"):
        read_changed(lambda j: j["scenarios"][0].update({field: value}), tmp_path)


def test_a_huge_number_is_described_by_its_size_not_printed(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"not a number of about 400 digits$"):
        read_changed(lambda j: j["scenarios"][0].update(lost_writes=HUGE), tmp_path)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("requests", "a count of 0 or more, not the number -100"),
        ("lost_writes", "a count of 0 or more"),
        ("acknowledged_writes", "a count of 0 or more"),
        ("mttd_s", "a duration of 0 or more, not the number -100"),
        ("mttr_s", "a duration of 0 or more"),
        ("p95_ms", "a duration of 0 or more"),
        ("error_rate", "a fraction from 0 to 1, not the number -100"),
        ("availability", "a fraction from 0 to 1"),
        ("alert_mttd_s.DatabaseDown", "a duration of 0 or more"),
        ("detection[0].firing_s", "a duration of 0 or more"),
        ("error_budget.burned_s", "a duration of 0 or more"),
        ("host.cpu_pressure", "a fraction from 0 to 1"),
        ("targets.mttr_s", "a duration of 0 or more"),
        ("targets.lost_writes", "a count of 0 or more"),
        ("load_series[3].requests", "a count of 0 or more"),
        ("load_series[3].errors", "a count of 0 or more"),
        ("load_series[3].p95_ms", "a duration of 0 or more"),
    ],
)
def test_a_negative_count_duration_or_rate_is_refused(
    path: str, expected: str, tmp_path: Path
) -> None:
    def change(journal: dict[str, Any]) -> None:
        *parents, key = re.split(r"\.|\[(\d+)\]\.?", path)
        target: Any = journal["scenarios"][0]
        for part in (p for p in parents if p):
            target = target[int(part)] if part.isdigit() else target[part]
        target[key] = -100

    field = re.escape(f"scenarios[0].{path}")
    with pytest.raises(ReportError, match=rf"field '{field}' must be {re.escape(expected)}"):
        read_changed(change, tmp_path)


def test_a_rate_above_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"'scenarios\[0\]\.error_rate' must be a fraction"):
        read_changed(lambda j: j["scenarios"][0].update(error_rate=1.5), tmp_path)


def test_the_run_timings_are_durations(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"'timings_s\.bring_up' must be a duration"):
        read_changed(lambda j: j["timings_s"].update(bring_up=-1), tmp_path)


@pytest.mark.parametrize(
    "when",
    ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "2025-13-01T00:00:00"],
)
def test_a_time_that_is_no_utc_time_is_refused(when: str, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"'scenarios\[0\]\.ended_at' must be an ISO 8601"):
        read_changed(lambda j: j["scenarios"][0].update(ended_at=when), tmp_path)


def test_times_are_read_as_utc() -> None:
    journal = journal_json()
    journal["scenarios"][0]["started_at"] = "2025-03-14T12:00:00+02:00"
    drill = parse_journal(journal).drills[0]
    assert drill.started_at == datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    assert drill.started_at.utcoffset() == timedelta(0)


def test_a_journal_nested_too_deeply_is_a_report_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ReportError, match=r"journal\.json: nested too deeply"):
        read_journal(path)


def test_an_integer_past_pythons_digit_limit_is_a_report_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    path.write_text('{"run_id": ' + "9" * 5000 + "}")
    with pytest.raises(ReportError, match=r"journal\.json: not a journal"):
        read_journal(path)


def test_a_lone_surrogate_is_refused_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    journal = journal_json()
    journal["scenarios"][0]["title"] = "\ud800"
    path.write_text(json.dumps(journal))  # ensure_ascii: written as the escape \\ud800
    with pytest.raises(ReportError, match=r"'scenarios\[0\]\.title' must be valid Unicode"):
        read_journal(path)


def test_labels_are_text() -> None:
    journal = journal_json()
    journal["scenarios"][0]["alerts"][0]["labels"]["instance"] = [[[1]]]
    with pytest.raises(ReportError, match=r"alerts\[0\]\.labels\.instance' must be a string"):
        parse_journal(journal)


def test_a_scenario_twice_in_one_journal_is_named() -> None:
    journal = journal_json("dup", drill_json("db"), drill_json("cache"), drill_json("db"))
    with pytest.raises(
        ReportError,
        match=r"j\.json: field 'scenarios\[2\]\.name': scenario 'db' is in the journal twice "
        r"\(also scenarios\[0\]\)",
    ):
        parse_journal(journal, "j.json")


def test_a_key_that_would_not_print_is_escaped_in_the_message() -> None:
    journal = journal_json()
    journal["scenarios"][0]["alert_mttd_s"] = {"Database\nDown\ud800": -1}
    with pytest.raises(ReportError) as caught:
        parse_journal(journal, "j.json")
    message = str(caught.value)
    assert "'scenarios[0].alert_mttd_s.Database\\nDown\\ud800' must be valid Unicode" in message
    assert "\n" not in message
    message.encode("utf-8")


# -- one schema: what the engine writes is what the report reads ------------------------------


def test_a_real_drill_result_reads_back_field_for_field() -> None:
    from reportjournals import real_result

    result = real_result()
    written = result.record()
    journal = json.loads(json.dumps(real_journal()))  # through text, as a file would
    (read,) = parse_journal(journal, "journal.json").drills
    assert read == written
    assert read.check("mttd:DatabaseDown") is not None
    assert read.check("data") is not None and read.check("data").passed  # type: ignore[union-attr]


def test_a_journal_of_the_first_format_loads_as_the_same_record() -> None:
    from reportjournals import as_version_1

    current = parse_journal(real_journal("r1"), "new.json")
    old = parse_journal(as_version_1(real_journal("r1")), "old.json")
    assert old.schema_version == SCHEMA_VERSION  # converted on reading
    (drill,) = old.drills
    (expected,) = current.drills
    assert drill.lost_writes == expected.lost_writes
    assert drill.acknowledged_writes == expected.acknowledged_writes
    # The ids are the new format's; the labels stay as the old journal wrote them.
    since_version_3 = ("silent", "kpi")
    assert [(c.id, c.passed) for c in drill.checks] == [
        (c.id, c.passed) for c in expected.checks if c.kind not in since_version_3
    ]
    assert drill.verdict == "passed" and drill.timing("DatabaseDown") is None
    assert drill.check("data").label == "acknowledged tasks kept"  # type: ignore[union-attr]


def test_a_journal_newer_than_this_gameday_says_its_version() -> None:
    journal = real_journal()
    journal["schema_version"] = SCHEMA_VERSION + 1
    newer = SCHEMA_VERSION + 1
    with pytest.raises(
        ReportError, match=rf"j\.json: the journal's schema version is {newer}, newer"
    ):
        parse_journal(journal, "j.json")
