"""The one gameday drill that a Chaos Toolkit experiment drives, held between activities.

A ``chaos run`` calls the control, the probes and the actions one at a time, in one process;
this module keeps the engine's pieces of the drill in between: the replica, the timeline,
the alert watch, the load and the faults in effect. Every step is the engine's own
(``faults.ledger.injected``, ``run.AutoResponder``, ``steady_state.wait_for``, ``grading``,
``journal``, ``report``); this module only calls them in the order ``run.run_drill`` does.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from gameday import run as engine
from gameday import steady_state
from gameday.detection import AlertWatch
from gameday.errors import GamedayError, InputError
from gameday.faults import Fault, build_fault
from gameday.faults.ledger import injected, revert_leftovers
from gameday.journal import DrillResult, Journal, write_journal
from gameday.load import LoadGenerator, LoadReport, lost_tasks
from gameday.recovery import StepResult
from gameday.replica import Replica, new_run_id
from gameday.scenario import HealthChecked, Scenario, SteadyState, load_scenario
from gameday.timeline import EventKind, Timeline, utcnow

__all__ = [
    "REPLICA_KEY",
    "REPORTS_KEY",
    "ChaosDrill",
    "begin",
    "current",
    "end",
    "health_only",
    "replica_of",
    "running",
    "scenario_at",
    "watching",
]

# The experiment's configuration keys.
REPLICA_KEY = "gameday_replica"
REPORTS_KEY = "gameday_reports"
DEFAULT_REPORTS = "reports"

Configuration = dict[str, Any] | None

log = logging.getLogger("chaostoolkit")


def _log(message: str) -> None:
    log.info("gameday: %s", message.strip())


def replica_of(configuration: Configuration) -> Replica:
    """The kept replica named by ``configuration["gameday_replica"]``."""
    run_id = (configuration or {}).get(REPLICA_KEY)
    if not run_id:
        raise InputError(
            f"the experiment's configuration has no {REPLICA_KEY}: start a replica with "
            f"`gameday up` and pass its run id (`chaos run --var {REPLICA_KEY}=RUN_ID ...` "
            "or GAMEDAY_REPLICA=RUN_ID)"
        )
    replica = Replica.attach(str(run_id))
    replica.progress = _log
    return replica


def scenario_at(path: str | Path) -> Scenario:
    return load_scenario(Path(path))


@dataclass
class ChaosDrill:
    """One drill in progress: what ``run.run_drill`` keeps in its local variables."""

    replica: Replica
    scenario: Scenario
    timeline: Timeline
    watch: AlertWatch
    load: LoadGenerator
    reports: Path
    started_at: datetime
    faults: list[Fault] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    injected_at: datetime | None = None
    steady_at: datetime | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _in_effect: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    # -- the method --------------------------------------------------------------------

    def inject(self) -> list[str]:
        """Inject the scenario's faults (recorded in the ledger) and start the clock."""
        if self.injected_at is not None:
            raise InputError(f"the faults of {self.scenario.name} are already injected")
        self.faults = [build_fault(spec) for spec in self.scenario.faults]
        self._in_effect.enter_context(injected(self.faults, self.replica, self.timeline.add))
        self.injected_at = utcnow()
        self.load.arm()
        return [fault.describe() for fault in self.faults]

    def respond(self) -> list[StepResult]:
        """The scenario's responder: the playbook's steps once the alerts fire (or the
        scenario's ``start_after_s``), as ``gameday run`` does."""
        if self.injected_at is None:
            raise InputError("recovery runs after the faults are injected (inject_faults)")
        responder: engine.Responder = (
            engine.NoResponder()
            if self.scenario.recovery.responder == "none"
            else engine.AutoResponder()
        )
        before = len(self.steps)
        responder.respond(self.engine_drill())
        return self.steps[before:]

    def engine_drill(self) -> engine.Drill:
        assert self.injected_at is not None
        return engine.Drill(
            self.replica,
            self.scenario,
            self.timeline,
            self.watch,
            self.load,
            self.injected_at,
            _log,
            self.steps,
        )

    def revert(self) -> None:
        """Revert every fault in effect (nothing when none is)."""
        self._in_effect.close()

    # -- the steady state --------------------------------------------------------------

    def wait_steady(self, timeout_s: float | None) -> list[str]:
        """Wait for the scenario's steady state; the problems when it does not hold.

        Before the faults the wait is ``run.PRE_STEADY_TIMEOUT_S``; after them it is what is
        left of the MTTR budget with the engine's grace, and the first success is the
        drill's MTTR."""
        if self.injected_at is None:
            limit = engine.PRE_STEADY_TIMEOUT_S if timeout_s is None else timeout_s
            at, problems = steady_state.wait_for(
                self.replica, self.scenario.steady_state, self.watch, self.load, limit
            )
            if at is not None:
                self.timeline.add(EventKind.STEADY_STATE_VERIFIED, at=at)
            else:
                self.problems = [
                    "the replica was not in its steady state before the fault: "
                    + "; ".join(problems)
                ]
            return problems
        if self.steady_at is not None:
            return []
        if timeout_s is None:
            budget = self.scenario.targets.mttr_s
            elapsed = (utcnow() - self.injected_at).total_seconds()
            timeout_s = max(budget + min(30.0, budget / 2) - elapsed, 1.0)
        at, problems = steady_state.wait_for(
            self.replica, self.scenario.steady_state, self.watch, self.load, timeout_s
        )
        if at is not None:
            self.steady_at = at
            self.timeline.add(EventKind.STEADY_STATE_BACK, at=at)
        self.problems = problems
        return problems

    # -- the end -------------------------------------------------------------------------

    def finish(self) -> tuple[DrillResult, Path]:
        """Stop the load and the watch, revert what is left, grade, and write the journal
        and the report into ``reports/<run id>/``."""
        load_report: LoadReport | None = None
        try:
            load_report = self.load.stop()
            self.revert()
            if self.steady_at is None and self.injected_at is not None:
                settled, left = steady_state.wait_for(
                    self.replica,
                    self.scenario.steady_state,
                    self.watch,
                    None,
                    timeout_s=engine.CLEANUP_TIMEOUT_S,
                )
                if settled is None:
                    self.notes.append(
                        "the replica did not settle after the faults were reverted: "
                        + "; ".join(left)
                    )
        finally:
            detection = self.watch.stop()
            if load_report is None:
                load_report = self.load.stop()
        lost = lost_tasks(self.replica, load_report.acknowledged) if self.injected_at else []
        ended_at = self.timeline.add(EventKind.DRILL_ENDED).at
        measurements = engine._measure(
            self.scenario,
            self.injected_at,
            self.steady_at,
            self.problems,
            detection,
            load_report,
            lost,
        )
        from gameday.grading import grade

        result = DrillResult(
            scenario=self.scenario,
            started_at=self.started_at,
            ended_at=ended_at,
            injected_at=self.injected_at,
            events=tuple(self.timeline.sorted()),
            measurements=measurements,
            grade=grade(self.scenario, measurements),
            faults=tuple(f.describe() for f in self.faults),
            mttd_floor_s={a: detection.floor.floor_s(a) for a in self.scenario.detection.expect},
            alerts=tuple(engine._observation_json(o) for o in detection.observations),
            steps=tuple(engine._step_json(s) for s in self.steps),
            load_series=tuple(engine._series_json(load_report)),
            requests=len(load_report.requests),
            acknowledged=len(load_report.acknowledged),
            notes=tuple(self.notes),
        )
        journal = Journal(
            run_id=new_run_id(),
            started_at=self.started_at,
            ended_at=utcnow(),
            results=(result,),
            responder="chaostoolkit",
        )
        path = write_journal(journal, self.reports)
        try:
            from gameday.report import render_run

            render_run(path.parent)
        except GamedayError as exc:
            _log(f"the report could not be written: {exc}")
        return result, path


