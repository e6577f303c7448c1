"""Playbook coverage: every alert and drill of the playbook, covered or flagged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from reportjournals import DATABASE_OUTAGE, T0, WriteRun, drill_json, journal_json

from gameday.inputs.project import Project
from gameday.stages.report import CoverageRow, playbook_coverage, record_run, render_run
from gameday.stages.report.coverage import PlaybookOutline

CACHE_SCENARIO = """\
name: cache-failure
title: Cache failure
playbook:
  section: Cache Outages
  alerts: [RedisDown, LowRedisHitRate]
  drill: cache failure  simulation
faults:
  - type: stop_service
    service: redis
detection:
  expect: [RedisDown]
recovery:
  steps:
    - action: start_service
      service: redis
"""


@pytest.fixture
def scenarios(tmp_path: Path) -> Path:
    path = tmp_path / "scenarios"
    path.mkdir()
    (path / "database-outage.yml").write_text(DATABASE_OUTAGE.read_text())
    (path / "cache-failure.yaml").write_text(CACHE_SCENARIO)
    (path / "broken.yml").write_text("name: Not A Valid Name\n")
    return path


@pytest.fixture
def outline(bundled_project: Project) -> PlaybookOutline:
    """The bundled playbook's alerts and drills."""
    assert bundled_project.playbook is not None
    return PlaybookOutline.of(bundled_project.playbook)


def by_name(rows: list[CoverageRow]) -> dict[str, CoverageRow]:
    return {row.name: row for row in rows}


def test_there_is_a_row_for_every_playbook_alert_and_drill(
    scenarios: Path, outline: PlaybookOutline
) -> None:
    rows = playbook_coverage(scenarios, None, outline)
    assert [r.name for r in rows] == [*outline.alerts, *outline.drills]
    assert [r.kind for r in rows] == ["alert"] * 7 + ["drill"] * 4
    assert outline.drills == (
        "Database outage simulation",
        "Network partition testing",
        "Cache failure simulation",
        "Load balancer failure testing",
    )


def test_without_a_playbook_the_rows_are_what_the_scenarios_name(scenarios: Path) -> None:
    rows = playbook_coverage(scenarios, None)
    assert [(r.kind, r.name) for r in rows] == [
        ("alert", "RedisDown"),
        ("alert", "LowRedisHitRate"),
        ("alert", "DatabaseDown"),
        ("drill", "cache failure  simulation"),
        ("drill", "Database outage simulation"),
    ]
    assert all(r.covered for r in rows)


def test_scenarios_cover_what_they_name_expect_or_drill(
    scenarios: Path, outline: PlaybookOutline
) -> None:
    rows = by_name(playbook_coverage(scenarios, None, outline))
    assert rows["DatabaseDown"].scenarios == ("database-outage",)
    assert rows["RedisDown"].scenarios == ("cache-failure",)
    assert rows["LowRedisHitRate"].scenarios == ("cache-failure",)  # named, not expected
    assert rows["Database outage simulation"].scenarios == ("database-outage",)
    # The drill's name is matched whatever its case and spacing.
    assert rows["Cache failure simulation"].scenarios == ("cache-failure",)
    assert rows["DatabaseDown"].status == "never run"


def test_what_no_scenario_exercises_is_flagged_not_covered(
    scenarios: Path, outline: PlaybookOutline
) -> None:
    rows = by_name(playbook_coverage(scenarios, None, outline))
    for name in ("ServiceDown", "NetworkLatency", "Network partition testing"):
        assert not rows[name].covered
        assert rows[name].status == "not covered"


def test_the_last_result_comes_from_the_history(
    scenarios: Path, tmp_path: Path, outline: PlaybookOutline
) -> None:
    db = tmp_path / "history.sqlite"
    later = T0 + timedelta(days=1)
    record_run(journal_json("new", drill_json(start=later, mttd_s=4.25), start=later), db)
    record_run(journal_json("old", drill_json(mttd_s=None)), db)  # recorded late, ran first
    record_run(
        journal_json("other", drill_json("cache-failure", alert="RedisDown", mttd_s=30.0)), db
    )
    rows = by_name(playbook_coverage(scenarios, db, outline))
    (database,) = rows["DatabaseDown"].results
    assert (database.passed, database.run_id, database.detail) == (
        True,
        "new",
        "fired after 4.2 s",
    )
    assert rows["DatabaseDown"].status == "passed"
    (redis,) = rows["RedisDown"].results
    assert redis.passed is False and redis.detail == "fired after 30.0 s, over budget"
    assert rows["Cache failure simulation"].status == "failed"
    # cache-failure names LowRedisHitRate without expecting it: the drill's grade decides.
    assert (
        rows["LowRedisHitRate"].results[0].detail
        == "RedisDown fired after 30 s, over the 15 s budget"
    )


