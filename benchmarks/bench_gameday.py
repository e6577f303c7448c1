"""Benchmark of a whole game day: every bundled scenario on one replica.

Prints the time of each part (bring-up, each drill split into its stages, teardown)
and, for each scenario, gameday's measured MTTD next to the most its monitoring
configuration can add (scrape + evaluation + ``for`` + group_wait): an MTTD/config ratio
at or under 1 means detection took no longer than the configuration alone allows, over 1
that the system was slower to show the failure. The last column is the projected time to
a notification in production (the project's production settings), at most.

    python benchmarks/bench_gameday.py [SCENARIO...]
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

from gameday.inputs.project import load_project
from gameday.inputs.scenario import load_all
from gameday.stages.journal import DrillResult
from gameday.stages.run import run_gameday
from gameday.timeline import EventKind

ROOT = Path(__file__).parents[1]


def _span(result: DrillResult, start: EventKind, end: EventKind) -> float | None:
    times: dict[EventKind, datetime] = {}
    for event in result.events:
        times.setdefault(event.kind, event.at)
    if start in times and end in times:
        return (times[end] - times[start]).total_seconds()
    return None


def _fmt(value: float | None, unit: str = " s") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def _verdict(result: DrillResult) -> str:
    if result.verdict == "passed":
        return "pass"
    if result.verdict == "inconclusive":
        return "INCONCLUSIVE: " + "; ".join(result.grade.inconclusive)
    return "FAIL: " + "; ".join(result.grade.reasons)


GOAL_S = 180.0

# A drill's parts, each between two of its events: where a slow drill's time goes.
PARTS = (
    ("the steady state before the fault", EventKind.DRILL_STARTED, EventKind.STEADY_STATE_VERIFIED),
    ("detection", EventKind.FAULT_INJECTED, EventKind.ALERT_FIRING),
    ("recovery to the steady state", EventKind.RECOVERY_STARTED, EventKind.STEADY_STATE_BACK),
)


def why_slow(drill_s: float, result: DrillResult) -> str:
    """The drill's largest part, and what is left (revert, settle, data check)."""
    parts = {label: _span(result, a, b) or 0.0 for label, a, b in PARTS}
    parts["the revert, settling and the data check"] = max(drill_s - sum(parts.values()), 0.0)
    label, seconds = max(parts.items(), key=lambda item: item[1])
    return f"{drill_s:.1f} s, most of it {label} ({seconds:.1f} s)"


def main() -> None:
    project = load_project(ROOT / "gameday.yml")
    paths = [Path(p) for p in sys.argv[1:]] or [project.scenarios_dir]
    scenarios = load_all(paths, project)
    start = time.monotonic()
    journal = run_gameday(project, scenarios, progress=lambda _: None)
    total = time.monotonic() - start

    print(f"game day benchmark: {len(scenarios)} scenarios on one replica")
    print(f"  bring-up to ready   {journal.timings_s.get('bring_up', 0):6.1f} s")
    header = (
        f"  {'scenario':<28}{'drill':>7}{'steady':>8}{'MTTD':>7}{'config':>7}"
        f"{'ratio':>7}{'recover':>9}{'MTTR':>7}{'prod.':>9}  result"
    )
    print(header)
    for result in journal.results:
        name = result.scenario.name
        mttd = result.measurements.mttd_s
        timings = result.measurements.timings
        configs = [t.config_most_s for t in timings if t.config_most_s is not None]
        floor = max(configs) if configs else None
        ratio = f"{mttd / floor:.1f}x" if mttd and floor else "-"
        projected = [t.production_most_s for t in timings if t.production_most_s is not None]
        prod = f"{max(projected) / 60:.1f} min" if projected else "-"
        print(
            f"  {name:<28}{_fmt(journal.timings_s.get(f'drill:{name}')):>7}"
            f"{_fmt(_span(result, EventKind.DRILL_STARTED, EventKind.STEADY_STATE_VERIFIED)):>8}"
            f"{_fmt(mttd):>7}{_fmt(floor):>7}{ratio:>7}"
            f"{_fmt(_span(result, EventKind.RECOVERY_STARTED, EventKind.STEADY_STATE_BACK)):>9}"
            f"{_fmt(result.measurements.mttr_s):>7}{prod:>9}  "
            f"{_verdict(result)}"
        )
    print(f"  teardown            {journal.timings_s.get('teardown', 0):6.1f} s")
    print(f"  whole game day      {total:6.1f} s   (goal: under {GOAL_S:.0f} s)")
    if total > GOAL_S:
        drills = [
            (journal.timings_s.get(f"drill:{r.scenario.name}") or 0.0, r) for r in journal.results
        ]
        drills.sort(key=lambda pair: pair[0], reverse=True)
        print(f"  over the goal by {total - GOAL_S:.1f} s; the slowest drills:")
        for drill_s, result in drills[:3]:
            print(f"    {result.scenario.name}: {why_slow(drill_s, result)}")


if __name__ == "__main__":
    main()
