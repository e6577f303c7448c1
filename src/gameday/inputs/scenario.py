"""Scenario files: what breaks, which alert must fire how fast, which playbook steps fix it.

A scenario is a YAML file in a project's ``scenarios/``; this module is its schema
(pydantic models) and its loader. ``load_scenario`` either returns a valid
:class:`Scenario` or raises a :class:`~gameday.errors.ScenarioError` that names the file,
the line and the field; it never lets another kind of exception out. Given the
:class:`~gameday.inputs.project.Project`, the loader also checks every name the scenario uses
against the stack: services and networks of the compose file, alerts of the rule files,
the playbook's sections and drills, the proxy's links, the project's named commands and
load requests. The full reference is docs/scenarios.md.

It is long because it is the schema of every fault and step, with the check of each
name a scenario uses against its project.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from gameday.errors import ScenarioError
from gameday.inputs.monitoring import (
    DEFAULT_GROUP_WAIT_S,
    DEFAULT_INTERVAL_S,
    Duration,
    MonitoringSettings,
)
from gameday.inputs.yamldoc import (
    MAX_FILE_BYTES,
    Location,
    YamlDocument,
    listed,
    parse_document,
    read_document,
)

if TYPE_CHECKING:
    from gameday.inputs.project import Project

__all__ = [
    "MAX_FILE_BYTES",
    "TOXIC_ATTRIBUTES",
    "Clocks",
    "Detection",
    "FaultSpec",
    "Load",
    "Recovery",
    "RecoveryStep",
    "Scenario",
    "SteadyState",
    "Targets",
    "load_all",
    "load_scenario",
    "parse_scenario",
]

Name = Annotated[str, Field(min_length=1, max_length=128)]
Seconds = Annotated[float, Field(gt=0, le=86_400)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    # strict: YAML's `true` is no number of seconds and '300' no latency.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# -- faults ------------------------------------------------------------------------------


class ServiceFault(_Strict):
    """Stop, kill, pause or restart one service's container."""

    type: Literal["stop_service", "kill_service", "pause_service", "restart_service"]
    service: Name


class DestroyServiceFault(_Strict):
    """A disaster: remove one service's container and the named volumes it mounts (its
    data). Reverting recreates it through Compose with empty volumes, then runs the
    project's ``restore`` command, if named, to put the data back from a backup."""

    type: Literal["destroy_service"]
    service: Name
    restore: Name | None = None


class PartitionFault(_Strict):
    """Cut ``services`` off a Docker network of the replica (``docker network disconnect``)."""

    type: Literal["partition"]
    services: list[Name] = Field(min_length=1)
    network: Name


# What each toxic reads, and the values the proxy accepts (the proxy ignores any other
# attribute, as Toxiproxy does, so a typo would give a toxic that does nothing).
_MS = (0, 3_600_000)
TOXIC_ATTRIBUTES: dict[str, dict[str, tuple[int, int]]] = {
    "latency": {"latency": _MS, "jitter": _MS},
    "bandwidth": {"rate": (1, 10_000_000)},
    "slow_close": {"delay": _MS},
    "timeout": {"timeout": _MS},
    "reset_peer": {"timeout": _MS},
    "slicer": {
        "average_size": (1, 1_000_000),
        "size_variation": (0, 1_000_000),
        "delay": (0, 3_600_000_000),
    },
    "limit_data": {"bytes": (0, 1_000_000_000_000)},
}


class LinkToxicFault(_Strict):
    """A Toxiproxy toxic on one or more proxy links (for example ``api-to-database``)."""

    type: Literal["link_toxic"]
    links: list[Name] = Field(min_length=1)
    toxic: Literal[
        "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data"
    ]
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: Fraction = 1.0
    attributes: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _attributes_known(self) -> LinkToxicFault:
        known = TOXIC_ATTRIBUTES[self.toxic]
        for name, value in self.attributes.items():
            if name not in known:
                raise ValueError(
                    f"attributes.{name}: expected an attribute of the {self.toxic} toxic "
                    f"({listed(known)}), got {name!r}"
                )
            low, high = known[name]
            if not low <= value <= high:
                raise ValueError(f"attributes.{name}: expected {low} to {high}, got {value}")
        size, variation = self.attributes.get("average_size"), self.attributes.get("size_variation")
        if size is not None and variation is not None and variation >= size:
            raise ValueError(
                "attributes.size_variation: expected less than average_size "
                f"({size}), got {variation}"
            )
        return self


