"""Leases: who keeps a replica alive, told apart without Docker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import docker.errors
import pytest

from gameday.infra import ownership


def test_this_process_holds_a_live_lease() -> None:
    lease = ownership.current_lease()
    assert lease.startswith(f"pid:{socket.gethostname()}:{os.getpid()}:")
    assert ownership.lease_is_alive(lease)


def test_the_lease_of_a_finished_process_is_dead() -> None:
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gameday.infra import ownership; print(ownership.current_lease())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not ownership.lease_is_alive(child.stdout.strip())


def test_a_reused_pid_with_another_start_time_is_dead() -> None:
    _, host, pid, ticks = ownership.current_lease().split(":")
    assert not ownership.lease_is_alive(f"pid:{host}:{pid}:{int(ticks) + 1}")


def test_kept_manual_and_foreign_leases_are_never_reaped() -> None:
    assert ownership.lease_is_alive(ownership.PERSISTENT)
    assert ownership.lease_is_alive(ownership.MANUAL)
    assert ownership.lease_is_alive("pid:some-other-host:1:1")
    assert ownership.lease_is_alive("garbage")


def test_a_killed_process_not_yet_reaped_holds_no_lease() -> None:
    import signal
    import time

    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from gameday.infra import ownership; print(ownership.current_lease(),"
            " flush=True); import time; time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lease = child.stdout.readline().strip()
    assert ownership.lease_is_alive(lease)
    child.send_signal(signal.SIGKILL)
    time.sleep(0.5)  # dead, but a zombie until we wait() for it
    try:
        assert not ownership.lease_is_alive(lease)
    finally:
        child.wait()


# -- networks Docker will not remove (fakes of a docker network) -------------------------------


class FakeNetwork:
    """A network whose ``remove`` raises ``errors`` in turn, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.attempts = 0

    def remove(self) -> None:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)


def refused() -> docker.errors.APIError:
    return docker.errors.APIError(
        "403 Client Error",
        explanation="error while removing network: network x_app id 67a2 has active endpoints",
    )


def test_a_network_refused_for_a_moment_is_removed_on_a_later_try() -> None:
    network = FakeNetwork(refused(), refused())
    assert ownership._remove_network(network, patience_s=5.0)  # type: ignore[arg-type]
    assert network.attempts == 3


def test_a_network_docker_keeps_for_good_is_reported_not_raised() -> None:
    network = FakeNetwork(*[refused() for _ in range(100)])
    assert not ownership._remove_network(network, patience_s=0.0)  # type: ignore[arg-type]
    kept = ownership.RunResources("r", "", (), (), (), kept=("x_app",))
    assert kept.warnings == (
        "Docker would not remove network x_app: it still counts endpoints on it that no "
        "container holds (a Docker engine fault; restarting the engine clears it)",
    )


def test_other_docker_errors_still_propagate_and_a_gone_network_is_removed() -> None:
    failing = FakeNetwork(docker.errors.APIError("500 Server Error", explanation="disk full"))
    with pytest.raises(docker.errors.APIError, match="disk full"):
        ownership._remove_network(failing, patience_s=5.0)  # type: ignore[arg-type]
    gone = FakeNetwork(docker.errors.NotFound("404 Client Error"))
    assert ownership._remove_network(gone, patience_s=0.0)  # type: ignore[arg-type]
