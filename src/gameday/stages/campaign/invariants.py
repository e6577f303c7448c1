"""What must hold throughout a campaign, checked after each wave.

- detection: each fault's expected alerts fired within its scenario's detection budget of the
  fault going in (an alert another fault of the wave had already set firing counts);
- silent failure: users never saw the steady state's limits broken for longer than a
  scenario's detection time while no alert at all was firing;
- steady state: the replica came back after the wave, within its largest MTTR budget;
- acknowledged writes: every write the load was told had succeeded is still there
  (checked after each wave and once more at the end; the runner does that one).

A violation on a saturated host, or while the load fell behind, is inconclusive: the host,
not the playbook, may be the cause (the thresholds of drills' grades).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gameday.inputs.scenario import SteadyState
from gameday.record import HostRecord, ViolationRecord
from gameday.stages.campaign.schedule import detection_budget
from gameday.stages.detection import AlertObservation, alert_spans
from gameday.stages.gaps import GapLimits, detection_gaps
from gameday.stages.grading import host_strain
from gameday.stages.load import LoadLag, LoadReport

if TYPE_CHECKING:
    from gameday.stages.campaign.runner import FaultRun

__all__ = ["detection", "judge_host", "lag_between", "silent"]


def detection(
    wave: int, runs: Sequence[FaultRun], episodes: Sequence[AlertObservation]
) -> list[ViolationRecord]:
    """Each fault's expected alerts, fired within budget; fills each run's detected_s."""
    violations = []
    for run in runs:
        if run.injected_at is None:
            continue
        scenario = run.kind.scenario
        budget = detection_budget(scenario)
        deadline = run.injected_at + timedelta(seconds=budget)
        for alert in scenario.detection.expect:
            fired = [
                e.firing_at
                for e in episodes
                if e.name == alert
                and e.firing_at is not None
                and e.firing_at <= deadline
                and (e.resolved_at is None or e.resolved_at >= run.injected_at)
            ]
            if fired:
                run.detected_s[alert] = max(0.0, (min(fired) - run.injected_at).total_seconds())
                continue
            run.detected_s[alert] = None
            others = sorted({r.kind.name for r in runs if r is not run})
            beside = f" (with {', '.join(others)} in too)" if others else ""
            violations.append(
                ViolationRecord(
                    invariant="detection",
                    wave=wave,
                    scenario=scenario.name,
                    subject=alert,
                    detail=f"{alert} did not fire within {budget:g} s of {scenario.name} "
                    f"going in{beside}",
                    at=deadline,
                )
            )
    return violations


def silent(
    wave: int,
    runs: Sequence[FaultRun],
    load: LoadReport,
    episodes: Sequence[AlertObservation],
    since: datetime,
    until: datetime,
    steady: SteadyState,
) -> list[ViolationRecord]:
    """Users broken while no alert fired, longer than the wave's longest detection time."""
    longest = max(
        r.kind.scenario.detection.max_silent_s or r.kind.scenario.detection.within_s for r in runs
    )
    limits = GapLimits(
        max_error_rate=steady.max_error_rate,
        max_p95_ms=steady.max_p95_ms,
        window_s=steady.window_s,
        min_gap_s=longest,
    )
    requests = [r for r in load.requests if since <= r.at < until]
    gaps = detection_gaps(requests, alert_spans(episodes), since, until, limits)
    return [
        ViolationRecord(
            invariant="silent_failure",
            wave=wave,
            detail=f"wave {wave}: {gap.detail}",
            at=since + timedelta(seconds=gap.start_s),
        )
        for gap in gaps
    ]


def lag_between(before: LoadLag | None, after: LoadLag) -> LoadLag:
    if before is None:
        return after
    return LoadLag(
        after.scheduled - before.scheduled, after.not_sent - before.not_sent, after.max_lag_s
    )


def host_saturated(host: HostRecord) -> str:
    """Why the host may have decided a wave's outcome (the drill's rule,
    ``grading.host_strain``); "" when it did not."""
    strain = host_strain(host)
    return "; ".join(why for why in (strain.fell_behind, strain.saturated) if why)


def judge_host(violations: list[ViolationRecord], host: HostRecord) -> list[ViolationRecord]:
    """The wave's violations, inconclusive (with the reason) when the host was saturated."""
    why = host_saturated(host)
    if not why:
        return violations
    return [
        v.model_copy(update={"inconclusive": True, "detail": f"{v.detail} [inconclusive: {why}]"})
        for v in violations
    ]
