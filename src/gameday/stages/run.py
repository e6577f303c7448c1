"""The drill engine: one function that runs scenarios on a replica and returns the journal.

    scenario -> replica -> fault injection -> detection watch -> recovery -> grading -> journal

The CLI, the pytest plugin and the Chaos Toolkit extension all call :func:`run_gameday`
(or :func:`run_drill` for one scenario on a replica they hold); none of them has logic
of its own. Every fault is reverted before a drill returns, whatever happened.

It is long because it holds the drill's phases (DrillSession) that adapters drive one
at a time, and the measurement that feeds grading.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gameday.infra.host import HostMonitor, HostUsage
from gameday.infra.replica import Replica, new_run_id
from gameday.inputs.monitoring import MonitoringSettings
from gameday.inputs.project import Project
from gameday.inputs.scenario import Scenario
from gameday.record import AlertSpan, AlertTiming, DetectionGap, HostRecord
from gameday.stages import production, steady_state
from gameday.stages.clocks import read_clocks, resolve_clocks
from gameday.stages.data_loss import data_loss
from gameday.stages.detection import (
    AlertObservation,
    AlertWatch,
    DetectionReport,
    alert_spans,
    symptom_onset,
)
from gameday.stages.faults import build_fault
from gameday.stages.faults.ledger import injected, revert_leftovers
from gameday.stages.gaps import GapLimits, detection_gaps
from gameday.stages.grading import Measurements, grade, host_record
from gameday.stages.journal import DrillResult, Journal
from gameday.stages.load import (
    LoadGenerator,
    LoadLag,
    LoadReport,
    RecordId,
    load_for,
    lost_writes,
)
from gameday.stages.recovery import StepResult, run_step
from gameday.timeline import EventKind, Timeline, utcnow

__all__ = [
    "AutoResponder",
    "Drill",
    "DrillSession",
    "NoResponder",
    "Responder",
    "run_drill",
    "run_gameday",
]

Progress = Callable[[str], None]

PRE_STEADY_TIMEOUT_S = 60.0
WARMUP_S = 2.0
# The steady load the steady-state KPIs judge: after the warm-up, or once the steady state came.
BASELINE_S = 2.0
CLEANUP_TIMEOUT_S = 90.0


@dataclass
class Drill:
    """What a responder may see and use while a drill runs."""

    replica: Replica
    scenario: Scenario
    timeline: Timeline
    watch: AlertWatch
    load: LoadGenerator | None
    injected_at: datetime
    progress: Progress
    steps: list[StepResult]

    def elapsed_s(self) -> float:
        return (utcnow() - self.injected_at).total_seconds()


class Responder(Protocol):
    """Who responds to the incident once the fault is in: a script or people."""

    name: str

    def respond(self, drill: Drill) -> None:
        """Return when the responder is done (recovery attempted, or given up)."""


class AutoResponder:
    """The CI regression responder: waits for detection, then runs the playbook's steps."""

    name = "auto"

    def respond(self, drill: Drill) -> None:
        scenario = drill.scenario
        wait_s = scenario.recovery.start_after_s or scenario.detection.within_s
        expected = set(scenario.detection.expect)
        drill.progress(f"  waiting up to {wait_s:.0f} s for {', '.join(sorted(expected))}")
        if drill.watch.wait_firing(expected, timeout_s=wait_s):
            drill.progress(f"  detected after {drill.elapsed_s():.1f} s")
        else:
            drill.progress(f"  not detected within {wait_s:.0f} s; recovering anyway")
        drill.timeline.add(EventKind.RECOVERY_STARTED, "automatic responder")
        for step in scenario.recovery.steps:
            result = run_step(step, drill.replica)
            drill.steps.append(result)
            outcome = "done" if result.ok else f"FAILED: {result.detail}"
            drill.timeline.add(
                EventKind.RECOVERY_STEP,
                outcome,
                subject=f"{result.action} {result.target}".strip(),
                at=result.ended_at,
            )
            drill.progress(f"  step {result.action} {result.target}: {outcome}")
        drill.timeline.add(EventKind.RECOVERY_DONE, f"{len(drill.steps)} steps")


class NoResponder:
    """Nobody responds: shows what the system does on its own."""

    name = "none"

    def respond(self, drill: Drill) -> None:
        drill.timeline.add(EventKind.NOTE, "no responder: the system is left to recover alone")


def _responder_for(
    scenario: Scenario, override: Responder | None, people: Responder | None = None
) -> Responder:
    """``override`` if given; else the scenario's own: nobody, people (when the adapter has
    a way to reach them) or the automatic responder."""
    if override is not None:
        return override
    if scenario.recovery.responder == "none":
        return NoResponder()
    if scenario.recovery.responder == "human" and people is not None:
        return people
    return AutoResponder()


