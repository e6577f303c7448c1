"""The project: what gameday knows about the stack a team drills (docs/project.md).

A project is a ``gameday.yml`` at the root of a team's repository. :func:`find_project`
finds it the way pytest finds its configuration (the current directory, then each parent);
:func:`load_project` validates it and reads what it points at: the compose file(s) for
services, networks and published ports, the rule files for the alerts, the playbook's
Markdown for its sections and drills, the proxy's config for its links. Either a valid
:class:`Project` comes back or a :class:`~gameday.errors.ProjectError` (or PlaybookError)
with one ``file:line: field ...`` line per problem.

Nothing here starts a container: validating a project needs no Docker.

It is long because it is the project file's reference: a model per section and the
cross-checks that name the file, line and field of each problem.
"""

from __future__ import annotations

import glob
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gameday.errors import PlaybookError, ProjectError
from gameday.inputs.campaign import CampaignSpec
from gameday.inputs.monitoring import (
    MonitoringSettings,
    ObjectivesSpec,
    ProductionFileError,
    ProductionSpec,
    read_production,
)
from gameday.inputs.playbook import Playbook, load_playbook
from gameday.inputs.topology import ServiceInfo, Topology, read_topology
from gameday.inputs.yamldoc import Location, YamlDocument, listed, read_document

__all__ = [
    "ADDITION_MARK",
    "PROJECT_ENV",
    "PROJECT_FILE",
    "BackupSpec",
    "ClockSpec",
    "Command",
    "DataCheck",
    "Hook",
    "LoadRequest",
    "LoadSpec",
    "Project",
    "ProjectSpec",
    "ServiceInfo",
    "Topology",
    "find_project",
    "load_project",
    "read_topology",
]

PROJECT_FILE = "gameday.yml"
PROJECT_ENV = "GAMEDAY_PROJECT"
# The label (or annotation) with which a rule says its alert is the project's addition to
# the playbook, not one of the playbook's own alerts.
ADDITION_MARK = "playbook_addition"

