"""Scenario files: what breaks, which alert must fire how fast, which playbook steps fix it.

A scenario is a YAML file in ``scenarios/``; this module is its schema (pydantic models)
and its loader. ``load_scenario`` either returns a valid :class:`Scenario` or raises a
:class:`~gameday.errors.ScenarioError` that names the file, the line and the field; it
never lets another kind of exception out. The full reference is docs/scenarios.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gameday.errors import ScenarioError

__all__ = [
    "PLAYBOOK_ALERTS",
    "SERVICES",
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
]

# The alerts the service outage playbook names (see stack/config/rules).
PLAYBOOK_ALERTS = (
    "ServiceDown",
    "DatabaseDown",
    "HighDatabaseConnections",
    "RedisDown",
    "LowRedisHitRate",
    "HighResponseTime",
    "NetworkLatency",
)
# Services of the bundled replica that faults and steps may name.
SERVICES = (
    "gateway",
    "backend-1",
    "backend-2",
    "postgres",
    "redis",
    "proxy",
    "prometheus",
    "alertmanager",
    "blackbox",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
)

AlertName = Literal[
    "ServiceDown",
    "DatabaseDown",
    "HighDatabaseConnections",
    "RedisDown",
    "LowRedisHitRate",
    "HighResponseTime",
    "NetworkLatency",
]
Service = Literal[
    "gateway",
    "backend-1",
    "backend-2",
    "postgres",
    "redis",
    "proxy",
    "prometheus",
    "alertmanager",
    "blackbox",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
]
Network = Literal["app", "data"]
Seconds = Annotated[float, Field(gt=0, le=86_400)]
Fraction = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# -- faults ------------------------------------------------------------------------------


class ServiceFault(_Strict):
    """Stop, kill, pause or restart one service's container."""

    type: Literal["stop_service", "kill_service", "pause_service", "restart_service"]
    service: Service


class PartitionFault(_Strict):
    """Cut ``services`` off a Docker network of the replica (``docker network disconnect``)."""

    type: Literal["partition"]
    services: list[Service] = Field(min_length=1)
    network: Network = "data"


class LinkToxicFault(_Strict):
    """A Toxiproxy toxic on one or more proxy links (for example ``backend-1-postgres``)."""

    type: Literal["link_toxic"]
    links: list[str] = Field(min_length=1)
    toxic: Literal[
        "latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data"
    ]
    stream: Literal["upstream", "downstream"] = "downstream"
    toxicity: Fraction = 1.0
    attributes: dict[str, int] = Field(default_factory=dict)


class LinkDownFault(_Strict):
    """Disable proxy links: new connections are refused, open ones are closed."""

    type: Literal["link_down"]
    links: list[str] = Field(min_length=1)


class CacheFlushFault(_Strict):
    """Lose every key in Redis (FLUSHALL): the cache comes back cold."""

    type: Literal["cache_flush"]


class ConnectionExhaustionFault(_Strict):
    """Hold ``connections`` idle PostgreSQL sessions open, as a leaking client would."""

    type: Literal["connection_exhaustion"]
    connections: int = Field(ge=1, le=10_000)


FaultSpec = Annotated[
    ServiceFault
    | PartitionFault
    | LinkToxicFault
    | LinkDownFault
    | CacheFlushFault
    | ConnectionExhaustionFault,
    Field(discriminator="type"),
]

# -- recovery ----------------------------------------------------------------------------


class ServiceStep(_Strict):
    """Start, restart or unpause a service's container (the playbook's systemctl restart)."""

    action: Literal["start_service", "restart_service", "unpause_service"]
    service: Service


class RollbackStep(_Strict):
    """Recreate a backend from its previous image (the playbook's rollout undo)."""

    action: Literal["rollback_backend"]
    service: Literal["backend-1", "backend-2"]


class SimpleStep(_Strict):
    """Steps with no arguments: flush the cache, heal partitions, clear link faults,
    terminate idle database sessions."""

    action: Literal[
        "flush_cache", "heal_partition", "clear_link_faults", "terminate_idle_connections"
    ]


class WaitStep(_Strict):
    """Do nothing for a while (a responder's thinking time in a scripted drill)."""

    action: Literal["wait"]
    seconds: Seconds


RecoveryStep = Annotated[
    ServiceStep | RollbackStep | SimpleStep | WaitStep, Field(discriminator="action")
]

# -- the rest ------------------------------------------------------------------------------


class PlaybookRef(_Strict):
    section: str = Field(min_length=1)
    alerts: list[AlertName] = Field(default_factory=list)
    drill: str | None = None  # one of the playbook's "Drill Scenarios", if this is one


class Load(_Strict):
    rate_per_s: float = Field(default=20, gt=0, le=500)
    read_ratio: Fraction = 0.7
    timeout_s: Seconds = 2.0


