"""Campaigns: the project's limits on them, and schedule files (docs/campaigns.md).

A campaign runs many faults on one replica under continuous load: a *schedule* of
*waves*, each a few faults that overlap (each a scenario of the project: its faults go in,
its playbook steps or a plain revert take them out). Between waves the replica must come
back to its steady state. The project's ``campaign:`` section says which scenarios may be
drawn, on which services, how many at once and for how long; :class:`Schedule` is what a
seed gives (and what a journal, or a shrunk schedule file, replays).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gameday.errors import ScenarioError
from gameday.inputs.monitoring import PositiveDuration
from gameday.inputs.scenario import SteadyState
from gameday.inputs.yamldoc import listed, read_document

__all__ = [
    "CampaignSpec",
    "PlannedFault",
    "Schedule",
    "Wave",
    "read_schedule",
    "schedule_yaml",
]

Name = Annotated[str, Field(min_length=1, max_length=128)]
Offset = Annotated[float, Field(ge=0, le=3600)]
Hold = Annotated[float, Field(gt=0, le=3600)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _range(value: list[float], what: str) -> list[float]:
    if len(value) != 2 or value[0] > value[1]:
        raise ValueError(f"expected [least, most] seconds for {what}, got {value}")
    return value


class CampaignSpec(_Strict):
    """The project's ``campaign:`` section: what a campaign may do to this stack."""

    # The fault kinds: these scenarios of the project. Default: every scenario with the
    # automatic responder that accepts no lost write (a disaster drill loses some by design).
    scenarios: list[Name] | None = None
    # Only scenarios whose faults touch just these services (default: any service).
    services: list[Name] | None = None
    max_concurrent: Annotated[int, Field(ge=1, le=5)] = 2
    # How long each fault stays in (at least its scenario's detection time), and how long
    # after a wave's first fault the others go in.
    hold_s: list[Hold] = Field(default_factory=lambda: [20.0, 40.0])
    stagger_s: list[Offset] = Field(default_factory=lambda: [0.0, 10.0])
    # Out by the scenario's playbook steps, by reverting the fault, or either (drawn).
    recovery: Literal["playbook", "revert", "either"] = "playbook"
    duration: PositiveDuration = 600.0
    # What "back to normal" means between waves.
    steady_state: SteadyState = Field(default_factory=SteadyState)
    # The most campaigns a shrink may run to find the smallest failing schedule.
    shrink_runs: Annotated[int, Field(ge=0, le=100)] = 12

    @field_validator("hold_s")
    @classmethod
    def _hold(cls, value: list[float]) -> list[float]:
        return _range(value, "hold_s")

    @field_validator("stagger_s")
    @classmethod
    def _stagger(cls, value: list[float]) -> list[float]:
        return _range(value, "stagger_s")

    @model_validator(mode="after")
    def _overlap(self) -> CampaignSpec:
        if self.max_concurrent > 1 and self.stagger_s[1] >= self.hold_s[0]:
            raise ValueError(
                f"stagger_s: expected its most ({self.stagger_s[1]:g} s) under the least "
                f"hold_s ({self.hold_s[0]:g} s), or a wave's faults may not overlap"
            )
        return self


# -- schedules ---------------------------------------------------------------------------


class PlannedFault(_Strict):
    """One fault of a wave: a scenario's faults, ``start_s`` after the wave began, held
    ``hold_s`` (or its scenario's detection time, if longer), then recovered."""

    scenario: Name
    start_s: Offset = 0.0
    hold_s: Hold
    recovery: Literal["playbook", "revert"] = "playbook"


class Wave(_Strict):
    faults: list[PlannedFault] = Field(min_length=1, max_length=10)


class Schedule(_Strict):
    """What a campaign runs, wave after wave; the seed it came from, if any."""

    seed: int | None = None
    waves: list[Wave] = Field(min_length=1, max_length=10_000)

    def scenarios(self) -> list[str]:
        return [f.scenario for w in self.waves for f in w.faults]


class _Journal(BaseModel):
    """A campaign journal (campaign.json): only its schedule is read back."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    kind: Literal["campaign"]
    schedule: Schedule


def read_schedule(path: Path, known: list[str] | None = None) -> Schedule:
    """The schedule in a schedule file or a campaign journal; ``known``: the scenario
    names it may use. Raises ScenarioError (file, line, field) and nothing else."""
    document = read_document(path, ScenarioError, "schedule file")
    data: dict[str, Any] = document.data()
    try:
        if data.get("kind") == "campaign":
            schedule = _Journal.model_validate(data).schedule
            prefix: tuple[str | int, ...] = ("schedule",)
        else:
            schedule = Schedule.model_validate(data)
            prefix = ()
    except ValidationError as exc:
        raise ScenarioError(document.explain(exc)) from exc
    if known is not None:
        document.fail(
            [
                (
                    (*prefix, "waves", i, "faults", j, "scenario"),
                    f"expected a scenario of the project ({listed(known)}), got {f.scenario!r}",
                )
                for i, wave in enumerate(schedule.waves)
                for j, f in enumerate(wave.faults)
                if f.scenario not in known
            ]
        )
    return schedule


def schedule_yaml(schedule: Schedule, header: str = "") -> str:
    """A schedule file a person can read (and ``gameday campaign --replay`` runs)."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines.append(f"seed: {'null' if schedule.seed is None else schedule.seed}")
    lines.append("waves:")
    for i, wave in enumerate(schedule.waves, start=1):
        lines.append(f"  # wave {i}")
        lines.append("  - faults:")
        for fault in wave.faults:
            lines.append(
                f"      - {{scenario: {fault.scenario}, start_s: {fault.start_s:g}, "
                f"hold_s: {fault.hold_s:g}, recovery: {fault.recovery}}}"
            )
    return "\n".join(lines) + "\n"