class DrillSession:
    """One drill, phase by phase, for adapters that drive the phases themselves.

    ``run_drill`` calls the phases in order; the Chaos Toolkit extension calls them from
    its control and actions. Whatever happens, ``close`` reverts every fault, stops the
    load and the watch, and waits (ungraded) for the replica to settle; ``result``
    grades what was measured.
    """

    def __init__(self, replica: Replica, scenario: Scenario, *, progress: Progress) -> None:
        self.replica = replica
        self.scenario = scenario
        self.progress = progress
        self.timeline = Timeline()
        self.faults = [build_fault(spec) for spec in scenario.faults]
        self.steps: list[StepResult] = []
        self.notes: list[str] = []
        self.injected_at: datetime | None = None
        self.steady_at: datetime | None = None
        self.problems: list[str] = []
        self.not_run = ""
        self.started_at = self.timeline.add(EventKind.DRILL_STARTED, scenario.title).at
        self.watch = AlertWatch(replica.prometheus_url(), replica.alertmanager_url(), self.timeline)
        project_load = replica.project.spec.load
        self.load_spec = load_for(project_load, scenario.load) if project_load else None
        self.load = (
            LoadGenerator(
                replica.endpoint(self.load_spec.target).url, self.load_spec, self.timeline
            )
            if self.load_spec is not None
            else None
        )
        self._faults_open = contextlib.ExitStack()
        self._load_report: LoadReport | None = None
        self._detection: DetectionReport | None = None
        self._lost: list[RecordId] = []
        self._host = HostMonitor()
        self._host_usage: HostUsage | None = None
        self._load_lag: LoadLag | None = None
        self._onsets: dict[str, datetime | None] = {}
        self._baseline_from: datetime | None = None  # None: the load's start
        self._closed = False
        self.responder_name = ""

    def _first(self, kind: EventKind) -> datetime | None:
        event = self.timeline.first(kind)
        return event.at if event else None

    def start(self) -> None:
        """Revert what a dead drill left, then start the alert watch and the load."""
        for entry in revert_leftovers(self.replica):
            self.progress(f"  reverted a fault a dead drill left: {entry.spec.type}")
        self._host.start()
        self.watch.start()
        if self.load is not None:
            self.load.start()

    def verify_steady(self, timeout_s: float = PRE_STEADY_TIMEOUT_S) -> bool:
        """Wait for the steady state before the fault; False (and why) if it never comes.

        The requests of the steady state (what the steady-state KPIs judge) are those from
        when it held, for at least BASELINE_S: from the end of the load's warm-up if it held
        at once, else from when it came. Neither the warm-up (a fresh replica's first
        requests, seen at a p95 of 500 ms) nor the tail of a previous drill's incident is
        this service's everyday."""
        time.sleep(WARMUP_S)
        deadline = time.monotonic() + timeout_s
        spec = self.scenario.steady_state
        self._baseline_from = utcnow()
        time.sleep(BASELINE_S)
        problems = steady_state.check(self.replica, spec, self.watch, self.load)
        while problems:
            ready_at, problems = steady_state.wait_for(
                self.replica,
                spec,
                self.watch,
                self.load,
                timeout_s=max(deadline - time.monotonic(), 0.1),
                progress=self.progress,
            )
            if ready_at is None:
                self.not_run = (
                    "the replica was not in its steady state before the fault ("
                    + "; ".join(problems)
                    + ")"
                )
                self.notes.append(self.not_run)
                return False
            self._baseline_from = ready_at
            time.sleep(BASELINE_S)
            problems = steady_state.check(self.replica, spec, self.watch, self.load)
        self.timeline.add(EventKind.STEADY_STATE_VERIFIED)
        return True

    def inject(self) -> datetime:
        """Inject the scenario's faults; they stay in until ``revert`` or ``close``."""
        self.progress(f"  injecting {', '.join(f.describe() for f in self.faults)}")
        if self.load is not None:
            self.load.arm()
        self._faults_open.enter_context(injected(self.faults, self.replica, self.timeline.add))
        first = self.timeline.first(EventKind.FAULT_INJECTED)
        self.injected_at = first.at if first else utcnow()
        return self.injected_at

    def respond(self, responder: Responder | None = None, people: Responder | None = None) -> None:
        """Hand the incident to the responder (by default the scenario's own; ``people``
        answers for a scenario whose responder is human)."""
        if self.injected_at is None:
            raise RuntimeError("respond() before inject()")
        drill = Drill(
            self.replica,
            self.scenario,
            self.timeline,
            self.watch,
            self.load,
            self.injected_at,
            self.progress,
            self.steps,
        )
        chosen = _responder_for(self.scenario, responder, people)
        self.responder_name = chosen.name
        chosen.respond(drill)

    def wait_steady(self) -> datetime | None:
        """Wait for the steady state to come back, within the MTTR budget and some grace
        (so that "MTTR 74 s over the 60 s budget" can still be measured)."""
        if self.injected_at is None:
            raise RuntimeError("wait_steady() before inject()")
        budget = self.scenario.targets.mttr_s
        elapsed = (utcnow() - self.injected_at).total_seconds()
        remaining = budget + min(30.0, budget / 2) - elapsed
        self.steady_at, self.problems = steady_state.wait_for(
            self.replica,
            self.scenario.steady_state,
            self.watch,
            self.load,
            timeout_s=max(remaining, 1.0),
            progress=self.progress,
        )
        if self.steady_at is not None:
            self.timeline.add(EventKind.STEADY_STATE_BACK, at=self.steady_at)
            seconds = (self.steady_at - self.injected_at).total_seconds()
            self.progress(f"  steady state back after {seconds:.1f} s")
        else:
            self.progress(f"  steady state did not come back: {'; '.join(self.problems)}")
        return self.steady_at

    def revert(self) -> None:
        """Revert every fault now (idempotent); the load goes on."""
        self._faults_open.close()

    def close(self) -> None:
        """Revert, stop the load and the watch, let the replica settle. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.load is not None:
                self._load_lag = self.load.lag()
            self._load_report = self.load.stop() if self.load else LoadReport((), ())
            self._host_usage = self._host.stop()
            try:
                if self.steady_at is not None:
                    # The recovery holds: what it left is what users would have. Reverting
                    # first could hide or invent lost writes (a failed-over database
                    # failing back to its old primary).
                    self._check_data()
            finally:
                self.revert()
            if self.steady_at is None and self.injected_at is not None:
                # Not graded: only so that the next drill starts on a settled replica.
                settled, left = steady_state.wait_for(
                    self.replica,
                    self.scenario.steady_state,
                    self.watch,
                    None,
                    timeout_s=CLEANUP_TIMEOUT_S,
                    progress=self.progress,
                )
                if settled is None:
                    self.notes.append(
                        "the replica did not settle after the faults were reverted: "
                        + "; ".join(left)
                    )
        finally:
            self._detection = self.watch.stop()
        if self.injected_at is not None:
            self._onsets = self._symptom_onsets(self._detection, self.injected_at)
        if self.steady_at is None:
            self._check_data()

    def _check_data(self) -> None:
        """Ask the project's data check which acknowledged writes the replica still holds."""
        check = self.replica.project.spec.data_check
        report = self._load_report
        if self.injected_at is not None and check is not None and report is not None:
            self._lost = lost_writes(self.replica, check, self.load_spec, report.acknowledged)

    def _symptom_onsets(
        self, detection: DetectionReport, injected_at: datetime
    ) -> dict[str, datetime | None]:
        """When each expected alert's expression first held after the fault."""
        onsets: dict[str, datetime | None] = {}
        for alert in self.scenario.detection.expect:
            episode = detection.first_episode(alert)
            if episode is None or episode.firing_at is None:
                onsets[alert] = None
                continue
            # Up to a second past firing: the query's steps may all fall just before the
            # sample that an evaluation saw (alert_timing keeps it no later than pending).
            onsets[alert] = symptom_onset(
                self.replica.prometheus_url(),
                detection.queries.get(alert, ()),
                episode.labels,
                injected_at,
                episode.firing_at + timedelta(seconds=1),
            )
        return onsets

    def production_settings(self) -> MonitoringSettings | None:
        """The project's production monitoring settings with the scenario's changes."""
        project = self.replica.project.production
        override = self.scenario.production
        return override.applied_to(project) if override is not None else project

    def _timings(self, detection: DetectionReport) -> tuple[AlertTiming, ...]:
        if self.injected_at is None:
            return ()
        settings = self.production_settings()
        return tuple(
            production.alert_timing(
                alert,
                self.injected_at,
                _fired_after(detection, alert, self.injected_at),
                self._onsets.get(alert),
                detection.settings,
                settings,
            )
            for alert in self.scenario.detection.expect
        )

    def _host_record(self) -> HostRecord | None:
        if self._host_usage is None:
            return None
        lag = self._load_lag
        steady = None
        if lag is not None and self.injected_at is not None:
            start = self._baseline_from or lag.started_at
            if start is not None:
                steady = (start, self.injected_at)
        return host_record(self._host_usage, lag, steady)

    def result(self) -> DrillResult:
        """Grade the drill (closing it first if need be)."""
        self.close()
        assert self._load_report is not None and self._detection is not None
        load, detection = self._load_report, self._detection
        alerts = alert_spans(detection.observations)
        gaps = self._gaps(load, alerts)
        ended_at = self.timeline.add(EventKind.DRILL_ENDED).at
        measurements = _measure(
            self.scenario,
            self.injected_at,
            self.steady_at,
            self.problems,
            detection,
            load,
            self._lost,
            self.not_run,
            self._first(EventKind.ACKNOWLEDGED),
            self.responder_name == "human",
            load_measured=self.load is not None,
            data_checked=self.replica.project.spec.data_check is not None,
        )
        clocks = resolve_clocks(self.replica.project.spec.clocks, self.scenario.clocks)
        measurements = dataclasses.replace(
            measurements,
            clocks=read_clocks(
                clocks, self.timeline.sorted(), self.injected_at, self.steady_at or ended_at
            ),
        )
        timings = self._timings(detection)
        projected_mttr = production.production_mttr(measurements.mttr_s, timings)
        budget = production.error_budget(
            self.replica.project.spec.objectives,
            production.unavailable_s(
                load.series(1.0), self.scenario.steady_state.max_error_rate, self.injected_at
            )
            if self.injected_at is not None and self.load is not None
            else None,
            measurements.mttr_s,
            projected_mttr,
        )
        outside = _outside_incident(load, self.injected_at, self._baseline_from)
        loss = data_loss(load.requests, self._lost, self.injected_at)
        measurements = dataclasses.replace(
            measurements,
            rpo_s=loss.rpo_s,
            lost_writes_span_s=loss.span_s,
            timings=timings,
            production_mttr_s=projected_mttr,
            error_budget=budget,
            gaps=gaps,
            steady_p95_ms=outside.p95_ms() if outside.requests else None,
            steady_latencies_ms=tuple(r.latency_ms for r in outside.requests if not r.failed),
            steady_error_rate=outside.error_rate() if outside.requests else None,
            host=self._host_record(),
        )
        graded = grade(self.scenario, measurements, self.replica.project.spec.objectives)
        notes = [*self.notes, *graded.inconclusive, *graded.host_notes]
        return DrillResult(
            scenario=self.scenario,
            started_at=self.started_at,
            ended_at=ended_at,
            injected_at=self.injected_at,
            events=tuple(self.timeline.sorted()),
            measurements=measurements,
            grade=graded,
            faults=tuple(f.describe() for f in self.faults),
            alerts=alerts,
            steps=tuple(self.steps),
            load_series=load.series(1.0),
            requests=len(load.requests),
            acknowledged=len(load.acknowledged),
            answers=(
                load.between(self.injected_at, self.steady_at or ended_at).answers()
                if self.injected_at is not None
                else ()
            ),
            notes=tuple(notes),
        )

    def _gaps(self, load: LoadReport, alerts: Sequence[AlertSpan]) -> tuple[DetectionGap, ...]:
        """Silent stretches after the fault; each also goes on the timeline."""
        if self.injected_at is None or not load.requests:
            return ()
        steady, detection = self.scenario.steady_state, self.scenario.detection
        limits = GapLimits(
            max_error_rate=steady.max_error_rate,
            max_p95_ms=steady.max_p95_ms,
            window_s=steady.window_s,
            min_gap_s=detection.max_silent_s or detection.within_s,
        )
        until = max(r.finished_at for r in load.requests)
        gaps = detection_gaps(load.requests, alerts, self.injected_at, until, limits)
        for gap in gaps:
            self.timeline.add(
                EventKind.DETECTION_GAP,
                gap.detail,
                subject="users",
                at=self.injected_at + timedelta(seconds=gap.start_s),
            )
            self.progress(f"  detection gap: {gap.detail}")
        return gaps


