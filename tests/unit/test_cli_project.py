"""The CLI's project commands without Docker: `gameday schema`, `gameday validate`, `gameday
list` and `gameday init`, from a project's directory (or one without a project)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from smallproject import COMPOSE, SCENARIO, write_small_project

from gameday.adapters.cli import cli

REPO = Path(__file__).resolve().parents[2]


def gameday(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`gameday ARGS` in a subprocess, run from ``cwd`` (as the CLI's main() runs it)."""
    environment = {k: v for k, v in os.environ.items() if k != "GAMEDAY_PROJECT"}
    return subprocess.run(
        [sys.executable, "-m", "gameday", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        check=False,
        timeout=120,
    )


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("GAMEDAY_PROJECT", raising=False)
    return CliRunner()


# -- schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("which", "fields"),
    [
        ("project", {"compose", "rules", "playbook", "health", "load", "commands", "hooks"}),
        ("scenario", {"name", "playbook", "faults", "detection", "recovery", "targets"}),
    ],
)
def test_schema_prints_json_schema(runner: CliRunner, which: str, fields: set[str]) -> None:
    result = runner.invoke(cli, ["schema", which])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert fields <= set(schema["properties"])
    assert "source" not in schema["properties"]  # the loader's own field, not the file's


def test_schema_of_something_else_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["schema", "playbook"])
    assert result.exit_code == 2
    assert "Invalid value" in result.output


# -- validate ------------------------------------------------------------------------------------


def test_validate_from_a_projects_directory_prints_ok_lines(tmp_path: Path) -> None:
    write_small_project(tmp_path)
    (tmp_path / "scenarios" / "second.yaml").write_text(SCENARIO.replace("web-down", "web-again"))
    sub = tmp_path / "docs"
    sub.mkdir()
    done = gameday("validate", cwd=sub)  # found from a subdirectory
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"ok  {tmp_path / 'gameday.yml'}  (project shop)",
        f"ok  {tmp_path / 'playbook.md'}  (2 sections, 2 alerts, 2 drills)",
        f"ok  {tmp_path / 'scenarios' / 'second.yaml'}  (web-again)",
        f"ok  {tmp_path / 'scenarios' / 'web-down.yml'}  (web-down)",
        "ok  campaign  (draws from 2 scenarios: web-again, web-down)",
        "2 scenarios valid",
    ]


def test_validate_without_a_project_exits_2_saying_where_it_looked(tmp_path: Path) -> None:
    if any((d / "gameday.yml").is_file() for d in (tmp_path, *tmp_path.parents)):
        pytest.skip("a gameday.yml above the test's temporary directory")
    done = gameday("validate", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"gameday: error: no gameday.yml in {tmp_path.resolve()} or any directory above it: "
        "run gameday from your project, name one with --project, or write one with "
        "`gameday init`"
    )
    assert "Traceback" not in done.stderr


def test_validate_names_the_project_with_an_option_or_the_environment(
    tmp_path: Path, runner: CliRunner
) -> None:
    project = write_small_project(tmp_path / "shop")
    result = runner.invoke(cli, ["validate", "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "1 scenarios valid"
    done = gameday("validate", cwd=tmp_path, env={"GAMEDAY_PROJECT": str(tmp_path / "shop")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"ok  {project}  (project shop)"


def test_validate_of_the_bundled_project(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["validate", "--project", str(REPO / "gameday.yml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].endswith("(4 sections, 7 alerts, 4 drills)")
    count = len(list((REPO / "scenarios").glob("*.yml")))
    assert lines[-1] == f"{count} scenarios valid"


def test_validate_of_a_bad_scenario_exits_2_with_its_line(tmp_path: Path) -> None:
    write_small_project(tmp_path)
    (tmp_path / "scenarios" / "typo.yml").write_text(
        SCENARIO.replace("name: web-down", "name: typo").replace(
            "service: web\n", "service: api\n", 1
        )
    )
    done = gameday("validate", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"gameday: error: {tmp_path / 'scenarios' / 'typo.yml'}:9: field 'faults.0.service': "
        "expected a service this project lets faults target (db, web), got 'api'"
    )


def test_validate_of_a_bad_project_exits_2_with_its_line(tmp_path: Path) -> None:
    write_small_project(tmp_path)
    (tmp_path / "gameday.yml").write_text("compose: compose.yml\nhealth:\n  db: /health\n")
    done = gameday("validate", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"gameday: error: {tmp_path / 'gameday.yml'}:3: field 'health.db': expected a service "
        "that publishes a port"
    )


def test_list_shows_the_projects_scenarios(tmp_path: Path) -> None:
    write_small_project(tmp_path)
    done = gameday("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.split()[:2] == ["web-down", "WebDown"]
    assert "MTTD ≤ 30 s" in line and line.endswith("The web service stops")


# -- init ------------------------------------------------------------------------------------


def test_init_then_validate(tmp_path: Path, runner: CliRunner) -> None:
    (tmp_path / "compose.yml").write_text(COMPOSE)
    done = gameday("init", "--compose-file", "compose.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "wrote gameday.yml",
        f"wrote {Path('scenarios') / 'first-drill.yml'}",
        "next: edit them, then `gameday validate` and `gameday run --all`",
    ]
    done = gameday("validate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 scenarios valid"
    again = gameday("init", "--compose-file", "compose.yml", cwd=tmp_path)
    assert again.returncode == 2
    assert "gameday.yml exists; pass --force to overwrite it" in again.stderr
    forced = gameday("init", "--compose-file", "compose.yml", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr


def test_an_empty_scenario_path_is_refused_not_read_as_this_directory(tmp_path: Path) -> None:
    # Path("") is "."; validating it once picked up every YAML file here, compose included.
    write_small_project(tmp_path)
    done = gameday("validate", "", cwd=tmp_path)
    assert done.returncode == 2
    assert "an empty scenario path names nothing" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_scenario_named_twice_is_validated_once(tmp_path: Path) -> None:
    write_small_project(tmp_path)
    scenario = next((tmp_path / "scenarios").glob("*.yml"))
    done = gameday("validate", str(scenario), str(scenario), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "1 scenarios valid"
