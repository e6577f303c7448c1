"""Scenario files: what breaks, which alert must fire how fast, which playbook steps fix it.

A scenario is a YAML file in ``scenarios/``; this module is its schema (pydantic models)
and its loader. ``load_scenario`` either returns a valid :class:`Scenario` or raises a
:class:`~gameday.errors.ScenarioError` that names the file, the line and the field; it
never lets another kind of exception out. The full reference is docs/scenarios.md.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from gameday.errors import ScenarioError

__all__ = [
    "MAX_FILE_BYTES",
    "PLAYBOOK_ALERTS",
    "SERVICES",
    "TOXIC_ATTRIBUTES",
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
    "proxy_links",
    "service_networks",
]

# The alerts the service outage playbook names (see stack/config/rules).
AlertName = Literal[
    "ServiceDown",
    "DatabaseDown",
    "HighDatabaseConnections",
    "RedisDown",
    "LowRedisHitRate",
    "HighResponseTime",
    "NetworkLatency",
]
# Services of the bundled replica that faults and steps may name.
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
PLAYBOOK_ALERTS: tuple[str, ...] = get_args(AlertName)
SERVICES: tuple[str, ...] = get_args(Service)
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


class BadDeployFault(_Strict):
    """Deploy a broken release of one backend (a new version that cannot use its database)."""

    type: Literal["bad_deploy"]
    service: Literal["backend-1", "backend-2"]


FaultSpec = Annotated[
    ServiceFault
    | PartitionFault
    | LinkToxicFault
    | LinkDownFault
    | CacheFlushFault
    | ConnectionExhaustionFault
    | BadDeployFault,
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
    # What other alerts firing means: a finding in the report, or a failed drill (for a
    # team that wants its alerting kept quiet).
    noise: Literal["report", "fail"] = "report"


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
    # Human responders only: the playbook's level-1 on-call answers within 10 minutes.
    mtta_s: Seconds = 600
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

# A scenario is a page of YAML. The caps keep a hostile or mistaken file (a log pasted in,
# a deeply nested generated document) from costing more than a clear error.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 16
_TOO_BIG = f"the file is over {MAX_FILE_BYTES // 1024} KiB; a scenario is a page of YAML"

_STACK = Path(__file__).parent / "stack"
_STR_TAG = "tag:yaml.org,2002:str"

# The attributes each toxic reads (the proxy ignores any other, as Toxiproxy does, so a typo
# would give a toxic that does nothing); a unit test keeps this in sync with gameday.proxy.
TOXIC_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "latency": ("latency", "jitter"),
    "bandwidth": ("rate",),
    "slow_close": ("delay",),
    "timeout": ("timeout",),
    "reset_peer": ("timeout",),
    "slicer": ("average_size", "size_variation", "delay"),
    "limit_data": ("bytes",),
}

Location = tuple[str | int, ...]


def load_scenario(path: Path) -> Scenario:
    """Read and validate one scenario file; raises ``ScenarioError`` and nothing else."""
    return _load(path)[0]


def parse_scenario(text: str, path: Path) -> Scenario:
    """Validate a scenario's YAML text; ``path`` names it in errors."""
    return _parse(text, path)[0]


def _load(path: Path) -> tuple[Scenario, yaml.Node]:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc})") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}:1: {_TOO_BIG}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            f"{path}:{line}: expected UTF-8 text, found the byte 0x{data[exc.start]:02x}; "
            "save the file as UTF-8"
        ) from exc
    return _parse(text, path)


def _parse(text: str, path: Path) -> tuple[Scenario, yaml.Node]:
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}:1: {_TOO_BIG}")
    node = _compose(text, path)
    if not isinstance(node, yaml.MappingNode):
        kind = "empty" if node is None else f"a {type(node).__name__[:-4].lower()}"
        raise ScenarioError(f"{path}:1: expected a mapping of fields, this file is {kind}")
    document = _build(node, (), path, yaml.SafeLoader(""))
    if "source" in document:  # the loader's own field, not the file's
        raise ScenarioError(_message(path, node, ("source",), _UNKNOWN_FIELD))
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, node, path)) from exc
    problems = [_message(path, node, where, what) for where, what in _cross_check(scenario)]
    if problems:
        raise ScenarioError("\n".join(problems))
    return scenario.model_copy(update={"source": path}), node


