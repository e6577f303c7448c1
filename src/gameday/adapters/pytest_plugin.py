"""gameday's pytest plugin: scenario files as tests, and fixtures to drill a replica.

Registered by the ``pytest11`` entry point ``gameday``. ``pytest scenarios/`` collects one
test per scenario file (a YAML file with top-level ``faults:`` and ``detection:``), runs it
as a drill on one replica for the whole session and fails it, without a traceback, with
the grade's reasons. JUnit XML carries each drill's measurements as ``<property>`` elements.

Fixtures: ``gameday_replica`` (the session's replica) and ``gameday_drill`` (runs a scenario
file or :class:`~gameday.inputs.scenario.Scenario` on it and returns the
:class:`~gameday.stages.journal.DrillResult`). Options: ``--gameday-replica RUN_ID`` (drill
a replica kept by ``gameday up``), ``--gameday-project`` (the project file; default: the first
``gameday.yml`` in the rootdir or above, as ``gameday`` finds it), ``--gameday-reports DIR``
(write the session's journal and report there at the end).

The plugin holds no drill logic: a drill is :func:`gameday.stages.run.run_drill`. Docker,
testcontainers and the engine are imported only when a drill actually runs, so that having
the plugin installed costs nothing to a test session that never drills. Another engine
(a fake, in tests) is plugged in through the ``pytest_gameday_engine`` hook.

It is long because a pytest plugin keeps its hooks, items and fixtures in one module,
as pytest-xdist does; its logic is the engine's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import yaml

from gameday import errors
from gameday.errors import GamedayError

if TYPE_CHECKING:
    from _pytest._code.code import ExceptionInfo, TerminalRepr

    from gameday.infra.replica import Replica
    from gameday.inputs.project import Project
    from gameday.inputs.scenario import Scenario
    from gameday.stages.journal import DrillResult

__all__ = [
    "DockerEngine",
    "DrillFailed",
    "Engine",
    "GamedayHookSpecs",
    "ScenarioFile",
    "ScenarioItem",
    "failure_message",
    "junit_properties",
]

log = logging.getLogger("gameday")

MARKER = "gameday: a chaos drill on gameday's replica (scenario files are marked with it)"
SCENARIO_KEYS = frozenset({"faults", "detection"})
SCENARIO_SUFFIXES = (".yml", ".yaml")
# The measurements each drill reports as JUnit properties, in this order.
PROPERTIES = ("mttd_s", "mttr_s", "p95_ms", "error_rate", "lost_writes")

_SESSION = pytest.StashKey["_GamedaySession"]()


class Engine(Protocol):
    """What the plugin needs from gameday: a replica, and drills on it."""

    def start_replica(self, *, project: Project | None, attach_to: str | None) -> Replica:
        """A ready replica of ``project`` (None: no project file was found): a new one, or
        the kept one whose run id is ``attach_to``."""
        ...

    def stop_replica(self, replica: Replica) -> None:
        """Remove a replica that ``start_replica`` created (never an attached one)."""
        ...

    def run_drill(self, replica: Replica, scenario: Scenario) -> DrillResult:
        """Run one scenario on the replica and grade it."""
        ...


class GamedayHookSpecs:
    """Hooks that the plugin adds (pytest-xdist style: specs apart from implementations)."""

    @pytest.hookspec(firstresult=True)
    def pytest_gameday_engine(self, config: pytest.Config) -> Engine | None:
        """Return the engine that runs drills; the first non-None answer wins.

        The plugin's own answer (tried last) is :class:`DockerEngine`. A ``conftest.py``
        that returns a fake engine runs scenario files and ``gameday_drill`` without Docker.
        """


class DockerEngine:
    """The real engine: a replica in Docker and :func:`gameday.stages.run.run_drill`."""

    def start_replica(self, *, project: Project | None, attach_to: str | None) -> Replica:
        from gameday.infra.replica import Replica
        from gameday.inputs.project import find_project

        if project is None:
            find_project()  # raises the ProjectError that says where it looked
            raise AssertionError("find_project returned although no project was found")
        if attach_to is not None:
            replica = Replica.attach(attach_to, project)
            replica.progress = log.info
            return replica
        return Replica(project, progress=log.info).start()

    def stop_replica(self, replica: Replica) -> None:
        replica.stop()

    def run_drill(self, replica: Replica, scenario: Scenario) -> DrillResult:
        from gameday.stages.run import run_drill

        return run_drill(replica, scenario, progress=log.info)


class DrillFailed(errors.DrillFailed):
    """A drill ran and failed its grade; the message lists the reasons."""

    def __init__(self, result: DrillResult) -> None:
        super().__init__(failure_message(result))
        self.result = result


def failure_message(result: DrillResult) -> str:
    """The grade's reasons in words, with what was measured: a failed test's whole report."""
    scenario = result.scenario
    if result.verdict == "inconclusive":
        # Not a pass, and not the playbook's fault either: the test fails, saying so.
        lines = [
            f"drill {scenario.name} ({scenario.title}) was inconclusive: the host, not the "
            "system, may have decided it; run it again on a quieter machine:"
        ]
        lines += [f"  - {why}" for why in result.grade.inconclusive]
        if result.grade.reasons:
            lines.append("what was measured:")
    else:
        lines = [f"drill {scenario.name} ({scenario.title}) failed its grade:"]
    lines += [f"  - {reason}" for reason in result.grade.reasons]
    lines += [f"  note: {note}" for note in result.notes]
    measured = ", ".join(f"{name} {value or 'none'}" for name, value in junit_properties(result))
    lines.append(f"measured: {measured}")
    if scenario.source is not None:
        lines.append(f"scenario: {scenario.source}")
    return "\n".join(lines)


def junit_properties(result: DrillResult) -> list[tuple[str, str]]:
    """The drill's measurements as (name, value) pairs; an empty value was never measured."""
    m = result.measurements
    values: dict[str, float | int | None] = {
        "mttd_s": m.mttd_s,
        "mttr_s": m.mttr_s,
        "p95_ms": m.p95_ms,
        "error_rate": m.error_rate,
        "lost_writes": m.lost_writes,
    }
    return [(name, _number(values[name])) for name in PROPERTIES]


