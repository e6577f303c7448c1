"""Chaos Toolkit experiments generated from gameday's scenario files, so that they never
drift: one ``experiments/<scenario>.json`` per playbook drill (a scenario with
``playbook.drill``).

An experiment is the scenario in Chaos Toolkit's words: the steady-state hypothesis is the
scenario's steady state (a probe that raises when it does not hold), the method injects the
faults, waits for each expected alert within the detection budget and runs the recovery
steps, and the rollback reverts the faults. The gameday control grades the run.

``gameday experiments generate`` writes the files; ``stale`` says which committed files no
longer match their scenarios (the unit tests and CI run it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.inputs.project import Project
from gameday.inputs.scenario import Scenario, load_all

__all__ = [
    "GeneratedExperiment",
    "experiment_for",
    "generate",
    "render",
    "stale",
    "write",
]

PACKAGE = "gameday.adapters.chaostoolkit"
REPLICA_ENV = "GAMEDAY_REPLICA"
# Empty: the project's own reports directory.
REPORTS_ENV = "GAMEDAY_REPORTS"


@dataclass(frozen=True)
class GeneratedExperiment:
    path: Path  # where it belongs: <experiments dir>/<scenario name>.json
    text: str


def _activity(kind: str, name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": kind,
        "name": name,
        "provider": {"type": "python", "module": f"{PACKAGE}.{module}", "func": func},
    }
    if arguments:
        activity["provider"]["arguments"] = arguments
    return activity


def experiment_for(scenario: Scenario, scenario_file: str) -> dict[str, Any]:
    """The experiment of one scenario; ``scenario_file`` is the path the activities open
    (relative to where ``chaos run`` runs)."""
    expect = scenario.detection.expect
    within_s = min(scenario.detection.within_s, scenario.targets.mttd_s)
    method = [
        _activity("action", "inject-faults", "actions", "inject_faults", scenario=scenario_file)
    ]
    method += [
        _activity(
            "probe",
            f"{alert}-fires-within-{within_s:g}s",
            "probes",
            "alert_fired_within",
            alert=alert,
            within_s=within_s,
        )
        for alert in expect
    ]
    method.append(
        _activity("action", "run-recovery-steps", "actions", "run_recovery", scenario=scenario_file)
    )
    drill = f' (playbook drill "{scenario.playbook.drill}")' if scenario.playbook.drill else ""
    return {
        "version": "1.0.0",
        "title": scenario.title,
        "description": (
            f"{scenario.description.strip()} Generated from {scenario_file}{drill} by "
            "`gameday experiments generate`: edit the scenario, not this file."
        ).strip(),
        "tags": ["gameday", scenario.name, *expect],
        "configuration": {
            "gameday_replica": {"type": "env", "key": REPLICA_ENV, "default": ""},
            "gameday_reports": {"type": "env", "key": REPORTS_ENV, "default": ""},
        },
        "controls": [
            {
                "name": "gameday",
                "provider": {
                    "type": "python",
                    "module": f"{PACKAGE}.controls",
                    "arguments": {"scenario": scenario_file},
                },
            }
        ],
        "steady-state-hypothesis": {
            "title": "The replica serves: healthy, no alert active, errors within budget",
            # The probe raises when the steady state does not hold, so that a broken
            # replica before the method is a failed hypothesis, never a value that passes.
            "probes": [
                {
                    **_activity(
                        "probe",
                        "steady-state-holds",
                        "probes",
                        "steady_state_holds",
                        scenario=scenario_file,
                    ),
                    "tolerance": True,
                }
            ],
        },
        "method": method,
        "rollbacks": [_activity("action", "revert-faults", "actions", "revert_faults")],
    }


def render(experiment: dict[str, Any]) -> str:
    return json.dumps(experiment, indent=2, ensure_ascii=False) + "\n"


def _relative(path: Path, base: Path) -> str:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def generate(
    project: Project,
    out_dir: Path | None = None,
    *,
    scenarios: Iterable[Path] | None = None,
) -> list[GeneratedExperiment]:
    """The experiments of the playbook drills among the project's scenarios (or
    ``scenarios``, files or directories), written to ``out_dir`` (default: experiments/
    beside the project file); scenario paths in them are relative to the project's root,
    where ``chaos run`` is meant to run."""
    out_dir = out_dir or project.root / "experiments"
    base = project.root
    generated = []
    for scenario in load_all(list(scenarios or [project.scenarios_dir]), project):
        if scenario.playbook.drill is None:
            continue
        assert scenario.source is not None
        text = render(experiment_for(scenario, _relative(scenario.source, base)))
        generated.append(GeneratedExperiment(out_dir / f"{scenario.name}.json", text))
    return generated


def write(experiments: Iterable[GeneratedExperiment]) -> list[Path]:
    """Write the experiments whose files differ; return the paths written."""
    written = []
    for experiment in experiments:
        if experiment.path.exists() and experiment.path.read_text() == experiment.text:
            continue
        experiment.path.parent.mkdir(parents=True, exist_ok=True)
        experiment.path.write_text(experiment.text)
        written.append(experiment.path)
    return written


def stale(experiments: Iterable[GeneratedExperiment]) -> list[Path]:
    """The experiment files that are missing or differ from what their scenarios give."""
    return [e.path for e in experiments if not e.path.exists() or e.path.read_text() != e.text]
