"""Benchmark of the replica's lifecycle on this machine.

Prints, in one run: the cold image build (no layer cache), the warm bring-up to ready
(healthy containers + Prometheus sees every target + rules evaluated), the teardown, and
the replica's memory; next to the lower bound, which is the slowest single container's
own start-to-healthy time measured in the same bring-up (what bring-up would take if
nothing waited for anything else).

    python benchmarks/bench_replica.py [--skip-cold] [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime
from pathlib import Path

import docker

from gameday.infra import ownership
from gameday.infra.compose import ComposeProject
from gameday.infra.images import build_images
from gameday.infra.replica import Replica
from gameday.inputs.project import load_project

PROJECT = load_project(Path(__file__).parents[1] / "gameday.yml")


def compose(image_tag: str | None = None) -> ComposeProject:
    extra = {"image_tag": image_tag} if image_tag else {}
    return ComposeProject(
        run_id="bench",
        lease=ownership.MANUAL,
        compose_files=PROJECT.compose_files,
        port_variables=PROJECT.topology.port_variables,
        **extra,  # type: ignore[arg-type]
    )


def _ts(value: str) -> datetime:
    # Docker's timestamps carry nanoseconds; Python parses microseconds.
    head, _, rest = value.partition(".")
    frac = rest.rstrip("Z")[:6]
    return datetime.fromisoformat(f"{head}.{frac.ljust(6, '0')}+00:00")


def cold_build() -> float:
    client = docker.from_env()
    project = compose("bench-cold")
    start = time.monotonic()
    try:
        # nocache through a fresh tag: every layer above the base is rebuilt.
        config = project.config()
        for spec in {s["image"]: s for s in config["services"].values() if s.get("build")}.values():
            build = spec["build"]
            list(
                client.api.build(
                    path=build["context"],
                    dockerfile=build.get("dockerfile", "Dockerfile"),
                    tag=spec["image"],
                    nocache=True,
                    rm=True,
                    forcerm=True,
                    buildargs=build.get("args") or {},
                    decode=True,
                )
            )
        return time.monotonic() - start
    finally:
        project.discard_env()
        for image in client.images.list(name="gameday/*"):
            for tag in image.tags:
                if tag.endswith(":bench-cold"):
                    client.images.remove(tag, noprune=False)


def start_to_healthy(replica: Replica) -> dict[str, float]:
    """Each container's own time from start to its first passing healthcheck."""
    times = {}
    for service, container in replica.containers().items():
        state = container.attrs["State"]
        passes = [h for h in (state.get("Health") or {}).get("Log") or [] if h["ExitCode"] == 0]
        if passes:
            first = min(_ts(h["End"]) for h in passes)
            times[service] = (first - _ts(state["StartedAt"])).total_seconds()
    return times


def memory_mib(replica: Replica) -> float:
    total = 0
    for container in replica.containers().values():
        stats = container.stats(stream=False)
        usage = stats["memory_stats"].get("usage", 0)
        cache = stats["memory_stats"].get("stats", {}).get("cache", 0)
        total += usage - cache
    return total / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-cold", action="store_true", help="skip the no-cache build")
    parser.add_argument("--runs", type=int, default=3, help="warm bring-ups to time")
    args = parser.parse_args()

    build_images(compose(), lambda _: None)
    cold = None if args.skip_cold else cold_build()
    warm_start = time.monotonic()
    build_images(compose(), lambda _: None)
    warm_build = time.monotonic() - warm_start

    ups, downs, bounds, memories = [], [], [], []
    for _ in range(args.runs):
        replica = Replica(PROJECT)
        start = time.monotonic()
        replica.start()
        ups.append(time.monotonic() - start)
        own = start_to_healthy(replica)
        slowest = max(own, key=own.__getitem__)
        bounds.append((own[slowest], slowest))
        memories.append(memory_mib(replica))
        start = time.monotonic()
        replica.stop()
        downs.append(time.monotonic() - start)

    bound = statistics.median(b for b, _ in bounds)
    up = statistics.median(ups)
    print(f"replica benchmark ({args.runs} warm runs, medians)")
    print(f"  cold image build (no cache)     {'skipped' if cold is None else f'{cold:6.1f} s'}")
    print(f"  warm image build (cache)        {warm_build:6.1f} s")
    print(
        f"  warm bring-up to ready          {up:6.1f} s   (runs: "
        f"{', '.join(f'{u:.1f}' for u in ups)})"
    )
    print(f"  lower bound: slowest container  {bound:6.1f} s   ({bounds[0][1]} in run 1)")
    print(f"  bring-up / lower bound          {up / bound:6.1f} x")
    print(f"  teardown                        {statistics.median(downs):6.1f} s")
    print(f"  replica memory                  {statistics.median(memories):6.0f} MiB")


if __name__ == "__main__":
    main()
