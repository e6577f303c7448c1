"""The one gameday drill that a Chaos Toolkit experiment drives, held between activities.

A ``chaos run`` calls the control, the probes and the actions one at a time, in one process;
this module keeps the engine's :class:`~gameday.stages.run.DrillSession` in between, so that each
of them is one call of a phase that ``run.run_drill`` calls too. Nothing here decides how a
drill runs or is graded.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gameday.errors import GamedayError, InputError
from gameday.infra.replica import Replica, new_run_id
from gameday.inputs.project import Project, find_project, load_project
from gameday.inputs.scenario import Scenario, SteadyState, load_scenario
from gameday.stages.detection import AlertWatch
from gameday.stages.journal import DrillResult, Journal, write_journal
from gameday.stages.publish import republish
from gameday.stages.recovery import StepResult
from gameday.stages.run import DrillSession
from gameday.timeline import Timeline, utcnow

__all__ = [
    "PROJECT_KEY",
    "REPLICA_KEY",
    "REPORTS_KEY",
    "ChaosDrill",
    "begin",
    "current",
    "end",
    "health_only",
    "project_of",
    "replica_of",
    "running",
    "scenario_at",
    "watching",
]

# The experiment's configuration keys.
PROJECT_KEY = "gameday_project"
REPLICA_KEY = "gameday_replica"
REPORTS_KEY = "gameday_reports"

Configuration = dict[str, Any] | None

log = logging.getLogger("chaostoolkit")


def _log(message: str) -> None:
    log.info("gameday: %s", message.strip())


def project_of(configuration: Configuration) -> Project:
    """The project named by ``configuration["gameday_project"]``, else the one found from
    the current directory (as ``gameday`` finds it)."""
    named = (configuration or {}).get(PROJECT_KEY)
    return load_project(find_project(explicit=Path(str(named)) if named else None))


def replica_of(configuration: Configuration) -> Replica:
    """The kept replica named by ``configuration["gameday_replica"]``."""
    run_id = (configuration or {}).get(REPLICA_KEY)
    if not run_id:
        raise InputError(
            f"the experiment's configuration has no {REPLICA_KEY}: start a replica with "
            f"`gameday up` and pass its run id (`chaos run --var {REPLICA_KEY}=RUN_ID ...` "
            "or GAMEDAY_REPLICA=RUN_ID)"
        )
    replica = Replica.attach(str(run_id), project_of(configuration))
    replica.progress = _log
    return replica


def scenario_at(path: str | Path, project: Project | None = None) -> Scenario:
    return load_scenario(Path(path), project)


@dataclass
class ChaosDrill:
    """One drill in progress: the engine's :class:`~gameday.stages.run.DrillSession`, and where
    its journal goes."""

    session: DrillSession
    reports: Path

    @property
    def scenario(self) -> Scenario:
        return self.session.scenario

    def inject(self) -> list[str]:
        """Inject the scenario's faults (recorded in the ledger) and start the clock."""
        if self.session.injected_at is not None:
            raise InputError(f"the faults of {self.scenario.name} are already injected")
        self.session.inject()
        return [fault.describe() for fault in self.session.faults]

    def respond(self) -> list[StepResult]:
        """The scenario's responder: the playbook's steps once the alerts fire (or after
        the scenario's ``start_after_s``), as ``gameday run`` does."""
        if self.session.injected_at is None:
            raise InputError("recovery runs after the faults are injected (inject_faults)")
        before = len(self.session.steps)
        self.session.respond()
        return self.session.steps[before:]

    def wait_steady(self) -> list[str]:
        """Before the faults: the engine's pre-drill check. After them: wait for the steady
        state within the MTTR budget; the first success is the drill's MTTR. Returns the
        problems when the steady state does not hold."""
        if self.session.injected_at is None:
            return [] if self.session.verify_steady() else [self.session.not_run]
        if self.session.steady_at is None and self.session.wait_steady() is None:
            return list(self.session.problems) or ["no recovery was observed"]
        return []

    def elapsed_s(self) -> float | None:
        """Seconds since the faults were injected; None before."""
        injected_at = self.session.injected_at
        return None if injected_at is None else (utcnow() - injected_at).total_seconds()

    def finish(self) -> tuple[DrillResult, Path]:
        """Grade the drill (the session reverts and stops everything first) and write the
        journal and the report into ``reports/<run id>/``."""
        result = self.session.result()
        journal = Journal(
            run_id=new_run_id(),
            started_at=self.session.started_at,
            ended_at=utcnow(),
            results=(result,),
            responder=self.session.responder_name or "chaostoolkit",
            project=self.session.replica.project.name,
        )
        path = write_journal(journal, self.reports)
        try:
            republish(path.parent, self.reports, self.session.replica.project)
        except GamedayError as exc:
            _log(f"the report could not be written: {exc}")
        return result, path


_current: ChaosDrill | None = None


def begin(scenario_path: str | Path, configuration: Configuration) -> ChaosDrill:
    """Start a drill of the scenario on the configured replica (``DrillSession.start``:
    revert what dead drills left, watch the alerts, put the load on)."""
    global _current
    if _current is not None:
        raise InputError(f"a drill of {_current.scenario.name} is already running in this process")
    replica = replica_of(configuration)
    scenario = scenario_at(scenario_path, replica.project)
    session = DrillSession(replica, scenario, progress=_log)
    named = (configuration or {}).get(REPORTS_KEY)
    reports = Path(str(named)) if named else replica.project.reports_dir
    _current = ChaosDrill(session, reports)
    try:
        session.start()
    except BaseException:
        _current = None
        session.close()
        raise
    return _current


def current(scenario_path: str | Path | None, configuration: Configuration) -> ChaosDrill:
    """The drill in progress; one is begun when an experiment has no gameday control."""
    if _current is None:
        if scenario_path is None:
            raise InputError("no gameday drill is running: add gameday's control")
        return begin(scenario_path, configuration)
    named = scenario_path and scenario_at(scenario_path, _current.session.replica.project).name
    if named and named != _current.scenario.name:
        raise InputError(
            f"the running drill is {_current.scenario.name}, not the scenario in {scenario_path}"
        )
    return _current


def running() -> ChaosDrill | None:
    """The drill in progress, if any (probes run without one too)."""
    return _current


def end() -> tuple[DrillResult, Path] | None:
    """Finish the drill in progress (if any) and forget it."""
    global _current
    drill, _current = _current, None
    return drill.finish() if drill is not None else None


@contextlib.contextmanager
def watching(replica: Replica) -> Iterator[AlertWatch]:
    """The running drill's alert watch, or one for the length of the block."""
    if _current is not None:
        yield _current.session.watch
        return
    watch = AlertWatch(replica.prometheus_url(), replica.alertmanager_url(), Timeline())
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()


def health_only(services: list[str] | None) -> SteadyState:
    """A steady state of health endpoints alone (no alert, no load condition)."""
    return SteadyState(healthy=services, alerts_resolved=False)
