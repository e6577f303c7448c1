"""The pytest plugin, run by pytester on a fake engine: collection, marker, options, the
failure message, JUnit properties and the journal. No Docker.

The fake engine is plugged in the documented way, a ``pytest_gameday_engine`` hook in the
tested project's conftest.py: it grades every drill from made-up measurements (a scenario
whose name starts with ``must-fail`` never sees its alert fire).
"""

from __future__ import annotations

import json
import shutil
import textwrap
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]


def _plugin_args() -> tuple[str, ...]:
    """Nothing when gameday is installed with its pytest11 entry point (it loads itself, and
    ``-p`` would register it twice); ``-p gameday.adapters.pytest_plugin`` in a checkout
    without it."""
    installed = {ep.value for ep in entry_points(group="pytest11")}
    return (
        ()
        if "gameday.adapters.pytest_plugin" in installed
        else ("-p", "gameday.adapters.pytest_plugin")
    )


PLUGIN = _plugin_args()

FAKE_ENGINE_CONFTEST = '''
from __future__ import annotations

from dataclasses import dataclass, field

from gameday.stages.grading import Measurements, grade
from gameday.stages.journal import DrillResult
from gameday.timeline import utcnow

EVENTS = []


@dataclass
class FakeReplica:
    run_id: str


@dataclass
class FakeEngine:
    """Grades every drill from made-up measurements; records what it was asked."""

    def start_replica(self, *, project, attach_to):
        EVENTS.append(("start", project.name if project else None, attach_to))
        return FakeReplica(attach_to or "fake-run")

    def stop_replica(self, replica):
        EVENTS.append(("stop", replica.run_id))

    def run_drill(self, replica, scenario):
        EVENTS.append(("drill", scenario.name, replica.run_id))
        broken = scenario.name.startswith("must-fail")
        measurements = Measurements(
            alert_mttd_s={a: None if broken else 3.25 for a in scenario.detection.expect},
            mttr_s=None if broken else 12.5,
            p95_ms=48.0,
            error_rate=0.125 if broken else 0.0,
            availability=None,
            lost_writes=2 if broken else 0,
            steady_problems=("gateway unhealthy",) if broken else (),
        )
        now = utcnow()
        return DrillResult(
            scenario=scenario,
            started_at=now,
            ended_at=now,
            injected_at=now,
            events=(),
            measurements=measurements,
            grade=grade(scenario, measurements),
        )


def pytest_gameday_engine(config):
    return FakeEngine()


def pytest_unconfigure(config):
    import json, pathlib
    pathlib.Path("engine-events.json").write_text(json.dumps(EVENTS))
'''