_current: ChaosDrill | None = None


def begin(scenario_path: str | Path, configuration: Configuration) -> ChaosDrill:
    """Start a drill of the scenario on the configured replica: revert what dead drills
    left, then watch the alerts and put the load on, as ``run.run_drill`` does first."""
    global _current
    if _current is not None:
        raise InputError(f"a drill of {_current.scenario.name} is already running in this process")
    scenario = scenario_at(scenario_path)
    replica = replica_of(configuration)
    timeline = Timeline()
    started_at = timeline.add(EventKind.DRILL_STARTED, scenario.title).at
    revert_leftovers(replica)
    watch = AlertWatch(
        replica.endpoint("prometheus").url, replica.endpoint("alertmanager").url, timeline
    )
    load = LoadGenerator(replica.endpoint("gateway").url, scenario.load, timeline)
    reports = Path(str((configuration or {}).get(REPORTS_KEY) or DEFAULT_REPORTS))
    watch.start()
    try:
        load.start()
    except BaseException:
        watch.stop()
        raise
    _current = ChaosDrill(replica, scenario, timeline, watch, load, reports, started_at)
    time.sleep(engine.WARMUP_S)
    return _current


def current(scenario_path: str | Path | None, configuration: Configuration) -> ChaosDrill:
    """The drill in progress; one is begun when an experiment has no gameday control."""
    if _current is None:
        if scenario_path is None:
            raise InputError("no gameday drill is running: add gameday's control")
        return begin(scenario_path, configuration)
    if scenario_path is not None and scenario_at(scenario_path).name != _current.scenario.name:
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
        yield _current.watch
        return
    watch = AlertWatch(
        replica.endpoint("prometheus").url, replica.endpoint("alertmanager").url, Timeline()
    )
    watch.start()
    try:
        yield watch
    finally:
        watch.stop()


def health_only(services: list[HealthChecked]) -> SteadyState:
    """A steady state of health endpoints alone (no alert, no load condition)."""
    return SteadyState(healthy=services, alerts_resolved=False)
