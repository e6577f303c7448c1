"""Chaos campaigns: seeded, replayable schedules of overlapping faults under load, and the
smallest schedule that breaks the playbook (docs/campaigns.md).

    project's scenarios -> fault pool -> seeded waves -> run on one replica
        -> invariants after each wave -> shrink the first break -> journal and report

:func:`run_campaign` is what ``gameday campaign`` and the benchmark call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gameday import __version__
from gameday.infra.replica import Replica
from gameday.inputs.campaign import PlannedFault, Schedule, Wave
from gameday.inputs.project import Project
from gameday.inputs.scenario import Scenario
from gameday.record import (
    CampaignFaultRecord,
    CampaignRecord,
    EventRecord,
    PlannedRecord,
    ScheduleRecord,
    ShrinkAttempt,
    ShrinkRecord,
    ViolationRecord,
    WavePlanRecord,
    WaveRecord,
)
from gameday.stages.campaign.minimal import write_minimal
from gameday.stages.campaign.runner import Campaign, CampaignOutcome
from gameday.stages.campaign.schedule import (
    FaultKind,
    detection_budget,
    draw_waves,
    fault_pool,
    touched,
)
from gameday.stages.campaign.shrink import (
    Attempt,
    FaultId,
    ShrinkLimit,
    ddmin,
    fault_ids,
    same_failure,
    subset_schedule,
)
from gameday.stages.report.templating import write_atomically

__all__ = [
    "CAMPAIGN_FILE",
    "CampaignPlan",
    "campaign_record",
    "executed_schedule",
    "run_campaign",
]

CAMPAIGN_FILE = "campaign.json"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CampaignPlan:
    """What to run: a seed's waves for a time (or a number of waves), or a replay."""

    seed: int | None = None
    duration_s: float | None = None
    max_waves: int | None = None
    replay: Schedule | None = None
    shrink: bool = True


def _pool(
    project: Project, scenarios: Sequence[Scenario], plan: CampaignPlan
) -> dict[str, FaultKind]:
    if plan.replay is None:
        return fault_pool(project, scenarios)
    # A replay runs what it names, whether or not today's limits would draw it.
    by_name = {s.name: s for s in scenarios}
    return {
        name: FaultKind(by_name[name], touched(by_name[name], project))
        for name in sorted(set(plan.replay.scenarios()))
    }


def executed_schedule(outcome: CampaignOutcome, seed: int | None) -> Schedule:
    """The waves that ran, as a schedule (what a replay runs again)."""
    waves: dict[int, list[PlannedFault]] = {}
    for run in outcome.faults:
        waves.setdefault(run.wave, []).append(run.planned)
    # model_construct: a campaign that never got to its first wave has an empty schedule.
    return Schedule.model_construct(
        seed=seed, waves=[Wave(faults=faults) for _, faults in sorted(waves.items())]
    )


def run_campaign(
    project: Project,
    scenarios: Sequence[Scenario],
    plan: CampaignPlan,
    *,
    progress: Progress,
    reports_dir: Path,
    run_id: str | None = None,
) -> tuple[CampaignRecord, Path]:
    """Bring a replica up, run the campaign, shrink its first break, take the replica
    down; the record and where its journal was written."""
    pool = _pool(project, scenarios, plan)
    spec = project.spec.campaign
    replica = Replica(project, progress=progress, run_id=run_id)
    run_dir = reports_dir / replica.run_id
    shrink: ShrinkRecord | None = None
    replica.start()
    try:
        campaign = Campaign(replica, pool, spec, progress=progress)
        if plan.replay is not None:
            progress(f"replaying {len(plan.replay.waves)} waves")
            outcome = campaign.run(plan.replay.waves, duration_s=None, max_waves=None)
            seed = plan.replay.seed
        else:
            assert plan.seed is not None
            seed = plan.seed
            limit = (
                f"{plan.duration_s / 60:g} min" if plan.duration_s else f"{plan.max_waves} waves"
            )
            progress(f"campaign: seed {seed}, {limit}, drawn from {', '.join(pool)}")
            outcome = campaign.run(
                draw_waves(pool, spec, seed), duration_s=plan.duration_s, max_waves=plan.max_waves
            )
        schedule = executed_schedule(outcome, seed)
        broken = outcome.broken()
        if plan.shrink and broken and spec.shrink_runs > 0:
            run_dir.mkdir(parents=True, exist_ok=True)
            shrink = _shrink(replica, pool, project, schedule, broken[0], progress, run_dir)
    finally:
        replica.stop()
    record = campaign_record(outcome, schedule, replica.run_id, project, shrink, plan.duration_s)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CAMPAIGN_FILE
    write_atomically(path, record.to_json())
    return record, path


