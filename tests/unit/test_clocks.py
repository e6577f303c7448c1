"""Communication and escalation clocks: the project's and scenario's fields, how a drill's
marks are judged (on time, late, never, not applicable), and what the grade does with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from smallproject import PROJECT, SCENARIO, write_small_project

from gameday.errors import ProjectError, ScenarioError
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import Clocks, load_scenario, parse_scenario
from gameday.record import CheckRecord, parse_record
from gameday.stages.clocks import (
    Clock,
    ClockReading,
    judge,
    read_clocks,
    reminders_due,
    resolve_clocks,
    span,
)
from gameday.stages.grading import Measurements, grade
from gameday.timeline import Event, EventKind

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 14, 10, 0, 0, tzinfo=UTC)

CLOCKS = """\
clocks:
  status-page:
    label: status page
    done: posted
    due_s: 300
  status-update:
    label: status update
    done: sent
    after: status-page
    repeat: true
    remind_s: 900
    due_s: 1800
  customer-email:
    label: customer email
    done: sent
    due_s: 900
    if_outage_over_s: 900
"""


def shop(tmp_path: Path, clocks: str = CLOCKS) -> Project:
    return load_project(write_small_project(tmp_path, PROJECT + clocks))


def project_error(tmp_path: Path, clocks: str) -> str:
    with pytest.raises(ProjectError) as caught:
        shop(tmp_path, clocks)
    return str(caught.value).replace(f"{tmp_path}/", "")


# -- the project's and the scenario's fields ------------------------------------------------------


def test_the_bundled_project_has_the_playbooks_clocks(bundled_project: Project) -> None:
    clocks = {c.name: c for c in resolve_clocks(bundled_project.spec.clocks, Clocks())}
    assert list(clocks) == [
        "status-page",
        "status-update",
        "customer-email",
        "escalate-l2",
        "escalate-l3",
    ]
    # The playbook's times: status page 5 min, updates every 15-30, customer email past
    # 15 min of outage, the DevOps lead at 30 min, the CTO at 1 hour.
    assert clocks["status-page"].due_s == 300
    assert (clocks["status-update"].remind_s, clocks["status-update"].due_s) == (900, 1800)
    assert clocks["status-update"].after == "status-page" and clocks["status-update"].repeat
    assert (clocks["customer-email"].due_s, clocks["customer-email"].if_outage_over_s) == (900, 900)
    assert clocks["escalate-l2"].due_s == 1800 and clocks["escalate-l3"].due_s == 3600
    assert clocks["escalate-l2"].phrase == "incident escalated to L2 (DevOps lead)"


def test_a_project_without_clocks_has_none(tmp_path: Path) -> None:
    assert shop(tmp_path, "").spec.clocks == {}


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        (
            4,
            "    due_s: -5",
            "gameday.yml:31: field 'clocks.status-page.due_s': Input should be greater than 0",
        ),
        (
            4,
            "    due_s: 5m",
            "gameday.yml:31: field 'clocks.status-page.due_s': Input should be a valid number",
        ),
        (
            10,
            "    remind_s: 2000",
            "gameday.yml:37: field 'clocks.status-update.remind_s': expected at most due_s "
            "(1800), got 2000",
        ),
        (
            15,
            "    due_s: 600",
            "gameday.yml:43: field 'clocks.customer-email.if_outage_over_s': expected at most "
            "due_s (600), got 900",
        ),
        (
            8,
            "    after: status-pages",
            "gameday.yml:35: field 'clocks.status-update.after': expected another clock "
            "(customer-email, status-page), got 'status-pages'",
        ),
        (
            3,
            "    done: posted\n    colour: red",
            "gameday.yml:31: field 'clocks.status-page.colour': unknown field",
        ),
        (
            1,
            "  Status Page:",
            "gameday.yml:28: field 'clocks.Status Page",
        ),
    ],
)
def test_a_bad_clock_is_one_line_naming_file_line_and_field(
    tmp_path: Path, line: int, replacement: str, expected: str
) -> None:
    lines = CLOCKS.splitlines()
    lines[line] = replacement
    message = project_error(tmp_path, "\n".join(lines) + "\n")
    assert message.startswith(expected), message
    assert len(message.splitlines()) == 1


def test_a_clock_names_the_playbook_procedure_it_grades(tmp_path: Path) -> None:
    graded = CLOCKS.replace("    due_s: 300\n", "    due_s: 300\n    section: 1. web outages\n")
    assert shop(tmp_path, graded).spec.clocks["status-page"].section == "1. web outages"
    assert shop(tmp_path).spec.clocks["status-page"].section is None
    wrong = CLOCKS.replace("    due_s: 300\n", "    due_s: 300\n    section: Status Page\n")
    assert project_error(tmp_path, wrong) == (
        "gameday.yml:32: field 'clocks.status-page.section': expected a ## or ### heading "
        "of the playbook (1. Web Outages, 1.1 Web Down, 2. Database Outages, Drill "
        "Scenarios), got 'Status Page'"
    )


def test_a_clock_needs_a_label_and_a_due_time(tmp_path: Path) -> None:
    message = project_error(tmp_path, "clocks:\n  status-page:\n    done: posted\n")
    assert message.splitlines() == [
        "gameday.yml:28: field 'clocks.status-page.label': required, but missing",
        "gameday.yml:28: field 'clocks.status-page.due_s': required, but missing",
    ]


def test_a_scenario_scales_its_projects_clocks_or_sets_them(tmp_path: Path) -> None:
    project = shop(tmp_path)
    text = SCENARIO + "clocks:\n  scale: 0.01\n  due_s: {customer-email: 4}\n"
    scenario = parse_scenario(text, tmp_path / "web-down.yml", project)
    clocks = {c.name: c for c in resolve_clocks(project.spec.clocks, scenario.clocks)}
    assert clocks["status-page"].due_s == pytest.approx(3.0)  # 5 min x 0.01
    assert clocks["status-page"].remind_s == pytest.approx(1.5)  # half-way by default
    assert clocks["status-update"].remind_s == pytest.approx(9.0)
    assert clocks["status-update"].due_s == pytest.approx(18.0)
    # Set outright, not scaled; the condition (9 s once scaled) moves back to it.
    assert clocks["customer-email"].due_s == 4
    assert clocks["customer-email"].if_outage_over_s == 4


@pytest.mark.parametrize(
    ("clocks", "expected"),
    [
        (
            "clocks:\n  due_s: {status-pge: 4}\n",
            "web-down.yml:20: field 'clocks.due_s.status-pge': expected a clock of the project "
            "(customer-email, status-page, status-update), got 'status-pge'",
        ),
        (
            "clocks:\n  scale: 0\n",
            "web-down.yml:20: field 'clocks.scale': Input should be greater than 0",
        ),
        (
            "clocks:\n  scale: '0.01'\n",
            "web-down.yml:20: field 'clocks.scale': Input should be a valid number",
        ),
        (
            "clocks:\n  speed: 2\n",
            "web-down.yml:20: field 'clocks.speed': unknown field",
        ),
    ],
)
def test_a_bad_scenario_clock_names_file_line_and_field(
    tmp_path: Path, clocks: str, expected: str
) -> None:
    project = shop(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(SCENARIO + clocks, Path("web-down.yml"), project)
    assert str(caught.value).startswith(expected), str(caught.value)


# -- judging one clock -------------------------------------------------------------------------


STATUS_PAGE = Clock("status-page", "status page", "posted", due_s=300, remind_s=150)
UPDATE = Clock(
    "status-update",
    "status update",
    "sent",
    due_s=1800,
    remind_s=900,
    after="status-page",
    repeat=True,
)
EMAIL = Clock("customer-email", "customer email", "sent", 900, 450, if_outage_over_s=900)


def reading(
    clock: Clock, marks: tuple[float, ...], outage_s: float, start_s: float = 0.0
) -> ClockReading:
    return ClockReading(clock=clock, marks_s=marks, start_s=start_s, outage_s=outage_s)


def test_a_clock_marked_by_its_due_time_passes() -> None:
    check = judge(reading(STATUS_PAGE, (240.0,), outage_s=1200))
    assert (check.id, check.passed, check.applicable) == ("clock:status-page", True, True)
    assert (check.measured, check.target, check.reason) == ("4 min", "≤ 5 min", "")


def test_a_clock_marked_late_fails_with_how_late() -> None:
    check = judge(reading(STATUS_PAGE, (432.0,), outage_s=1200))
    assert not check.passed and check.applicable
    assert check.reason == "status page posted after 7.2 min, over its 5 min clock"


def test_a_clock_never_marked_fails() -> None:
    check = judge(reading(STATUS_PAGE, (), outage_s=1200))
    assert (check.passed, check.measured) == (False, "never")
    assert check.reason == "status page never posted"


def test_a_clock_not_yet_due_when_the_outage_ended_is_not_applicable() -> None:
    # A 2-minute outage owed no status page yet; one posted anyway is on time.
    check = judge(reading(STATUS_PAGE, (), outage_s=120))
    assert check.verdict is None
    assert check.reason == "the outage ended after 2 min, before its 5 min clock ran out"
    assert judge(reading(STATUS_PAGE, (60.0,), outage_s=120)).verdict is True


def test_a_clock_whose_condition_never_held_is_not_applicable() -> None:
    check = judge(reading(EMAIL, (), outage_s=600))
    assert (check.passed, check.applicable, check.verdict) == (False, False, None)
    assert check.reason == (
        "the outage lasted 10 min, not past the 15 min that calls for this clock"
    )
    # Past the condition it applies, and a mark by its due time passes.
    assert judge(reading(EMAIL, (840.0,), outage_s=1000)).verdict is True
    assert judge(reading(EMAIL, (), outage_s=1000)).reason == "customer email never sent"


def test_a_repeating_clock_judges_every_gap_and_the_last_one() -> None:
    every_20_min = judge(reading(UPDATE, (1500.0, 2700.0), outage_s=3600, start_s=300))
    assert every_20_min.passed, every_20_min.reason
    assert every_20_min.measured == "2 times, longest gap 20 min"
    one_gap_too_long = judge(reading(UPDATE, (1500.0, 3600.0), outage_s=3700, start_s=300))
    assert (
        one_gap_too_long.reason == "status update sent 35 min after the last, over its 30 min clock"
    )
    silent_at_the_end = judge(reading(UPDATE, (1500.0,), outage_s=4000, start_s=300))
    assert silent_at_the_end.reason == (
        "status update not sent in the last 41.7 min of the outage, over its 30 min clock"
    )
    never = judge(reading(UPDATE, (), outage_s=4000, start_s=300))
    assert never.reason == "status update never sent"
    over_before_due = judge(reading(UPDATE, (), outage_s=1200, start_s=300))
    assert over_before_due.verdict is None
    assert over_before_due.reason == (
        "the outage ended 15 min after the clock started, before its 30 min clock ran out"
    )


def test_marks_are_read_from_the_timeline_in_seconds_after_the_fault() -> None:
    def mark(seconds: float, name: str) -> Event:
        return Event(T0 + timedelta(seconds=seconds), EventKind.CLOCK_MARKED, "", name)

    events = [
        mark(100, "status-update"),  # before the status page: no update yet
        mark(200, "status-page"),
        mark(900, "status-update"),
        Event(T0 + timedelta(seconds=950), EventKind.NOTE, "not a mark", "status-update"),
    ]
    readings = {
        r.clock.name: r
        for r in read_clocks((STATUS_PAGE, UPDATE, EMAIL), events, T0, T0 + timedelta(seconds=1000))
    }
    assert readings["status-page"].marks_s == (200.0,)
    assert (readings["status-update"].start_s, readings["status-update"].marks_s) == (
        200.0,
        (900.0,),
    )
    assert readings["customer-email"].marks_s == ()
    assert {r.outage_s for r in readings.values()} == {1000.0}
    assert read_clocks((STATUS_PAGE,), events, None, T0) == ()


def test_times_are_said_the_way_people_say_them() -> None:
    assert [span(s) for s in (3.0, 12.4, 300, 432, 3600)] == [
        "3.0 s",
        "12 s",
        "5 min",
        "7.2 min",
        "1 h",
    ]


def test_reminders_come_due_then_overdue_and_stop_once_marked() -> None:
    def keys(marks: dict[str, list[float]], at: float) -> set[tuple[str, str]]:
        return {
            (r.clock.name, "overdue" if r.overdue else "due")
            for r in reminders_due((STATUS_PAGE, UPDATE), marks, at)
        }

    assert keys({}, 100) == set()
    assert keys({}, 160) == {("status-page", "due")}
    assert keys({}, 301) == {("status-page", "due"), ("status-page", "overdue")}
    # Posted at 320 s: its reminders stop, and the update clock counts from the post.
    assert keys({"status-page": [320.0]}, 1000) == set()
    assert keys({"status-page": [320.0]}, 1300) == {("status-update", "due")}
    # Each update starts the clock again, with reminders of its own.
    reminders = reminders_due((UPDATE,), {"status-page": [320.0], "status-update": [1300.0]}, 2300)
    assert [(r.key, r.at_s) for r in reminders] == [(("status-update", "due", 1300.0), 3100.0)]
    assert "CLOCK due: status update sent by T+51.7 min" in reminders[0].text()


# -- grading ------------------------------------------------------------------------------------


def measured(*, people: bool, clocks: tuple[ClockReading, ...]) -> Measurements:
    return Measurements(
        alert_mttd_s={"DatabaseDown": 4.0},
        mttr_s=30.0,
        p95_ms=120.0,
        error_rate=0.0,
        availability=1.0,
        lost_writes=0,
        mtta_s=10.0 if people else None,
        acknowledgement_expected=people,
        clocks=clocks,
    )


def test_without_people_the_clocks_are_not_applicable_and_do_not_count() -> None:
    scenario = load_scenario(REPO / "scenarios" / "database-outage.yml")
    result = grade(scenario, measured(people=False, clocks=(reading(STATUS_PAGE, (), 1200),)))
    check = next(c for c in result.checks if c.id == "clock:status-page")
    assert (check.passed, check.applicable, check.verdict) == (False, False, None)
    assert check.reason == "no people responded, so nobody kept this clock"
    assert result.passed and result.reasons == []


def test_with_people_a_late_clock_fails_the_drill_with_its_reason() -> None:
    scenario = load_scenario(REPO / "scenarios" / "database-outage.yml")
    late = (reading(STATUS_PAGE, (432.0,), 1200), reading(EMAIL, (), 600))
    result = grade(scenario, measured(people=True, clocks=late))
    assert not result.passed
    assert result.reasons == ["status page posted after 7.2 min, over its 5 min clock"]
    email = next(c for c in result.checks if c.id == "clock:customer-email")
    assert email.verdict is None  # a 10-minute outage asks for no customer email


def test_a_journal_written_before_clocks_reads_its_checks_as_applicable() -> None:
    old = {
        "run_id": "r1",
        "schema_version": 2,
        "started_at": T0.isoformat(),
        "ended_at": T0.isoformat(),
        "scenarios": [
            {
                "name": "db",
                "passed": True,
                "started_at": T0.isoformat(),
                "ended_at": T0.isoformat(),
                "checks": [{"id": "mttr", "passed": True}],
            }
        ],
    }
    check = parse_record(old, "old.json").drills[0].checks[0]
    assert (check.applicable, check.verdict) == (True, True)
    new = CheckRecord(id="clock:x", passed=False, applicable=False)
    assert CheckRecord.model_validate_json(new.model_dump_json()).verdict is None