class Detection(_Strict):
    expect: list[AlertName] = Field(min_length=1)
    within_s: Seconds = 300
    allow: list[AlertName] = Field(default_factory=list)  # may fire too without being noise


class Recovery(_Strict):
    responder: Literal["auto", "human", "none"] = "auto"
    # The automatic responder starts when the expected alerts fire, or after this many
    # seconds if they never do (so that a drill with broken detection still ends).
    start_after_s: Seconds | None = None
    steps: list[RecoveryStep] = Field(default_factory=list)


HealthChecked = Literal["gateway", "backend-1", "backend-2"]


def _all_serving() -> list[HealthChecked]:
    return ["gateway", "backend-1", "backend-2"]


class SteadyState(_Strict):
    healthy: list[HealthChecked] = Field(default_factory=_all_serving)
    alerts_resolved: bool = True
    max_error_rate: Fraction = 0.01
    window_s: Seconds = 3.0


class Targets(_Strict):
    """Grading targets. Defaults are the playbook's; scenario files set tighter budgets."""

    mttd_s: Seconds = 300
    mttr_s: Seconds = 3600
    p95_ms: Annotated[float, Field(gt=0)] = 200
    error_rate: Fraction = 0.01
    availability: Fraction | None = None
    lost_tasks: int = Field(default=0, ge=0)


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    title: str = Field(min_length=1)
    description: str = ""
    playbook: PlaybookRef
    faults: list[FaultSpec] = Field(min_length=1)
    load: Load = Field(default_factory=Load)
    detection: Detection
    recovery: Recovery = Field(default_factory=Recovery)
    steady_state: SteadyState = Field(default_factory=SteadyState)
    targets: Targets = Field(default_factory=Targets)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("faults", mode="before")
    @classmethod
    def _one_fault_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _detection_budget_fits_mttd(self) -> Scenario:
        if self.recovery.responder == "auto" and not self.recovery.steps:
            raise ValueError("recovery.steps: the auto responder needs at least one step")
        return self


# -- loading ---------------------------------------------------------------------------------


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc})") from exc
    return parse_scenario(text, path)


def parse_scenario(text: str, path: Path) -> Scenario:
    """Validate a scenario's YAML text; ``path`` names it in errors."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{path}{where}: not valid YAML: {problem}") from exc
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}"
        raise ScenarioError(f"{path}:1: a scenario is a mapping of fields, this file is {kind}")
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, node, path)) from exc
    return scenario.model_copy(update={"source": path})


def _describe(exc: ValidationError, root: yaml.Node | None, path: Path) -> str:
    lines = []
    for error in exc.errors():
        location = [part for part in error["loc"] if not _is_union_tag(part)]
        field = ".".join(str(part) for part in location) or "(top level)"
        line = _line_of(root, location)
        expected = error["msg"]
        if error["type"] == "literal_error":
            expected = f"expected one of {error['ctx']['expected']}"
        elif error["type"] == "extra_forbidden":
            expected = "unknown field (check its spelling against docs/scenarios.md)"
        lines.append(f"{path}:{line}: field '{field}': {expected}")
    return "\n".join(lines)


def _is_union_tag(part: object) -> bool:
    # pydantic puts the chosen union member (e.g. 'stop_service') into the location.
    return (isinstance(part, str) and "[" in part) or part in _UNION_TAGS


_UNION_TAGS = {
    "stop_service",
    "kill_service",
    "pause_service",
    "restart_service",
    "partition",
    "link_toxic",
    "link_down",
    "cache_flush",
    "connection_exhaustion",
    "start_service",
    "unpause_service",
    "rollback_backend",
    "flush_cache",
    "heal_partition",
    "clear_link_faults",
    "terminate_idle_connections",
    "wait",
}


def _line_of(root: yaml.Node | None, location: Sequence[object]) -> int:
    """The 1-based line of the deepest YAML node on ``location`` that exists."""
    node = root
    line = node.start_mark.line + 1 if node is not None else 1
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def load_all(paths: list[Path]) -> list[Scenario]:
    """Load scenario files and the ``*.yml``/``*.yaml`` files in directories; report all
    invalid ones at once, and refuse two scenarios with the same name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted([*path.glob("*.yml"), *path.glob("*.yaml")]))
        else:
            files.append(path)
    if not files:
        raise ScenarioError(f"no scenario files in {', '.join(map(str, paths))}")
    scenarios, problems = [], []
    for file in files:
        try:
            scenarios.append(load_scenario(file))
        except ScenarioError as exc:
            problems.append(str(exc))
    if problems:
        raise ScenarioError("\n".join(problems))
    seen: dict[str, Path] = {}
    for scenario in scenarios:
        assert scenario.source is not None
        if scenario.name in seen:
            raise ScenarioError(
                f"{scenario.source}: field 'name': {scenario.name!r} is already the name of "
                f"{seen[scenario.name]}"
            )
        seen[scenario.name] = scenario.source
    return scenarios
