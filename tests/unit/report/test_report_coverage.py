"""Playbook coverage: every alert and drill of the playbook, covered or flagged."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from reportjournals import DATABASE_OUTAGE, T0, XSS, WriteRun, drill_json, journal_json

from gameday.inputs.playbook import parse_playbook
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import load_all
from gameday.stages.report import (
    CoverageRow,
    playbook_coverage,
    publish_run,
    record_run,
    render_run,
)
from gameday.stages.report.coverage import (
    Exercise,
    GradingClock,
    PlaybookOutline,
    ProcedureRow,
    procedure_coverage,
    procedure_rows,
)
from gameday.stages.report.store import load_history

REPO = Path(__file__).resolve().parents[3]

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
    added_alerts = (
        "DatabaseStandbyDown",
        "HighUserErrorRate",
        "PaymentProviderDown",
        "PaymentQueueBacklog",
    )
    assert outline.additions == added_alerts
    (scenarios / "users-errors.yml").write_text(ERRORS_SCENARIO)
    rows = playbook_coverage(scenarios, None, outline)
    # After the playbook's own alerts, before its drills.
    assert [(r.name, r.addition) for r in rows][6:12] == [
        ("NetworkLatency", False),
        ("DatabaseStandbyDown", True),
        ("HighUserErrorRate", True),
        ("PaymentProviderDown", True),
        ("PaymentQueueBacklog", True),
        ("Database outage simulation", False),
    ]
    added = by_name(rows)["HighUserErrorRate"]
    assert added.kind == "alert" and added.scenarios == ("users-errors",)
    assert not any(r.addition for r in rows if r.name not in added_alerts)


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
    # The bundled project's four additions, and nothing else.
    assert table.count('data-addition="true"') == len(bundled_project.additions) == 4


# -- the playbook's procedures ------------------------------------------------------------------

OPS_PLAYBOOK = """\
# Ops playbook

## Web Outages
### Web Down
**Alert**: `WebDown`

## Communication
### Status Page
### Internal Chat

## Tools
### Dashboards

## Escalation
### Pager

## Testing
### Drill Scenarios
- Web outage drill