Name = Annotated[str, Field(min_length=1, max_length=128)]
Seconds = Annotated[float, Field(gt=0, le=86_400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _StrictValues(_Strict):
    # Numbers are numbers: YAML's `true` is no rate, and "20" no weight.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)


class LoadRequest(_StrictValues):
    """One kind of user request of the load."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    # {id}: an id an earlier write returned; {seq}: the request's sequence number.
    path: Annotated[str, Field(pattern=r"^/", max_length=2000)]
    body: Any = None
    weight: Annotated[float, Field(gt=0, le=1_000_000)] = 1.0
    success: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200, 201, 204], min_length=1
    )
    # The JSON field of a successful answer that names the record it wrote: such a
    # request is a write, and its answer an acknowledgement.
    returns_id: str | None = None

    @property
    def needs_id(self) -> bool:
        return "{id}" in self.path or "{id}" in json.dumps(self.body)


class LoadSpec(_StrictValues):
    """The users' requests, sent open-loop at a rate to a published service."""

    target: Name
    rate_per_s: Annotated[float, Field(gt=0, le=500)] = 20
    timeout_s: Seconds = 2.0
    requests: list[LoadRequest] = Field(min_length=1)

    @field_validator("requests")
    @classmethod
    def _names_differ(cls, requests: list[LoadRequest]) -> list[LoadRequest]:
        names = [r.name for r in requests]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"expected each request name once, got {', '.join(twice)} twice")
        if all(r.needs_id for r in requests):
            raise ValueError("expected at least one request that needs no {id} to start with")
        return requests


class DataQuery(_StrictValues):
    """A command in a service that prints which of ``{ids}`` are still there."""

    service: Name
    command: list[str] = Field(min_length=1)
    batch: Annotated[int, Field(ge=1, le=10_000)] = 500
    # When the command's output says this (a database turning clients away for a
    # moment), it is tried again for a few seconds.
    retry_while: str | None = None

    @field_validator("command")
    @classmethod
    def _names_ids(cls, command: list[str]) -> list[str]:
        if not any("{ids}" in part for part in command):
            raise ValueError("expected the command to contain {ids} (the ids to look for)")
        return command


class DataCheck(_StrictValues):
    """How to tell which acknowledged writes are still there after a drill."""

    query: DataQuery | None = None
    read_back: Name | None = None  # the name of a load request with {id}

    @field_validator("read_back")
    @classmethod
    def _one_way(cls, value: str | None, info: Any) -> str | None:
        if value is not None and info.data.get("query") is not None:
            raise ValueError("expected either query or read_back, not both")
        return value


class Command(_StrictValues):
    """A named command run in a service's container (``docker exec``)."""

    service: Name
    run: list[str] | str  # a list is run as it is; a string by `sh -c`
    purpose: str = ""
    section: str | None = None  # the playbook section whose responders are shown it
    expect_output: str | None = None  # what the command must print to have worked
    # As a fault: the command that undoes it (another named command).
    revert: Name | None = None
    retry_while: str | None = None

    def argv(self) -> list[str]:
        return ["sh", "-c", self.run] if isinstance(self.run, str) else list(self.run)


class Hook(_StrictValues):
    """A named command to run after any of ``after`` is started, recreated or reconnected
    (a load balancer that must resolve its backends again, for example)."""

    after: list[Name] = Field(min_length=1)
    command: Name


class ClockSpec(_StrictValues):
    """A communication or escalation clock of the playbook: something the responders must
    do within ``due_s`` (a status page posted, a lead paged), marked by them in human mode
    and graded (docs/project.md, ``clocks``)."""

    label: Annotated[str, Field(min_length=1, max_length=200)]  # what is done: "status page"
    done: Annotated[str, Field(min_length=1, max_length=120)] = "done"  # "posted"
    due_s: Seconds  # from the fault, or from ``after``'s first mark; again from each mark
    # When the screen says it is due; default: half-way to due_s.
    remind_s: Annotated[float, Field(ge=0, le=86_400)] | None = None
    # Applies only to an outage that lasts longer than this (a customer email past 15 min).
    if_outage_over_s: Seconds | None = None
    after: Name | None = None  # the clock whose first mark starts this one
    repeat: bool = False  # each mark starts it again (updates every 30 minutes)
    # The playbook procedure (a ## or ### heading) this clock grades, for the coverage page.
    section: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @field_validator("remind_s")
    @classmethod
    def _remind_before_due(cls, value: float | None, info: Any) -> float | None:
        due = info.data.get("due_s")
        if value is not None and due is not None and value > due:
            raise ValueError(f"expected at most due_s ({due:g})")
        return value

    @field_validator("if_outage_over_s")
    @classmethod
    def _known_by_due(cls, value: float | None, info: Any) -> float | None:
        # A clock must be known to apply by the time it is due.
        due = info.data.get("due_s")
        if value is not None and due is not None and value > due:
            raise ValueError(f"expected at most due_s ({due:g})")
        return value


ClockName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class BackupSpec(_StrictValues):
    """Where the stack keeps the backups of a service's data: the service that takes them
    and the named volume it keeps them on (never the protected service's own volume, which
    a disaster takes with it, and never a host path, which outlives the replica)."""

    service: Name  # the service that takes the backups
    of: Name  # the service whose data they protect
    volume: Name  # the named volume of the compose file they are kept on


class ProxySpec(_Strict):
    """The Toxiproxy-compatible proxy that network faults go through."""

    service: Name = "proxy"
    config: Path  # the links, in Toxiproxy's populate format


class ProjectSpec(_Strict):
    """The project file, as written."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")] | None = None
    compose: list[Path] = Field(min_length=1)
    prometheus: Name = "prometheus"
    alertmanager: Name = "alertmanager"
    rules: list[str] = Field(default_factory=list)
    playbook: Path | None = None
    scenarios: Path = Path("scenarios")
    reports: Path = Path("reports")
    # What `gameday capacity` measured the replica to carry; `gameday validate` reads it.
    capacity: Path = Path("capacity.json")
    health: dict[Name, str] = Field(default_factory=dict)
    load: LoadSpec | None = None
    data_check: DataCheck | None = None
    targets: dict[Literal["service", "partition", "deploy"], list[Name]] = Field(
        default_factory=dict
    )
    commands: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")], Command] = Field(
        default_factory=dict
    )
    hooks: list[Hook] = Field(default_factory=list)
    backups: BackupSpec | None = None
    proxy: ProxySpec | None = None
    # The team's production monitoring settings and the playbook's KPIs (docs/alerts.md).
    production: ProductionSpec | None = None
    objectives: ObjectivesSpec | None = None
    clocks: dict[ClockName, ClockSpec] = Field(default_factory=dict)
    # Procedures of the playbook that no drill can prove on a replica, each with why
    # (the coverage page shows it instead of "not covered").
    playbook_notes: dict[
        Annotated[str, Field(min_length=1, max_length=200)],
        Annotated[str, Field(min_length=1, max_length=2000)],
    ] = Field(default_factory=dict)
    # What `gameday campaign` may do to this stack (docs/campaigns.md).
    campaign: CampaignSpec = Field(default_factory=CampaignSpec)

    @field_validator("compose", mode="before")
    @classmethod
    def _one_file_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("rules", mode="before")
    @classmethod
    def _one_glob_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("health")
    @classmethod
    def _paths(cls, health: dict[str, str]) -> dict[str, str]:
        for service, path in health.items():
            if not path.startswith("/"):
                raise ValueError(f"{service}: expected a path that starts with /, got {path!r}")
        return health


# -- the project ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Project:
    """A validated project and what its files say."""

    spec: ProjectSpec
    source: Path  # the project file
    topology: Topology
    alerts: dict[str, float]  # alert -> its rules' longest `for`, in seconds
    playbook: Playbook | None
    links: frozenset[str]
    # What `production:` says, read from its files; None when the project names none.
    production: MonitoringSettings | None = None
    # Alerts whose rules say they are the project's addition to the playbook (a label or
    # annotation ``playbook_addition: "true"``): alerts the playbook does not name (yet).
    additions: frozenset[str] = frozenset()

    @property
    def root(self) -> Path:
        return self.source.parent

    @property
    def name(self) -> str:
        return self.spec.name or self.root.name

    def path(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.root / relative

    @property
    def compose_files(self) -> list[Path]:
        return [self.path(p) for p in self.spec.compose]

    @property
    def scenarios_dir(self) -> Path:
        return self.path(self.spec.scenarios)

    @property
    def reports_dir(self) -> Path:
        return self.path(self.spec.reports)

    @property
    def capacity_file(self) -> Path:
        return self.path(self.spec.capacity)

    @property
    def services(self) -> frozenset[str]:
        return frozenset(self.topology.services)

    @property
    def published(self) -> dict[str, int]:
        return self.topology.published()

    def monitoring_url(self, which: Literal["prometheus", "alertmanager"]) -> str | None:
        """The URL of a Prometheus or Alertmanager the team runs; None for a service."""
        value = self.spec.prometheus if which == "prometheus" else self.spec.alertmanager
        return value.rstrip("/") if _is_url(value) else None

    def monitoring_services(self) -> list[str]:
        return [
            value for value in (self.spec.prometheus, self.spec.alertmanager) if not _is_url(value)
        ]

    def health(self) -> dict[str, str]:
        """The steady state's health endpoints: service -> path."""
        return dict(self.spec.health)

    def fault_targets(self, kind: Literal["service", "partition", "deploy"]) -> frozenset[str]:
        """The services a kind of fault may target."""
        if kind in self.spec.targets:
            return frozenset(self.spec.targets[kind])
        return self.services - set(self.monitoring_services())

    def hooks_after(self, service: str) -> list[Command]:
        return [
            self.spec.commands[hook.command] for hook in self.spec.hooks if service in hook.after
        ]

    def commands_for(self, section: str) -> list[tuple[str, Command]]:
        """The named commands shown with the playbook section ``section`` (matched as
        validation matches it: case and numbering aside)."""
        if self.playbook is None:
            return [
                (name, command)
                for name, command in self.spec.commands.items()
                if command.section and command.section.lower() == section.lower()
            ]
        wanted = self.playbook.section(section)
        return [
            (name, command)
            for name, command in self.spec.commands.items()
            if command.section
            and wanted is not None
            and self.playbook.section(command.section) == wanted
        ]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def find_project(start: Path | None = None, explicit: Path | None = None) -> Path:
    """The project file to use: ``explicit``, else ``$GAMEDAY_PROJECT``, else the first
    ``gameday.yml`` in ``start`` (default: the current directory) or one of its parents."""
    named = explicit or (Path(os.environ[PROJECT_ENV]) if os.environ.get(PROJECT_ENV) else None)
    if named is not None:
        candidate = named / PROJECT_FILE if named.is_dir() else named
        if not candidate.is_file():
            raise ProjectError(f"{named}: no project file there (expected {PROJECT_FILE})")
        return candidate
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    raise ProjectError(
        f"no {PROJECT_FILE} in {here} or any directory above it: run gameday from your "
        f"project, name one with --project, or write one with `gameday init`"
    )


def load_project(path: Path) -> Project:
    """Validate the project file at ``path`` and everything it names."""
    document = read_document(path, ProjectError, "project file")
    try:
        spec = ProjectSpec.model_validate(document.data())
    except ValidationError as exc:
        raise ProjectError(document.explain(exc)) from exc
    root = path.parent
    problems: list[tuple[Location, str]] = []
    files = [p if p.is_absolute() else root / p for p in spec.compose]
    for i, file in enumerate(files):
        if not file.is_file():
            problems.append((("compose", i), f"expected a compose file, {file} does not exist"))
    document.fail(problems)
    topology = read_topology(files)
    alerts, additions = _rule_alerts(spec, root, document, problems)
    playbook = _playbook(spec, root, document, problems)
    links = _links(spec, root, document, problems)
    production = _production(spec, root, problems)
    project = Project(
        spec, path.resolve(), topology, alerts, playbook, links, production, additions
    )
    problems.extend(_cross_check(project))
    if playbook is not None and alerts:
        for alert, line in playbook.alert_lines.items():
            if alert in additions:
                problems.append(
                    (
                        ("rules",),
                        f"a rule marks {alert!r} as an addition to the playbook "
                        f"({ADDITION_MARK}), but {playbook.path}:{line} names it: "
                        f"remove the mark",
                    )
                )
            elif alert not in alerts:
                problems.append(
                    (
                        ("playbook",),
                        f"{playbook.path}:{line} names the alert {alert!r}, which no rule "
                        f"file defines (rules define {listed(alerts) or 'none'})",
                    )
                )
    document.fail(problems)
    return project


def _rule_alerts(
    spec: ProjectSpec, root: Path, document: YamlDocument, problems: list[tuple[Location, str]]
) -> tuple[dict[str, float], frozenset[str]]:
    """Each alert the rule files define with its longest ``for``, and those marked as
    additions to the playbook."""
    from gameday.inputs.monitoring import parse_duration_s

    alerts: dict[str, float] = {}
    additions: set[str] = set()
    for i, pattern in enumerate(spec.rules):
        matched = sorted(glob.glob(str(root / pattern)))  # noqa: PTH207 (absolute patterns too)
        if not matched:
            problems.append((("rules", i), f"expected rule files, {pattern!r} matches none"))
        for file in matched:
            try:
                groups = (yaml.safe_load(Path(file).read_text(encoding="utf-8")) or {})["groups"]
                for group in groups:
                    for rule in group.get("rules") or []:
                        if "alert" in rule:
                            seconds = parse_duration_s(rule.get("for"), 0.0)
                            alerts[str(rule["alert"])] = max(
                                alerts.get(str(rule["alert"]), 0.0), seconds
                            )
                            if _marked_addition(rule):
                                additions.add(str(rule["alert"]))
            except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as exc:
                problems.append(
                    (("rules", i), f"expected a Prometheus rule file, {file} is not ({exc})")
                )
    return alerts, frozenset(additions)


def _marked_addition(rule: dict[str, Any]) -> bool:
    marks = [(rule.get(part) or {}).get(ADDITION_MARK) for part in ("labels", "annotations")]
    return any(str(mark).strip().lower() == "true" for mark in marks if mark is not None)


def _production(
    spec: ProjectSpec, root: Path, problems: list[tuple[Location, str]]
) -> MonitoringSettings | None:
    if spec.production is None:
        return None
    try:
        return read_production(spec.production, root)
    except ProductionFileError as exc:
        problems.append((("production", exc.field), str(exc)))
        return None


def _playbook(
    spec: ProjectSpec, root: Path, document: YamlDocument, problems: list[tuple[Location, str]]
) -> Playbook | None:
    if spec.playbook is None:
        return None
    path = spec.playbook if spec.playbook.is_absolute() else root / spec.playbook
    try:
        return load_playbook(path)
    except PlaybookError as exc:
        problems.append((("playbook",), str(exc)))
        return None


def _links(
    spec: ProjectSpec, root: Path, document: YamlDocument, problems: list[tuple[Location, str]]
) -> frozenset[str]:
    if spec.proxy is None:
        return frozenset()
    file = spec.proxy.config if spec.proxy.config.is_absolute() else root / spec.proxy.config
    try:
        proxies = json.loads(file.read_text(encoding="utf-8"))
        return frozenset(str(proxy["name"]) for proxy in proxies)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        problems.append(
            (
                ("proxy", "config"),
                f"expected a Toxiproxy populate file (a list of proxies "
                f"with names), {file} is not ({exc})",
            )
        )
        return frozenset()


def _cross_check(project: Project) -> list[tuple[Location, str]]:
    """Every service a field names must exist, and every address the host uses be published."""
    spec, services, published = project.spec, project.services, project.published
    problems: list[tuple[Location, str]] = []

    def service(where: Location, name: str, *, publish: bool = False) -> None:
        if name not in services:
            problems.append(
                (
                    where,
                    f"expected a service of the compose file ({listed(services)}), got {name!r}",
                )
            )
        elif publish and name not in published:
            problems.append(
                (
                    where,
                    f"expected a service that publishes a port to the host, but {name} "
                    'publishes none (add ports: ["127.0.0.1:${GAMEDAY_PORT_...:-}:PORT"])',
                )
            )

    for which in ("prometheus", "alertmanager"):
        value = getattr(spec, which)
        if _is_url(value):
            if not urlsplit(value).hostname:
                problems.append(((which,), f"expected a URL with a host, got {value!r}"))
        else:
            service((which,), value, publish=True)
    for name in spec.health:
        service(("health", name), name, publish=True)
    if spec.load is not None:
        service(("load", "target"), spec.load.target, publish=True)
    if spec.data_check is not None:
        if spec.data_check.query is not None:
            service(("data_check", "query", "service"), spec.data_check.query.service)
        if spec.data_check.read_back is not None:
            requests = {r.name: r for r in (spec.load.requests if spec.load else [])}
            chosen = requests.get(spec.data_check.read_back)
            if chosen is None or not chosen.needs_id:
                problems.append(
                    (
                        ("data_check", "read_back"),
                        "expected the name of a load request whose "
                        f"path has {{id}} ({listed(n for n, r in requests.items() if r.needs_id)}"
                        f"), got {spec.data_check.read_back!r}",
                    )
                )
    for kind, names in spec.targets.items():
        for i, name in enumerate(names):
            service(("targets", kind, i), name)
    for name, command in spec.commands.items():
        service(("commands", name, "service"), command.service)
        if command.revert is not None and command.revert not in spec.commands:
            problems.append(
                (
                    ("commands", name, "revert"),
                    f"expected a named command ({listed(spec.commands)}), got {command.revert!r}",
                )
            )
        if command.section and project.playbook and not project.playbook.section(command.section):
            problems.append(
                (
                    ("commands", name, "section"),
                    "expected a section of the playbook "
                    f"({', '.join(project.playbook.section_names())}), got {command.section!r}",
                )
            )
    for i, hook in enumerate(spec.hooks):
        for j, name in enumerate(hook.after):
            service(("hooks", i, "after", j), name)
        if hook.command not in spec.commands:
            problems.append(
                (
                    ("hooks", i, "command"),
                    f"expected a named command "
                    f"({listed(spec.commands) or 'none defined'}), got {hook.command!r}",
                )
            )
    if spec.proxy is not None:
        service(("proxy", "service"), spec.proxy.service, publish=True)
    if spec.backups is not None:
        service(("backups", "service"), spec.backups.service)
        service(("backups", "of"), spec.backups.of)
        problems.extend(_backup_problems(spec.backups, project.topology))
    for name, clock in spec.clocks.items():
        if clock.after is not None and (clock.after not in spec.clocks or clock.after == name):
            others = listed(n for n in spec.clocks if n != name)
            problems.append(
                (
                    ("clocks", name, "after"),
                    f"expected another clock ({others or 'none defined'}), got {clock.after!r}",
                )
            )
    problems.extend(_procedure_problems(project))
    return problems


def _procedure_problems(project: Project) -> list[tuple[Location, str]]:
    """The playbook procedures a clock or a note names must be headings of the playbook."""
    spec, playbook = project.spec, project.playbook
    if spec.playbook is None and spec.playbook_notes:
        return [
            (
                ("playbook_notes",),
                "expected a playbook to write notes on: the project names none (playbook:)",
            )
        ]
    if playbook is None:
        return []
    problems: list[tuple[Location, str]] = []
    named: list[tuple[Location, str]] = [
        (("clocks", name, "section"), clock.section)
        for name, clock in spec.clocks.items()
        if clock.section is not None
    ]
    named += [(("playbook_notes", name), name) for name in spec.playbook_notes]
    for where, name in named:
        if not playbook.procedures_named(name):
            problems.append(
                (
                    where,
                    "expected a ## or ### heading of the playbook "
                    f"({playbook.procedure_hint(name)}), got {name!r}",
                )
            )
    return problems


def _backup_problems(backups: BackupSpec, topology: Topology) -> list[tuple[Location, str]]:
    """A backup location must be a named volume of the replica that the backup service
    mounts and the protected service does not."""
    where: Location = ("backups", "volume")
    volume = backups.volume
    if volume.startswith(("/", ".", "~", "$")):
        return [
            (
                where,
                f"expected a named volume of the compose file, got the host path {volume!r} "
                "(backups on the host outlive the replica and are outside what gameday removes)",
            )
        ]
    if volume not in topology.volumes:
        return [
            (
                where,
                "expected a named volume of the compose file "
                f"({listed(topology.volumes) or 'it declares none'}), got {volume!r}",
            )
        ]
    problems: list[tuple[Location, str]] = []
    protected = topology.services.get(backups.of)
    if protected is not None and volume in protected.named_volumes():
        problems.append(
            (
                where,
                f"expected a volume of the backups' own, but {volume!r} is {backups.of}'s own "
                "data volume: a disaster that takes the data takes its backups with it",
            )
        )
    taker = topology.services.get(backups.service)
    if taker is not None and volume not in taker.named_volumes():
        mounted = listed(taker.named_volumes()) or "none"
        problems.append(
            (
                where,
                f"expected a volume that {backups.service} mounts ({mounted}), got {volume!r}",
            )
        )
    return problems


def loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine's loopback."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
