"""The capacity file (inputs/capacity.py): written, merged, read back, and the scenarios
whose load rate is above what the replica carried, as `gameday validate` warns of them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from smallproject import PROJECT, SCENARIO, with_line, write_small_project

from gameday.adapters.cli import cli
from gameday.errors import ProjectError
from gameday.inputs.capacity import (
    CapacityFile,
    CapacityStep,
    Condition,
    Machine,
    condition_name,
    merged,
    rate_warnings,
    read_capacity,
    taken_out,
    write_capacity,
)
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_all, parse_scenario

MEASURED_AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def condition(
    capacity: float, *without: str, at_least: bool = False, cpu_count: int = 2
) -> Condition:
    return Condition(
        name=condition_name(without),
        without=sorted(without),
        capacity_per_s=capacity,
        at_least=at_least,
        limit="p95 900 ms over 200 ms at 80 requests/s",
        measured_at=MEASURED_AT,
        gameday_version="0.1.0",
        machine=Machine(cpu_count=cpu_count, load_average_1m=0.4),
        warmup_s=2,
        step_s=5,
        steps=[
            CapacityStep(
                rate_per_s=capacity,
                requests=int(capacity * 5),
                sent_per_s=capacity,
                p95_ms=50,
                error_rate=0,
                passed=True,
            )
        ],
    )


def capacity_file(*conditions: Condition) -> CapacityFile:
    record: CapacityFile | None = None
    for each in conditions:
        record, _ = merged(record, each, p95_ms=200, max_error_rate=0.01)
    assert record is not None
    return record


def test_condition_names() -> None:
    assert condition_name([]) == "all services"
    assert condition_name(["b", "a", "b"]) == "without a, b"


def test_a_new_measurement_replaces_its_condition_and_keeps_the_others() -> None:
    first = capacity_file(condition(60, "db"), condition(100))
    assert [c.name for c in first.conditions] == ["all services", "without db"]
    again, dropped = merged(first, condition(40, "db"), p95_ms=200, max_error_rate=0.01)
    assert dropped == []
    assert [(c.name, c.capacity_per_s) for c in again.conditions] == [
        ("all services", 100),
        ("without db", 40),
    ]
    assert "on a 2-core machine" in again.note


def test_a_measurement_under_other_limits_drops_the_old_conditions() -> None:
    first = capacity_file(condition(60, "db"), condition(100))
    again, dropped = merged(first, condition(150), p95_ms=500, max_error_rate=0.01)
    assert dropped == ["without db"]
    assert [(c.name, c.capacity_per_s) for c in again.conditions] == [("all services", 150)]
    assert again.p95_ms == 500


def test_the_file_reads_back_as_it_was_written(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "capacity.json"
    record = capacity_file(condition(100), condition(60, "db"))
    write_capacity(path, record)
    assert read_capacity(path) == record
    assert record.condition(["db"]) == record.conditions[1]
    assert record.condition(["web"]) is None
    assert not list(path.parent.glob(".*.tmp"))


def test_no_file_is_no_capacity(tmp_path: Path) -> None:
    assert read_capacity(tmp_path / "capacity.json") is None


def test_a_broken_file_is_an_error_naming_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "capacity.json"
    path.write_text("{not json")
    with pytest.raises(ProjectError, match=rf"^{path}: .*expected the file `gameday capacity`"):
        read_capacity(path)
    text = (
        capacity_file(condition(100))
        .model_dump_json()
        .replace('"capacity_per_s":100.0', '"capacity_per_s":"lots"')
    )
    path.write_text(text)
    with pytest.raises(ProjectError, match=r"field 'conditions\.0\.capacity_per_s'"):
        read_capacity(path)


# -- which services a scenario takes out ------------------------------------------------------

STOP_DB = SCENARIO.replace("service: web\n", "service: db\n", 1)


@pytest.mark.parametrize(
    ("faults", "out"),
    [
        ("  - type: stop_service\n    service: web\n", {"web"}),
        ("  - type: kill_service\n    service: db\n", {"db"}),
        ("  - type: pause_service\n    service: db\n", {"db"}),
        ("  - type: restart_service\n    service: db\n", set()),
        ("  - type: partition\n    services: [web, db]\n    network: back\n", {"web", "db"}),
        ("  - type: bad_deploy\n    service: web\n    environment: {V: '2'}\n", {"web"}),
        ("  - type: command\n    command: vacuum\n", set()),
        (
            "  - type: stop_service\n    service: web\n"
            "  - type: connection_exhaustion\n    service: db\n    database: shop\n"
            "    connections: 5\n",
            {"web"},
        ),
    ],
)
def test_the_services_a_scenarios_faults_take_out(faults: str, out: set[str]) -> None:
    text = SCENARIO.replace("  - type: stop_service\n    service: web\n", faults)
    assert taken_out(parse_scenario(text, Path("x.yml"))) == out


# -- the warning -----------------------------------------------------------------------------


def project_with(tmp_path: Path, record: CapacityFile | None, files: dict[str, str]) -> Path:
    path = write_small_project(tmp_path, files=files)
    if record is not None:
        write_capacity(tmp_path / "capacity.json", record)
    return path


def warnings_for(path: Path) -> list[str]:
    project = load_project(path)
    return [str(w) for w in rate_warnings(project, load_all([project.scenarios_dir], project))]


def test_a_scenario_above_the_capacity_without_its_stopped_service_is_warned_of(
    tmp_path: Path,
) -> None:
    scenario = STOP_DB.replace("name: web-down", "name: db-down") + "load:\n  rate_per_s: 30\n"
    path = project_with(
        tmp_path,
        capacity_file(condition(100), condition(25, "db")),
        {"scenarios/db-down.yml": scenario},
    )
    file = tmp_path / "scenarios" / "db-down.yml"
    line = scenario.splitlines().index("  rate_per_s: 30") + 1
    assert warnings_for(path) == [
        f"{file}:{line}: field 'load.rate_per_s': 30 requests/s is above the 25 requests/s "
        "the replica carried without db (p95 ≤ 200 ms, errors ≤ 1.0%; "
        f"{tmp_path / 'capacity.json'}, measured 2026-12-01 on a 2-core machine): the "
        "drill would measure an overloaded replica, not the fault"
    ]


def test_lacking_a_measurement_without_the_service_all_services_are_compared(
    tmp_path: Path,
) -> None:
    # web-down stops web and runs at the project's default rate (20): above 15.
    path = project_with(tmp_path, capacity_file(condition(15)), {})
    line = PROJECT.splitlines().index("load:") + 1
    assert warnings_for(path) == [
        f"{tmp_path / 'scenarios' / 'web-down.yml'}: the project's load rate "
        f"({tmp_path / 'gameday.yml'}:{line}: field 'load.rate_per_s'), 20 requests/s "
        "(the default), is above the 15 requests/s the replica carried with all services up "
        f"(p95 ≤ 200 ms, errors ≤ 1.0%; {tmp_path / 'capacity.json'}, measured 2026-12-01 "
        "on a 2-core machine); its faults take out web, which no measurement left out "
        "(`gameday capacity --without web`): the drill would measure an overloaded "
        "replica, not the fault"
    ]


def test_the_project_rate_is_named_by_its_line_when_it_is_written(tmp_path: Path) -> None:
    line = PROJECT.splitlines().index("load:") + 2  # "  target: web"
    written = with_line(PROJECT, line, "  target: web\n  rate_per_s: 40")
    path = write_small_project(tmp_path, written)
    write_capacity(tmp_path / "capacity.json", capacity_file(condition(30)))
    (warning,) = warnings_for(path)
    assert f"{tmp_path / 'gameday.yml'}:{line + 1}: field 'load.rate_per_s'), 40 requests/s," in (
        warning
    )


def test_rates_within_the_capacity_are_not_warned_of(tmp_path: Path) -> None:
    path = project_with(tmp_path, capacity_file(condition(20), condition(5, "db")), {})
    assert warnings_for(path) == []  # 20 is carried with all services; db is not stopped


def test_a_capacity_never_reached_says_nothing_against_a_higher_rate(tmp_path: Path) -> None:
    path = project_with(tmp_path, capacity_file(condition(10, at_least=True)), {})
    assert warnings_for(path) == []


def test_without_a_capacity_file_nothing_is_said(tmp_path: Path) -> None:
    assert warnings_for(project_with(tmp_path, None, {})) == []


def test_the_capacity_file_is_where_the_project_says(tmp_path: Path) -> None:
    path = write_small_project(tmp_path, "capacity: measured/cap.json\n" + PROJECT)
    write_capacity(tmp_path / "measured" / "cap.json", capacity_file(condition(15)))
    assert load_project(path).capacity_file == tmp_path / "measured" / "cap.json"
    assert len(warnings_for(path)) == 1


def test_validate_prints_the_warnings_and_still_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GAMEDAY_PROJECT", raising=False)
    path = project_with(tmp_path, capacity_file(condition(15)), {})
    result = CliRunner().invoke(cli, ["validate", "--project", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-3].startswith(f"warn  {tmp_path / 'scenarios' / 'web-down.yml'}: the project")
    assert lines[-2] == "ok  campaign  (draws from 1 scenario: web-down)"
    assert lines[-1] == "1 scenarios valid"
    (tmp_path / "capacity.json").unlink()
    result = CliRunner().invoke(cli, ["validate", "--project", str(path)])
    assert result.exit_code == 0
    assert not [line for line in result.output.splitlines() if line.startswith("warn")]