class LinkDownFault(_Strict):
    """Disable proxy links: new connections are refused, open ones are closed."""

    type: Literal["link_down"]
    links: list[Name] = Field(min_length=1)


class CommandFault(_Strict):
    """Run one of the project's named commands in its service (a cache flush, say); its
    ``revert`` command, if it has one, undoes it."""

    type: Literal["command"]
    command: Name


class ConnectionExhaustionFault(_Strict):
    """Hold ``connections`` idle PostgreSQL sessions open in ``database``, as a leaking
    client would."""

    type: Literal["connection_exhaustion"]
    service: Name
    database: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]
    connections: Annotated[int, Field(ge=1, le=10_000)]


class BadDeployFault(_Strict):
    """Deploy a broken release of one service: recreate it with ``environment`` merged
    over its compose definition (a new version, a stale secret)."""

    type: Literal["bad_deploy"]
    service: Name
    environment: dict[str, str] = Field(min_length=1)


FaultSpec = Annotated[
    ServiceFault
    | DestroyServiceFault
    | PartitionFault
    | LinkToxicFault
    | LinkDownFault
    | CommandFault
    | ConnectionExhaustionFault
    | BadDeployFault,
    Field(discriminator="type"),
]

# -- recovery ----------------------------------------------------------------------------


class ServiceStep(_Strict):
    """Start, restart or unpause a service's container (the playbook's systemctl restart)."""

    action: Literal["start_service", "restart_service", "unpause_service"]
    service: Name


class RollbackStep(_Strict):
    """Recreate a service from its compose definition alone: the previous release
    (``rollback``), or a destroyed service with empty volumes (``recreate_service``)."""

    action: Literal["rollback", "recreate_service"]
    service: Name


class SimpleStep(_Strict):
    """Steps with no arguments: heal partitions, clear every proxy link's faults."""

    action: Literal["heal_partition", "clear_link_faults"]


class CommandStep(_Strict):
    """Run one of the project's named commands (the responder's own tool)."""

    action: Literal["command"]
    command: Name


class WaitStep(_Strict):
    """Do nothing for a while (a responder's thinking time in a scripted drill)."""

    action: Literal["wait"]
    seconds: Seconds


RecoveryStep = Annotated[
    ServiceStep | RollbackStep | SimpleStep | CommandStep | WaitStep,
    Field(discriminator="action"),
]

# -- the rest ------------------------------------------------------------------------------


class PlaybookRef(_Strict):
    section: str = Field(min_length=1)
    alerts: list[Name] = Field(default_factory=list)
    drill: str | None = None  # one of the playbook's "Drill Scenarios", if this is one
    # Other procedures of the playbook (its ## and ### headings) this drill proves, besides
    # its section: for the coverage page.
    procedures: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list
    )


class Load(_Strict):
    """The scenario's changes to the project's load: its rate, and the requests' weights."""

    rate_per_s: Annotated[float, Field(gt=0, le=500)] | None = None
    timeout_s: Seconds | None = None
    weights: dict[str, Annotated[float, Field(ge=0, le=1_000_000)]] = Field(default_factory=dict)


class Detection(_Strict):
    expect: list[Name] = Field(min_length=1)
    within_s: Seconds = 300
    allow: list[Name] = Field(default_factory=list)  # may fire too without being noise
    # What other alerts firing means: a finding in the report, or a failed drill (for a
    # team that wants its alerting kept quiet).
    noise: Literal["report", "fail"] = "report"
    # Users broken (the steady state's limits) while no alert fires, for longer than
    # max_silent_s (default: within_s): a finding in the report, or a failed drill.
    silent_failures: Literal["report", "fail"] = "report"
    max_silent_s: Seconds | None = None


class Recovery(_Strict):
    responder: Literal["auto", "human", "none"] = "auto"
    # The automatic responder starts when the expected alerts fire, or after this many
    # seconds if they never do (so that a drill with broken detection still ends).
    start_after_s: Seconds | None = None
    steps: list[RecoveryStep] = Field(default_factory=list)