# -- reading YAML --------------------------------------------------------------------------------


@dataclass
class _Level:
    """One open mapping or sequence while the parser's events stream by."""

    mapping: bool
    key: str | int = 0  # the current key of a mapping, the current index of a sequence
    at_key: bool = True  # in a mapping: the next node is a key, not a value


def _compose(text: str, path: Path) -> yaml.Node | None:
    """The document's node tree, after refusing what a scenario never needs: aliases (the
    billion laughs), explicit tags (``!!python/...``, ``!!int "x"``) and deep nesting.

    These are checked on the parser's events, before any node exists, so that a hostile
    document costs one pass; the events also tell which field an error is in.
    """
    levels: list[_Level] = []
    line = 1
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else line
            if isinstance(event, yaml.NodeEvent):
                _check_node_event(event, _event_location(levels, event), path, line)
            if isinstance(event, yaml.CollectionStartEvent):
                levels.append(_Level(mapping=isinstance(event, yaml.MappingStartEvent)))
                if len(levels) > MAX_DEPTH:
                    raise ScenarioError(
                        f"{path}:{line}: {_field(_location(levels[:-1]))}expected at most "
                        f"{MAX_DEPTH} levels of nesting (a scenario needs four)"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                levels.pop()
            if isinstance(event, yaml.ScalarEvent | yaml.AliasEvent | yaml.CollectionEndEvent):
                _node_done(levels, event)
        loader = yaml.SafeLoader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        line = _yaml_line(exc, text)
        where = _field(_location(levels))
        raise ScenarioError(f"{path}:{line}: {where}{_yaml_problem(exc)}") from exc


def _check_node_event(event: yaml.NodeEvent, where: Location, path: Path, line: int) -> None:
    if isinstance(event, yaml.AliasEvent):
        raise ScenarioError(
            f"{path}:{line}: {_field(where)}expected a value, found the YAML alias "
            f"*{event.anchor}; scenarios allow no aliases, write the value out"
        )
    tag = getattr(event, "tag", None)  # set only when the file writes one
    if tag is not None:
        raise ScenarioError(
            f"{path}:{line}: {_field(where)}expected a plain value, found the YAML tag "
            f"{tag.replace('tag:yaml.org,2002:', '!!')}; scenarios allow no tags "
            "(quote a string instead)"
        )


def _location(levels: list[_Level]) -> Location:
    return tuple(level.key for level in levels if not (level.mapping and level.at_key))


def _event_location(levels: list[_Level], event: yaml.NodeEvent) -> Location:
    where = _location(levels)
    if levels and levels[-1].mapping and levels[-1].at_key and isinstance(event, yaml.ScalarEvent):
        return (*where, event.value)  # the node is a key: the error is about that field
    return where


def _node_done(levels: list[_Level], event: yaml.Event) -> None:
    if not levels:
        return
    level = levels[-1]
    if not level.mapping:
        assert isinstance(level.key, int)
        level.key += 1
    elif level.at_key:
        level.key = event.value if isinstance(event, yaml.ScalarEvent) else "?"
        level.at_key = False
    else:
        level.at_key = True


def _yaml_line(exc: yaml.YAMLError, text: str) -> int:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return mark.line + 1 if mark is not None else 1
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position) + 1
    return 1


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character  # PyYAML gives the code point for text, the byte for bytes
        shown = repr(chr(char)) if isinstance(char, int) else repr(char)
        return (
            f"expected printable text, found the control character {shown}; "
            "remove it, or write it as an escape in a double-quoted string"
        )
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if "'\\t'" in problem:
        return "expected spaces, found a tab: YAML indents and separates with spaces only"
    return f"not valid YAML: {problem}"


