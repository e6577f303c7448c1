"""Running a campaign's waves on one replica, under one load and one alert watch.

For each wave: its faults go in at their offsets (each through the fault ledger, so that
a killed campaign leaves nothing injected), each stays in for its hold, then comes out
by its scenario's playbook steps or by a revert; the replica must then come back to its
steady state. After each wave the invariants are checked (invariants.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gameday.errors import ReplicaError
from gameday.infra.host import HostMonitor
from gameday.infra.replica import Replica
from gameday.inputs.campaign import CampaignSpec, PlannedFault, Wave
from gameday.inputs.scenario import Load
from gameday.record import AlertSpan, HostRecord, ViolationRecord
from gameday.stages import steady_state
from gameday.stages.campaign import invariants
from gameday.stages.campaign.schedule import FaultKind, hold_of
from gameday.stages.detection import AlertWatch, alert_spans
from gameday.stages.faults import build_fault
from gameday.stages.faults.ledger import injected, revert_leftovers
from gameday.stages.grading import host_record
from gameday.stages.load import LoadGenerator, LoadReport, RecordId, load_for, lost_writes
from gameday.stages.recovery import StepResult, run_step
from gameday.timeline import Event, EventKind, Timeline, utcnow

__all__ = ["Campaign", "CampaignOutcome", "FaultRun", "WaveRun"]

Progress = Callable[[str], None]

PRE_STEADY_TIMEOUT_S = 90.0
WARMUP_S = 2.0


@dataclass
class FaultRun:
    """One planned fault, as it ran."""

    wave: int
    planned: PlannedFault
    kind: FaultKind
    hold_s: float
    injected_at: datetime | None = None
    recovery_at: datetime | None = None
    reverted_at: datetime | None = None
    steps: list[StepResult] = field(default_factory=list)
    detected_s: dict[str, float | None] = field(default_factory=dict)


@dataclass
class WaveRun:
    index: int
    started_at: datetime
    ended_at: datetime
    steady_at: datetime | None
    lost_writes: int | None
    host: HostRecord | None
    violations: list[ViolationRecord]


@dataclass
class CampaignOutcome:
    """What one campaign run measured; ``record.py``'s CampaignRecord is made from it."""

    started_at: datetime
    ended_at: datetime
    faults: list[FaultRun]
    waves: list[WaveRun]
    violations: list[ViolationRecord]
    alerts: tuple[AlertSpan, ...]
    load: LoadReport
    events: tuple[Event, ...]
    host: HostRecord | None
    overhead_s: dict[str, float]
    lost_writes: int | None
    not_run: str = ""
    notes: list[str] = field(default_factory=list)

    def broken(self) -> list[ViolationRecord]:
        """The violations the system is to blame for (not the host)."""
        return [v for v in self.violations if not v.inconclusive]

    @property
    def verdict(self) -> str:
        if self.not_run:
            return "not_run"
        if self.broken():
            return "broken"
        return "inconclusive" if self.violations else "held"


