"""The committed experiments are what the scenarios generate, and ``chaos validate`` (the
real CLI from the venv) accepts every one; the probes they rely on raise on failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed

from gameday.adapters.chaostoolkit import actions, probes
from gameday.adapters.chaostoolkit.generate import experiment_for, generate, render, stale, write
from gameday.inputs.project import Project, load_project
from gameday.inputs.scenario import load_scenario

REPO = Path(__file__).resolve().parents[3]
EXPERIMENTS = REPO / "experiments"
CHAOS = Path(sys.executable).parent / "chaos"
PLAYBOOK_DRILLS = {"database-outage", "network-partition", "cache-failure", "load-balancer-failure"}


@pytest.fixture
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


def committed() -> list[Path]:
    return sorted(EXPERIMENTS.glob("*.json"))


def test_one_experiment_per_playbook_drill() -> None:
    assert {p.stem for p in committed()} == PLAYBOOK_DRILLS


def test_committed_experiments_are_what_the_scenarios_generate(
    in_repo: Path, bundled_project: Project
) -> None:
    generated = generate(bundled_project)
    assert {e.path.parent for e in generated} == {EXPERIMENTS}
    assert {e.path.name for e in generated} == {p.name for p in committed()}
    assert stale(generated) == [], "run `gameday experiments generate` and commit the result"


def bundled_project_at(root: Path) -> Project:
    """The bundled project, with its project file in ``root`` (and its scenarios in
    root/scenarios): its other files stay where they are, named by absolute paths."""
    spec = yaml.safe_load((REPO / "gameday.yml").read_text())
    spec["compose"] = str(REPO / spec["compose"])
    spec["rules"] = str(REPO / spec["rules"])
    spec["playbook"] = str(REPO / spec["playbook"])
    spec["proxy"]["config"] = str(REPO / spec["proxy"]["config"])
    for config in ("prometheus_config", "alertmanager_config"):
        spec["production"][config] = str(REPO / spec["production"][config])
    (root / "gameday.yml").write_text(yaml.safe_dump(spec))
    return load_project(root / "gameday.yml")


def test_a_changed_scenario_makes_its_experiment_stale(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios", scenarios)
    out = tmp_path / "experiments"
    shutil.copytree(EXPERIMENTS, out)
    source = scenarios / "cache-failure.yml"
    source.write_text(source.read_text().replace("within_s: 15", "within_s: 12"))
    project = bundled_project_at(tmp_path)
    assert project.scenarios_dir == scenarios
    fresh = generate(project, out)
    assert stale(fresh) == [out / "cache-failure.json"]
    assert write(fresh) == [out / "cache-failure.json"]
    assert stale(fresh) == []
    assert "RedisDown-fires-within-12s" in (out / "cache-failure.json").read_text()


def test_the_experiment_follows_the_scenario(in_repo: Path, bundled_project: Project) -> None:
    scenario = load_scenario(Path("scenarios/network-partition.yml"), bundled_project)
    experiment = experiment_for(scenario, "scenarios/network-partition.yml")
    method = [a["provider"]["func"] for a in experiment["method"]]
    assert method == ["inject_faults", "alert_fired_within", "run_recovery"]
    alert = experiment["method"][1]["provider"]["arguments"]
    assert alert == {"alert": "ServiceDown", "within_s": 20.0}
    hypothesis = experiment["steady-state-hypothesis"]["probes"]
    assert [(p["provider"]["func"], p["tolerance"]) for p in hypothesis] == [
        ("steady_state_holds", True)
    ]
    assert [a["provider"]["func"] for a in experiment["rollbacks"]] == ["revert_faults"]
    assert (
        experiment["controls"][0]["provider"]["module"] == "gameday.adapters.chaostoolkit.controls"
    )


def chaos_validate(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAMEDAY_REPLICA": ""}
    return subprocess.run(
        [str(CHAOS), "--no-version-check", "--log-file", os.devnull, "validate", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("path", committed(), ids=lambda p: p.stem)
def test_chaos_validate_accepts_the_experiment(path: Path) -> None:
    done = chaos_validate(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "experiment syntax and semantic look valid" in done.stdout + done.stderr


def test_chaos_validate_checks_the_arguments_against_the_functions(tmp_path: Path) -> None:
    experiment = json.loads((EXPERIMENTS / "database-outage.json").read_text())
    experiment["method"][1]["provider"]["arguments"]["whithin_s"] = 3
    broken = tmp_path / "broken.json"
    broken.write_text(render(experiment))
    done = chaos_validate(broken)
    assert done.returncode != 0
    assert "whithin_s" in done.stdout + done.stderr


def test_the_steady_state_probe_raises_rather_than_returning_false(in_repo: Path) -> None:
    # No replica configured: the hypothesis must fail, not hold (see ENVIRONMENT.md's trap).
    with pytest.raises(ActivityFailed, match="gameday_replica"):
        probes.steady_state_holds("scenarios/database-outage.yml", configuration={})
    with pytest.raises(ActivityFailed, match="gameday_replica"):
        probes.services_healthy(configuration={"gameday_replica": ""})
    with pytest.raises(ActivityFailed, match="gameday_replica"):
        probes.no_alert_active(configuration=None)


def test_awaiting_an_alert_without_a_drill_raises() -> None:
    with pytest.raises(ActivityFailed, match="no gameday drill is running"):
        probes.alert_fired_within("DatabaseDown", 1.0, configuration={})


def test_actions_raise_activity_failed_for_bad_input(in_repo: Path) -> None:
    with pytest.raises(ActivityFailed, match="gameday_replica"):
        actions.inject_faults("scenarios/database-outage.yml", configuration={})
    with pytest.raises(ActivityFailed, match=r"no-such\.yml"):
        actions.run_recovery("scenarios/no-such.yml", configuration={"gameday_replica": "x"})
    with pytest.raises(ActivityFailed, match="gameday_replica"):
        actions.revert_faults(configuration={})