def _number(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}".rstrip("0").rstrip(".")


# -- the session: one replica, every drill's result ---------------------------------------


@dataclass
class _GamedaySession:
    config: pytest.Config
    started_at: datetime = field(default_factory=lambda: _utcnow())
    results: list[DrillResult] = field(default_factory=list)
    _engine: Engine | None = None
    _replica: Replica | None = None
    _owned: bool = False
    _start_failure: GamedayError | None = None
    _project: Project | None = None
    _project_problem: GamedayError | None = None
    _project_read: bool = False

    def project(self) -> Project | None:
        """The session's project; None when there is no project file to find. An invalid
        one raises its error (every drill then fails with it)."""
        if not self._project_read:
            from gameday.errors import ProjectError
            from gameday.inputs.project import find_project, load_project

            self._project_read = True
            named: Path | None = self.config.getoption("gameday_project")
            try:
                path = find_project(self.config.rootpath, explicit=named)
            except ProjectError as exc:
                if named is not None:
                    self._project_problem = exc
                path = None
            if path is not None:
                try:
                    self._project = load_project(path)
                except GamedayError as exc:
                    self._project_problem = exc
        if self._project_problem is not None:
            raise self._project_problem
        return self._project

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            engine = self.config.hook.pytest_gameday_engine(config=self.config)
            assert engine is not None  # the plugin's own implementation always answers
            self._engine = engine
        return self._engine

    def replica(self) -> Replica:
        if self._start_failure is not None:
            # One failed start fails every drill with its message, without retrying.
            raise self._start_failure
        if self._replica is None:
            attach_to: str | None = self.config.getoption("gameday_replica")
            try:
                self._replica = self.engine.start_replica(
                    project=self.project(), attach_to=attach_to
                )
            except GamedayError as exc:
                self._start_failure = exc
                raise
            self._owned = attach_to is None
        return self._replica

    def drill(self, scenario: Scenario, node: pytest.Item) -> DrillResult:
        result = self.engine.run_drill(self.replica(), scenario)
        self.results.append(result)
        node.user_properties.extend(junit_properties(result))
        return result

    def finish(self) -> None:
        try:
            reports: Path | None = self.config.getoption("gameday_reports")
            if reports is not None and self.results:
                self._write_journal(reports)
        finally:
            if self._replica is not None and self._owned:
                self.engine.stop_replica(self._replica)
            self._replica = None

    def _write_journal(self, reports: Path) -> None:
        from gameday.stages.journal import Journal, new_run_id, write_journal
        from gameday.stages.publish import republish

        journal = Journal(
            # A run of its own, also on a kept replica: two sessions never share a report.
            run_id=new_run_id(),
            started_at=self.started_at,
            ended_at=_utcnow(),
            results=tuple(self.results),
            responder="auto",
            project=self._project.name if self._project else "",
        )
        path = write_journal(journal, reports)
        message = f"gameday journal: {path}"
        try:
            message += f"\ngameday report: {republish(path.parent, reports, self._project)}"
        except GamedayError as exc:
            message += f" (the report could not be written: {exc})"
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(message)


def _utcnow() -> datetime:
    from gameday.timeline import utcnow

    return utcnow()


def _session(config: pytest.Config) -> _GamedaySession:
    return config.stash[_SESSION]