class Campaign:
    """One campaign run on a ready replica. ``run`` always reverts what it injected."""

    def __init__(
        self,
        replica: Replica,
        pool: Mapping[str, FaultKind],
        spec: CampaignSpec,
        *,
        progress: Progress,
        stop_on_violation: bool = False,
    ) -> None:
        self.replica = replica
        self.pool = pool
        self.spec = spec
        self.progress = progress
        self.stop_on_violation = stop_on_violation
        self.timeline = Timeline()
        self.watch = AlertWatch(replica.prometheus_url(), replica.alertmanager_url(), self.timeline)
        project_load = replica.project.spec.load
        self.load_spec = load_for(project_load, Load()) if project_load else None
        self.load = (
            LoadGenerator(
                replica.endpoint(self.load_spec.target).url, self.load_spec, self.timeline
            )
            if self.load_spec is not None
            else None
        )
        self.overhead_s = {"faults": 0.0, "checks": 0.0, "slip": 0.0}
        self._lost: set[RecordId] = set()
        self._data_checked = False

    # -- the campaign ------------------------------------------------------------------

    def run(
        self, waves: Iterable[Wave], *, duration_s: float | None, max_waves: int | None
    ) -> CampaignOutcome:
        """Run ``waves`` until ``duration_s`` has passed (a wave begun is finished) or
        ``max_waves`` have run, whichever comes first."""
        for entry in revert_leftovers(self.replica):
            self.progress(f"  reverted a fault a dead run left: {entry.spec.type}")
        host = HostMonitor()
        host.start()
        started_at = utcnow()
        runs: list[FaultRun] = []
        done: list[WaveRun] = []
        notes: list[str] = []
        not_run = ""
        self.watch.start()
        try:
            if self.load is not None:
                self.load.start()
            time.sleep(WARMUP_S)
            ready, problems = steady_state.wait_for(
                self.replica, self.spec.steady_state, self.watch, self.load, PRE_STEADY_TIMEOUT_S
            )
            if ready is None:
                not_run = "the replica was not in its steady state: " + "; ".join(problems)
            else:
                self.timeline.add(EventKind.STEADY_STATE_VERIFIED)
                begun = time.monotonic()
                for index, wave in enumerate(waves, start=1):
                    if max_waves is not None and index > max_waves:
                        break
                    if duration_s is not None and time.monotonic() - begun >= duration_s:
                        break
                    wave_runs = [self._planned(index, f) for f in wave.faults]
                    runs.extend(wave_runs)
                    done.append(self._wave(index, wave_runs, begun, duration_s))
                    if done[-1].steady_at is None:
                        notes.append(
                            f"the campaign stopped after wave {index}: the replica did not "
                            "come back to its steady state"
                        )
                        break
                    if self.stop_on_violation and any(
                        not v.inconclusive for v in done[-1].violations
                    ):
                        break
        finally:
            report = self.load.stop() if self.load is not None else LoadReport((), ())
            detection = self.watch.stop()
            usage = host.stop()
        lost = self._final_data_check(report, done, notes) if not not_run else None
        alerts = alert_spans(detection.observations)
        lag = self.load.lag() if self.load is not None else None
        return CampaignOutcome(
            started_at=started_at,
            ended_at=utcnow(),
            faults=runs,
            waves=done,
            violations=[v for w in done for v in w.violations],
            alerts=alerts,
            load=report,
            events=tuple(self.timeline.sorted()),
            host=host_record(usage, lag),
            overhead_s=dict(self.overhead_s),
            lost_writes=lost,
            not_run=not_run,
            notes=notes,
        )

    def _planned(self, index: int, planned: PlannedFault) -> FaultRun:
        kind = self.pool[planned.scenario]
        return FaultRun(index, planned, kind, hold_of(planned, kind))

    # -- one wave ----------------------------------------------------------------------

    def _wave(
        self, index: int, runs: list[FaultRun], begun: float, duration_s: float | None
    ) -> WaveRun:
        elapsed = time.monotonic() - begun
        of = f" of {duration_s / 60:.0f} min" if duration_s else ""
        self.progress(
            f"[wave {index}, {elapsed / 60:.1f} min{of}] "
            + " + ".join(
                f"{r.kind.name} (at {r.planned.start_s:g} s for {r.hold_s:g} s, "
                f"{r.planned.recovery})"
                for r in runs
            )
        )
        host = HostMonitor()
        host.start()
        lag_before = self.load.lag() if self.load is not None else None
        started_at = utcnow()
        t0 = time.monotonic()
        actions = sorted(
            [(r.planned.start_s, 0, i) for i, r in enumerate(runs)]
            + [(r.planned.start_s + r.hold_s, 1, i) for i, r in enumerate(runs)]
        )
        with contextlib.ExitStack() as everything:
            stacks = [everything.enter_context(contextlib.ExitStack()) for _ in runs]
            for at, action, i in actions:
                delay = t0 + at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:
                    self.overhead_s["slip"] += -delay
                if action == 0:
                    self._inject(runs[i], stacks[i])
                else:
                    self._recover(runs[i], stacks[i])
        budget = max(r.kind.scenario.targets.mttr_s for r in runs)
        steady_at, problems = steady_state.wait_for(
            self.replica, self.spec.steady_state, self.watch, self.load, timeout_s=budget
        )
        if steady_at is not None:
            self.timeline.add(EventKind.STEADY_STATE_BACK, f"after wave {index}", at=steady_at)
        t_checks = time.monotonic()
        violations = invariants.detection(index, runs, self.watch.episodes())
        until = steady_at or utcnow()
        if self.load is not None:
            violations += invariants.silent(
                index,
                runs,
                self.load.snapshot(),
                self.watch.episodes(),
                started_at,
                until,
                self.spec.steady_state,
            )
        if steady_at is None:
            violations.append(
                ViolationRecord(
                    invariant="steady_state",
                    wave=index,
                    detail=f"the steady state did not come back within {budget:g} s of "
                    f"wave {index}'s last recovery: " + "; ".join(problems),
                    at=utcnow(),
                )
            )
        lost = self._data_check(index, violations) if steady_at is not None else None
        self.overhead_s["checks"] += time.monotonic() - t_checks
        record = host_record(
            host.stop(),
            invariants.lag_between(lag_before, self.load.lag()) if self.load else None,
        )
        violations = invariants.judge_host(violations, record)
        for violation in violations:
            mark = "inconclusive (the host)" if violation.inconclusive else "BROKEN"
            self.progress(f"  {mark}: {violation.detail}")
        if not violations:
            back = (steady_at - started_at).total_seconds() if steady_at else 0.0
            self.progress(f"  invariants held; steady state back {back:.1f} s after the wave began")
        return WaveRun(index, started_at, utcnow(), steady_at, lost, record, violations)

    def _inject(self, run: FaultRun, stack: contextlib.ExitStack) -> None:
        scenario = run.kind.scenario
        faults = [build_fault(spec) for spec in scenario.faults]

        def on_event(
            kind: EventKind, detail: str = "", *, subject: str = "", at: datetime | None = None
        ) -> object:
            return self.timeline.add(kind, f"{scenario.name}: {detail}", subject=subject, at=at)

        t = time.monotonic()
        run.injected_at = utcnow()
        if self.load is not None:
            self.load.arm()
        stack.enter_context(injected(faults, self.replica, on_event))
        self.overhead_s["faults"] += time.monotonic() - t
        self.progress(f"  + {scenario.name}: {', '.join(f.describe() for f in faults)}")

    def _recover(self, run: FaultRun, stack: contextlib.ExitStack) -> None:
        scenario = run.kind.scenario
        run.recovery_at = utcnow()
        if run.planned.recovery == "playbook":
            self.timeline.add(EventKind.RECOVERY_STARTED, f"{scenario.name}: its playbook steps")
            for step in scenario.recovery.steps:
                result = run_step(step, self.replica)
                run.steps.append(result)
                outcome = "done" if result.ok else f"FAILED: {result.detail}"
                self.timeline.add(
                    EventKind.RECOVERY_STEP,
                    f"{scenario.name}: {outcome}",
                    subject=f"{result.action} {result.target}".strip(),
                    at=result.ended_at,
                )
        t = time.monotonic()
        stack.close()  # the revert (after the playbook's steps, it finds little to undo)
        self.overhead_s["faults"] += time.monotonic() - t
        run.reverted_at = utcnow()
        how = "playbook steps" if run.planned.recovery == "playbook" else "reverted"
        self.progress(f"  - {scenario.name}: {how}")

    # -- acknowledged writes -------------------------------------------------------------

    def _data_check(self, index: int, violations: list[ViolationRecord]) -> int | None:
        check = self.replica.project.spec.data_check
        if check is None or self.load is None:
            return None
        try:
            lost = lost_writes(
                self.replica, check, self.load_spec, self.load.snapshot().acknowledged
            )
        except ReplicaError as exc:
            violations.append(
                ViolationRecord(
                    invariant="lost_writes",
                    wave=index,
                    detail=f"the acknowledged writes could not be checked: {exc}",
                    at=utcnow(),
                )
            )
            return None
        self._data_checked = True
        new = [i for i in lost if i not in self._lost]
        self._lost.update(new)
        if new:
            violations.append(
                ViolationRecord(
                    invariant="lost_writes",
                    wave=index,
                    detail=f"{len(new)} acknowledged writes are gone after wave {index} "
                    f"(first: {new[0]})",
                    at=utcnow(),
                )
            )
        return len(lost)

    def _final_data_check(
        self, report: LoadReport, waves: list[WaveRun], notes: list[str]
    ) -> int | None:
        """Every write acknowledged until the end, checked once more after the load."""
        check = self.replica.project.spec.data_check
        if check is None or not report.acknowledged:
            return None
        t = time.monotonic()
        try:
            lost = lost_writes(self.replica, check, self.load_spec, report.acknowledged)
        except ReplicaError as exc:
            notes.append(f"the final data check could not run: {exc}")
            return None
        finally:
            self.overhead_s["checks"] += time.monotonic() - t
        new = [i for i in lost if i not in self._lost]
        if new and waves:
            last = waves[-1]
            last.violations.append(
                ViolationRecord(
                    invariant="lost_writes",
                    wave=last.index,
                    detail=f"{len(new)} acknowledged writes are gone at the end (first: {new[0]})",
                    at=utcnow(),
                )
            )
        return len(lost)