def run_drill(
    replica: Replica,
    scenario: Scenario,
    *,
    progress: Progress,
    responder: Responder | None = None,
    people: Responder | None = None,
) -> DrillResult:
    """Run one scenario on a ready replica and grade it. Faults are always reverted.
    ``responder`` answers every drill; ``people``, those whose scenario asks for humans."""
    session = DrillSession(replica, scenario, progress=progress)
    try:
        session.start()
        if session.verify_steady():
            session.inject()
            session.respond(responder, people)
            session.wait_steady()
    finally:
        session.close()
    return session.result()


def _measure(
    scenario: Scenario,
    injected_at: datetime | None,
    steady_at: datetime | None,
    problems: Sequence[str],
    detection: DetectionReport,
    load: LoadReport,
    lost: Sequence[RecordId],
    not_run: str,
    acknowledged_at: datetime | None,
    human: bool,
    *,
    load_measured: bool = True,
    data_checked: bool = True,
) -> Measurements:
    alert_mttd: dict[str, float | None] = {}
    for alert in scenario.detection.expect:
        fired = detection.first_firing(alert)
        # An alert that fired before the fault went in is not this fault's detection.
        if fired is not None and injected_at is not None and fired >= injected_at:
            alert_mttd[alert] = _seconds_between(injected_at, fired)
        else:
            alert_mttd[alert] = None
    window = load.between(injected_at, steady_at or utcnow()) if injected_at else load
    return Measurements(
        alert_mttd_s=alert_mttd,
        mttr_s=(steady_at - injected_at).total_seconds() if steady_at and injected_at else None,
        p95_ms=load.p95_ms(),
        error_rate=load.error_rate(),
        availability=window.availability(),
        lost_writes=len(lost),
        noise=tuple(detection.noise(scenario.detection.expect, scenario.detection.allow)),
        steady_problems=tuple(problems),
        not_run=not_run,
        mtta_s=_seconds_between(injected_at, acknowledged_at),
        acknowledgement_expected=human and injected_at is not None,
        load_measured=load_measured,
        data_checked=data_checked,
    )