# -- hooks ------------------------------------------------------------------------------


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(GamedayHookSpecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gameday", "chaos drills on gameday's replica")
    group.addoption(
        "--gameday-replica",
        metavar="RUN_ID",
        default=None,
        help="drill the replica kept by `gameday up` with this run id (default: start one)",
    )
    group.addoption(
        "--gameday-project",
        metavar="FILE",
        type=Path,
        default=None,
        help="the project file (default: the first gameday.yml in the rootdir or above it)",
    )
    group.addoption(
        "--gameday-reports",
        metavar="DIR",
        type=Path,
        default=None,
        help="write the session's gameday journal to DIR/<run-id>/journal.json",
    )
    parser.addini(
        "gameday_scenarios",
        type="paths",
        default=["scenarios"],
        help="directories whose scenario files are collected as tests (default: scenarios); "
        "scenario files elsewhere are collected when named on the command line",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)
    config.stash[_SESSION] = _GamedaySession(config)


@pytest.hookimpl(trylast=True)
def pytest_gameday_engine(config: pytest.Config) -> Engine:
    return DockerEngine()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _SESSION in session.config.stash:
        _session(session.config).finish()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> ScenarioFile | None:
    if file_path.suffix not in SCENARIO_SUFFIXES or not _in_scope(file_path, parent.config):
        return None
    if not _looks_like_scenario(file_path):
        return None
    collector: ScenarioFile = ScenarioFile.from_parent(parent, path=file_path)
    return collector


def _in_scope(path: Path, config: pytest.Config) -> bool:
    """Under a ``gameday_scenarios`` directory, or named (or its directory named) on the
    command line: so that ``pytest`` on a test tree does not drill every fixture YAML."""
    # A default ini value comes back as given (strings), a configured one as absolute paths.
    roots = [(config.rootpath / root).resolve() for root in config.getini("gameday_scenarios")]
    if any(path.resolve().is_relative_to(root) for root in roots):
        return True
    named = {(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args}
    return path.resolve() in named or path.parent.resolve() in named


def _looks_like_scenario(path: Path) -> bool:
    """A top-level mapping with ``faults`` and ``detection``. Reads the node tree only (no
    values are built), so that any other YAML costs one parse and is ignored."""
    from gameday.inputs.scenario import MAX_FILE_BYTES

    try:
        with path.open("rb") as stream:
            text = stream.read(MAX_FILE_BYTES).decode("utf-8", errors="replace")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return False
    if not isinstance(node, yaml.MappingNode):
        return False
    keys = {key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)}
    return keys >= SCENARIO_KEYS


# -- collection ------------------------------------------------------------------------


class ScenarioFile(pytest.File):
    """A scenario file: one test."""

    def collect(self) -> Iterator[ScenarioItem]:
        from gameday.inputs.scenario import load_scenario

        try:
            project = _session(self.config).project()
            scenario: Scenario | None = load_scenario(self.path, project)
            problem = None
        except GamedayError as exc:  # a ScenarioError, or the project's own error
            scenario, problem = None, exc
        name = scenario.name if scenario is not None else self.path.stem
        yield ScenarioItem.from_parent(self, name=name, scenario=scenario, problem=problem)


class ScenarioItem(pytest.Item):
    """One drill. Fails with the grade's reasons (or the file's errors), no traceback."""

    def __init__(
        self,
        *,
        scenario: Scenario | None,
        problem: GamedayError | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.problem = problem
        self.add_marker("gameday")

    def runtest(self) -> None:
        if self.problem is not None:
            raise self.problem
        assert self.scenario is not None
        result = _session(self.config).drill(self.scenario, self)
        if not result.passed:
            raise DrillFailed(result)

    def repr_failure(
        self,
        excinfo: ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, GamedayError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        title = self.scenario.title if self.scenario is not None else "invalid scenario"
        return self.path, None, f"gameday drill {self.name}: {title}"


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def gameday_replica(pytestconfig: pytest.Config) -> Replica:
    """The session's replica: started on first use (or attached with ``--gameday-replica``)
    and removed at the end of the session (an attached one is left running)."""
    return _session(pytestconfig).replica()


DrillRunner = Callable[..., "DrillResult"]


@pytest.fixture
def gameday_drill(request: pytest.FixtureRequest) -> DrillRunner:
    """``gameday_drill(scenario, check=True)``: run a scenario file or ``Scenario`` on the
    session's replica and return its ``DrillResult``. With ``check`` (the default) a failed
    grade fails the test with its reasons and no traceback. The measurements become the
    test's JUnit properties, and the result goes into the ``--gameday-reports`` journal."""
    session = _session(request.config)
    node = request.node

    def drill(scenario: Scenario | Path | str, *, check: bool = True) -> DrillResult:
        from gameday.inputs.scenario import load_scenario

        project = session.project()
        loaded = (
            load_scenario(Path(scenario), project) if isinstance(scenario, Path | str) else scenario
        )
        result = session.drill(loaded, node)
        if check and not result.passed:
            pytest.fail(failure_message(result), pytrace=False)
        return result

    return drill
