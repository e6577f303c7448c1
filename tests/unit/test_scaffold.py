"""``gameday init``: a project file and a first scenario, written from a compose file, that
gameday accepts as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallproject import COMPOSE, RULES

from gameday.errors import InputError, ProjectError
from gameday.inputs.project import Project, load_project
from gameday.inputs.scaffold import write_project
from gameday.inputs.scenario import Scenario, load_all


def accepted(directory: Path) -> tuple[Project, list[Scenario]]:
    project = load_project(directory / "gameday.yml")
    return project, load_all([project.scenarios_dir], project)


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A small stack's compose file with its alert rules beside it."""
    compose = tmp_path / "stack" / "compose.yml"
    compose.parent.mkdir()
    compose.write_text(COMPOSE)
    (tmp_path / "stack" / "monitoring").mkdir()
    (tmp_path / "stack" / "monitoring" / "alerts.yml").write_text(RULES)
    return compose


def test_init_writes_a_project_and_a_scenario_that_gameday_accepts(
    stack: Path, tmp_path: Path
) -> None:
    out = tmp_path / "shop"
    written = write_project([stack], out)
    assert written == [out / "gameday.yml", out / "scenarios" / "first-drill.yml"]
    project, (scenario,) = accepted(out)
    assert project.name == "shop"
    assert project.compose_files == [out / ".." / "stack" / "compose.yml"]
    assert project.compose_files[0].resolve() == stack
    assert project.spec.prometheus == "prometheus" and project.spec.alertmanager == "alertmanager"
    # The rule files near the compose file are found, and the scenario expects their alert.
    assert project.alerts == {"WebDown": 10.0, "DatabaseDown": 60.0}
    assert project.health() == {"web": "/health"}
    assert project.spec.load is not None and project.spec.load.target == "web"
    assert scenario.name == "first-drill"
    assert [f.model_dump() for f in scenario.faults] == [{"type": "stop_service", "service": "web"}]
    assert scenario.detection.expect == ["WebDown"]


def test_init_without_rules_or_monitoring_still_gives_valid_files(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  app:\n    image: app\n  db:\n    image: db\n")
    write_project([compose], tmp_path)
    project, (scenario,) = accepted(tmp_path)
    # No Prometheus or Alertmanager among the services: addresses to fill in, marked GUESS.
    text = (tmp_path / "gameday.yml").read_text()
    assert "GUESS" in text
    assert project.monitoring_url("prometheus") == "http://127.0.0.1:9090"
    assert project.spec.load is None and project.health() == {}  # nothing is published
    assert scenario.faults[0].model_dump() == {"type": "stop_service", "service": "app"}
    assert "GUESS" in (tmp_path / "scenarios" / "first-drill.yml").read_text()


def test_init_takes_override_compose_files_in_order(stack: Path, tmp_path: Path) -> None:
    override = tmp_path / "stack" / "compose.override.yml"
    override.write_text("services:\n  worker:\n    image: worker\n    networks: [back]\n")
    write_project([stack, override], tmp_path / "shop")
    project, _ = accepted(tmp_path / "shop")
    assert [p.name for p in project.compose_files] == ["compose.yml", "compose.override.yml"]
    assert "worker" in project.services


def test_init_refuses_to_overwrite_without_force(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "shop"
    out.mkdir()
    (out / "gameday.yml").write_text("# ours\n")
    with pytest.raises(InputError) as caught:
        write_project([stack], out)
    assert str(caught.value) == f"{out / 'gameday.yml'} exists; pass --force to overwrite it"
    assert (out / "gameday.yml").read_text() == "# ours\n"
    assert not (out / "scenarios").exists()  # nothing is written when one file exists

    (out / "gameday.yml").unlink()
    (out / "scenarios").mkdir()
    (out / "scenarios" / "first-drill.yml").write_text("# ours too\n")
    with pytest.raises(InputError, match=r"first-drill\.yml exists; pass --force"):
        write_project([stack], out)
    assert not (out / "gameday.yml").exists()

    write_project([stack], out, force=True)
    accepted(out)


def test_init_of_a_compose_file_without_services_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services: {}\n")
    with pytest.raises(InputError, match="the compose file has no services"):
        write_project([compose], tmp_path / "out")


def test_init_of_a_compose_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  web: [unclosed\n")
    with pytest.raises(ProjectError, match=r"compose\.yml:3: not a valid compose file"):
        write_project([compose], tmp_path / "out")


@pytest.mark.parametrize("directory", ["My Stack", "_internal", "2024"])
def test_init_in_any_directory_gives_a_valid_project_name(tmp_path: Path, directory: str) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text("services:\n  app:\n    image: app\n")
    write_project([compose], tmp_path / directory)
    accepted(tmp_path / directory)