def _build(node: yaml.Node, where: Location, path: Path, scalars: yaml.SafeLoader) -> Any:
    """The Python value of a node (as ``yaml.safe_load`` would build it), refusing keys
    that are not field names and keys given twice, which PyYAML would silently collapse.
    ``scalars`` builds the leaves; it caches what it built, so it lives for one document."""
    line = node.start_mark.line + 1
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*where, i), path, scalars) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if not (isinstance(key, yaml.ScalarNode) and key.tag == _STR_TAG):
                shown = key.value if isinstance(key, yaml.ScalarNode) else "[...]"
                raise ScenarioError(
                    f"{path}:{line}: {_field(where)}expected field names, found the key "
                    f"{shown!r}, which YAML reads as {_yaml_kind(key)}"
                )
            if key.value in first_line:
                raise ScenarioError(
                    f"{path}:{line}: {_field((*where, key.value))}expected once, but it is "
                    f"also on line {first_line[key.value]}; keep one"
                )
            first_line[key.value] = line
            mapping[key.value] = _build(value, (*where, key.value), path, scalars)
        return mapping
    try:
        return scalars.construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # A value YAML recognises but cannot build: a date like 2024-13-01, an integer
        # of 5000 digits.
        raise ScenarioError(
            f"{path}:{line}: {_field(where)}expected a readable value, "
            f"got {_short(node.value)} ({exc})"
        ) from exc


def _yaml_kind(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        return "a list or mapping"
    kind = node.tag.rsplit(":", 1)[-1]
    names = {"int": "a number", "float": "a number", "bool": "true/false", "merge": "a merge"}
    return names.get(kind, f"a {kind}")


# -- references to the replica -----------------------------------------------------------------


@functools.cache
def proxy_links() -> frozenset[str]:
    """The proxy links of the bundled replica (stack/config/proxies.json)."""
    file = _STACK / "config" / "proxies.json"
    try:
        return frozenset(str(proxy["name"]) for proxy in json.loads(file.read_text()))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ScenarioError(f"{file}: the bundled proxy list is unreadable ({exc})") from exc


@functools.cache
def service_networks() -> dict[str, frozenset[str]]:
    """The networks each service of the bundled replica's compose file is on."""
    file = _STACK / "docker-compose.drill.yml"
    try:
        services = yaml.safe_load(file.read_text())["services"]
        return {name: frozenset(spec.get("networks") or ()) for name, spec in services.items()}
    except (OSError, yaml.YAMLError, TypeError, KeyError, AttributeError) as exc:
        raise ScenarioError(f"{file}: the bundled compose file is unreadable ({exc})") from exc


def _cross_check(scenario: Scenario) -> list[tuple[Location, str]]:
    """What the schema alone cannot see: names that must exist in the replica, and
    alerts that must agree between sections."""
    problems: list[tuple[Location, str]] = []
    links = proxy_links()
    for i, fault in enumerate(scenario.faults):
        if isinstance(fault, LinkToxicFault | LinkDownFault):
            for j, link in enumerate(fault.links):
                if link not in links:
                    problems.append(
                        (
                            ("faults", i, "links", j),
                            f"expected one of the replica's proxy links ({_listed(links)}), "
                            f"got {link!r}",
                        )
                    )
        if isinstance(fault, LinkToxicFault):
            known = TOXIC_ATTRIBUTES[fault.toxic]
            for name in fault.attributes:
                if name not in known:
                    problems.append(
                        (
                            ("faults", i, "attributes", name),
                            f"expected an attribute of the {fault.toxic} toxic "
                            f"({_listed(known)}), got {name!r}",
                        )
                    )
        if isinstance(fault, PartitionFault):
            networks = service_networks()
            for j, service in enumerate(fault.services):
                on = networks.get(service, frozenset())
                if fault.network not in on:
                    problems.append(
                        (
                            ("faults", i, "services", j),
                            f"expected a service on the {fault.network!r} network, but "
                            f"{service} is only on {_listed(on) or 'no network'}",
                        )
                    )
    for j, alert in enumerate(scenario.detection.expect):
        if alert not in scenario.playbook.alerts:
            problems.append(
                (
                    ("detection", "expect", j),
                    f"expected an alert listed in playbook.alerts "
                    f"({_listed(scenario.playbook.alerts) or 'empty'}), got {alert!r}; "
                    "list it there too",
                )
            )
    return problems


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


# -- error messages ----------------------------------------------------------------------------

_UNKNOWN_FIELD = "unknown field (check its spelling against docs/scenarios.md)"


def _union_tags(union: Any, discriminator: str) -> list[str]:
    members = get_args(get_args(union)[0])
    return [tag for m in members for tag in get_args(m.model_fields[discriminator].annotation)]


_TAGS = {"type": _union_tags(FaultSpec, "type"), "action": _union_tags(RecoveryStep, "action")}


def _describe(exc: ValidationError, root: yaml.Node, path: Path) -> str:
    return "\n".join(_explain(error, root, path) for error in exc.errors())


def _explain(error: ErrorDetails, root: yaml.Node, path: Path) -> str:
    where = _without_union_tags(error["loc"])
    kind, ctx, got = error["type"], error.get("ctx", {}), error.get("input")
    expected = error["msg"]
    if kind == "missing":
        expected = "required, but missing"
    elif kind == "extra_forbidden":
        expected = _UNKNOWN_FIELD
    elif kind == "literal_error":
        expected = f"expected one of {ctx['expected']}, got {_short(got)}"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str(ctx["discriminator"]).strip("'")
        where = (*where, discriminator)
        tags = ", ".join(_TAGS.get(discriminator, []))
        found = f"got {_short(ctx['tag'])}" if "tag" in ctx else "it is missing"
        expected = f"expected one of {tags}; {found}"
    elif kind == "value_error" and not where:
        # Model validators name the field they judge as their message's prefix.
        field, _, rest = str(ctx.get("error", "")).partition(": ")
        if rest and re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)*", field):
            where, expected = tuple(field.split(".")), rest
    elif not isinstance(got, dict | list):
        expected = f"{expected}, got {_short(got)}"
    return _message(path, root, where, expected)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _without_union_tags(location: Location) -> Location:
    # pydantic names the chosen member of a tagged union after the item's index (faults.0.
    # stop_service.service); the YAML has no such level.
    parts: list[str | int] = []
    for i, part in enumerate(location):
        after_index = i >= 2 and isinstance(location[i - 1], int)
        if after_index and location[i - 2] in ("faults", "steps") and isinstance(part, str):
            continue
        parts.append(part)
    return tuple(parts)