def _shrink(
    replica: Replica,
    pool: Mapping[str, FaultKind],
    project: Project,
    schedule: Schedule,
    target: ViolationRecord,
    progress: Progress,
    run_dir: Path,
) -> ShrinkRecord:
    spec = project.spec.campaign
    prefix = Schedule(seed=schedule.seed, waves=schedule.waves[: target.wave])
    attempts: list[Attempt] = []
    memo: dict[tuple[FaultId, ...], bool] = {}
    limit_hit = False
    progress(
        f"shrinking: the smallest schedule that still breaks {target.invariant} ({target.detail})"
    )

    def fails(ids: list[FaultId]) -> bool:
        key = tuple(sorted(ids))
        if key in memo:
            return memo[key]
        if len(attempts) >= spec.shrink_runs:
            nonlocal limit_hit
            limit_hit = True
            raise ShrinkLimit
        candidate = subset_schedule(prefix, ids)
        progress(f"[shrink {len(attempts) + 1}/{spec.shrink_runs}] {_describe(candidate)}")
        t = time.monotonic()
        out = Campaign(replica, pool, spec, progress=lambda m: progress("    " + m)).run(
            candidate.waves, duration_s=None, max_waves=None
        )
        outcome = same_failure(target, out.violations) if not out.not_run else "inconclusive"
        attempts.append(Attempt(candidate, outcome, time.monotonic() - t))
        progress(f"[shrink {len(attempts)}/{spec.shrink_runs}] {outcome}")
        memo[key] = outcome == "broke"
        return memo[key]

    items = fault_ids(prefix)
    last_wave = fault_ids(prefix, [target.wave - 1])
    try:
        # The failing wave alone nearly always still fails: try it before anything finer.
        if len(prefix.waves) == 1 or fails(last_wave):
            items = last_wave
        items = ddmin(items, fails)
    except ShrinkLimit:
        pass
    minimal = subset_schedule(prefix, items)
    scenario_file, schedule_file = write_minimal(run_dir, minimal, pool, target, project)
    progress(f"smallest failing schedule: {_describe(minimal)}")
    progress(f"  as a scenario: {scenario_file}")
    progress(f"  as a schedule: {schedule_file}")
    return ShrinkRecord(
        target=target,
        attempts=tuple(
            ShrinkAttempt(
                faults=tuple(_labels(a.schedule)), outcome=a.outcome, seconds=round(a.seconds, 1)
            )
            for a in attempts
        ),
        minimal=_schedule_record(minimal),
        complete=not limit_hit,
        scenario_file=str(scenario_file),
        schedule_file=str(schedule_file),
    )


def _labels(schedule: Schedule) -> list[str]:
    return [
        f"wave {i}: {f.scenario} at {f.start_s:g} s"
        for i, w in enumerate(schedule.waves, start=1)
        for f in w.faults
    ]


def _describe(schedule: Schedule) -> str:
    return "; ".join(
        f"wave {i}: " + " + ".join(f.scenario for f in w.faults)
        for i, w in enumerate(schedule.waves, start=1)
    )


def _schedule_record(schedule: Schedule) -> ScheduleRecord:
    return ScheduleRecord(
        seed=schedule.seed,
        waves=tuple(
            WavePlanRecord(faults=tuple(PlannedRecord(**f.model_dump()) for f in w.faults))
            for w in schedule.waves
        ),
    )


def campaign_record(
    outcome: CampaignOutcome,
    schedule: Schedule,
    run_id: str,
    project: Project,
    shrink: ShrinkRecord | None,
    planned_s: float | None,
) -> CampaignRecord:
    overhead = dict(outcome.overhead_s)
    overhead["wall"] = (outcome.ended_at - outcome.started_at).total_seconds()
    return CampaignRecord(
        gameday_version=__version__,
        project=project.name,
        run_id=run_id,
        seed=schedule.seed,
        verdict=outcome.verdict,
        started_at=outcome.started_at,
        ended_at=outcome.ended_at,
        planned_s=planned_s,
        schedule=_schedule_record(schedule),
        faults=tuple(
            CampaignFaultRecord(
                wave=r.wave,
                scenario=r.kind.name,
                title=r.kind.scenario.title,
                planned_start_s=r.planned.start_s,
                hold_s=r.hold_s,
                recovery=r.planned.recovery,
                injected_at=r.injected_at,
                recovery_at=r.recovery_at,
                reverted_at=r.reverted_at,
                budget_s=detection_budget(r.kind.scenario),
                detected_s={k: None if v is None else round(v, 2) for k, v in r.detected_s.items()},
                steps=tuple(r.steps),
            )
            for r in outcome.faults
        ),
        waves=tuple(
            WaveRecord(
                index=w.index,
                started_at=w.started_at,
                ended_at=w.ended_at,
                steady_at=w.steady_at,
                lost_writes=w.lost_writes,
                host=w.host,
            )
            for w in outcome.waves
        ),
        violations=tuple(outcome.violations),
        alerts=outcome.alerts,
        load_series=outcome.load.series(1.0),
        events=tuple(
            EventRecord(at=e.at, kind=e.kind.value, subject=e.subject, detail=e.detail)
            for e in outcome.events
        ),
        host=outcome.host,
        overhead_s={k: round(v, 2) for k, v in overhead.items()},
        requests=len(outcome.load.requests),
        acknowledged_writes=len(outcome.load.acknowledged),
        lost_writes=outcome.lost_writes,
        shrink=shrink,
        notes=tuple([*([outcome.not_run] if outcome.not_run else []), *outcome.notes]),
    )