def _fired_after(
    detection: DetectionReport, alert: str, injected_at: datetime
) -> AlertObservation | None:
    episode = detection.first_episode(alert)
    if episode is None or episode.firing_at is None or episode.firing_at < injected_at:
        return None
    return episode


def _outside_incident(
    load: LoadReport, injected_at: datetime | None, baseline_from: datetime | None
) -> LoadReport:
    """The requests of the steady state the drill found: those sent once it held
    (``baseline_from``; None: from the start) that finished before the fault. (After
    recovery a replica warms up again, a cold cache for one, and that is part of the
    incident the budgets judge, not of the service's everyday objective.)"""
    if injected_at is None:
        return load
    chosen = tuple(
        r
        for r in load.requests
        if r.finished_at < injected_at and (baseline_from is None or r.at >= baseline_from)
    )
    return LoadReport(requests=chosen, acknowledged=())


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def run_gameday(
    project: Project,
    scenarios: Sequence[Scenario],
    *,
    progress: Progress,
    replica_run_id: str | None = None,
    responder: Responder | None = None,
    run_id: str | None = None,
    people: Responder | None = None,
) -> Journal:
    """Bring a replica of ``project`` up (or use a kept one), run every scenario on it,
    take it down."""
    started_at = utcnow()
    timings: dict[str, float] = {}
    results: list[DrillResult] = []
    if replica_run_id is not None:
        replica = Replica.attach(replica_run_id, project)
        replica.progress = progress
        _run_all(replica, scenarios, progress, responder, people, results, timings)
        own_run_id = run_id or new_run_id()  # a run of its own, on a kept replica
    else:
        replica = Replica(project, progress=progress, run_id=run_id)
        own_run_id = replica.run_id
        t0 = time.monotonic()
        replica.start()
        timings["bring_up"] = time.monotonic() - t0
        try:
            _run_all(replica, scenarios, progress, responder, people, results, timings)
        finally:
            t0 = time.monotonic()
            replica.stop()
            timings["teardown"] = time.monotonic() - t0
    return Journal(
        run_id=own_run_id,
        started_at=started_at,
        ended_at=utcnow(),
        results=tuple(results),
        timings_s=timings,
        responder=responder.name if responder else "auto",
        project=project.name,
    )


def _run_all(
    replica: Replica,
    scenarios: Sequence[Scenario],
    progress: Progress,
    responder: Responder | None,
    people: Responder | None,
    results: list[DrillResult],
    timings: dict[str, float],
) -> None:
    for index, scenario in enumerate(scenarios, start=1):
        progress(f"[{index}/{len(scenarios)}] {scenario.name}: {scenario.title}")
        t0 = time.monotonic()
        result = run_drill(replica, scenario, progress=progress, responder=responder, people=people)
        timings[f"drill:{scenario.name}"] = time.monotonic() - t0
        verdict = {
            "passed": "PASSED",
            "failed": "FAILED: " + "; ".join(result.grade.reasons),
            "inconclusive": "INCONCLUSIVE: " + "; ".join(result.grade.inconclusive),
        }[result.verdict]
        progress(f"[{index}/{len(scenarios)}] {scenario.name}: {verdict}")
        results.append(result)
