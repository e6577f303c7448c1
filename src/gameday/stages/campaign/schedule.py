"""Where a campaign's faults come from: the pool of fault kinds (the project's scenarios,
within its campaign limits) and the seeded draw of waves from it.

The draw is a pure function of the seed and the pool: the same seed on the same project
gives the same waves, whatever the replica does while they run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from gameday.errors import ProjectError
from gameday.inputs.campaign import CampaignSpec, PlannedFault, Wave
from gameday.inputs.project import Project
from gameday.inputs.scenario import (
    BadDeployFault,
    CommandFault,
    ConnectionExhaustionFault,
    DestroyServiceFault,
    LinkDownFault,
    LinkToxicFault,
    PartitionFault,
    Scenario,
    ServiceFault,
)
from gameday.inputs.yamldoc import listed, read_document

__all__ = [
    "FaultKind",
    "detection_budget",
    "draw_waves",
    "fault_pool",
    "hold_of",
    "touched",
]


@dataclass(frozen=True)
class FaultKind:
    """One scenario as a campaign uses it."""

    scenario: Scenario
    targets: frozenset[str]  # what its faults touch: "service:db", "link:x", "network:y"

    @property
    def name(self) -> str:
        return self.scenario.name


def touched(scenario: Scenario, project: Project) -> frozenset[str]:
    """The services, proxy links and networks a scenario's faults act on."""
    targets: set[str] = set()
    for fault in scenario.faults:
        match fault:
            case (
                ServiceFault()
                | DestroyServiceFault()
                | ConnectionExhaustionFault()
                | BadDeployFault()
            ):
                targets.add(f"service:{fault.service}")
            case PartitionFault():
                targets.update(f"service:{s}" for s in fault.services)
                targets.add(f"network:{fault.network}")
            case LinkToxicFault() | LinkDownFault():
                targets.update(f"link:{link}" for link in fault.links)
            case CommandFault():
                command = project.spec.commands.get(fault.command)
                targets.add(f"command:{fault.command}")
                if command is not None:
                    targets.add(f"service:{command.service}")
    return frozenset(targets)


def _drawable_by_default(scenario: Scenario) -> bool:
    targets = scenario.targets
    return (
        scenario.recovery.responder == "auto"
        and targets.lost_writes == 0
        and targets.rpo_s is None
        and not any(isinstance(f, DestroyServiceFault) for f in scenario.faults)
    )


def fault_pool(project: Project, scenarios: Sequence[Scenario]) -> dict[str, FaultKind]:
    """The fault kinds a campaign draws from, by name (sorted, so that a seed always
    means the same draw). Raises ProjectError naming the ``campaign:`` field at fault."""
    spec = project.spec.campaign
    by_name = {s.name: s for s in scenarios}
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if spec.scenarios is None:
        chosen = [s for s in scenarios if _drawable_by_default(s)]
    else:
        chosen = []
        for i, name in enumerate(spec.scenarios):
            scenario = by_name.get(name)
            if scenario is None:
                problems.append(
                    (
                        ("campaign", "scenarios", i),
                        f"expected a scenario of {project.scenarios_dir} "
                        f"({listed(by_name) or 'none'}), got {name!r}",
                    )
                )
            elif scenario.recovery.responder != "auto":
                problems.append(
                    (
                        ("campaign", "scenarios", i),
                        f"expected a scenario with the automatic responder; {name!r} has "
                        f"{scenario.recovery.responder!r} (a campaign recovers by itself)",
                    )
                )
            else:
                chosen.append(scenario)
    pool = {s.name: FaultKind(s, touched(s, project)) for s in chosen}
    if spec.services is not None:
        allowed = {f"service:{s}" for s in spec.services}
        pool = {
            name: kind
            for name, kind in pool.items()
            if {t for t in kind.targets if t.startswith("service:")} <= allowed
        }
    if not problems and not pool:
        problems.append(
            (
                ("campaign",),
                "expected at least one scenario a campaign may draw (automatic responder, "
                "no lost write accepted, within campaign.services); none is",
            )
        )
    if problems:
        document = read_document(project.source, ProjectError, "project file")
        document.fail(problems)
    return dict(sorted(pool.items()))


def detection_budget(scenario: Scenario) -> float:
    """How long a scenario's expected alerts have to fire: its MTTD budget, or the time its
    automatic responder waits for them, whichever is shorter (as in a drill)."""
    return min(scenario.detection.within_s, scenario.targets.mttd_s)


def hold_of(fault: PlannedFault, kind: FaultKind) -> float:
    """How long a fault stays in: its planned hold, but never less than the time its
    scenario gives the expected alerts to fire."""
    return max(fault.hold_s, detection_budget(kind.scenario))


def draw_waves(pool: Mapping[str, FaultKind], spec: CampaignSpec, seed: int) -> Iterator[Wave]:
    """Waves drawn from ``seed``, without end. In one wave no two faults share a target
    (two faults on one service would undo each other), and each after the first starts
    within ``stagger_s`` of the wave's start, while the first is still in."""
    rng = random.Random(seed)
    names = sorted(pool)
    while True:
        size = rng.randint(1, spec.max_concurrent)
        chosen: list[PlannedFault] = []
        used: set[str] = set()
        for position in range(size):
            options = [n for n in names if not (pool[n].targets & used)]
            if not options:
                break
            name = rng.choice(options)
            start = 0.0 if position == 0 else round(rng.uniform(*spec.stagger_s), 1)
            hold = round(rng.uniform(*spec.hold_s), 1)
            recovery: Literal["playbook", "revert"] = (
                rng.choice(["playbook", "revert"]) if spec.recovery == "either" else spec.recovery
            )
            chosen.append(
                PlannedFault(scenario=name, start_s=start, hold_s=hold, recovery=recovery)
            )
            used |= pool[name].targets
        yield Wave(faults=chosen)