SCENARIO = """\
name: {name}
title: {title}
playbook:
  section: Database Outages
  alerts: [DatabaseDown]
faults:
  - type: stop_service
    service: postgres
detection:
  expect: [DatabaseDown]
  within_s: 15
recovery:
  steps:
    - action: start_service
      service: postgres
targets:
  mttd_s: 15
  mttr_s: 45
  p95_ms: 2500
  error_rate: 0.5
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(FAKE_ENGINE_CONFTEST)
    scenarios = pytester.mkdir("scenarios")
    (scenarios / "db.yml").write_text(SCENARIO.format(name="db-outage", title="DB outage"))
    (scenarios / "broken.yaml").write_text(SCENARIO.format(name="must-fail-db", title="Must fail"))
    return pytester


def events(pytester: pytest.Pytester) -> list[list[object]]:
    return json.loads((pytester.path / "engine-events.json").read_text())  # type: ignore[no-any-return]


def test_each_scenario_file_is_one_test_and_other_yaml_is_ignored(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "compose.yml").write_text("services:\n  web: {image: x}\n")
    (project.path / "scenarios" / "list.yml").write_text("- faults\n- detection\n")
    (project.path / "scenarios" / "bad.yml").write_text("key: [unclosed\n")
    result = project.runpytest(*PLUGIN, "--collect-only", "-q", "scenarios")
    result.stdout.fnmatch_lines(
        ["scenarios/broken.yaml::must-fail-db", "scenarios/db.yml::db-outage", "*2 tests*"]
    )
    result.stdout.no_fnmatch_line("*compose*")
    assert not (project.path / "engine-events.json").exists() or events(project) == []


def test_scenario_files_outside_the_scenario_directory_need_naming(
    project: pytest.Pytester,
) -> None:
    elsewhere = project.mkdir("tests").joinpath("must-fail")
    elsewhere.mkdir()
    (elsewhere / "x.yml").write_text(SCENARIO.format(name="elsewhere", title="Elsewhere"))
    result = project.runpytest(*PLUGIN, "--collect-only", "-q", "tests")
    result.stdout.no_fnmatch_line("*elsewhere*")
    result = project.runpytest(*PLUGIN, "--collect-only", "-q", "tests/must-fail/x.yml")
    result.stdout.fnmatch_lines(["tests/must-fail/x.yml::elsewhere"])
    result = project.runpytest(*PLUGIN, "--collect-only", "-q", "tests/must-fail")
    result.stdout.fnmatch_lines(["tests/must-fail/x.yml::elsewhere"])


def test_the_scenario_directory_is_an_ini_option(project: pytest.Pytester) -> None:
    drills = project.mkdir("drills")
    (drills / "a.yml").write_text(SCENARIO.format(name="from-ini", title="From ini"))
    project.makeini("[pytest]\ngameday_scenarios = drills\n")
    result = project.runpytest(*PLUGIN, "--collect-only", "-q")
    result.stdout.fnmatch_lines(["drills/a.yml::from-ini"])
    result.stdout.no_fnmatch_line("*db-outage*")


def test_a_failed_grade_fails_with_its_reasons_and_no_traceback(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest(*PLUGIN, "scenarios")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ gameday drill must-fail-db: Must fail _*",
            "drill must-fail-db (Must fail) failed its grade:",
            "  - DatabaseDown never fired",
            "  - steady state never came back (gateway unhealthy)",
            "  - 2 acknowledged writes lost",
            "measured: mttd_s none, mttr_s none, p95_ms 48, error_rate 0.125, lost_writes 2",
            "scenario: *scenarios/broken.yaml",
        ]
    )
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "raise DrillFailed" not in output
    assert "pytest_plugin.py" not in output


def test_an_invalid_scenario_fails_with_the_loaders_message(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "typo.yml").write_text(
        SCENARIO.format(name="typo", title="Typo").replace("within_s: 15", "within_s: -1")
    )
    result = project.runpytest(*PLUGIN, "scenarios/typo.yml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*typo.yml:*: field 'detection.within_s': *"])
    assert "Traceback" not in result.stdout.str()
    assert ["drill", "typo", "fake-run"] not in events(project)


def write_project(directory: Path, name: str, file: str = "gameday.yml") -> Path:
    """A project file in ``directory`` for the bundled stack (its compose file, rules and
    playbook, by absolute path), under another name."""
    stack = REPO / "src" / "gameday" / "stack"
    path = directory / file
    path.write_text(
        f"name: {name}\n"
        f"compose: {stack / 'docker-compose.drill.yml'}\n"
        f"rules: {stack / 'config' / 'rules' / '*.yml'}\n"
        f"playbook: {stack / 'playbook.md'}\n"
    )
    return path


def test_drills_share_one_replica_that_is_removed_at_the_end(project: pytest.Pytester) -> None:
    write_project(project.path, "named", "my-project.yml")
    project.runpytest(*PLUGIN, "scenarios", "--gameday-project", "my-project.yml")
    assert events(project) == [
        ["start", "named", None],
        ["drill", "must-fail-db", "fake-run"],
        ["drill", "db-outage", "fake-run"],
        ["stop", "fake-run"],
    ]


def test_the_project_file_in_the_rootdir_is_found(project: pytest.Pytester) -> None:
    write_project(project.path, "found")
    project.runpytest(*PLUGIN, "scenarios/db.yml")
    assert events(project)[0] == ["start", "found", None]


def test_without_a_project_file_the_engine_gets_none(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLUGIN, "scenarios/db.yml")
    result.assert_outcomes(passed=1)
    assert events(project)[0] == ["start", None, None]


def test_scenarios_are_checked_against_the_project(project: pytest.Pytester) -> None:
    write_project(project.path, "checked")
    (project.path / "scenarios" / "mysql.yml").write_text(
        SCENARIO.format(name="mysql", title="MySQL").replace("service: postgres", "service: mysql")
    )
    result = project.runpytest(*PLUGIN, "scenarios/mysql.yml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*mysql.yml:8: field 'faults.0.service': expected a service this project lets*"]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_invalid_project_fails_every_drill_with_its_message(project: pytest.Pytester) -> None:
    (project.path / "gameday.yml").write_text("compose: missing.yml\n")
    result = project.runpytest(*PLUGIN, "scenarios")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*gameday.yml:1: field 'compose.0': expected a compose file, *missing.yml does not exist"]
    )
    assert "Traceback" not in result.stdout.str()
    assert not (project.path / "engine-events.json").exists() or events(project) == []


def test_a_named_project_that_is_not_there_fails_the_drills(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLUGIN, "scenarios", "--gameday-project", "nowhere.yml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*nowhere.yml: no project file there (expected gameday.yml)"])


def test_an_attached_replica_is_left_running(project: pytest.Pytester) -> None:
    project.runpytest(*PLUGIN, "scenarios/db.yml", "--gameday-replica", "20250101-000000-abcd")
    assert events(project) == [
        ["start", None, "20250101-000000-abcd"],
        ["drill", "db-outage", "20250101-000000-abcd"],
    ]


def test_a_replica_that_cannot_start_fails_each_drill_once_without_retrying(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        FAKE_ENGINE_CONFTEST
        + textwrap.dedent(
            """
            from gameday.errors import ReplicaError

            class BrokenEngine(FakeEngine):
                def start_replica(self, *, project, attach_to):
                    EVENTS.append(("start", None, None))
                    raise ReplicaError("service postgres is unhealthy (exit code 1)")

            def pytest_gameday_engine(config):
                return BrokenEngine()
            """
        )
    )
    result = project.runpytest(*PLUGIN, "scenarios")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["service postgres is unhealthy (exit code 1)"])
    assert "Traceback" not in result.stdout.str()
    assert events(project) == [["start", None, None]]


def test_no_replica_is_started_when_no_drill_runs(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = project.runpytest(*PLUGIN, "test_plain.py")
    result.assert_outcomes(passed=1)
    assert events(project) == []


def test_the_marker_is_declared_and_selects_drills(project: pytest.Pytester) -> None:
    project.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = project.runpytest(*PLUGIN, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.gameday: a chaos drill*"])
    result = project.runpytest(*PLUGIN, "--strict-markers", "-m", "not gameday", ".")
    result.assert_outcomes(passed=1, deselected=2)


def test_options_are_documented_in_help(project: pytest.Pytester) -> None:
    result = project.runpytest(*PLUGIN, "--help")
    result.stdout.fnmatch_lines(
        [
            "*--gameday-replica=RUN_ID*",
            "*--gameday-project=FILE*",
            "*--gameday-reports=DIR*",
            "*gameday_scenarios*",
        ]
    )


def test_junit_xml_carries_the_measurements_as_properties(project: pytest.Pytester) -> None:
    project.runpytest(*PLUGIN, "scenarios", "--junitxml=junit.xml")
    root = ET.parse(project.path / "junit.xml").getroot()
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {"db-outage", "must-fail-db"}

    def properties(name: str) -> dict[str, str | None]:
        return {p.get("name"): p.get("value") for p in cases[name].iter("property")}

    assert properties("db-outage") == {
        "mttd_s": "3.25",
        "mttr_s": "12.5",
        "p95_ms": "48",
        "error_rate": "0",
        "lost_writes": "0",
    }
    assert properties("must-fail-db") == {
        "mttd_s": "",
        "mttr_s": "",
        "p95_ms": "48",
        "error_rate": "0.125",
        "lost_writes": "2",
    }
    failure = cases["must-fail-db"].find("failure")
    assert failure is not None
    assert "DatabaseDown never fired" in (failure.text or "")


def test_the_fixtures_drill_from_a_test_function(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_drills_from_functions=textwrap.dedent(
            """
            import pytest
            from gameday.inputs.scenario import load_scenario

            def test_replica(gameday_replica):
                assert gameday_replica.run_id == "fake-run"

            @pytest.mark.gameday
            def test_passes(gameday_drill):
                result = gameday_drill("scenarios/db.yml")
                assert result.passed
                assert result.measurements.mttr_s == 12.5

            def test_a_scenario_object(gameday_drill):
                gameday_drill(load_scenario(__import__("pathlib").Path("scenarios/db.yml")))

            def test_fails_with_reasons(gameday_drill):
                gameday_drill("scenarios/broken.yaml")

            def test_unchecked(gameday_drill):
                assert not gameday_drill("scenarios/broken.yaml", check=False).passed
            """
        )
    )
    result = project.runpytest(*PLUGIN, "test_drills_from_functions.py", "--junitxml=junit.xml")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(
        ["*_ test_fails_with_reasons _*", "drill must-fail-db (Must fail) failed its grade:"]
    )
    assert "Traceback" not in result.stdout.str()
    root = ET.parse(project.path / "junit.xml").getroot()
    case = next(c for c in root.iter("testcase") if c.get("name") == "test_passes")
    assert {p.get("name") for p in case.iter("property")} == {
        "mttd_s",
        "mttr_s",
        "p95_ms",
        "error_rate",
        "lost_writes",
    }
    assert [e[0] for e in events(project)].count("start") == 1


def test_the_journal_is_written_at_the_end(project: pytest.Pytester) -> None:
    project.runpytest(*PLUGIN, "scenarios", "--gameday-reports", "out")
    journal = json.loads((project.path / "out" / "latest" / "journal.json").read_text())
    # A run of its own, not the replica's id: a second session on a kept replica must not
    # overwrite the first one's report.
    assert journal["run_id"] != "fake-run"
    assert (project.path / "out" / journal["run_id"] / "journal.json").exists()
    assert journal["run_id"] in (project.path / "out" / "index.html").read_text()
    assert journal["passed"] is False
    by_name = {s["name"]: s for s in journal["scenarios"]}
    assert by_name["db-outage"]["passed"] is True
    assert by_name["must-fail-db"]["reasons"][0] == "DatabaseDown never fired"
    assert (project.path / "out" / "latest" / "index.html").exists()


def test_no_journal_without_the_option(project: pytest.Pytester) -> None:
    project.runpytest(*PLUGIN, "scenarios")
    assert not (project.path / "reports").exists()


def test_docker_and_the_engine_are_not_imported_to_collect_or_fake(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        FAKE_ENGINE_CONFTEST
        + textwrap.dedent(
            """
            def pytest_sessionfinish(session):
                import sys, pathlib
                heavy = sorted(m for m in ("docker", "testcontainers", "gameday.stages.run",
                                           "gameday.infra.replica") if m in sys.modules)
                pathlib.Path("heavy.json").write_text(json.dumps(heavy))
            import json
            """
        )
    )
    project.runpytest_subprocess(*PLUGIN, "scenarios")
    assert json.loads((project.path / "heavy.json").read_text()) == []


def test_the_repository_scenarios_are_collected(pytester: pytest.Pytester) -> None:
    shutil.copytree(REPO / "scenarios", pytester.path / "scenarios")
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q", "scenarios")
    count = len(list((REPO / "scenarios").glob("*.yml")))
    result.stdout.fnmatch_lines([f"*{count} tests collected*"])
