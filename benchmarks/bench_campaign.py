"""A chaos campaign on the bundled replica: how many faults a minute, and how much of the
campaign's time is gameday's own work rather than the faults' and the system's.

    python benchmarks/bench_campaign.py [--minutes 10] [--seed 2026]

One seeded campaign (no shrinking: a break is printed as a finding), then the schedule is
drawn again from the seed and read back from the journal: both must equal what ran (the
replay runs exactly that). The baseline of the overhead share is the campaign's wall time
in the same run; the gameday process's CPU time is given against one core.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

from gameday.inputs.campaign import Schedule, read_schedule
from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_all
from gameday.stages.campaign import CampaignPlan, run_campaign
from gameday.stages.campaign.schedule import draw_waves, fault_pool

ROOT = Path(__file__).parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    project = load_project(ROOT / "gameday.yml")
    scenarios = load_all([project.scenarios_dir], project)
    plan = CampaignPlan(seed=args.seed, duration_s=args.minutes * 60, shrink=False)
    cpu0, wall0 = time.process_time(), time.monotonic()
    with tempfile.TemporaryDirectory() as reports:
        record, path = run_campaign(
            project,
            scenarios,
            plan,
            progress=lambda m: print(m, file=sys.stderr, flush=True),
            reports_dir=Path(reports),
        )
        cpu, total = time.process_time() - cpu0, time.monotonic() - wall0
        pool = fault_pool(project, scenarios)
        ran = json.loads(record.schedule.model_dump_json())
        redrawn = Schedule(
            seed=args.seed,
            waves=list(
                itertools.islice(
                    draw_waves(pool, project.spec.campaign, args.seed), len(record.schedule.waves)
                )
            ),
        )
        replayed = read_schedule(path, [s.name for s in scenarios])
    overhead = record.overhead_s
    wall = overhead.get("wall", record.duration_s)
    own = {k: overhead.get(k, 0.0) for k in ("faults", "checks", "slip")}
    minutes = wall / 60
    print(
        f"campaign on the bundled replica: seed {args.seed}, {minutes:.1f} min of waves "
        f"({total / 60:.1f} min with bring-up and teardown), verdict {record.verdict}"
    )
    print(f"  waves {len(record.waves)}, faults injected {len(record.faults)}")
    print(f"  faults injected per minute: {len(record.faults) / minutes:.2f}")
    print(
        f"  gameday's own work: {sum(own.values()):.1f} s of {wall:.0f} s "
        f"({sum(own.values()) / wall:.1%} of the campaign's time): injecting and reverting "
        f"{own['faults']:.1f} s, invariant checks {own['checks']:.1f} s, lateness of the "
        f"schedule {own['slip']:.2f} s"
    )
    print(f"  gameday process CPU: {cpu:.0f} s, {cpu / total:.1%} of one core over the run")
    print(
        f"  requests {record.requests}, acknowledged writes {record.acknowledged_writes}, "
        f"lost {record.lost_writes}"
    )
    host = record.host
    if host is not None and host.cpu_pressure is not None:
        print(f"  host CPU pressure {host.cpu_pressure:.0%}, busy {host.cpu_busy or 0:.0%}")
    for violation in record.violations:
        mark = "inconclusive" if violation.inconclusive else "BROKEN"
        print(f"  wave {violation.wave}: {mark}: {violation.detail}")
    same_draw = json.loads(redrawn.model_dump_json()) == ran
    same_replay = json.loads(replayed.model_dump_json()) == ran
    print(f"  the seed draws the same schedule again: {'yes' if same_draw else 'NO'}")
    print(f"  the journal replays the same schedule: {'yes' if same_replay else 'NO'}")
    if not (same_draw and same_replay):
        sys.exit(1)


if __name__ == "__main__":
    main()