def _message(path: Path, root: yaml.Node, where: Location, expected: str) -> str:
    return f"{path}:{_line_of(root, where)}: field '{_dotted(where)}': {expected}"


def _field(where: Location) -> str:
    return f"field '{_dotted(where)}': " if where else ""


def _dotted(where: Location) -> str:
    return ".".join(str(part) for part in where) or "(top level)"


def _line_of(root: yaml.Node, location: Location) -> int:
    """The 1-based line of the deepest YAML node on ``location`` that exists."""
    node = root
    line = node.start_mark.line + 1
    for part in location:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            if isinstance(part, int):
                continue  # a single fault written without the list around it
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
    loaded: list[tuple[Scenario, yaml.Node]] = []
    problems: list[str] = []
    for file in files:
        try:
            loaded.append(_load(file))
        except ScenarioError as exc:
            problems.append(str(exc))
    seen: dict[str, Path] = {}
    for scenario, node in loaded:
        assert scenario.source is not None
        if scenario.name in seen:
            problems.append(
                _message(
                    scenario.source,
                    node,
                    ("name",),
                    f"expected a name of its own, but {scenario.name!r} is already the "
                    f"name of {seen[scenario.name]}",
                )
            )
        seen.setdefault(scenario.name, scenario.source)
    if problems:
        raise ScenarioError("\n".join(problems))
    return [scenario for scenario, _ in loaded]