class SteadyState(_Strict):
    # The services whose health endpoints must answer 200; None: all the project names.
    healthy: list[Name] | None = None
    alerts_resolved: bool = True
    max_error_rate: Fraction = 0.01
    # Also a latency limit on the load's successful requests, if set.
    max_p95_ms: Annotated[float, Field(gt=0, le=3_600_000)] | None = None
    window_s: Seconds = 3.0


class Targets(_Strict):
    """Grading targets. The defaults are common SRE targets; scenarios set their budgets."""

    mttd_s: Seconds = 300
    mttr_s: Seconds = 3600
    # Human responders only: a first on-call engineer answers within 10 minutes.
    mtta_s: Seconds = 600
    p95_ms: Annotated[float, Field(gt=0, le=3_600_000)] = 200
    error_rate: Fraction = 0.01
    availability: Fraction | None = None
    lost_writes: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0
    # A disaster-recovery drill's recovery time objective (graded on the MTTR: fault to
    # service back) and recovery point objective (how far before the fault the lost
    # acknowledged writes go back); each graded only when set.
    rto_s: Seconds | None = None
    rpo_s: Annotated[float, Field(ge=0, le=86_400)] | None = None


class ProductionOverride(_Strict):
    """A scenario's changes to the project's production monitoring settings."""

    scrape_interval: Duration | None = None
    evaluation_interval: Duration | None = None
    group_wait: Duration | None = None
    for_: dict[Name, Duration] = Field(default_factory=dict, alias="for")

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, populate_by_name=True
    )

    def applied_to(self, settings: MonitoringSettings | None) -> MonitoringSettings:
        base = settings or MonitoringSettings(
            DEFAULT_INTERVAL_S, DEFAULT_INTERVAL_S, DEFAULT_GROUP_WAIT_S
        )
        return MonitoringSettings(
            scrape_interval_s=_first(self.scrape_interval, base.scrape_interval_s),
            evaluation_interval_s=_first(self.evaluation_interval, base.evaluation_interval_s),
            group_wait_s=_first(self.group_wait, base.group_wait_s),
            for_s={**base.for_s, **self.for_},
        )


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


class Clocks(_Strict):
    """The scenario's changes to the project's communication and escalation clocks. A drill
    is shorter than an incident: ``scale`` multiplies every clock's times (0.01 makes a
    5-minute clock 3 seconds), and ``due_s`` sets a clock's due time outright."""

    scale: Annotated[float, Field(gt=0, le=100)] = 1.0
    due_s: dict[Name, Seconds] = Field(default_factory=dict)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    playbook: PlaybookRef
    faults: list[FaultSpec] = Field(min_length=1, max_length=100)
    load: Load = Field(default_factory=Load)
    detection: Detection
    recovery: Recovery = Field(default_factory=Recovery)
    steady_state: SteadyState = Field(default_factory=SteadyState)
    targets: Targets = Field(default_factory=Targets)
    production: ProductionOverride | None = None
    clocks: Clocks = Field(default_factory=Clocks)
    source: SkipJsonSchema[Path | None] = Field(default=None, exclude=True)

    @field_validator("faults", mode="before")
    @classmethod
    def _one_fault_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _auto_needs_steps(self) -> Scenario:
        if self.recovery.responder == "auto" and not self.recovery.steps:
            raise ValueError("recovery.steps: the auto responder needs at least one step")
        return self


# -- loading ---------------------------------------------------------------------------------


def _union_tags(union: Any, discriminator: str) -> list[str]:
    members = get_args(get_args(union)[0])
    return [tag for m in members for tag in get_args(m.model_fields[discriminator].annotation)]


_TAGS = {"type": _union_tags(FaultSpec, "type"), "action": _union_tags(RecoveryStep, "action")}
_TAGGED_LISTS = ("faults", "steps")


def load_scenario(path: Path, project: Project | None = None) -> Scenario:
    """Read and validate one scenario file (against ``project`` when given); raises
    ``ScenarioError`` and nothing else."""
    return _validate(read_document(path, ScenarioError, "scenario file"), project)


def _load_with_document(path: Path, project: Project | None) -> tuple[Scenario, YamlDocument]:
    document = read_document(path, ScenarioError, "scenario file")
    return _validate(document, project), document


