"""Do verdicts hold on a busy machine? Every bundled scenario, several times, on a quiet host
and beside a CPU hog on every core (Debian's stress-ng).

For each scenario it prints MTTD and MTTR over the runs (min, median, max) in both
conditions, the verdicts (P passed, F failed, I inconclusive), and whether the verdict
flipped: passed on the quiet host and failed on the loaded one, or the other way round. The
goal is no flip: on a loaded host a drill passes or is inconclusive, never blamed.

    python benchmarks/bench_verdicts.py [--runs 3] [SCENARIO...]

All runs share one replica (bring-up is not what is measured); about 17 s a drill, so the
default (10 scenarios, 3 runs, 2 conditions) takes some 20 minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gameday.infra.replica import Replica
from gameday.inputs.project import load_project
from gameday.inputs.scenario import Scenario, load_all
from gameday.stages.grading import CPU_PRESSURE_LIMIT
from gameday.stages.run import run_drill

ROOT = Path(__file__).parents[1]


@dataclass
class Runs:
    mttd_s: list[float | None] = field(default_factory=list)
    mttr_s: list[float | None] = field(default_factory=list)
    verdicts: list[str] = field(default_factory=list)
    pressure: list[float | None] = field(default_factory=list)  # the host's CPU pressure


@contextmanager
def cpu_hog(loaded: bool) -> Iterator[None]:
    if not loaded:
        yield
        return
    stress = shutil.which("stress-ng")
    if stress is None:
        sys.exit("stress-ng is missing: `scripts/setup.sh --bench` installs it")
    cpus = str(os.cpu_count() or 1)
    hog = subprocess.Popen(
        [stress, "--cpu", cpus, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(2)  # let it take the CPUs
    try:
        yield
    finally:
        hog.terminate()
        hog.wait(timeout=30)


def spread(values: Sequence[float | None]) -> str:
    """min / median / max of the measured values, and how many runs measured none."""
    known = sorted(v for v in values if v is not None)
    missing = len(values) - len(known)
    if not known:
        return "never"
    text = f"{known[0]:.1f}/{statistics.median(known):.1f}/{known[-1]:.1f}"
    return text + (f" ({missing} never)" if missing else "")


def letters(verdicts: Sequence[str]) -> str:
    return "".join({"passed": "P", "failed": "F", "inconclusive": "I"}[v] for v in verdicts)


def flipped(quiet: Sequence[str], loaded: Sequence[str]) -> bool:
    """A pass in one condition and a failure in the other: the host decided the verdict."""
    return ("passed" in quiet and "failed" in loaded) or ("failed" in quiet and "passed" in loaded)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("scenarios", nargs="*", type=Path)
    args = parser.parse_args()
    project = load_project(ROOT / "gameday.yml")
    scenarios: list[Scenario] = load_all(args.scenarios or [project.scenarios_dir], project)
    results: dict[tuple[str, str], Runs] = {}
    replica = Replica(project, progress=lambda _: None)
    started = time.monotonic()
    replica.start()
    try:
        for condition in ("quiet", "loaded"):
            with cpu_hog(condition == "loaded"):
                for run in range(1, args.runs + 1):
                    for scenario in scenarios:
                        result = run_drill(replica, scenario, progress=lambda _: None)
                        runs = results.setdefault((scenario.name, condition), Runs())
                        runs.mttd_s.append(result.measurements.mttd_s)
                        runs.mttr_s.append(result.measurements.mttr_s)
                        runs.verdicts.append(result.verdict)
                        host = result.measurements.host
                        runs.pressure.append(host.cpu_pressure if host else None)
                        print(
                            f"  [{condition} {run}/{args.runs}] {scenario.name}: {result.verdict}",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        replica.stop()
    total = time.monotonic() - started

    print(
        f"verdict stability: {len(scenarios)} scenarios x {args.runs} runs, quiet and beside "
        f"stress-ng on {os.cpu_count()} CPUs ({total / 60:.0f} min)"
    )
    print("  MTTD and MTTR in seconds, min/median/max; verdicts P passed, F failed, I inconclusive")
    print(
        f"  {'scenario':<26}{'MTTD quiet':>17}{'MTTD loaded':>17}{'MTTR quiet':>17}"
        f"{'MTTR loaded':>17}  {'quiet':<6}{'loaded':<7}flipped"
    )
    flips = 0
    for scenario in scenarios:
        quiet, loaded = results[(scenario.name, "quiet")], results[(scenario.name, "loaded")]
        flip = flipped(quiet.verdicts, loaded.verdicts)
        flips += flip
        print(
            f"  {scenario.name:<26}{spread(quiet.mttd_s):>17}{spread(loaded.mttd_s):>17}"
            f"{spread(quiet.mttr_s):>17}{spread(loaded.mttr_s):>17}  "
            f"{letters(quiet.verdicts):<6}{letters(loaded.verdicts):<7}{'YES' if flip else 'no'}"
        )
    failed_loaded = sum(
        v == "failed" for s in scenarios for v in results[(s.name, "loaded")].verdicts
    )
    for condition in ("quiet", "loaded"):
        pressures = [
            None if p is None else p * 100
            for s in scenarios
            for p in results[(s.name, condition)].pressure
        ]
        print(
            f"  host CPU pressure, {condition}: {spread(pressures)} % of each drill "
            f"(a failure from {CPU_PRESSURE_LIMIT:.0%} on is inconclusive)"
        )
    print(f"  verdicts that flipped with the host's load: {flips} (goal: 0)")
    print(f"  loaded runs that failed (blamed the playbook): {failed_loaded} (goal: 0)")


if __name__ == "__main__":
    main()
