"""Probes of the replica for the fault and recovery tests: each looks at the effect of a
fault from where it is felt (inside a container, or on a published 127.0.0.1 port)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import docker.errors
import httpx
import pytest

from gameday.infra.replica import Replica
from gameday.inputs.scenario import FaultSpec
from gameday.stages.faults import build_fault
from gameday.stages.faults.ledger import Ledger, injected

T = TypeVar("T")

# Time from a client's request to the server's first byte, over one link, from inside a
# container: an SSLRequest to PostgreSQL, which answers a single 'N'. The pause after the
# connect keeps the measurement to the round trip alone.
ROUND_TRIP = """
import socket, struct, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
time.sleep(0.05)
started = time.monotonic()
s.sendall(struct.pack("!ii", 8, 80877103))
assert s.recv(1) == b"N"
print((time.monotonic() - started) * 1000)
"""
# Whether a TCP connection to host:port opens and a Redis PING gets its PONG.
REDIS_PING = """
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1)
    s.settimeout(1)
    s.sendall(b"PING\\r\\n")
    print("up" if s.recv(7).startswith(b"+PONG") else "down")
except OSError:
    print("down")
"""
CONNECTS = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
    print("up")
except OSError:
    print("down")
"""


def poll(check: Callable[[], T], what: str, timeout_s: float = 10.0) -> T:
    """The first truthy value of ``check``; fails the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s:.0f} s: {what} (last: {value!r})")
        time.sleep(0.05)


def run_in(replica: Replica, service: str, *command: str) -> tuple[int, str]:
    """Run a command in a service's container; (exit code, output), or (-1, why) when the
    container cannot run it (stopped, paused)."""
    try:
        result = replica.container(service).exec_run(list(command))
    except docker.errors.APIError as exc:
        return -1, str(exc.explanation)
    return result.exit_code, result.output.decode(errors="replace").strip()


def python_in(replica: Replica, service: str, script: str, *args: str) -> str:
    code, output = run_in(replica, service, "python3", "-c", script, *args)
    assert code == 0, output
    return output


def state(replica: Replica, service: str) -> str:
    container = replica.container(service)
    container.reload()
    return str(container.attrs["State"]["Status"])


def healthy(replica: Replica, service: str) -> bool:
    return Replica.health_of(replica.container(service)) == "healthy"


def wait_healthy(replica: Replica, *services: str, timeout_s: float = 30.0) -> None:
    """Leave the replica as the next test expects it: every named service healthy."""
    for service in services:
        poll(lambda s=service: healthy(replica, s), f"{service} healthy", timeout_s)


def pg_ready(replica: Replica) -> bool:
    code, _ = run_in(replica, "postgres", "pg_isready", "-q", "-h", "127.0.0.1")
    return code == 0


def redis_cli(replica: Replica, *args: str) -> str:
    code, output = run_in(replica, "redis", "redis-cli", *args)
    assert code == 0, output
    return output


def psql(replica: Replica, sql: str) -> str:
    code, output = run_in(
        replica, "postgres", "psql", "-h", "/run/postgresql", "-U", "postgres", "-tAXqc", sql
    )
    assert code == 0, output
    return output


def held_sessions(replica: Replica) -> int:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gameday-exhaust'"
    return int(psql(replica, sql))


def app_refused(replica: Replica) -> str:
    """Why PostgreSQL turns the application's role away ("" when it lets it in): what a
    backend opening one more pooled connection would be told."""
    code, output = run_in(
        replica,
        "postgres",
        "env",
        "PGPASSWORD=labelmint-app",
        "psql",
        "-h",
        "127.0.0.1",
        "-U",
        "labelmint",
        "-d",
        "labelmint",
        "-tAXqc",
        "SELECT 1",
    )
    return "" if code == 0 and output == "1" else output


def holder_processes(replica: Replica) -> int:
    # -s: a process that exits between the glob and the read is not an error (its message
    # would land in the count, which exec_run reads with stderr).
    script = "grep -ls 'application_name=gameday-exhau[s]t' /proc/[0-9]*/cmdline | wc -l"
    code, output = run_in(replica, "postgres", "sh", "-c", script)
    return int(output) if code in (0, 1) else -1


def backend_health(replica: Replica, backend: str) -> tuple[int, str]:
    """(status, version) of a backend's /health; (0, '') while it does not answer."""
    try:
        response = httpx.get(f"{replica.endpoint(backend).url}/health", timeout=2)
        return response.status_code, str(response.json().get("version", ""))
    except (httpx.HTTPError, ValueError):
        return 0, ""


def link_state(replica: Replica) -> dict[str, tuple[bool, list[str]]]:
    """Each proxy link: (enabled, names of its toxics), from the proxy's HTTP API."""
    api = replica.endpoint("proxy").url
    proxies = httpx.get(f"{api}/proxies", timeout=5).json()
    return {
        name: (bool(p["enabled"]), sorted(t["name"] for t in p.get("toxics", [])))
        for name, p in proxies.items()
    }


def clean_links(replica: Replica) -> bool:
    return all(enabled and not toxics for enabled, toxics in link_state(replica).values())


@contextmanager
def fault(replica: Replica, state_dir: Path, *specs: FaultSpec) -> Iterator[None]:
    """Faults in effect inside the block, through the ledger, all reverted after it."""
    with injected([build_fault(s) for s in specs], replica, ledger=Ledger(state_dir)):
        yield
    assert Ledger(state_dir).entries() == []
