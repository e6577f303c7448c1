"""The capacity file: what the replica was measured to carry, and the scenarios that ask more.

``gameday capacity`` (stages/capacity.py) measures the highest rate of the project's load
that the replica carries within a p95 latency and an error rate, with all services up or
with some stopped, and writes it here (``capacity:`` in gameday.yml, default
``capacity.json`` beside it). ``gameday validate`` reads it back: :func:`rate_warnings`
names each scenario whose load rate is above what the replica carried with the services
its faults take out, since such a drill would measure an overloaded replica, not the fault.

It only reads and writes the file; it measures nothing and needs no Docker.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gameday.errors import ProjectError, ScenarioError
from gameday.inputs.scenario import BadDeployFault, PartitionFault, Scenario, ServiceFault
from gameday.inputs.yamldoc import dotted, read_document

if TYPE_CHECKING:
    from gameday.inputs.project import Project

__all__ = [
    "ALL_SERVICES",
    "CapacityFile",
    "CapacityStep",
    "Condition",
    "Machine",
    "RateWarning",
    "condition_name",
    "merged",
    "rate_warnings",
    "read_capacity",
    "taken_out",
    "write_capacity",
]

ALL_SERVICES = "all services"
Rate = Annotated[float, Field(ge=0)]


class _Record(BaseModel):
    # Written by gameday, read by gameday: fields a later version adds are ignored.
    model_config = ConfigDict(frozen=True, allow_inf_nan=False)


class CapacityStep(_Record):
    """One offered rate of the search and what the load saw at it."""

    rate_per_s: Rate  # offered
    requests: int  # sent in the measured window (after the warm-up)
    sent_per_s: Rate  # what the load generator managed to send of the offered rate
    p95_ms: float | None  # of the successful requests; None when none succeeded
    error_rate: Annotated[float, Field(ge=0, le=1)]
    passed: bool
    why: str = ""  # what was over its limit, when it did not pass


class Machine(_Record):
    """The machine a measurement ran on: the replica and the load shared it."""

    cpu_count: int | None
    load_average_1m: float | None  # when the measurement started
    load_average_1m_end: float | None = None  # when it ended

    @classmethod
    def this_one(cls) -> Machine:
        try:
            load: float | None = round(os.getloadavg()[0], 2)
        except OSError:
            load = None
        return cls(cpu_count=os.cpu_count(), load_average_1m=load)

    def cores(self) -> str:
        """ "a 2-core machine"."""
        return f"a {self.cpu_count}-core machine" if self.cpu_count else "a machine"

    def describe(self) -> str:
        if self.load_average_1m is None:
            return self.cores()
        end = (
            "" if self.load_average_1m_end is None else f", {self.load_average_1m_end:g} at the end"
        )
        return f"{self.cores()} (load average {self.load_average_1m:g} at the start{end})"


class Condition(_Record):
    """The capacity with all services up, or with the services ``without`` stopped."""

    name: str
    without: list[str]  # sorted; empty: all services up
    capacity_per_s: Rate  # the highest offered rate carried; 0: not even the lowest one
    at_least: bool  # every rate offered was carried: the real capacity is higher
    limit: str  # what ended the search, in words
    measured_at: datetime
    gameday_version: str
    machine: Machine
    warmup_s: float
    step_s: float
    steps: list[CapacityStep]

    def describe(self) -> str:
        """ "120 requests/s" or "at least 300 requests/s"."""
        figure = f"{self.capacity_per_s:g} requests/s"
        return f"at least {figure}" if self.at_least else figure


class CapacityFile(_Record):
    """What one project's replica was measured to carry, under one latency and error limit."""

    note: str
    p95_ms: Annotated[float, Field(gt=0)]
    max_error_rate: Annotated[float, Field(ge=0, le=1)]
    conditions: list[Condition]

    def condition(self, without: Iterable[str]) -> Condition | None:
        wanted = sorted(without)
        return next((c for c in self.conditions if c.without == wanted), None)


def condition_name(without: Iterable[str]) -> str:
    """ "all services", or "without backend-2" (services sorted, comma-separated)."""
    names = sorted(set(without))
    return f"without {', '.join(names)}" if names else ALL_SERVICES


def merged(
    existing: CapacityFile | None, measured: Condition, *, p95_ms: float, max_error_rate: float
) -> tuple[CapacityFile, list[str]]:
    """``existing`` with ``measured`` in place of the condition of the same name; the
    names of the conditions dropped because they were measured under other limits."""
    others = [c for c in existing.conditions if c.name != measured.name] if existing else []
    same_limits = existing is not None and (existing.p95_ms, existing.max_error_rate) == (
        p95_ms,
        max_error_rate,
    )
    kept, dropped = (others, []) if same_limits else ([], others)
    conditions = sorted([*kept, measured], key=lambda c: (len(c.without), c.without))
    machines = sorted({c.machine.cores() for c in conditions})
    note = (
        "The highest offered rate of the project's load (requests/s, open loop) at which "
        f"p95 latency stayed at or under {p95_ms:g} ms and errors at or under "
        f"{max_error_rate:.1%}, measured by `gameday capacity` on {' and '.join(machines)} "
        "that ran the replica and the load together. Another machine carries another rate: "
        "measure there before trusting these figures."
    )
    record = CapacityFile(
        note=note, p95_ms=p95_ms, max_error_rate=max_error_rate, conditions=conditions
    )
    return record, [c.name for c in dropped]