def parse_scenario(text: str, path: Path, project: Project | None = None) -> Scenario:
    """Validate a scenario's YAML text; ``path`` names it in errors."""
    return _validate(parse_document(text, path, ScenarioError, "scenario file"), project)


def _validate(document: YamlDocument, project: Project | None) -> Scenario:
    data = document.data()
    if "source" in data:  # the loader's own field, not the file's
        document.fail([(("source",), "unknown field (check its spelling against the docs)")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(document.explain(exc, _TAGS, _TAGGED_LISTS)) from exc
    document.fail(_consistency(scenario))
    if project is not None:
        document.fail(_against_project(scenario, project))
    return scenario.model_copy(update={"source": document.path})


def _consistency(scenario: Scenario) -> list[tuple[Location, str]]:
    """Alerts that must agree between the scenario's own sections."""
    problems: list[tuple[Location, str]] = []
    for j, alert in enumerate(scenario.detection.expect):
        if alert not in scenario.playbook.alerts:
            problems.append(
                (
                    ("detection", "expect", j),
                    f"expected an alert listed in playbook.alerts "
                    f"({listed(scenario.playbook.alerts) or 'empty'}), got {alert!r}; "
                    "list it there too",
                )
            )
    return problems


def _against_project(scenario: Scenario, project: Project) -> list[tuple[Location, str]]:
    """Every name the scenario uses must exist in the project's stack."""
    problems: list[tuple[Location, str]] = []

    def one_of(where: Location, value: str, allowed: Iterable[str], what: str) -> None:
        allowed = set(allowed)
        if value not in allowed:
            problems.append(
                (where, f"expected {what} ({listed(allowed) or 'none'}), got {value!r}")
            )

    services = project.services
    commands = project.spec.commands
    for i, fault in enumerate(scenario.faults):
        at: Location = ("faults", i)
        match fault:
            case ServiceFault():
                one_of(
                    (*at, "service"),
                    fault.service,
                    project.fault_targets("service"),
                    "a service this project lets faults target",
                )
            case DestroyServiceFault():
                one_of(
                    (*at, "service"),
                    fault.service,
                    project.fault_targets("service"),
                    "a service this project lets faults target",
                )
                if fault.restore is not None:
                    one_of(
                        (*at, "restore"),
                        fault.restore,
                        commands,
                        "a command of the project's commands:",
                    )
            case PartitionFault():
                for j, service in enumerate(fault.services):
                    one_of(
                        (*at, "services", j),
                        service,
                        project.fault_targets("partition"),
                        "a service this project lets partitions cut off",
                    )
                    info = project.topology.services.get(service)
                    if info is not None and fault.network not in info.networks:
                        problems.append(
                            (
                                (*at, "services", j),
                                f"expected a service on the {fault.network!r} network, but "
                                f"{service} is only on {listed(info.networks) or 'no network'}",
                            )
                        )
                one_of(
                    (*at, "network"),
                    fault.network,
                    project.topology.networks(),
                    "a network of the compose file",
                )
            case LinkToxicFault() | LinkDownFault():
                if not project.links:
                    problems.append(
                        (
                            (*at, "type"),
                            "expected a fault this stack can have: the project "
                            "has no proxy (proxy: in gameday.yml), so no link faults",
                        )
                    )
                else:
                    for j, link in enumerate(fault.links):
                        one_of((*at, "links", j), link, project.links, "one of the proxy's links")
            case CommandFault():
                one_of(
                    (*at, "command"),
                    fault.command,
                    commands,
                    "a command of the project's commands:",
                )
            case ConnectionExhaustionFault():
                one_of((*at, "service"), fault.service, services, "a service of the compose file")
            case BadDeployFault():
                one_of(
                    (*at, "service"),
                    fault.service,
                    project.fault_targets("deploy"),
                    "a service this project lets deploys target",
                )
    for i, step in enumerate(scenario.recovery.steps):
        at = ("recovery", "steps", i)
        match step:
            case ServiceStep() | RollbackStep():
                one_of((*at, "service"), step.service, services, "a service of the compose file")
            case CommandStep():
                one_of(
                    (*at, "command"), step.command, commands, "a command of the project's commands:"
                )
            case SimpleStep(action="clear_link_faults") if not project.links:
                problems.append(
                    (
                        (*at, "action"),
                        "expected a step this stack can take: the "
                        "project has no proxy, so there are no link faults to clear",
                    )
                )
    alerts = project.alerts
    if project.spec.rules:
        for name in ("expect", "allow"):
            for j, alert in enumerate(getattr(scenario.detection, name)):
                one_of(("detection", name, j), alert, alerts, "an alert the rule files define")
        for j, alert in enumerate(scenario.playbook.alerts):
            one_of(("playbook", "alerts", j), alert, alerts, "an alert the rule files define")
        if scenario.production is not None:
            for alert in scenario.production.for_:
                one_of(("production", "for", alert), alert, alerts, "an alert of the rule files")
    playbook = project.playbook
    if playbook is not None:
        if playbook.section(scenario.playbook.section) is None:
            problems.append(
                (
                    ("playbook", "section"),
                    "expected a section of the playbook "
                    f"({', '.join(playbook.section_names())}), got {scenario.playbook.section!r}",
                )
            )
        for j, name in enumerate(scenario.playbook.procedures):
            if not playbook.procedures_named(name):
                problems.append(
                    (
                        ("playbook", "procedures", j),
                        "expected a ## or ### heading of the playbook "
                        f"({playbook.procedure_hint(name)}), got {name!r}",
                    )
                )
        drill = scenario.playbook.drill
        if drill is not None and not playbook.has_drill(drill):
            problems.append(
                (
                    ("playbook", "drill"),
                    "expected one of the playbook's drills "
                    f"({', '.join(playbook.drills) or 'it lists none'}), got {drill!r}",
                )
            )
    if scenario.steady_state.healthy is not None:
        for j, service in enumerate(scenario.steady_state.healthy):
            one_of(
                ("steady_state", "healthy", j),
                service,
                project.health(),
                "a service with a health endpoint in the project's health:",
            )
    for name in scenario.clocks.due_s:
        one_of(("clocks", "due_s", name), name, project.spec.clocks, "a clock of the project")
    project_load = project.spec.load
    requests = {r.name: r for r in project_load.requests} if project_load else {}
    for name in scenario.load.weights:
        one_of(("load", "weights", name), name, requests, "a request of the project's load")
    if scenario.load.weights and requests:
        weights = {n: scenario.load.weights.get(n, r.weight) for n, r in requests.items()}
        if not any(weights[n] > 0 and not r.needs_id for n, r in requests.items()):
            problems.append(
                (
                    ("load", "weights"),
                    "expected a weight above 0 for at least one request that needs no "
                    "{id} (the load has to write before it can read back)",
                )
            )
    return problems


def _scenario_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yml"), *path.glob("*.yaml")]))
        else:
            files.append(path)
    unique: dict[str, Path] = {}
    for file in files:
        unique.setdefault(os.path.realpath(file), file)  # a file named twice is one file
    return list(unique.values())


def load_all(paths: list[Path], project: Project | None = None) -> list[Scenario]:
    """Load scenario files and the ``*.yml``/``*.yaml`` files in directories; report all
    invalid ones at once, and refuse two scenarios with the same name."""
    files = _scenario_files(paths)
    if not files:
        raise ScenarioError(f"no scenario files in {', '.join(map(str, paths))}")
    loaded: list[tuple[Scenario, YamlDocument]] = []
    problems: list[str] = []
    for file in files:
        try:
            mode = file.stat().st_mode
            if not stat.S_ISREG(mode):
                problems.append(f"{file}: expected a scenario file, this is not a regular file")
                continue
            loaded.append(_load_with_document(file, project))
        except ScenarioError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{file}: cannot read the scenario file ({exc.strerror or exc})")
    seen: dict[str, Path] = {}
    for scenario, document in loaded:
        assert scenario.source is not None
        if scenario.name in seen:
            problems.append(
                document.message(
                    ("name",),
                    f"expected a name of its own, but {scenario.name!r} is already the "
                    f"name of {seen[scenario.name]}",
                )
            )
        seen.setdefault(scenario.name, scenario.source)
    if problems:
        raise ScenarioError("\n".join(problems))
    return [scenario for scenario, _ in loaded]