## Billing <Outage> & Co
```markdown
## Not a procedure
```
"""
OPS_NOTES = {
    "internal chat": "the chat is the team's own",
    "TOOLS": f"links <b>only</b> & {XSS}",
}
STATUS_PAGE = GradingClock("status-page", "status page posted", "status page")
WEB_DOWN = Exercise("web-down", ("WebDown",), "Web outage drill", "Web Down")
BILLING = Exercise("billing", (), None, "Web Outages", ("billing <outage> & CO",))


@pytest.fixture
def ops() -> PlaybookOutline:
    playbook = parse_playbook(OPS_PLAYBOOK, Path("playbook.md"))
    return PlaybookOutline.of(playbook, clocks=[STATUS_PAGE], notes=OPS_NOTES)


def procedures_by_title(rows: list[ProcedureRow]) -> dict[str, ProcedureRow]:
    return {row.title: row for row in rows}


def test_a_procedure_row_for_every_heading_in_the_playbooks_order(ops: PlaybookOutline) -> None:
    rows = procedure_rows([WEB_DOWN, BILLING], {}, ops)
    assert [(r.title, r.line, r.level) for r in rows] == [
        ("Web Outages", 3, 2),
        ("Web Down", 4, 3),
        ("Communication", 7, 2),
        ("Status Page", 8, 3),
        ("Internal Chat", 9, 3),
        ("Tools", 11, 2),
        ("Dashboards", 12, 3),
        ("Escalation", 14, 2),
        ("Pager", 15, 3),
        ("Testing", 17, 2),
        ("Drill Scenarios", 18, 3),
        ("Billing <Outage> & Co", 21, 2),
    ]
    assert procedure_rows([WEB_DOWN], {}, None) == []  # no playbook, no procedures


def test_each_procedure_says_what_accounts_for_it(ops: PlaybookOutline) -> None:
    rows = procedures_by_title(procedure_rows([WEB_DOWN, BILLING], {}, ops))
    # A scenario proves its section: the alert section's heading and its group's.
    assert rows["Web Down"].scenarios == ("web-down", "billing")
    assert rows["Web Outages"].scenarios == ("web-down", "billing")
    # ... the procedures it names, and for the heading that lists the drills, its drill.
    assert rows["Billing <Outage> & Co"].scenarios == ("billing",)
    assert rows["Drill Scenarios"].scenarios == ("web-down",)
    assert rows["Web Down"].status == "never run"
    assert rows["Status Page"].clocks == (STATUS_PAGE,)
    assert rows["Status Page"].status == "graded in human mode"
    assert (rows["Internal Chat"].note, rows["Internal Chat"].status) == (
        "the chat is the team's own",
        "not drilled",
    )
    # Headings with nothing of their own: covered by their section, or by their parts.
    assert rows["Dashboards"].status == "covered by its section"
    assert rows["Dashboards"].section == rows["Tools"]
    assert rows["Communication"].status == "covered by its parts"
    assert rows["Communication"].parts == ("Status Page", "Internal Chat")
    assert rows["Testing"].parts == ("Drill Scenarios",)
    # The gap: nothing accounts for Pager, so its parent is not covered by its parts either.
    assert rows["Pager"].status == "not covered" and not rows["Pager"].covered
    assert rows["Escalation"].status == "not covered"
    assert [r.title for r in rows.values() if not r.covered] == ["Escalation", "Pager"]


def test_a_group_of_sections_is_proved_by_each_and_stands_for_its_first() -> None:
    playbook = parse_playbook(
        "# Ops\n## Data\n### Primary\n**Alert**: `PrimaryDown`\n"
        "### Replica\n**Alert**: `ReplicaLag`\n",
        Path("playbook.md"),
    )
    outline = PlaybookOutline.of(playbook)
    by_group = Exercise("data", (), None, "data")  # the group: its first section
    by_replica = Exercise("replica", (), None, "Replica")
    rows = procedures_by_title(procedure_rows([by_group, by_replica], {}, outline))
    assert rows["Data"].scenarios == ("data", "replica")
    assert rows["Primary"].scenarios == ("data",)
    assert rows["Replica"].scenarios == ("replica",)


def test_a_procedure_takes_its_scenarios_last_results(ops: PlaybookOutline, tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    record_run(journal_json("run-1", drill_json("web-down", mttd_s=40.0)), db)
    latest = load_history(db).latest_by_scenario()
    rows = procedures_by_title(procedure_rows([WEB_DOWN, BILLING], latest, ops))
    web_down, billing = rows["Web Down"].results
    assert (web_down.passed, web_down.run_id) == (False, "run-1")
    assert "over the 15 s budget" in web_down.detail
    assert (billing.passed, billing.detail) == (None, "never run")
    assert rows["Web Outages"].status == "failed"  # one failed, one never run
    assert rows["Billing <Outage> & Co"].status == "never run"


def test_the_page_shows_the_procedures_escaped(
    reports: Path, write_run: WriteRun, tmp_path: Path, ops: PlaybookOutline
) -> None:
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    web_down = CACHE_SCENARIO.replace("name: cache-failure", "name: web-down").replace(
        "  section: Cache Outages\n", "  section: Web Down\n  procedures: [Billing <Outage> & Co]\n"
    )
    (scenarios / "web-down.yml").write_text(
        web_down.replace("cache failure  simulation", "Web outage drill")
    )
    run_dir = write_run(journal_json("run-1", drill_json("web-down")))
    render_run(run_dir, scenarios_dir=scenarios, outline=ops)
    html = (run_dir / "index.html").read_text()
    table = html.split('id="procedures"')[1]
    assert XSS not in html and "<b>only</b>" not in html
    assert "links &lt;b&gt;only&lt;/b&gt; &amp; &lt;script&gt;" in table
    assert 'data-procedure="Billing &lt;Outage&gt; &amp; Co" data-status="passed"' in table
    assert 'data-procedure="Status Page" data-status="graded in human mode"' in table
    assert (
        "graded as the clock <code>status-page</code> (status page posted) in human mode" in table
    )
    assert 'data-procedure="Dashboards" data-status="covered by its section"' in table
    assert "covered by its section <em>Tools</em>" in table
    assert "covered by its parts: Status Page, Internal Chat" in table
    assert 'data-procedure="Pager" data-status="not covered"' in table
    assert "10 of 12 procedures covered. Not covered: Escalation, Pager." in table
    assert "Not a procedure" not in table


def test_the_history_page_shows_the_procedures_the_history_recorded(
    reports: Path, write_run: WriteRun, ops: PlaybookOutline
) -> None:
    drill = drill_json("billing", procedures=("Billing <Outage> & Co",))
    publish_run(write_run(journal_json("run-1", drill)), reports, outline=ops)
    history = load_history(reports / "history.sqlite")
    (record,) = history.drills
    assert record.playbook.procedures == ("Billing <Outage> & Co",)
    # No scenario files beside the reports: the history's own record of what it proved.
    table = (reports / "index.html").read_text().split('id="procedures"')[1]
    assert 'data-procedure="Billing &lt;Outage&gt; &amp; Co" data-status="passed"' in table


def test_without_a_playbook_there_are_no_procedure_rows(
    reports: Path, write_run: WriteRun, scenarios: Path
) -> None:
    run_dir = write_run(journal_json("run-1"))
    render_run(run_dir, scenarios_dir=scenarios)
    assert 'id="procedures"' not in (run_dir / "index.html").read_text()


@pytest.mark.parametrize("root", [REPO, REPO / "examples" / "orders"], ids=["bundled", "orders"])
def test_no_procedure_of_a_bundled_playbook_is_left_uncovered(root: Path) -> None:
    project = load_project(root / "gameday.yml")
    outline = PlaybookOutline.of_project(project)
    assert outline is not None and outline.procedures
    rows = procedure_coverage(project.scenarios_dir, None, outline)
    assert [r.title for r in rows if not r.covered] == []
    # Each scenario that names procedures proves each of them.
    for scenario in load_all([project.scenarios_dir], project):
        for name in scenario.playbook.procedures:
            proved = [r for r in rows if r.title.lower() == name.lower()]
            assert proved and all(scenario.name in r.scenarios for r in proved), name


def test_the_bundled_playbooks_procedures_are_proved_clocked_or_noted(
    bundled_project: Project,
) -> None:
    outline = PlaybookOutline.of_project(bundled_project)
    assert outline is not None
    rows = procedures_by_title(procedure_coverage(bundled_project.scenarios_dir, None, outline))
    assert rows["Database Outage"].scenarios == (
        "database-failover",
        "database-outage",
        "database-standby-lost",
        "disaster-recovery",
    )
    assert rows["Regular Testing"].scenarios == ("disaster-recovery",)
    assert rows["API Gateway Outage"].scenarios == ("load-balancer-failure",)
    assert rows["Web Application Outage"].scenarios == ("service-down",)
    assert [c.name for c in rows["Status Page Updates"].clocks] == ["status-page", "status-update"]
    assert [c.name for c in rows["Level 3 (CTO/VP Engineering)"].clocks] == ["escalate-l3"]
    assert rows["Payment Processing Outage"].scenarios == (
        "payment-provider-down",
        "payment-provider-errors",
        "payment-provider-slow",
    )
    assert rows["Documentation"].section == rows["Tools and Resources"]