def test_a_missing_history_means_never_run(
    scenarios: Path, tmp_path: Path, outline: PlaybookOutline
) -> None:
    rows = playbook_coverage(scenarios, tmp_path / "none.sqlite", outline)
    assert {r.status for r in rows} == {"never run", "not covered"}


def test_the_run_page_shows_coverage_with_this_runs_result(
    reports: Path, write_run: WriteRun, scenarios: Path, outline: PlaybookOutline
) -> None:
    run_dir = write_run(journal_json("run-1", drill_json(mttd_s=None)))
    render_run(run_dir, scenarios_dir=scenarios, outline=outline)
    html = (run_dir / "index.html").read_text()
    table = html.split('id="coverage"')[1]
    assert 'data-coverage="ServiceDown" data-status="not covered"' in table
    assert 'data-coverage="DatabaseDown" data-status="failed"' in table
    assert 'data-coverage="RedisDown" data-status="never run"' in table
    assert "never fired" in table


def test_without_scenario_files_the_run_covers_what_it_ran(
    reports: Path, write_run: WriteRun, outline: PlaybookOutline
) -> None:
    run_dir = write_run(journal_json("run-1"))
    render_run(run_dir, outline=outline)  # reports/ has no scenarios/ beside it
    table = (run_dir / "index.html").read_text().split('id="coverage"')[1]
    assert 'data-coverage="DatabaseDown" data-status="passed"' in table
    assert 'data-coverage="Database outage simulation" data-status="passed"' in table
    assert 'data-coverage="RedisDown" data-status="not covered"' in table
    assert "7 of 11" not in table and "2 of 11 covered" in table


ERRORS_SCENARIO = CACHE_SCENARIO.replace(
    "alerts: [RedisDown, LowRedisHitRate]", "alerts: [RedisDown, HighUserErrorRate]"
).replace("name: cache-failure", "name: users-errors")


def test_an_alert_the_project_adds_is_a_row_of_its_own_marked_as_added(
    scenarios: Path, bundled_project: Project
) -> None:
    assert bundled_project.playbook is not None
    outline = PlaybookOutline.of(bundled_project.playbook, bundled_project.additions)
    assert outline.additions == ("HighUserErrorRate",)
    (scenarios / "users-errors.yml").write_text(ERRORS_SCENARIO)
    rows = playbook_coverage(scenarios, None, outline)
    # After the playbook's own alerts, before its drills.
    assert [(r.name, r.addition) for r in rows][6:9] == [
        ("NetworkLatency", False),
        ("HighUserErrorRate", True),
        ("Database outage simulation", False),
    ]
    added = by_name(rows)["HighUserErrorRate"]
    assert added.kind == "alert" and added.scenarios == ("users-errors",)
    assert not any(r.addition for r in rows if r.name != "HighUserErrorRate")


def test_an_addition_the_playbook_names_is_the_playbooks_alert() -> None:
    from gameday.inputs.playbook import Playbook

    playbook = Playbook(Path("playbook.md"), (), (), {"WebDown": 3})
    outline = PlaybookOutline.of(playbook, ["WebDown", "CheckoutErrors"])
    assert outline.additions == ("CheckoutErrors",)


def test_the_page_marks_the_added_alert(
    reports: Path, write_run: WriteRun, scenarios: Path, bundled_project: Project
) -> None:
    assert bundled_project.playbook is not None
    outline = PlaybookOutline.of(bundled_project.playbook, bundled_project.additions)
    run_dir = write_run(journal_json("run-1"))
    render_run(run_dir, scenarios_dir=scenarios, outline=outline)
    table = (run_dir / "index.html").read_text().split('id="coverage"')[1]
    row = table.split('data-coverage="HighUserErrorRate"')[1].split("</tr>")[0]
    assert 'data-status="not covered" data-addition="true"' in row
    assert ">added</span>" in row
    assert "is not in the playbook" in table
    assert table.count('data-addition="true"') == 1
