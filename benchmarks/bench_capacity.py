"""Benchmark of the bundled replica's capacity: the highest rate of the project's own load
(requests/s, open loop) at which p95 latency stays at or under 200 ms and errors at or
under 1%, with both backends up and with backend-2 stopped, on one replica.

Scenario loads should stay below the second figure: a drill that stops a backend at a
rate the other cannot carry alone measures an overloaded replica, not the failover. The
load generator runs on the same machine as the replica, so a busy machine lowers both
figures; the load average is printed before and after.

    python benchmarks/bench_capacity.py [--max-rate N] [--write]

``--write`` also records both conditions in the project's capacity file (what
`gameday capacity` writes, and `gameday validate` reads).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from gameday.infra.replica import Replica
from gameday.inputs.capacity import merged, read_capacity, write_capacity
from gameday.inputs.project import load_project
from gameday.stages.capacity import (
    DEFAULT_MAX_RATE,
    Criteria,
    measure_capacity,
    rate_steps,
    steps_table,
)

ROOT = Path(__file__).parents[1]
STOPPED = "backend-2"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rate", type=float, default=DEFAULT_MAX_RATE)
    parser.add_argument("--write", action="store_true")
    options = parser.parse_args()

    project = load_project(ROOT / "gameday.yml")
    criteria = Criteria()
    rates = rate_steps(options.max_rate)
    print(f"capacity benchmark: load average {_load()} at the start")
    with Replica(project) as replica:
        both = measure_capacity(replica, rates=rates, criteria=criteria, progress=print)
        one = measure_capacity(
            replica, without=[STOPPED], rates=rates, criteria=criteria, progress=print
        )
    print(f"load average {_load()} at the end\n")
    for condition in (both, one):
        print(steps_table(condition) + "\n")
    ratio = f"{one.capacity_per_s / both.capacity_per_s:.2f} x" if both.capacity_per_s else "-"
    print(f"  capacity, both backends       {both.describe()}")
    print(f"  capacity, {STOPPED} stopped   {one.describe()}")
    print(f"  one backend / both            {ratio}")
    if options.write:
        record = read_capacity(project.capacity_file)
        for condition in (both, one):
            record, _ = merged(
                record,
                condition,
                p95_ms=criteria.p95_ms,
                max_error_rate=criteria.max_error_rate,
            )
        assert record is not None
        write_capacity(project.capacity_file, record)
        print(f"  wrote {project.capacity_file}")


if __name__ == "__main__":
    main()
