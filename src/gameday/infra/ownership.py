"""What gameday owns in Docker, and how it finds it again.

Every container, network and volume of a replica carries three labels (set in the compose
file): ``io.gameday.managed=true``, ``io.gameday.run=<run id>`` and ``io.gameday.lease``.
The lease says who keeps the replica alive:

* ``pid:<host>:<pid>:<start ticks>``: the process that started it; once that process is
  gone (a crash, a SIGKILL), the replica is a leftover and the next run removes it;
* ``persistent``: `gameday up` handed it to the user; only `gameday down` removes it;
* ``manual``: started by hand with `docker compose`; gameday leaves it alone unless told.

Ryuk, testcontainers' reaper, cannot be pulled on an offline machine, so this module is
gameday's own reaper. It never touches anything without ``io.gameday.managed=true``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from gameday.infra.docker_engine import client
from gameday.waiting import poll

__all__ = [
    "LABEL_LEASE",
    "LABEL_MANAGED",
    "LABEL_RUN",
    "RunResources",
    "current_lease",
    "find_runs",
    "lease_is_alive",
    "remove_run",
    "sweep",
]

LABEL_MANAGED = "io.gameday.managed"
LABEL_RUN = "io.gameday.run"
LABEL_LEASE = "io.gameday.lease"
PERSISTENT = "persistent"
MANUAL = "manual"

# Docker may refuse a network for a moment after its containers are removed ("has active
# endpoints"), and Docker 20.10 sometimes keeps such an endpoint for good, with no container
# left to hold it (only an engine restart clears it). gameday waits this long for the first
# and reports the second: one network Docker will not remove must not stop every later run.
NETWORK_PATIENCE_S = 5.0
STALE_ENDPOINTS = "has active endpoints"
KEPT_BY_DOCKER = (
    "Docker would not remove network {network}: it still counts endpoints on it that no "
    "container holds (a Docker engine fault; restarting the engine clears it)"
)


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: tells a PID from its reuse."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name, which may itself hold spaces: the state is field 3,
    # the start time field 22. A zombie (killed, not yet reaped) runs no more code.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[19]


def current_lease() -> str:
    """The lease string of this process."""
    pid = os.getpid()
    return f"pid:{socket.gethostname()}:{pid}:{_start_ticks(pid) or '0'}"


def lease_is_alive(lease: str) -> bool:
    """Whether the owner of ``lease`` still runs. Unknown owners count as alive."""
    if lease in (PERSISTENT, MANUAL) or not lease.startswith("pid:"):
        return True
    try:
        _, host, pid, ticks = lease.split(":")
    except ValueError:
        return True
    if host != socket.gethostname():
        return True  # another machine's process: we cannot tell, so we do not touch it
    return _start_ticks(int(pid)) == ticks


@dataclass(frozen=True)
class RunResources:
    """Everything Docker holds for one run of gameday."""

    run_id: str
    lease: str
    containers: tuple[str, ...]
    networks: tuple[str, ...]
    volumes: tuple[str, ...]
    # Networks Docker would not remove (see KEPT_BY_DOCKER); not in ``networks``.
    kept: tuple[str, ...] = ()

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a caller should tell the user about what could not be removed."""
        return tuple(KEPT_BY_DOCKER.format(network=name) for name in self.kept)

    @property
    def empty(self) -> bool:
        return not (self.containers or self.networks or self.volumes)


def find_runs() -> dict[str, RunResources]:
    """All runs that have anything left in Docker, by run id."""
    docker_client = client()
    selector = {"label": f"{LABEL_MANAGED}=true"}
    found: dict[str, dict[str, list[str]]] = {}
    leases: dict[str, str] = {}

    def note(kind: str, name: str, labels: dict[str, str]) -> None:
        run = labels.get(LABEL_RUN, "unknown")
        leases.setdefault(run, labels.get(LABEL_LEASE, MANUAL))
        found.setdefault(run, {"containers": [], "networks": [], "volumes": []})[kind].append(name)

    # The low-level listing: the high-level one inspects each container and fails when
    # one is removed in between (which happens whenever another run tears down).
    for c in docker_client.api.containers(all=True, filters=selector):
        note("containers", c["Names"][0].lstrip("/"), c.get("Labels") or {})
    for n in docker_client.networks.list(filters=selector):
        note("networks", n.name, n.attrs.get("Labels") or {})
    for v in docker_client.volumes.list(filters=selector):
        note("volumes", v.name, v.attrs.get("Labels") or {})
    return {
        run: RunResources(
            run_id=run,
            lease=leases[run],
            containers=tuple(sorted(kinds["containers"])),
            networks=tuple(sorted(kinds["networks"])),
            volumes=tuple(sorted(kinds["volumes"])),
        )
        for run, kinds in found.items()
    }


def remove_run(run_id: str) -> RunResources:
    """Remove every container, network and volume labelled with ``run_id``."""
    docker_client = client()
    selector = {"label": [f"{LABEL_MANAGED}=true", f"{LABEL_RUN}={run_id}"]}

    def remove_container(container_id: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            docker_client.api.remove_container(container_id, force=True, v=True)

    summaries = docker_client.api.containers(all=True, filters=selector)
    names = tuple(c["Names"][0].lstrip("/") for c in summaries)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove_container, [c["Id"] for c in summaries]))
    # Right after its containers go, a network may be refused for a moment; a network whose
    # containers went long ago is refused for good if at all.
    patience_s = NETWORK_PATIENCE_S if summaries else 0.0
    networks = docker_client.networks.list(filters=selector)
    kept = tuple(n.name for n in networks if not _remove_network(n, patience_s))
    volumes = docker_client.volumes.list(filters=selector)
    for volume in volumes:
        _ignore_missing(functools.partial(volume.remove, force=True))
    return RunResources(
        run_id=run_id,
        lease="",
        containers=names,
        networks=tuple(n.name for n in networks if n.name not in kept),
        volumes=tuple(v.name for v in volumes),
        kept=kept,
    )


def _remove_network(network: docker.models.networks.Network, patience_s: float) -> bool:
    """Remove ``network`` (True also when it is gone already); False when Docker still
    refuses it for endpoints after ``patience_s``. Any other Docker error propagates."""

    def attempt() -> bool:
        try:
            network.remove()
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError as exc:
            if STALE_ENDPOINTS not in str(exc):
                raise
            return False
        return True

    return poll(attempt, timeout_s=patience_s, interval_s=0.5).ok


def sweep(*, everything: bool = False) -> list[RunResources]:
    """Remove the leftovers of dead runs (or, with ``everything``, of every run)."""
    removed = []
    for run_id, resources in find_runs().items():
        if everything or not lease_is_alive(resources.lease):
            removed.append(remove_run(run_id))
    return removed


def _ignore_missing(action: Callable[[], object]) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        action()