def read_capacity(path: Path) -> CapacityFile | None:
    """The capacity file at ``path``; None when there is none. Raises ProjectError,
    naming the file and the field, when it cannot be read as one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"{path}: cannot read the capacity file ({exc})") from exc
    try:
        return CapacityFile.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = dotted(tuple(first["loc"]))
        field = f"field '{where}': " if where else ""
        raise ProjectError(
            f"{path}: {field}{first['msg']} ({exc.error_count()} problems); expected the "
            "file `gameday capacity` writes: measure again, or delete it"
        ) from exc


def write_capacity(path: Path, record: CapacityFile) -> None:
    """Write the capacity file whole (a half-written file is never left in its place)."""
    scratch = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
        scratch.replace(path)
    except OSError as exc:
        scratch.unlink(missing_ok=True)
        raise ProjectError(f"{path}: cannot write the capacity file ({exc})") from exc


# -- the scenarios that ask more than was measured -------------------------------------------


def taken_out(scenario: Scenario) -> frozenset[str]:
    """The services a scenario's faults take out of service: stopped, killed or paused,
    partitioned off a network, or replaced by a broken release."""
    out: set[str] = set()
    for fault in scenario.faults:
        match fault:
            case ServiceFault(type="stop_service" | "kill_service" | "pause_service"):
                out.add(fault.service)
            case PartitionFault():
                out.update(fault.services)
            case BadDeployFault():
                out.add(fault.service)
    return frozenset(out)


@dataclass(frozen=True)
class RateWarning:
    """A scenario whose load rate is above what the replica carried in its condition."""

    scenario_file: Path
    file: Path  # where the rate is written: the scenario file, or the project file
    line: int
    rate_per_s: float
    rate_is_default: bool  # nobody wrote it: the project's default rate
    condition: Condition
    taken_out: frozenset[str]
    capacity: CapacityFile
    capacity_file: Path

    def __str__(self) -> str:
        c = self.condition
        rate = f"{self.rate_per_s:g} requests/s" + (
            " (the default)" if self.rate_is_default else ""
        )
        where = f"{self.file}:{self.line}: field 'load.rate_per_s'"
        if self.file == self.scenario_file:
            said = f"{where}: {rate} is"
        else:
            said = f"{self.scenario_file}: the project's load rate ({where}), {rate}, is"
        condition = f"with {ALL_SERVICES} up" if not c.without else c.name
        missing = sorted(self.taken_out - set(c.without))
        hint = ""
        if missing:
            options = " ".join(f"--without {name}" for name in missing)
            hint = (
                f"; its faults take out {', '.join(missing)}, which no measurement left out "
                f"(`gameday capacity {options}`)"
            )
        return (
            f"{said} above the {c.capacity_per_s:g} requests/s the replica carried "
            f"{condition} (p95 ≤ {self.capacity.p95_ms:g} ms, errors ≤ "
            f"{self.capacity.max_error_rate:.1%}; {self.capacity_file}, measured "
            f"{c.measured_at:%Y-%m-%d} on {c.machine.cores()}){hint}: the drill would "
            "measure an overloaded replica, not the fault"
        )


def rate_warnings(project: Project, scenarios: Sequence[Scenario]) -> list[RateWarning]:
    """Each scenario whose load rate (its own ``load.rate_per_s``, else the project's) is
    above the capacity measured without the services its faults take out (or without as
    many of them as were measured; with all services up, lacking any, and for a scenario
    that takes nothing out). A capacity that was never reached (``at_least``) says nothing
    against a higher rate. [] without a capacity file."""
    capacity = read_capacity(project.capacity_file)
    load = project.spec.load
    if capacity is None or load is None:
        return []
    warnings = []
    for scenario in scenarios:
        out = taken_out(scenario)
        condition = _closest(capacity.conditions, out)
        if condition is None or condition.at_least:
            continue
        rate = scenario.load.rate_per_s or load.rate_per_s
        if rate <= condition.capacity_per_s:
            continue
        file, line, default = _where_rate_is(project, scenario)
        warnings.append(
            RateWarning(
                scenario_file=scenario.source or Path(f"{scenario.name}.yml"),
                file=file,
                line=line,
                rate_per_s=rate,
                rate_is_default=default,
                condition=condition,
                taken_out=out,
                capacity=capacity,
                capacity_file=project.capacity_file,
            )
        )
    return warnings


def _closest(conditions: Sequence[Condition], out: frozenset[str]) -> Condition | None:
    """The measured condition nearest to taking ``out`` out: the one without the most of
    those services (and nothing else); among equals the lowest capacity."""
    candidates = [c for c in conditions if set(c.without) <= out]
    if not candidates:
        return None
    return min(candidates, key=lambda c: (-len(c.without), c.capacity_per_s))


def _where_rate_is(project: Project, scenario: Scenario) -> tuple[Path, int, bool]:
    """The file and line that set the scenario's rate, and whether it is the default."""
    where = ("load", "rate_per_s")
    if scenario.load.rate_per_s is not None and scenario.source is not None:
        try:
            document = read_document(scenario.source, ScenarioError, "scenario file")
        except ScenarioError:
            return scenario.source, 1, False
        return scenario.source, document.line(where), False
    document = read_document(project.source, ProjectError, "project file")
    load = project.spec.load
    default = load is None or "rate_per_s" not in load.model_fields_set
    return project.source, document.line(where), default
