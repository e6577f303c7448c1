"""The smallest failing schedule, written for people: a scenario file to rerun with
``gameday run`` (its faults all go in together) and a schedule file that keeps the exact
offsets and holds for ``gameday campaign --replay``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gameday.inputs.campaign import Schedule, schedule_yaml
from gameday.inputs.project import Project
from gameday.inputs.scenario import parse_scenario
from gameday.record import ViolationRecord
from gameday.stages.campaign.schedule import FaultKind
from gameday.stages.report.templating import write_atomically

__all__ = ["write_minimal"]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def scenario_document(
    name: str, minimal: Schedule, pool: Mapping[str, FaultKind], target: ViolationRecord
) -> dict[str, Any]:
    kinds = [pool[f.scenario] for w in minimal.waves for f in w.faults]
    scenarios = [k.scenario for k in kinds]
    expect = _unique([a for s in scenarios for a in s.detection.expect])
    allow = _unique([a for s in scenarios for a in s.detection.allow if a not in expect])
    timing = "; ".join(
        f"wave {i}: "
        + ", ".join(f"{f.scenario} at {f.start_s:g} s for {f.hold_s:g} s" for f in w.faults)
        for i, w in enumerate(minimal.waves, start=1)
    )
    return {
        "name": name,
        "title": f"Found by a campaign: {' with '.join(s.name for s in scenarios)}",
        "description": (
            f"A campaign (seed {minimal.seed}) broke an invariant and shrank the schedule to "
            f"these faults: {target.detail}. Here all of them go in at once; the campaign "
            f"ran them so: {timing} (the schedule file next to this one replays that)."
        ),
        "playbook": {
            "section": scenarios[0].playbook.section,
            "alerts": _unique([a for s in scenarios for a in s.playbook.alerts]),
        },
        "faults": [
            fault.model_dump(mode="json", by_alias=True) for s in scenarios for fault in s.faults
        ],
        "detection": {
            "expect": expect,
            "within_s": max(s.detection.within_s for s in scenarios),
            "allow": allow,
        },
        "recovery": {
            "responder": "auto",
            "steps": [
                step.model_dump(mode="json", by_alias=True)
                for s in scenarios
                for step in s.recovery.steps
            ],
        },
        "targets": {
            "mttd_s": max(s.targets.mttd_s for s in scenarios),
            "mttr_s": max(s.targets.mttr_s for s in scenarios),
            "p95_ms": max(s.targets.p95_ms for s in scenarios),
            "error_rate": max(s.targets.error_rate for s in scenarios),
        },
    }


def write_minimal(
    directory: Path,
    minimal: Schedule,
    pool: Mapping[str, FaultKind],
    target: ViolationRecord,
    project: Project,
) -> tuple[Path, Path]:
    """Write ``minimal-scenario.yml`` and ``minimal-schedule.yml`` into ``directory``;
    the scenario is validated against the project before it is written."""
    name = "campaign-minimal" if minimal.seed is None else f"campaign-{minimal.seed}-minimal"
    name = name[:63]
    document = scenario_document(name, minimal, pool, target)
    header = (
        "# Written by `gameday campaign`: the smallest schedule found that still breaks\n"
        f"# {target.invariant}: {target.detail}\n"
        "# Rerun it: gameday run THIS_FILE\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, width=96)
    scenario_path = directory / "minimal-scenario.yml"
    parse_scenario(text, scenario_path, project)  # a file a person reruns must be valid
    write_atomically(scenario_path, text)
    schedule_path = directory / "minimal-schedule.yml"
    write_atomically(
        schedule_path,
        schedule_yaml(
            minimal,
            "The smallest schedule found that still breaks\n"
            f"{target.invariant}: {target.detail}\n"
            "Replay it: gameday campaign --replay THIS_FILE",
        ),
    )
    return scenario_path, schedule_path
